"""3D motion per Gaussian from the 2D Eulerian field.

Single-view lift (the default): a Gaussian that projects to pixel p of the source view with 2D flow f moves
toward the surface point under p + f, i.e. it slides along the depth surface (water on a lake comes toward the
camera, a waterfall falls down the cliff), and its projection in the source view moves by exactly f: the speed a
user asked for is the speed the video shows. The surface is the depth map smoothed inside the motion regions, so
neighbouring Gaussians get the same depth change and the texture moves as one (per-pixel depth noise would
scatter it into speckle). Where p and p + f lie on different sides of a depth edge the lift keeps the Gaussian's
own depth. Near a horizon one pixel spans a long way in depth, so the *depth* change is clamped to
``MAX_CYCLE_DEPTH_CHANGE`` of the depth over one cross-fade cycle (nothing flies at the camera) while the on-screen
motion stays as requested. The multi-view 3D-MOM solve (``mom3d``, ``Settings.motion = "3dmom"``) starts from
this lift.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch

from .camera import Camera, project_points, sample_bilinear, unproject
from .flow2d import TAPER_MARGIN_PX, Flow2D, distance_inside

DEPTH_EDGE_RATIO = 0.1  # relative depth jump above which the lift stays at the Gaussian's own depth
MAX_CYCLE_DEPTH_CHANGE = 0.6  # a particle's depth may change by at most this fraction over one cycle's travel


SURFACE_SMOOTH_PX = 3.0  # σ of the smoothing of the depth surface the lift follows (px of the working image)


def smooth_surface(depth_m: np.ndarray, region: np.ndarray, sigma_px: float = SURFACE_SMOOTH_PX) -> np.ndarray:
    """Depth smoothed inside ``region`` only (normalised blur of log-depth), unchanged outside it."""
    if not region.any():
        return depth_m
    weight = region.astype(np.float32)
    log_depth = np.log(np.maximum(depth_m, 1e-9)).astype(np.float32)
    blurred = cv2.GaussianBlur(log_depth * weight, (0, 0), sigma_px) / np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma_px), 1e-6)
    return np.where(region, np.exp(blurred), depth_m).astype(depth_m.dtype)


def lift_single_view(
    means_world: torch.Tensor, flow: Flow2D, depth_m: np.ndarray, camera: Camera, confine: bool = True
) -> torch.Tensor:
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
    raw = depth_m.astype(np.float64)
    surface = smooth_surface(raw, flow.moving)
    surface_here, raw_here = sample_bilinear(surface, uv_m), sample_bilinear(raw, uv_m)

    # The straight path is the chord between the surface points half a cycle up- and downstream, so the speed at
    # rest (and on average over the cycle) is the requested one although perspective bends the projected path.
    half = 0.5 * max(float(flow.travel_frames), 1.0)
    ends = []
    for sign in (1.0, -1.0):
        target_uv = uv_m + sign * half * f_px
        ratio = sample_bilinear(surface, target_uv) / np.maximum(surface_here, 1e-9)
        raw_there = sample_bilinear(raw, target_uv)
        # Across a depth edge (per pixel of travel) the Gaussian keeps its own depth.
        jump = np.abs(raw_there - raw_here) > DEPTH_EDGE_RATIO * raw_here * np.maximum(1.0, half * np.linalg.norm(f_px, axis=-1))
        ratio = np.where(jump, 1.0, ratio)
        # Clamp the depth change, not the speed: nothing flies at the camera, the on-screen motion stays.
        target_z = z_m * np.clip(ratio, 1.0 - 0.5 * MAX_CYCLE_DEPTH_CHANGE, 1.0 + 0.5 * MAX_CYCLE_DEPTH_CHANGE)
        ends.append(unproject(target_uv, target_z, camera.K))  # camera frame
    delta_camera = (ends[0] - ends[1]) / (2.0 * half)
    rotation_camera_to_world = camera.camera_to_world[:3, :3].numpy().astype(np.float64)
    velocity[moving] = delta_camera @ rotation_camera_to_world.T
    velocity_t = torch.from_numpy(velocity.astype(np.float32))
    return confine_to_regions(means_world, velocity_t, flow, camera) if confine else velocity_t


def confine_to_regions(means_world: torch.Tensor, velocity: torch.Tensor, flow: Flow2D, camera: Camera) -> torch.Tensor:
    """Fit every path (its travel over a cross-fade cycle), seen from the source camera, into its region: a path
    that would leave it gives up as much of its depth change as needed (``flat_velocity``: the on-screen speed at
    rest stays), and only a path that does not fit even flat is shortened.

    A visible copy strays at most v·T·r⁺ ahead of rest and v·T·r⁻ behind it (``animate.cycle_reach``: r ≤ 1 by the
    particle's phase offset, ``flow.reach``; T = ``flow.travel_frames``), and a straight 3D path projects to a
    straight 2D segment; so the segment from p − v·T·r⁻ to p + v·T·r⁺ is sampled every pixel and
    must stay inside the region, ``TAPER_MARGIN_PX`` (a Gaussian's footprint) from its border or at least as far
    as it starts (a particle along a river bank may run along it), so pixels outside the motion regions never
    change. Needed because the lift follows the surface in 3D, whose projection perspective
    stretches beyond the tapered 2D field.
    """
    moving = velocity.abs().sum(dim=-1) > 0
    if not moving.any():
        return velocity
    points, v = means_world[moving].double(), velocity[moving].double()
    uv, z = project_points(points, camera)
    height, width = flow.moving.shape
    cols = uv[:, 0].clamp(0, width - 1).long().numpy()
    rows = uv[:, 1].clamp(0, height - 1).long().numpy()
    region_id = flow.region_id
    own = region_id[rows, cols]
    # Paths keep a footprint's margin from the region's border, or at least stay as far from it as they start.
    inward = distance_inside(region_id > 0)
    need = np.minimum(TAPER_MARGIN_PX, inward[rows, cols] - 0.5)
    forward, backward = flow.reach_at(rows, cols)
    frames = {1.0: float(flow.travel_frames) * forward, -1.0: float(flow.travel_frames) * backward}

    uv_np, z_np = uv.numpy(), z.numpy()
    longest = 4 * max(height, width)

    def leaves(index: np.ndarray, velocities: torch.Tensor) -> np.ndarray:
        """[len(index)] bool: the paths of particles ``index`` moving at ``velocities`` leave the region."""
        p, vv, start = points[index], velocities, uv_np[index]
        own_i, need_i = own[index], need[index]
        bad = np.zeros(len(index), bool)
        for sign in (1.0, -1.0):
            n = torch.from_numpy(frames[sign][index])[:, None]
            end_uv, end_z = project_points(p + sign * n * vv, camera)
            bad |= end_z.numpy() <= 0.01 * z_np[index]
            delta = end_uv.numpy() - start
            length = np.hypot(delta[:, 0], delta[:, 1])
            # Each path is sampled at its own step (under a pixel), and only while it is still inside: most paths
            # are short, so the work follows the total path length, not the longest path × the particle count.
            steps = np.minimum(np.ceil(length), longest).astype(np.int64) + 1
            active = np.flatnonzero(~bad & (length > 0.5))  # a path shorter than half a pixel never leaves
            j = 1
            while active.size:
                frac = np.minimum(1.0, j / steps[active])
                pos = np.floor(start[active] + delta[active] * frac[:, None]).astype(np.int64)
                x, y = pos[:, 0], pos[:, 1]
                inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
                ok = np.zeros(active.size, bool)
                xi, yi, ai = x[inside], y[inside], active[inside]
                ok[inside] = (region_id[yi, xi] == own_i[ai]) & (inward[yi, xi] >= need_i[ai])
                fail = ~ok & (length[active] * frac > 0.5)
                bad[active[fail]] = True
                active = active[~fail & (j < steps[active])]
                j += 1
        return bad

    def largest_fitting(index: np.ndarray, velocity_at: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Per particle of ``index``, the largest t ∈ [0, 1] whose path at ``velocity_at(t)`` fits, by bisection
        (a coarse fixed step would throw away a quarter of a path that overshoots by a pixel)."""
        low, high = torch.zeros(index.size, dtype=torch.float64), torch.ones(index.size, dtype=torch.float64)
        for _ in range(7):
            mid = 0.5 * (low + high)
            bad = torch.from_numpy(leaves(index, velocity_at(mid)))
            high = torch.where(bad, mid, high)
            low = torch.where(bad, low, mid)
        return low

    out_v = v.clone()
    over = np.flatnonzero(leaves(np.arange(len(points)), v))
    if over.size:
        # Perspective stretches a path that changes depth (water coming toward the camera speeds up on screen),
        # so give up the depth change first: the flat path (no depth change, the same on-screen motion at rest)
        # projects to the straight 2D segment the field's taper already fits into the region. Only paths that
        # do not fit even flat are slowed down.
        surface, flat = v[over], flat_velocity(points[over], v[over], camera)
        share = largest_fitting(over, lambda t: flat + t[:, None] * (surface - flat))
        out_v[over] = flat + share[:, None] * (surface - flat)
        still = over[leaves(over, out_v[over])]
        if still.size:
            slow = out_v[still]
            scale = largest_fitting(still, lambda t: slow * t[:, None])
            out_v[still] = slow * scale[:, None]
    out = velocity.clone()
    out[moving] = out_v.float()
    return out


def flat_velocity(points_world: torch.Tensor, velocity: torch.Tensor, camera: Camera) -> torch.Tensor:
    """Velocities with the same on-screen motion at ``points_world`` as ``velocity`` but no change of depth in
    ``camera``'s frame: a straight path that projects to a straight 2D path at constant speed."""
    step = 1e-3
    uv0, z = project_points(points_world, camera)
    uv1, _ = project_points(points_world + step * velocity, camera)
    screen = (uv1 - uv0) / step  # px per frame at rest
    K = torch.as_tensor(camera.K, dtype=points_world.dtype)
    delta_camera = torch.stack([screen[:, 0] * z / K[0, 0], screen[:, 1] * z / K[1, 1], torch.zeros_like(z)], dim=-1)
    rotation_camera_to_world = torch.as_tensor(camera.camera_to_world, dtype=points_world.dtype)[:3, :3]
    return delta_camera @ rotation_camera_to_world.T


__all__ = ["confine_to_regions", "flat_velocity", "lift_single_view", "smooth_surface"]
