"""antimatter15 ``.splat``: no header, 32 bytes a splat (the layout antimatter15/splat reads: 3 f32 position, 3 f32 scale, RGBA u8, quaternion u8).

``x y z`` float32, ``scale`` 3 × float32 (linear), RGBA uint8 (A = opacity · 255), quaternion uint8 × 4 in
w x y z order, each ``q/|q| · 128 + 128`` rounded and clamped to 0..255. Read by gsplat.js, SuperSplat, Spark and
gr.Model3D. Quantisation: colour and opacity 1/255 (±0.5/255 after rounding), quaternion components 1/128.
"""

from __future__ import annotations

import numpy as np

from .arrays import SplatArrays, drop_invalid, round_half_away, to_uint8, unit_quats

SPLAT_DTYPE = np.dtype([("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rotation", "u1", 4)])
assert SPLAT_DTYPE.itemsize == 32


def quats_to_uint8(quats: np.ndarray) -> np.ndarray:
    """Quaternions [N,4] → the .splat byte encoding ``q/|q| · 128 + 128`` (rounded, clamped)."""
    return np.clip(round_half_away(unit_quats(quats).astype(np.float64) * 128.0 + 128.0), 0, 255).astype(np.uint8)


def quats_from_uint8(encoded: np.ndarray) -> np.ndarray:
    """The .splat byte encoding [N,4] → quaternions w x y z (``(b − 128) / 128``, not re-normalised)."""
    return (np.asarray(encoded, dtype=np.float32) - 128.0) / 128.0


def splat_rows(splats: SplatArrays) -> np.ndarray:
    """Structured ``.splat`` records [N] (``SPLAT_DTYPE``)."""
    rows = np.empty(len(splats), dtype=SPLAT_DTYPE)
    rows["position"] = splats.means
    rows["scale"] = np.maximum(splats.scales, 0.0)
    rows["rgba"][:, :3] = to_uint8(splats.colors)
    rows["rgba"][:, 3] = to_uint8(splats.opacities)
    rows["rotation"] = quats_to_uint8(splats.quats)
    return rows


def encode_splat(splats: SplatArrays) -> bytes:
    """``.splat`` bytes (32 × N)."""
    splats = drop_invalid(splats, context="splat")[0]
    return splat_rows(splats).tobytes()


def decode_splat(data: bytes) -> SplatArrays:
    """``.splat`` bytes → arrays: the inverse of ``encode_splat`` up to its quantisation (see the docstring)."""
    if len(data) % SPLAT_DTYPE.itemsize:
        raise ValueError(f".splat data is {len(data)} bytes, not a whole number of {SPLAT_DTYPE.itemsize}-byte records")
    rows = np.frombuffer(data, dtype=SPLAT_DTYPE)
    return SplatArrays(means=rows["position"], quats=quats_from_uint8(rows["rotation"]), scales=rows["scale"],
                       opacities=rows["rgba"][:, 3] / 255.0, colors=rows["rgba"][:, :3] / 255.0)
