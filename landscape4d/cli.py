"""The command-line shell over the library API (no pipeline logic here)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .flow2d import Arrow
from .hub import ModelUnavailable
from .scene import SCENE_SUFFIX, Scene4D
from .backends import add_backend_arguments, backend_changes
from .settings import (
    DEFAULT_VIDEO_FPS, DEFAULT_VIDEO_SECONDS, DEFAULT_VIDEO_TRAJECTORY, MAX_LOOP_SECONDS, PRESETS as QUALITY, Settings,
    video_frame_count,
)
from .trajectories import PRESETS as TRAJECTORIES

USAGE_ERRORS = (ValueError, FileNotFoundError, IsADirectoryError, PermissionError, ModelUnavailable)


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="landscape4d",
        description="Turn one landscape photo into a looping 3D scene and a video along a camera path. "
        f"PHOTO may also be a saved scene ({SCENE_SUFFIX}) to re-render it without rebuilding. "
        "Use 'python -m landscape4d export SCENE ...' for splat files.",
    )
    p.add_argument("photo", help=f"input photo (jpg/png/webp/tiff...) or a saved scene file (*{SCENE_SUFFIX})")
    p.add_argument("--trajectory", default=DEFAULT_VIDEO_TRAJECTORY, choices=TRAJECTORIES,
                   help=f"camera path (default: {DEFAULT_VIDEO_TRAJECTORY})")
    p.add_argument("--seconds", type=float, default=DEFAULT_VIDEO_SECONDS,
                   help=f"video length in seconds (default: {DEFAULT_VIDEO_SECONDS:g})")
    p.add_argument("--fps", type=float, default=DEFAULT_VIDEO_FPS, help=f"video frame rate (default: {DEFAULT_VIDEO_FPS:g})")
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.add_argument("--mask", action="append", default=[], help="image whose white/opaque pixels should move (repeatable)")
    p.add_argument("--freeze", action="append", default=[], help="image whose white/opaque pixels must stay still")
    p.add_argument("--water", help="image of extra water (white/opaque pixels), moving like the automatic water")
    p.add_argument("--sky", help="image of extra sky / clouds (white/opaque pixels), drifting like the automatic sky")
    p.add_argument("--arrows", nargs="+", default=[], metavar="x0,y0,x1,y1", help="motion hints in photo pixels")
    p.add_argument("--depth", help="depth map: image (bright = near) or .npy (z-depth, larger = farther)")
    p.add_argument("--quality", choices=tuple(QUALITY), default="balanced", help="quality preset (default: balanced)")
    p.add_argument("--loop-seconds", type=float, default=None, help=f"loop period, ≤ {MAX_LOOP_SECONDS:g} s (default 3)")
    p.add_argument("--speed", type=float, default=None, help="motion speed multiplier (default 1)")
    p.add_argument("--fov", type=float, default=None, help="horizontal field of view of the photo in degrees (default 60)")
    p.add_argument("--resolution", type=int, default=None, help="working long side in px (default 512 CPU / 1024 GPU)")
    add_backend_arguments(p)  # --regions-backend, --depth-backend, --inpaint-backend, --outpaint-backend, --motion
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    base = QUALITY[args.quality]
    changes: dict[str, object] = {"seed": args.seed, "device": args.device}
    for name, value in (("loop_seconds", args.loop_seconds), ("speed", args.speed), ("fov_deg", args.fov), ("long_side", args.resolution)):
        if value is not None:
            changes[name] = value
    return base.replace(**changes, **backend_changes(args))


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .pipeline import STAGES, UserEdits, build, resolve_device
    from .render import render_video

    settings = _settings(args)
    out_dir = Path(args.out)
    started = time.perf_counter()
    bar = tqdm(total=len(STAGES), desc="landscape4d", unit="stage", disable=args.quiet, leave=True)

    def progress(index: int, count: int, description: str) -> None:
        bar.n = index - 1
        bar.set_description(f"[{index}/{count}] {description}")
        bar.refresh()

    source = Path(args.photo)
    if source.name.endswith(SCENE_SUFFIX):
        scene = Scene4D.load(source)
        name = source.name[: -len(SCENE_SUFFIX)]
        scene_path = source
        bar.close()
    else:
        edits = UserEdits(
            sky=args.sky,
            water=args.water,
            moves=args.mask or None,
            freeze=args.freeze or None,
            arrows=[Arrow.parse(a) for a in args.arrows],
            depth=args.depth,
        )
        result = build(source, settings, edits, progress=progress)
        bar.n = len(STAGES)
        bar.close()
        scene = result.scene
        name = result.photo.name
        scene_path = scene.save(out_dir / f"{name}{SCENE_SUFFIX}")

    device = resolve_device(settings.device)
    frames = video_frame_count(args.seconds, args.fps)
    with tqdm(total=frames, desc=f"Rendering {args.trajectory}", unit="frame", disable=args.quiet) as frame_bar:
        video = render_video(
            scene, args.trajectory, args.seconds, args.fps, out_dir / f"{name}_{args.trajectory}.mp4", device,
            progress=lambda i, n: frame_bar.update(1),
        )
    elapsed = time.perf_counter() - started
    print(f"video  {video.path}  ({video.num_frames} frames, {video.width}x{video.height}, {video.fps:g} fps, H.264)")
    print(f"scene  {scene_path}  ({len(scene.gaussians):,} Gaussians, {int(scene.moving.sum()):,} moving; "
          f"re-render: python -m landscape4d {scene_path} --trajectory swing)")
    print(f"done in {elapsed:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "eval":
            from .eval.__main__ import main as eval_main

            return eval_main(argv[1:])
        if argv and argv[0] == "export":
            try:
                from exporters.cli import add_export_arguments, run_export
            except ImportError as exc:  # the exporters package lives beside the library in the repo
                raise ValueError(f"the exporters package is not available ({exc})") from exc
            parser = argparse.ArgumentParser(prog="landscape4d export", description="Export a saved scene.")
            add_export_arguments(parser)
            return run_export(parser.parse_args(argv[1:]))
        return run(_run_parser().parse_args(argv))
    except USAGE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
