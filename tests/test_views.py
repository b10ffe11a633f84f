import numpy as np
import torch

from landscape4d.camera import identity_camera, pose_world_to_camera, project_points
from landscape4d.inpaint import ClassicInpainter, near_side
from landscape4d.views import gaussians_from_views, generate_views, render_rgbd, source_view

BLUE, RED = (0.1, 0.2, 0.9), (0.9, 0.1, 0.1)


def near_box_scene(h=48, w=64):
    image = np.empty((h, w, 3), np.float32)
    image[:] = BLUE
    depth = np.full((h, w), 10.0, np.float32)
    image[16:32, 24:40] = RED
    depth[16:32, 24:40] = 2.0
    return image, depth


def test_inpaint_fills_from_the_far_side_only():
    image, depth = near_box_scene()
    hole = np.zeros(depth.shape, bool)
    hole[16:32, 40:46] = True  # revealed right of the near box
    assert near_side(depth, hole)[20, 39]  # the box edge is recognised as the occluder
    filled, filled_depth = ClassicInpainter()(image, depth, hole)
    # Mostly the far side's blue; the red occluder may only tint it through the coarsest pyramid levels.
    assert filled[hole][:, 0].max() < 0.3 and filled[hole][:, 2].min() > 0.7
    assert np.all(filled_depth[hole] > 8.0)  # far side (10), not the occluder (2)
    np.testing.assert_array_equal(filled[~hole], image[~hole])


def test_views_reveal_and_fill_disocclusions_behind_the_photo_surface():
    image, depth = near_box_scene()
    camera = identity_camera(64, 48)
    source = source_view(image, depth, camera)
    pose = pose_world_to_camera(torch.tensor([0.3, 0.0, 0.0]), torch.eye(3))
    views = generate_views(source, [pose])
    assert len(views) == 2 and views[1].new_content.sum() > 20
    gaussians, origin = gaussians_from_views(views)
    added = gaussians.means[origin == 1]
    uv, z = project_points(added, camera)
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < 64) & (uv[:, 1] >= 0) & (uv[:, 1] < 48)
    surface = torch.from_numpy(depth)[uv[inside, 1].long(), uv[inside, 0].long()]
    assert torch.all(z[inside] >= surface * 1.02)  # never in front of what the photo shows
    _, _, alpha = render_rgbd(gaussians, views[1].camera)
    assert (alpha < 0.9).mean() < 0.002
    colours = gaussians.colors[origin == 1]
    assert (colours[:, 2] > colours[:, 0]).float().mean() > 0.95  # the revealed background is blue, not red


def test_generate_views_makes_each_views_gaussians_once(monkeypatch):
    """Multi-view generation is incremental: a new pose renders the Gaussians of the earlier views without
    rebuilding them, and the result equals building every view's Gaussians from scratch."""
    import landscape4d.views as views_module

    image, depth = near_box_scene()
    camera = identity_camera(64, 48)
    source = source_view(image, depth, camera)
    poses = [pose_world_to_camera(torch.tensor([dx, dy, 0.0]), torch.eye(3))
             for dx, dy in ((0.3, 0.0), (-0.3, 0.0), (0.0, 0.2), (0.0, -0.2))]
    calls: list[int] = []
    original = views_module.gaussians_from_pixels

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(views_module, "gaussians_from_pixels", counting)
    views = generate_views(source, poses)
    with_content = sum(bool(view.new_content.any()) for view in views)
    assert len(calls) == with_content  # once per view; rebuilding per pose would call it 2 + 3 + 4 + 5 + … times
    monkeypatch.setattr(views_module, "gaussians_from_pixels", original)
    gaussians, origin = gaussians_from_views(views)
    assert set(origin.unique().tolist()) <= set(range(len(views))) and len(gaussians) == int(sum(
        view.new_content.sum() for view in views))


def test_disk_max_covers_the_exact_disk_and_reaches_at_most_a_block_further() -> None:
    import cv2

    from landscape4d.inpaint import disk_max

    rng = np.random.default_rng(0)
    values = np.zeros((300, 420), np.float32)
    values[rng.integers(0, 300, 40), rng.integers(0, 420, 40)] = rng.uniform(1, 5, 40).astype(np.float32)
    radius = 60  # blocks of 3 px
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    exact = cv2.dilate(values, kernel)
    fast = disk_max(values, radius)
    assert fast.shape == values.shape and fast.dtype == values.dtype
    assert (fast >= exact).all()  # never misses what the exact disk sees
    reach = radius + 4 * 3  # the coarse disk's reach (radius + √2 blocks, rounded up) and a block's diagonal
    wider = cv2.dilate(values, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    assert (fast <= wider).all()  # and never reaches further than that
    assert (fast > exact).mean() < 0.25
    small = disk_max(values, 7)  # small radii stay the exact dilation
    np.testing.assert_array_equal(small, cv2.dilate(values, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))))
