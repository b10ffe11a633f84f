"""Deformation-encoded animation: antimatter15 splaTV ``.splatv`` (also gsplat.js ``SplatvLoader``).

File: u32 magic 0x674b, u32 JSON length, a JSON array whose first chunk is ``{type: "splat", size, texwidth:
4096, texheight, cameras: [...]}``, then ``size`` bytes of RGBA32UI texture data, 64 bytes (16 u32) a splat:

====  ==========================================================================================
word  content
====  ==========================================================================================
0-2   x y z float32 (the position at ``dt = 0``)
3-4   quaternion w x y z as two half2
5-6   linear scales as half2 (s0, s1), (s2, 0)
7     RGBA8 (RGB colour in [0,1], A = opacity)
8-12  motion m0..m8 as half2: Δpos = m0..2·dt + m3..5·dt² + m6..8·dt³
13-14 rotation velocity omega0..3 as half2 (zero here)
15    half2 (trbf_center, trbf_scale): opacity × exp(−((t − trbf_center)/trbf_scale)²)
====  ==========================================================================================

with ``dt = t − trbf_center`` and viewer time t ∈ [0, 1]. The viewers cull a splat whose temporal factor is below
``VIEWER_CULL`` (0.02).

How the loop is encoded ("copy" form of ``landscape4d.animate``). Viewer time t is loop phase ``k = t·N``; the loop
holds ``cycles`` = c cross-fade cycles of ``T = N / c`` frames. Copy i (an integer) of a moving Gaussian (rest r,
velocity v per frame, phase offset ψ) sits at ``r + v·(k + i·T)`` with the trapezoid weight ``W_f(ψ + k/T + i)``;
``LoopStates``' slot A is the copy with ``ψ + k/T + i ∈ [0, 1)``, slot B the one before it. In the file every copy
whose temporal support meets t ∈ [0, 1] is a set of splats, one per temporal *lobe*: the copy's weight is the sum
``L(s) = Σ aⱼ·exp(−((s − μⱼ)/σⱼ)²)`` over its lobes (s in cycles, so a lobe's trbf scale is σⱼ/c and its centre
the time where ``ψ + t·c + i = μⱼ``). Its motion is linear (velocity ``v·N`` per unit t, exact in the cubic) and
its float32 position is the copy's position at its own (half-rounded) trbf centre. Copies whose support straddles
t = 0 or t = 1 are written on both sides (centres below 0 or above 1 are fine for the shader), so the frame at
t → 1 is the frame at t = 0 and the loop wraps without a pop.

The lobes (``fade_lobes``) are fitted once per (lobes, fade) by constrained least squares against the trapezoid,
with the copies' sum Σᵢ L(s + i) pulled to 1 (partition of unity), every lobe culled (factor < 0.019) one cycle
away from the trapezoid's plateau (so at t = 0 only the resting copy is drawn: the still photo) and L within 1 % of
1 on the plateau. Gaussian lobes cannot follow a short fade: ``lobes`` lobes can keep those constraints only down to
a fade of ``MIN_FADE[lobes]``. A scene with a shorter fade f is encoded with that *effective* fade f_e and its
phase offsets scaled by (1 − f_e)/(1 − f), which keeps the offsets' spatial pattern and keeps every copy's
plateau over t = 0 (its cross-fade is shifted by at most (f_e − f)/2 of a cycle). ``fade_error`` measures the
result against the true trapezoid weights.

Opacity: ``LoopStates`` draws the compensated ``1 − (1 − o)^w``; a splat's opacity × temporal factor is linear in
the weight, so here each copy draws ``o·L`` (exact at weights 0 and 1, lower mid-fade — by at most
``max_w (1 − (1 − o)^w − o·w)``, 0.25 at o = 1 − 1e-6 and w = 1/2 … 0.18 at o = 0.9). ``loop.splatv_report``
measures the drawn opacities against ``LoopStates``. Static Gaussians get zero motion and a flat temporal opacity.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from landscape4d.animate import anchored_colours
from landscape4d.camera import invert_pose, project_points

from .arrays import SplatArrays, drop_invalid, to_uint8, unit_quats

SPLATV_MAGIC = 0x674B
TEXTURE_WIDTH = 4096  # texels a row; 4 RGBA32UI texels (64 bytes) a splat → 1024 splats a row
SPLATS_PER_ROW = TEXTURE_WIDTH // 4
VIEWER_CULL = 0.02  # the stock shaders skip a splat when exp(−((t−c)/s)²) < 0.02
CULL_RADIUS = math.sqrt(math.log(1.0 / VIEWER_CULL))  # |t − c| / s beyond which a splat is culled (1.978)
GHOST_CULL = 0.019  # the fit keeps other copies' lobes below this at t = 0 (a margin under VIEWER_CULL)
STATIC_TRBF = (0.0, 1000.0)  # centre, scale: factor ≥ exp(−1e−6) on t ∈ [0, 1]; centre 0 keeps dt ≥ 0
HALF_MAX = 65504.0
CENTER_GRID = 1024  # trbf centres are multiples of 1/1024: exact half floats on (−2, 2), so a copy's duplicate one
# loop later (centre + 1) is timed exactly like the copy itself and the wrap t = 1 → 0 matches to the bit
LOBE_CHOICES = (1, 2, 3)
DEFAULT_LOBES = 2
# The shortest fade each lobe count follows with the constraints of ``fade_lobes`` while its copies still sum to
# 1 within about ±4 % (2 lobes) / ±3 % (3 lobes); one lobe never gets closer than about −25 % / +5 %.
MIN_FADE = {1: 1.0, 2: 0.8, 3: 0.5}

SPLATV_DTYPE = np.dtype(
    [
        ("position", "<f4", 3),
        ("rotation", "<f2", 4),
        ("scale", "<f2", 4),
        ("rgba", "u1", 4),
        ("motion", "<f2", 10),
        ("omega", "<f2", 4),
        ("trbf", "<f2", 2),
    ]
)
assert SPLATV_DTYPE.itemsize == 64


def trapezoid(s: np.ndarray, fade: float) -> np.ndarray:
    """``animate``'s symmetric copy weight W_f(s): 1 on |s| ≤ (1 − f)/2, linear to 0 at |s| = (1 + f)/2."""
    return np.clip((0.5 * (1.0 + fade) - np.abs(np.asarray(s, dtype=np.float64))) / fade, 0.0, 1.0)


@dataclass(frozen=True)
class FadeLobes:
    """One copy's temporal lobes in cycle phase s: L(s) = Σ aⱼ·exp(−((s − μⱼ)/σⱼ)²) ≈ the trapezoid W_fade(s)."""

    fade: float  # the (effective) fade they approximate
    centers: tuple[float, ...]  # μⱼ, in cycles
    scales: tuple[float, ...]  # σⱼ, in cycles
    amplitudes: tuple[float, ...]  # aⱼ

    def lobe_weights(self, s: np.ndarray, cull: bool = True) -> np.ndarray:
        """[lobes, *s.shape] each lobe's weight including its amplitude (``cull``: zero below ``VIEWER_CULL``)."""
        s = np.asarray(s, dtype=np.float64)
        shape = (-1,) + (1,) * s.ndim
        c, w, a = (np.asarray(v, dtype=np.float64).reshape(shape) for v in (self.centers, self.scales, self.amplitudes))
        factor = np.exp(-(((s[None] - c) / w) ** 2))
        if cull:
            factor = np.where(factor >= VIEWER_CULL, factor, 0.0)
        return a * factor

    def weight(self, s: np.ndarray, cull: bool = True) -> np.ndarray:
        """The copy's weight L(s)."""
        return self.lobe_weights(s, cull).sum(axis=0)

    def partition(self, s: np.ndarray, cull: bool = True) -> np.ndarray:
        """Σᵢ L(s + i): what all copies of a Gaussian add up to (1 in ``animate``)."""
        s = np.asarray(s, dtype=np.float64)
        return sum(self.weight(s + i, cull) for i in range(-3, 4))


def effective_fade(lobes: int, fade: float) -> float:
    """The fade ``lobes`` lobes encode for a scene fade ``fade`` (never shorter than ``MIN_FADE[lobes]``)."""
    if lobes not in MIN_FADE:
        raise ValueError(f"lobes must be one of {list(LOBE_CHOICES)}, got {lobes!r}")
    if not 0.0 < fade <= 1.0:
        raise ValueError(f"fade must be in (0, 1], got {fade}")
    return max(float(fade), MIN_FADE[lobes])


def effective_offsets(offsets: np.ndarray, fade: float, fade_e: float) -> np.ndarray:
    """Phase offsets ψ scaled to the effective fade's plateau: ψ·(1 − f_e)/(1 − f) (all 0 when f = 1)."""
    offsets = np.asarray(offsets, dtype=np.float64)
    if fade >= 1.0:
        return np.zeros_like(offsets)
    return offsets * ((1.0 - fade_e) / (1.0 - fade))


def _unpack(params: np.ndarray, lobes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric lobe sets from free parameters: [σ, a] for a centre lobe (odd counts), then [μ, σ, a] per pair."""
    centers, scales, amps, k = [], [], [], 0
    if lobes % 2:
        centers, scales, amps, k = [0.0], [params[0]], [params[1]], 2
    while k < len(params):
        mu, sigma, a = params[k : k + 3]
        centers += [abs(mu), -abs(mu)]
        scales += [sigma, sigma]
        amps += [a, a]
        k += 3
    return np.array(centers), np.array(scales), np.array(amps)


_FIT_STARTS = {
    1: ([0.45, 1.0],),
    2: ([0.25, 0.3, 0.9], [0.2, 0.25, 0.9], [0.3, 0.35, 0.8]),
    3: ([0.32, 0.97, 0.36, 0.2, 0.6], [0.3, 0.9, 0.3, 0.2, 0.5], [0.4, 0.8, 0.4, 0.15, 0.4], [0.48, 1.0, 0.6, 0.18, 0.23]),
}


@lru_cache(maxsize=64)
def _fit_lobes(lobes: int, fade: float) -> FadeLobes:
    from scipy.optimize import minimize  # a project dependency; only the .splatv export needs it

    s = np.linspace(-1.0, 1.0, 401)
    y = np.linspace(0.0, 1.0, 201)
    target = trapezoid(s, fade)
    plateau = np.linspace(0.0, 0.5 * (1.0 - fade), 21)
    ghost_radius = math.sqrt(math.log(1.0 / GHOST_CULL))

    def value(x: np.ndarray, c: np.ndarray, w: np.ndarray, a: np.ndarray) -> np.ndarray:
        return (a * np.exp(-(((x[:, None] - c) / w) ** 2))).sum(axis=1)

    def objective(p: np.ndarray) -> float:
        c, w, a = _unpack(p, lobes)
        total = sum(value(y + i, c, w, a) for i in range(-3, 4))
        return float(np.mean((value(s, c, w, a) - target) ** 2) + np.mean((total - 1.0) ** 2))

    def constraints(p: np.ndarray) -> np.ndarray:
        c, w, a = _unpack(p, lobes)
        flat = value(plateau, c, w, a) - 1.0
        # every lobe culled beyond the trapezoid's support: one cycle from the plateau, other copies are not drawn
        ghost = 0.5 * (1.0 + fade) - np.abs(c) - ghost_radius * w
        return np.concatenate([ghost, 0.01 - flat, 0.01 + flat, w - 0.02])

    best = None
    for start in _FIT_STARTS[lobes]:
        result = minimize(objective, np.array(start), method="SLSQP", constraints=[{"type": "ineq", "fun": constraints}],
                          options={"maxiter": 500, "ftol": 1e-12})
        if result.success and constraints(result.x).min() > -1e-6 and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise RuntimeError(f"could not fit {lobes} temporal lobe(s) to a fade of {fade}")
    c, w, a = _unpack(best.x, lobes)
    order = np.argsort(c, kind="stable")
    return FadeLobes(fade, tuple(float(v) for v in c[order]), tuple(float(v) for v in np.abs(w[order])), tuple(float(v) for v in a[order]))


# ``_fit_lobes`` for the effective fades of the pipeline's scenes (fade 0.3 → ``MIN_FADE``) and classic ones (fade 1),
# rounded to 6 digits: no fit (and no SciPy import, seconds on a busy machine) for them. Re-checked by the tests.
FITTED_LOBES: dict[tuple[int, float], FadeLobes] = {
    (1, 1.0): FadeLobes(1.0, (0.0,), (0.502309,), (1.01,)),
    (2, 0.8): FadeLobes(0.8, (-0.242589, 0.242589), (0.330223, 0.330223), (0.849141, 0.849141)),
    (2, 1.0): FadeLobes(1.0, (-0.241526, 0.241526), (0.380988, 0.380988), (0.739849, 0.739849)),
    (3, 0.5): FadeLobes(0.5, (-0.361013, 0.0, 0.361013), (0.195391, 0.376731, 0.195391), (0.501019, 0.977016, 0.501019)),
    (3, 1.0): FadeLobes(1.0, (-0.613723, 0.0, 0.613723), (0.19403, 0.490295, 0.19403), (0.210143, 0.989981, 0.210143)),
}


def fade_lobes(lobes: int, fade: float) -> FadeLobes:
    """The lobes of one copy for a scene fade ``fade`` (fitted once per effective fade; see the module docstring)."""
    key = (lobes, round(effective_fade(lobes, fade), 6))
    return FITTED_LOBES[key] if key in FITTED_LOBES else _fit_lobes(*key)


@dataclass(frozen=True)
class ViewerCamera:
    """The camera a viewer starts at: OpenCV intrinsics and pose (``world_to_camera`` 4×4)."""

    K: np.ndarray
    world_to_camera: np.ndarray
    width: int
    height: int

    @staticmethod
    def from_camera(camera: object) -> "ViewerCamera":
        """From a ``landscape4d.camera.Camera`` (torch tensors)."""

        def to_numpy(value: object) -> np.ndarray:
            return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)

        return ViewerCamera(to_numpy(camera.K), to_numpy(camera.world_to_camera), int(camera.width), int(camera.height))

    @property
    def camera_to_world(self) -> np.ndarray:
        return invert_pose(np.asarray(self.world_to_camera, dtype=np.float64))

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """Pixel coordinates [..., 2] of world points [..., 3] (pixel centres at +0.5; ``camera.project_points``)."""
        uv_px, _ = project_points(np.asarray(points_world, dtype=np.float64), self)
        return uv_px

    def splatv_json(self) -> dict:
        """The ``cameras`` entry of the splatv header (INRIA cameras.json: camera centre and camera-to-world rotation)."""
        c2w = self.camera_to_world
        K = np.asarray(self.K, dtype=np.float64)
        return {
            "id": 0,
            "img_name": "source",
            "width": int(self.width),
            "height": int(self.height),
            "position": [float(v) for v in c2w[:3, 3]],
            "rotation": [[float(v) for v in row] for row in c2w[:3, :3]],
            "fx": float(K[0, 0]),
            "fy": float(K[1, 1]),
        }


@dataclass
class SplatvEncoding:
    """The ``.splatv`` bytes and what went into them (per record, without the texture padding)."""

    data: bytes
    records: np.ndarray  # [M] SPLATV_DTYPE
    role: np.ndarray  # [M] int8: 0 static, 1 moving (one lobe of one copy)
    source_index: np.ndarray  # [M] row of the input splats each record came from
    lobe: np.ndarray  # [M] int8 lobe index (0 for static)
    copy: np.ndarray  # [M] int64 copy index i (position r + v·(k + i·T)); 0 for static
    column: np.ndarray  # [M] which moving row of the input (nonzero velocity, in order) a record draws; -1 static
    lobes: FadeLobes | None = None  # the temporal lobes of every copy (None without moving Gaussians)
    stats: dict = field(default_factory=dict)


def _check_half(name: str, values: np.ndarray) -> None:
    if values.size and np.abs(values).max() > HALF_MAX:
        raise ValueError(f"splatv stores {name} as half floats: |value| must be ≤ {HALF_MAX:g}, got {np.abs(values).max():g}")


def copy_lobes(offsets_e: np.ndarray, cycles: int, lobes: FadeLobes) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, float]]:
    """Which (Gaussian, copy, lobe) splats the viewer can draw in t ∈ [0, 1].

    ``offsets_e`` [M] effective phase offsets. Returns per lobe j: (j, Gaussian rows [R], copy indices [R],
    trbf centres [R] on the ``CENTER_GRID``, half-rounded trbf scale). Copy i's lobe j is centred where ψ_e + t·c + i = μⱼ;
    it is written when its temporal factor reaches ``VIEWER_CULL`` somewhere in [0, 1] (with the half-rounded
    centre and scale the shader uses).
    """
    out = []
    psi = np.asarray(offsets_e, dtype=np.float64)
    for j, (mu, sigma) in enumerate(zip(lobes.centers, lobes.scales)):
        scale = float(np.float16(sigma / cycles))
        reach = CULL_RADIUS * scale * (1.0 + 1e-3) + 1e-3
        base = (mu - psi) / cycles  # the centre of copy 0's lobe
        rows, copies, centers = [], [], []
        if len(psi):
            lo = math.floor(cycles * (base.min() - 1.0 - reach)) - 1
            hi = math.ceil(cycles * (base.max() + reach)) + 1
            for i in range(lo, hi + 1):
                center = np.round((base - i / cycles) * CENTER_GRID) / CENTER_GRID
                gap = np.abs(np.clip(center, 0.0, 1.0) - center)
                keep = np.flatnonzero(np.exp(-((gap / scale) ** 2)) >= VIEWER_CULL * (1.0 - 1e-3))
                rows.append(keep)
                copies.append(np.full(len(keep), i, dtype=np.int64))
                centers.append(center[keep])
        cat = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype)  # noqa: E731
        out.append((j, cat(rows, np.int64), cat(copies, np.int64), cat(centers, np.float64), scale))
    return out


def record_counts(offsets: np.ndarray, cycles: int, fade: float, lobes: int = DEFAULT_LOBES) -> np.ndarray:
    """[M] splats each moving Gaussian (phase offsets ``offsets``) becomes in a ``.splatv``."""
    fitted = fade_lobes(lobes, fade)
    offsets_e = effective_offsets(offsets, fade, fitted.fade)
    counts = np.zeros(len(offsets_e), dtype=np.int64)
    for _, rows, _, _, _ in copy_lobes(offsets_e, cycles, fitted):
        np.add.at(counts, rows, 1)
    return counts


def splatv_records(
    rest: SplatArrays, positions: np.ndarray, motion: np.ndarray, trbf: np.ndarray, alpha_scale: np.ndarray,
    source: np.ndarray, colors: np.ndarray | None = None,
) -> np.ndarray:
    """Structured records for splats taken from ``rest`` rows ``source`` with their own motion and trbf (and
    colours, when given: anchored copies)."""
    splats = rest.subset(source)
    if colors is not None:
        splats = dataclasses.replace(splats, colors=np.asarray(colors, dtype=np.float32))
    records = np.zeros(len(source), dtype=SPLATV_DTYPE)
    records["position"] = positions
    records["rotation"] = unit_quats(splats.quats).astype(np.float16)
    _check_half("scales", splats.scales)
    records["scale"][:, :3] = np.maximum(splats.scales, 0.0).astype(np.float16)
    records["rgba"][:, :3] = to_uint8(splats.colors)
    records["rgba"][:, 3] = to_uint8(splats.opacities * alpha_scale)
    records["motion"][:, :9] = motion.astype(np.float16)
    records["trbf"] = trbf.astype(np.float16)
    return records


def encode_splatv(
    splats: SplatArrays,
    velocity: np.ndarray,
    loop_frames: int,
    camera: ViewerCamera | None = None,
    lobes: int = DEFAULT_LOBES,
    cycles: int = 1,
    fade: float = 1.0,
    phase_offset: np.ndarray | None = None,
    colour_shift: np.ndarray | None = None,
) -> SplatvEncoding:
    """Encode a looping scene as ``.splatv``.

    ``splats`` [N] are the rest Gaussians (loop phase 0), ``velocity`` [N,3] world units per loop frame (zero rows
    are static), ``loop_frames`` the loop length N; ``cycles``, ``fade``, ``phase_offset`` [N] (ψ, None = 0) and
    ``colour_shift`` [N,K,3] (None = fixed colours) as in ``Scene4D``. A splat's colour is constant, so an anchored
    copy's lobe gets the colour at the copy's travel at the lobe's centre (piecewise constant over the cycle). ``lobes`` (1–3) temporal splats per copy trade file size for a closer cross-fade (see
    ``fade_lobes``, ``MIN_FADE``).
    """
    velocity = np.asarray(velocity, dtype=np.float64)
    if velocity.shape != (len(splats), 3):
        raise ValueError(f"velocity has shape {velocity.shape}, expected {(len(splats), 3)}")
    if loop_frames < 2:
        raise ValueError(f"loop_frames must be at least 2, got {loop_frames}")
    if not isinstance(cycles, (int, np.integer)) or not 1 <= cycles <= loop_frames:
        raise ValueError(f"cycles must be an integer between 1 and loop_frames ({loop_frames}), got {cycles!r}")
    fitted = fade_lobes(lobes, fade)  # validates lobes and fade
    offsets = np.zeros(len(splats)) if phase_offset is None else np.asarray(phase_offset, dtype=np.float64)
    if offsets.shape != (len(splats),):
        raise ValueError(f"phase_offset has shape {offsets.shape}, expected {(len(splats),)}")
    if len(offsets) and np.abs(np.nan_to_num(offsets)).max() > 0.5 * (1.0 - fade) + 1e-6:
        raise ValueError("phase offsets must lie within ±(1 − fade)/2")
    shift = None if colour_shift is None else np.nan_to_num(np.asarray(colour_shift, dtype=np.float64))
    if shift is not None and (shift.ndim != 3 or shift.shape[0] != len(splats) or shift.shape[2] != 3 or shift.shape[1] % 2 == 0):
        raise ValueError(f"colour_shift has shape {shift.shape}, expected ({len(splats)}, K, 3) with K odd")
    moving_before = np.abs(np.nan_to_num(velocity, nan=1.0)).sum(axis=1) > 0
    splats, keep, _ = drop_invalid(splats, velocity, offsets, context="splatv")
    velocity, offsets = velocity[keep], offsets[keep]
    shift = None if shift is None or not shift.any() else shift[keep]
    moving = np.abs(velocity).sum(axis=1) > 0
    moving_index = np.flatnonzero(moving)
    static_index = np.flatnonzero(~moving)
    kept_moving = np.flatnonzero(keep[moving_before])  # columns: moving rows of the input, before clean-up
    cycle_frames = loop_frames / cycles
    rest = splats.means[moving_index].astype(np.float64)
    vel = velocity[moving_index]
    motion = np.zeros((len(moving_index), 9))
    motion[:, 0:3] = vel * loop_frames  # Δpos per unit t: linear, so the cubic holds it exactly
    _check_half("motion coefficients", motion)
    offsets_e = effective_offsets(offsets[moving_index], fade, fitted.fade)

    parts = [
        splatv_records(
            splats,
            splats.means[static_index],
            np.zeros((len(static_index), 9)),
            np.tile(np.array(STATIC_TRBF), (len(static_index), 1)),
            np.ones(len(static_index)),
            static_index,
        )
    ]
    roles = [np.zeros(len(static_index), dtype=np.int8)]
    columns = [np.full(len(static_index), -1, dtype=np.int64)]
    sources = [static_index]
    lobe_ids = [np.zeros(len(static_index), dtype=np.int8)]
    copy_ids = [np.zeros(len(static_index), dtype=np.int64)]
    if len(moving_index):
        for j, rows, copies, centers, scale in copy_lobes(offsets_e, cycles, fitted):
            # copy i at its own trbf centre t: r + v·(t·N + i·T)
            x0 = rest[rows] + vel[rows] * (centers * loop_frames + copies * cycle_frames)[:, None]
            trbf = np.stack([centers, np.full(len(rows), scale)], axis=1)
            alpha = np.full(len(rows), fitted.amplitudes[j])
            colors = None
            if shift is not None:  # the copy's travel (in cycles) at the lobe's centre
                along = centers * cycles + copies
                colors = anchored_colours(splats.colors[moving_index[rows]].astype(np.float64), shift[moving_index[rows]], along)
            parts.append(splatv_records(splats, x0.astype(np.float32), motion[rows], trbf, alpha, moving_index[rows], colors))
            roles.append(np.ones(len(rows), dtype=np.int8))
            sources.append(moving_index[rows])
            lobe_ids.append(np.full(len(rows), j, dtype=np.int8))
            copy_ids.append(copies)
            columns.append(kept_moving[rows])
    # The parts go straight into the zero-padded texture, which is joined into the file without a copy of its own.
    n_records = sum(len(part) for part in parts)
    texheight = max(1, -(-n_records // SPLATS_PER_ROW))
    padded = np.zeros(texheight * SPLATS_PER_ROW, dtype=SPLATV_DTYPE)
    np.concatenate(parts, out=padded[:n_records])
    records = padded[:n_records]
    chunk = {"type": "splat", "size": padded.nbytes, "texwidth": TEXTURE_WIDTH, "texheight": texheight, "cameras": []}
    if camera is not None:
        chunk["cameras"] = [camera.splatv_json()]
    header_json = json.dumps([chunk], separators=(",", ":")).encode("utf-8")
    data = b"".join([struct.pack("<II", SPLATV_MAGIC, len(header_json)), header_json, memoryview(padded).cast("B")])
    n_moving_records = len(records) - len(static_index)
    stats = {
        "splats": int(len(records)),
        "static": int(len(static_index)),
        "moving": int(len(moving_index)),
        "lobes": lobes,
        "cycles": int(cycles),
        "fade": float(fade),
        "effective_fade": fitted.fade,
        "splats_per_moving": n_moving_records / len(moving_index) if len(moving_index) else 0.0,
        "fade_lobes": {"centers": list(fitted.centers), "scales": list(fitted.scales), "amplitudes": list(fitted.amplitudes)},
    }
    return SplatvEncoding(
        data,
        records,
        np.concatenate(roles),
        np.concatenate(sources),
        np.concatenate(lobe_ids),
        np.concatenate(copy_ids),
        np.concatenate(columns),
        fitted if len(moving_index) else None,
        stats,
    )


@dataclass(frozen=True)
class DecodedRecords:
    """Records' half-float motion and trbf as the stock shader reads them (float64), converted once for many viewer
    times (``loop.splatv_report`` samples several)."""

    position: np.ndarray  # [M,3] float32 position at dt = 0
    motion: np.ndarray  # [M,9] m0..m8
    center: np.ndarray  # [M] trbf centre
    scale: np.ndarray  # [M] trbf scale

    @staticmethod
    def of(records: np.ndarray) -> "DecodedRecords":
        return DecodedRecords(records["position"].astype(np.float64), records["motion"][:, :9].astype(np.float64),
                              records["trbf"][:, 0].astype(np.float64), records["trbf"][:, 1].astype(np.float64))

    def factor(self, t: float) -> np.ndarray:
        """[M] temporal factors at viewer time t (0 where the viewer culls the splat)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            factor = np.exp(-(((float(t) - self.center) / self.scale) ** 2))
        return np.where(np.isfinite(factor) & (factor >= VIEWER_CULL), factor, 0.0)

    def positions(self, t: float, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """[R,3] positions at viewer time t of the records ``rows`` (default all)."""
        dt = (float(t) - self.center[rows])[:, None]
        m = self.motion[rows]
        return self.position[rows] + m[:, 0:3] * dt + m[:, 3:6] * dt**2 + m[:, 6:9] * dt**3


def decode_records(records: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions [M,3] and temporal factors [M] of ``records`` at viewer time t, as the stock shader computes them
    (half-float motion and trbf; the factor is 0 where the viewer culls the splat)."""
    decoded = DecodedRecords.of(records)
    return decoded.positions(t), decoded.factor(t)


def fade_error(lobes: int, fade: float = 1.0, samples: int = 601, offsets: int = 41) -> dict[str, float]:
    """The encoded cross-fade against ``animate``'s trapezoid, in cycle phase (any ``cycles``), as fractions of a
    Gaussian's opacity (weights; the compensated opacity is measured by ``loop.splatv_report``).

    For phase offsets ψ spread over ±(1 − fade)/2 and every copy: ``mean``/``max`` of |L(ψ_e + x) − W_f(ψ + x)|
    (the lobe fit and the effective fade's shift together); ``sum_min``/``sum_max`` of Σ over copies (1 in the
    model); ``start_min``/``start_max`` the resting copy's weight at t = 0 and ``ghost`` the largest other copy's
    weight there (0: not drawn, so t = 0 shows the still photo); ``shift`` the largest cross-fade shift (cycles);
    ``effective_fade``. Culling included; half-float rounding of centres and scales is not (the report is).
    """
    fitted = fade_lobes(lobes, fade)
    psi = np.linspace(-1.0, 1.0, offsets) * 0.5 * (1.0 - fade)
    psi_e = effective_offsets(psi, fade, fitted.fade)
    x = np.linspace(-1.5, 1.5, samples)
    err = np.abs(fitted.weight(psi_e[:, None] + x[None]) - trapezoid(psi[:, None] + x[None], fade))
    total = fitted.partition(np.linspace(0.0, 1.0, samples))
    start = fitted.weight(psi_e)
    ghost = np.maximum(fitted.weight(psi_e + 1.0), fitted.weight(psi_e - 1.0))
    return {
        "mean": float(err.mean()),
        "max": float(err.max()),
        "sum_min": float(total.min()),
        "sum_max": float(total.max()),
        "start_min": float(start.min()),
        "start_max": float(start.max()),
        "ghost": float(ghost.max()),
        "shift": float(np.abs(psi - psi_e).max()),
        "effective_fade": fitted.fade,
    }
