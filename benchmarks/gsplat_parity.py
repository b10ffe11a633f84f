"""CPU rasterizer vs gsplat on the same scenes, across two machines.

The CPU rasterizer needs numba, which the GPU machine lacks; gsplat needs CUDA, which CI lacks. So:

1. on a CPU machine:  ``python benchmarks/gsplat_parity.py save parity.npz``
   renders a few seeded scenes with the project's CPU rasterizer and stores scenes + images;
2. on a CUDA machine: ``python benchmarks/gsplat_parity.py check parity.npz [--out report.md]``
   renders the same scenes with gsplat, prints mean/max abs differences (the issue asks ≤ 1e-3 mean) and times
   gsplat on 1M Gaussians at 1024×576.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d.camera import identity_camera, pose_world_to_camera, rotation_matrix  # noqa: E402
from landscape4d.gaussians import GaussianSet, random_gaussians  # noqa: E402
from landscape4d.raster import rasterize  # noqa: E402

SCENES = [  # (name, count, width, height, seed, scale factor, camera offset x, yaw degrees)
    ("small-identity", 2_000, 128, 96, 0, 1.0, 0.0, 0.0),
    ("medium-moved", 20_000, 256, 160, 1, 0.5, 0.3, 5.0),
    ("dense-per-pixel", 60_000, 320, 192, 2, 0.15, -0.2, -3.0),
]


def _scene(count: int, seed: int, scale: float) -> GaussianSet:
    g = random_gaussians(count, seed)
    return g.replace(scales=g.scales * scale)


def _pose(offset_x: float, yaw: float) -> torch.Tensor:
    return pose_world_to_camera(torch.tensor([offset_x, 0.0, 0.0]), rotation_matrix(yaw_deg=yaw))


def _render(g: GaussianSet, pose: torch.Tensor, width: int, height: int, backend: str, device: str):
    camera = identity_camera(width, height)
    out = rasterize(
        g.means.to(device), g.quats.to(device), g.scales.to(device), g.opacities.to(device), g.colors.to(device),
        pose.to(device), camera.K.to(device), width, height, backend=backend,
    )
    return out


def save(path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, count, width, height, seed, scale, offset, yaw in SCENES:
        g = _scene(count, seed, scale)
        with torch.no_grad():
            out = _render(g, _pose(offset, yaw), width, height, "cpu", "cpu")
        arrays[f"{name}/rgb"] = out.rgb.numpy()
        arrays[f"{name}/alpha"] = out.alpha.numpy()
        arrays[f"{name}/depth"] = out.depth.numpy()
    np.savez_compressed(path, **arrays)
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")


def check(path: Path, out: Path | None) -> None:
    if not torch.cuda.is_available():
        raise SystemExit("check needs a CUDA GPU")
    saved = np.load(path)
    lines = ["| scene | Gaussians | size | rgb mean abs | rgb max abs | alpha mean abs | depth mean abs (rel) |",
             "|---|---|---|---|---|---|---|"]
    for name, count, width, height, seed, scale, offset, yaw in SCENES:
        g = _scene(count, seed, scale)
        with torch.no_grad():
            ref = _render(g, _pose(offset, yaw), width, height, "gsplat", "cuda")
        rgb = np.abs(ref.rgb.cpu().numpy() - saved[f"{name}/rgb"])
        alpha = np.abs(ref.alpha.cpu().numpy() - saved[f"{name}/alpha"])
        depth_ref = saved[f"{name}/depth"]
        depth = np.abs(ref.depth.cpu().numpy() - depth_ref) / max(float(np.abs(depth_ref).mean()), 1e-9)
        lines.append(f"| {name} | {count:,} | {width}×{height} | {rgb.mean():.2e} | {rgb.max():.2e} | "
                     f"{alpha.mean():.2e} | {depth.mean():.2e} |")
    # Speed: 1M Gaussians at 1024×576 (the guide's reference point is ~1 ms).
    g = _scene(1_000_000, 3, 0.2).to("cuda")
    camera = identity_camera(1024, 576)
    times = []
    for i in range(25):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            rasterize(g.means, g.quats, g.scales, g.opacities, g.colors, torch.eye(4, device="cuda"),
                      camera.K.cuda(), 1024, 576, backend="gsplat")
        torch.cuda.synchronize()
        if i >= 5:
            times.append(time.perf_counter() - t)
    lines.append("")
    lines.append(f"gsplat forward, 1,000,000 Gaussians at 1024×576: median {np.median(times) * 1e3:.2f} ms "
                 f"on {torch.cuda.get_device_name()}")
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("save", "check"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    save(args.path) if args.mode == "save" else check(args.path, args.out)


if __name__ == "__main__":
    main()
