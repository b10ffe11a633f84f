"""Throughput of the batch mode: photos/hour of ``landscape4d batch`` on this machine (Ray local cluster).

    python benchmarks/batch.py examples/china.jpg [more photos] [--copies 4] [batch flags: --quality fast ...]

The photos (each ``--copies`` times, under distinct names) are put in a fresh folder and processed by exactly
what ``python -m landscape4d batch`` runs (the CLI's parser, ``cli._settings``, ``batch.run_batch``); flags
the benchmark does not know are the batch's own (``--quality``, ``--resolution``, ``--seconds``, ``--fps``,
``--formats``, ``--concurrency``, ``--backend``…). The table gives the wall time of the whole run (starting the
cluster and its workers included), photos/hour over that wall time, the mean seconds a photo takes inside a
worker, and the steady rate that mean gives (workers × 3600 / mean: what a long batch approaches).

``--engine inline`` runs the same worker class (``batch.PhotoWorker``: backends built once, then
``process_photo`` per photo) in this process, one photo at a time, for a machine without Ray.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d import cli  # noqa: E402
from landscape4d.batch import BatchJob, PhotoWorker, check_formats, find_photos, photo_folders, run_batch  # noqa: E402


def device_line() -> str:
    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return f"{len(names)} × {names[0]} (torch {torch.__version__})"
    return f"CPU, {__import__('os').cpu_count()} cores (torch {torch.__version__})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", nargs="+", help="photos to process")
    p.add_argument("--copies", type=int, default=2, help="times each photo is processed (default 2)")
    p.add_argument("--engine", choices=("ray", "inline"), default="ray", help="ray (the batch mode; default) or inline")
    p.add_argument("--keep", help="write the outputs here instead of a temporary folder")
    own, rest = p.parse_known_args(argv)

    work = Path(tempfile.mkdtemp(prefix="l4d-batch-bench-"))
    photos_dir, out = work / "photos", Path(own.keep) if own.keep else work / "out"
    photos_dir.mkdir()
    for source in map(Path, own.photos):
        for copy in range(own.copies):
            shutil.copy(source, photos_dir / f"{source.stem}-{copy:02d}{source.suffix.lower()}")
    args = cli._batch_parser().parse_args([str(photos_dir), "--out", str(out), "--quiet", *rest])
    job = BatchJob(cli._settings(args), cli._video(args), check_formats(args.formats))
    started = time.perf_counter()
    if own.engine == "ray":
        report = run_batch(photos_dir, out, job, address=args.address, concurrency=args.concurrency,
                           cpus_per_worker=args.cpus_per_worker, num_cpus=args.num_cpus, force=True, quiet=True)
        rows = report.rows
        meta = json.loads(report.json_path.read_text())
        workers = meta.get("workers", 1)
    else:
        worker = PhotoWorker(job)
        photos = find_photos(photos_dir)
        folders = photo_folders(photos, out)
        rows = [worker.process(str(photo), str(folders[photo])) for photo in photos]
        workers = 1
    wall = time.perf_counter() - started
    ok = [row for row in rows if row["status"] == "ok"]
    failed = [row for row in rows if row["status"] == "failed"]
    mean = sum(row["seconds"] for row in ok) / len(ok) if ok else float("nan")
    settings = job.settings
    print(f"machine: {device_line()}, {platform.python_version()}; engine {own.engine}, {workers} worker(s)")
    print(f"job: quality flags {' '.join(rest) or '(defaults)'}; long side {settings.long_side or 'default'}, "
          f"{settings.num_views} views, {settings.fit_iters} fit steps; video {job.video.trajectory} "
          f"{job.video.seconds:g} s at {job.video.fps:g} fps; exports {', '.join(job.formats) or 'none'}")
    print()
    print("| photos | ok | failed | workers | wall s | photos/hour (wall) | per-photo mean s | photos/hour (steady) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {len(rows)} | {len(ok)} | {len(failed)} | {workers} | {wall:.1f} | {len(ok) / wall * 3600:.0f} | "
          f"{mean:.2f} | {workers * 3600 / mean:.0f} |")
    for row in failed:
        print(f"failed {row['photo']}: {row['reason']}", file=sys.stderr)
    if not own.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
