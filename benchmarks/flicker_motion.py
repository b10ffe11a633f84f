"""Tearing between views, before and after 3D-MOM: the temporal warping error of rendered videos along the circle and
orbit paths for each 3D motion method, on the same photos and settings otherwise.

    python benchmarks/flicker_motion.py examples/china.jpg [more photos] [--long-side 512] [--out FILE.md]

For each photo and method (``single-view``: the lift along the depth surface, the default before 3D-MOM;
``3dmom``: the default), the scene is built and two runs of consecutive video frames (24 fps, at the start and the
middle of a 4 s path) are rendered along each path; the flicker is the mean warping error over consecutive pairs
(``eval.metrics.warping_error``: the later frame against the earlier one warped by DIS flow, 8-bit levels, as in
the quality report). Lower is better. The motion stage's time is the pipeline's own timing.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d import Settings, build  # noqa: E402
from landscape4d.eval.evaluate import EvalConfig, Renderer, flicker_along  # noqa: E402

METHODS = ("single-view", "3dmom")
PATHS = ("circle", "orbit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()
    config = EvalConfig()
    lines = [f"# Flicker along the circle and orbit paths, single-view lift vs 3D-MOM ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
             "", f"Command: `python benchmarks/flicker_motion.py {' '.join(args.photos)} --long-side {args.long_side}`",
             f"Device: {platform.machine()} CPU, {torch.get_num_threads()} threads (torch {torch.__version__}).", "",
             "| photo | flicker circle: single-view → 3D-MOM | flicker orbit: single-view → 3D-MOM | motion stage s: single-view → 3D-MOM |",
             "|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for photo in args.photos:
        cells: dict[str, list[str]] = {p: [] for p in PATHS}
        times = []
        for method in METHODS:
            result = build(photo, Settings(long_side=args.long_side, motion=method))
            times.append(f"{result.timings_s['motion']:.2f}")
            for preset in PATHS:
                cells[preset].append(f"{flicker_along(Renderer(result.scene), result.scene, preset, config):.2f}")
        line = f"| {Path(photo).stem} | " + " | ".join(" → ".join(cells[p]) for p in PATHS) + f" | {' → '.join(times)} |"
        lines.append(line)
        print(line, flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
