"""examples/make_example_scenes.py: the project's own example landscapes are painted deterministically, at the size
of the committed JPEGs, and the committed JPEGs are what the generator paints (within JPEG tolerance); their
reference fluid masks (examples/masks/<name>_fluid_mask.png) are exactly what the generator tracks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "make_example_scenes.py"


@pytest.fixture(scope="module")
def scenes():
    spec = importlib.util.spec_from_file_location("make_example_scenes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NAMES = ("lake", "sea", "waterfall", "clouds", "city-river")


def test_every_scene_has_a_size_and_a_seed(scenes):
    assert set(scenes.PAINTERS) == set(scenes.SIZES) == set(scenes.SEEDS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_scene_is_deterministic_and_matches_the_committed_jpeg(scenes, name):
    first, second = scenes.paint(name), scenes.paint(name)
    assert np.array_equal(first, second), "same seed, same pixels"
    width, height = scenes.SIZES[name]
    assert first.shape == (height, width, 3) and first.dtype == np.uint8

    path = REPO / "examples" / f"{name}.jpg"
    assert path.stat().st_size < 300_000, "example photos stay small"
    committed = np.asarray(Image.open(path).convert("RGB"))
    assert committed.shape == first.shape
    # JPEG at quality 90 of a grainy image: small errors everywhere, none large on average.
    error = np.abs(committed.astype(np.int16) - first.astype(np.int16))
    assert error.mean() < 4.0, error.mean()
    assert np.percentile(error, 99) < 40, np.percentile(error, 99)
    # And a different seed paints a different picture (the seed is what makes it deterministic).
    other = getattr(scenes, "PAINTERS")[name](np.random.default_rng(scenes.SEEDS[name] + 1), width, height)[0]
    assert np.abs(other.astype(np.int16) - first.astype(np.int16)).mean() > 4.0


def test_scenes_look_like_landscapes(scenes):
    """Cheap sanity on the pictures: not flat, not clipped, a sky that is brighter and bluer at the top."""
    for name in NAMES:
        image = scenes.paint(name).astype(np.float32)
        assert 40 < image.mean() < 200 and image.std() > 25, name
        assert (image >= 254).mean() < 0.02 and (image <= 1).mean() < 0.02, name
        top = image[: image.shape[0] // 12].mean(axis=(0, 1))
        assert top[2] > top[0], f"{name}: the top of the picture is sky"


@pytest.mark.parametrize("name", NAMES)
def test_generator_reproduces_the_committed_fluid_mask(scenes, name):
    image, mask = scenes.paint_with_mask(name)
    assert np.array_equal(image, scenes.paint(name)), "tracking the mask leaves the picture as it is"
    assert np.array_equal(mask, scenes.paint_fluid_mask(name))
    width, height = scenes.SIZES[name]
    assert mask.shape == (height, width) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}, "both sky/water and land in every scene"

    path = REPO / "examples" / "masks" / f"{name}_fluid_mask.png"
    assert path.stat().st_size < 50_000
    with Image.open(path) as png:
        assert png.mode == "L"
        committed = np.asarray(png)
    assert committed.shape == (height, width), "the mask has the size of the JPEG"
    assert np.array_equal(committed, mask), f"{(committed != mask).sum()} pixels differ: re-run the generator"


def test_fluid_masks_are_plausible(scenes):
    """Where the painters put sky, water and land, seen in their masks (True = sky or water)."""
    m = {name: scenes.paint_fluid_mask(name) > 0 for name in NAMES}

    def share(mask, rows, cols=slice(None)):
        return mask[rows, cols].mean()

    # Clouds: sky down to a low line of hills; every cloud is sky.
    clouds = m["clouds"]
    assert clouds.mean() > 0.85 and share(clouds, slice(0, int(0.85 * 640))) == 1.0
    assert share(clouds, slice(-8, None)) == 0.0, "the hills along the bottom edge are land"
    # Lake: sky on top, mountains and shore in the middle, the lake below the waterline, a grassy bank at the
    # bottom left.
    lake = m["lake"]
    assert share(lake, slice(0, 60)) == 1.0
    waterline = int(640 * 0.58)
    assert share(lake, slice(waterline - 8, waterline)) == 0.0, "forest and shore above the waterline"
    assert share(lake, slice(waterline, waterline + 100)) == 1.0, "the lake below it"
    assert share(lake, slice(600, None), slice(0, 100)) == 0.0, "the grassy bank"
    assert share(lake, slice(600, None), slice(-200, None)) == 1.0
    # Sea: sky and open sea, a far headland on the left of the horizon and rocks in the bottom right.
    sea = m["sea"]
    horizon = int(640 * 0.47)
    assert share(sea, slice(0, horizon - 40)) == 1.0 and share(sea, slice(horizon + 1, horizon + 150)) == 1.0
    assert share(sea, slice(horizon - 8, horizon), slice(0, 250)) < 0.5, "the headland"
    assert 0.05 < 1 - share(sea, slice(450, None), slice(600, None)) < 0.9
    # Waterfall: a strip of sky, the falling column in the middle of the cliff, the pool with boulders.
    fall = m["waterfall"]
    assert share(fall, slice(0, 20)) > 0.8
    assert share(fall, slice(300, 600), slice(340, 380)) > 0.99, "the falling water (a few deep streaks show the rock)"
    assert share(fall, slice(300, 600), slice(0, 200)) < 0.02 and share(fall, slice(300, 600), slice(-200, None)) < 0.02
    pool_top = int(960 * 0.66)
    assert share(fall, slice(pool_top, pool_top + 60)) > 0.99, "the pool (the tops of a few boulders)"
    assert 0.1 < 1 - share(fall, slice(pool_top + 80, None)) < 0.5, "boulders in the bottom corners"
    # City river: sky above the skyline, buildings and quay down to the waterline, the river below it.
    city = m["city-river"]
    waterline = int(640 * 0.6)
    assert share(city, slice(0, 25)) == 1.0, "sky above the spires"
    assert share(city, slice(waterline - 60, waterline)) < 0.02
    assert share(city, slice(waterline, None)) == 1.0
