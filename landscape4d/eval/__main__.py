"""``python -m landscape4d.eval PHOTOS_DIR --out REPORT_DIR``: build every photo, measure it, write the report.

Each photo is built and measured in a fresh process (``--isolate yes``, the default), so a crash is recorded as
that photo's error, the run goes on, and the peak memory is the photo's own. ``--jobs N`` measures N photos at once
(a many-core GPU machine: the measurements are mostly CPU work, the builds and renders share the GPU); the report
lists the photos in the same order either way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _parser() -> argparse.ArgumentParser:
    from ..backends import add_backend_arguments
    from ..settings import PRESETS

    p = argparse.ArgumentParser(
        prog="python -m landscape4d.eval",
        description="Run the pipeline on every photo of a folder and write a quality report (report.md, metrics.csv, "
        "contact sheets).",
    )
    p.add_argument("photos", nargs="+", help="folders of photos (jpg/png/webp/tiff/bmp), or photos")
    p.add_argument("--out", required=True, help="report folder (created)")
    p.add_argument("--preset", choices=tuple(PRESETS), default="balanced", help="quality preset (default: balanced = default settings)")
    p.add_argument("--long-side", type=int, default=None, help="working long side in px (default: the preset's)")
    add_backend_arguments(p)  # the same backend choices as the main CLI (--motion, --depth-backend, …)
    p.add_argument("--clip", help="real video whose first frame is --clip-photo (real-video check)")
    p.add_argument("--clip-photo", help="first frame of --clip as an image")
    p.add_argument("--clip-frames", type=int, default=None, help="compare at most this many clip frames (default: all)")
    p.add_argument("--contact-sheets", choices=("auto", "yes", "no"), default="auto",
                   help="write contact_sheet_<name>.jpg; auto = only for photos in the project's examples/ folder")
    p.add_argument("--frames", type=int, default=16, help="frames sampled along each camera path (default: 16)")
    p.add_argument("--isolate", choices=("yes", "no"), default="yes", help="one fresh process per photo (default: yes)")
    p.add_argument("--jobs", type=int, default=1, help="photos measured at once, each in its own process (default: 1)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N photos")
    p.add_argument("--masks", action="append", default=[], metavar="DIR",
                   help="folder with reference <stem>_fluid_mask.png (and <stem>_motion.npy) for the region-quality "
                   "table; also searched: the photo's folder, its masks/ subfolder and a masks/ folder beside it")
    return p


def list_photos(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"no such photo folder or file: {source}")
    return sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def sheet_allowed(photo: Path, mode: str) -> bool:
    if mode != "auto":
        return mode == "yes"
    try:
        photo.resolve().relative_to(EXAMPLES.resolve())
        return True
    except ValueError:
        return False


def _in_worker(isolate: bool, function: Any, *args: Any) -> Any:
    if not isolate:
        return function(*args)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def environment(settings: Any, preset: str) -> dict[str, str]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no", "--", "landscape4d") else ""
    import torch

    from .. import __version__

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "version": f"landscape4d {__version__}, commit {commit}{dirty}",
        "machine": _machine(cpu, settings.device),
        "software": f"Python {platform.python_version()}, torch {torch.__version__}, {platform.system()} {platform.release()}",
        "settings": f"preset `{preset}`: " + ", ".join(f"{k}={v}" for k, v in asdict(settings).items()),
    }


def _machine(cpu: str, device: str) -> str:
    """The machine line of the report: which GPU rendered, if any (device "auto" uses CUDA when present)."""
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return f"{os.cpu_count()} CPU cores ({cpu}) + {torch.cuda.get_device_name(0)} (gsplat)"
    return f"{os.cpu_count()} CPU cores ({cpu}), no GPU used"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from ..backends import backend_changes
    from ..settings import PRESETS
    from .evaluate import EvalConfig, PhotoResult, evaluate_one, real_video_check, share_cores
    from .report import markdown_table, render_markdown, write_csv, write_real_csv

    try:
        photos = [photo for source in args.photos for photo in list_photos(Path(source))]
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
        if args.limit is not None:
            photos = photos[: args.limit]
        settings = PRESETS[args.preset]
        if args.long_side is not None:
            settings = settings.replace(long_side=args.long_side)
        settings = settings.replace(**backend_changes(args))
        if bool(args.clip) != bool(args.clip_photo):
            raise ValueError("--clip and --clip-photo go together")
        if args.frames < 3:
            raise ValueError(f"--frames must be at least 3, got {args.frames}")
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = replace(EvalConfig(), trajectory_frames=args.frames,
                     reference_masks=tuple(str(Path(d).resolve()) for d in args.masks))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    isolate = args.isolate == "yes"
    command = "python -m landscape4d.eval " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))

    results, sheets = [], {}
    started = time.perf_counter()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    env = environment(settings, args.preset)

    def write(real: Any, done: bool) -> None:
        """(Re)write report.md and metrics.csv; called after every photo, so an interrupted run keeps its rows."""
        cpu_s = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                    for f in ("ru_utime", "ru_stime"))
        load_now = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        state = "" if done else f" (in progress: {len(results)} of {len(photos)} so far)"
        env["run time"] = (f"{time.perf_counter() - started:.0f} s wall, {cpu_s:.0f} s CPU, for {len(results)} photo{'s' if len(results) != 1 else ''}"
                           + (" + the clip" if real is not None else "") + state
                           + f"; 1-min load average {load_start:.1f} at start, {load_now:.1f} at the end")
        (out_dir / "report.md").write_text(render_markdown(results, config, command, env, real, sheets))
        write_csv(results, out_dir / "metrics.csv")

    sheet_paths = {photo: out_dir / f"contact_sheet_{photo.stem}.jpg" if sheet_allowed(photo, args.contact_sheets) else None
                   for photo in photos}
    done: dict[int, Any] = {}

    def finish(index: int, photo: Path, result: Any, seconds: float) -> None:
        done[index] = result
        results[:] = [done[i] for i in sorted(done)]
        sheet = sheet_paths[photo]
        if sheet is not None and sheet.exists() and result.error is None:
            sheets[photo.stem] = sheet.name
        status = "ok" if result.error is None else f"ERROR {result.error}"
        print(f"    {photo.name}: {status} ({seconds:.0f} s)", flush=True)
        write(None, done=False)

    if args.jobs == 1:
        for index, photo in enumerate(photos):
            print(f"[{index + 1}/{len(photos)}] {photo.name} ...", flush=True)
            t = time.perf_counter()
            sheet = sheet_paths[photo]
            try:
                result = _in_worker(isolate, evaluate_one, str(photo), settings, config, str(sheet) if sheet else None)
            except BrokenProcessPool as error:
                result = PhotoResult(photo.stem, error=f"worker process died ({error})")
            finish(index, photo, result, time.perf_counter() - t)
    else:
        # One fresh process per photo (max_tasks_per_child=1), N at a time.
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=share_cores, initargs=(args.jobs,), max_tasks_per_child=1) as pool:
            started_at = {}
            futures = {}
            for index, photo in enumerate(photos):
                sheet = sheet_paths[photo]
                futures[pool.submit(evaluate_one, str(photo), settings, config, str(sheet) if sheet else None)] = (index, photo)
                started_at[index] = time.perf_counter()
            print(f"{len(photos)} photos, {args.jobs} at a time ...", flush=True)
            for future in as_completed(futures):
                index, photo = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool as error:
                    result = PhotoResult(photo.stem, error=f"worker process died ({error})")
                finish(index, photo, result, time.perf_counter() - started_at[index])

    real = None
    if args.clip:
        print(f"real-video check: {Path(args.clip).name} ...", flush=True)
        try:
            real = _in_worker(isolate, real_video_check, args.clip, args.clip_photo, settings, args.clip_frames)
        except BrokenProcessPool as error:
            from .evaluate import RealVideoResult

            real = RealVideoResult(Path(args.clip).name, 0, 0.0, 0, 0, error=f"worker process died ({error})")
        write_real_csv(real, out_dir / "real_video.csv")

    write(real, done=True)
    print()
    print(markdown_table(results))
    if real is not None:
        from .report import fmt

        if real.error:
            print(f"\nreal-video check: error — {real.error}")
        else:
            v = real.values
            print(f"\nreal-video check ({real.clip}): PSNR {fmt(v['psnr'])} dB / SSIM {fmt(v['ssim'], 'f3')}; "
                  f"still image {fmt(v['still_psnr'])} dB / {fmt(v['still_ssim'], 'f3')}")
    print(f"\nreport: {out_dir / 'report.md'}  ({env['run time']})")
    return 0 if all(r.error is None for r in results) and (real is None or real.error is None) else 1


if __name__ == "__main__":
    sys.exit(main())
