"""The per-photo work the CLI does (``process_photo``), and a batch mode that runs it over a folder of photos on Ray.

``process_photo`` is the CLI's one code path: photo (or saved scene) → scene file, video along a camera path, and
any splat exports. ``python -m landscape4d PHOTO`` calls it once; ``python -m landscape4d batch PHOTOS_DIR`` calls
it once per photo inside Ray actors, with the same ``Settings`` built from the same flags (``cli._settings``).

Batch mode (``run_batch``), in short:

* one Ray actor per concurrency slot, holding one GPU (``num_gpus=1``) where the cluster has GPUs, else
  ``cpus_per_worker`` CPUs; photos are handed to idle actors one at a time, so the model backends (loaded by
  ``hub.load_model``, cached per process) load once per worker: the actor builds the backends when it starts;
* ``ray.init()`` starts a local cluster (``address="local"``) or joins one (``"auto"``, ``"ray://host:10001"``…);
  Ray is imported only here, and only when a batch runs (``pip install -r requirements-batch.txt``);
* every photo writes into ``OUT/<photo stem>/`` (scene, video, exports: each file written to a temporary name and
  renamed) and, last, a marker ``batch.json`` naming its outputs and the job they were made with; a photo whose
  marker exists, lists files that all exist and was made with the same job (settings, video, formats) is
  skipped on a re-run, so an interrupted batch resumes where it stopped;
* a photo that fails (unreadable file, bad mask, a crashed worker…) becomes a ``failed`` row with its reason and
  never stops the others; ``OUT/summary.csv`` and ``OUT/summary.json`` list every photo (ok / failed / skipped,
  reason, seconds, outputs); the CLI exits 1 when any photo failed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .scene import SCENE_SUFFIX, Scene4D
from .settings import (
    DEFAULT_VIDEO_FPS, DEFAULT_VIDEO_SECONDS, DEFAULT_VIDEO_TRAJECTORY, Settings, check_video,
)
from .trajectories import PRESETS as TRAJECTORIES

if TYPE_CHECKING:
    from .pipeline import ProgressFn, UserEdits
    from .render import VideoResult

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")  # what a batch picks up in PHOTOS_DIR
MARKER = "batch.json"  # written last in a photo's folder: the photo is done
SUMMARY_CSV, SUMMARY_JSON = "summary.csv", "summary.json"
SUMMARY_FIELDS = ("photo", "status", "reason", "seconds", "outputs", "worker")
class RayMissing(RuntimeError):
    """Ray is not installed (batch mode only; the rest of the library never imports it)."""


RAY_MISSING = ("batch mode runs on Ray, which is not installed: pip install -r requirements-batch.txt "
               "(or pip install 'landscape4d[batch]')")


@dataclass(frozen=True)
class VideoOptions:
    """The video ``process_photo`` renders: a preset camera path, its length and frame rate (the CLI's flags)."""

    trajectory: str = DEFAULT_VIDEO_TRAJECTORY
    seconds: float = DEFAULT_VIDEO_SECONDS
    fps: float = DEFAULT_VIDEO_FPS

    def __post_init__(self) -> None:  # checked up front, so a batch fails before it starts rather than per photo
        if self.trajectory not in TRAJECTORIES:
            raise ValueError(f"trajectory must be one of {', '.join(TRAJECTORIES)}, got {self.trajectory!r}")
        check_video(self.seconds, self.fps)


@dataclass
class PhotoResult:
    """What ``process_photo`` made: the scene (and where it is saved), the video and the exports."""

    source: Path
    name: str
    scene: Scene4D
    scene_path: Path
    video: "VideoResult"
    exports: list[Any] = field(default_factory=list)  # exporters.ExportResult, one per format
    seconds: float = 0.0

    @property
    def outputs(self) -> list[Path]:
        """Every file written or used: video, scene, then each export's files."""
        return [self.video.path, self.scene_path] + [path for export in self.exports for path in export.paths]


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """Export format names (dashes or underscores) as ``exporters.FORMATS`` spells them; unknown ones raise."""
    from exporters.api import FORMATS

    names = tuple(dict.fromkeys(f.replace("-", "_") for f in formats))
    wrong = [f for f in names if f not in FORMATS]
    if wrong:
        raise ValueError(f"unknown export format(s) {', '.join(wrong)}; choose from {', '.join(FORMATS)}")
    return names


def process_photo(
    source: str | Path,
    out_dir: str | Path,
    settings: Settings,
    video: VideoOptions = VideoOptions(),
    formats: Sequence[str] = (),
    edits: "UserEdits | None" = None,
    progress: "ProgressFn | None" = None,
    frame_progress: Callable[[int, int], None] | None = None,
) -> PhotoResult:
    """One photo → ``<name>.l4d.npz`` (unless ``source`` already is a saved scene, which is re-rendered),
    ``<name>_<trajectory>.mp4`` and one file set per export format, all in ``out_dir``.

    ``progress`` receives the build's stages, ``frame_progress`` each rendered frame. Every file is written under
    a temporary name and renamed, so a crash never leaves half a file under the final name."""
    from .pipeline import build, resolve_device
    from .render import render_video

    started = time.perf_counter()
    formats = check_formats(formats) if formats else ()
    out_dir = Path(out_dir)
    source = Path(source)
    if source.name.endswith(SCENE_SUFFIX):
        scene = Scene4D.load(source)
        name = source.name[: -len(SCENE_SUFFIX)]
        scene_path = source
    else:
        result = build(source, settings, edits, progress=progress)
        scene = result.scene
        name = result.photo.name
        scene_path = scene.save(out_dir / f"{name}{SCENE_SUFFIX}")
    device = resolve_device(settings.device)
    rendered = render_video(scene, video.trajectory, video.seconds, video.fps,
                            out_dir / f"{name}_{video.trajectory}.mp4", device, progress=frame_progress)
    exports = []
    if formats:
        from exporters.api import SUFFIXES, export_scene

        for fmt in formats:
            exports.append(export_scene(scene, fmt, out_dir / f"{name}{SUFFIXES[fmt]}"))
    return PhotoResult(source, name, scene, scene_path, rendered, exports, time.perf_counter() - started)


# --- batch ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchJob:
    """What every photo of a batch is made with; a photo made with another job is not skipped on a re-run."""

    settings: Settings
    video: VideoOptions = VideoOptions()
    formats: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"settings": asdict(self.settings), "video": asdict(self.video), "formats": list(self.formats)}


def find_photos(folder: str | Path) -> list[Path]:
    """The photos directly in ``folder`` (by suffix, case-insensitive), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder not found: {folder}")
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        raise ValueError(f"no photos ({', '.join(PHOTO_SUFFIXES)}) in {folder}")
    return photos


def photo_folders(photos: Sequence[Path], out: Path) -> dict[Path, Path]:
    """Each photo's output folder, ``OUT/<stem>`` (``OUT/<stem>_<ext>`` where two photos share a stem)."""
    stems: dict[str, int] = {}
    for photo in photos:
        stems[photo.stem] = stems.get(photo.stem, 0) + 1
    return {p: out / (p.stem if stems[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}") for p in photos}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def finished(folder: Path, job: BatchJob) -> dict[str, Any] | None:
    """The marker of a photo done with ``job`` whose outputs all still exist, else None."""
    try:
        record = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("job") != json.loads(json.dumps(job.describe())):
        return None
    if not record.get("outputs") or not all((folder / name).is_file() for name in record["outputs"]):
        return None
    return record


def _worker_id() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def process_into_folder(photo: Path, folder: Path, job: BatchJob) -> dict[str, Any]:
    """``process_photo`` into ``folder``, then its marker; a summary row, ``failed`` with the reason on any error."""
    started = time.perf_counter()
    row: dict[str, Any] = {"photo": photo.name, "worker": _worker_id()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        result = process_photo(photo, folder, job.settings, job.video, job.formats)
        outputs = [p.name for p in result.outputs]
        seconds = round(time.perf_counter() - started, 2)
        _write_atomic(folder / MARKER, json.dumps(
            {"photo": photo.name, "outputs": outputs, "seconds": seconds, "job": job.describe()}, indent=1))
        row.update(status="ok", reason="", seconds=seconds, outputs=[str(folder / name) for name in outputs])
    except Exception as error:  # noqa: BLE001 - one photo's failure is its row, never the batch's
        try:
            folder.rmdir()  # only when empty: nothing of this photo was written
        except OSError:
            pass
        row.update(status="failed", reason=f"{type(error).__name__}: {error}".strip(),
                   seconds=round(time.perf_counter() - started, 2), outputs=[])
    return row


class PhotoWorker:
    """One Ray actor's state: the job, with its model backends built once when the actor starts (``hub`` keeps
    them for the life of the process, so every photo this worker builds reuses them)."""

    def __init__(self, job: BatchJob, threads: int | None = None) -> None:
        import torch

        from .backends import resolve_backends
        from .hub import _MODELS

        if threads and not torch.cuda.is_available():
            torch.set_num_threads(threads)  # a CPU worker keeps to the cores Ray gave it
        self.job = job
        self.models_at_start = len(_MODELS)
        self.warmup_error = ""
        try:
            resolve_backends(job.settings)  # loads every model backend now (cached per process)
        except Exception as error:  # noqa: BLE001 - reported on each photo's row by build itself
            self.warmup_error = f"{type(error).__name__}: {error}"
        self.models_loaded = len(_MODELS) - self.models_at_start

    def process(self, photo: str, folder: str) -> dict[str, Any]:
        from .hub import _MODELS

        before = len(_MODELS)
        row = process_into_folder(Path(photo), Path(folder), self.job)
        row["models_loaded"] = len(_MODELS) - before  # 0 once the worker has started: loaded once per worker
        row["worker_models"] = self.models_loaded  # what the worker loaded when it started
        return row


@dataclass
class BatchReport:
    """Every photo's summary row (input order) and where the summary files are."""

    rows: list[dict[str, Any]]
    csv_path: Path
    json_path: Path
    seconds: float

    def count(self, status: str) -> int:
        return sum(row["status"] == status for row in self.rows)

    @property
    def failed(self) -> int:
        return self.count("failed")


def write_summary(out: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> tuple[Path, Path]:
    """``summary.csv`` (outputs joined by ``;``) and ``summary.json`` (``meta`` + rows), each written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "outputs": ";".join(row.get("outputs", []))})
    _write_atomic(out / SUMMARY_CSV, buffer.getvalue())
    _write_atomic(out / SUMMARY_JSON, json.dumps({**meta, "photos": rows}, indent=1))
    return out / SUMMARY_CSV, out / SUMMARY_JSON


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise RayMissing(RAY_MISSING) from error
    return ray


def _start_ray(ray: Any, address: str, num_cpus: int | None) -> bool:
    """Connect to Ray; True when this call started it (and should shut it down)."""
    if ray.is_initialized():
        return False
    package_root = str(Path(__file__).resolve().parents[1])  # landscape4d and exporters, for a repo checkout
    pythonpath = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    common = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == "local":
        # Workers of a local cluster inherit the environment the cluster starts with (HF_HUB_OFFLINE, caches), and
        # PYTHONPATH lets them import this checkout; the driver's own environment is restored afterwards.
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = pythonpath
        try:
            ray.init(num_cpus=num_cpus, **common)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
    else:
        ray.init(address=address, **{k: v for k, v in common.items() if k != "include_dashboard"})
    return True


def run_batch(
    photos_dir: str | Path,
    out: str | Path,
    job: BatchJob,
    address: str = "local",
    concurrency: int | None = None,
    cpus_per_worker: int = 1,
    num_cpus: int | None = None,
    force: bool = False,
    quiet: bool = False,
) -> BatchReport:
    """Process every photo of ``photos_dir`` into ``out`` on Ray (see the module docstring); returns the report.

    ``concurrency``: actors at once (default: the cluster's GPUs, else its CPUs / ``cpus_per_worker``, at most one
    per photo to do). ``num_cpus`` caps a local cluster's CPUs. ``force`` redoes finished photos."""
    from tqdm import tqdm

    started = time.perf_counter()
    photos = find_photos(photos_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = photo_folders(photos, out)
    rows: dict[Path, dict[str, Any]] = {}
    for photo in photos:
        record = None if force else finished(folders[photo], job)
        if record is not None:
            rows[photo] = {"photo": photo.name, "status": "skipped", "reason": "done in an earlier run",
                           "seconds": record.get("seconds", 0.0),
                           "outputs": [str(folders[photo] / name) for name in record["outputs"]], "worker": ""}
    todo = [p for p in photos if p not in rows]
    meta: dict[str, Any] = {"photos_dir": str(photos_dir), "out": str(out), "job": job.describe()}
    bar = tqdm(total=len(photos), initial=len(photos) - len(todo), desc="photos", unit="photo", disable=quiet)
    if todo:
        ray = _import_ray()
        started_ray = _start_ray(ray, address, num_cpus)
        try:
            gpus = 0 if job.settings.device == "cpu" else int(ray.cluster_resources().get("GPU", 0))
            cpus = int(ray.cluster_resources().get("CPU", 1))
            slots = gpus if gpus else max(1, cpus // max(1, cpus_per_worker))
            workers = max(1, min(concurrency or slots, len(todo)))
            resources = {"num_gpus": 1, "num_cpus": cpus_per_worker} if gpus else {"num_cpus": cpus_per_worker}
            meta.update(ray_address=address, workers=workers, gpus_per_worker=1 if gpus else 0, cluster_gpus=gpus,
                        cluster_cpus=cpus)
            actor_class = ray.remote(**resources)(PhotoWorker)
            job_ref = ray.put(job)

            def new_actor() -> Any:
                return actor_class.remote(job_ref, None if gpus else cpus_per_worker)

            idle = [new_actor() for _ in range(workers)]
            queue = list(todo)
            running: dict[Any, tuple[Any, Path]] = {}
            while queue or running:
                while queue and idle:
                    actor, photo = idle.pop(), queue.pop(0)
                    running[actor.process.remote(str(photo), str(folders[photo]))] = (actor, photo)
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    actor, photo = running.pop(ref)
                    try:
                        row = ray.get(ref)
                        idle.append(actor)
                    except Exception as error:  # noqa: BLE001 - the worker died (OOM, crash): a failed row, a new worker
                        cause = getattr(error, "cause", None) or error
                        row = {"photo": photo.name, "status": "failed", "seconds": 0.0, "outputs": [], "worker": "",
                               "reason": f"worker lost: {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"}
                        ray.kill(actor)
                        idle.append(new_actor())
                    rows[photo] = row
                    bar.update(1)
                    bar.set_postfix(ok=sum(r["status"] == "ok" for r in rows.values()),
                                    failed=sum(r["status"] == "failed" for r in rows.values()))
        finally:
            bar.close()
            if started_ray:
                ray.shutdown()
    else:
        bar.close()
    ordered = [rows[p] for p in photos]
    elapsed = time.perf_counter() - started
    meta["seconds"] = round(elapsed, 2)
    csv_path, json_path = write_summary(out, ordered, meta)
    return BatchReport(ordered, csv_path, json_path, elapsed)


__all__ = ["BatchJob", "BatchReport", "PhotoResult", "PhotoWorker", "RayMissing", "VideoOptions", "check_formats", "find_photos",
           "finished", "process_photo", "run_batch", "write_summary"]
