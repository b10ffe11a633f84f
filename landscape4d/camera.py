"""Cameras and the project's coordinate conventions (written once, used everywhere).

Conventions
-----------
* Camera frame: OpenCV — x right, y down, z forward. Pixel centres sit at (u + 0.5, v + 0.5).
* World frame: the input photo's camera at t = 0 (so its ``world_to_camera`` is the identity).
* ``world_to_camera``: 4×4 rigid transform (what gsplat calls a viewmat). ``camera_to_world`` is its inverse.
* ``K``: 3×3 intrinsics in pixels of the *working* image.
* Depth (``depth_m``): distance along the camera z axis in scene units. Sky gets a finite far value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

DEFAULT_FOV_DEG = 60.0  # horizontal field of view when the user gives none (typical phone/landscape lens)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: intrinsics ``K`` [3,3], pose ``world_to_camera`` [4,4], image size in pixels."""

    K: torch.Tensor
    world_to_camera: torch.Tensor
    width: int
    height: int

    @property
    def camera_to_world(self) -> torch.Tensor:
        return torch.linalg.inv(self.world_to_camera)

    @property
    def position_world(self) -> torch.Tensor:
        return self.camera_to_world[:3, 3]

    def with_pose(self, world_to_camera: torch.Tensor) -> "Camera":
        return Camera(self.K, world_to_camera.to(self.K), self.width, self.height)


def intrinsics_from_fov(width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG) -> torch.Tensor:
    """K for a horizontal field of view ``fov_deg`` with the principal point at the image centre."""
    if not 1.0 <= fov_deg <= 170.0:
        raise ValueError(f"field of view must be between 1 and 170 degrees, got {fov_deg}")
    focal_px = 0.5 * width / math.tan(math.radians(fov_deg) / 2.0)
    return torch.tensor(
        [[focal_px, 0.0, width / 2.0], [0.0, focal_px, height / 2.0], [0.0, 0.0, 1.0]], dtype=torch.float32
    )


def identity_camera(width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG) -> Camera:
    """The input photo's camera: world frame = camera frame."""
    return Camera(intrinsics_from_fov(width, height, fov_deg), torch.eye(4), width, height)


def pixel_grid(width: int, height: int) -> np.ndarray:
    """Pixel-centre coordinates [H,W,2] (u, v) as float32."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float32) + 0.5, np.arange(height, dtype=np.float32) + 0.5)
    return np.stack([u, v], axis=-1)


def unproject_depth(depth_m: np.ndarray, K: np.ndarray | torch.Tensor) -> np.ndarray:
    """Camera-frame points [H,W,3] of every pixel centre of a z-depth map [H,W]."""
    K = np.asarray(K, dtype=np.float64)
    height, width = depth_m.shape
    uv = pixel_grid(width, height)
    x = (uv[..., 0] - K[0, 2]) / K[0, 0] * depth_m
    y = (uv[..., 1] - K[1, 2]) / K[1, 1] * depth_m
    return np.stack([x, y, depth_m], axis=-1).astype(np.float32)


def sample_bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Sample [H,W] or [H,W,C] at continuous pixel coordinates uv [N,2] (centres at +0.5), clamped to the edge."""
    image = np.asarray(image, np.float64)
    height, width = image.shape[:2]
    x = np.clip(uv[:, 0] - 0.5, 0, width - 1)
    y = np.clip(uv[:, 1] - 0.5, 0, height - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    wx, wy = x - x0, y - y0
    if image.ndim == 3:
        wx, wy = wx[:, None], wy[:, None]
    top = image[y0, x0] * (1 - wx) + image[y0, x1] * wx
    bottom = image[y1, x0] * (1 - wx) + image[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def transform_points(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply a 4×4 rigid transform to points [..., 3]."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def project_points(points_world: torch.Tensor, camera: Camera) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates [N,2] (continuous, pixel centres at +0.5) and camera-frame z [N] of world points."""
    points_camera = transform_points(points_world, camera.world_to_camera.to(points_world))
    z = points_camera[:, 2]
    K = camera.K.to(points_world)
    safe_z = torch.where(z.abs() < 1e-8, torch.full_like(z, 1e-8), z)
    u = K[0, 0] * points_camera[:, 0] / safe_z + K[0, 2]
    v = K[1, 1] * points_camera[:, 1] / safe_z + K[1, 2]
    return torch.stack([u, v], dim=-1), z


def look_at(position_world: torch.Tensor, target_world: torch.Tensor, up_world: torch.Tensor | None = None) -> torch.Tensor:
    """world_to_camera of a camera at ``position_world`` looking at ``target_world`` (OpenCV axes, y down)."""
    if up_world is None:
        up_world = torch.tensor([0.0, -1.0, 0.0])  # world y points down, so "up" is −y
    forward = target_world - position_world
    forward = forward / forward.norm()
    right = torch.linalg.cross(forward, up_world.to(forward))
    right = right / right.norm()
    down = torch.linalg.cross(forward, right)
    rotation_camera_to_world = torch.stack([right, down, forward], dim=1)
    camera_to_world = torch.eye(4)
    camera_to_world[:3, :3] = rotation_camera_to_world
    camera_to_world[:3, 3] = position_world
    return torch.linalg.inv(camera_to_world)


def rotation_matrix(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> torch.Tensor:
    """3×3 rotation (camera-to-world) for yaw about y, pitch about x, roll about z, in OpenCV axes."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    ry = torch.tensor([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = torch.tensor([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = torch.tensor([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return (ry @ rx @ rz).float()


def pose_world_to_camera(position_world: torch.Tensor, rotation_camera_to_world: torch.Tensor) -> torch.Tensor:
    """world_to_camera from a camera position and orientation given in the world frame."""
    camera_to_world = torch.eye(4)
    camera_to_world[:3, :3] = rotation_camera_to_world
    camera_to_world[:3, 3] = position_world
    return torch.linalg.inv(camera_to_world)
