"""Measure one built scene (``pipeline.SceneBuild``) with the metrics of :mod:`.metrics`.

Everything here renders with the library's own rasterizer (``raster.rasterize_gaussians``) at loop states equal to
``animate.LoopStates`` and hands plain arrays to the metric functions. ``evaluate_photo`` builds and measures one photo; ``real_video_check`` compares the
static-camera animation of a clip's first frame with the clip itself.
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..animate import LoopStates
from . import metrics as M

CONTACT_TRAJECTORIES = ("dolly-out", "orbit", "up-down", "circle", "zoom-in")  # paths shown on a contact sheet
SEAM_EXTRA_TRAJECTORY = "swing"  # the seam is also checked from this path's most lateral camera
FLICKER_TRAJECTORY = "circle"  # the CLI's default path
FLICKER_ORBIT_TRAJECTORY = "orbit"  # the widest swing around the scene: views' motions must agree most there


@dataclass(frozen=True)
class EvalConfig:
    """How much to render per photo (the report header quotes these numbers)."""

    trajectory_frames: int = 16  # frames sampled along each preset path (for holes and PIQE)
    video_seconds: float = 4.0  # the path lasts this long (the CLI default) ...
    video_fps: float = 24.0  # ... at this frame rate (flicker uses consecutive frames at this rate)
    static_samples: int = 12  # phases k = j·T/12 of one cross-fade cycle T = N/cycles, input camera (static, ghosting)
    flicker_frames: int = 8  # consecutive frames per flicker run; two runs (start and middle of the path)
    margin_px: int = 4  # motion regions are dilated (static stability) or eroded (motion metrics) by this
    adherence_target_px: float = 2.0  # frame gap for motion adherence: median requested motion ≈ this many px
    adherence_max_gap: float = 1 / 6  # ... but at most this fraction of the loop (the cross-fade stays small)
    adherence_phases: int = 6  # start phases k0 = j·T/6 over one cross-fade cycle T, pooled (one phase alone is luck)
    readable_tolerance: float = 0.25  # a pixel is readable where DIS reads the exact warp within ±25 % of its speed
    readable_min_pixels: int = 50  # fewer readable pixels than this: no speed ratio (the instrument cannot judge)
    depth_tolerance: float = 0.03  # visibility test of the multi-view EPE (relative depth)
    moved_depth: str = "keep"  # how the multi-view EPE lifts a moved pixel (see metrics.carry_flow_to_source)
    reference_masks: tuple[str, ...] = ()  # extra folders with <stem>_fluid_mask.png (see eval.regions)


@dataclass
class PhotoResult:
    name: str
    width: int = 0
    height: int = 0
    gaussians: int = 0
    moving_gaussians: int = 0
    moving_share: float = float("nan")  # share of source pixels in the motion regions
    values: dict[str, float] = field(default_factory=dict)  # metric name → value (see report.MAIN_COLUMNS / EXTRA_KEYS)
    holes: dict[str, tuple[float, float]] = field(default_factory=dict)  # trajectory → (mean, worst) fraction
    edge: dict[str, tuple[float, float]] = field(default_factory=dict)  # trajectory → (mean, worst) edge-of-world share
    timings_s: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = float("nan")
    error: str | None = None
    sheet_frames: dict[str, Any] = field(default_factory=dict)  # images for the contact sheet (not reported)


# ---------------------------------------------------------------------------------------------------------------
# Rendering helpers


def share_cores(jobs: int) -> None:
    """Worker initializer of ``--jobs``: each of ``jobs`` concurrent photos gets its share of the cores (torch and
    OpenCV would each start one thread per core in every process). Lives here, not in ``__main__``: a spawned
    worker imports it by name."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    try:  # numba's parallel kernels (the CPU colour fit) start their own pool
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


class Renderer:
    """Renders (scene, camera, loop phase) → (uint8 RGB, alpha) and keeps the total render time."""

    def __init__(self, scene: Any) -> None:
        self.scene = scene
        self.states = LoopStates(scene)
        # Renders go through gsplat where CUDA is present (the loop state is laid out on the CPU).
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.seconds = 0.0
        self.count = 0
        self._provenance_states: LoopStates | None = None

    def __call__(self, camera: Any, phase: float) -> tuple[np.ndarray, np.ndarray]:
        from ..raster import rasterize_gaussians
        from ..render import to_uint8

        start = time.perf_counter()
        with torch.no_grad():
            out = rasterize_gaussians(self.states(phase).to(self.device), camera)
        self.seconds += time.perf_counter() - start
        self.count += 1
        return to_uint8(out), out.alpha.cpu().numpy().astype(np.float64)

    def at_time(self, camera: Any, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        from ..animate import phase_at

        return self(camera, phase_at(self.scene, time_s))

    def provenance(self, camera: Any, phase: float) -> np.ndarray:
        """[H,W] share of each pixel's colour that comes from the photo or its border (see ``provenance_scene``)."""
        from ..raster import rasterize_gaussians

        if self._provenance_states is None:
            self._provenance_states = LoopStates(provenance_scene(self.scene))
        start = time.perf_counter()
        with torch.no_grad():
            out = rasterize_gaussians(self._provenance_states(phase).to(self.device), camera)
        self.seconds += time.perf_counter() - start
        self.count += 1
        alpha = out.alpha.cpu().numpy().astype(np.float64)
        return out.rgb[..., 0].cpu().numpy().astype(np.float64) / np.maximum(alpha, 1e-6)

    def edge_of_world(self, camera: Any, time_s: float, frame: np.ndarray, alpha: np.ndarray) -> float:
        """``metrics.edge_of_world_share`` of ``frame`` (rendered from ``camera`` at ``time_s``)."""
        from ..animate import phase_at

        return M.edge_of_world_share(frame, self.provenance(camera, phase_at(self.scene, time_s)), alpha)


SEEN_LAYERS = ("photo", "border", "backdrop")  # scene.LAYER_NAMES whose content counts as seen by the photo


def provenance_scene(scene: Any) -> Any:
    """The scene with every Gaussian coloured 1 (white) if it shows the photo, its outpainted border or the static
    backdrop under moving content (a softer copy of the moving photo Gaussians; it shows through while they
    cross-fade), and 0 otherwise (inpainted disocclusions); all white when the scene has no layers."""
    import dataclasses

    from ..scene import LAYER_NAMES

    g = scene.gaussians
    if scene.layer is None:
        seen = torch.ones(len(g), dtype=g.colors.dtype)
    else:
        codes = [code for code, name in LAYER_NAMES.items() if name in SEEN_LAYERS]
        seen = torch.isin(scene.layer.long(), torch.tensor(codes)).to(g.colors.dtype)
    return dataclasses.replace(scene, gaussians=g.replace(colors=seen[:, None].expand(-1, 3).contiguous()),
                               colour_shift=None)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _disk(radius)).astype(bool) if radius > 0 else mask.copy()


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), _disk(radius), borderType=cv2.BORDER_REPLICATE).astype(bool) if radius > 0 else mask.copy()


def render_blended(gaussians: Any, camera: Any, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-Gaussian ``values`` [N,3] rendered as colour by ``camera`` and divided by the accumulated opacity:
    (blended values [H,W,3], z-depth [H,W], alpha [H,W]), the blend a pixel of the video shows."""
    from ..raster import rasterize_gaussians

    with torch.no_grad():
        out = rasterize_gaussians(gaussians.replace(colors=torch.from_numpy(values.astype(np.float32))), camera)
    alpha = out.alpha.numpy().astype(np.float64)
    safe = np.maximum(alpha, 1e-6)
    return out.rgb.numpy().astype(np.float64) / safe[..., None], out.depth.numpy().astype(np.float64) / safe, alpha


def render_motion_field(scene: Any, camera: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scene's motion as seen by ``camera``: (flow [H,W,2] px per loop frame, z-depth [H,W], alpha [H,W],
    change of z-depth per loop frame [H,W]).

    Each Gaussian carries m = proj(p + v) − proj(p) and its depth change as its "colour" (``render_blended``).
    Static Gaussians carry zero.
    """
    g = scene.gaussians
    K, w2c = camera.K.numpy(), camera.world_to_camera.numpy()
    velocity = scene.velocity.numpy().astype(np.float64)
    motion = M.project_motion(g.means.numpy(), velocity, K, w2c)
    depth_change = velocity @ w2c[2, :3].astype(np.float64)
    still = ~scene.moving.numpy()
    motion[still], depth_change[still] = 0.0, 0.0
    blended, depth, alpha = render_blended(g, camera, np.concatenate([motion, depth_change[:, None]], axis=1))
    return blended[..., :2], depth, alpha, blended[..., 2]


def render_content_coordinates(scene: Any, camera: Any) -> np.ndarray:
    """[H,W,2] the source-view pixel coordinates (centres at +0.5) of the content ``camera`` shows at each pixel:
    each Gaussian carries its projection into the scene's source camera as its colour (``render_blended``; see
    ``metrics.content_registered_error``)."""
    g = scene.gaussians
    source = scene.source_camera
    uv, _ = M.project(g.means.numpy().astype(np.float64), source.K.numpy(), source.world_to_camera.numpy())
    blended, _, _ = render_blended(g, camera, np.concatenate([uv, np.zeros((len(uv), 1))], axis=1))
    return blended[..., :2]


def per_view_baseline_field(result: Any, camera: Any, depth_view: np.ndarray) -> np.ndarray:
    """"Without 3D-MOM": the view's own 2D field, estimated independently like the paper's per-view estimator
    (``mom3d.estimate_view_motion``: the regions and arrows carried into the view through its depth)."""
    from ..mom3d import estimate_view_motion

    inputs = result.motion_inputs
    speed = result.scene.meta.speed
    if inputs is None:
        flow, source_camera, depth, arrows = result.flow, result.scene.source_camera, result.depth_m, []
    else:
        flow, source_camera, depth, arrows = inputs.flow, inputs.camera, inputs.depth_m, inputs.arrows
    field = estimate_view_motion(camera, depth_view, None, flow, source_camera, depth, arrows, speed, result.photo.width)
    return field.flow_px_per_frame.astype(np.float64)


MOTION_ROWS = ("ours", "single_view", "paper", "per_view")  # the multi-view EPE's methods (report columns)
# The 3D rows registered on the rendered content instead of through depth alone, and the registration offset between
# the two (``metrics.content_registered_error``).
CONTENT_KEYS = [f"epe_{name}_content_px" for name in MOTION_ROWS[:3]] + ["registration_offset_px"]


def motion_variants(result: Any) -> dict[str, torch.Tensor]:
    """Velocities of the scene's Gaussians (backdrop left out) for the 3D rows of the multi-view EPE: the scene as
    built, the single-view lift, and the paper's plain 3D-MOM (its objective, no priors, from rest)."""
    from ..mom3d import PAPER, lift_multi_view
    from ..motion3d import lift_single_view

    scene, inputs = result.scene, result.motion_inputs
    out = {"ours": scene.velocity}
    if inputs is None:
        return out
    means = scene.gaussians.means
    views = inputs.view_motions
    out["single_view"] = lift_single_view(means, inputs.flow, inputs.depth_m, inputs.camera)
    out["paper"] = lift_multi_view(means, inputs.flow, inputs.depth_m, inputs.camera, views, PAPER,
                                   initial_velocity=out["single_view"])
    return out


@dataclass
class EpeGeometry:
    """What the multi-view EPE measures every velocity on: the moving layer, the input-view surface points of the
    eroded motion regions, the generated views and where each view's rendered content comes from."""

    front: Any  # Scene4D without the static backdrop
    keep: torch.Tensor  # [N] bool: the scene's Gaussians in ``front``
    rows: np.ndarray
    cols: np.ndarray
    pixels: np.ndarray  # [P,2] input-view pixel centres
    points: np.ndarray  # [P,3] their surface points (depth map)
    views: list  # generated views (``views.View``), the border ring left out
    content_source: np.ndarray  # [P,2] ``render_content_coordinates`` of the input view at ``pixels``
    content_views: list[np.ndarray]  # [H,W,2] per view


def epe_geometry(result: Any, config: EvalConfig) -> EpeGeometry | None:
    """The multi-view EPE's fixed part for one build; None when nothing moves or there are no generated views."""
    from ..scene import LAYER_BACKDROP, LAYER_BORDER

    scene = result.scene
    source = scene.source_camera
    mask = erode(result.flow.moving, config.margin_px)
    generated = [view for view in result.views[1:] if view.layer != LAYER_BORDER]  # the border ring is the input camera
    if not mask.any() or not generated:
        return None
    rows, cols = np.nonzero(mask)
    pixels = np.stack([cols + 0.5, rows + 0.5], -1)
    points = M.unproject(pixels, result.depth_m[rows, cols].astype(np.float64), source.K.numpy(), source.world_to_camera.numpy())
    # The static backdrop under moving content only shows while its copies cross-fade; motion is the moving layer's.
    keep = scene.layer != LAYER_BACKDROP if scene.layer is not None else torch.ones(len(scene.gaussians), dtype=torch.bool)
    front = scene.subset(keep)
    return EpeGeometry(front, keep, rows, cols, pixels, points, generated,
                       render_content_coordinates(front, source)[rows, cols],
                       [render_content_coordinates(front, view.camera) for view in generated])


@dataclass
class VelocityEpe:
    """Per visible (view, point) pair of one velocity field: EPE through depth, content-registered EPE, and the
    registration offset |c_view(q) − c_in(x)|; plus each view's rendered depth (0 where uncovered)."""

    depth_registered: np.ndarray
    content_registered: np.ndarray
    offset: np.ndarray
    depth_views: list[np.ndarray]


def velocity_epe(geometry: EpeGeometry, velocity: torch.Tensor, config: EvalConfig) -> VelocityEpe:
    """The multi-view EPE of ``velocity`` [N,3] (all the scene's Gaussians) on ``geometry`` (see the report header)."""
    import dataclasses

    g = geometry
    source = g.front.source_camera
    variant = dataclasses.replace(g.front, velocity=velocity[g.keep])
    own_field, _, _, _ = render_motion_field(variant, source)
    own = own_field[g.rows, g.cols]
    errors, content_errors, offsets, depth_views = [], [], [], []
    for view, content_view in zip(g.views, g.content_views):
        camera = view.camera
        flow_view, depth_view, alpha_view, depth_change = render_motion_field(variant, camera)
        depth_view = np.where(alpha_view > 0.5, depth_view, 0.0)  # uncovered pixels fail the visibility test
        depth_views.append(depth_view)
        args = (camera.K.numpy(), camera.world_to_camera.numpy(), source.K.numpy(), source.world_to_camera.numpy(), config.depth_tolerance)
        carried, visible = M.carry_flow_to_source(g.points, flow_view, depth_view, *args, depth_change_view=depth_change)
        errors.append(M.endpoint_error(carried[visible], own[visible]))
        q, _ = M.project(g.points[visible], camera.K.numpy(), camera.world_to_camera.numpy())
        content_here = M.sample_bilinear(content_view, q)
        content_errors.append(M.content_registered_error(carried[visible], own_field, g.pixels[visible], content_here,
                                                         g.content_source[visible]))
        offsets.append(np.linalg.norm(content_here - g.content_source[visible], axis=-1))
    return VelocityEpe(np.concatenate(errors), np.concatenate(content_errors), np.concatenate(offsets), depth_views)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def multiview_motion_epe(result: Any, config: EvalConfig) -> dict[str, float]:
    """EPE (px per loop frame) between the generated views' 2D motion carried to the input view and the input
    view's own 2D motion, for each method of ``MOTION_ROWS``, through depth and content-registered (see the report
    header)."""
    keys = [f"epe_{name}_px" for name in MOTION_ROWS] + CONTENT_KEYS
    geometry = epe_geometry(result, config)
    if geometry is None:
        return {**{k: float("nan") for k in keys}, **{f"mom_{n}_px": float("nan") for n in MOTION_ROWS[:3]}, "epe_points": 0.0}
    values: dict[str, float] = {}
    variants = motion_variants(result)
    if result.motion_inputs is not None:
        from ..mom3d import ViewMotion, view_disagreement

        inputs = result.motion_inputs
        views = [ViewMotion(inputs.camera, inputs.flow.flow_px_per_frame, inputs.depth_m, inputs.flow.moving),
                 *inputs.view_motions]
        for name, velocity in variants.items():
            values[f"mom_{name}_px"] = view_disagreement(geometry.front.gaussians.means, velocity[geometry.keep], views)
    measured = {name: velocity_epe(geometry, velocity, config) for name, velocity in variants.items()}
    for name, epe in measured.items():
        values[f"epe_{name}_px"] = _mean(epe.depth_registered)
        values[f"epe_{name}_content_px"] = _mean(epe.content_registered)
    values["registration_offset_px"] = _mean(measured["ours"].offset)
    # "Without 3D-MOM": each view's field estimated on its own, carried at the view depth (a 2D field has no depth
    # change), against the input view's requested field.
    source = result.scene.source_camera
    requested = result.flow.flow_px_per_frame.astype(np.float64)[geometry.rows, geometry.cols]
    per_view = []
    for view, depth_view in zip(geometry.views, measured["ours"].depth_views):
        camera = view.camera
        args = (camera.K.numpy(), camera.world_to_camera.numpy(), source.K.numpy(), source.world_to_camera.numpy(), config.depth_tolerance)
        baseline_view = per_view_baseline_field(result, camera, depth_view)
        carried, visible = M.carry_flow_to_source(geometry.points, baseline_view, depth_view, *args, moved_depth=config.moved_depth)
        per_view.append(M.endpoint_error(carried[visible], requested[visible]))
    values["epe_per_view_px"] = _mean(np.concatenate(per_view))
    moms = {f"mom_{name}_px": values.get(f"mom_{name}_px", float("nan")) for name in MOTION_ROWS[:3]}
    return {**{k: values.get(k, float("nan")) for k in keys}, **moms, "epe_points": float(measured["ours"].depth_registered.size)}


def motion_adherence(render: Renderer, flow: Any, frame0: np.ndarray, config: EvalConfig) -> dict[str, float]:
    """Angle and speed of the motion measured on input-camera frames against the requested 2D field: on the
    frames' texture (luma minus its local mean at the colour-anchoring scale), and on plain luma for reference.
    Pairs of frames (k0, k0 + s) start at ``config.adherence_phases`` phases k0 spread over one cross-fade cycle and
    their pixels are pooled: how fast a region reads depends on where its copies are in their fade, so one start
    phase measures the luck of that phase (0.69–0.97 on one photo) rather than the animation."""
    from ..animate import ANCHOR_SIGMA

    keys = ("motion_angle_deg", "motion_speed_ratio", "motion_still_share", "motion_tracked_share", "motion_gap_frames", "motion_pixels",
            "motion_speed_control", "motion_speed_ratio_luma", "motion_speed_control_luma", "motion_speed_ratio_all",
            "motion_readable_share", "motion_speed_ratio_phase0")
    requested = flow.flow_px_per_frame.astype(np.float64)
    speeds = np.linalg.norm(requested, axis=-1)[flow.moving]
    if not speeds.size or np.median(speeds) <= 0:
        return {k: float("nan") for k in keys}
    n_loop = render.scene.loop_frames
    gap = int(np.clip(round(config.adherence_target_px / float(np.median(speeds))), 1, max(1, int(n_loop * config.adherence_max_gap))))
    cycle_frames = n_loop / max(int(render.scene.cycles), 1)
    starts = [j * cycle_frames / max(config.adherence_phases, 1) for j in range(max(config.adherence_phases, 1))]
    eligible = erode(flow.moving, config.margin_px) & (np.linalg.norm(requested, axis=-1) * gap >= 0.5)
    sigma = ANCHOR_SIGMA * max(frame0.shape[:2])
    # Per start phase: the pair of frames and, as control, the first frame warped exactly by the requested field
    # (what DIS reads on this texture when the motion is perfect: a flat sky or tiny boats read low whatever happens).
    pairs = []
    for start in starts:
        first = frame0 if start == 0 else render(render.scene.source_camera, float(start))[0]
        later = render(render.scene.source_camera, float(start + gap))[0]
        pairs.append((first, later, M.warp_by_flow(first, requested * gap), eligible & M.textured_mask(first)))
    requested_all = np.stack([requested] * len(pairs))

    def measure(prepare: Any) -> tuple[Any, Any, Any, float, float, float]:
        forward, tracked, readable, candidates = [], [], [], []
        for first, later, exact, candidate in pairs:
            a, b, warped = prepare(first), prepare(later), prepare(exact)
            flow_ab, flow_ba = M.optical_flow(a, b), M.optical_flow(b, a)
            flow_c, flow_c_back = M.optical_flow(a, warped), M.optical_flow(warped, a)
            tracked_c = candidate & M.consistent_flow_mask(flow_c, flow_c_back)
            forward.append(flow_ab / gap)
            tracked.append(candidate & M.consistent_flow_mask(flow_ab, flow_ba))
            readable.append((flow_c / gap, tracked_c))
            candidates.append(candidate)
        forward_all, tracked_all, candidates_all = np.stack(forward), np.stack(tracked), np.stack(candidates)
        control_flow, control_tracked = np.stack([r[0] for r in readable]), np.stack([r[1] for r in readable])
        args = dict(min_requested_px=0.5 / gap, min_measured_px=0.1 / gap)
        control = M.angle_error_deg(control_flow, requested_all, control_tracked, **args)
        readable_all = M.readable_mask(control_flow, requested_all, control_tracked, config.readable_tolerance)
        judged = tracked_all & readable_all
        enough = judged.sum() >= config.readable_min_pixels
        result = M.angle_error_deg(forward_all, requested_all, judged if enough else np.zeros_like(judged), **args)
        first_only = M.angle_error_deg(forward_all[0], requested, judged[0] if judged[0].sum() >= config.readable_min_pixels
                                       else np.zeros_like(judged[0]), **args)
        everywhere = M.angle_error_deg(forward_all, requested_all, tracked_all, **args)
        total = candidates_all.sum()
        share = float(tracked_all.sum() / total) if total else float("nan")
        readable_share = float(readable_all.sum() / total) if total else float("nan")
        return result, everywhere, control, share, readable_share, first_only.speed_ratio

    texture, texture_all, texture_control, share, readable_share, phase0 = measure(lambda image: M.texture_luma(image, sigma))
    luma, _, luma_control, _, _, _ = measure(lambda image: image)
    return dict(zip(keys, (texture_all.angle_deg, texture.speed_ratio, texture_all.still_share, share, float(gap), float(texture.pixels),
                           texture_control.speed_ratio, luma.speed_ratio, luma_control.speed_ratio, texture_all.speed_ratio,
                           readable_share, phase0)))


# ---------------------------------------------------------------------------------------------------------------
# One scene


def evaluate_build(result: Any, config: EvalConfig = EvalConfig(), keep_sheet_frames: bool = False,
                   reference: Any = None) -> PhotoResult:
    """Every metric of one ``SceneBuild`` (timings of the build are copied from it); with ``reference`` (an
    ``eval.regions.Reference``) also the region quality against it."""
    from ..render import trajectory_for
    from ..trajectories import PRESETS

    scene, photo, flow = result.scene, result.photo, result.flow
    render = Renderer(scene)
    n_loop = scene.loop_frames
    out = PhotoResult(photo.name, photo.width, photo.height, len(scene.gaussians), int(scene.moving.sum()))
    out.moving_share = float(flow.moving.mean())
    values = out.values
    source = scene.source_camera

    # Source-view fidelity.
    frame0, alpha0 = render(source, 0.0)
    values["source_psnr_db"] = M.psnr(frame0, photo.image)
    values["source_ssim"] = M.ssim(frame0, photo.image)
    values["photo_piqe"] = M.piqe(photo.image)

    # Loop seam: the state at the end of the loop (k = N) against the start (k = 0), from two cameras.
    lateral = trajectory_for(scene, SEAM_EXTRA_TRAJECTORY, 4)[1]
    seams = [M.seam_psnr(frame0, render(source, float(n_loop))[0])]
    seams.append(M.seam_psnr(render(lateral, 0.0)[0], render(lateral, float(n_loop))[0]))
    values["seam_psnr_db"] = min(seams)

    # Static stability under the input camera.
    # The animation state is periodic with the cross-fade cycle T = N / cycles: sampling one cycle finely sees
    # every state the loop shows (sampling the whole loop at N/12 would alias with the cycles and miss the worst).
    cycle_frames = n_loop / max(int(scene.cycles), 1)
    phases = [j * cycle_frames / config.static_samples for j in range(config.static_samples)]
    static_frames = [frame0] + [render(source, k)[0] for k in phases[1:]]
    change = M.static_change(static_frames, ~dilate(flow.moving, config.margin_px))
    values["static_p99"], values["static_max"] = change.p99, change.max
    change_raw = M.static_change(static_frames, ~flow.moving)
    values["static_max_nomargin"] = change_raw.max
    # Ghosting of the moving regions over the same phases: blur (sharpness ratio) and colour drift.
    ghost = M.ghosting(static_frames, erode(flow.moving, config.margin_px))
    values["sharpness_ratio"], values["colour_drift"] = ghost.sharpness_ratio, ghost.colour_drift
    # Region quality: the requested moving region and the pixels that visibly move, against the reference.
    if reference is not None:
        from .regions import evaluate_regions

        quality = evaluate_regions(photo.image, flow.moving, reference, flow.flow_px_per_frame, result.regions.sky,
                                   result.regions.water, static_frames)
        values.update(quality.as_values())

    # Motion adherence: DIS flow between loop phases 0 and s, divided by s, against the requested field.
    values.update(motion_adherence(render, flow, frame0, config))

    # Multi-view motion consistency.
    start = time.perf_counter()
    values.update(multiview_motion_epe(result, config))
    render.seconds += time.perf_counter() - start

    # Holes (and PIQE, and contact-sheet frames) along every preset path.
    step_s = config.video_seconds / config.trajectory_frames
    piqes = []
    for preset in PRESETS:
        cameras = trajectory_for(scene, preset, config.trajectory_frames)
        fractions, edges = [], []
        for i, camera in enumerate(cameras):
            rgb, alpha = render.at_time(camera, i * step_s)
            fractions.append(M.hole_fraction(alpha))
            edges.append(render.edge_of_world(camera, i * step_s, rgb, alpha))
            piqes.append(M.piqe(rgb))
            if keep_sheet_frames and preset in CONTACT_TRAJECTORIES and i in _sheet_indices(len(cameras), preset):
                out.sheet_frames.setdefault(preset, []).append((f"frame {i}/{len(cameras)}", rgb))
        out.holes[preset] = (float(np.mean(fractions)), float(np.max(fractions)))
        out.edge[preset] = (float(np.mean(edges)), float(np.max(edges)))
    values["holes_mean"] = float(np.mean([m for m, _ in out.holes.values()]))
    values["holes_worst"] = float(np.max([w for _, w in out.holes.values()]))
    values["edge_mean"] = float(np.mean([m for m, _ in out.edge.values()]))
    values["edge_worst"] = float(np.max([w for _, w in out.edge.values()]))
    values["render_piqe"] = float(np.mean(piqes))

    # Temporal flicker (tearing between views shows here): consecutive frames at the video frame rate, at the start
    # and middle of the default path (circle) and of the orbit.
    values["flicker_warp_rmse"] = flicker_along(render, scene, FLICKER_TRAJECTORY, config)
    values["flicker_orbit_warp_rmse"] = flicker_along(render, scene, FLICKER_ORBIT_TRAJECTORY, config)

    out.timings_s = dict(result.timings_s)
    out.timings_s["eval_render"] = render.seconds
    out.timings_s["eval_renders"] = float(render.count)
    if keep_sheet_frames:
        out.sheet_frames["maps"] = {"image": photo.image, "depth": result.depth_m, "sky": result.regions.sky,
                                    "water": result.regions.water, "moving": flow.moving, "flow": flow.flow_px_per_frame}
    return out


def flicker_along(render: Renderer, scene: Any, preset: str, config: EvalConfig = EvalConfig()) -> float:
    """Temporal warping error (8-bit levels) of two runs of ``config.flicker_frames`` consecutive video frames at
    the start and middle of the ``preset`` path (``config.video_seconds`` at ``config.video_fps``)."""
    from ..render import trajectory_for

    total = max(2, round(config.video_seconds * config.video_fps))
    cameras = trajectory_for(scene, preset, total)
    errors = []
    for first in (0, total // 2):
        run = [render.at_time(cameras[i], i / config.video_fps) for i in range(first, min(total, first + config.flicker_frames))]
        for (a, alpha_a), (b, alpha_b) in zip(run[:-1], run[1:]):
            errors.append(M.warping_error(a, b, valid=(alpha_a >= M.HOLE_ALPHA) & (alpha_b >= M.HOLE_ALPHA)))
    return float(np.nanmean(errors)) if errors else float("nan")


def _sheet_indices(count: int, preset: str = "") -> tuple[int, ...]:
    """Frames worth looking at: a periodic path's extremes (¼, ½, ¾ of the way), else its start, middle and end."""
    from ..trajectories import PERIODIC

    if preset in PERIODIC:
        return (count // 4, count // 2, (3 * count) // 4)
    return (0, count // 2, count - 1)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports kB, macOS bytes)."""
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def evaluate_photo(path: str | Path, settings: Any, config: EvalConfig = EvalConfig(), keep_sheet_frames: bool = False) -> PhotoResult:
    """Build a photo with ``settings`` and measure it; an exception becomes ``PhotoResult.error``."""
    from ..pipeline import build
    from .regions import find_reference

    path = Path(path)
    try:
        start = time.perf_counter()
        result = build(path, settings)
        build_s = time.perf_counter() - start
        reference = find_reference(path, list(config.reference_masks))
        out = evaluate_build(result, config, keep_sheet_frames, reference)
        out.timings_s["build_total"] = build_s
        out.timings_s["eval_total"] = time.perf_counter() - start - build_s
    except Exception as error:  # noqa: BLE001 - the report records every failure and the run goes on
        out = PhotoResult(path.stem, error=f"{type(error).__name__}: {error}")
    out.peak_rss_mb = peak_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.timings_s["process_cpu"] = usage.ru_utime + usage.ru_stime
    return out


def summary_lines(result: Any) -> list[str]:
    from .report import fmt

    v = result.values
    return [
        f"{result.name}  {result.width}x{result.height}",
        f"source PSNR {fmt(v.get('source_psnr_db'))} dB  SSIM {fmt(v.get('source_ssim'), 'f3')}",
        f"holes mean {fmt(v.get('holes_mean'), 'pct')} %  worst {fmt(v.get('holes_worst'), 'pct')} %",
        f"edge of world mean {fmt(v.get('edge_mean'), 'pct')} %  worst {fmt(v.get('edge_worst'), 'pct')} %",
        f"ghosting: sharpness x{fmt(v.get('sharpness_ratio'))}  colour drift {fmt(v.get('colour_drift'))} levels",
        f"seam PSNR {fmt(v.get('seam_psnr_db'))} dB",
        f"static p99/max {fmt(v.get('static_p99'))}/{fmt(v.get('static_max'))} levels",
        f"motion angle {fmt(v.get('motion_angle_deg'))} deg  speed x{fmt(v.get('motion_speed_ratio'))}",
        f"MV EPE {fmt(v.get('epe_ours_px'), 'f4')} px (plain 3D-MOM {fmt(v.get('epe_paper_px'), 'f4')}, single-view "
        f"{fmt(v.get('epe_single_view_px'), 'f4')}, per-view 2D {fmt(v.get('epe_per_view_px'), 'f4')})",
        f"flicker {fmt(v.get('flicker_warp_rmse'))}  PIQE {fmt(v.get('render_piqe'))} (photo {fmt(v.get('photo_piqe'))})",
    ]


def evaluate_one(photo: str, settings: Any, config: Any, sheet_path: str | None) -> Any:
    """Build, measure and (if asked) draw the contact sheet of one photo; runs in a worker process."""
    from .sheet import write_contact_sheet

    result = evaluate_photo(photo, settings, config, keep_sheet_frames=sheet_path is not None)
    if sheet_path is not None and result.error is None:
        try:
            write_contact_sheet(result, summary_lines(result), sheet_path)
        except Exception as error:  # noqa: BLE001 - a failed sheet must not lose the numbers
            result.error = f"contact sheet: {type(error).__name__}: {error}"
    result.sheet_frames = {}
    return result


# ---------------------------------------------------------------------------------------------------------------
# Real-video check


@dataclass
class RealVideoResult:
    clip: str
    frames: int
    fps: float
    width: int
    height: int
    values: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def real_video_check(clip: str | Path, frame0: str | Path, settings: Any, max_frames: int | None = None) -> RealVideoResult:
    """Static-camera animation of a clip's first frame against the clip (the paper's protocol).

    The scene is built from ``frame0`` at the clip's own resolution; frame i is rendered from the input camera at
    t = i / fps and compared with real frame i (PSNR, SSIM; also PSNR inside the motion regions). The "still
    image" baseline repeats frame 0. Means run over frames 1 … T−1.
    """
    from ..pipeline import build
    from ..video import probe_mp4, read_mp4

    clip, frame0 = Path(clip), Path(frame0)
    try:
        real = read_mp4(clip)
        fps = _fps_of(probe_mp4(clip)) or 25.0
        if max_frames:
            real = real[:max_frames]
        height, width = real.shape[1:3]
        result = build(frame0, settings.replace(long_side=max(width, height)))
        if (result.photo.width, result.photo.height) != (width, height):
            raise ValueError(f"frame 0 was built at {result.photo.width}×{result.photo.height}, the clip is {width}×{height}")
        render = Renderer(result.scene)
        still = real[0]
        moving = result.flow.moving
        rows: dict[str, list[float]] = {k: [] for k in ("psnr", "ssim", "psnr_mask", "still_psnr", "still_ssim", "still_psnr_mask")}
        for i in range(1, len(real)):
            frame = render.at_time(result.scene.source_camera, i / fps)[0]
            rows["psnr"].append(M.psnr(frame, real[i]))
            rows["ssim"].append(M.ssim(frame, real[i]))
            rows["psnr_mask"].append(M.psnr(frame, real[i], moving))
            rows["still_psnr"].append(M.psnr(still, real[i]))
            rows["still_ssim"].append(M.ssim(still, real[i]))
            rows["still_psnr_mask"].append(M.psnr(still, real[i], moving))
        out = RealVideoResult(clip.name, len(real), fps, width, height)
        out.values = {k: _finite_mean(v) for k, v in rows.items()}
        out.values["moving_share"] = float(moving.mean())
        out.values["build_s"] = float(sum(result.timings_s.values()))
        out.values["render_s"] = render.seconds
        return out
    except Exception as error:  # noqa: BLE001
        return RealVideoResult(clip.name, 0, 0.0, 0, 0, error=f"{type(error).__name__}: {error}")


def _finite_mean(values: list[float]) -> float:
    """Mean; infinite PSNRs (identical frames) are capped at 100 dB so one does not swamp the mean."""
    array = np.array([min(v, 100.0) for v in values if not math.isnan(v)])
    return float(array.mean()) if array.size else float("nan")


def _fps_of(info: dict[str, Any]) -> float | None:
    raw = str(info.get("raw", ""))
    for line in raw.splitlines():
        if "Video:" in line and " fps" in line:
            for part in line.split(","):
                part = part.strip()
                if part.endswith(" fps"):
                    try:
                        return float(part[:-4])
                    except ValueError:
                        return None
    return None
