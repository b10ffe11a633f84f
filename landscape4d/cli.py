"""The command-line shell over the library API (no pipeline logic here)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .batch import PHOTO_SUFFIXES, RayMissing, VideoOptions, process_photo
from .flow2d import Arrow
from .hub import ModelUnavailable
from .scene import SCENE_SUFFIX
from .backends import add_backend_arguments, backend_changes
from .settings import (
    DEFAULT_VIDEO_FPS, DEFAULT_VIDEO_SECONDS, DEFAULT_VIDEO_TRAJECTORY, MAX_LOOP_SECONDS, PRESETS as QUALITY, Settings,
)
from .trajectories import PRESETS as TRAJECTORIES

USAGE_ERRORS = (ValueError, FileNotFoundError, IsADirectoryError, PermissionError, ModelUnavailable, RayMissing)
EXPORT_FORMATS = ("ply", "compressed-ply", "splat", "spz", "sequence", "splatv")  # exporters.api.FORMATS, dashed


def add_video_arguments(p: argparse.ArgumentParser) -> None:
    """--trajectory, --seconds, --fps: the video every photo gets (the CLI and the batch mode)."""
    p.add_argument("--trajectory", default=DEFAULT_VIDEO_TRAJECTORY, choices=TRAJECTORIES,
                   help=f"camera path (default: {DEFAULT_VIDEO_TRAJECTORY})")
    p.add_argument("--seconds", type=float, default=DEFAULT_VIDEO_SECONDS,
                   help=f"video length in seconds (default: {DEFAULT_VIDEO_SECONDS:g})")
    p.add_argument("--fps", type=float, default=DEFAULT_VIDEO_FPS, help=f"video frame rate (default: {DEFAULT_VIDEO_FPS:g})")


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """The flags ``_settings`` reads (quality preset, loop, speed, fov, resolution, backends, seed, device) and
    --formats: one definition for the CLI and the batch mode."""
    p.add_argument("--quality", choices=tuple(QUALITY), default="balanced", help="quality preset (default: balanced)")
    p.add_argument("--loop-seconds", type=float, default=None, help=f"loop period, ≤ {MAX_LOOP_SECONDS:g} s (default 3)")
    p.add_argument("--speed", type=float, default=None, help="motion speed multiplier (default 1)")
    p.add_argument("--fov", type=float, default=None, help="horizontal field of view of the photo in degrees (default 60)")
    p.add_argument("--resolution", type=int, default=None, help="working long side in px (default 512 CPU / 1024 GPU)")
    add_backend_arguments(p)  # --regions-backend, --depth-backend, --inpaint-backend, --outpaint-backend, --motion
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--formats", nargs="+", default=[], metavar="FORMAT", choices=EXPORT_FORMATS,
                   help=f"also export the scene as these splat formats ({', '.join(EXPORT_FORMATS)}; default: none; "
                   "default export options, see 'landscape4d export')")


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="landscape4d",
        description="Turn one landscape photo into a looping 3D scene and a video along a camera path. "
        f"PHOTO may also be a saved scene ({SCENE_SUFFIX}) to re-render it without rebuilding. "
        "Use 'python -m landscape4d export SCENE ...' for splat files and "
        "'python -m landscape4d batch PHOTOS_DIR --out OUT' for a folder of photos (on Ray).",
    )
    p.add_argument("photo", help=f"input photo (jpg/png/webp/tiff...) or a saved scene file (*{SCENE_SUFFIX})")
    add_video_arguments(p)
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.add_argument("--mask", action="append", default=[], help="image whose white/opaque pixels should move (repeatable)")
    p.add_argument("--freeze", action="append", default=[], help="image whose white/opaque pixels must stay still")
    p.add_argument("--water", help="image of extra water (white/opaque pixels), moving like the automatic water")
    p.add_argument("--sky", help="image of extra sky / clouds (white/opaque pixels), drifting like the automatic sky")
    p.add_argument("--arrows", nargs="+", default=[], metavar="x0,y0,x1,y1", help="motion hints in photo pixels")
    p.add_argument("--depth", help="depth map: image (bright = near) or .npy (z-depth, larger = farther)")
    add_settings_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _batch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="landscape4d batch",
        description="Process every photo of a folder on Ray (a local cluster by default), one task per photo: one GPU "
        "per task where the cluster has GPUs, CPUs otherwise. Each photo's scene, video and exports go to "
        "OUT/<photo name>/; OUT/summary.csv and summary.json list every photo (ok / failed / skipped, reason, "
        "seconds, outputs). Finished photos are skipped on a re-run. Exit status 1 when any photo failed. "
        "Needs Ray: pip install -r requirements-batch.txt.",
    )
    p.add_argument("photos_dir", metavar="PHOTOS_DIR", help=f"folder of photos ({', '.join(PHOTO_SUFFIXES)})")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per photo, plus the summary)")
    add_video_arguments(p)
    add_settings_arguments(p)
    p.add_argument("--address", default="local",
                   help="Ray cluster: 'local' starts one on this machine (default), 'auto' joins the running one, "
                   "or an address such as ray://head:10001")
    p.add_argument("--concurrency", type=int, default=None,
                   help="photos at once, one worker each (default: the cluster's GPUs, else CPUs / --cpus-per-worker)")
    p.add_argument("--cpus-per-worker", type=int, default=1, help="CPUs each worker holds (default 1)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster (default: all)")
    p.add_argument("--force", action="store_true", help="redo photos finished in an earlier run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    base = QUALITY[args.quality]
    changes: dict[str, object] = {"seed": args.seed, "device": args.device}
    for name, value in (("loop_seconds", args.loop_seconds), ("speed", args.speed), ("fov_deg", args.fov), ("long_side", args.resolution)):
        if value is not None:
            changes[name] = value
    return base.replace(**changes, **backend_changes(args))


def _video(args: argparse.Namespace) -> VideoOptions:
    return VideoOptions(args.trajectory, args.seconds, args.fps)


class _Bars:
    """The CLI's progress: one bar over the build's stages, then one over the video's frames."""

    def __init__(self, quiet: bool, trajectory: str) -> None:
        from tqdm import tqdm
        from .pipeline import STAGES

        self.tqdm, self.stages, self.quiet, self.trajectory = tqdm, len(STAGES), quiet, trajectory
        self.stage_bar = tqdm(total=self.stages, desc="landscape4d", unit="stage", disable=quiet, leave=True)
        self.built = False
        self.frame_bar = None

    def stage(self, index: int, count: int, description: str) -> None:
        self.built = True
        self.stage_bar.n = index - 1
        self.stage_bar.set_description(f"[{index}/{count}] {description}")
        self.stage_bar.refresh()

    def frame(self, index: int, count: int) -> None:
        if self.frame_bar is None:
            self._close_stages()
            self.frame_bar = self.tqdm(total=count, desc=f"Rendering {self.trajectory}", unit="frame", disable=self.quiet)
        self.frame_bar.update(1)

    def _close_stages(self) -> None:
        if self.stage_bar is not None:
            if self.built:
                self.stage_bar.n = self.stages
            self.stage_bar.close()
            self.stage_bar = None

    def close(self) -> None:
        self._close_stages()
        if self.frame_bar is not None:
            self.frame_bar.close()


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    video = _video(args)
    started = time.perf_counter()
    edits = None
    if not Path(args.photo).name.endswith(SCENE_SUFFIX):
        from .pipeline import UserEdits

        edits = UserEdits(
            sky=args.sky,
            water=args.water,
            moves=args.mask or None,
            freeze=args.freeze or None,
            arrows=[Arrow.parse(a) for a in args.arrows],
            depth=args.depth,
        )
    bars = _Bars(args.quiet, args.trajectory)
    try:
        result = process_photo(args.photo, Path(args.out), settings, video, args.formats, edits,
                               progress=bars.stage, frame_progress=bars.frame)
    finally:
        bars.close()
    elapsed = time.perf_counter() - started
    scene, scene_path, rendered = result.scene, result.scene_path, result.video
    print(f"video  {rendered.path}  ({rendered.num_frames} frames, {rendered.width}x{rendered.height}, {rendered.fps:g} fps, H.264)")
    print(f"scene  {scene_path}  ({len(scene.gaussians):,} Gaussians, {int(scene.moving.sum()):,} moving; "
          f"re-render: python -m landscape4d {scene_path} --trajectory swing)")
    for export in result.exports:
        print(export.summary())
    print(f"done in {elapsed:.1f} s")
    return 0


def run_batch_command(args: argparse.Namespace) -> int:
    """``landscape4d batch``: the same Settings as ``run`` (``_settings``), every photo through ``process_photo``."""
    from .batch import BatchJob, check_formats, run_batch

    if args.concurrency is not None and args.concurrency < 1:
        raise ValueError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.cpus_per_worker < 1:
        raise ValueError(f"--cpus-per-worker must be at least 1, got {args.cpus_per_worker}")
    job = BatchJob(_settings(args), _video(args), check_formats(args.formats))
    report = run_batch(args.photos_dir, args.out, job, address=args.address, concurrency=args.concurrency,
                       cpus_per_worker=args.cpus_per_worker, num_cpus=args.num_cpus, force=args.force, quiet=args.quiet)
    for row in report.rows:
        if row["status"] == "failed":
            print(f"failed {row['photo']}: {row['reason']}", file=sys.stderr)
    rate = report.count("ok") / report.seconds * 3600 if report.seconds > 0 else 0.0
    print(f"batch  {len(report.rows)} photos: {report.count('ok')} ok, {report.count('skipped')} skipped (done before), "
          f"{report.failed} failed in {report.seconds:.1f} s ({rate:.0f} photos/hour)")
    print(f"summary {report.csv_path}  {report.json_path}")
    return 1 if report.failed else 0


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
        if argv and argv[0] == "batch":
            return run_batch_command(_batch_parser().parse_args(argv[1:]))
        return run(_run_parser().parse_args(argv))
    except USAGE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
