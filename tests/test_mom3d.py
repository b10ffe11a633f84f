"""3D-MOM (``landscape4d.mom3d``): known 3D motion recovered from per-view 2D flows with noise and occlusions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape4d.camera import Camera, identity_camera, pose_world_to_camera, rotation_matrix
from landscape4d.flow2d import Arrow, Flow2D
from landscape4d.mom3d import (
    PAPER, MomSettings, ViewMotion, carry_arrows_to_view, carry_regions_to_view, lift_multi_view, solve_velocities,
)

SIZE = 64


def _plane_depth(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Depth map of the tilted ground plane z = 3 + 0.8·y (world) seen by ``camera``, and the world points."""
    v, u = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    K = camera.K.numpy().astype(np.float64)
    c2w = camera.camera_to_world.numpy().astype(np.float64)
    rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1) @ c2w[:3, :3].T
    origin = c2w[:3, 3]
    # origin + t·ray on z − 0.8·y = 3.
    t = (3.0 - origin[2] + 0.8 * origin[1]) / (rays[..., 2] - 0.8 * rays[..., 1])
    world = origin + t[..., None] * rays
    depth = (world - origin) @ c2w[:3, :3][:, 2]
    return depth, world


def _true_velocity(world: np.ndarray) -> np.ndarray:
    """A smooth field along the plane (v_z = 0.8·v_y) with a large component along the source rays, which the
    source view alone cannot see."""
    x = world[..., 0]
    return np.stack([0.004 + 0.002 * np.sin(3 * x), -0.015 * np.ones_like(x), -0.012 * np.ones_like(x)], -1)


def _view_flow(camera: Camera, world: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    w2c = camera.world_to_camera.numpy().astype(np.float64)
    K = camera.K.numpy().astype(np.float64)

    def proj(points: np.ndarray) -> np.ndarray:
        cam = points @ w2c[:3, :3].T + w2c[:3, 3]
        return cam[..., :2] / cam[..., 2:3] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]

    return proj(world + velocity) - proj(world)


def _views(noise_px: float, seed: int = 0) -> tuple[list[ViewMotion], torch.Tensor, torch.Tensor, Camera]:
    rng = np.random.default_rng(seed)
    source = identity_camera(SIZE, SIZE, 60.0)
    depth0, world0 = _plane_depth(source)
    points = torch.from_numpy(world0.reshape(-1, 3))
    truth = torch.from_numpy(_true_velocity(world0).reshape(-1, 3))
    views = []
    poses = [((0.0, 0.0, 0.0), (0, 0)), ((0.4, 0.0, 0.0), (-6, 0)), ((-0.4, 0.0, 0.0), (6, 0)),
             ((0.0, -0.4, 0.0), (0, -6)), ((0.0, 0.3, 0.5), (0, 4)), ((0.3, -0.3, -0.4), (-4, -4))]
    for index, (position, (yaw, pitch)) in enumerate(poses):
        w2c = pose_world_to_camera(torch.tensor(position, dtype=torch.float32), rotation_matrix(yaw, pitch))
        camera = source.with_pose(w2c)
        depth, world = _plane_depth(camera)
        flow = _view_flow(camera, world, _true_velocity(world)) + rng.normal(0, noise_px, (SIZE, SIZE, 2))
        if index in (1, 3):
            # An occluder in front of part of the plane: its pixels carry wrong (zero) motion and a near depth,
            # so the plane points behind it must be treated as invisible in this view.
            depth[20:40, 10:30] = 0.5
            flow[20:40, 10:30] = 0.0
        views.append(ViewMotion(camera, flow.astype(np.float32), depth.astype(np.float32), np.ones((SIZE, SIZE), bool)))
    return views, points, truth, source


def _relative_error(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    return float((estimate - truth).norm(dim=-1).mean() / truth.norm(dim=-1).mean())


def test_plain_3dmom_recovers_known_motion_from_noisy_occluded_views() -> None:
    views, points, truth, _ = _views(noise_px=0.002)
    start = torch.zeros_like(truth)
    estimate = solve_velocities(points, start, views, PAPER)
    error = _relative_error(estimate, truth)
    assert error < 0.05, f"relative error {error:.3f}"
    # The source view alone cannot see motion along its rays: the same solve on it alone is far off.
    alone = solve_velocities(points, start, views[:1], PAPER)
    assert _relative_error(alone, truth) > 0.3


def test_priors_keep_the_solution_within_five_percent_where_the_views_alone_miss_by_a_quarter() -> None:
    # Noise of 0.03 px per view on motions of ~0.5 px: the paper's objective alone is off by ~29 %.
    views, points, truth, source = _views(noise_px=0.03, seed=1)
    grid = torch.arange(SIZE * SIZE)
    region = torch.full((SIZE * SIZE,), 2)  # water: the surface prior, normal of the plane z − 0.8·y = 3
    normal = torch.tensor([0.0, -0.8, 1.0], dtype=torch.float64)
    normal = (normal / normal.norm()).expand(SIZE * SIZE, 3)

    def error_of(settings: MomSettings) -> float:
        estimate = solve_velocities(points, torch.zeros_like(truth), views, settings, region, normal, grid, (SIZE, SIZE))
        return _relative_error(estimate, truth)

    plain = error_of(PAPER)
    # Each prior on its own (the source view here is as noisy as the others, so no anchor).
    ours = error_of(MomSettings(confine=False, anchor=0.0))  # smoothness among neighbours (on by default)
    with_surface = error_of(MomSettings(confine=False, anchor=0.0, surface=1.0))  # + the (switchable) surface prior
    assert plain > 0.2, plain
    assert ours < 0.1 and ours < plain / 2, (ours, plain)
    assert with_surface < 0.05, f"relative error {with_surface:.3f}"  # the true motion is tangent to the plane


def test_follow_surface_fills_in_the_motion_along_the_source_rays_that_no_view_sees() -> None:
    """With the source view alone the motion along its rays is unobservable: from rest it stays zero and the
    Gaussians leave their surface. The follow-surface prior takes that part from the surface-following lift (here
    the true motion, which runs along the plane) and leaves the visible part to the data."""
    views, points, truth, source = _views(noise_px=0.0)
    grid = torch.arange(SIZE * SIZE)
    ray = points - source.camera_to_world[:3, 3].double()
    ray = ray / ray.norm(dim=-1, keepdim=True)
    for region_id, settings in ((1, MomSettings(confine=False, follow_surface_water=0.0)),
                                (2, MomSettings(confine=False, follow_surface=0.0, follow_surface_water=3.0))):
        region = torch.full((SIZE * SIZE,), region_id)
        kwargs = dict(region_of=region, neighbour_pixel=grid, grid_shape=(SIZE, SIZE))
        without = solve_velocities(points, torch.zeros_like(truth), views[:1],
                                   MomSettings(confine=False, follow_surface=0.0, follow_surface_water=0.0), **kwargs)
        along_without = (without * ray).sum(-1)
        along_truth = float((truth * ray).sum(-1).abs().mean())
        assert float(along_without.abs().mean()) < 0.2 * along_truth  # stays near its start (rest)
        assert _relative_error(without, truth) > 0.3
        followed = solve_velocities(points, torch.zeros_like(truth), views[:1], settings, surface_velocity=truth, **kwargs)
        error = _relative_error(followed, truth)
        assert error < 0.05, f"region {region_id}: relative error {error:.3f}"
        # The source view's own projected motion is unchanged by the prior (the ray part projects to nothing).
        assert _relative_error(followed - (followed * ray).sum(-1, keepdim=True) * ray,
                               without - along_without[:, None] * ray) < 0.01


def test_regions_and_arrows_are_carried_into_a_view() -> None:
    source = identity_camera(SIZE, SIZE, 60.0)
    depth0, _ = _plane_depth(source)
    region = np.zeros((SIZE, SIZE), np.int32)
    region[40:, :] = 2
    region[:10, :] = 1
    # The identity view gets the same map; a view moved right sees the map shifted left.
    same = carry_regions_to_view(region, source, source, depth0.astype(np.float32))
    assert (same == region).mean() > 0.99
    moved = source.with_pose(pose_world_to_camera(torch.tensor([0.3, 0.0, 0.0]), rotation_matrix()))
    depth1, _ = _plane_depth(moved)
    carried = carry_regions_to_view(region, source, moved, depth1.astype(np.float32))
    assert carried[50, 5] == 2 and carried[50, 60] == 0  # the right edge saw nothing of the source
    arrows = carry_arrows_to_view([Arrow(32, 50, 32, 58)], source, depth0, moved)
    assert len(arrows) == 1 and arrows[0].x0 < 32 and arrows[0].y1 > arrows[0].y0
    assert carry_arrows_to_view([Arrow(1, 50, 2, 58)], source, depth0, moved) == []  # now left of the view


def test_lift_multi_view_moves_only_what_the_source_field_moves() -> None:
    views, points, truth, source = _views(noise_px=0.0)
    depth0, world0 = _plane_depth(source)
    moving = np.zeros((SIZE, SIZE), bool)
    moving[32:, 8:56] = True
    flow = views[0].flow_px_per_frame * moving[..., None]
    region = np.where(moving, 2, 0).astype(np.int32)
    source_flow = Flow2D(flow.astype(np.float32), moving, region, travel_frames=30.0)
    others = [ViewMotion(v.camera, v.flow_px_per_frame, v.depth_m, v.moving) for v in views[1:]]
    velocity = lift_multi_view(points.float(), source_flow, depth0.astype(np.float32), source, others,
                               MomSettings(confine=False))
    still = ~torch.from_numpy(moving.reshape(-1))
    assert velocity[still].abs().max() == 0
    inner = torch.from_numpy(np.pad(moving[36:-4, 12:52], ((36, 4), (12, 12))).reshape(-1))
    assert _relative_error(velocity[inner].double(), truth[inner]) < 0.1


def test_pipeline_with_3dmom_agrees_with_the_generated_views_better_than_the_lift() -> None:
    from landscape4d.mom3d import view_disagreement
    from landscape4d.pipeline import build
    from landscape4d.scene import LAYER_BACKDROP
    from landscape4d.settings import Settings
    from test_eval_cli import synthetic_landscape

    photo = synthetic_landscape(96, 64)
    result = build(photo, Settings(long_side=96, num_views=4, fit_iters=0, motion="3dmom"))
    inputs = result.motion_inputs
    # The lifter estimated the 2D motion of the views it solves with only: every third (views 0 and 3 of 4).
    assert inputs is not None and sorted(inputs._view_motion_cache) == [0, 3]
    assert len(inputs.view_motions) == 4
    assert all(view.flow_px_per_frame.shape == (64, 96, 2) and view.moving.any() for view in inputs.view_motions)
    scene = result.scene
    front = scene.layer != LAYER_BACKDROP
    assert scene.moving[front].any() and scene.velocity[~scene.moving].abs().max() == 0
    # The solve agrees with the views at least as well as the single-view lift it starts from.
    single = build(photo, Settings(long_side=96, num_views=4, fit_iters=0, motion="single-view")).scene
    views = [ViewMotion(inputs.camera, inputs.flow.flow_px_per_frame, inputs.depth_m, inputs.flow.moving), *inputs.view_motions]
    means = scene.gaussians.means[front]
    ours = view_disagreement(means, scene.velocity[front], views)
    lifted = view_disagreement(means, single.velocity[single.layer != LAYER_BACKDROP], views)
    assert ours <= lifted * 1.001, (ours, lifted)
