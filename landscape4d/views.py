"""Multi-view generation: render the photo's RGB-D point cloud from new cameras and inpaint what they reveal.

Views are built one after another (as LucidDreamer does): each view is rendered from the source pixels plus the
content already added by earlier views, so a disocclusion is inpainted once and every later view agrees with it.
A view's ``new_content`` pixels are exactly those it contributed; the Gaussian stage lifts them to a background
layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .camera import Camera, project_points, transform_points
from .gaussians import GaussianSet, gaussians_from_pixels
from .inpaint import ClassicInpainter, Inpainter
from .raster import rasterize_gaussians
from .scene import LAYER_INPAINTED, LAYER_PHOTO

HOLE_ALPHA = 0.95  # a pixel is a hole if the existing Gaussians cover less than this


@dataclass
class View:
    camera: Camera
    image: np.ndarray  # [H,W,3] float32 RGB in [0,1]
    depth_m: np.ndarray  # [H,W] z-depth in this view's camera frame
    new_content: np.ndarray  # [H,W] bool: pixels this view inpainted (seen by no earlier view)
    layer: int = LAYER_INPAINTED  # scene.LAYER_* of the Gaussians made from ``new_content``


def source_view(image: np.ndarray, depth_m: np.ndarray, camera: Camera) -> View:
    return View(camera, image.astype(np.float32), depth_m.astype(np.float32), np.ones(depth_m.shape, bool), LAYER_PHOTO)


def render_rgbd(
    gaussians: GaussianSet, camera: Camera, device: torch.device | str = "cpu"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Un-premultiplied colour [H,W,3], z-depth [H,W] and coverage [H,W] of a set seen from ``camera``."""
    with torch.no_grad():
        out = rasterize_gaussians(gaussians.to(device), camera)
    alpha = out.alpha.cpu().numpy()
    safe = np.maximum(alpha, 1e-6)
    image = np.clip(out.rgb.cpu().numpy() / safe[..., None], 0.0, 1.0)
    depth = out.depth.cpu().numpy() / safe
    return image.astype(np.float32), depth.astype(np.float32), alpha


def generate_views(
    source: View,
    poses_world_to_camera: list[torch.Tensor],
    inpainter: Inpainter | None = None,
    device: torch.device | str = "cpu",
) -> list[View]:
    """The source view followed by one inpainted view per pose (same intrinsics and size as the source)."""
    inpainter = inpainter or ClassicInpainter()
    views = [source]
    for world_to_camera in poses_world_to_camera:
        camera = source.camera.with_pose(world_to_camera)
        image, depth_m, alpha = render_rgbd(gaussians_from_views(views)[0], camera, device)
        # Every under-covered pixel gets content: thin slivers at depth edges are disocclusions too.
        hole = alpha < HOLE_ALPHA
        image, depth_m = inpainter(image, depth_m, hole)
        views.append(View(camera, image, depth_m, hole))
    return views


BEHIND_MARGIN = 1.03  # added content sits at least this factor behind the photo's surface along its ray


def push_behind_source(means_world: torch.Tensor, source: View) -> torch.Tensor:
    """Move points that project into the photo in front of its surface back along their ray, behind it.

    The photo shows the first surface along every ray of the source camera, so content added for other views
    may only lie behind it; otherwise inpainting errors would show up as speckles in the photo's own view.
    """
    points_camera = transform_points(means_world, source.camera.world_to_camera)
    uv, z = project_points(means_world, source.camera)
    height, width = source.depth_m.shape
    inside = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)
    cols = uv[:, 0].clamp(0, width - 1).long()
    rows = uv[:, 1].clamp(0, height - 1).long()
    surface = torch.from_numpy(source.depth_m)[rows, cols]
    factor = torch.where(inside, (BEHIND_MARGIN * surface / z.clamp_min(1e-9)).clamp_min(1.0), torch.ones_like(z))
    return transform_points(points_camera * factor[:, None], source.camera.camera_to_world)


def gaussians_from_views(views: list[View]) -> tuple[GaussianSet, torch.Tensor]:
    """Per-pixel Gaussians of every view's new content, and [N] int view index of each (0 = source)."""
    parts, origin = [], []
    for index, view in enumerate(views):
        if view.new_content.any():
            part = gaussians_from_pixels(view.image, view.depth_m, view.camera.K, view.camera.camera_to_world, view.new_content)
            if index > 0:
                means = push_behind_source(part.means, views[0])
                # Keep the footprint in proportion to the new distance from the view that made it.
                part = part.replace(means=means, scales=part.scales * (means.norm(dim=-1) / part.means.norm(dim=-1).clamp_min(1e-9))[:, None])
            parts.append(part)
            origin.append(torch.full((len(part),), index, dtype=torch.int32))
    return GaussianSet.concat(parts), torch.cat(origin)
