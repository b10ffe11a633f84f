"""Bridges from a ``Scene4D`` to the plain arrays the encoders take: clean-up, budget, frames, trajectories.

The animation itself is never re-implemented here: frames and "true" trajectories come from
``landscape4d.animate.LoopStates``, the project's definition of the loop.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from landscape4d.animate import LoopStates
from landscape4d.scene import Scene4D

from .arrays import SplatArrays, importance, invalid_mask
from .splatv import DecodedRecords, SplatvEncoding, ViewerCamera

POPULATION_STATIC, POPULATION_SLOT_A, POPULATION_SLOT_B = 0, 1, 2  # LoopStates.population


@dataclass(frozen=True)
class PreparedScene:
    """A scene reduced to the Gaussians that will be written, and what was removed."""

    scene: Scene4D
    dropped_invalid: int
    dropped_budget: int


def subset_scene(scene: Scene4D, keep: np.ndarray | torch.Tensor) -> Scene4D:
    """The same scene with only the Gaussians selected by ``keep`` (bool mask or indices)."""
    return scene.subset(keep)


def budget_mask(splats: SplatArrays, cost: np.ndarray, max_splats: int) -> np.ndarray:
    """[N] bool: the Gaussians to keep so that their summed ``cost`` (splats each becomes) fits ``max_splats``.

    Greedy by importance per splat: a moving Gaussian's copies cross-fade (their weights sum to one), so together
    they show about as much as one static Gaussian of the same size while costing ``cost`` splats.
    """
    if max_splats < 1:
        raise ValueError(f"the Gaussian budget must be at least 1, got {max_splats}")
    cost = np.asarray(cost, dtype=np.int64)
    order = np.argsort(-importance(splats) / cost, kind="stable")
    fits = np.cumsum(cost[order]) <= max_splats
    keep = np.zeros(len(splats), dtype=bool)
    keep[order[fits]] = True
    return keep


def prepare_scene(
    scene: Scene4D, max_splats: int | None = None, moving_cost: int | Callable[[Scene4D], np.ndarray] = 1
) -> PreparedScene:
    """Drop Gaussians with NaN/inf values (with a warning) and apply a budget.

    ``max_splats``: the most splats any written file or frame may hold; a moving Gaussian costs ``moving_cost``
    splats (2 in a sequence frame: slots A and B), a static one 1; or ``moving_cost(scene)`` gives the [M] cost of
    each moving Gaussian of the cleaned scene (a ``.splatv``: its copies × lobes, see ``splatv.record_counts``).
    """
    splats = SplatArrays.from_gaussians(scene.gaussians)
    velocity = scene.velocity.detach().cpu().numpy()
    bad = invalid_mask(splats, velocity)
    dropped_invalid = int(bad.sum())
    if dropped_invalid:
        warnings.warn(
            f"export: dropped {dropped_invalid} of {len(splats)} Gaussians with NaN/inf values", RuntimeWarning, stacklevel=2
        )
        scene = subset_scene(scene, ~bad)
        splats = splats.subset(~bad)
        velocity = velocity[~bad]
    dropped_budget = 0
    if max_splats is not None:
        moving = np.abs(velocity).sum(axis=1) > 0
        if callable(moving_cost):
            cost = np.ones(len(moving), dtype=np.int64)
            cost[moving] = np.maximum(np.asarray(moving_cost(scene), dtype=np.int64), 1)
        else:
            cost = np.where(moving, moving_cost, 1)
        if int(cost.sum()) > max_splats:
            keep = budget_mask(splats, cost, max_splats)
            dropped_budget = int((~keep).sum())
            scene = subset_scene(scene, keep)
    return PreparedScene(scene, dropped_invalid, dropped_budget)


def rest_splats(scene: Scene4D) -> SplatArrays:
    """The canonical frame (loop phase 0 = the still photo): every Gaussian at rest with its full opacity."""
    return SplatArrays.from_gaussians(scene.gaussians)


@contextmanager
def single_threaded_torch() -> Iterator[None]:
    """Torch on one thread while ``LoopStates`` frames are taken on the CPU next to NumPy work: a state is a few
    element-wise ops on the moving Gaussians (milliseconds on one core); torch's thread team, competing with encoder
    threads (and other processes) for the cores, made the same states 7–50× slower on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def frame_splats(
    scene: Scene4D, phase_frames: float, min_weight: float = 1.0 / 255.0, states: LoopStates | None = None
) -> tuple[SplatArrays, dict]:
    """The Gaussians ``LoopStates`` draws at loop phase ``phase_frames``, without those whose cross-fade weight
    (``states.weight``) is below ``min_weight`` (invisible). Returns the splats and counts per slot. Pass ``states``
    (a ``LoopStates`` of this scene) when exporting many frames: the scene is then laid out once."""
    states = states or LoopStates(scene)
    splats = SplatArrays.from_gaussians(states(phase_frames))  # subset() below copies out of the shared buffer
    visible = states.weight.detach().cpu().numpy() >= min_weight
    return splats.subset(visible), frame_counts(states, visible)


def frame_counts(states: LoopStates, visible: np.ndarray) -> dict[str, int]:
    """Gaussians per slot of ``states``' current frame that are ``visible`` [M], and how many are not."""
    population = states.population.cpu().numpy()
    return {
        "static": int((population == POPULATION_STATIC).sum()),
        "slot_a": int((visible & (population == POPULATION_SLOT_A)).sum()),
        "slot_b": int((visible & (population == POPULATION_SLOT_B)).sum()),
        "dropped_invisible": int((~visible).sum()),
    }


def splatv_report(
    scene: Scene4D, encoding: SplatvEncoding, camera: ViewerCamera | None = None, samples: int = 25
) -> dict[str, dict]:
    """The decoded ``.splatv`` against ``LoopStates`` at ``samples`` viewer times t ∈ [0, 1] (k = t·N).

    ``encoding`` must come from ``encode_splatv`` of this scene's rest splats, velocity, cycles, fade and phase
    offsets. Each moving record drawn at t (temporal factor ≥ ``VIEWER_CULL``) is one lobe of copy i, at cycle
    ``floor(ψ + t·c + i)``: 0 is ``LoopStates``' slot A, −1 slot B; other cycles are copies ``LoopStates`` does not
    draw (weight 0 there), which the tails of the lobes reach only when the effective fade shifts the cross-fade.
    Returns

    * ``position`` (px of ``camera``, default the source camera): distance between the projections of each drawn
      record's decoded position and the ``LoopStates`` position of its copy (slot A's, moved by whole cycles of
      travel v·T: slot B is one cycle behind): ``mean``, ``max``, ``samples``;
    * ``stray``: drawn (record, t) samples of copies outside the two slots and their largest weight;
    * ``weight``: per Gaussian and slot, Σ lobe amplitude × factor against ``LoopStates.weight`` (``mean``/``max``
      of the difference) and the sum over both slots (``sum_min``/``sum_max``; 1 in the model);
    * ``opacity``: per Gaussian and slot, Σ 8-bit alpha × factor against the compensated opacity ``LoopStates``
      draws (``mean``/``max``; includes the linear-opacity approximation).
    """
    camera = camera or viewer_camera(scene)
    empty = {"mean": 0.0, "max": 0.0}
    moving_records = np.flatnonzero(encoding.role > 0)
    if not len(moving_records):
        return {"position": {**empty, "samples": 0}, "stray": {"samples": 0, "max_weight": 0.0},
                "weight": {**empty, "sum_min": 1.0, "sum_max": 1.0}, "opacity": dict(empty)}
    moving_rows = scene.moving.numpy()
    moving = subset_scene(scene, moving_rows)  # static Gaussians play no part
    n = int(moving_rows.sum())
    offsets = np.zeros(n) if moving.phase_offset is None else moving.phase_offset.detach().cpu().numpy().astype(np.float64)
    records = encoding.records[moving_records]
    column = encoding.column[moving_records]
    copy = encoding.copy[moving_records].astype(np.float64)
    amplitude = np.asarray(encoding.lobes.amplitudes)[encoding.lobe[moving_records]]
    alpha = records["rgba"][:, 3].astype(np.float64) / 255.0
    states = LoopStates(moving)
    totals = {"px": 0.0, "px_max": 0.0, "px_n": 0, "stray": 0, "w": 0.0, "w_max": 0.0, "o": 0.0, "o_max": 0.0, "n": 0}
    sum_min, sum_max, stray_weight = np.inf, -np.inf, 0.0
    travel = moving.velocity.detach().cpu().numpy().astype(np.float64) * (scene.loop_frames / scene.cycles)  # v·T
    decoded = DecodedRecords.of(records)  # converted once; positions only of the records drawn at each t
    for t in np.linspace(0.0, 1.0, samples):
        with single_threaded_torch():
            gaussians = states(float(t) * scene.loop_frames)
        means = gaussians.means.detach().cpu().numpy().astype(np.float64).reshape(2, n, 3)
        weight = states.weight.detach().cpu().numpy().astype(np.float64).reshape(2, n)
        opacity = gaussians.opacities.detach().cpu().numpy().astype(np.float64).reshape(2, n)
        factor = decoded.factor(float(t))
        drawn = factor > 0
        phase = offsets[column] + float(t) * scene.cycles + copy
        cycle = np.floor(phase)  # 0: slot A's copy, −1: slot B's (one cycle behind); others: not drawn by LoopStates
        stray = drawn & ((cycle < -1) | (cycle > 0))
        totals["stray"] += int(stray.sum())
        # Copy i sits cycle·v·T from slot A's position (slot B is A − v·T): positions are checked for every drawn copy.
        truth = means[0, column[drawn]] + travel[column[drawn]] * cycle[drawn, None]
        d = np.linalg.norm(camera.project(decoded.positions(float(t), drawn)) - camera.project(truth), axis=-1)
        totals["px"] += float(d.sum())
        totals["px_n"] += int(d.size)
        totals["px_max"] = max(totals["px_max"], float(d.max()) if d.size else 0.0)
        ok = drawn & ~stray
        slot = np.where(cycle >= 0, 0, 1)
        index = slot[ok] * n + column[ok]
        decoded_w = np.bincount(index, amplitude[ok] * factor[ok], minlength=2 * n).reshape(2, n)
        decoded_o = np.bincount(index, alpha[ok] * factor[ok], minlength=2 * n).reshape(2, n)
        stray_weight = max(stray_weight, float((amplitude * factor)[stray].max()) if stray.any() else 0.0)
        dw, do = np.abs(decoded_w - weight), np.abs(decoded_o - opacity)
        totals["w"] += float(dw.sum())
        totals["o"] += float(do.sum())
        totals["n"] += dw.size
        totals["w_max"] = max(totals["w_max"], float(dw.max()))
        totals["o_max"] = max(totals["o_max"], float(do.max()))
        both = decoded_w.sum(axis=0)
        sum_min, sum_max = min(sum_min, float(both.min())), max(sum_max, float(both.max()))
    return {
        "position": {"mean": totals["px"] / max(totals["px_n"], 1), "max": totals["px_max"], "samples": totals["px_n"]},
        "stray": {"samples": totals["stray"], "max_weight": stray_weight},
        "weight": {"mean": totals["w"] / totals["n"], "max": totals["w_max"], "sum_min": sum_min, "sum_max": sum_max},
        "opacity": {"mean": totals["o"] / totals["n"], "max": totals["o_max"]},
    }


def viewer_camera(scene: Scene4D) -> ViewerCamera:
    return ViewerCamera.from_camera(scene.source_camera)
