"""``export_scene``: one call from a ``Scene4D`` to files on disk, for the CLI and the app."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from landscape4d import limits
from landscape4d.settings import DEFAULT_DOWNLOADS, FRAMES_STRIDE  # noqa: F401 - re-exported: the Space's downloads
from landscape4d.scene import Scene4D

from .footprint import EXPORT_FOOTPRINT, export_ready, grid_for_budget
from .loop import prepare_scene, rest_splats, splatv_report, viewer_camera
from .ply import encode_compressed_ply, encode_ply
from .sequence import check_frame_formats, frame_phases, write_sequence_zip
from .splat import encode_splat
from .splatv import DEFAULT_LOBES, LOBE_CHOICES, SPLATS_PER_ROW, encode_splatv, fade_error, record_counts
from .spz import SPZ_VERSIONS, encode_spz
from .viewer_html import orbit_distance, viewer_config, viewer_html_bytes, viewer_zip

FORMATS = ("ply", "compressed_ply", "splat", "spz", "sequence", "splatv")
SUFFIXES = {"ply": ".ply", "compressed_ply": ".compressed.ply", "splat": ".splat", "spz": ".spz", "sequence": ".zip", "splatv": ".splatv"}
MB = 1_000_000
# Every format: ``footprint`` (splat σ in pixel spacings, 0 = the scene's own footprints, see ``footprint.py``) and
# ``max_bytes`` (the file's size budget: above it the scene is resampled on a coarser pixel grid; None or 0 = only the
# library's per-file limit, ``limits.LIMITS.max_export_bytes``, which no budget may exceed).
COMMON = {"max_gaussians": None, "footprint": EXPORT_FOOTPRINT}
OPTIONS = {  # format → accepted keyword options and their defaults
    "ply": {**COMMON, "max_bytes": None, "sh_degree": None},  # the static .ply keeps full detail
    "compressed_ply": {**COMMON, "max_bytes": None},
    "splat": {**COMMON, "max_bytes": None},
    "spz": {**COMMON, "max_bytes": 15 * MB, "spz_version": 3},
    "sequence": {**COMMON, "max_bytes": 250 * MB, "frame_formats": ("compressed_ply",), "stride": None, "min_weight": 1.0 / 255.0},
    "splatv": {**COMMON, "max_bytes": 64 * MB, "lobes": DEFAULT_LOBES, "viewer": True, "embed": True, "error_samples": 25},
}
SEQUENCE_FPS = 10.0  # default sequence frame rate: stride = round(loop fps / this)
BYTES_PER_SPLAT = {"ply": 68, "compressed_ply": 16 + 72 / 256, "splat": 32, "spz": 8}  # spz: after gzip (≈ 6.6–7 on photos), checked after writing


@dataclass
class ExportResult:
    """What ``export_scene`` wrote: ``paths`` (main file first), ``sizes`` (bytes by file name), ``stats``."""

    paths: list[Path]
    sizes: dict[str, int]
    stats: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """Human-readable lines: one per file with its size, then the key statistics."""
        lines = [f"wrote {p}  ({format_bytes(self.sizes[p.name])})" for p in self.paths]
        s = self.stats
        lines.append(
            f"{s['format']}: {s['gaussians']:,} Gaussians ({s['moving']:,} moving) in {s['seconds']:.2f} s"
            + (f"; dropped {s['dropped_invalid']:,} with NaN/inf" if s["dropped_invalid"] else "")
            + (f"; {s['dropped_budget']:,} over the budget" if s["dropped_budget"] else "")
        )
        if s.get("grid", 1.0) > 1.0:
            lines.append(
                f"size budget: {s['source_gaussians']:,} Gaussians resampled on a {s['grid']:.2f}-px grid "
                f"(more detail: raise --max-mb)"
            )
        if "fit_error_px" in s:
            fit, fade, loop = s["fit_error_px"], s["fade_error"], s["loop_error"]
            lines.append(
                f"splatv: {s['splats']:,} splats ({s['splats_per_moving']:.2f} per moving Gaussian: {s['cycles']} cycle(s), "
                f"{s['lobes']} lobe(s) a copy, fade {s['fade']:g} encoded as {s['effective_fade']:g}); position error "
                f"{fit['mean']:.4f} px mean / {fit['max']:.4f} px max; cross-fade weight error {loop['weight']['mean']:.3f} "
                f"mean / {loop['weight']['max']:.3f} max, weights sum to {loop['weight']['sum_min']:.3f}–"
                f"{loop['weight']['sum_max']:.3f}; opacity error {loop['opacity']['mean']:.3f} mean / "
                f"{loop['opacity']['max']:.3f} max; t = 0 ghosts {fade['ghost']:.3f}"
            )
        if "frames" in s:
            lines.append(
                f"sequence: {s['frames']} frames at {s['frame_fps']:g} fps (stride {s['stride']}), up to "
                f"{s['max_frame_splats']:,} splats a frame"
            )
        return "\n".join(lines)


def format_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


def resolve_output(out: str | Path, fmt: str, name: str = "scene") -> Path:
    """``out`` as a file path for ``fmt``: a folder gets ``name`` + suffix, a missing suffix is added."""
    out = Path(out)
    suffix = SUFFIXES[fmt]
    if out.is_dir():
        return out / f"{name}{suffix}"
    if out.suffix == "":
        return out.with_name(out.name + suffix)
    if out.suffix.lower() != "." + suffix.rsplit(".", 1)[-1]:
        raise ValueError(f"--out {out} has suffix {out.suffix!r} but format {fmt!r} writes {suffix!r} files")
    return out


def _options(fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    accepted = OPTIONS[fmt]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"format {fmt!r} does not take option(s) {unknown}; it accepts {sorted(accepted)}")
    merged = {**accepted, **{k: v for k, v in options.items() if v is not None}}
    if merged["max_gaussians"] is not None and (not isinstance(merged["max_gaussians"], int) or merged["max_gaussians"] < 1):
        raise ValueError(f"max_gaussians must be a positive integer, got {merged['max_gaussians']!r}")
    return merged


def _write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # a failed export never leaves half a file under the final name
    return len(data)


def _offsets(scene: Scene4D) -> np.ndarray:
    """[N] the scene's phase offsets ψ (zeros when it has none)."""
    if scene.phase_offset is None:
        return np.zeros(len(scene.gaussians))
    return scene.phase_offset.detach().cpu().numpy().astype(np.float64)


def default_stride(scene: Scene4D) -> int:
    """Sequence stride for about ``SEQUENCE_FPS`` frames a second (at least 2 frames in the loop)."""
    return max(1, min(round(scene.loop_fps / SEQUENCE_FPS), scene.loop_frames // 2))


def estimated_bytes(fmt: str, opts: dict[str, Any], scene: Scene4D) -> int:
    """What ``fmt`` would write for ``scene`` (before any ``max_gaussians`` budget): exact for fixed-size formats,
    an upper bound for sequences (every moving Gaussian in both slots), an estimate for ``.spz`` (gzip)."""
    n = len(scene.gaussians)
    moving = int(scene.moving.sum())
    if fmt in BYTES_PER_SPLAT:
        per = 248 if fmt == "ply" and opts.get("sh_degree") == 3 else BYTES_PER_SPLAT[fmt]
        return int(n * per) + 1024
    if fmt == "sequence":
        frames = len(frame_phases(scene.loop_frames, opts["stride"]))
        return int(frames * (n + moving) * sum(BYTES_PER_SPLAT[f] for f in opts["frame_formats"])) + frames * 1024
    records = n - moving + int(record_counts(_offsets(scene)[scene.moving.numpy()], scene.cycles, scene.fade, opts["lobes"]).sum())
    rows = -(-records // SPLATS_PER_ROW)  # the texture is padded to whole rows
    return rows * SPLATS_PER_ROW * 64 + 4096


def export_scene(scene: Scene4D, fmt: str, out: str | Path, **options: Any) -> ExportResult:
    """Export ``scene`` as ``fmt`` (one of ``FORMATS``) to ``out`` (a file path or a folder).

    Options (all optional; see ``OPTIONS``): ``footprint`` — exported splats' σ in pixel spacings (default
    ``EXPORT_FOOTPRINT``: gap-free at any window size, colours re-fitted; 0 keeps the scene's own); ``max_bytes`` —
    the file's size budget (default 15 MB spz, 250 MB sequence, 64 MB splatv, none for the others; 0: none), never above
    ``limits.LIMITS.max_export_bytes``, which also applies when there is no budget: above it the scene is resampled on
    a coarser pixel grid (``footprint.resample``), so the picture stays whole (a file still over the limit at the
    coarsest grid is refused before it is written);
    ``max_gaussians`` — the most splats any file or frame may hold (most important Gaussians kept);
    ``sh_degree`` (ply); ``spz_version`` 2 or 3; ``frame_formats`` (subset of ply / compressed_ply / splat;
    default compressed_ply), ``stride`` (default: about 10 frames a second), ``min_weight`` (sequence); ``lobes``
    1–3 (temporal lobes per copy), ``viewer`` (also write ``<stem>_viewer.zip`` with viewer.html and the .splatv),
    ``embed`` (scene inside viewer.html), ``error_samples`` (viewer times at which the decoded file is compared
    with ``LoopStates``) (splatv).
    """
    fmt = fmt.replace("-", "_")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    opts = _options(fmt, options)
    path = resolve_output(out, fmt)
    started = time.perf_counter()
    if not isinstance(opts["footprint"], (int, float)) or not 0 <= opts["footprint"] <= 4:
        raise ValueError(f"footprint must be a number of pixel spacings in [0, 4], got {opts['footprint']!r}")
    if opts["max_bytes"] is not None and (not isinstance(opts["max_bytes"], int) or opts["max_bytes"] < 0):
        raise ValueError(f"max_bytes must be a non-negative integer (0: no budget), got {opts['max_bytes']!r}")
    if opts["max_bytes"] == 0:
        opts["max_bytes"] = None
    max_file_bytes = limits.LIMITS.max_export_bytes
    if options.get("max_bytes") and options["max_bytes"] > max_file_bytes:
        raise limits.LimitError(f"max_bytes {options['max_bytes'] / MB:g} MB is above the limit of "
                                f"{limits.format_bytes(max_file_bytes)} a file; ask for at most that")
    budget = min(opts["max_bytes"] or max_file_bytes, max_file_bytes)  # the limit is always a budget
    moving_cost = 1
    if fmt == "sequence":
        opts["frame_formats"] = check_frame_formats(opts["frame_formats"])
        if opts["stride"] is None:
            opts["stride"] = default_stride(scene)
        frame_phases(scene.loop_frames, opts["stride"])  # validate before any heavy work
        moving_cost = 2
    elif fmt == "splatv":
        if opts["lobes"] not in LOBE_CHOICES:
            raise ValueError(f"lobes must be one of {list(LOBE_CHOICES)}, got {opts['lobes']!r}")
        lobes = opts["lobes"]

        def moving_cost(cleaned: Scene4D) -> np.ndarray:  # copies × lobes each moving Gaussian becomes
            return record_counts(_offsets(cleaned)[cleaned.moving.numpy()], cleaned.cycles, cleaned.fade, lobes)
    elif fmt == "spz" and opts["spz_version"] not in SPZ_VERSIONS:
        raise ValueError(f"spz_version must be one of {SPZ_VERSIONS}, got {opts['spz_version']!r}")
    cleaned = prepare_scene(scene, None)
    # Size budget: the finest pixel grid whose file fits, then footprints for any window size (footprint.py).
    grid = grid_for_budget(cleaned.scene, lambda s: estimated_bytes(fmt, opts, s), budget)
    ready = export_ready(cleaned.scene, opts["footprint"], grid)
    prepared = prepare_scene(ready, opts["max_gaussians"], moving_cost)
    scene = prepared.scene
    stats: dict[str, Any] = {
        "format": fmt,
        "gaussians": len(scene.gaussians),
        "moving": int(scene.moving.sum()),
        "source_gaussians": len(cleaned.scene.gaussians),
        "grid": grid,
        "footprint": opts["footprint"],
        "dropped_invalid": cleaned.dropped_invalid,
        "dropped_budget": prepared.dropped_budget,
    }
    paths = [path]
    sizes: dict[str, int] = {}
    if fmt in ("ply", "compressed_ply", "splat", "spz"):
        splats = rest_splats(scene)
        if fmt == "ply":
            data = encode_ply(splats, opts["sh_degree"])
        elif fmt == "compressed_ply":
            data = encode_compressed_ply(splats)
        elif fmt == "splat":
            data = encode_splat(splats)
        else:
            data = encode_spz(splats, version=opts["spz_version"])
            while len(data) > budget and grid < 8.0:
                # gzip did less than estimated: a coarser grid, as far as the overshoot says.
                grid = min(8.0, grid * max(1.07, (len(data) / budget) ** 0.5))
                scene = prepare_scene(export_ready(cleaned.scene, opts["footprint"], grid), opts["max_gaussians"]).scene
                splats = rest_splats(scene)
                data = encode_spz(splats, version=opts["spz_version"])
                stats.update(grid=grid, gaussians=len(splats))
        limits.check_export_bytes(len(data), path.name)
        sizes[path.name] = _write(path, data)
        stats["splats"] = len(splats)
    elif fmt == "sequence":
        # Frames are written one at a time: the upper bound (every moving Gaussian in both slots) is checked first.
        limits.check_export_bytes(estimated_bytes(fmt, opts, scene), path.name, estimated=True)
        sequence = write_sequence_zip(scene, path, opts["frame_formats"], opts["stride"], opts["min_weight"])
        sizes[path.name] = path.stat().st_size
        stats.update({k: v for k, v in sequence.items() if k != "seconds"})
    else:
        camera = viewer_camera(scene)
        splats = rest_splats(scene)
        velocity = scene.velocity.detach().cpu().numpy()
        encoding = encode_splatv(
            splats, velocity, scene.loop_frames, camera, lobes=opts["lobes"], cycles=scene.cycles, fade=scene.fade,
            phase_offset=_offsets(scene),
            colour_shift=None if scene.colour_shift is None else scene.colour_shift.detach().cpu().numpy(),
        )
        limits.check_export_bytes(len(encoding.data), path.name)
        sizes[path.name] = _write(path, encoding.data)
        stats.update(encoding.stats)
        stats["fade_error"] = fade_error(opts["lobes"], scene.fade)
        # The decoded file against LoopStates at error_samples viewer times (the encoder itself never samples it), in
        # a thread beside the viewer page and zip: NumPy, torch and zlib release the GIL, so on several cores it is free.
        with ThreadPoolExecutor(1) as pool:
            report_job = pool.submit(splatv_report, scene, encoding, camera, max(opts["error_samples"], 2))
            html_bytes = None
            if opts["viewer"]:
                config = viewer_config(camera, orbit_distance(camera, splats.means), scene.period_s, path.name,
                                       splats=encoding.stats["splats"])
                html = viewer_html_bytes(config, encoding.data if opts["embed"] else None,
                                         title=f"landscape4d — {path.stem}")
                zip_path = path.with_name(f"{path.stem}_viewer.zip")
                zipped = viewer_zip(html, encoding.data, path.name)
                limits.check_export_bytes(len(zipped), zip_path.name)
                sizes[zip_path.name] = _write(zip_path, zipped)
                html_bytes = len(html)
                paths.append(zip_path)
            report = report_job.result()
        stats["fit_error_px"] = report["position"]
        stats["loop_error"] = {"weight": report["weight"], "opacity": report["opacity"], "stray": report["stray"]}
        if html_bytes is not None:
            stats["viewer_html_bytes"] = html_bytes
    stats["seconds"] = time.perf_counter() - started
    return ExportResult(paths, sizes, stats)


def export_downloads(
    scene: Scene4D,
    folder: str | Path,
    name: str,
    downloads: tuple = DEFAULT_DOWNLOADS,
    workers: int | None = None,
    on_done: Callable[[str, ExportResult], None] | None = None,
) -> dict[str, ExportResult]:
    """Every file of ``downloads`` ((key, format, label, options) rows; the Space's list by default) for ``scene``,
    named ``<name>.<suffix>`` in ``folder`` (the frame sequence ``<name>_frames.zip``). Returns key → result, in
    the list's order; ``on_done(key, result)`` is called as each one finishes (from the calling thread).

    With a GPU the files are written concurrently (``workers``: one thread per file by default): their CPU work
    (quantising, sorting, deflate) releases the GIL and the GPU refits share one cached fit per size budget. On a CPU
    the rasterizer already uses every core, so the default is one at a time."""
    from .footprint import compute_device

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = len(downloads) if compute_device().type == "cuda" else 1
    results: dict[str, ExportResult] = {}

    def one(row: tuple) -> ExportResult:
        key, fmt, _label, options = row
        return export_scene(scene, fmt, folder / (f"{name}_frames" if key == "frames" else name), **options)

    if workers <= 1:
        for row in downloads:
            results[row[0]] = one(row)
            if on_done is not None:
                on_done(row[0], results[row[0]])
    else:
        with ThreadPoolExecutor(max(1, min(workers, len(downloads)))) as pool:
            jobs = {pool.submit(one, row): row[0] for row in downloads}
            for job in as_completed(jobs):
                results[jobs[job]] = job.result()
                if on_done is not None:
                    on_done(jobs[job], results[jobs[job]])
    return {row[0]: results[row[0]] for row in downloads}
