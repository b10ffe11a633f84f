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

from .camera import Camera, camera_to_pixels, pixels_to_camera, project_points, transform_points
from .gaussians import GaussianSet, gaussians_from_pixels
from .inpaint import ClassicInpainter, Inpainter
from .outpaint import MirrorOutpainter, Outpainter
from .raster import rasterize_gaussians
from .scene import LAYER_BORDER, LAYER_INPAINTED, LAYER_PHOTO

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


BORDER_PAD_PX = 4  # the border ring reaches this far beyond what any camera sees (a splat's footprint and more)
BORDER_MAX_FRACTION = 0.5  # ... but at most this fraction of the photo's long side on each side
BORDER_BAND_FRACTION = 0.125  # depths of this band along an edge decide how far that edge's ring must reach


def frustum_overflow(source: Camera, cameras: list[Camera], depths: np.ndarray, samples: int = 33) -> np.ndarray:
    """How far (px of the source image) each camera's frustum reaches outside the source frame at given depths.

    The rays through each camera's frame boundary (``samples`` points per edge) are cut at every source-camera
    z-depth of ``depths`` and projected into the source camera. Returns [4] (left, top, right, bottom) overflow,
    the maximum over cameras and depths (0 where the frustum stays inside).
    """
    overflow = np.zeros(4)
    for camera in cameras:
        t = np.linspace(0.0, 1.0, samples)
        w, h = float(camera.width), float(camera.height)
        edge = np.concatenate([np.stack([t * w, np.zeros_like(t)], -1), np.stack([t * w, np.full_like(t, h)], -1),
                               np.stack([np.zeros_like(t), t * h], -1), np.stack([np.full_like(t, w), t * h], -1)])
        directions_camera = pixels_to_camera(edge, 1.0, camera.K.double().numpy())  # rays at unit z-depth
        to_source = (source.world_to_camera.double() @ camera.camera_to_world.double()).numpy()
        origin = to_source[:3, 3]
        directions = directions_camera @ to_source[:3, :3].T
        forward = directions[:, 2] > 1e-9
        for z in np.asarray(depths, np.float64):
            scale = (z - origin[2]) / np.where(forward, directions[:, 2], 1.0)
            valid = forward & (scale > 0)
            if not valid.any():
                continue
            points = origin + directions[valid] * scale[valid, None]
            uv, _ = camera_to_pixels(points, source.K.double().numpy())  # ``points`` are in the source frame
            u, v = uv[:, 0], uv[:, 1]
            reach = np.array([-u.min(), -v.min(), u.max() - source.width, v.max() - source.height])
            overflow = np.maximum(overflow, reach)
    return overflow


def border_margins(
    source: Camera, cameras: list[Camera], depth_m: np.ndarray, pad_px: int = BORDER_PAD_PX, max_fraction: float = BORDER_MAX_FRACTION
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) widths in px of the border ring that every camera of ``cameras`` needs.

    Each side is judged at the depths found along that edge of the photo (a band of ``BORDER_BAND_FRACTION`` of
    the size, from its nearest to its farthest depth, sky included): the ring mirrors that content, so a lateral
    or backward camera sees the ring at those depths. Each margin is that overflow + ``pad_px``, at most
    ``max_fraction`` of the photo's long side (a panorama looks as far past its top and bottom as past its sides:
    the overflow grows with the focal length); 0 when no camera looks past that side.
    """
    height, width = depth_m.shape
    band_x, band_y = max(2, round(BORDER_BAND_FRACTION * width)), max(2, round(BORDER_BAND_FRACTION * height))
    bands = (depth_m[:, :band_x], depth_m[:band_y], depth_m[:, -band_x:], depth_m[-band_y:])
    margins = []
    for side, band in enumerate(bands):
        depths = np.geomspace(max(float(band.min()), 1e-6), max(float(band.max()), 1e-6), 6)
        reach = frustum_overflow(source, cameras, depths)[side]
        limit = int(max_fraction * max(width, height))
        margins.append(0 if reach <= 0 else min(limit, int(np.ceil(reach - 1e-6)) + pad_px))
    return tuple(margins)  # type: ignore[return-value]


def border_view(source: View, margins: tuple[int, int, int, int], outpainter: Outpainter | None = None) -> View:
    """The photo on a canvas padded by ``margins`` (left, top, right, bottom) with the ring outpainted.

    Same focal length and pose as the source; the principal point moves by the left/top margins. ``new_content``
    is the ring only and its Gaussians form the scene's border layer.
    """
    left, top, right, bottom = margins
    height, width = source.depth_m.shape
    canvas_h, canvas_w = height + top + bottom, width + left + right
    known = np.zeros((canvas_h, canvas_w), bool)
    known[top : top + height, left : left + width] = True
    image = np.zeros((canvas_h, canvas_w, 3), np.float32)
    depth = np.ones((canvas_h, canvas_w), np.float32)
    image[known] = source.image.reshape(-1, 3)
    depth[known] = source.depth_m.reshape(-1)
    image, depth = (outpainter or MirrorOutpainter())(image, depth, known)
    if not np.array_equal(image[known].reshape(source.image.shape), source.image):
        raise ValueError("the outpainter changed the photo's own pixels")
    K = source.camera.K.clone()
    K[0, 2] += left
    K[1, 2] += top
    camera = Camera(K, source.camera.world_to_camera, canvas_w, canvas_h)
    return View(camera, image.astype(np.float32), np.maximum(depth, 1e-6).astype(np.float32), ~known, LAYER_BORDER)


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
    border: View | None = None,
) -> list[View]:
    """The source view, the ``border`` view if given (``border_view``: the photo's outpainted ring, which the
    generated views then see past the frame), and one inpainted view per pose (same intrinsics and size as the
    source)."""
    inpainter = inpainter or ClassicInpainter()
    views = [source] + ([border] if border is not None else [])
    # Each view's Gaussians are made once and kept: a new pose renders everything added so far (linear in views).
    parts = [view_gaussians(views, index) for index in range(len(views))]
    for world_to_camera in poses_world_to_camera:
        camera = source.camera.with_pose(world_to_camera)
        image, depth_m, alpha = render_rgbd(GaussianSet.concat([p for p in parts if p is not None]), camera, device)
        # Every under-covered pixel gets content: thin slivers at depth edges are disocclusions too.
        hole = alpha < HOLE_ALPHA
        image, depth_m = inpainter(image, depth_m, hole)
        views.append(View(camera, image, depth_m, hole))
        parts.append(view_gaussians(views, len(views) - 1))
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


def view_gaussians(views: list[View], index: int) -> GaussianSet | None:
    """Per-pixel Gaussians of ``views[index]``'s new content (None if it has none); content of generated views is
    pushed behind the photo's surface (``views[0]``)."""
    view = views[index]
    if not view.new_content.any():
        return None
    part = gaussians_from_pixels(view.image, view.depth_m, view.camera.K, view.camera.camera_to_world, view.new_content)
    if index > 0:
        means = push_behind_source(part.means, views[0])
        # Keep the footprint in proportion to the new distance from the view that made it.
        part = part.replace(means=means, scales=part.scales * (means.norm(dim=-1) / part.means.norm(dim=-1).clamp_min(1e-9))[:, None])
    return part


def gaussians_from_views(views: list[View]) -> tuple[GaussianSet, torch.Tensor]:
    """Per-pixel Gaussians of every view's new content, and [N] int view index of each (0 = source)."""
    parts, origin = [], []
    for index in range(len(views)):
        part = view_gaussians(views, index)
        if part is not None:
            parts.append(part)
            origin.append(torch.full((len(part),), index, dtype=torch.int32))
    return GaussianSet.concat(parts), torch.cat(origin)
