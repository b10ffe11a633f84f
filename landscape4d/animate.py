"""Seamless looping animation of explicit Gaussians (symmetric two-population advection).

Each moving Gaussian exists twice. Population A starts at its rest position and is advected forward,
``means + velocity · k``, with weight ``1 − k/N``; population B ends at its rest position at k = N,
``means − velocity · (N − k)``, with weight ``k/N``. Opacities are multiplied by the weights. At k = 0 only A is
visible and at k = N only B, both at rest, so the frame at t = period equals the frame at t = 0 from every
camera. Static Gaussians never move.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .gaussians import GaussianSet
from .scene import Scene4D


@dataclass
class LoopState:
    """The Gaussians to draw at one instant, and which of them belong to which population."""

    gaussians: GaussianSet
    population: torch.Tensor  # [M] int8: 0 static, 1 forward (A), 2 backward (B)


def phase_at(scene: Scene4D, time_s: float) -> float:
    """Continuous loop phase k ∈ [0, loop_frames) of a time in seconds (the clock wraps forward)."""
    k = (time_s * scene.loop_fps) % scene.loop_frames
    return float(k)


def gaussians_at(scene: Scene4D, phase_frames: float) -> LoopState:
    """The Gaussian set at loop phase ``phase_frames`` (0 ≤ k ≤ loop_frames)."""
    n_frames = float(scene.loop_frames)
    k = min(max(float(phase_frames), 0.0), n_frames)
    moving = scene.moving
    static = scene.gaussians.select(~moving)
    base = scene.gaussians.select(moving)
    velocity = scene.velocity[moving]
    weight_forward = 1.0 - k / n_frames
    forward = base.replace(means=base.means + velocity * k, opacities=base.opacities * weight_forward)
    backward = base.replace(means=base.means - velocity * (n_frames - k), opacities=base.opacities * (1.0 - weight_forward))
    parts = [static, forward, backward]
    population = torch.cat(
        [torch.full((len(p),), i, dtype=torch.int8) for i, p in enumerate(parts)]
    )
    return LoopState(GaussianSet.concat(parts), population)
