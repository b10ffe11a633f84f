"""The one camera module: NumPy and torch paths agree with each other and with the pinhole formula written out."""

import numpy as np
import pytest
import torch

from landscape4d.camera import (
    Camera,
    camera_to_pixels,
    identity_camera,
    invert_pose,
    look_at,
    pixel_grid,
    pixels_to_camera,
    pose_world_to_camera,
    project,
    project_points,
    rotation_matrix,
    transform_points,
    unproject,
    unproject_depth,
)


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random world points in front of a turned, shifted camera with an off-centre, non-square K."""
    rng = np.random.default_rng(seed)
    points_world = rng.normal(size=(200, 3)) + np.array([0.0, 0.0, 4.0])
    K = np.array([[310.0, 0.0, 61.5], [0.0, 290.0, 44.25], [0.0, 0.0, 1.0]])
    world_to_camera = pose_world_to_camera(np.array([0.3, -0.2, -0.5]), rotation_matrix(8.0, -5.0, 3.0).numpy())
    return points_world, K, world_to_camera


def _brute_force_project(points_world: np.ndarray, K: np.ndarray, world_to_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point, with homogeneous coordinates: [u v 1]ᵀ ∝ K [R | t] [X 1]ᵀ."""
    uv, z = [], []
    for point in points_world:
        camera = (world_to_camera @ np.append(point, 1.0))[:3]
        homogeneous = K @ camera
        uv.append(homogeneous[:2] / homogeneous[2])
        z.append(camera[2])
    return np.array(uv), np.array(z)


def test_project_numpy_and_torch_agree_with_the_formula():
    points_world, K, world_to_camera = _scene()
    uv_ref, z_ref = _brute_force_project(points_world, K, world_to_camera)

    uv_np, z_np = project(points_world, K, world_to_camera)
    assert isinstance(uv_np, np.ndarray) and uv_np.dtype == np.float64 and uv_np.shape == (200, 2)
    np.testing.assert_allclose(uv_np, uv_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(z_np, z_ref, rtol=0, atol=1e-12)

    # torch float64 with NumPy matrices: same numbers; float32 tensors keep float32 (round-off only).
    uv_t, z_t = project(torch.from_numpy(points_world), K, world_to_camera)
    assert isinstance(uv_t, torch.Tensor) and uv_t.dtype == torch.float64
    np.testing.assert_allclose(uv_t.numpy(), uv_np, rtol=0, atol=1e-9)
    uv_32, z_32 = project(torch.from_numpy(points_world).float(), torch.from_numpy(K), torch.from_numpy(world_to_camera))
    assert uv_32.dtype == torch.float32 and z_32.dtype == torch.float32
    np.testing.assert_allclose(uv_32.numpy(), uv_ref, rtol=0, atol=2e-3)

    # project_points through a Camera, either kind of points; batch dimensions are kept.
    camera = Camera(torch.from_numpy(K).float(), torch.from_numpy(world_to_camera).float(), 123, 89)
    uv_cam, _ = project_points(points_world, camera)
    assert isinstance(uv_cam, np.ndarray)
    np.testing.assert_allclose(uv_cam, uv_ref, rtol=0, atol=1e-3)
    uv_batch, z_batch = project(points_world.reshape(10, 20, 3), K, world_to_camera)
    assert uv_batch.shape == (10, 20, 2) and z_batch.shape == (10, 20)
    np.testing.assert_array_equal(uv_batch.reshape(200, 2), uv_np)


def test_pixel_centres_sit_at_half_pixels():
    camera = identity_camera(64, 48)
    uv, z = project_points(torch.tensor([[0.0, 0.0, 2.0]]), camera)
    assert uv.tolist() == [[32.0, 24.0]] and z.tolist() == [2.0]  # the principal point: the image centre
    # unproject_depth puts pixel (0, 0)'s point on the ray through (0.5, 0.5).
    points = unproject_depth(np.full((48, 64), 3.0, np.float32), camera.K)
    uv00, _ = project_points(torch.from_numpy(points[0, 0][None]), camera)
    np.testing.assert_allclose(uv00.numpy(), [[0.5, 0.5]], atol=1e-5)


def test_points_on_the_camera_plane_stay_finite():
    uv, z = camera_to_pixels(np.array([[1.0, 1.0, 0.0]]), np.eye(3))
    assert np.isfinite(uv).all() and z[0] == 0.0
    uv_t, _ = camera_to_pixels(torch.tensor([[1.0, 1.0, 0.0]]), torch.eye(3))
    assert torch.isfinite(uv_t).all()


def test_unproject_inverts_project():
    points_world, K, world_to_camera = _scene(1)
    uv, z = project(points_world, K, world_to_camera)
    np.testing.assert_allclose(unproject(uv, z, K, world_to_camera), points_world, rtol=0, atol=1e-9)
    back_t = unproject(torch.from_numpy(uv), torch.from_numpy(z), torch.from_numpy(K), torch.from_numpy(world_to_camera))
    np.testing.assert_allclose(back_t.numpy(), points_world, rtol=0, atol=1e-9)
    # Without a pose: camera-frame points; and project(unproject(uv, z)) = (uv, z) in both directions.
    points_camera = unproject(uv, z, K)
    np.testing.assert_allclose(points_camera, transform_points(points_world, world_to_camera), atol=1e-9)
    uv_again, z_again = camera_to_pixels(pixels_to_camera(uv, z, K), K)
    np.testing.assert_allclose(uv_again, uv, atol=1e-9)
    np.testing.assert_allclose(z_again, z, atol=1e-12)
    # A scalar depth is broadcast to every pixel.
    np.testing.assert_array_equal(pixels_to_camera(uv, 2.0, K)[:, 2], np.full(len(uv), 2.0))


def test_unproject_depth_matches_pixel_formula_in_both_kinds():
    rng = np.random.default_rng(2)
    depth_m = rng.uniform(1.0, 20.0, size=(6, 9)).astype(np.float32)
    K = np.array([[12.0, 0.0, 4.5], [0.0, 11.0, 3.0], [0.0, 0.0, 1.0]])
    points = unproject_depth(depth_m, K)
    assert points.dtype == np.float32 and points.shape == (6, 9, 3)
    for row, col in [(0, 0), (5, 8), (2, 7)]:
        z = float(depth_m[row, col])
        expected = [(col + 0.5 - 4.5) / 12.0 * z, (row + 0.5 - 3.0) / 11.0 * z, z]
        np.testing.assert_allclose(points[row, col], expected, rtol=1e-6)
    points_t = unproject_depth(torch.from_numpy(depth_m).double(), torch.from_numpy(K))
    assert isinstance(points_t, torch.Tensor) and points_t.dtype == torch.float64
    np.testing.assert_allclose(points_t.numpy(), points, rtol=1e-6)
    np.testing.assert_array_equal(pixel_grid(9, 6)[5, 8], [8.5, 5.5])


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_look_at_is_an_orthonormal_opencv_pose_looking_at_the_target(kind):
    position, target = np.array([1.5, -0.5, -0.5]), np.array([0.2, 0.1, 3.5])
    if kind == "torch":
        world_to_camera = look_at(torch.tensor(position, dtype=torch.float32), torch.tensor(target, dtype=torch.float32))
        assert isinstance(world_to_camera, torch.Tensor) and world_to_camera.dtype == torch.float32
        world_to_camera, tol = world_to_camera.double().numpy(), 1e-5
    else:
        world_to_camera, tol = look_at(position, target), 1e-12
    rotation = world_to_camera[:3, :3]
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=tol)
    assert np.linalg.det(rotation) == pytest.approx(1.0, abs=tol)  # right-handed: x right, y down, z forward
    np.testing.assert_allclose(world_to_camera[3], [0, 0, 0, 1])
    np.testing.assert_allclose(transform_points(position, world_to_camera), [0, 0, 0], atol=tol)  # camera centre
    target_camera = transform_points(target, world_to_camera)
    np.testing.assert_allclose(target_camera[:2], [0, 0], atol=tol)  # on the optical axis ...
    assert target_camera[2] == pytest.approx(np.linalg.norm(target - position), rel=1e-5)  # ... in front
    # Image "up" (−y camera) points to world up (−y world) as far as the view direction allows: no roll.
    camera_to_world = invert_pose(world_to_camera)
    assert camera_to_world[:3, 1] @ np.array([0.0, 1.0, 0.0]) > 0.9
    assert abs(camera_to_world[:3, 0] @ np.array([0.0, 1.0, 0.0])) < tol


def test_look_at_and_pose_agree_across_kinds():
    position, target = torch.tensor([0.3, -0.2, -0.5]), torch.tensor([0.0, 0.0, 3.0])
    np.testing.assert_allclose(look_at(position, target).numpy(), look_at(position.numpy(), target.numpy()), atol=1e-6)
    rotation = rotation_matrix(10.0, -4.0, 2.0)
    pose_t = pose_world_to_camera(position, rotation)
    pose_np = pose_world_to_camera(position.numpy(), rotation.numpy())
    assert pose_t.dtype == torch.float32 and pose_np.dtype == np.float64
    np.testing.assert_allclose(pose_t.numpy(), pose_np, atol=1e-6)
    np.testing.assert_allclose(invert_pose(pose_np)[:3, 3], position.numpy(), atol=1e-6)


def test_autograd_flows_through_project_points_and_look_at():
    points_world, K, world_to_camera = _scene(3)
    camera = Camera(torch.from_numpy(K), torch.from_numpy(world_to_camera), 123, 89)
    means = torch.from_numpy(points_world[:5]).requires_grad_(True)
    uv, z = project_points(means, camera)
    (uv.sum() + z.sum()).backward()
    # d(u + v + z)/d(point) by the chain rule: (∂uv/∂camera summed over u, v + e_z) · R.
    x, y, zc = transform_points(points_world[:5], world_to_camera).T
    d_camera = np.stack([K[0, 0] / zc, K[1, 1] / zc, 1.0 - K[0, 0] * x / zc**2 - K[1, 1] * y / zc**2], -1)
    np.testing.assert_allclose(means.grad.numpy(), d_camera @ world_to_camera[:3, :3], rtol=1e-10)
    # Through the pose as well (a camera path optimised by the rasterizer's gradients).
    position = torch.tensor([0.3, -0.2, -0.5], dtype=torch.float64, requires_grad=True)
    pose = look_at(position, torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64))
    uv, _ = project(torch.from_numpy(points_world[:5]), camera.K, pose)
    uv.sum().backward()
    assert position.grad is not None and torch.isfinite(position.grad).all() and position.grad.abs().sum() > 0


def test_camera_keeps_dtype_and_device_of_torch_inputs():
    camera = identity_camera(32, 24)
    moved = camera.with_pose(pose_world_to_camera(torch.tensor([0.1, 0.0, 0.0], dtype=torch.float64), torch.eye(3)))
    assert moved.world_to_camera.dtype == torch.float32  # converted to K's dtype
    uv, z = project_points(torch.zeros(4, 3, dtype=torch.float64) + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), moved)
    assert uv.dtype == torch.float64 and z.dtype == torch.float64
    # A NumPy camera works the same as a torch one.
    camera_np = Camera(camera.K.numpy(), camera.world_to_camera.numpy(), 32, 24)
    uv_np, _ = project_points(np.array([[0.2, -0.1, 2.0]]), camera_np)
    uv_t, _ = project_points(torch.tensor([[0.2, -0.1, 2.0]]), camera)
    np.testing.assert_allclose(uv_np, uv_t.numpy(), atol=1e-5)
    np.testing.assert_allclose(camera_np.position_world, [0, 0, 0])


def test_sample_bilinear_on_tensors_matches_numpy_inside_and_clamped_outside():
    """The tensor path (a GPU's per-copy sampling) and the NumPy one give the same values: bilinear inside, a pixel
    centre samples that pixel, and the edge is clamped outside."""
    import numpy as np
    import torch

    from landscape4d.camera import sample_bilinear

    rng = np.random.default_rng(5)
    image = rng.random((7, 9, 3))
    uv = np.concatenate([rng.uniform(0, 9, (40, 1)), rng.uniform(0, 7, (40, 1))], axis=1)
    uv = np.concatenate([uv, [[-3.0, 2.0], [12.0, 8.5], [0.5, 0.5], [8.5, 6.5], [2.0, 1.5]]])
    expected = sample_bilinear(image, uv)
    assert isinstance(expected, np.ndarray) and expected.dtype == np.float64
    got = sample_bilinear(image, torch.from_numpy(uv))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(expected[-3], image[0, 0])  # a pixel centre samples that pixel
    np.testing.assert_allclose(expected[-2], image[6, 8])
    np.testing.assert_allclose(expected[-5], 0.5 * (image[1, 0] + image[2, 0]))  # left of the image: the edge column
    np.testing.assert_allclose(expected[-1], 0.5 * (image[1, 1] + image[1, 2]))  # halfway between two centres
    np.testing.assert_allclose(sample_bilinear(image[..., 0], torch.from_numpy(uv)).numpy(), expected[:, 0], atol=1e-12)
