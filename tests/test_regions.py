"""Sky and water masks: synthetic scenes with known answers, user masks, and the shared photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import needs_shared_photos, shared_photos
from landscape4d.photo import load_photo
from landscape4d.regions import ClassicRegions, RegionMasks, estimate_regions, load_user_mask



def _sky_gradient(height: int, width: int) -> np.ndarray:
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, bottom = np.array([0.25, 0.45, 0.85], np.float32), np.array([0.7, 0.8, 0.95], np.float32)
    return np.broadcast_to(top + (bottom - top) * rows, (height, width, 3)).copy()


def _foliage(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 1.0)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    base = np.array([0.15, 0.4, 0.1], np.float32)
    return np.clip(base * (0.4 + 1.2 * noise[..., None]), 0, 1)


def _ripples(height: int, width: int, seed: int = 1) -> np.ndarray:
    """Blue-grey water with short horizontal ripple streaks."""
    rng = np.random.default_rng(seed)
    noise = rng.random((height, width)).astype(np.float32)
    streaks = cv2.GaussianBlur(noise, (0, 0), sigmaX=6.0, sigmaY=0.8)
    streaks = (streaks - streaks.mean()) / (streaks.std() + 1e-6)
    base = np.array([0.2, 0.35, 0.5], np.float32)
    return np.clip(base * (1.0 + 0.25 * streaks[..., None]), 0, 1)


def test_sky_over_foliage_is_the_top_half() -> None:
    height, width = 256, 384
    image = np.concatenate([_sky_gradient(height // 2, width), _foliage(height // 2, width)], axis=0)
    masks = estimate_regions(image)
    truth = np.zeros((height, width), bool)
    truth[: height // 2] = True
    iou = (masks.sky & truth).sum() / (masks.sky | truth).sum()
    assert iou > 0.95
    assert masks.water.mean() < 0.02


def test_no_sky_in_a_forest() -> None:
    image = _foliage(256, 384, seed=3)
    masks = estimate_regions(image)
    assert masks.sky.mean() < 0.02
    assert masks.water.mean() < 0.02


def test_clouds_only_is_all_sky() -> None:
    rng = np.random.default_rng(4)
    clouds = cv2.GaussianBlur(rng.random((256, 384)).astype(np.float32), (0, 0), 12.0)
    clouds = (clouds - clouds.min()) / (clouds.max() - clouds.min())
    image = _sky_gradient(256, 384) * (1 - clouds[..., None]) + 0.95 * clouds[..., None]
    masks = estimate_regions(image)
    assert masks.sky.mean() > 0.9
    assert masks.water.mean() < 0.02


def test_lake_below_treeline() -> None:
    height, width = 256, 384
    image = np.concatenate(
        [_sky_gradient(100, width), _foliage(40, width, seed=5), _ripples(height - 140, width)], axis=0
    )
    masks = estimate_regions(image)
    lake = np.zeros((height, width), bool)
    lake[140:] = True
    assert (masks.water & lake).sum() / lake.sum() > 0.8
    assert masks.water[:140].mean() < 0.05
    assert masks.sky[:90].mean() > 0.9 and masks.sky[110:].mean() < 0.02


def test_meadow_is_not_water() -> None:
    height, width = 256, 384
    rng = np.random.default_rng(6)
    grass = cv2.GaussianBlur(rng.random((150, width)).astype(np.float32), (0, 0), sigmaX=0.6, sigmaY=3.0)
    meadow = np.clip(np.array([0.35, 0.55, 0.15], np.float32) * (0.6 + 0.8 * grass[..., None]), 0, 1)
    image = np.concatenate([_sky_gradient(height - 150, width), meadow], axis=0)
    assert estimate_regions(image).water.mean() < 0.01


def test_deterministic_and_shapes() -> None:
    rng = np.random.default_rng(7)
    image = np.concatenate([_sky_gradient(90, 200), _foliage(30, 200), _ripples(80, 200)], axis=0)
    image += rng.normal(0, 0.01, image.shape).astype(np.float32)
    image = np.clip(image, 0, 1)
    first, second = estimate_regions(image), estimate_regions(image.copy())
    assert first.sky.shape == (200, 200) and first.sky.dtype == bool
    np.testing.assert_array_equal(first.sky, second.sky)
    np.testing.assert_array_equal(first.water, second.water)
    assert not (first.sky & first.water).any()


def test_custom_estimator_and_uint8_input() -> None:
    def everything_water(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.ones(image.shape[:2], bool)
        return full, full

    masks = estimate_regions(np.zeros((40, 60, 3), np.float32), everything_water)
    assert isinstance(masks, RegionMasks)
    assert masks.sky.all() and not masks.water.any()  # a pixel has one role: sky wins
    uint8 = (np.concatenate([_sky_gradient(60, 90), _foliage(60, 90)], axis=0) * 255).astype(np.uint8)
    assert ClassicRegions()(uint8).sky[:50].mean() > 0.9


def test_user_mask_modes(tmp_path: Path) -> None:
    shape = (100, 150)
    strokes = np.zeros((200, 300, 4), np.uint8)
    strokes[20:80, 30:90] = (255, 0, 0, 255)  # red strokes on a transparent layer
    Image.fromarray(strokes, "RGBA").save(tmp_path / "layer.png")
    mask = load_user_mask(tmp_path / "layer.png", shape)
    assert mask.shape == shape and mask.dtype == bool
    assert mask[10:40, 15:45].all() and not mask[60:, :].any()

    black_white = np.zeros((200, 300), np.uint8)
    black_white[:, 150:] = 255
    black_white[:, :150] = 12  # JPEG-like noise in the black half is not selected
    Image.fromarray(black_white).save(tmp_path / "bw.png")
    mask = load_user_mask(tmp_path / "bw.png", shape)
    assert mask[:, 80:].all() and not mask[:, :70].any()

    palette = Image.fromarray(black_white).convert("P")
    palette.save(tmp_path / "palette.gif")
    assert load_user_mask(tmp_path / "palette.gif", shape)[:, 80:].all()

    zero_one = (black_white > 128).astype(np.uint8)
    np.testing.assert_array_equal(load_user_mask(zero_one, shape), mask)
    np.testing.assert_array_equal(load_user_mask(zero_one.astype(bool), shape), mask)
    np.testing.assert_array_equal(load_user_mask(zero_one.astype(np.float32), shape), mask)


def test_user_mask_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aspect"):
        load_user_mask(np.ones((100, 100), bool), (100, 150))
    load_user_mask(np.ones((101, 150), bool), (100, 150))  # within 2 %: fine
    bad = tmp_path / "mask.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="Could not read"):
        load_user_mask(bad, (100, 150))
    with pytest.raises(ValueError, match="not found"):
        load_user_mask(tmp_path / "missing.png", (100, 150))


@needs_shared_photos
def test_shared_photos_regions() -> None:
    results: dict[str, RegionMasks] = {}
    for path in shared_photos():
        results[path.stem[:2]] = estimate_regions(load_photo(path).image)
    for key, masks in results.items():
        height = masks.sky.shape[0]
        rows = np.nonzero(masks.sky)[0]
        if key == "01":  # forest waterfall: no sky
            assert masks.sky.mean() < 0.02
        else:
            assert masks.sky.mean() > 0.03, key
            assert rows.mean() < 0.45 * height, key  # sky lives in the upper part
        if masks.water.any():
            assert np.nonzero(masks.water)[0].mean() > 0.45 * height, key  # water lives in the lower part
    assert results["27"].water.mean() < 0.01  # field: no water
    assert results["10"].water[int(0.65 * results["10"].water.shape[0]) :].mean() > 0.8  # the lake
    assert results["22"].water.mean() > 0.1  # the Thames
    assert results["01"].water.mean() > 0.05  # the waterfall and its pool
    assert results["16"].water.mean() > 0.2  # surf between the rocks


def _resized_example(name: str, long_side: int = 512) -> np.ndarray:
    rgb = cv2.cvtColor(cv2.imread(str(Path(__file__).resolve().parents[1] / "examples" / name)), cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    scale = long_side / max(height, width)
    rgb = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    return rgb.astype(np.float32) / 255.0


def test_hazy_lake_below_far_shore_is_water_not_sky() -> None:
    """examples/china.jpg: a pale lake under a pale sky, separated by a hazy far shore with islands."""
    image = _resized_example("china.jpg")
    masks = estimate_regions(image)
    height, width = masks.sky.shape
    lake = (slice(int(0.52 * height), int(0.68 * height)), slice(int(0.55 * width), int(0.85 * width)))
    assert masks.sky[lake].mean() < 0.1
    assert masks.water[lake].mean() > 0.7
    assert masks.sky[: int(0.2 * height)].mean() > 0.95


def test_pale_water_below_dark_shore_band_is_not_sky() -> None:
    """Pale sky, a thin dark textured band (distant shore), pale smooth water below, foreground at the bottom."""
    height, width = 160, 240
    image = _sky_gradient(height, width)
    rng = np.random.default_rng(3)
    shore = 0.3 + 0.15 * cv2.GaussianBlur(rng.random((6, width)).astype(np.float32), (0, 0), 1.0)[..., None]
    image[70:76] = shore * np.array([0.9, 1.0, 1.0], np.float32)
    water = np.array([0.62, 0.72, 0.88], np.float32) - 0.05 * np.linspace(0, 1, 54, dtype=np.float32)[:, None, None]
    image[76:130] = water
    image[130:] = _foliage(30, width)
    masks = estimate_regions(image)
    assert masks.sky[:60].mean() > 0.95
    assert masks.sky[85:125].mean() < 0.05
    assert masks.water[85:125].mean() > 0.8


def test_mask_file_over_the_pixel_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    import landscape4d.limits as limits
    from landscape4d.regions import load_user_mask

    path = tmp_path / "mask.png"
    Image.new("L", (400, 300), 255).save(path)
    monkeypatch.setattr(limits, "LIMITS", limits.LIMITS.replace(max_input_megapixels=0.1))  # 120,000 px > 100,000 px
    with pytest.raises(ValueError, match="megapixels"):
        load_user_mask(path, (300, 400))
