"""Cameras and the project's coordinate conventions (written once, used everywhere).

Conventions
-----------
* Camera frame: OpenCV — x right, y down, z forward. Pixel centres sit at (u + 0.5, v + 0.5).
* World frame: the input photo's camera at t = 0 (so its ``world_to_camera`` is the identity).
* ``world_to_camera``: 4×4 rigid transform (what gsplat calls a viewmat). ``camera_to_world`` is its inverse.
* ``K``: 3×3 intrinsics in pixels of the *working* image.
* Depth (``depth_m``): distance along the camera z axis in scene units. Sky gets a finite far value.

Arrays
------
Every geometry function here takes NumPy arrays or torch tensors and returns the kind its first (main) argument
is: torch results keep that tensor's dtype and device (matrices such as ``K`` are moved to it) and stay
differentiable; NumPy results are float64 (the precision the NumPy callers want for geometry). This is the one
place the pinhole maths is written; the rest of the project calls :func:`project` / :func:`unproject` (or the
camera-frame halves :func:`camera_to_pixels` / :func:`pixels_to_camera`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import numpy as np
import torch

DEFAULT_FOV_DEG = 60.0  # horizontal field of view when the user gives none (typical phone/landscape lens)
MIN_ABS_Z = 1e-8  # |z| below this is replaced by it before dividing, so points on the camera plane stay finite

Array = Union[np.ndarray, torch.Tensor]
ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


# ---------------------------------------------------------------------------------------------------------------
# NumPy / torch plumbing: the formulas below use only operators both libraries share, plus these few calls.


def as_like(value: Any, like: ArrayT) -> ArrayT:
    """``value`` (array, tensor or nested list) as the kind of ``like``: a tensor with its dtype and device, or a
    float64 NumPy array."""
    if isinstance(like, torch.Tensor):
        if isinstance(value, torch.Tensor):
            return value.to(device=like.device, dtype=like.dtype)
        return torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _as_array(value: Any) -> Array:
    """Tensors stay as they are; anything else becomes a float64 NumPy array."""
    return value if isinstance(value, torch.Tensor) else np.asarray(value, dtype=np.float64)


def _stack(values: list, axis: int, like: Array) -> Array:
    return torch.stack(values, axis) if isinstance(like, torch.Tensor) else np.stack(values, axis)


def _where(condition: Array, value: float, otherwise: Array) -> Array:
    return torch.where(condition, value, otherwise) if isinstance(otherwise, torch.Tensor) else np.where(condition, value, otherwise)


def _inv(matrix: Array) -> Array:
    return torch.linalg.inv(matrix) if isinstance(matrix, torch.Tensor) else np.linalg.inv(matrix)


# ---------------------------------------------------------------------------------------------------------------
# Camera


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: intrinsics ``K`` [3,3], pose ``world_to_camera`` [4,4], image size in pixels.

    The pipeline keeps torch tensors here; NumPy arrays work as well (every function of this module takes both).
    """

    K: torch.Tensor | np.ndarray
    world_to_camera: torch.Tensor | np.ndarray
    width: int
    height: int

    @property
    def camera_to_world(self) -> torch.Tensor | np.ndarray:
        return invert_pose(self.world_to_camera)

    @property
    def position_world(self) -> torch.Tensor | np.ndarray:
        return self.camera_to_world[:3, 3]

    def with_pose(self, world_to_camera: torch.Tensor | np.ndarray) -> "Camera":
        """The same camera at another pose (converted to the kind, dtype and device of ``K``)."""
        return Camera(self.K, as_like(world_to_camera, self.K), self.width, self.height)


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


# ---------------------------------------------------------------------------------------------------------------
# Pinhole projection


def pixel_grid(width: int, height: int) -> np.ndarray:
    """Pixel-centre coordinates [H,W,2] (u, v) as float32."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float32) + 0.5, np.arange(height, dtype=np.float32) + 0.5)
    return np.stack([u, v], axis=-1)


def transform_points(points: ArrayT, matrix: Array) -> ArrayT:
    """Apply a 4×4 rigid transform to points [..., 3] (``matrix`` is converted to the kind of ``points``)."""
    points = _as_array(points)
    matrix = as_like(matrix, points)
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def camera_to_pixels(points_camera: ArrayT, K: Array) -> tuple[ArrayT, ArrayT]:
    """Pixel coordinates [..., 2] (continuous, pixel centres at +0.5) and z [...] of camera-frame points [..., 3].

    Points behind the camera still get (mirrored) coordinates; callers mask them with ``z > 0``.
    """
    points_camera = _as_array(points_camera)
    K = as_like(K, points_camera)
    x, y, z = points_camera[..., 0], points_camera[..., 1], points_camera[..., 2]
    safe_z = _where(abs(z) < MIN_ABS_Z, MIN_ABS_Z, z)
    u = K[0, 0] * x / safe_z + K[0, 2]
    v = K[1, 1] * y / safe_z + K[1, 2]
    return _stack([u, v], -1, points_camera), z


def pixels_to_camera(uv_px: ArrayT, depth_m: Array | float, K: Array) -> ArrayT:
    """Camera-frame points [..., 3] of pixel coordinates [..., 2] (centres at +0.5) at z-depths [...]."""
    uv_px = _as_array(uv_px)
    K = as_like(K, uv_px)
    # A scalar depth (or one per row) is broadcast to every pixel, so it can be stacked as the z coordinate.
    z = as_like(depth_m, uv_px)
    z = torch.broadcast_to(z, uv_px.shape[:-1]) if isinstance(z, torch.Tensor) else np.broadcast_to(z, uv_px.shape[:-1])
    x = (uv_px[..., 0] - K[0, 2]) / K[0, 0] * z
    y = (uv_px[..., 1] - K[1, 2]) / K[1, 1] * z
    return _stack([x, y, z], -1, uv_px)


def project(points_world: ArrayT, K: Array, world_to_camera: Array) -> tuple[ArrayT, ArrayT]:
    """Pixel coordinates [..., 2] (centres at +0.5) and camera z [...] of world points [..., 3]."""
    return camera_to_pixels(transform_points(points_world, world_to_camera), K)


def unproject(uv_px: ArrayT, depth_m: Array | float, K: Array, world_to_camera: Array | None = None) -> ArrayT:
    """Points [..., 3] of pixels uv [..., 2] at camera z-depths [...]: world points when ``world_to_camera`` is
    given, camera-frame points otherwise."""
    points_camera = pixels_to_camera(uv_px, depth_m, K)
    if world_to_camera is None:
        return points_camera
    return transform_points(points_camera, invert_pose(as_like(world_to_camera, points_camera)))


def project_points(points_world: ArrayT, camera: Camera) -> tuple[ArrayT, ArrayT]:
    """Pixel coordinates [N,2] (continuous, pixel centres at +0.5) and camera-frame z [N] of world points.

    ``camera`` is anything with ``K`` and ``world_to_camera`` (a :class:`Camera`, the exporters' ``ViewerCamera``).
    """
    return project(points_world, camera.K, camera.world_to_camera)


def unproject_depth(depth_m: ArrayT, K: Array) -> ArrayT:
    """Camera-frame points [H,W,3] of every pixel centre of a z-depth map [H,W].

    NumPy depth gives float32 points (the size of a depth map adds up); a tensor gives its own dtype and device.
    """
    height, width = depth_m.shape
    if isinstance(depth_m, torch.Tensor):
        return pixels_to_camera(as_like(pixel_grid(width, height), depth_m), depth_m, K)
    return pixels_to_camera(pixel_grid(width, height), depth_m, K).astype(np.float32)


def sample_bilinear(image: np.ndarray | torch.Tensor, uv: ArrayT) -> ArrayT:
    """Sample [H,W] or [H,W,C] at continuous pixel coordinates uv [N,2] (centres at +0.5), clamped to the edge.

    A tensor ``uv`` samples on its device (the image moved there, in ``uv``'s dtype); NumPy samples in float64."""
    if isinstance(uv, torch.Tensor):
        image = torch.as_tensor(image).to(device=uv.device, dtype=uv.dtype)
        clip, index = torch.clamp, lambda v: v.floor().long()
    else:
        image, uv = np.asarray(image, np.float64), np.asarray(uv, np.float64)
        clip, index = np.clip, lambda v: np.floor(v).astype(np.int64)
    height, width = image.shape[:2]
    x = clip(uv[:, 0] - 0.5, 0, width - 1)
    y = clip(uv[:, 1] - 0.5, 0, height - 1)
    x0, y0 = index(x), index(y)
    x1, y1 = clip(x0 + 1, 0, width - 1), clip(y0 + 1, 0, height - 1)
    wx, wy = x - x0, y - y0
    if image.ndim == 3:
        wx, wy = wx[:, None], wy[:, None]
    top = image[y0, x0] * (1 - wx) + image[y0, x1] * wx
    bottom = image[y1, x0] * (1 - wx) + image[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


# ---------------------------------------------------------------------------------------------------------------
# Poses


def invert_pose(matrix: ArrayT) -> ArrayT:
    """Inverse of a 4×4 transform (``world_to_camera`` ↔ ``camera_to_world``)."""
    return _inv(_as_array(matrix))


def pose_world_to_camera(position_world: ArrayT, rotation_camera_to_world: Array) -> ArrayT:
    """world_to_camera from a camera position and orientation given in the world frame."""
    position_world = _as_array(position_world)
    rotation = as_like(rotation_camera_to_world, position_world)
    # Built by stacking (no in-place writes) so gradients reach the position and rotation.
    bottom = as_like([[0.0, 0.0, 0.0, 1.0]], position_world)
    top = _stack([rotation[:, 0], rotation[:, 1], rotation[:, 2], position_world], 1, position_world)
    camera_to_world = torch.cat([top, bottom]) if isinstance(top, torch.Tensor) else np.concatenate([top, bottom])
    return invert_pose(camera_to_world)


def look_at(position_world: ArrayT, target_world: Array, up_world: Array | None = None) -> ArrayT:
    """world_to_camera of a camera at ``position_world`` looking at ``target_world`` (OpenCV axes, y down)."""
    position_world = _as_array(position_world)
    target_world = as_like(target_world, position_world)
    # World y points down, so "up" is −y.
    up_world = as_like([0.0, -1.0, 0.0] if up_world is None else up_world, position_world)
    cross = torch.linalg.cross if isinstance(position_world, torch.Tensor) else np.cross
    norm = torch.linalg.norm if isinstance(position_world, torch.Tensor) else np.linalg.norm
    forward = target_world - position_world
    forward = forward / norm(forward)
    right = cross(forward, up_world)
    right = right / norm(right)
    down = cross(forward, right)
    rotation_camera_to_world = _stack([right, down, forward], 1, position_world)
    return pose_world_to_camera(position_world, rotation_camera_to_world)


def rotation_matrix(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> torch.Tensor:
    """3×3 rotation (camera-to-world) for yaw about y, pitch about x, roll about z, in OpenCV axes (float32 tensor;
    ``.numpy()`` it for NumPy callers)."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    ry = torch.tensor([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = torch.tensor([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = torch.tensor([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return (ry @ rx @ rz).float()
