"""Source-view fidelity of the colour fit: t = 0 render from the input camera vs the photo, before/after.

    python benchmarks/fidelity.py [PHOTO ...] [--long-side 512] [--iters 20]

Default photos: a constructed thin-branches image (1-px dark branching lines on a sky gradient above grass),
``examples/china.jpg`` and every photo in ``../shared/photos``. Each photo is built once with ``fit_iters=0``;
then the old fit (20 Adam steps on sigmoid-logit colours, L1, lr 0.1: the code before this benchmark was added)
and the current ``fit.fit_gaussians`` run on the same Gaussians. PSNR is measured like the eval does
(``render.render_at`` → ``render.to_uint8`` vs ``build.photo.image``). Fit times: wall and process CPU seconds.
Prints a Markdown table; writes no images.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from landscape4d import Settings, build  # noqa: E402
from landscape4d.fit import fit_gaussians, psnr_db  # noqa: E402
from landscape4d.raster import rasterize_gaussians  # noqa: E402
from landscape4d.render import render_at, to_uint8  # noqa: E402


def branches_image(width: int = 512, height: int = 384, seed: int = 0) -> np.ndarray:
    """[H,W,3] uint8: bare trees of 1-px dark lines (no anti-aliasing) against a bright sky gradient, grass below."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    horizon = int(height * 0.72)
    y = np.linspace(0, 1, horizon)[:, None, None]
    image[:horizon] = np.array([0.55, 0.72, 0.95]) * (1 - y) + np.array([0.85, 0.9, 0.97]) * y
    g = np.linspace(0, 1, height - horizon)[:, None, None]
    image[horizon:] = np.array([0.35, 0.42, 0.2]) * (1 - g) + np.array([0.22, 0.3, 0.12]) * g
    image[horizon:] += rng.normal(0, 0.04, (height - horizon, width, 1)).astype(np.float32)
    canvas = np.ascontiguousarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    scale = width / 512

    def branch(x: float, y: float, angle: float, length: float, depth: int) -> None:
        if depth == 0 or length < 4 * scale:
            return
        x2, y2 = x + length * np.cos(angle), y - length * np.sin(angle)
        colour = tuple(int(c) for c in rng.integers(15, 60, 3))
        cv2.line(canvas, (round(x), round(y)), (round(x2), round(y2)), colour, 1, cv2.LINE_8)
        for _ in range(int(rng.integers(2, 4))):
            branch(x2, y2, angle + rng.uniform(-0.7, 0.7), length * rng.uniform(0.55, 0.8), depth - 1)

    for tx in np.linspace(width * 0.15, width * 0.85, 3):
        branch(tx + rng.uniform(-20, 20) * scale, horizon + 5 * scale, np.pi / 2 + rng.uniform(-0.2, 0.2), height * 0.2, 7)
    return canvas


def legacy_fit(gaussians, source, iterations: int = 20, lr: float = 0.1):
    """The fit before issue [I] part 4: Adam on sigmoid-logit colours, L1 against the photo."""
    logit = torch.logit(gaussians.colors.clamp(1e-4, 1 - 1e-4)).requires_grad_(True)
    optimiser = torch.optim.Adam([logit], lr=lr)
    target = torch.from_numpy(source.image)
    for _ in range(iterations):
        optimiser.zero_grad(set_to_none=True)
        loss = (rasterize_gaussians(gaussians.replace(colors=torch.sigmoid(logit)), source.camera).rgb - target).abs().mean()
        loss.backward()
        optimiser.step()
    return gaussians.replace(colors=torch.sigmoid(logit).detach())


def source_psnr(result, gaussians) -> float:
    scene = dataclasses.replace(result.scene, gaussians=gaussians)
    return psnr_db(to_uint8(render_at(scene, scene.source_camera, 0.0)) / 255.0, result.photo.image)


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*")
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--iters", type=int, default=Settings().fit_iters)
    args = parser.parse_args()
    photos: list[object] = list(args.photos)
    if not photos:
        shared = REPO.parent / "shared" / "photos"
        photos = ["synthetic:branches", REPO / "examples" / "china.jpg"]
        photos += sorted(p for p in shared.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"}) if shared.is_dir() else []
    settings = Settings(long_side=args.long_side, device="cpu", fit_iters=0)
    print(f"| photo | size | Gaussians | PSNR before dB | PSNR after dB | colours outside [0,1] | fit before s (CPU) | fit after s (CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    for photo in photos:
        name = Path(str(photo)).stem
        source = branches_image(args.long_side, args.long_side * 3 // 4) if str(photo) == "synthetic:branches" else photo
        result = build(source, settings)
        gaussians, view = result.scene.gaussians, result.views[0]
        old, old_wall, old_cpu = timed(lambda: legacy_fit(gaussians, view))
        (new, _), new_wall, new_cpu = timed(lambda: fit_gaussians(gaussians, view, args.iters))
        outside = float(((new.colors < 0) | (new.colors > 1)).any(dim=1).float().mean())
        height, width = view.image.shape[:2]
        print(
            f"| {name} | {width}×{height} | {len(gaussians)} | {source_psnr(result, old):.2f} | {source_psnr(result, new):.2f} "
            f"| {outside:.1%} | {old_wall:.1f} ({old_cpu:.1f}) | {new_wall:.1f} ({new_cpu:.1f}) |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
