import numpy as np
import torch

from landscape4d.camera import identity_camera, project_points, unproject_depth
from landscape4d.flow2d import Flow2D
from landscape4d.motion3d import MAX_CYCLE_DEPTH_CHANGE, lift_single_view


def _flow(h, w, du, dv, moving=None, travel_frames=30):
    f = np.zeros((h, w, 2), np.float32)
    f[..., 0], f[..., 1] = du, dv
    moving = np.ones((h, w), bool) if moving is None else moving
    f[~moving] = 0
    return Flow2D(f, moving, moving.astype(np.int32), travel_frames)


def test_projection_of_lifted_motion_equals_2d_flow():
    h, w = 48, 64
    camera = identity_camera(w, h)
    v, u = np.mgrid[0:h, 0:w]
    depth = (2.0 + 8.0 * (1 - v / h)).astype(np.float32)  # a ground plane receding upward
    points = torch.from_numpy(unproject_depth(depth, camera.K).reshape(-1, 3))
    moving = np.zeros((h, w), bool)
    moving[24:, :] = True
    velocity = lift_single_view(points, _flow(h, w, 0.0, 0.1, moving), depth, camera)
    uv0, _ = project_points(points, camera)
    uv1, z1 = project_points(points + velocity, camera)
    delta = (uv1 - uv0).reshape(h, w, 2).numpy()
    np.testing.assert_allclose(delta[30:40, 8:-8, 1], 0.1, atol=1e-3)  # the chord: within 1 % of the field
    np.testing.assert_allclose(delta[30:40, 8:-8, 0], 0.0, atol=1e-4)
    assert np.all(velocity.reshape(h, w, 3)[:24].numpy() == 0)  # static pixels never move
    # Sliding down the image on this ground means coming toward the camera.
    assert (velocity.reshape(h, w, 3)[30:40, 8:-8, 2] < 0).all()


def test_depth_change_over_a_cycle_is_capped_near_the_horizon_but_not_the_speed():
    h, w = 112, 64
    camera = identity_camera(w, h)
    v, _ = np.mgrid[0:h, 0:w]
    depth = (40.0 / (v + 1.0)).astype(np.float32)  # a steep ground plane: far rows change depth fast
    points = torch.from_numpy(unproject_depth(depth, camera.K).reshape(-1, 3))
    velocity = lift_single_view(points, _flow(h, w, 0.0, 2.0, travel_frames=10), depth, camera)
    z = points[:, 2]
    cap = MAX_CYCLE_DEPTH_CHANGE
    assert torch.all(velocity[:, 2].abs() * 10 <= cap * z + 1e-5)
    assert float((velocity[:, 2].abs() * 10 / z).max()) > 0.8 * cap  # the cap is reached (steep rows)
    uv0, _ = project_points(points, camera)
    uv1, _ = project_points(points + velocity, camera)
    moved = (uv1 - uv0)[:, 1].reshape(h, w)
    # On screen the motion is what was asked (2 px/frame down) where a whole cycle's path (20 px each way) stays in
    # the photo; confinement shortens paths that would leave it.
    np.testing.assert_allclose(moved[45:60, 29:35].numpy(), 2.0, rtol=0.15)  # the chord bends on this steep plane
    assert torch.all(moved >= -1e-5)  # never reversed


def test_loop_paths_stay_inside_their_region_in_the_source_view():
    # Water on a ground plane, flowing down the image: the surface lift comes toward the camera, whose
    # projection grows faster than the 2D field; confinement keeps both loop ends inside the water.
    h, w, loop = 48, 64, 60
    camera = identity_camera(w, h)
    v, _ = np.mgrid[0:h, 0:w]
    depth = (2.0 + 8.0 * (1 - v / h)).astype(np.float32)
    points = torch.from_numpy(unproject_depth(depth, camera.K).reshape(-1, 3))
    water = np.zeros((h, w), bool)
    water[20:40] = True
    flow = _flow(h, w, 0.0, 0.3, water, travel_frames=loop)
    velocity = lift_single_view(points, flow, depth, camera)
    moving = velocity.abs().sum(-1) > 0
    assert moving.sum() > 100
    uv0, _ = project_points(points[moving], camera)
    for sign in (1, -1):
        uv, _ = project_points(points[moving] + sign * loop * velocity[moving], camera)
        assert uv[:, 1].min() >= 20 - 1e-3 and uv[:, 1].max() <= 40 + 1e-3


def test_a_path_that_overshoots_gives_up_depth_change_before_speed():
    # A steep ground plane: the surface lift comes toward the camera so fast that its projection overshoots the
    # water's lower border; the flat path (no depth change) fits, so the on-screen speed at rest is kept.
    from landscape4d.motion3d import confine_to_regions, flat_velocity

    h, w, loop = 96, 64, 20
    camera = identity_camera(w, h)
    v, _ = np.mgrid[0:h, 0:w]
    depth = (60.0 / (v + 4.0)).astype(np.float32)
    points = torch.from_numpy(unproject_depth(depth, camera.K).reshape(-1, 3)).double()
    water = np.zeros((h, w), bool)
    water[30:70] = True
    flow = _flow(h, w, 0.0, 0.5, water, travel_frames=loop)
    surface = lift_single_view(points.float(), flow, depth, camera, confine=False).double()
    index = torch.arange(h * w).reshape(h, w)[55:58, 28:36].reshape(-1)  # 10–13 px above the border
    chosen, lifted = points[index], surface[index]
    end, _ = project_points(chosen + loop * lifted, camera)
    assert float(end[:, 1].max()) > 69.0  # the surface path leaves the water's 2 px margin ...
    end_flat, _ = project_points(chosen + loop * flat_velocity(chosen, lifted, camera), camera)
    assert float(end_flat[:, 1].max()) < 68.0  # ... the flat one stays inside it
    confined = confine_to_regions(chosen.float(), lifted.float(), flow, camera).double()
    for sign in (1, -1):
        uv, _ = project_points(chosen + sign * loop * confined, camera)
        assert float(uv[:, 1].max()) < 69.0 and float(uv[:, 1].min()) >= 30.0
    uv0, _ = project_points(chosen, camera)
    uv1, _ = project_points(chosen + 1e-3 * confined, camera)
    np.testing.assert_allclose(((uv1 - uv0) / 1e-3)[:, 1].numpy(), 0.5, rtol=0.02)  # the asked speed on screen
    assert bool((confined[:, 2] < 0).all())  # and what depth change fits is kept (it still comes closer)


def test_confinement_uses_each_particles_own_reach():
    # A particle whose copies only reach 0.5 cycle forward and backward may move twice as fast in a narrow band.
    h, w, loop = 40, 64, 20
    camera = identity_camera(w, h)
    depth = np.full((h, w), 5.0, np.float32)
    points = torch.from_numpy(unproject_depth(depth, camera.K).reshape(-1, 3))
    water = np.zeros((h, w), bool)
    water[:, 16:48] = True
    velocity_px = 1.0  # 20 px each way over a whole cycle: more than the ~14 px from the band's centre to its margin
    flow_full = _flow(h, w, velocity_px, 0.0, water, travel_frames=loop)
    half = Flow2D(flow_full.flow_px_per_frame, flow_full.moving, flow_full.region_id, loop, np.full((h, w, 2), 0.5, np.float32))
    from landscape4d.motion3d import confine_to_regions

    centre = torch.arange(h * w).reshape(h, w)[18:22, 30:34].reshape(-1)
    lifted = lift_single_view(points, flow_full, depth, camera, confine=False)[centre]

    def screen_speed(v: torch.Tensor) -> np.ndarray:
        uv0, _ = project_points(points[centre], camera)
        uv1, _ = project_points(points[centre] + v, camera)
        return (uv1 - uv0)[:, 0].numpy()

    assert screen_speed(confine_to_regions(points[centre], lifted, flow_full, camera)).max() < 0.8
    np.testing.assert_allclose(screen_speed(confine_to_regions(points[centre], lifted, half, camera)), 1.0, rtol=1e-3)
