"""INRIA 3DGS ``.ply`` (float32, written with plyfile) and PlayCanvas's compressed ``.ply`` (16 bytes a splat).

INRIA layout (the 3D Gaussian Splatting reference implementation): ``x y z nx ny nz f_dc_0..2 [f_rest_0..44] opacity scale_0..2 rot_0..3``, all
``float``; normals are zeros, ``opacity`` is a logit, ``scale_*`` are natural logs, ``rot_*`` is w x y z and
``f_rest`` is channel-major (15 red coefficients, then green, then blue). Web readers (gsplat.js, hence
gr.Model3D) accept only float/int properties, so everything is float32.

Compressed layout (read by SuperSplat / the PlayCanvas engine): splats in Morton order, in chunks of 256; an
``element chunk`` of 18 floats (min/max of position, log-scale and colour per chunk) and an ``element vertex`` of
four ``uint``: position 11-10-11 bits and log-scale 11-10-11 bits normalised to the chunk's box, colour RGBA
8-8-8-8 (RGB normalised to the chunk's colour box, A = opacity), rotation "smallest three" (2-bit index of the
largest |component| of w x y z, then the other three as 10-bit unorm of ``c/√2 + 0.5``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from plyfile import PlyData, PlyElement

from .arrays import SplatArrays, drop_invalid, invalid_mask, log_scales, logit_opacities, sh_dc, unit_quats

COMPRESSED_CHUNK = 256  # splats per chunk in the compressed .ply
COMPRESSED_LOG_SCALE_RANGE = (-20.0, 20.0)  # chunk log-scale bounds are clamped to this (as the readers expect)


def inria_ply_dtype(sh_degree: int) -> np.dtype:
    """The structured dtype of one INRIA ``.ply`` vertex row (SH degree 0 or 3)."""
    if sh_degree not in (0, 3):
        raise ValueError(f"sh_degree must be 0 or 3, got {sh_degree}")
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(45 if sh_degree == 3 else 0)]
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    return np.dtype([(name, "<f4") for name in names])


def inria_ply_rows(splats: SplatArrays, sh_degree: int | None = None) -> np.ndarray:
    """Structured vertex rows [N] of the INRIA layout. ``sh_degree`` None → 3 if ``sh_rest`` is present, else 0."""
    degree = splats.sh_degree if sh_degree is None else sh_degree
    if degree == 3 and splats.sh_rest is None:
        raise ValueError("sh_degree=3 needs sh_rest [N,15,3]; these splats have none")
    rows = np.zeros(len(splats), dtype=inria_ply_dtype(degree))
    for axis, name in enumerate("xyz"):
        rows[name] = splats.means[:, axis]
    dc = sh_dc(splats.colors)
    for c in range(3):
        rows[f"f_dc_{c}"] = dc[:, c]
    if degree == 3:
        rest = np.transpose(splats.sh_rest, (0, 2, 1)).reshape(len(splats), 45)  # channel-major
        for i in range(45):
            rows[f"f_rest_{i}"] = rest[:, i]
    rows["opacity"] = logit_opacities(splats.opacities)
    log_s = log_scales(splats.scales)
    for axis in range(3):
        rows[f"scale_{axis}"] = log_s[:, axis]
    q = unit_quats(splats.quats)
    for axis in range(4):
        rows[f"rot_{axis}"] = q[:, axis]
    return rows


def encode_ply(splats: SplatArrays, sh_degree: int | None = None) -> bytes:
    """INRIA 3DGS ``.ply`` bytes (binary little endian, float32 only)."""
    splats = drop_invalid(splats, context="ply")[0]
    element = PlyElement.describe(inria_ply_rows(splats, sh_degree), "vertex")
    buffer = io.BytesIO()
    PlyData([element], text=False, byte_order="<").write(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- compressed


def morton_order(points: np.ndarray) -> np.ndarray:
    """Indices that sort points [N,3] along a 3D Morton (Z-order) curve of 10 bits per axis."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = np.where(hi - lo > 0, hi - lo, 1.0)
    cells = np.clip(((points - lo) / extent * 1023.0).astype(np.int64), 0, 1023)

    def spread(v: np.ndarray) -> np.ndarray:  # insert two zero bits between the bits of a 10-bit integer
        v = (v | (v << 16)) & 0x030000FF
        v = (v | (v << 8)) & 0x0300F00F
        v = (v | (v << 4)) & 0x030C30C3
        v = (v | (v << 2)) & 0x09249249
        return v

    code = spread(cells[:, 0]) | (spread(cells[:, 1]) << 1) | (spread(cells[:, 2]) << 2)
    return np.argsort(code, kind="stable")


def _unorm(values: np.ndarray, bits: int) -> np.ndarray:
    top = (1 << bits) - 1
    return np.clip(np.floor(values * top + 0.5), 0, top).astype(np.uint32)


def _chunk_bounds(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.minimum.reduceat(values, starts, axis=0), np.maximum.reduceat(values, starts, axis=0)


def _normalise(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, chunk: np.ndarray) -> np.ndarray:
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    return (values - lo[chunk]) / safe[chunk]


def _pack_11_10_11(v: np.ndarray) -> np.ndarray:
    return (_unorm(v[:, 0], 11) << 21) | (_unorm(v[:, 1], 10) << 11) | _unorm(v[:, 2], 11)


def pack_smallest_three(quats: np.ndarray) -> np.ndarray:
    """Quaternions [N,4] (w x y z) → uint32: 2-bit index of the largest |component|, three 10-bit components."""
    q = unit_quats(quats).astype(np.float64)
    largest = np.argmax(np.abs(q), axis=1)
    rows = np.arange(len(q))
    q = q * np.where(q[rows, largest] < 0, -1.0, 1.0)[:, None]  # -q is the same rotation: make the largest positive
    others = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    packed = _unorm(q[rows[:, None], others] * (np.sqrt(2.0) * 0.5) + 0.5, 10)
    return (largest.astype(np.uint32) << 30) | (packed[:, 0] << 20) | (packed[:, 1] << 10) | packed[:, 2]


def compressed_rows(
    means: np.ndarray, log_s: np.ndarray, colors: np.ndarray, opacities: np.ndarray, rotation: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``chunk`` rows [C,18] and ``vertex`` rows [N,4] of splats already in file order.

    ``log_s`` are the clamped natural-log scales and ``rotation`` the ``pack_smallest_three`` words (neither depends
    on the chunk, so a caller encoding many frames of the same Gaussians computes them once).
    """
    n = len(means)
    starts = np.arange(0, n, COMPRESSED_CHUNK)
    chunk = np.arange(n) // COMPRESSED_CHUNK
    means, log_s, colors = (np.asarray(v, dtype=np.float64) for v in (means, log_s, colors))
    chunk_rows = np.zeros((len(starts), 18), dtype="<f4")
    vertex = np.zeros((n, 4), dtype="<u4")
    if n:
        p_lo, p_hi = _chunk_bounds(means, starts)
        s_lo, s_hi = _chunk_bounds(log_s, starts)
        c_lo, c_hi = _chunk_bounds(colors, starts)
        chunk_rows[:] = np.concatenate([p_lo, p_hi, s_lo, s_hi, c_lo, c_hi], axis=1)
        # Normalise against the float32 bounds the reader will see, not the float64 ones.
        p_lo, p_hi, s_lo, s_hi, c_lo, c_hi = (chunk_rows[:, i : i + 3].astype(np.float64) for i in range(0, 18, 3))
        rgb = _normalise(colors, c_lo, c_hi, chunk)
        vertex[:, 0] = _pack_11_10_11(_normalise(means, p_lo, p_hi, chunk))
        vertex[:, 1] = rotation
        vertex[:, 2] = _pack_11_10_11(_normalise(log_s, s_lo, s_hi, chunk))
        vertex[:, 3] = (
            (_unorm(rgb[:, 0], 8) << 24) | (_unorm(rgb[:, 1], 8) << 16) | (_unorm(rgb[:, 2], 8) << 8) | _unorm(opacities, 8)
        )
    return chunk_rows, vertex


def compressed_log_scales(scales: np.ndarray) -> np.ndarray:
    """Natural-log scales [N,3] clamped to ``COMPRESSED_LOG_SCALE_RANGE`` (float64, as the packing expects)."""
    return np.clip(log_scales(scales).astype(np.float64), *COMPRESSED_LOG_SCALE_RANGE)


def compressed_header(chunks: int, splats: int) -> bytes:
    """The ASCII header of a compressed ``.ply`` with ``chunks`` chunk rows and ``splats`` vertex rows."""
    chunk_names = [f"{kind}_{axis}" for kind in ("min", "max") for axis in "xyz"]
    chunk_names += [f"{kind}_scale_{axis}" for kind in ("min", "max") for axis in "xyz"]
    chunk_names += [f"{kind}_{c}" for kind in ("min", "max") for c in "rgb"]
    vertex_names = ["packed_position", "packed_rotation", "packed_scale", "packed_color"]
    header = ["ply", "format binary_little_endian 1.0", f"element chunk {chunks}"]
    header += [f"property float {name}" for name in chunk_names]
    header += [f"element vertex {splats}"] + [f"property uint {name}" for name in vertex_names] + ["end_header", ""]
    return "\n".join(header).encode("ascii")


def encode_compressed_ply(splats: SplatArrays) -> bytes:
    """PlayCanvas/SuperSplat compressed ``.ply`` bytes (SH degree 0: no ``sh`` element)."""
    splats = drop_invalid(splats, context="compressed ply")[0]
    order = morton_order(splats.means) if len(splats) else np.zeros(0, dtype=np.int64)
    s = splats.subset(order)
    chunk_rows, vertex = compressed_rows(s.means, compressed_log_scales(s.scales), s.colors, s.opacities,
                                         pack_smallest_three(s.quats))
    return compressed_header(len(chunk_rows), len(vertex)) + chunk_rows.tobytes() + vertex.tobytes()


def _warn_dropped(dropped: int, total: int) -> None:
    if dropped:
        message = f"compressed ply: dropped {dropped} of {total} Gaussians with NaN/inf values"
        warnings.warn(message, RuntimeWarning, stacklevel=3)


@dataclass(frozen=True)
class FrameTail:
    """The rows of one frame that ``CompressedPlyFrames`` sorts and encodes per frame (copies, safe in a worker)."""

    rows: np.ndarray  # [T] layout rows
    means: np.ndarray  # [T,3]
    opacities: np.ndarray  # [T]
    colors: np.ndarray  # [T,3]


class CompressedPlyFrames:
    """Compressed ``.ply`` frames of one layout of splats whose first ``n_fixed`` rows never change (the static
    Gaussians of a loop) and whose other rows change position, opacity and colour and come and go per frame.

    The fixed rows are Morton-sorted and packed once into whole chunks at the start of every frame; per frame only
    the rest (the changing rows drawn in it, and the < 256 fixed rows that do not fill a chunk) is sorted, chunked
    and packed. Rotations and scales never change, so they are packed once for every row. Readers see the splats
    of ``encode_compressed_ply`` in another order: static and moving ones no longer share chunks, so the chunk
    boxes differ (position error within 4 % of ``encode_compressed_ply``'s on the example scene: mean 1.05e-5,
    max 2.75e-4 of the scene's extent).
    """

    def __init__(self, layout: SplatArrays, n_fixed: int) -> None:
        # ``layout``: every row at any frame (the fixed rows as they are in every frame; rotations and scales).
        self.valid = ~invalid_mask(layout)  # per frame only positions, opacities and colours are checked again
        _warn_dropped(int((~self.valid).sum()), len(layout))
        self.rotation = pack_smallest_three(np.where(self.valid[:, None], layout.quats, 1.0))
        self.log_s = compressed_log_scales(layout.scales)
        fixed = np.flatnonzero(self.valid[:n_fixed])
        fixed = fixed[morton_order(layout.means[fixed])] if len(fixed) else fixed
        whole = len(fixed) - len(fixed) % COMPRESSED_CHUNK
        self.n_fixed = n_fixed
        self.loose = fixed[whole:]  # fixed rows sorted with each frame's changing rows
        rows = fixed[:whole]
        chunk_rows, vertex = compressed_rows(layout.means[rows], self.log_s[rows], layout.colors[rows],
                                             layout.opacities[rows], self.rotation[rows])
        self.fixed_chunks, self.fixed_vertex = chunk_rows.tobytes(), vertex.tobytes()
        self.n_fixed_chunks, self.n_fixed_splats = len(chunk_rows), len(rows)

    def tail(self, means: np.ndarray, opacities: np.ndarray, colors: np.ndarray, drawn: np.ndarray) -> FrameTail:
        """Copy out one frame's per-frame rows: ``means`` [R,3], ``opacities`` [R], ``colors`` [R,3] of every layout row
        at this frame, ``drawn`` [R] bool (the changing rows drawn in this frame; fixed rows are always drawn)."""
        changing = np.flatnonzero(drawn[self.n_fixed :] & self.valid[self.n_fixed :]) + self.n_fixed
        rows = np.concatenate([self.loose, changing])
        # Fancy indexing copies: the worker never sees the shared buffers the next frame rewrites.
        return FrameTail(rows, *(v[rows].astype(np.float32, copy=False) for v in (means, opacities, colors)))

    def encode(self, tail: FrameTail) -> bytes:
        """The frame's compressed ``.ply`` bytes (rows with non-finite values are left out)."""
        finite = np.isfinite(tail.means).all(axis=1) & np.isfinite(tail.colors).all(axis=1) & np.isfinite(tail.opacities)
        _warn_dropped(int((~finite).sum()), len(finite))
        means, opacities, colors, rows = (v[finite] for v in (tail.means, tail.opacities, tail.colors, tail.rows))
        order = morton_order(means) if len(rows) else np.zeros(0, dtype=np.int64)
        rows = rows[order]
        chunk_rows, vertex = compressed_rows(means[order], self.log_s[rows], colors[order], opacities[order],
                                             self.rotation[rows])
        header = compressed_header(self.n_fixed_chunks + len(chunk_rows), self.n_fixed_splats + len(vertex))
        return b"".join([header, self.fixed_chunks, chunk_rows.tobytes(), self.fixed_vertex, vertex.tobytes()])
