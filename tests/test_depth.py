"""Depth: the scale convention, the classic estimator on rendered scenes, user depth, and the shared photos."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import needs_shared_photos, shared_photos
from landscape4d.depth import (
    ClassicDepth,
    estimate_depth,
    load_user_depth,
    normalize_depth,
)
from landscape4d.depth.classic import estimate_horizon, ground_depth
from landscape4d.photo import load_photo
from landscape4d.regions import estimate_regions

HEIGHT, WIDTH, HORIZON = 240, 360, 100


def _render_ground(box: tuple[int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A level camera over a checkerboard plane under a blue sky; optionally an upright red box.

    Returns image [H,W,3], sky [H,W] and the true z-depth of the ground (inf in the sky). ``box`` is
    (left column, right column, foot row); the box rises from its foot row to above the horizon.
    """
    focal, camera_height = 300.0, 1.5
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64) + 0.5
    below = v > HORIZON
    z = np.where(below, focal * camera_height / np.maximum(v - HORIZON, 1e-6), np.inf)
    x = (u - WIDTH / 2) * np.where(below, z, 0.0) / focal
    checker = ((np.floor(x / 1.5) + np.floor(np.where(below, z, 0.0) / 3.0)) % 2).astype(np.float32)
    image = np.empty((HEIGHT, WIDTH, 3), np.float32)
    image[:] = np.array([0.45, 0.6, 0.9], np.float32) - 0.2 * (v[..., None] / HEIGHT)  # sky gradient
    ground_colour = np.where(checker[..., None] > 0, [0.55, 0.45, 0.3], [0.35, 0.3, 0.2]).astype(np.float32)
    image[below] = ground_colour[below]
    sky = ~below
    if box is not None:
        left, right, foot = box
        image[HORIZON - 40 : foot, left:right] = (0.8, 0.1, 0.1)
        sky[HORIZON - 40 : foot, left:right] = False
    return image, sky, z


def test_normalize_depth_convention() -> None:
    rng = np.random.default_rng(0)
    depth = rng.uniform(3.0, 400.0, (50, 80))
    sky = np.zeros((50, 80), bool)
    sky[:10] = True
    depth[sky] = np.nan  # whatever the estimator put in the sky is replaced
    out = normalize_depth(depth, sky)
    solid = out[~sky]
    assert out.dtype == np.float32 and np.isfinite(out).all() and (out > 0).all()
    assert np.percentile(solid, 1) == pytest.approx(1.0, rel=0.02)
    assert solid.max() <= 50.0
    assert (out[sky] > solid.max()).all()
    assert out[sky][0] == pytest.approx(max(1.25 * np.percentile(solid, 99), 1.05 * solid.max()), rel=1e-4)
    np.testing.assert_allclose(normalize_depth(depth * 7.0, sky), out, rtol=1e-5)  # scale-free
    assert (normalize_depth(np.ones((4, 4)), np.ones((4, 4), bool)) == 10.0).all()  # clouds only
    with pytest.raises(ValueError):
        normalize_depth(-np.ones((4, 4)), np.zeros((4, 4), bool))


def test_ground_plane_depth_increases_towards_the_horizon() -> None:
    image, sky, _ = _render_ground()
    assert abs(estimate_horizon(image, sky) - HORIZON) < 6
    depth = estimate_depth(image, sky)
    assert np.isfinite(depth).all() and (depth > 0).all()
    bands = [np.median(depth[row : row + 10][~sky[row : row + 10]]) for row in range(HORIZON + 10, HEIGHT - 10, 10)]
    assert all(far > near for far, near in zip(bands[:-1], bands[1:]))  # rows nearer the bottom are nearer
    assert bands[0] / bands[-1] > 5
    assert depth[sky].min() > depth[~sky].max()


def test_upright_box_stands_at_its_foot_depth() -> None:
    foot = 190
    image, sky, truth = _render_ground(box=(150, 200, foot))
    depth = estimate_depth(image, sky)
    inside = depth[HORIZON - 30 : foot - 8, 158:192]
    assert inside.std() / inside.mean() < 0.08  # upright: constant depth from top to foot
    # Up to the global scale (fixed by the nearest ground, at the bottom rows), the box stands where the true
    # plane is at its foot row.
    bottom = np.median(depth[HEIGHT - 3 :, 100:140])
    truth_ratio = truth[foot, 120] / truth[HEIGHT - 1, 120]
    assert np.median(inside) / bottom == pytest.approx(truth_ratio, rel=0.2)
    above_box = np.median(depth[HORIZON + 5 : HORIZON + 15, 100:140])
    assert above_box > 2 * np.median(inside)  # the ground behind the box's top is much farther
    left_edge = depth[HORIZON + 20 : HORIZON + 30, 140:150].mean() / depth[HORIZON + 20 : HORIZON + 30, 160:170].mean()
    assert left_edge > 1.5  # a real depth edge at the silhouette


def test_clouds_only_and_panorama_do_not_break() -> None:
    rng = np.random.default_rng(1)
    clouds = rng.random((64, 96, 3)).astype(np.float32)
    depth = estimate_depth(clouds, np.ones((64, 96), bool))
    assert np.isfinite(depth).all() and np.ptp(depth) == 0
    panorama, sky, _ = _render_ground()
    wide = np.concatenate([panorama] * 3, axis=1)
    depth = estimate_depth(wide, np.concatenate([sky] * 3, axis=1))
    assert depth.shape == wide.shape[:2] and np.isfinite(depth).all()


def test_ground_depth_profile() -> None:
    profile = ground_depth(200, 80.0, ground_range=30.0)
    assert profile[-1] == pytest.approx(120 / 119.5, rel=1e-3)
    assert profile.max() == pytest.approx(30.0, rel=1e-3)
    assert np.all(np.diff(profile[80:]) <= 0)


def test_runtime_at_512() -> None:
    image, sky, _ = _render_ground(box=(150, 200, 190))
    big = np.asarray(Image.fromarray((image * 255).astype(np.uint8)).resize((512, 342)), np.float32) / 255
    big_sky = np.asarray(Image.fromarray(sky).resize((512, 342), Image.Resampling.NEAREST))
    estimator = ClassicDepth()
    estimator(big, big_sky)  # warm-up (imports)
    started = time.perf_counter()
    estimator(big, big_sky)
    assert time.perf_counter() - started < 2.0


def test_user_depth_images_are_disparity(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 255, 60)[:, None], (1, 90)).astype(np.uint8)  # bright (near) at the bottom
    Image.fromarray(ramp).save(tmp_path / "disp8.png")
    depth = load_user_depth(tmp_path / "disp8.png", (40, 60))
    assert depth.shape == (40, 60)
    assert depth[-1].mean() < depth[20].mean() < depth[0].mean()
    assert np.percentile(depth, 1) == pytest.approx(1.0, rel=0.05) and depth.max() <= 50.0
    Image.fromarray((ramp.astype(np.uint16) * 257)).save(tmp_path / "disp16.png")
    np.testing.assert_allclose(load_user_depth(tmp_path / "disp16.png", (40, 60)), depth, rtol=1e-3)


def test_user_depth_numpy_is_metric(tmp_path: Path) -> None:
    metric = np.tile(np.linspace(20.0, 2.0, 40)[:, None], (1, 60))  # far at the top
    np.save(tmp_path / "depth.npy", metric)
    sky = np.zeros((40, 60), bool)
    sky[:5] = True
    depth = load_user_depth(tmp_path / "depth.npy", (40, 60), sky)
    assert depth[~sky].min() == pytest.approx(1.0, rel=0.05)
    assert (depth[sky] > depth[~sky].max()).all()
    np.testing.assert_allclose(depth[~sky], normalize_depth(metric, sky)[~sky], rtol=1e-5)
    np.savez(tmp_path / "depth.npz", depth=metric)
    np.testing.assert_allclose(load_user_depth(tmp_path / "depth.npz", (40, 60), sky), depth, rtol=1e-5)
    resized = load_user_depth(metric, (20, 30))
    assert resized.shape == (20, 30) and resized[0].mean() > resized[-1].mean()


def test_user_depth_errors(tmp_path: Path) -> None:
    bad = np.ones((40, 60))
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        load_user_depth(bad, (40, 60))
    with pytest.raises(ValueError, match="negative"):
        load_user_depth(-np.ones((40, 60)), (40, 60))
    with pytest.raises(ValueError, match="aspect"):
        load_user_depth(np.ones((40, 40)), (40, 60))
    junk = tmp_path / "depth.png"
    junk.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="Could not read"):
        load_user_depth(junk, (40, 60))
    with pytest.raises(ValueError, match="not found"):
        load_user_depth(tmp_path / "missing.npy", (40, 60))


@needs_shared_photos
def test_shared_photos_depth() -> None:
    started = time.perf_counter()
    for path in shared_photos():
        image = load_photo(path).image
        sky = estimate_regions(image).sky
        depth = estimate_depth(image, sky)
        solid = depth[~sky]
        assert np.isfinite(depth).all() and (depth > 0).all(), path.name
        assert solid.max() <= 50.0 and (depth[sky] > solid.max()).all(), path.name
        ratio = np.percentile(solid, 99) / np.percentile(solid, 1)
        assert ratio >= 5.0, (path.name, ratio)  # every shared photo has near foreground
        bottom, middle = np.median(solid_rows(depth, sky, 0.85, 1.0)), np.median(solid_rows(depth, sky, 0.4, 0.6))
        assert bottom < middle, path.name  # the bottom of a landscape photo is nearer than its middle
    assert time.perf_counter() - started < 15.0


def solid_rows(depth: np.ndarray, sky: np.ndarray, start: float, stop: float) -> np.ndarray:
    height = depth.shape[0]
    band = slice(int(start * height), int(stop * height))
    return depth[band][~sky[band]]
