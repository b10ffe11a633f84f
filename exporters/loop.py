"""Bridges from a ``Scene4D`` to the plain arrays the encoders take: clean-up, budget, frames, trajectories.

The animation itself is never re-implemented here: frames and "true" trajectories come from
``landscape4d.animate.LoopStates``, the project's definition of the loop.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from landscape4d.animate import LoopStates
from landscape4d.scene import Scene4D

from .arrays import SplatArrays, importance, invalid_mask
from .splatv import Trajectory, ViewerCamera

POPULATION_STATIC, POPULATION_FORWARD, POPULATION_BACKWARD = 0, 1, 2


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


def prepare_scene(scene: Scene4D, max_splats: int | None = None, moving_cost: int = 1) -> PreparedScene:
    """Drop Gaussians with NaN/inf values (with a warning) and apply a budget.

    ``max_splats``: the most splats any written file or frame may hold; a moving Gaussian costs ``moving_cost``
    splats (2 in a sequence frame mid-loop, 2 × lobes in a ``.splatv``), a static one 1.
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
        cost = np.where(moving, moving_cost, 1)
        if int(cost.sum()) > max_splats:
            keep = budget_mask(splats, cost, max_splats)
            dropped_budget = int((~keep).sum())
            scene = subset_scene(scene, keep)
    return PreparedScene(scene, dropped_invalid, dropped_budget)


def rest_splats(scene: Scene4D) -> SplatArrays:
    """The canonical frame (loop phase 0 = the still photo): every Gaussian at rest with its full opacity."""
    return SplatArrays.from_gaussians(scene.gaussians)


def frame_splats(
    scene: Scene4D, phase_frames: float, min_weight: float = 1.0 / 255.0, states: LoopStates | None = None
) -> tuple[SplatArrays, dict]:
    """The Gaussians drawn at loop phase ``phase_frames``, without those whose cross-fade weight is below
    ``min_weight`` (invisible). Returns the splats and counts per population. Pass ``states`` (a
    ``LoopStates`` of this scene) when exporting many frames: the scene is then laid out once."""
    states = states or LoopStates(scene)
    splats = SplatArrays.from_gaussians(states(phase_frames))  # subset() below copies out of the shared buffer
    population = states.population.numpy()
    k = min(max(float(phase_frames), 0.0), float(scene.loop_frames)) / scene.loop_frames
    weight = np.select([population == POPULATION_FORWARD, population == POPULATION_BACKWARD], [1.0 - k, k], 1.0)
    visible = weight >= min_weight
    counts = {
        "static": int((population == POPULATION_STATIC).sum()),
        "forward": int((visible & (population == POPULATION_FORWARD)).sum()),
        "backward": int((visible & (population == POPULATION_BACKWARD)).sum()),
        "dropped_invisible": int((~visible).sum()),
    }
    return splats.subset(visible), counts


def scene_trajectory(scene: Scene4D) -> Trajectory:
    """True positions of the two populations of the moving Gaussians at viewer times t ∈ [0, 1] (k = t · N)."""
    scene = subset_scene(scene, scene.moving.numpy())  # static Gaussians play no part in the trajectories

    states = LoopStates(scene)
    population = states.population.numpy()

    def sample(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        forward, backward = [], []
        for value in np.asarray(t, dtype=np.float64):
            means = states(float(value) * scene.loop_frames).means.detach().cpu().numpy().astype(np.float64)
            forward.append(means[population == POPULATION_FORWARD])
            backward.append(means[population == POPULATION_BACKWARD])
        return np.stack(forward), np.stack(backward)

    return sample


def viewer_camera(scene: Scene4D) -> ViewerCamera:
    return ViewerCamera.from_camera(scene.source_camera)
