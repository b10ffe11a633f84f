"""Niantic ``.spz`` version 2 or 3 (gzip), as the format's README (nianticlabs/spz) specifies it.

The whole file is one gzip stream of: a 16-byte header (``<IIIBBBB``: magic 0x5053474e, version, number of
points, SH degree, fractional bits, flags, reserved), then attribute blocks in this order — positions (3 × 24-bit
signed fixed point, ``fractional_bits`` = 12), alphas (``opacity · 255``), colours (``f_dc · 0.15 · 255 + 127.5``),
scales (``(log s + 10) · 16``), rotations (v2: x y z as ``q · 127.5 + 127.5`` with w ≥ 0; v3: "smallest three",
a little-endian uint32 of a 2-bit index of the largest |component| in x y z w order and three 10-bit fields of a
sign bit + 9-bit ``|c|/√½ · 511``), then SH coefficients (int8-like ``c · 128 + 128``, RGB inner).

SPZ stores RUB axes (x right, y up, z back — OpenGL/three.js); our world is OpenCV RDF, so y and z are negated on
write (positions, the quaternion's y and z, and the odd SH coefficients), as the reference encoder does with
``from = RDF``. Position quantisation is 1/4096 world units, so positions must satisfy |x| < 2048.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np

from .arrays import SplatArrays, drop_invalid, log_scales, round_half_away, sh_dc, to_uint8, unit_quats

SPZ_MAGIC = 0x5053474E  # "NGSP"
SPZ_FRACTIONAL_BITS = 12
SPZ_COLOR_SCALE = 0.15
SPZ_VERSIONS = (2, 3)
RDF_TO_RUB = np.array([1.0, -1.0, -1.0])
# Sign of each degree-1..3 real SH basis function under (x, y, z) → (x, -y, -z), in the usual order.
SH_RDF_TO_RUB = np.array([-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1], dtype=np.float64)


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(round_half_away(values), 0, 255).astype(np.uint8)


def pack_rotations_v2(quats_xyzw: np.ndarray) -> np.ndarray:
    """Unit quaternions [N,4] (x y z w) → [N,3] uint8 of x y z with w made non-negative."""
    q = quats_xyzw * np.where(quats_xyzw[:, 3:4] < 0, -1.0, 1.0)
    return _u8(q[:, :3] * 127.5 + 127.5)


def pack_rotations_v3(quats_xyzw: np.ndarray) -> np.ndarray:
    """Unit quaternions [N,4] (x y z w) → [N,4] uint8: smallest-three, little-endian uint32."""
    q = np.asarray(quats_xyzw, dtype=np.float64)
    rows = np.arange(len(q))
    largest = np.argmax(np.abs(q), axis=1)
    negate = q[rows, largest] < 0
    others = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    comps = q[rows[:, None], others]
    negbit = ((comps < 0) ^ negate[:, None]).astype(np.uint32)
    mag = np.minimum(np.floor(511.0 * np.abs(comps) / np.sqrt(0.5) + 0.5), 511).astype(np.uint32)
    fields = (negbit << 9) | mag
    word = (largest.astype(np.uint32) << 30) | (fields[:, 0] << 20) | (fields[:, 1] << 10) | fields[:, 2]
    return word.astype("<u4").view(np.uint8).reshape(len(q), 4)


def encode_spz(splats: SplatArrays, version: int = 3, sh_degree: int | None = None) -> bytes:
    """``.spz`` bytes (gzip). ``sh_degree`` None → 3 when ``sh_rest`` is present, else 0."""
    splats = drop_invalid(splats, context="spz")[0]
    if version not in SPZ_VERSIONS:
        raise ValueError(f"spz version must be one of {SPZ_VERSIONS} (v4 is zstd and not read by web viewers), got {version}")
    degree = splats.sh_degree if sh_degree is None else sh_degree
    if degree not in (0, 3) or (degree == 3 and splats.sh_rest is None):
        raise ValueError(f"spz sh_degree must be 0, or 3 with sh_rest present; got {degree}")
    n = len(splats)
    limit = (1 << 23) / (1 << SPZ_FRACTIONAL_BITS)
    if n and np.abs(splats.means).max() >= limit:
        largest = float(np.abs(splats.means).max())
        raise ValueError(f"spz stores positions as 24-bit fixed point: |coordinate| must be < {limit:g}, got {largest:g}")
    means = splats.means.astype(np.float64) * RDF_TO_RUB
    fixed = round_half_away(means * (1 << SPZ_FRACTIONAL_BITS)).astype(np.int64).reshape(-1)
    positions = (fixed.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]).reshape(n, 9)
    alphas = to_uint8(splats.opacities)
    colors = _u8(sh_dc(splats.colors).astype(np.float64) * (SPZ_COLOR_SCALE * 255.0) + 127.5)
    scales = _u8((log_scales(splats.scales).astype(np.float64) + 10.0) * 16.0)
    q_wxyz = unit_quats(splats.quats).astype(np.float64)
    q_xyzw = np.concatenate([q_wxyz[:, 1:] * RDF_TO_RUB, q_wxyz[:, :1]], axis=1)
    rotations = pack_rotations_v3(q_xyzw) if version == 3 else pack_rotations_v2(q_xyzw)
    blocks = [positions, alphas, colors, scales, rotations]
    if degree == 3:
        sh = splats.sh_rest.astype(np.float64) * SH_RDF_TO_RUB[None, :, None]
        blocks.append(_u8(sh * 128.0 + 128.0).reshape(n, 45))
    header = struct.pack("<IIIBBBB", SPZ_MAGIC, version, n, degree, SPZ_FRACTIONAL_BITS, 0, 0)
    payload = header + b"".join(np.ascontiguousarray(b).tobytes() for b in blocks)
    return gzip.compress(payload, compresslevel=6, mtime=0)
