"""The segmentation regions backend (``landscape4d.regions.models``): ADE20K-style label names → sky / water, the
(sky, water, other) probabilities and the regions built from them, on constructed logits; and the backend itself on
a tiny random UperNet-ConvNeXt (``tiny_segmentation``) loaded through the real transformers path, offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from landscape4d import Settings, build  # noqa: E402
from landscape4d.hub import ModelUnavailable, release_models  # noqa: E402
from landscape4d.regions import ACCEPT_CONFIDENCE, RegionMasks, apply_user_regions  # noqa: E402
from landscape4d.regions import models  # noqa: E402
from landscape4d.regions.models import (  # noqa: E402
    SegmentationRegions, kind_probabilities, label_kinds, regions_from_probabilities,
)
from tiny_segmentation import ADE_STYLE_LABELS, save_tiny_segmentation  # noqa: E402

WALL, SKY, TREE, WATER, SEA, ROAD = range(6)  # ADE_STYLE_LABELS
KINDS = label_kinds(ADE_STYLE_LABELS)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_tiny_segmentation(tmp_path_factory.mktemp("segmentation") / "tiny-upernet"))


@pytest.fixture(autouse=True)
def _fresh_models():
    release_models()
    yield
    release_models()


def reference_probabilities(logits: torch.Tensor) -> np.ndarray:
    """(sky, water, other) by the plain formula: softmax over all classes, summed per kind."""
    p = torch.softmax(logits.double(), dim=0).numpy()
    sky, water = p[KINDS["sky"]].sum(0), p[KINDS["water"]].sum(0)
    return np.stack([sky, water, 1.0 - sky - water])


# --- label mapping ------------------------------------------------------------------------------------------


def test_ade20k_label_names_map_to_sky_and_water() -> None:
    ade = {0: "wall", 2: "sky", 4: "tree", 21: "water", 26: "sea", 56: "pool table, billiard table, snooker table",
           60: "river", 104: "fountain", 109: "swimming pool, swimming bath, natatorium", 113: "waterfall, falls",
           128: "lake", 13: "earth, ground", 6: "road, route", 76: "boat"}
    assert label_kinds(ade) == {"sky": [2], "water": [21, 26, 60, 104, 109, 113, 128]}
    # Case, string keys (config.json), other datasets' styles: COCO-stuff suffixes, fog / clouds, Cityscapes.
    assert label_kinds({"0": "Sky", "1": "WATER", "2": "Person"}) == {"sky": [0], "water": [1]}
    assert label_kinds({0: "sky-other-merged", 1: "water-other", 2: "clouds", 3: "fog", 4: "sea_side"}) == {
        "sky": [0, 2, 3], "water": [1]}
    assert label_kinds({0: "road", 1: "vegetation", 2: "sky"}) == {"sky": [2], "water": []}
    assert label_kinds({0: "LABEL_0", 1: "LABEL_1"}) == {"sky": [], "water": []}


# --- probabilities and regions on constructed logits --------------------------------------------------------


def constructed_logits(size: int = 40) -> torch.Tensor:
    """Top half sky; bottom-left block sea (confident water); bottom-right corner a weak water suggestion; a
    2-pixel sky speck in the rest (too small to keep); the rest wall."""
    logits = torch.zeros(len(ADE_STYLE_LABELS), size, size)
    logits[WALL] = 4.0
    half = size // 2
    logits[:, :half] = 0.0
    logits[SKY, :half] = 5.0
    logits[:, half:, : half] = 0.0
    logits[SEA, half:, :half] = 3.0
    logits[WATER, half:, :half] = 3.0
    weak = (slice(size - 8, size), slice(size - 8, size))
    logits[(slice(None), *weak)] = -0.2
    logits[(SKY, *weak)], logits[(WATER, *weak)], logits[(SEA, *weak)] = 0.8, 1.2, -10.0
    logits[:, half + 2, half + 2 : half + 4] = 0.0
    logits[SKY, half + 2, half + 2 : half + 4] = 9.0
    return logits


def test_probabilities_sum_each_kinds_softmax() -> None:
    logits = constructed_logits()
    probs = kind_probabilities(logits, KINDS, (40, 40))
    assert probs.shape == (3, 40, 40) and probs.dtype == np.float32
    # float32 against a float64 reference: CPU exp kernels differ in their last bits with the SIMD path taken
    # (one run in many read 2.5e-4 relative off), so the bound is relative.
    np.testing.assert_allclose(probs, reference_probabilities(logits), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)


def test_probabilities_upsample_logits_then_softmax_a_few_classes_at_a_time(monkeypatch) -> None:
    logits = torch.randn(len(ADE_STYLE_LABELS), 7, 9, generator=torch.Generator().manual_seed(0)) * 6.0
    size = (30, 41)
    up = torch.nn.functional.interpolate(logits[None], size=size, mode="bilinear", align_corners=False)[0]
    monkeypatch.setattr(models, "CLASS_CHUNK", 4)  # two chunks: the online softmax must equal the plain one
    np.testing.assert_allclose(kind_probabilities(logits, KINDS, size), reference_probabilities(up), atol=1e-5)
    monkeypatch.setattr(models, "CLASS_CHUNK", 16)
    np.testing.assert_allclose(kind_probabilities(logits, KINDS, size), reference_probabilities(up), atol=1e-5)


def test_regions_from_constructed_logits() -> None:
    logits = constructed_logits()
    expected = reference_probabilities(logits)
    masks = regions_from_probabilities(kind_probabilities(logits, KINDS, (40, 40)), "upernet-convnext-small")
    assert isinstance(masks, RegionMasks)

    sky = np.zeros((40, 40), bool)
    sky[:20] = True
    sea = np.zeros((40, 40), bool)
    sea[20:, :20] = True
    weak = np.zeros((40, 40), bool)
    weak[32:, 32:] = True
    assert [(r.kind, r.share) for r in masks.regions] == [("sky", 0.5), ("water", 0.25), ("water", 0.04)]
    top, water, suggestion = masks.regions
    np.testing.assert_array_equal(top.mask, sky)  # the 2-pixel speck (0.125 % < 0.2 %) is dropped
    np.testing.assert_array_equal(water.mask, sea)
    np.testing.assert_array_equal(suggestion.mask, weak)
    assert top.confidence == pytest.approx(expected[0][sky].mean(), abs=1e-6) and top.confidence > 0.95
    assert water.confidence == pytest.approx(expected[1][sea].mean(), abs=1e-6) and water.confidence > 0.9
    assert suggestion.confidence == pytest.approx(expected[1][weak].mean(), abs=1e-6)
    assert suggestion.confidence < ACCEPT_CONFIDENCE and not suggestion.accepted
    assert top.evidence == f"segmentation: sky {top.confidence:.2f} (upernet-convnext-small)" == \
        "segmentation: sky 0.97 (upernet-convnext-small)"
    assert water.evidence == "segmentation: water 0.91 (upernet-convnext-small)"
    # Accepted regions make the masks; the suggestion is offered, not moved; the speck is neither.
    np.testing.assert_array_equal(masks.sky, sky)
    np.testing.assert_array_equal(masks.water, sea)
    assert masks.accepted == [0, 1]
    np.testing.assert_array_equal(masks.choose([0, 1, 2]).water, sea | weak)


def test_user_brush_still_wins_over_segmentation() -> None:
    masks = regions_from_probabilities(kind_probabilities(constructed_logits(), KINDS, (40, 40)))
    painted = np.zeros((40, 40), bool)
    painted[:5, :5] = True
    edited = apply_user_regions(masks, water=painted)
    assert edited.water[:5, :5].all() and not edited.sky[:5, :5].any()
    assert len(edited.regions) == len(masks.regions)


def test_regions_from_probabilities_checks_its_input() -> None:
    with pytest.raises(ValueError, match="sky, water, other"):
        regions_from_probabilities(np.zeros((2, 4, 4)))
    empty = regions_from_probabilities(np.stack([np.zeros((4, 4)), np.zeros((4, 4)), np.ones((4, 4))]))
    assert empty.regions == [] and not empty.sky.any() and not empty.water.any()


# --- the backend on a tiny random model ---------------------------------------------------------------------


def test_backend_on_tiny_model_returns_masks_of_the_photo(tiny_model: str) -> None:
    backend = SegmentationRegions(tiny_model)
    assert backend.kinds == {"sky": [SKY], "water": [WATER, SEA]}
    assert backend.name == "tiny-upernet" and type(backend.model).__name__ == "UperNetForSemanticSegmentation"
    assert not backend.model.training and backend.model.dtype == torch.float32
    image = np.random.default_rng(0).random((37, 52, 3)).astype(np.float32)
    probs = backend.probabilities(image)
    assert probs.shape == (3, 37, 52)
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)
    masks = backend(image)
    assert isinstance(masks, RegionMasks)
    assert masks.sky.shape == masks.water.shape == (37, 52)
    assert masks.sky.dtype == masks.water.dtype == np.bool_
    assert not (masks.sky & masks.water).any()
    assert all(r.evidence.startswith(f"segmentation: {r.kind} ") for r in masks.regions)
    uint8 = backend((image * 255).round().astype(np.uint8))  # uint8 photos are taken as they are
    np.testing.assert_array_equal(uint8.sky, masks.sky)


def test_model_is_loaded_once(tiny_model: str) -> None:
    first, second = SegmentationRegions(tiny_model), SegmentationRegions(tiny_model)
    assert first.model is second.model and first.processor is second.processor


def test_unavailable_model_is_named(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailable, match="no-such-model"):
        SegmentationRegions(str(missing))
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(ModelUnavailable, match="empty-model"):
        SegmentationRegions(str(empty))


def test_model_without_sky_or_water_labels_is_refused(tmp_path) -> None:
    folder = save_tiny_segmentation(tmp_path / "indoor-model", {0: "wall", 1: "floor", 2: "ceiling"})
    with pytest.raises(ValueError, match=r"indoor-model has no sky or water label .*'wall', 'floor', 'ceiling'"):
        SegmentationRegions(str(folder))


def test_build_with_the_segmentation_backend(tiny_model: str) -> None:
    photo = np.zeros((48, 64, 3), np.float32)
    photo[:24] = (0.5, 0.7, 0.95)
    photo[24:] = (0.1, 0.3, 0.4)
    settings = Settings(long_side=64, num_views=2, fit_iters=0, regions="segmentation", segmentation_model=tiny_model)
    result = build(photo, settings)
    assert result.scene.meta.backends["regions"] == "segmentation"


def test_auto_uses_the_segmentation_model_when_it_loads_else_classic(tiny_model: str, tmp_path) -> None:
    from landscape4d.backends import REGIONS
    from landscape4d.regions import ClassicRegions

    chosen = REGIONS.create("auto", Settings(regions="auto", segmentation_model=tiny_model))
    assert isinstance(chosen, SegmentationRegions)
    indoor = save_tiny_segmentation(tmp_path / "indoor-model", {0: "wall", 1: "floor"})
    for reference in (str(tmp_path / "no-such-model"), str(indoor)):
        assert isinstance(REGIONS.create("auto", Settings(regions="auto", segmentation_model=reference)), ClassicRegions)
