"""Sizes and times of every export format: ``python -m exporters.benchmark [SCENE.l4d.npz] [--n 100000]``.

Without a scene file it uses ``exporters.testing.example_scene`` (random Gaussians, the lower ~35 % moving).
Prints one markdown table row per export; files go to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from landscape4d.scene import Scene4D

from .api import export_scene, format_bytes
from .testing import example_scene

RUNS = [
    ("ply", {}),
    ("compressed_ply", {}),
    ("splat", {}),
    ("spz", {"spz_version": 3}),
    ("spz", {"spz_version": 2}),
    ("splatv", {"lobes": 1}),
    ("splatv", {"lobes": 2}),
    ("splatv", {"lobes": 3}),
    ("sequence", {"frame_formats": ("ply",), "stride": 10}),
    ("sequence", {"frame_formats": ("compressed_ply",), "stride": 1}),
    ("sequence", {"frame_formats": ("splat",), "stride": 3}),
]


def run(scene: Scene4D, folder: Path) -> list[str]:
    rows = ["| export | options | files | gaussians → splats | time | notes |", "|---|---|---|---|---|---|"]
    for fmt, options in RUNS:
        started = time.perf_counter()
        result = export_scene(scene, fmt, folder / f"{fmt}_{len(rows)}", **options)
        seconds = time.perf_counter() - started
        files = ", ".join(f"{p.suffix or p.name} {format_bytes(result.sizes[p.name])}" for p in result.paths)
        s = result.stats
        notes = ""
        if fmt == "splatv":
            fit, fade = s["fit_error_px"], s["fade_error"]
            notes = (
                f"fit {fit['mean']:.4f}/{fit['max']:.4f} px mean/max; fade {fade['mean']:.3f}/{fade['max']:.3f}; "
                f"viewer.html {format_bytes(s['viewer_html_bytes'])}"
            )
            splats = s["splats"]
        elif fmt == "sequence":
            per_frame = {k: v / s["frames"] for k, v in s["frame_bytes"].items()}
            notes = f"{s['frames']} frames; per frame " + ", ".join(f"{k} {format_bytes(int(v))}" for k, v in per_frame.items())
            notes += f"; {seconds / s['frames']:.2f} s/frame"
            splats = s["max_frame_splats"]
        else:
            splats = s["splats"]
        opts = ", ".join(f"{k}={v if not isinstance(v, tuple) else '+'.join(v)}" for k, v in options.items())
        rows.append(f"| {fmt} | {opts} | {files} | {s['gaussians']:,} → {splats:,} | {seconds:.2f} s | {notes} |")
        print(rows[-1], flush=True)
        for path in result.paths:
            path.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", nargs="?", help="a saved scene (default: a random example scene)")
    parser.add_argument("--n", type=int, default=100_000, help="Gaussians of the random example scene")
    parser.add_argument("--loop-frames", type=int, default=90)
    args = parser.parse_args()
    if args.scene:
        scene = Scene4D.load(args.scene)
    else:
        scene = example_scene(n=args.n, width=960, height=540, loop_frames=args.loop_frames)
    print(f"{len(scene.gaussians):,} Gaussians, {int(scene.moving.sum()):,} moving, loop {scene.loop_frames} frames")
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(scene, Path(tmp))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
