"""Per-frame sequences: a zip of ``frame0000.ply, frame0001.ply, …`` that SuperSplat plays as a sequence.

One file per loop frame (``stride`` 1) or every ``stride``-th frame, numbered consecutively. The loop frame N equals
frame 0, so frames cover phases 0, stride, … < N. Each frame is what ``animate.LoopStates`` draws at that phase
(cycles, fades and phase offsets included), without the Gaussians whose cross-fade weight (``LoopStates.weight``)
is below ``min_weight`` (the slot that is not resting at phase 0; with short fades, one of the two slots most of
the time).

Frame formats: ``ply`` (INRIA float, 248 bytes a splat with SH 0), ``compressed_ply`` (PlayCanvas, 16 bytes a
splat plus 72 bytes per 256; read by SuperSplat, not by gsplat.js), ``splat`` (32 bytes). ``ply`` and
``compressed_ply`` share the ``.ply`` extension, so a sequence holds at most one of them; ``splat`` frames can be
added alongside. Compressed frames start with the static Gaussians' whole chunks, packed once for the sequence
(``ply.CompressedPlyFrames``); only the moving ones are sorted and packed per frame.
"""

from __future__ import annotations

import time
import zipfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from landscape4d.animate import LoopStates
from landscape4d.scene import Scene4D

from .arrays import SplatArrays
from .loop import frame_counts, single_threaded_torch
from .ply import CompressedPlyFrames, encode_compressed_ply, encode_ply
from .splat import encode_splat
from .viewer_html import zip_entry
from landscape4d.zips import default_workers

FRAME_FORMATS = {  # frame format → (file suffix, encoder)
    "ply": (".ply", encode_ply),
    "compressed_ply": (".compressed.ply", encode_compressed_ply),
    "splat": (".splat", encode_splat),
}


def frame_phases(loop_frames: int, stride: int = 1) -> list[int]:
    """Loop phases of the written frames: 0, stride, 2·stride, … < loop_frames."""
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"frame stride must be a positive integer, got {stride!r}")
    if stride >= loop_frames:
        raise ValueError(f"frame stride {stride} leaves a single frame of a {loop_frames}-frame loop; use a static format")
    return list(range(0, loop_frames, stride))


def check_frame_formats(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FRAME_FORMATS]
    if unknown or not formats:
        raise ValueError(f"frame formats must be a non-empty subset of {sorted(FRAME_FORMATS)}, got {list(formats)}")
    if "ply" in formats and "compressed_ply" in formats:
        raise ValueError("'ply' and 'compressed_ply' frames would share file names; choose one")
    if len(set(formats)) != len(formats):
        raise ValueError(f"frame formats repeat: {list(formats)}")
    return formats


def _frame_jobs(
    pool: ThreadPoolExecutor, states: LoopStates, compressed: CompressedPlyFrames | None, formats: tuple[str, ...],
    visible: np.ndarray,
) -> list[Future]:
    """Submit the encoders of the frame ``states`` holds now. Whatever a job reads is copied out here first: the next
    ``states(phase)`` call rewrites the shared buffers while the jobs run."""
    gaussians = states.gaussians
    jobs = []
    splats = None
    for fmt in formats:
        if fmt == "compressed_ply":
            means, opacities, colors = (v.detach().cpu().numpy() for v in (gaussians.means, gaussians.opacities,
                                                                            gaussians.colors))
            jobs.append(pool.submit(compressed.encode, compressed.tail(means, opacities, colors, visible)))
        else:
            if splats is None:
                splats = SplatArrays.from_gaussians(gaussians).subset(visible)  # subset() copies
            jobs.append(pool.submit(FRAME_FORMATS[fmt][1], splats))
    return jobs


def write_sequence_zip(
    scene: Scene4D,
    path: str | Path,
    formats: tuple[str, ...] = ("ply",),
    stride: int = 1,
    min_weight: float = 1.0 / 255.0,
    prefix: str = "frame",
    workers: int | None = None,
) -> dict:
    """Write the sequence zip. Returns per-frame statistics.

    Frames are encoded by ``workers`` threads (default ``default_workers()``) and written in order as they finish, a
    few frames ahead at most: the bytes do not depend on the number of workers.
    """
    formats = check_frame_formats(formats)
    phases = frame_phases(scene.loop_frames, stride)
    if not prefix or not prefix.replace("_", "").replace("-", "").isalnum() or prefix[-1].isdigit():
        raise ValueError(f"frame prefix must be letters/digits/_/- and not end in a digit, got {prefix!r}")
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".tmp")
    states = LoopStates(scene)  # lay the scene out once, not per frame
    # The static Gaussians (weight 1: drawn unless min_weight > 1) fill the same whole chunks of every compressed
    # frame: packed once.
    compressed = None
    if "compressed_ply" in formats:
        fixed = states.n_static if min_weight <= 1.0 else 0
        compressed = CompressedPlyFrames(SplatArrays.from_gaussians(states.gaussians), fixed)
    pending: deque[tuple[dict, list[Future]]] = deque()

    def write_oldest(archive: zipfile.ZipFile) -> None:
        entry, jobs = pending.popleft()
        for fmt, job in zip(formats, jobs):
            data = job.result()
            archive.writestr(zip_entry(f"{prefix}{entry['index']:04d}{FRAME_FORMATS[fmt][0]}", zipfile.ZIP_STORED), data)
            entry["bytes"][fmt] = len(data)
        frames.append(entry)

    archive = zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
    with ThreadPoolExecutor(workers) as pool, archive, single_threaded_torch():
        for index, phase in enumerate(phases):
            states(phase)
            visible = states.weight.detach().cpu().numpy() >= min_weight
            counts = frame_counts(states, visible)
            entry = {"index": index, "phase": phase, "splats": int(visible.sum()), **counts, "bytes": {}}
            pending.append((entry, _frame_jobs(pool, states, compressed, formats, visible)))
            while len(pending) > workers:  # bounded memory: a few frames in flight
                write_oldest(archive)
        while pending:
            write_oldest(archive)
    tmp.replace(path)
    return {
        "frames": len(frames),
        "stride": stride,
        "formats": list(formats),
        "loop_fps": scene.loop_fps,
        "frame_fps": scene.loop_fps / stride,
        "max_frame_splats": max(f["splats"] for f in frames),
        "frame_bytes": {fmt: sum(f["bytes"][fmt] for f in frames) for fmt in formats},
        "seconds": time.perf_counter() - started,
        "per_frame": frames,
    }
