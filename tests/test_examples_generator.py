"""examples/make_example_scenes.py: the project's own example landscapes are painted deterministically, at the size
of the committed JPEGs, and the committed JPEGs are what the generator paints (within JPEG tolerance)."""

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
    other = getattr(scenes, "PAINTERS")[name](np.random.default_rng(scenes.SEEDS[name] + 1), width, height)
    assert np.abs(other.astype(np.int16) - first.astype(np.int16)).mean() > 4.0


def test_scenes_look_like_landscapes(scenes):
    """Cheap sanity on the pictures: not flat, not clipped, a sky that is brighter and bluer at the top."""
    for name in NAMES:
        image = scenes.paint(name).astype(np.float32)
        assert 40 < image.mean() < 200 and image.std() > 25, name
        assert (image >= 254).mean() < 0.02 and (image <= 1).mean() < 0.02, name
        top = image[: image.shape[0] // 12].mean(axis=(0, 1))
        assert top[2] > top[0], f"{name}: the top of the picture is sky"
