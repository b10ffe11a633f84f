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

How the loop is encoded. Viewer time t maps to loop phase ``k = t · loop_frames``. ``animate.gaussians_at``
draws each moving Gaussian twice: population A at ``rest + v·k`` with weight ``1 − t`` and population B at
``rest − v·(N − k)`` with weight ``t``. Each population becomes ``lobes`` splats whose temporal opacities sum
to approximately the linear cross-fade (constants in ``FADE_LOBES``, fitted by least squares on [0, 1] with two
constraints: every lobe is below the cull threshold at the far end, so t = 1 wraps to t = 0 without a pop, and the
sum at the near end is within 1 % of 1, so t = 0 shows the still photo). B uses the lobes mirrored about t = ½.
Each splat's trajectory is fitted as the cubic motion polynomial by least squares on sampled phases of the true
motion (exact for the linear Eulerian advection), quantised to half floats, and its float32 centre refitted
after quantisation. Static Gaussians get zero motion and a flat temporal opacity.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .arrays import SplatArrays, drop_invalid, to_uint8, unit_quats

SPLATV_MAGIC = 0x674B
TEXTURE_WIDTH = 4096  # texels a row; 4 RGBA32UI texels (64 bytes) a splat → 1024 splats a row
SPLATS_PER_ROW = TEXTURE_WIDTH // 4
VIEWER_CULL = 0.02  # the stock shaders skip a splat when exp(−((t−c)/s)²) < 0.02
STATIC_TRBF = (0.0, 1000.0)  # centre, scale: factor ≥ exp(−1e−6) on t ∈ [0, 1]; centre 0 keeps dt ≥ 0
HALF_MAX = 65504.0

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


@dataclass(frozen=True)
class FadeLobes:
    """Temporal opacity lobes whose sum Σ aᵢ·exp(−((t − cᵢ)/sᵢ)²) approximates the fade-out 1 − t on [0, 1]."""

    centers: tuple[float, ...]
    scales: tuple[float, ...]
    amplitudes: tuple[float, ...]

    def weight(self, t: np.ndarray, mirrored: bool = False) -> np.ndarray:
        """[len(t)] the summed temporal opacity (``mirrored``: the fade-in, lobes reflected about t = ½)."""
        return self.lobe_weights(t, mirrored).sum(axis=0)

    def lobe_weights(self, t: np.ndarray, mirrored: bool = False) -> np.ndarray:
        """[lobes, len(t)] each lobe's temporal opacity including its amplitude."""
        t = np.asarray(t, dtype=np.float64)
        c, s, a = (np.asarray(v, dtype=np.float64)[:, None] for v in (self.centers, self.scales, self.amplitudes))
        if mirrored:
            c = 1.0 - c
        return a * np.exp(-(((t[None] - c) / s) ** 2))

    def quantised(self) -> "FadeLobes":
        """The lobes as the viewer sees them (half-float centre and scale, uint8 amplitude on the opacity)."""
        return FadeLobes(
            tuple(float(v) for v in np.float16(self.centers)),
            tuple(float(v) for v in np.float16(self.scales)),
            self.amplitudes,
        )


# Fitted offline (least squares of the sum against 1 − t on 1001 samples of [0, 1], Nelder–Mead from random
# starts; constraints as in the module docstring). ``tests/test_exporters_splatv.py`` re-checks the errors.
FADE_LOBES: dict[int, FadeLobes] = {
    1: FadeLobes((0.04381,), (0.48036,), (0.99827,)),  # mean |error| 0.082, max 0.148
    2: FadeLobes((-0.04187, 0.58957), (0.52335, 0.20617), (0.99630, 0.20886)),  # mean 0.022, max 0.054
    3: FadeLobes((-0.07562, 0.52374, 0.76642), (0.54029, 0.23844, 0.11733), (1.0, 0.18715, 0.09081)),  # 0.007, 0.024
}
DEFAULT_LOBES = 2

# phases [T] in [0, 1] → (positions of population A [T,M,3], positions of population B [T,M,3])
Trajectory = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class SampledTrajectory:
    """A trajectory evaluated once on a grid of times; calls with times on the grid are served from it.

    The encoder fits on every other grid time and the error report measures on all of them, so the true motion is
    sampled once and half of the measured samples were not used by the fit.
    """

    def __init__(self, trajectory: Trajectory, t: np.ndarray) -> None:
        self.trajectory = trajectory
        self.t = np.asarray(t, dtype=np.float64)
        self.forward, self.backward = trajectory(self.t)

    def __call__(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype=np.float64)
        index = np.clip(np.searchsorted(self.t, t), 0, len(self.t) - 1)
        below = np.clip(index - 1, 0, len(self.t) - 1)
        index = np.where(np.abs(self.t[below] - t) < np.abs(self.t[index] - t), below, index)
        if np.allclose(self.t[index], t, rtol=0.0, atol=1e-12):
            return self.forward[index], self.backward[index]
        return self.trajectory(t)


def linear_trajectory(rest: np.ndarray, velocity: np.ndarray, loop_frames: int) -> Trajectory:
    """The two populations of ``animate.gaussians_at`` for straight-line motion (velocity per loop frame)."""
    rest = np.asarray(rest, dtype=np.float64)
    travel = np.asarray(velocity, dtype=np.float64) * loop_frames  # displacement over one loop

    def sample(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype=np.float64)[:, None, None]
        return rest[None] + travel[None] * t, rest[None] - travel[None] * (1.0 - t)

    return sample


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
        return np.linalg.inv(np.asarray(self.world_to_camera, dtype=np.float64))

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """Pixel coordinates [..., 2] of world points [..., 3] (pixel centres at +0.5, as ``camera.project_points``)."""
        w2c = np.asarray(self.world_to_camera, dtype=np.float64)
        p = np.asarray(points_world, dtype=np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
        z = np.where(np.abs(p[..., 2]) < 1e-8, 1e-8, p[..., 2])
        K = np.asarray(self.K, dtype=np.float64)
        return np.stack([K[0, 0] * p[..., 0] / z + K[0, 2], K[1, 1] * p[..., 1] / z + K[1, 2]], axis=-1)

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
    """The ``.splatv`` bytes and what went into them."""

    data: bytes
    records: np.ndarray  # [M] SPLATV_DTYPE (without the texture padding)
    role: np.ndarray  # [M] int8: 0 static, 1 population A (fade-out), 2 population B (fade-in)
    source_index: np.ndarray  # [M] row of the input splats each record came from
    lobe: np.ndarray  # [M] int8 lobe index (0 for static)
    trajectory_column: np.ndarray  # [M] column of the trajectory (moving row) each record follows; -1 for static
    stats: dict = field(default_factory=dict)


def _check_half(name: str, values: np.ndarray) -> None:
    if values.size and np.abs(values).max() > HALF_MAX:
        raise ValueError(f"splatv stores {name} as half floats: |value| must be ≤ {HALF_MAX:g}, got {np.abs(values).max():g}")


def fit_cubic(t: np.ndarray, positions: np.ndarray, center: float) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``x(t) ≈ x0 + m1·dt + m2·dt² + m3·dt³`` with ``dt = t − center``.

    ``positions`` [T,M,3] sampled at ``t`` [T]. Returns x0 [M,3] and motion [M,9] (m0..m8 in splatv order: the
    three dt coefficients, then dt², then dt³). The motion is rounded to half floats and x0 refitted to it.
    """
    dt = np.asarray(t, dtype=np.float64) - center
    basis = np.stack([np.ones_like(dt), dt, dt**2, dt**3], axis=1)  # [T,4]
    T, M, _ = positions.shape
    coeffs, *_ = np.linalg.lstsq(basis, positions.reshape(T, M * 3), rcond=None)
    coeffs = coeffs.reshape(4, M, 3)
    motion = np.concatenate([coeffs[1], coeffs[2], coeffs[3]], axis=1)  # [M,9]
    _check_half("motion coefficients", motion)
    motion = motion.astype(np.float16).astype(np.float64)
    moved = np.einsum("tk,kmc->tmc", basis[:, 1:], motion.reshape(M, 3, 3).transpose(1, 0, 2))
    x0 = (positions - moved).mean(axis=0)
    return x0, motion


def evaluate_cubic(x0: np.ndarray, motion: np.ndarray, t: np.ndarray, center: float | np.ndarray) -> np.ndarray:
    """Positions [T,M,3] of splatv motion (x0 [M,3] float32, motion [M,9]) at times t [T], as the shader does."""
    dt = np.asarray(t, dtype=np.float64)[:, None, None] - np.asarray(center, dtype=np.float64).reshape(1, -1, 1)
    m = np.asarray(motion, dtype=np.float64)
    return x0[None].astype(np.float64) + m[None, :, 0:3] * dt + m[None, :, 3:6] * dt**2 + m[None, :, 6:9] * dt**3


def splatv_records(
    rest: SplatArrays, positions: np.ndarray, motion: np.ndarray, trbf: np.ndarray, alpha_scale: np.ndarray, source: np.ndarray
) -> np.ndarray:
    """Structured records for splats taken from ``rest`` rows ``source`` with their own motion and trbf."""
    splats = rest.subset(source)
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
    trajectory: Trajectory | None = None,
    fit_samples: int = 13,
) -> SplatvEncoding:
    """Encode a looping scene as ``.splatv``.

    ``splats`` [N] are the rest Gaussians (loop phase 0), ``velocity`` [N,3] world units per loop frame (zero rows
    are static), ``loop_frames`` the loop length N. ``trajectory`` samples the true positions of the moving
    Gaussians (rows with nonzero velocity, in order) at viewer times t ∈ [0, 1]; default: the straight-line motion
    of ``animate.gaussians_at``. ``lobes`` (1–3) temporal splats per population trade file size for a more exact
    cross-fade (see ``FADE_LOBES``).
    """
    velocity = np.asarray(velocity, dtype=np.float64)
    if velocity.shape != (len(splats), 3):
        raise ValueError(f"velocity has shape {velocity.shape}, expected {(len(splats), 3)}")
    if lobes not in FADE_LOBES:
        raise ValueError(f"lobes must be one of {sorted(FADE_LOBES)}, got {lobes}")
    if loop_frames < 2:
        raise ValueError(f"loop_frames must be at least 2, got {loop_frames}")
    fade = FADE_LOBES[lobes].quantised()
    moving_before = np.abs(np.nan_to_num(velocity, nan=1.0)).sum(axis=1) > 0
    splats, keep, _ = drop_invalid(splats, velocity, context="splatv")
    velocity = velocity[keep]
    moving = np.abs(velocity).sum(axis=1) > 0
    moving_index = np.flatnonzero(moving)
    static_index = np.flatnonzero(~moving)
    t_fit = np.linspace(0.0, 1.0, max(fit_samples, 4))
    if trajectory is None:
        trajectory = linear_trajectory(splats.means[moving_index], velocity[moving_index], loop_frames)
        kept_moving = np.arange(len(moving_index))
    else:
        kept_moving = np.flatnonzero(keep[moving_before])  # the caller's trajectory covers the moving rows before clean-up
    if len(moving_index):
        path_a, path_b = (path[:, kept_moving] for path in trajectory(t_fit))
    else:
        path_a = path_b = np.zeros((len(t_fit), 0, 3))

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
    for role, path, mirrored in ((1, path_a, False), (2, path_b, True)):
        for j in range(lobes):
            center = 1.0 - fade.centers[j] if mirrored else fade.centers[j]
            center = float(np.float16(center))
            x0, motion = fit_cubic(t_fit, path, center)
            x0 = x0.astype(np.float32)
            trbf = np.tile(np.array([center, fade.scales[j]]), (len(moving_index), 1))
            alpha = np.full(len(moving_index), fade.amplitudes[j])
            parts.append(splatv_records(splats, x0, motion, trbf, alpha, moving_index))
            roles.append(np.full(len(moving_index), role, dtype=np.int8))
            sources.append(moving_index)
            lobe_ids.append(np.full(len(moving_index), j, dtype=np.int8))
            columns.append(kept_moving)
    records = np.concatenate(parts)
    texheight = max(1, -(-len(records) // SPLATS_PER_ROW))
    padded = np.zeros(texheight * SPLATS_PER_ROW, dtype=SPLATV_DTYPE)
    padded[: len(records)] = records
    body = padded.tobytes()
    chunk = {"type": "splat", "size": len(body), "texwidth": TEXTURE_WIDTH, "texheight": texheight, "cameras": []}
    if camera is not None:
        chunk["cameras"] = [camera.splatv_json()]
    header_json = json.dumps([chunk], separators=(",", ":")).encode("utf-8")
    data = struct.pack("<II", SPLATV_MAGIC, len(header_json)) + header_json + body
    stats = {
        "splats": int(len(records)),
        "static": int(len(static_index)),
        "moving": int(len(moving_index)),
        "lobes": lobes,
        "fade_lobes": {"centers": list(fade.centers), "scales": list(fade.scales), "amplitudes": list(fade.amplitudes)},
    }
    return SplatvEncoding(
        data, records, np.concatenate(roles), np.concatenate(sources), np.concatenate(lobe_ids), np.concatenate(columns), stats
    )


def fade_error(lobes: int, samples: int = 1001) -> dict[str, float]:
    """Cross-fade error of the encoded temporal opacity (half-quantised lobes) against the linear weight 1 − t.

    Values are fractions of the Gaussian's opacity: ``mean``/``max`` of |Σ lobes − (1 − t)| over t ∈ [0, 1] (the same
    for the mirrored fade-in), ``sum_min``/``sum_max`` of the two populations' total (1 exactly in the target),
    ``wrap`` the largest lobe factor at the far end (below ``VIEWER_CULL`` means the loop wraps without a pop).
    Amplitudes are applied to the 8-bit alpha, so their rounding is not included.
    """
    fade = FADE_LOBES[lobes].quantised()
    t = np.linspace(0.0, 1.0, samples)
    err = np.abs(fade.weight(t) - (1.0 - t))
    total = fade.weight(t) + fade.weight(t, mirrored=True)
    far = np.exp(-(((1.0 - np.asarray(fade.centers)) / np.asarray(fade.scales)) ** 2))
    return {
        "mean": float(err.mean()),
        "max": float(err.max()),
        "sum_min": float(total.min()),
        "sum_max": float(total.max()),
        "start": float(fade.weight(np.array([0.0]))[0]),
        "wrap": float(far.max()),
    }


def position_error_px(
    encoding: SplatvEncoding, trajectory: Trajectory, camera: ViewerCamera, samples: int = 25
) -> dict[str, float]:
    """Fit error of the encoded motion against the true trajectories, in pixels of ``camera``.

    For every moving record and ``samples`` viewer times t ∈ [0, 1] where the viewer draws it (temporal factor ≥
    ``VIEWER_CULL``), the distance between the projection of the decoded position (float32 centre + half motion
    polynomial, as the shader evaluates it) and the projection of the true position. Returns mean, max and the
    number of (splat, t) samples.
    """
    moving = encoding.role > 0
    if not moving.any():
        return {"mean": 0.0, "max": 0.0, "samples": 0}
    records = encoding.records[moving]
    role = encoding.role[moving]
    x0 = records["position"].astype(np.float64)
    motion = records["motion"][:, :9].astype(np.float64)
    center = records["trbf"][:, 0].astype(np.float64)
    scale = records["trbf"][:, 1].astype(np.float64)
    column = encoding.trajectory_column[moving]
    total, count, worst = 0.0, 0, 0.0
    for t in np.linspace(0.0, 1.0, samples):
        truth_a, truth_b = trajectory(np.array([t]))
        truth = np.where((role == 1)[:, None], truth_a[0][column], truth_b[0][column])
        decoded = evaluate_cubic(x0, motion, np.array([t]), center)[0]
        drawn = np.exp(-(((t - center) / scale) ** 2)) >= VIEWER_CULL
        if not drawn.any():
            continue
        d = np.linalg.norm(camera.project(decoded[drawn]) - camera.project(truth[drawn]), axis=-1)
        total += float(d.sum())
        count += int(d.size)
        worst = max(worst, float(d.max()))
    return {"mean": total / max(count, 1), "max": worst, "samples": count}
