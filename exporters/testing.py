"""Small deterministic scenes for exporter tests and benchmarks (no photo, no model)."""

from __future__ import annotations

import torch

from landscape4d.camera import identity_camera
from landscape4d.gaussians import random_gaussians
from landscape4d.scene import Scene4D, SceneMeta


def example_scene(
    n: int = 2000,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    loop_frames: int = 30,
    loop_fps: float = 30.0,
    travel: float = 0.1,
    water_line: float = 0.15,
) -> Scene4D:
    """``random_gaussians`` in front of the identity camera; the "water" below ``water_line`` (y/z > water_line,
    the lower part of the image) flows right by ``travel`` · depth over one loop (the same number of pixels at
    every depth), the rest is static."""
    gaussians = random_gaussians(n, seed=seed)
    z = gaussians.means[:, 2]
    moving = gaussians.means[:, 1] / z > water_line
    velocity = torch.zeros(n, 3)
    velocity[moving, 0] = travel * z[moving] / loop_frames
    return Scene4D(
        gaussians=gaussians,
        velocity=velocity,
        source_camera=identity_camera(width, height),
        loop_frames=loop_frames,
        loop_fps=loop_fps,
        depth_near=float(z.min()),
        depth_far=float(z.max()),
        meta=SceneMeta(photo="example"),
    )
