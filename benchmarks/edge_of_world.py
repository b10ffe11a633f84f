"""Edge of the world along the moving camera paths: a table per photo × preset, and contact sheets to look at.

    python benchmarks/edge_of_world.py examples/china.jpg ../shared/photos --long-side 512 --sheets /tmp/eow
    python benchmarks/edge_of_world.py examples/china.jpg --aspect 6:1 --aspect 1:2

For every photo (centre-cropped to each ``--aspect`` if given) the scene is built with default settings (and the
given working size), ``--frames`` frames are rendered along each preset path of a 4 s video (as the quality
report does), and the edge-of-world share (``landscape4d.eval.metrics.edge_of_world_share``) is printed as
mean / worst frame in % of the frame. ``--sheets DIR`` writes one PNG per photo with the worst frame of each
preset, its edge-of-world pixels tinted red (keep them out of the repository: they are derived from the photos).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d import Settings, build  # noqa: E402
from landscape4d.eval import metrics as M  # noqa: E402
from landscape4d.eval.evaluate import Renderer  # noqa: E402
from landscape4d.photo import load_photo  # noqa: E402
from landscape4d.render import trajectory_for  # noqa: E402

MOVING = ("dolly-out", "orbit", "up-down", "circle", "swing", "zoom-in")
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def photos_of(sources: list[str]) -> list[Path]:
    out = []
    for source in map(Path, sources):
        out += sorted(p for p in source.iterdir() if p.suffix.lower() in SUFFIXES) if source.is_dir() else [source]
    return out


def crop_to_aspect(image: np.ndarray, aspect: str) -> np.ndarray:
    """Centre crop to width:height = ``aspect`` (e.g. "6:1", "1:2")."""
    w_ratio, h_ratio = (float(x) for x in aspect.split(":"))
    height, width = image.shape[:2]
    if width / height > w_ratio / h_ratio:
        new_w = round(height * w_ratio / h_ratio)
        x0 = (width - new_w) // 2
        return image[:, x0 : x0 + new_w]
    new_h = round(width * h_ratio / w_ratio)
    y0 = (height - new_h) // 2
    return image[y0 : y0 + new_h]


def measure(image: np.ndarray, settings: Settings, frames: int, seconds: float = 4.0) -> tuple[dict, dict, object]:
    result = build(image, settings)
    scene = result.scene
    render = Renderer(scene)
    table, worst_frames = {}, {}
    for preset in MOVING:
        cameras = trajectory_for(scene, preset, frames)
        shares = []
        for i, camera in enumerate(cameras):
            t = i * seconds / frames
            rgb, alpha = render.at_time(camera, t)
            from landscape4d.animate import phase_at

            provenance = render.provenance(camera, phase_at(scene, t))
            mask = M.edge_of_world_mask(rgb, provenance, alpha)
            shares.append(float(mask.mean()))
            # Show the worst frame; among equals, the one farthest from the photo's viewpoint.
            key = (shares[-1], float(camera.position_world.norm()) + float((camera.world_to_camera[:3, :3] - torch.eye(3)).abs().sum()))
            if preset not in worst_frames or key > worst_frames[preset][0]:
                worst_frames[preset] = (key, i, rgb, mask)
        table[preset] = (float(np.mean(shares)), float(np.max(shares)))
    return table, worst_frames, result


def sheet(worst_frames: dict, path: Path) -> None:
    tiles = []
    for preset, (_, i, rgb, mask) in worst_frames.items():
        tile = rgb.copy()
        tile[mask] = (0.5 * tile[mask] + 0.5 * np.array([255, 0, 0])).astype(np.uint8)
        strip = np.full((18, tile.shape[1], 3), 32, np.uint8)
        cv2.putText(strip, f"{preset} frame {i}: {100 * mask.mean():.2f}%", (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (235, 235, 235), 1)
        tiles.append(np.concatenate([strip, tile], axis=0))
    columns = 3 if tiles[0].shape[1] < 2 * tiles[0].shape[0] else 1
    rows = [np.concatenate(tiles[i : i + columns] + [np.zeros_like(tiles[0])] * (i + columns - len(tiles)), axis=1) for i in range(0, len(tiles), columns)]
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photos", nargs="+")
    p.add_argument("--long-side", type=int, default=None, help="working long side (default: the library's)")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--aspect", action="append", default=[], help="also centre-crop to W:H (repeatable)")
    p.add_argument("--only-aspects", action="store_true", help="skip the uncropped photos")
    p.add_argument("--sheets", default=None, help="folder for contact sheets (outside the repository)")
    p.add_argument("--no-border", action="store_true", help="build without the border ring (the old pipeline), for comparison")
    args = p.parse_args()
    if args.no_border:
        from landscape4d import pipeline

        pipeline.border_margins = lambda *a, **k: (0, 0, 0, 0)
    settings = Settings(long_side=args.long_side)
    if args.sheets:
        Path(args.sheets).mkdir(parents=True, exist_ok=True)
    print("| photo | size | " + " | ".join(MOVING) + " | worst |")
    print("|---|---|" + "---|" * (len(MOVING) + 1))
    for path in photos_of(args.photos):
        original = load_photo(path, 4096).image
        variants = ([] if args.only_aspects else [("", original)]) + [(f"@{a}", crop_to_aspect(original, a)) for a in args.aspect]
        for suffix, image in variants:
            start = time.perf_counter()
            table, worst_frames, result = measure((image * 255).round().astype(np.uint8), settings, args.frames)
            h, w = result.photo.image.shape[:2]
            cells = [f"{100 * m:.2f} / {100 * x:.2f}" for m, x in table.values()]
            worst = max(x for _, x in table.values())
            print(f"| {path.stem}{suffix} | {w}×{h} | " + " | ".join(cells) + f" | {100 * worst:.2f} |  ({time.perf_counter() - start:.0f} s)", flush=True)
            if args.sheets:
                name = f"{path.stem}{suffix.replace(':', 'x')}_{w}.png"
                sheet(worst_frames, Path(args.sheets) / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
