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
