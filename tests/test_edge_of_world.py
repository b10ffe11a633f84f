"""The edge of the world: no camera path shows where the scene ends (border ring, outpainter, metric)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from landscape4d import Settings, build, pipeline
from landscape4d.camera import identity_camera, pose_world_to_camera
from landscape4d.eval.evaluate import Renderer
from landscape4d.outpaint import MirrorOutpainter
from landscape4d.render import trajectory_for
from landscape4d.scene import LAYER_BORDER
from landscape4d.trajectories import PRESETS
from landscape4d.views import border_margins, border_view, frustum_overflow, source_view

MOVING = [p for p in PRESETS if p != "static"]


def synthetic_landscape(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Flat-ish sky with soft clouds over textured near hills, uint8 RGB (the sky is what wedges are made of)."""
    rng = np.random.default_rng(seed)
    v = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([0.55, 0.7, 0.95]) * (1 - 0.2 * v) + 0.1 * cv2.GaussianBlur(rng.random((height, width)), (0, 0), 6)[..., None]
    ground = 0.3 * np.array([0.3, 0.55, 0.25]) + 0.6 * cv2.GaussianBlur(rng.random((height, width, 3)), (0, 0), 1.0) * np.array([0.5, 0.6, 0.3])
    return np.clip(np.where(v < 0.45, sky, ground) * 255, 0, 255).astype(np.uint8)


def worst_edge_share(result, frames: int = 8) -> dict[str, float]:
    render = Renderer(result.scene)
    worst = {}
    for preset in MOVING:
        shares = []
        for i, camera in enumerate(trajectory_for(result.scene, preset, frames)):
            rgb, alpha = render.at_time(camera, i * 4.0 / frames)
            shares.append(render.edge_of_world(camera, i * 4.0 / frames, rgb, alpha))
        worst[preset] = max(shares)
    return worst


def test_frustum_overflow_of_a_lateral_and_a_backward_camera():
    camera = identity_camera(100, 50, 90.0)  # f = 50 px
    right = camera.with_pose(pose_world_to_camera(torch.tensor([0.2, 0.0, 0.0]), torch.eye(3)))
    # At depth 2 a 0.2 shift moves the frame by f·0.2/2 = 5 px; the camera looks past the right edge only.
    np.testing.assert_allclose(frustum_overflow(camera, [right], np.array([2.0])), [0, 0, 5, 0], atol=1e-6)
    back = camera.with_pose(pose_world_to_camera(torch.tensor([0.0, 0.0, -0.5]), torch.eye(3)))
    # Backing off by 0.5 at depth 1 widens the half-frame (50 px wide, 25 px high) by the factor 1.5.
    np.testing.assert_allclose(frustum_overflow(camera, [back], np.array([1.0, 4.0])), [25, 12.5, 25, 12.5], atol=1e-6)
    depth = np.full((50, 100), 2.0, np.float32)
    assert border_margins(camera, [right], depth) == (0, 0, 5 + 4, 0)
    assert border_margins(camera, [back], np.full((50, 100), 1.0, np.float32)) == (29, 17, 29, 17)
    assert border_margins(camera, [camera], depth) == (0, 0, 0, 0)


def test_border_view_mirrors_texture_and_depth_into_the_ring_only():
    image = synthetic_landscape(40, 30).astype(np.float32) / 255
    depth = np.linspace(5.0, 1.0, 30, dtype=np.float32)[:, None].repeat(40, 1)
    camera = identity_camera(40, 30)
    source = source_view(image, depth, camera)
    view = border_view(source, (3, 2, 5, 4))
    assert (view.camera.width, view.camera.height) == (48, 36) and view.layer == LAYER_BORDER
    assert float(view.camera.K[0, 2]) == pytest.approx(20 + 3) and float(view.camera.K[1, 2]) == pytest.approx(15 + 2)
    assert float(view.camera.K[0, 0]) == pytest.approx(float(camera.K[0, 0]))
    assert view.new_content.sum() == 48 * 36 - 40 * 30 and not view.new_content[2:32, 3:43].any()
    np.testing.assert_array_equal(view.image[2:32, 3:43], image)
    np.testing.assert_array_equal(view.image[2:32, 2], image[:, 1])  # reflect-101 next to the edge: no feathering
    np.testing.assert_allclose(view.depth_m[33, 10], depth[27, 7], rtol=1e-5)  # depth mirrored too
    # A ring wider than the photo (a panorama's top and bottom) mirrors again; known pixels never change.
    strip = synthetic_landscape(50, 4).astype(np.float32) / 255
    canvas, canvas_depth = np.zeros((14, 50, 3), np.float32), np.ones((14, 50), np.float32)
    canvas[5:9] = strip
    known = np.zeros((14, 50), bool)
    known[5:9] = True
    filled, filled_depth = MirrorOutpainter()(canvas, canvas_depth, known)
    np.testing.assert_array_equal(filled[5:9], strip)
    np.testing.assert_array_equal(filled[4], strip[1])
    assert filled[0].std() > 0.01 and np.all(filled_depth > 0)


@pytest.mark.parametrize("size", [(96, 64), (192, 32), (40, 80)], ids=["3:2", "6:1", "1:2"])
def test_no_preset_shows_the_edge_of_the_world(size, monkeypatch):
    photo = synthetic_landscape(*size)
    settings = Settings(long_side=max(size), num_views=8, fit_iters=2, loop_seconds=1.0)
    fixed = build(photo, settings)
    assert (fixed.scene.layer == LAYER_BORDER).any()
    after = worst_edge_share(fixed)
    assert max(after.values()) <= 0.005, after
    # Without the border ring (the old pipeline) the moving paths show flat wedges where the scene ends.
    monkeypatch.setattr(pipeline, "border_margins", lambda *args, **kwargs: (0, 0, 0, 0))
    before = worst_edge_share(build(photo, settings))
    assert max(before[p] for p in ("dolly-out", "swing", "up-down", "circle")) > 0.01, before



def thin_land_strip(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A big sky over a thin strip of dark hills along the bottom (the ridge wanders between 88 % and 90 % of the
    height): a clouds photo with land on the horizon."""
    rng = np.random.default_rng(seed)
    v = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    ridge = 0.89 + 0.01 * np.sin(2 * np.pi * 1.5 * x + 0.7)
    sky = np.array([0.45, 0.62, 0.92]) * (1 - 0.25 * v[..., None]) + 0.12 * cv2.GaussianBlur(rng.random((height, width)), (0, 0), 3)[..., None]
    land = np.array([0.12, 0.2, 0.12]) + 0.1 * cv2.GaussianBlur(rng.random((height, width)), (0, 0), 0.8)[..., None]
    return np.clip(np.where((v >= ridge)[..., None], land, sky) * 255, 0, 255).astype(np.uint8)


def test_a_thin_land_strip_does_not_show_the_edge_of_the_world():
    """The land along the bottom of a sky photo is terrain reaching to its horizon, not a wall standing at the
    frame's bottom row: moving paths do not fly over it and show the flat fill behind it (2 % of a frame before)."""
    result = build(thin_land_strip(160, 90), Settings(long_side=160, num_views=8, fit_iters=2, loop_seconds=1.0))
    worst = worst_edge_share(result)
    assert max(worst.values()) <= 0.005, worst
    render = Renderer(result.scene)
    for preset, index in (("circle", 4), ("up-down", 2)):
        rgb, _ = render.at_time(trajectory_for(result.scene, preset, 8)[index], 0.0)
        dark = rgb[-3:].astype(float).mean(axis=-1) < 90  # the land is about 40 levels, the sky over 150
        assert dark.mean() > 0.9, f"{preset}: only {dark.mean():.0%} of the frame's bottom rows show the land"
