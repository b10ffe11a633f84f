"""3D-MOM: one 3D velocity per Gaussian whose projections agree with every view's own 2D motion.

The paper's core (Optimizing 4D Gaussians for Dynamic Scene Video from Single Landscape Images, ICLR 2025; steps
4–5 of its pipeline): each generated view gets its own Eulerian 2D field, estimated there with the same estimator
as the source view from the motion regions and arrows carried into it; then one 3D velocity v per moving Gaussian p minimises Σ_views Σ_visible |proj(p + v) − proj(p) − f_view(proj(p))|₁.

Solver: the projection is linearised at p (J = ∂proj/∂p, 2×3; velocities are a pixel or two per frame, so the
second-order term is far below 0.001 px), and the L1 objective is minimised by iteratively reweighted least
squares: every Gaussian solves its own 3×3 system per iteration, batched over all Gaussians and views at once
(torch, on CUDA when present). The paper fits the same objective with SGD (lr 0.5, 200 epochs); IRLS reaches its
optimum in a few dozen batched solves.

Priors the paper lacks (each switchable in ``MomSettings``; which are on by default, and why, is measured there):
* ``anchor``: the source view counts as this share of all other views together: it is the field the user asked for
  (arrows, speed), the other views settle what one view cannot see (motion along its rays);
* ``smooth``: a Gaussian's velocity stays close to the mean velocity of its neighbours in the same region
  (neighbours = the source-image pixels around it; Jacobi update between IRLS iterations);
* ``surface``: water and user regions move along their surface (v ⟂ the normal of the smoothed depth surface);
* ``sky_shell``: clouds move on the sky shell (v ⟂ the ray from the camera);
* ``follow_surface``: the part of v along the source camera's ray, which the source view cannot see and the other
  views' short baselines barely constrain, follows the depth surface as the single-view lift's does (the
  Gaussian slides along the surface it belongs to). Without it that part stays at its start (zero from rest) and
  the Gaussians leave the surface: on the clouds example half of them sink behind the sky and the video's
  clouds run at 0.58× the asked speed although every Gaussian's projected motion is right;
* ``confine``: the loop-path confinement of ``motion3d.confine_to_regions`` (static pixels stay still);
* ``source_exact``: the photo's own motion stays exactly as asked; of the solve's change to the single-view lift
  only the part along the source rays is kept (moving a point along its ray does not move its projection).
Zero motion outside the motion regions holds by construction: only Gaussians the source field moves are solved.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .camera import Camera, camera_to_pixels, pixel_grid, project_points, sample_bilinear, transform_points, unproject
from .flow2d import REGION_SKY, REGION_WATER, Arrow, Flow2D, motion_field
from .motion3d import confine_to_regions, lift_single_view, smooth_surface


@dataclass
class ViewMotion:
    """One view's own 2D motion: the field a 2D estimator gives in that view, and the view's depth (visibility)."""

    camera: Camera
    flow_px_per_frame: np.ndarray  # [H,W,2] px per loop frame, in this view's pixels
    depth_m: np.ndarray  # [H,W] z-depth in this view's camera frame
    moving: np.ndarray  # [H,W] bool


@dataclass(frozen=True)
class MomSettings:
    """Ours by default: the paper's objective with the source view anchored (it counts as much as all other views
    together: the speed and arrows the user asked for), the smoothness prior, the follow-surface prior (strong on the
    sky, weak on water) and the loop-path confinement, from rest. Measured on the quality report's multi-view EPE
    (512 px, px per loop frame; ``benchmarks/results/mom3d_priors_examples.md``): ours 0.00001 / 0.00046 / 0.00110 /
    0.00059 / 0.00113 on the clouds, china, lake, sea and waterfall examples against the plain objective's 0.00021 /
    0.00067 / 0.00119 / 0.00082 / 0.00135, and the rendered loop runs at 0.95 / 0.80 / 0.97 / 0.99 / 0.92 of the asked
    speed (without follow-surface the clouds ran at 0.58). Without the anchor the EPE is lower on two photos but the
    waterfall runs at 0.69× its speed; the surface prior raises the EPE by 20–60 % (the smoothed depth surface's
    normal is not the Gaussians' own) and the sky-shell prior changes nothing measurable, so both stay switchable,
    off by default (``benchmarks/results/mom3d_priors.md``); the confinement leaves the EPE unchanged and keeps static
    pixels still."""

    iterations: int = 40  # IRLS iterations
    anchor: float = 1.0  # the source view's weight as a share of all other views together (0: one view among them)
    smooth: float = 1.0  # weight of the neighbour-smoothness prior (L1, px of velocity difference)
    smooth_radius_px: int = 2  # neighbourhood half-size on the source image
    surface: float = 0.0  # weight of "water moves along its surface" (L1, px of motion off the surface)
    sky_shell: float = 0.0  # weight of "clouds move on the sky shell"
    follow_surface: float = 3.0  # weight of "the motion along the source ray follows the depth surface" (sky)
    follow_surface_water: float = 0.3  # the same for water and user regions (their along-ray motion has parallax)
    confine: bool = True  # shorten paths that would leave their region (static pixels stay still)
    visibility_tolerance: float = 0.02  # visible in a view when within this relative depth of its surface
    l1_epsilon_px: float = 1e-3  # IRLS floor on |residual| (px per frame)
    smooth_epsilon_px: float = 0.05  # IRLS floor on |velocity − neighbours' mean| (px per frame)
    start_at_rest: bool = True  # start from zero motion (the paper) instead of the single-view lift
    # Solve with every ``view_stride``-th generated view (the lifter's choice; ``lift_multi_view`` uses the views it is
    # given). Every third view (4 of 12: right, low, an orbit end, deep in the zoom) gave a lower multi-view EPE,
    # measured over all 12 views, than all 12 on 5 of 7 photos at 512 px (mountain lake 0.00068 vs 0.00105, rocky
    # coast 0.00204 vs 0.00275, beach 0.00044 vs 0.00059, China, the waterfall example; equal on the clouds; the
    # shared waterfall 0.0122 vs 0.0119), in 40-60 % of the time: the views' independently estimated fields
    # disagree, and every extra view is one more compromise for the L1.
    view_stride: int = 3
    # Keep the photo's own motion as asked: of the solve's change to the single-view lift, only the part along the
    # source rays (which the photo cannot see and the views settle) is kept, so each Gaussian's projected velocity
    # in the photo is the asked one. The multi-view EPE is lower too, at 512 px (all 12 views): China 0.00042 →
    # 0.00031, lake 0.00109 → 0.00087, mountain lake 0.00105 → 0.00065, rocky coast 0.00275 → 0.00205, shared
    # waterfall 0.01190 → 0.01185 px.
    source_exact: bool = True


# The paper's plain 3D-MOM: its objective only (all views alike, L1, visible points), no priors, starting at rest.
PAPER = MomSettings(iterations=20, anchor=0.0, smooth=0.0, surface=0.0, sky_shell=0.0, follow_surface=0.0,
                    follow_surface_water=0.0, confine=False, start_at_rest=True, view_stride=1, source_exact=False)


def carry_regions_to_view(region_id: np.ndarray, source: Camera, view_camera: Camera, view_depth_m: np.ndarray) -> np.ndarray:
    """[H,W] region ids of a view: each view pixel, lifted with the view's depth, takes the id of the source pixel
    it lands on (0 where it lands outside the source image or has no depth)."""
    height, width = view_depth_m.shape
    z = view_depth_m.astype(np.float64)
    world = unproject(pixel_grid(width, height).reshape(-1, 2), z.ravel(), view_camera.K, view_camera.world_to_camera)
    uv, zs = project_points(world, source)
    src_h, src_w = region_id.shape
    cols, rows = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    inside = (zs > 0) & (z.reshape(-1) > 0) & (cols >= 0) & (cols < src_w) & (rows >= 0) & (rows < src_h)
    out = np.zeros(height * width, np.int32)
    out[inside] = region_id[rows[inside], cols[inside]]
    return out.reshape(height, width)


def carry_arrows_to_view(arrows: list[Arrow], source: Camera, source_depth_m: np.ndarray, view_camera: Camera) -> list[Arrow]:
    """Arrows drawn on the source image, their end points lifted with the source depth and projected into a view
    (as the paper projects its hint end points). Arrows whose start falls outside the view are dropped."""
    out: list[Arrow] = []
    if not arrows:
        return out
    ends = np.array([[a.x0, a.y0] for a in arrows] + [[a.x1, a.y1] for a in arrows], np.float64)
    world = unproject(ends, sample_bilinear(source_depth_m, ends), source.K, source.world_to_camera)
    uv, zv = project_points(world, view_camera)
    n = len(arrows)
    for i in range(n):
        x0, y0 = uv[i]
        if zv[i] > 0 and 0 <= x0 < view_camera.width and 0 <= y0 < view_camera.height:
            out.append(Arrow(float(x0), float(y0), float(uv[n + i, 0]), float(uv[n + i, 1])))
    return out


def estimate_view_motion(
    view_camera: Camera,
    view_depth_m: np.ndarray,
    view_image: np.ndarray | None,
    source_flow: Flow2D,
    source: Camera,
    source_depth_m: np.ndarray,
    arrows: list[Arrow],
    speed: float,
    reference_width: int,
) -> ViewMotion:
    """A view's own Eulerian field: the source's regions and arrows carried into it, then ``flow2d.motion_field``
    there, so views disagree where depth, occlusion or the estimator disagree (the paper's per-view step)."""
    region = carry_regions_to_view(source_flow.region_id, source, view_camera, view_depth_m)
    moves = region == 3
    field = motion_field(
        region.shape, region == REGION_SKY, region == REGION_WATER, source_flow.travel_frames,
        moves if moves.any() else None, None, carry_arrows_to_view(arrows, source, source_depth_m, view_camera),
        speed, None, reference_width=reference_width, water_direction=source_flow.water_direction,
    )
    return ViewMotion(view_camera, field.flow_px_per_frame.astype(np.float32), view_depth_m.astype(np.float32), field.moving)


def _projection_jacobians(points_camera: torch.Tensor, K: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """[N,2,3] ∂(pixel)/∂(world point) of a pinhole camera at camera-frame points [N,3]."""
    x, y, z = points_camera.unbind(-1)
    inv_z = 1.0 / z.clamp_min(1e-9)
    zero = torch.zeros_like(z)
    d_camera = torch.stack([
        torch.stack([K[0, 0] * inv_z, zero, -K[0, 0] * x * inv_z**2], -1),
        torch.stack([zero, K[1, 1] * inv_z, -K[1, 1] * y * inv_z**2], -1),
    ], -2)  # [N,2,3] w.r.t. camera-frame coordinates
    return d_camera @ rotation  # chain rule: camera = R · world + t


def _surface_normals(depth_m: np.ndarray, region: np.ndarray, camera: Camera) -> np.ndarray:
    """[H,W,3] unit normals (camera frame) of the depth surface smoothed inside ``region``."""
    surface = smooth_surface(depth_m.astype(np.float64), region)
    height, width = surface.shape
    points = unproject(pixel_grid(width, height), surface, camera.K)  # camera frame [H,W,3]
    du = np.gradient(points, axis=1)
    dv = np.gradient(points, axis=0)
    normal = np.cross(du, dv)
    return normal / np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)


def solve_velocities(
    means_world: torch.Tensor,
    initial_velocity: torch.Tensor,
    views: list[ViewMotion],
    settings: MomSettings = MomSettings(),
    region_of: torch.Tensor | None = None,
    normal_world: torch.Tensor | None = None,
    neighbour_pixel: torch.Tensor | None = None,
    grid_shape: tuple[int, int] | None = None,
    device: torch.device | str = "cpu",
    surface_velocity: torch.Tensor | None = None,
) -> torch.Tensor:
    """[N,3] velocities minimising the views' L1 disagreement plus the enabled priors.

    ``views[0]`` is the source view (weighted by ``anchor``). ``region_of`` [N] gives each Gaussian's region id
    (sky → shell prior, others → surface prior with ``normal_world`` [N,3]); ``neighbour_pixel`` [N] the flat
    index of its source pixel in ``grid_shape`` (smoothness); ``surface_velocity`` [N,3] the single-view lift, whose
    component along the source ray the ``follow_surface`` prior asks for. Gaussians with zero ``initial_velocity``
    and no region (``region_of`` = 0) stay still.
    """
    device = torch.device(device)
    dtype = torch.float64
    p = means_world.to(device, dtype)
    n = p.shape[0]
    # Unknowns in px per frame: u = v · s, s = f / z_source (one world step of a pixel at the source depth), so
    # the data and every prior are in px and float32 is ample.
    src_z = transform_points(p, views[0].camera.world_to_camera)[:, 2]
    px_per_unit = views[0].camera.K[0, 0].item() / src_z.clamp_min(1e-9)
    # Dense (Gaussian, view) layout: every view's Jacobian, field sample and weight in [N, V, ·] arrays (weight 0
    # where the Gaussian is not visible), so each IRLS iteration is a few elementwise passes and a sum over the
    # view axis (no scatter).
    count = len(views)
    J = torch.zeros(n, count, 6, device=device, dtype=torch.float32)  # rows (J00 J01 J02 J10 J11 J12)
    f = torch.zeros(n, count, 2, device=device, dtype=torch.float32)
    base_w = torch.zeros(n, count, device=device, dtype=torch.float32)
    for index, view in enumerate(views):
        rotation = view.camera.world_to_camera[:3, :3].to(device, dtype)  # for the Jacobian's chain rule
        camera_points = transform_points(p, view.camera.world_to_camera)
        K = view.camera.K.to(device, dtype)
        uv, z = camera_to_pixels(camera_points, K)
        uv_np, z_np = uv.cpu().numpy(), z.cpu().numpy()
        height, width = view.depth_m.shape
        inside = (z_np > 0) & (uv_np[:, 0] >= 0) & (uv_np[:, 0] < width) & (uv_np[:, 1] >= 0) & (uv_np[:, 1] < height)
        surface = sample_bilinear(view.depth_m, uv_np)
        visible = inside & (z_np <= surface * (1.0 + settings.visibility_tolerance))
        keep = torch.from_numpy(np.flatnonzero(visible)).to(device)  # only visible pairs enter the objective
        jacobian = _projection_jacobians(camera_points[keep], K, rotation) / px_per_unit[keep, None, None]
        J[keep, index] = jacobian.reshape(-1, 6).float()
        f[keep, index] = torch.from_numpy(sample_bilinear(view.flow_px_per_frame, uv_np[visible]).astype(np.float32)).to(device)
        base_w[keep, index] = max(1.0, float(settings.anchor) * (count - 1)) if index == 0 else 1.0
    # JᵀJ and Jᵀf are fixed; only the IRLS weights change.
    JtJ = (J[..., [0, 0, 0, 1, 1, 2]] * J[..., [0, 1, 2, 1, 2, 2]] + J[..., [3, 3, 3, 4, 4, 5]] * J[..., [3, 4, 5, 4, 5, 5]])
    Jtf = J[..., 0:3] * f[..., 0:1] + J[..., 3:6] * f[..., 1:2]
    J_rows = J.view(n, count * 2, 3)  # [N, 2V, 3]: each view's two Jacobian rows
    dtype = torch.float32
    u0 = (initial_velocity.to(device, torch.float64) * px_per_unit[:, None]).to(dtype)
    # Prior directions d (unit, world) and targets t (px): each prior is λ·|d · u − t| px, an L1 term like the data.
    directions, strengths, targets = [], [], []
    if surface_velocity is not None and (settings.follow_surface > 0 or settings.follow_surface_water > 0):
        ray = p - views[0].camera.camera_to_world.to(device, torch.float64)[:3, 3]
        ray = ray / ray.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        sky = (region_of.to(device) == REGION_SKY) if region_of is not None else torch.ones(n, dtype=torch.bool, device=device)
        directions.append(ray.to(dtype))
        strengths.append(torch.where(sky, settings.follow_surface, settings.follow_surface_water).to(dtype))
        targets.append(((surface_velocity.to(device, torch.float64) * ray).sum(-1) * px_per_unit).to(dtype))
    if region_of is not None:
        region_of = region_of.to(device)
        zero = torch.zeros(n, device=device, dtype=dtype)
        if settings.sky_shell > 0:
            ray = p - views[0].camera.camera_to_world.to(device, torch.float64)[:3, 3]
            directions.append((ray / ray.norm(dim=-1, keepdim=True).clamp_min(1e-12)).to(dtype))
            strengths.append(settings.sky_shell * (region_of == REGION_SKY).to(dtype))
            targets.append(zero)
        if settings.surface > 0 and normal_world is not None:
            directions.append(normal_world.to(device, dtype))
            strengths.append(settings.surface * ((region_of > 0) & (region_of != REGION_SKY)).to(dtype))
            targets.append(zero)
    outer = [d[:, [0, 0, 0, 1, 1, 2]] * d[:, [0, 1, 2, 1, 2, 2]] for d in directions]  # d dᵀ, upper triangle
    use_smooth = settings.smooth > 0 and neighbour_pixel is not None
    pooling = _NeighbourPooling(neighbour_pixel.to(device), region_of, grid_shape, settings.smooth_radius_px) if use_smooth else None
    epsilon = settings.l1_epsilon_px
    ridge = 1e-4  # keeps a Gaussian that no view constrains along some axis where it started (px⁻¹ weight)
    u = u0.clone()
    for _ in range(max(1, settings.iterations)):
        residual = torch.bmm(J_rows, u[:, :, None]).view(n, count, 2) - f  # batched tiny products: bmm
        w = (base_w / residual.norm(dim=-1).clamp_min(epsilon))[:, None, :]  # IRLS weights of the L1 (per vector)
        A6 = torch.bmm(w, JtJ)[:, 0]
        b = torch.bmm(w, Jtf)[:, 0] + ridge * u0
        A6[:, [0, 3, 5]] += ridge
        for direction, strength, target, ddT in zip(directions, strengths, targets, outer):
            weight = strength / ((direction * u).sum(-1) - target).abs().clamp_min(epsilon)
            A6 += weight[:, None] * ddT
            b += (weight * target)[:, None] * direction
        if pooling is not None:
            neighbour_mean = pooling.mean(u)
            # A floor of smooth_epsilon_px, not the data's: from rest every velocity equals its neighbours' mean,
            # and an L1 weight of 1/ε there would hold the whole field at zero.
            weight = settings.smooth / (u - neighbour_mean).norm(dim=-1).clamp_min(settings.smooth_epsilon_px)
            A6[:, [0, 3, 5]] += weight[:, None]
            b += weight[:, None] * neighbour_mean
        u = _solve3(A6, b)
    return (u.double() / px_per_unit[:, None]).to(initial_velocity.dtype).cpu()


def _solve3(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched solve of symmetric positive definite 3×3 systems (upper triangles [N,6]: a00 a01 a02 a11 a12 a22)
    by the adjugate (faster than a general solver for tiny systems)."""
    dtype = b.dtype
    A, b = A.double(), b.double()  # the adjugate of a nearly singular system needs the range
    a00, a01, a02, a11, a12, a22 = A.unbind(-1)
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    c11 = a00 * a22 - a02 * a02
    c12 = a01 * a02 - a00 * a12
    c22 = a00 * a11 - a01 * a01
    det = (a00 * c00 + a01 * c01 + a02 * c02).clamp_min(1e-300)
    x0 = c00 * b[:, 0] + c01 * b[:, 1] + c02 * b[:, 2]
    x1 = c01 * b[:, 0] + c11 * b[:, 1] + c12 * b[:, 2]
    x2 = c02 * b[:, 0] + c12 * b[:, 1] + c22 * b[:, 2]
    return (torch.stack([x0, x1, x2], -1) / det[:, None]).to(dtype)


class _NeighbourPooling:
    """The mean of a per-Gaussian quantity over the Gaussians of the same region within ``radius`` px on the
    source image; the bookkeeping (region channels, scatter indices) is set up once for all iterations."""

    def __init__(self, pixel: torch.Tensor, region_of: torch.Tensor | None, grid_shape: tuple[int, int] | None,
                 radius: int) -> None:
        assert grid_shape is not None
        self.height, self.width = grid_shape
        self.radius = radius
        groups = region_of.long() if region_of is not None else torch.zeros(len(pixel), dtype=torch.long, device=pixel.device)
        labels, group_index = torch.unique(groups, return_inverse=True)
        self.channels = len(labels) * 4  # one (x, y, z, count) set per region
        self.channel = group_index[:, None] * 4 + torch.arange(4, device=pixel.device)  # [N,4]
        self.scatter_index = (self.channel.reshape(-1), pixel.repeat_interleave(4))
        self.gather_index = (self.channel, pixel[:, None])

    def mean(self, v: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(self.channels, self.height * self.width, device=v.device, dtype=v.dtype)
        values = torch.cat([v, torch.ones(len(v), 1, device=v.device, dtype=v.dtype)], 1)
        total.index_put_(self.scatter_index, values.reshape(-1), accumulate=True)
        size = 2 * self.radius + 1
        if total.device.type == "cpu":  # OpenCV's box filter is several times faster than avg_pool2d on a CPU
            planes = total.reshape(self.channels, self.height, self.width).numpy()
            pooled = torch.from_numpy(np.stack([cv2.blur(plane, (size, size), borderType=cv2.BORDER_CONSTANT)
                                                for plane in planes])).reshape(self.channels, -1)
        else:
            pooled = torch.nn.functional.avg_pool2d(total.reshape(1, self.channels, self.height, self.width), size,
                                                    stride=1, padding=self.radius).reshape(self.channels, -1)
        pooled = pooled[self.gather_index]
        return pooled[:, :3] / pooled[:, 3:].clamp_min(1e-12)


def view_disagreement(means_world: torch.Tensor, velocity: torch.Tensor, views: list[ViewMotion],
                      visibility_tolerance: float = MomSettings.visibility_tolerance) -> float:
    """3D-MOM's data term: mean |proj(p + v) − proj(p) − f_view(proj(p))| (px per frame) over the moving
    Gaussians and the views where they are visible (``views[0]`` is usually the source)."""
    moving = velocity.abs().sum(dim=-1) > 0
    p, v = means_world[moving].double(), velocity[moving].double()
    errors = []
    for view in views:
        uv, z = project_points(p, view.camera)
        moved, _ = project_points(p + v, view.camera)
        uv_np, z_np = uv.numpy(), z.numpy()
        height, width = view.depth_m.shape
        inside = (z_np > 0) & (uv_np[:, 0] >= 0) & (uv_np[:, 0] < width) & (uv_np[:, 1] >= 0) & (uv_np[:, 1] < height)
        visible = inside & (z_np <= sample_bilinear(view.depth_m, uv_np) * (1.0 + visibility_tolerance))
        target = sample_bilinear(view.flow_px_per_frame, uv_np[visible])
        errors.append(np.linalg.norm((moved - uv).numpy()[visible] - target, axis=-1))
    error = np.concatenate(errors) if errors else np.zeros(0)
    return float(error.mean()) if error.size else float("nan")


def lift_multi_view(
    means_world: torch.Tensor,
    source_flow: Flow2D,
    source_depth_m: np.ndarray,
    source: Camera,
    views: list[ViewMotion],
    settings: MomSettings = MomSettings(),
    device: torch.device | str = "cpu",
    initial_velocity: torch.Tensor | None = None,
) -> torch.Tensor:
    """3D-MOM velocities [N,3] (world units per loop frame) for Gaussians at ``means_world``.

    ``views`` are the generated views' own fields (``estimate_view_motion``); the source field is added as view 0.
    Starts from the single-view lift (or ``initial_velocity``; the plain paper variant starts at rest).
    """
    if initial_velocity is None:
        initial_velocity = lift_single_view(means_world, source_flow, source_depth_m, source, confine=False)
    moving = initial_velocity.abs().sum(dim=-1) > 0
    if not moving.any():
        return torch.zeros_like(initial_velocity)
    points = means_world[moving]
    uv, _ = project_points(points.float(), source)
    height, width = source_flow.moving.shape
    cols = uv[:, 0].clamp(0, width - 1).long()
    rows = uv[:, 1].clamp(0, height - 1).long()
    region = torch.from_numpy(source_flow.region_id)[rows, cols]
    normals_camera = _surface_normals(source_depth_m, source_flow.moving, source)[rows.numpy(), cols.numpy()]
    normals_world = torch.from_numpy(normals_camera) @ source.camera_to_world[:3, :3].double().T
    source_view = ViewMotion(source, source_flow.flow_px_per_frame, source_depth_m, source_flow.moving)
    start = torch.zeros_like(initial_velocity[moving]) if settings.start_at_rest else initial_velocity[moving]
    solved = solve_velocities(
        points, start, [source_view, *views], settings, region, normals_world, rows * width + cols, (height, width), device,
        surface_velocity=initial_velocity[moving],
    )
    if settings.source_exact:
        lifted = initial_velocity[moving].double()
        ray = points.double() - source.camera_to_world[:3, 3].double()
        ray = ray / ray.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        solved = lifted + ((solved.double() - lifted) * ray).sum(-1, keepdim=True) * ray
    velocity = torch.zeros_like(initial_velocity)
    velocity[moving] = solved.to(velocity.dtype)
    if settings.confine:
        velocity = confine_to_regions(means_world, velocity, source_flow, source)
    return velocity


__all__ = [
    "MomSettings", "PAPER", "ViewMotion", "carry_arrows_to_view", "carry_regions_to_view", "estimate_view_motion",
    "lift_multi_view", "solve_velocities", "view_disagreement",
]
