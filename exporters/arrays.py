"""Plain NumPy arrays of one static Gaussian frame: what every static format encodes.

Conventions (the same as ``landscape4d.gaussians``): ``means`` [N,3] world, OpenCV axes (x right, y down,
z forward — also what INRIA ``.ply`` and the antimatter15/gsplat.js viewers expect); ``quats`` [N,4] w x y z;
``scales`` [N,3] linear standard deviations; ``opacities`` [N] in [0,1]; ``colors`` [N,3] RGB in [0,1];
optional ``sh_rest`` [N,15,3] degree-3 spherical-harmonic coefficients beyond the DC term (coefficient-major,
RGB last, gsplat's ``shN`` layout).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import numpy as np

SH_C0 = 0.28209479177387814  # Y_0^0: colour = 0.5 + SH_C0 · f_dc
MIN_SCALE = 1e-12  # log(0) is -inf: degenerate (zero) scales are stored as this
OPACITY_EPS = 1e-7  # logit(0) and logit(1) are infinite: opacities are clipped to [eps, 1 - eps]


@dataclass(frozen=True)
class SplatArrays:
    """One static Gaussian frame as float32 arrays (see the module docstring for axes and units)."""

    means: np.ndarray  # [N,3]
    quats: np.ndarray  # [N,4] w x y z
    scales: np.ndarray  # [N,3] linear
    opacities: np.ndarray  # [N]
    colors: np.ndarray  # [N,3] RGB [0,1]
    sh_rest: np.ndarray | None = None  # [N,15,3] or None (SH degree 0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, np.ascontiguousarray(np.asarray(value, dtype=np.float32)))
        n = self.means.shape[0] if self.means.ndim == 2 else -1
        expected = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,), "colors": (n, 3)}
        if self.sh_rest is not None:
            expected["sh_rest"] = (n, 15, 3)
        for name, shape in expected.items():
            actual = tuple(getattr(self, name).shape)
            if actual != shape:
                raise ValueError(f"SplatArrays.{name} has shape {actual}, expected {shape}")

    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        return 0 if self.sh_rest is None else 3

    def subset(self, index: np.ndarray) -> "SplatArrays":
        """Rows selected by a boolean mask or an integer index array."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return SplatArrays(**{name: None if value is None else value[index] for name, value in values.items()})

    def replace(self, **changes: np.ndarray | None) -> "SplatArrays":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return SplatArrays(**values)

    @staticmethod
    def from_gaussians(gaussians: object) -> "SplatArrays":
        """From a ``landscape4d.gaussians.GaussianSet`` (torch tensors; an ``sh_rest`` attribute is used if present)."""

        def to_numpy(value: object) -> np.ndarray | None:
            if value is None:
                return None
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            return np.asarray(value, dtype=np.float32)

        return SplatArrays(
            means=to_numpy(gaussians.means),
            quats=to_numpy(gaussians.quats),
            scales=to_numpy(gaussians.scales),
            opacities=to_numpy(gaussians.opacities),
            colors=to_numpy(gaussians.colors),
            sh_rest=to_numpy(getattr(gaussians, "sh_rest", None)),
        )


def invalid_mask(splats: SplatArrays, *extra: np.ndarray) -> np.ndarray:
    """[N] bool: rows with a NaN/inf value anywhere (``extra`` arrays [N,...] count too) or a zero quaternion."""
    n = len(splats)
    bad = np.zeros(n, dtype=bool)
    for f in fields(splats):
        value = getattr(splats, f.name)
        if value is not None:
            bad |= ~np.isfinite(value.reshape(n, -1)).all(axis=1)
    for value in extra:
        bad |= ~np.isfinite(np.asarray(value).reshape(n, -1)).all(axis=1)
    bad |= np.einsum("ij,ij->i", splats.quats, splats.quats) <= 0.0
    return bad


def drop_invalid(splats: SplatArrays, *extra: np.ndarray, context: str = "export") -> tuple[SplatArrays, np.ndarray, int]:
    """Remove rows with NaN/inf values (or zero quaternions), with a warning that says how many.

    Returns the clean splats, the boolean keep mask [N] (apply it to any per-splat array of your own) and the
    number dropped. Never drops silently.
    """
    bad = invalid_mask(splats, *extra)
    dropped = int(bad.sum())
    if dropped == 0:
        return splats, ~bad, 0
    warnings.warn(f"{context}: dropped {dropped} of {len(splats)} Gaussians with NaN/inf values", RuntimeWarning, stacklevel=2)
    return splats.subset(~bad), ~bad, dropped


def unit_quats(quats: np.ndarray) -> np.ndarray:
    """Quaternions [N,4] scaled to unit length (rows must be non-zero; see ``drop_invalid``)."""
    quats = np.asarray(quats, dtype=np.float64)
    return (quats / np.linalg.norm(quats, axis=-1, keepdims=True)).astype(np.float32)


def logit_opacities(opacities: np.ndarray) -> np.ndarray:
    """Opacities in [0,1] → logits (what INRIA ``.ply`` stores), clipped so 0 and 1 stay finite."""
    o = np.clip(np.asarray(opacities, dtype=np.float64), OPACITY_EPS, 1.0 - OPACITY_EPS)
    return np.log(o / (1.0 - o)).astype(np.float32)


def log_scales(scales: np.ndarray) -> np.ndarray:
    """Linear scales → natural logs (what INRIA ``.ply`` stores); zero or negative scales become ``MIN_SCALE``."""
    return np.log(np.maximum(np.asarray(scales, dtype=np.float64), MIN_SCALE)).astype(np.float32)


def sh_dc(colors: np.ndarray) -> np.ndarray:
    """RGB in [0,1] → degree-0 SH coefficients ``f_dc``."""
    return ((np.asarray(colors, dtype=np.float64) - 0.5) / SH_C0).astype(np.float32)


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to nearest, halves away from zero (C's ``round``; NumPy's ``rint`` rounds halves to even)."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Values in [0,1] → uint8 0..255, rounded to nearest and clamped."""
    return np.clip(round_half_away(np.asarray(values, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def importance(splats: SplatArrays) -> np.ndarray:
    """[N] how much a Gaussian contributes to an image: opacity × the area of its two largest axes."""
    s = np.sort(splats.scales.astype(np.float64), axis=-1)
    return splats.opacities.astype(np.float64) * s[:, 2] * s[:, 1]
