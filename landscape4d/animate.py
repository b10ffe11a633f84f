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

BACKDROP_EVERY = 2  # one backdrop Gaussian per this many moving ones
BACKDROP_GROW = 2.0  # its footprint, × the moving Gaussian's: covers the gaps of the sparser set
BACKDROP_BEHIND = 1.01  # how far behind the moving layer it sits (factor on the distance to the photo's camera)


def with_backdrop(gaussians: GaussianSet, velocity: torch.Tensor) -> tuple[GaussianSet, torch.Tensor]:
    """Add a static, opaque, softer copy of the moving content just behind it.

    Mid-loop, the two cross-fading populations are each partly transparent and stretched apart, which would
    let holes open in water and sky; the backdrop keeps every pixel covered while the moving layers on top carry
    the motion. It is static, so the loop's endpoints still match exactly.
    """
    moving = velocity.abs().sum(dim=-1) > 0
    source = gaussians.select(torch.nonzero(moving).squeeze(1)[::BACKDROP_EVERY])
    backdrop = source.replace(
        means=source.means * BACKDROP_BEHIND,  # the world origin is the photo's camera
        scales=source.scales * BACKDROP_GROW * BACKDROP_BEHIND,
        opacities=torch.full_like(source.opacities, 0.99),
    )
    return GaussianSet.concat([gaussians, backdrop]), torch.cat([velocity, torch.zeros_like(backdrop.means)])


@dataclass
class LoopState:
    """The Gaussians to draw at one instant, and which of them belong to which population."""

    gaussians: GaussianSet
    population: torch.Tensor  # [M] int8: 0 static, 1 forward (A), 2 backward (B)


def phase_at(scene: Scene4D, time_s: float) -> float:
    """Continuous loop phase k ∈ [0, loop_frames) of a time in seconds (the clock wraps forward)."""
    k = (time_s * scene.loop_fps) % scene.loop_frames
    return float(k)


class LoopStates:
    """The animation state at any loop phase, with the per-scene work done once.

    The static part and the fixed attributes are laid out once (static, forward copies, backward copies); each
    call only rewrites the moving means and opacities in place, so the returned set is valid until the next
    call. Selecting and concatenating per frame would cost more than rasterizing on a CPU.
    """

    def __init__(self, scene: Scene4D) -> None:
        moving = scene.moving
        static, base = scene.gaussians.select(~moving), scene.gaussians.select(moving)
        self.n_frames = float(scene.loop_frames)
        self.base, self.velocity = base, scene.velocity[moving].to(base.means.dtype)
        self.n_static, self.n_moving = len(static), len(base)
        self._step = torch.empty_like(self.velocity)
        self.gaussians = GaussianSet.concat([static, base, base])
        self.population = torch.cat(
            [torch.full((n,), i, dtype=torch.int8) for i, n in enumerate((self.n_static, self.n_moving, self.n_moving))]
        )

    def __call__(self, phase_frames: float) -> GaussianSet:
        k = min(max(float(phase_frames), 0.0), self.n_frames)
        weight_forward = 1.0 - k / self.n_frames
        a, b = self.n_static, self.n_static + self.n_moving
        means, opacities = self.gaussians.means, self.gaussians.opacities
        torch.mul(self.velocity, k, out=self._step)
        torch.add(self.base.means, self._step, out=means[a:b])
        torch.mul(self.velocity, self.n_frames - k, out=self._step)
        torch.sub(self.base.means, self._step, out=means[b:])
        torch.mul(self.base.opacities, weight_forward, out=opacities[a:b])
        torch.mul(self.base.opacities, 1.0 - weight_forward, out=opacities[b:])
        return self.gaussians


def gaussians_at(scene: Scene4D, phase_frames: float) -> LoopState:
    """The Gaussian set at loop phase ``phase_frames`` (0 ≤ k ≤ loop_frames), as a fresh set."""
    states = LoopStates(scene)
    return LoopState(states(phase_frames), states.population)
