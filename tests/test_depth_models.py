"""The Depth Anything depth backend, on a tiny random model saved like a Hub checkout (tests/tiny_models.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

from landscape4d import hub  # noqa: E402
from landscape4d.depth import MAX_DEPTH, MIN_DEPTH, estimate_depth, normalize_depth  # noqa: E402
from landscape4d.depth.models import FAR_NEAR_RATIO, DepthAnythingDepth, disparity_to_depth  # noqa: E402
from landscape4d.regions import RegionMasks  # noqa: E402

from tiny_models import save_tiny_depth_anything  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return save_tiny_depth_anything(tmp_path_factory.mktemp("tiny-depth-anything"))


@pytest.fixture(autouse=True)
def _fresh_models():
    hub.release_models()
    yield
    hub.release_models()


def _photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    return np.clip(0.6 * rows + 0.3 * rng.random((height, width, 3)), 0.0, 1.0).astype(np.float32)


def _regions(height: int, width: int, sky_rows: int = 0) -> RegionMasks:
    sky = np.zeros((height, width), bool)
    sky[:sky_rows] = True
    return RegionMasks(sky, np.zeros_like(sky))


# --- disparity → depth, a pure function -------------------------------------------------------------------------


def test_larger_disparity_is_nearer_and_monotonic():
    disparity = np.tile(np.linspace(0.1, 7.0, 50)[:, None], (1, 8))  # bottom rows = largest disparity = nearest
    depth = disparity_to_depth(disparity)
    assert depth.dtype == np.float32 and depth.shape == disparity.shape
    assert np.isfinite(depth).all() and (depth > 0).all()
    column = depth[:, 0]
    assert (np.diff(column) <= 0).all() and column[-1] < column[0]
    # Strictly decreasing inside the percentile range (only the outermost 1 % may be clamped at the far end).
    inner = column[2:-1]
    assert (np.diff(inner) < 0).all()


def test_far_near_ratio_is_the_documented_one_and_invariant_to_scale_and_shift():
    rng = np.random.default_rng(1)
    disparity = rng.gamma(2.0, 1.0, (40, 60))
    depth = disparity_to_depth(disparity)
    p1, p99 = np.percentile(depth, [1, 99])
    assert p99 / p1 == pytest.approx(FAR_NEAR_RATIO, rel=0.05)
    # Affine invariance: the model's unknown scale and shift do not change the result.
    np.testing.assert_allclose(disparity_to_depth(3.5 * disparity + 12.0), depth, rtol=1e-4)
    # Another ratio on request; and after normalize_depth the nearest content is 1 and the range is kept.
    ten = disparity_to_depth(disparity, far_near_ratio=10.0)
    assert np.percentile(ten, 99) / np.percentile(ten, 1) == pytest.approx(10.0, rel=0.05)
    normal = normalize_depth(depth, np.zeros(depth.shape, bool))
    assert np.percentile(normal, 1) == pytest.approx(1.0, rel=0.02)
    assert normal.min() >= MIN_DEPTH and normal.max() <= MAX_DEPTH


def test_sky_does_not_shape_the_mapping_and_ends_on_the_shell():
    disparity = np.tile(np.linspace(0.0, 5.0, 40)[:, None], (1, 10))
    sky = np.zeros(disparity.shape, bool)
    sky[:10] = True
    depth = disparity_to_depth(disparity, sky)
    other_sky = disparity.copy()
    other_sky[sky] = np.random.default_rng(2).uniform(-100.0, 100.0, sky.sum())  # wild values in the sky
    other = disparity_to_depth(other_sky, sky)
    np.testing.assert_array_equal(other[~sky], depth[~sky])
    assert np.isfinite(other).all() and (other > 0).all()
    solid = depth[~sky]
    assert np.percentile(solid, 99) / np.percentile(solid, 1) == pytest.approx(FAR_NEAR_RATIO, rel=0.05)
    normal = normalize_depth(other, sky)
    assert (normal[sky] > normal[~sky].max()).all()


def test_nan_flat_and_all_sky_inputs_stay_finite():
    disparity = np.tile(np.linspace(1.0, 2.0, 20)[:, None], (1, 20))
    disparity[3, 4] = np.nan
    disparity[5, 5] = np.inf
    disparity[6, 6] = -np.inf
    depth = disparity_to_depth(disparity)
    assert np.isfinite(depth).all() and (depth > 0).all()
    assert depth[3, 4] == pytest.approx(depth.max())  # NaN counts as the farthest content
    assert depth[5, 5] <= np.percentile(depth, 2)  # +inf as the nearest
    np.testing.assert_array_equal(disparity_to_depth(np.full((8, 8), 0.3)), np.ones((8, 8), np.float32))
    np.testing.assert_array_equal(disparity_to_depth(np.full((8, 8), np.nan)), np.ones((8, 8), np.float32))
    all_sky = disparity_to_depth(disparity, np.ones(disparity.shape, bool))
    assert np.isfinite(all_sky).all() and (all_sky > 0).all()


# --- the backend on a tiny random Depth Anything ------------------------------------------------------------------


def test_backend_runs_the_saved_model(tiny_model: Path):
    backend = DepthAnythingDepth(str(tiny_model))
    assert type(backend.model).__name__ == "DepthAnythingForDepthEstimation"
    assert not backend.model.training and backend.metric is False
    image = _photo(48, 64)
    raw = backend.predict(image)
    assert raw.shape == (48, 64) and raw.dtype == np.float32 and np.isfinite(raw).all()
    assert raw.std() > 0  # the tiny model's output varies, so the mapping below is not the flat fallback
    regions = _regions(48, 64, sky_rows=12)
    depth = backend(image, regions)
    assert depth.shape == (48, 64) and depth.dtype == np.float32
    assert np.isfinite(depth).all() and (depth > 0).all()
    np.testing.assert_allclose(depth, disparity_to_depth(raw, regions.sky), rtol=1e-6)
    normal = estimate_depth(image, regions, backend)
    assert np.isfinite(normal).all() and normal[~regions.sky].min() >= MIN_DEPTH
    assert (normal[regions.sky] > normal[~regions.sky].max()).all()
    all_sky = backend(image, _regions(48, 64, sky_rows=48))
    assert np.isfinite(all_sky).all() and (all_sky > 0).all()


def test_fp16_model_gives_float32_depth(tiny_model: Path):
    import torch

    backend = DepthAnythingDepth(str(tiny_model), dtype=torch.float16)  # what CUDA gets by default
    assert backend.dtype == torch.float16 and next(backend.model.parameters()).dtype == torch.float16
    assert backend.model is not DepthAnythingDepth(str(tiny_model)).model  # one cached copy per dtype
    raw = backend.predict(_photo())
    assert raw.dtype == np.float32 and np.isfinite(raw).all()
    depth = backend(_photo(), _regions(48, 64, sky_rows=8))
    assert depth.dtype == np.float32 and np.isfinite(depth).all() and (depth > 0).all()


def test_model_loads_once_per_process(tiny_model: Path):
    first = DepthAnythingDepth(str(tiny_model))
    second = DepthAnythingDepth(str(tiny_model), "cpu")
    assert first.model is second.model and first.processor is second.processor
    assert hub.release_models() == 1


def test_missing_models_name_the_model(tmp_path: Path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(hub.ModelUnavailable, match="no-such-model"):
        DepthAnythingDepth(str(missing))
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    with pytest.raises(hub.ModelUnavailable, match="empty-folder"):
        DepthAnythingDepth(str(empty))
    with pytest.raises(hub.ModelUnavailable, match="landscape4d-tests/not-a-cached-model.*HF_HUB_OFFLINE"):
        DepthAnythingDepth("landscape4d-tests/not-a-cached-model")


def test_build_end_to_end_with_the_depth_anything_backend(tiny_model: Path):
    import landscape4d
    from landscape4d.settings import Settings

    photo = (_photo(48, 64, seed=3) * 255).astype(np.uint8)
    settings = Settings(long_side=64, num_views=2, fit_iters=0, depth="depth-anything", depth_model=str(tiny_model))
    result = landscape4d.build(photo, settings)
    assert result.scene.meta.backends["depth"] == "depth-anything"
    assert np.isfinite(result.depth_m).all() and (result.depth_m > 0).all()
