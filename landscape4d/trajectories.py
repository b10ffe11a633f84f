"""Camera path presets, scaled to the scene's depth so none of them shows the edge of the world.

Amplitudes are fractions of ``depth_near`` (the robust nearest scene depth): a lateral move of a·depth_near
shifts the nearest content by about a·f pixels against the far background, which is the parallax a user sees.
The multi-view stage generates views at (view_scale ×) the extremes of these same paths, so disocclusions the
paths reveal have been inpainted.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from .camera import Camera, look_at, pose_world_to_camera

LATERAL = 0.05  # swing/up-down/circle half-amplitude, × depth_near (≈ 4% of the width of near parallax)
FORWARD = 0.35  # zoom-in travel, × depth_near
BACKWARD = 0.12  # dolly-out travel, × depth_near
ORBIT_DEG = 6.0  # orbit half-angle around a focus point at the median depth


def _smooth(u: float) -> float:
    return u * u * (3 - 2 * u)


# Each preset maps u ∈ [0, 1) (fraction of the video) to a camera offset. Periodic paths close the loop.
def _static(u: float) -> tuple[float, float, float]:
    return (0.0, 0.0, 0.0)


def _zoom_in(u: float) -> tuple[float, float, float]:
    return (0.0, 0.0, FORWARD * _smooth(u))


def _dolly_out(u: float) -> tuple[float, float, float]:
    return (0.0, 0.0, -BACKWARD * _smooth(u))


def _swing(u: float) -> tuple[float, float, float]:
    return (LATERAL * math.sin(2 * math.pi * u), 0.0, 0.0)


def _up_down(u: float) -> tuple[float, float, float]:
    return (0.0, LATERAL * 0.8 * math.sin(2 * math.pi * u), 0.0)


def _circle(u: float) -> tuple[float, float, float]:
    # A circle of radius 0.7·LATERAL through the source pose, so frame 0 is the photo's own viewpoint.
    a = 2 * math.pi * u
    r = 0.7 * LATERAL
    return (r * math.sin(a), r * (math.cos(a) - 1), 0.0)


PRESET_OFFSETS: dict[str, Callable[[float], tuple[float, float, float]]] = {
    "static": _static,
    "zoom-in": _zoom_in,
    "dolly-out": _dolly_out,
    "swing": _swing,
    "up-down": _up_down,
    "circle": _circle,
    "orbit": _static,  # handled separately: rotation about a focus point
}
PRESETS = tuple(PRESET_OFFSETS)
PERIODIC = {"static", "swing", "up-down", "circle", "orbit"}


def trajectory_cameras(
    preset: str, num_frames: int, source_camera: Camera, depth_near: float, depth_focus: float
) -> list[Camera]:
    """``num_frames`` cameras along ``preset``. ``depth_focus`` is the depth the orbit turns around."""
    if preset not in PRESET_OFFSETS:
        raise ValueError(f"unknown trajectory {preset!r}; choose one of {', '.join(PRESETS)}")
    if num_frames < 1:
        raise ValueError(f"a trajectory needs at least one frame, got {num_frames}")
    denominator = num_frames if preset in PERIODIC else max(1, num_frames - 1)
    cameras = []
    for i in range(num_frames):
        u = i / denominator
        if preset == "orbit":
            world_to_camera = orbit_pose(u, depth_near, depth_focus)
        else:
            offset = torch.tensor(PRESET_OFFSETS[preset](u)) * depth_near
            world_to_camera = pose_world_to_camera(offset, torch.eye(3))
        cameras.append(source_camera.with_pose(world_to_camera @ source_camera.world_to_camera))
    return cameras


def orbit_pose(u: float, depth_near: float, depth_focus: float) -> torch.Tensor:
    """Camera on a horizontal arc around a point at ``depth_focus`` straight ahead, looking at it."""
    # Limit the arc so that near content moves no more than a swing would: lateral ≈ angle·focus ≤ 2·LATERAL·near.
    max_angle = min(math.radians(ORBIT_DEG), 2 * LATERAL * depth_near / max(depth_focus, 1e-6))
    angle = max_angle * math.sin(2 * math.pi * u)
    focus = torch.tensor([0.0, 0.0, depth_focus])
    position = focus + depth_focus * torch.tensor([-math.sin(angle), 0.0, -math.cos(angle)])
    return look_at(position, focus)


def extreme_view_poses(depth_near: float, depth_focus: float, scale: float, count: int) -> list[torch.Tensor]:
    """world_to_camera poses beyond the extremes of every preset, for the multi-view stage.

    The first poses cover the largest excursions (left/right, up/down, back, forward); more views add the
    diagonals and orbit ends, so a larger ``count`` covers the paths more densely.
    """
    a = LATERAL * depth_near * scale
    back = -BACKWARD * depth_near * scale
    translations = [
        (a, 0.0, 0.0),  # swing / circle extremes
        (-a, 0.0, 0.0),
        (0.0, -1.4 * a, 0.0),  # circle top, up-down
        (0.0, 0.8 * a, 0.0),
        (0.0, 0.0, back),  # dolly-out end
        (0.0, 0.0, FORWARD * depth_near * min(scale, 1.0)),  # zoom-in end (never past the nearest content)
    ]
    poses = [pose_world_to_camera(torch.tensor(c), torch.eye(3)) for c in translations]
    poses += [orbit_pose(0.25, depth_near * scale, depth_focus), orbit_pose(0.75, depth_near * scale, depth_focus)]
    # Half-way into the zoom: magnification reveals different cracks and slivers on the way than at its end.
    diagonals = [(0.0, 0.0, 0.6 * FORWARD * depth_near), (0.0, 0.0, 0.85 * FORWARD * depth_near), (0.7 * a, -0.7 * a, 0.0), (-0.7 * a, -0.7 * a, 0.0), (0.7 * a, 0.56 * a, 0.0),
                 (-0.7 * a, 0.56 * a, 0.0), (a, 0.0, back), (-a, 0.0, back)]
    poses += [pose_world_to_camera(torch.tensor(c), torch.eye(3)) for c in diagonals]
    return poses[: max(0, count)]


__all__ = ["PERIODIC", "PRESETS", "PRESET_OFFSETS", "extreme_view_poses", "orbit_pose", "trajectory_cameras"]
