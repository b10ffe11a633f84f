"""The one library entry point the CLI and the app share: photo → Scene4D (→ video via ``render.render_video``).

Stages run strictly one way: photo → regions, depth, 2D motion → views → Gaussians → 3D motion (+ backdrop)
→ colour fit → Scene4D. The fit only changes colours, so it runs last and sees exactly what t = 0 renders.
Regions, depth, inpainting, outpainting and 3D motion are swappable backends chosen by name in ``Settings``
(``landscape4d.backends``: registries and Protocols) or passed as instances in ``Backends``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .animate import (
    DEFAULT_FADE, SKY_ANCHOR_SIGMA, colour_shifts, cycle_reach, motion_groups, offsets_at, phase_offset_map,
    refine_colour_shifts, with_backdrop,
)
from .camera import Camera, identity_camera
from .backends import Backends, MotionInputs, resolve_backends
from .depth import estimate_depth, load_user_depth
from .fit import FitReport, fit_gaussians
from .flow2d import REGION_SKY, Arrow, Flow2D, crop_flow, motion_field
from .limits import check_scene_gaussians
from .photo import Photo, load_photo
from .regions import RegionMasks, apply_user_regions, estimate_regions, load_user_mask
from .scene import LAYER_BACKDROP, LAYER_BORDER, Scene4D, SceneMeta
from .settings import LOOP_FPS, Settings, default_long_side
from .trajectories import PRESETS, extreme_view_poses, trajectory_cameras
from .views import View, border_margins, border_view, gaussians_from_views, generate_views, source_view

BORDER_PATH_SAMPLES = 24  # cameras per preset path checked for how far they look past the photo's frame
ProgressFn = Callable[[int, int, str], None]  # (stage index from 1, stage count, description)
STAGES = (
    "Loading photo",
    "Estimating depth and motion regions",
    "Generating views",
    "Lifting motion to 3D",
    "Fitting Gaussians",
)


@dataclass
class UserEdits:
    """What a user may add: masks and depth as files or arrays, arrows in pixels of the original photo.

    ``sky`` / ``water`` are painted regions that move like the automatic ones (and win over them); ``moves`` adds
    regions with water-like default motion; ``freeze`` removes motion.
    """

    sky: str | Path | np.ndarray | None = None
    water: str | Path | np.ndarray | None = None
    moves: str | Path | np.ndarray | list[str | Path | np.ndarray] | None = None  # a list is OR-ed
    freeze: str | Path | np.ndarray | list[str | Path | np.ndarray] | None = None
    arrows: list[Arrow] = field(default_factory=list)
    depth: str | Path | np.ndarray | None = None


@dataclass
class SceneBuild:
    """The scene plus the intermediate maps (for previews, evaluation and debugging)."""

    scene: Scene4D
    photo: Photo
    depth_m: np.ndarray
    regions: RegionMasks
    flow: Flow2D
    views: list[View]
    fit: FitReport
    timings_s: dict[str, float]
    motion_inputs: MotionInputs | None = None  # what the 3D motion was solved from (evaluation re-solves it)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu")
    return torch.device(device)


def working_long_side(settings: Settings, device: torch.device) -> int:
    return settings.long_side or default_long_side(device.type)


def scene_depth_range(depth_m: np.ndarray, sky: np.ndarray) -> tuple[float, float, float]:
    """Robust (near, focus, far) depths of the non-sky content (the sky shell if there is nothing else)."""
    solid = depth_m[~sky] if (~sky).sum() > 0.01 * sky.size else depth_m.ravel()
    near, focus, far = np.percentile(solid, [1, 50, 99])
    return float(near), float(focus), float(far)


def mirror_pad(mask: np.ndarray | None, margins: tuple[int, int, int, int]) -> np.ndarray | None:
    """A photo-sized mask extended over the border ring (left, top, right, bottom) the way the default
    outpainter extends the photo: mirrored."""
    if mask is None or not any(margins):
        return mask
    left, top, right, bottom = margins
    return np.pad(mask, ((top, bottom), (left, right)), mode="reflect")


def edge_pad(values: np.ndarray, margins: tuple[int, int, int, int]) -> np.ndarray:
    """A photo-sized map extended over the border ring (left, top, right, bottom) by its edge values."""
    left, top, right, bottom = margins
    return np.pad(values, ((top, bottom), (left, right)), mode="edge") if any(margins) else values


def _union_of_masks(sources: object, shape: tuple[int, int]) -> np.ndarray | None:
    if sources is None:
        return None
    items = sources if isinstance(sources, (list, tuple)) else [sources]
    return np.logical_or.reduce([load_user_mask(item, shape) for item in items]) if items else None


def build(
    photo_source: str | Path | np.ndarray | Any,
    settings: Settings | None = None,
    edits: UserEdits | None = None,
    backends: Backends | None = None,
    progress: ProgressFn | None = None,
) -> SceneBuild:
    """Photo → Scene4D, keeping the intermediate maps."""
    settings = settings or Settings()
    edits = edits or UserEdits()
    chosen, backend_names = resolve_backends(settings, backends)
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    timings: dict[str, float] = {}
    report = progress or (lambda i, n, d: None)

    def stage(index: int) -> float:
        report(index, len(STAGES), STAGES[index - 1])
        return time.perf_counter()

    t = stage(1)
    photo = load_photo(photo_source, working_long_side(settings, device))
    height, width = photo.image.shape[:2]
    check_scene_gaussians(width, height, settings.num_views)  # limits.LIMITS.max_gaussians, before the heavy stages
    # User inputs are validated before any heavy work, with messages that name the input.
    moves = _union_of_masks(edits.moves, (height, width))
    freeze = _union_of_masks(edits.freeze, (height, width))
    sx, sy = width / photo.original_size[0], height / photo.original_size[1]
    arrows = [a.scaled(sx, sy) for a in edits.arrows]
    for original, arrow in zip(edits.arrows, arrows):
        if not (0 <= arrow.x0 < width and 0 <= arrow.y0 < height):
            raise ValueError(f"arrow start ({original.x0:.0f}, {original.y0:.0f}) lies outside the photo")
    timings["photo"] = time.perf_counter() - t

    t = stage(2)
    regions = apply_user_regions(estimate_regions(photo.image, chosen.regions), edits.sky, edits.water)
    if edits.depth is not None:
        depth_m = load_user_depth(edits.depth, (height, width), regions.sky)
        backend_names["depth"] = "user"
    else:
        depth_m = estimate_depth(photo.image, regions, chosen.depth)
    near, focus, far = scene_depth_range(depth_m, regions.sky)
    timings["depth_regions"] = time.perf_counter() - t

    t = stage(3)
    camera = identity_camera(width, height, settings.fov_deg)
    poses = extreme_view_poses(near, focus, settings.view_scale, settings.num_views)
    source = source_view(photo.image, depth_m, camera)
    # The photo's border ring reaches as far as any generated view or path camera looks past the frame.
    path_cameras = [c for preset in PRESETS for c in trajectory_cameras(preset, BORDER_PATH_SAMPLES, camera, near, focus)]
    margins = border_margins(camera, [camera.with_pose(p) for p in poses] + path_cameras, depth_m)
    border = border_view(source, margins, chosen.outpainter) if any(margins) else None
    views = generate_views(source, poses, chosen.inpainter, device, border)
    timings["views"] = time.perf_counter() - t

    t = stage(4)
    gaussians, origin = gaussians_from_views(views)
    layer = torch.tensor([view.layer for view in views], dtype=torch.int8)[origin.long()]
    # The 2D motion lives on the photo plus its border ring, so water and clouds run on past the frame's edge
    # (a moving camera sees them there) instead of stopping short of it.
    canvas = border or source
    left, top = (margins[0], margins[1]) if border is not None else (0, 0)
    # Each particle's copies stray from rest by its phase offset's reach (``cycle_reach``), not a whole cycle
    # each way: the taper and the path confinement leave it the speed that allows. Offsets of the border ring
    # are its edge's, as ``offsets_at`` clamps to the photo.
    groups = motion_groups(moves, regions.water, regions.sky)  # each region spreads its phases on its own
    offset_map = phase_offset_map(height, width, DEFAULT_FADE, settings.seed, groups)
    offset_canvas = edge_pad(offset_map, margins)
    reach_canvas = np.stack(cycle_reach(offset_canvas, DEFAULT_FADE), axis=-1)
    flow_canvas = motion_field(
        canvas.depth_m.shape, mirror_pad(regions.sky, margins), mirror_pad(regions.water, margins),
        settings.travel_frames, mirror_pad(moves, margins), mirror_pad(freeze, margins),
        [a.shifted(left, top) for a in arrows], settings.speed, canvas.image, reference_width=width, reach=reach_canvas,
    )
    flow = crop_flow(flow_canvas, top, left, height, width)
    # Motion needs only the positions, which fitting keeps; lifting first lets the fit see the backdrop layer.
    motion_inputs = MotionInputs(
        flow_canvas, canvas.depth_m, canvas.camera, [view for view in views[1:] if view.layer != LAYER_BORDER],
        [a.shifted(left, top) for a in arrows], settings.speed, width, device,
    )
    velocity = chosen.motion(gaussians.means, motion_inputs)
    gaussians, velocity = with_backdrop(gaussians, velocity, settings.travel_frames, camera)
    layer = torch.cat([layer, torch.full((len(gaussians) - len(layer),), LAYER_BACKDROP, dtype=torch.int8)])
    timings["motion"] = time.perf_counter() - t

    t = stage(5)
    gaussians, fit_report = fit_gaussians(gaussians, views[0], settings.fit_iters, settings.fit_lr, device)
    # Colour anchoring (the photo's own local means; a copy in the border ring takes the nearest edge's). The sky is
    # anchored only at a coarse scale: a cloud is its low-frequency colour, so anchoring it at the water's 5 px held
    # the cloud layer in place (a mountain stream's sky read at 0.76 of the asked speed).
    sky = flow.moving & (flow.region_id == REGION_SKY)
    water = flow.moving & ~sky
    sky_sigma_px = SKY_ANCHOR_SIGMA * max(width, height)
    scene = Scene4D(
        gaussians=gaussians,
        velocity=velocity,
        source_camera=camera,
        loop_frames=settings.loop_frames,
        loop_fps=LOOP_FPS,
        depth_near=near,
        depth_far=far,
        meta=SceneMeta.now(photo=photo.name, depth_focus=focus, settings=asdict(settings), backends=backend_names,
                           timings_s=timings, source_psnr_db=fit_report.source_psnr_db),
        layer=layer,
        cycles=settings.cycles,
        fade=DEFAULT_FADE,
        phase_offset=offsets_at(gaussians.means, camera, offset_map),
        colour_shift=colour_shifts(gaussians.means, velocity, settings.travel_frames, camera, photo.image, flow.moving,
                                   anchored=water)
        + colour_shifts(gaussians.means, velocity, settings.travel_frames, camera, photo.image, sky, sky_sigma_px,
                        anchored=sky),
    )
    scene.colour_shift = refine_colour_shifts(scene, water, device=device, coarse=sky, coarse_sigma_px=sky_sigma_px)
    timings["fit"] = time.perf_counter() - t  # the colour fit and both colour anchorings (meta shares this dict)
    return SceneBuild(scene, photo, depth_m, regions, flow, views, fit_report, timings, motion_inputs)


def build_scene(
    photo_source: str | Path | np.ndarray | Any,
    settings: Settings | None = None,
    edits: UserEdits | None = None,
    backends: Backends | None = None,
    progress: ProgressFn | None = None,
) -> Scene4D:
    """Photo → Scene4D (see ``build`` for the intermediate maps)."""
    return build(photo_source, settings, edits, backends, progress).scene


__all__ = ["build", "build_scene", "Backends", "MotionInputs", "UserEdits", "SceneBuild", "STAGES"]
