"""3D motion per Gaussian from the 2D Eulerian field.

Single-view lift (the default): a Gaussian that projects to pixel p of the source view with 2D flow f moves to
the surface point under p + f, i.e. it slides along the depth surface (water on a lake comes toward the camera,
a waterfall falls down the cliff), and its projection in the source view moves by exactly f. Where p and p + f lie
on different sides of a depth edge the lift keeps the Gaussian's own depth instead. Near a horizon one pixel spans
a long way in depth, so the speed is capped where a particle would change its depth by more than
``MAX_LOOP_DEPTH_CHANGE`` within a loop: far water moves few pixels, as it does in real footage, and nothing
flies at the camera. The multi-view consistent
3D-MOM optimiser plugs in behind the same ``MotionLifter`` signature.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from .camera import Camera, project_points, sample_bilinear
from .flow2d import TAPER_MARGIN_PX, Flow2D, distance_inside

DEPTH_EDGE_RATIO = 0.1  # relative depth jump above which the lift stays at the Gaussian's own depth
MAX_LOOP_DEPTH_CHANGE = 0.25  # a particle's depth may change by at most this fraction over one loop


class MotionLifter(Protocol):
    def __call__(self, means_world: torch.Tensor, flow: Flow2D, depth_m: np.ndarray, camera: Camera) -> torch.Tensor:
        """Velocity [N,3] (world units per loop frame) for Gaussians at ``means_world`` [N,3]."""
        ...


def lift_single_view(means_world: torch.Tensor, flow: Flow2D, depth_m: np.ndarray, camera: Camera) -> torch.Tensor:
    uv, z = project_points(means_world.float(), camera)
    uv_np, z_np = uv.numpy().astype(np.float64), z.numpy().astype(np.float64)
    height, width = depth_m.shape
    inside = (z_np > 0) & (uv_np[:, 0] >= 0) & (uv_np[:, 0] < width) & (uv_np[:, 1] >= 0) & (uv_np[:, 1] < height)
    cols = np.clip(uv_np[:, 0].astype(int), 0, width - 1)
    rows = np.clip(uv_np[:, 1].astype(int), 0, height - 1)
    moving = inside & flow.moving[rows, cols]
    velocity = np.zeros((means_world.shape[0], 3), np.float64)
    if not moving.any():
        return torch.zeros_like(means_world, dtype=torch.float32)
    uv_m, z_m = uv_np[moving], z_np[moving]
    f_px = sample_bilinear(flow.flow_px_per_frame.astype(np.float64), uv_m)
    target_uv = uv_m + f_px
    surface_here = sample_bilinear(depth_m.astype(np.float64), uv_m)
    surface_there = sample_bilinear(depth_m.astype(np.float64), target_uv)
    # Slide along the surface: keep the Gaussian's offset from the surface, follow the surface's depth change.
    target_z = z_m * surface_there / np.maximum(surface_here, 1e-9)
    jump = np.abs(surface_there - surface_here) > DEPTH_EDGE_RATIO * surface_here
    target_z = np.where(jump, z_m, target_z)
    K = camera.K.numpy().astype(np.float64)
    def unproject(uv_: np.ndarray, z_: np.ndarray) -> np.ndarray:
        return np.stack([(uv_[:, 0] - K[0, 2]) / K[0, 0] * z_, (uv_[:, 1] - K[1, 2]) / K[1, 1] * z_, z_], axis=-1)
    delta_camera = unproject(target_uv, target_z) - unproject(uv_m, z_m)
    depth_travel = np.abs(delta_camera[:, 2]) * flow.loop_frames
    slow_down = np.minimum(1.0, MAX_LOOP_DEPTH_CHANGE * z_m / np.maximum(depth_travel, 1e-12))
    delta_camera *= slow_down[:, None]
    rotation_camera_to_world = camera.camera_to_world[:3, :3].numpy().astype(np.float64)
    velocity[moving] = delta_camera @ rotation_camera_to_world.T
    return confine_to_regions(means_world, torch.from_numpy(velocity.astype(np.float32)), flow, camera)


def confine_to_regions(means_world: torch.Tensor, velocity: torch.Tensor, flow: Flow2D, camera: Camera) -> torch.Tensor:
    """Shorten velocities whose loop path, seen from the source camera, would leave its motion region.

    A straight 3D path projects to a straight 2D segment, and the disc of radius ``distance_inside`` around a
    pixel lies inside its region; so keeping both loop ends (p ± v·N) within that radius keeps the whole path
    inside, and pixels outside the motion regions never change. Needed because the lift follows the surface in
    3D, which can project longer than the tapered 2D field near depth changes.
    """
    moving = velocity.abs().sum(dim=-1) > 0
    if not moving.any():
        return velocity
    points, v = means_world[moving].double(), velocity[moving].double()
    uv, z = project_points(points, camera)
    height, width = flow.moving.shape
    cols = uv[:, 0].clamp(0, width - 1).long().numpy()
    rows = uv[:, 1].clamp(0, height - 1).long().numpy()
    radius = torch.from_numpy(np.clip(distance_inside(flow.region_id > 0)[rows, cols] - TAPER_MARGIN_PX, 0, None)).double()
    n = float(flow.loop_frames)
    for _ in range(4):  # perspective makes the length nonlinear in the scale: a few fixed-point steps
        reach = torch.zeros_like(radius)
        for sign in (1.0, -1.0):
            end_uv, end_z = project_points(points + sign * n * v, camera)
            length = (end_uv - uv).norm(dim=-1)
            reach = torch.maximum(reach, torch.where(end_z > 0.01 * z, length, torch.full_like(length, float("inf"))))
        scale = torch.where(reach > radius, 0.98 * radius / reach.clamp_min(1e-12), torch.ones_like(reach))
        if bool((scale >= 1).all()):
            break
        v = v * scale[:, None]
    out = velocity.clone()
    out[moving] = v.float()
    return out


def lift_motion(
    means_world: torch.Tensor, flow: Flow2D, depth_m: np.ndarray, camera: Camera, lifter: MotionLifter | None = None
) -> torch.Tensor:
    return (lifter or lift_single_view)(means_world, flow, depth_m, camera)


__all__ = ["MotionLifter", "lift_motion", "lift_single_view"]
