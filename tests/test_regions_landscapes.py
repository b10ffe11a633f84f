"""Automatic regions on constructed landscapes with known answers: roads, blossoms, cliffs and waterfalls never
flow; reflections and falling water do. Plus the confidence interface (regions, choose, suggestions)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from landscape4d.regions import ACCEPT_CONFIDENCE, Region, RegionMasks, estimate_regions, regions_from_masks
from landscape4d.regions.evidence import find_mirror_axes, road_wedges

H, W = 288, 512


def _noise(seed: int, sigma_x: float, sigma_y: float | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = cv2.GaussianBlur(rng.random((H, W)).astype(np.float32), (0, 0), sigmaX=sigma_x, sigmaY=sigma_y or sigma_x)
    return (n - n.mean()) / (n.std() + 1e-6)


def _sky(rows: int, storm: bool = False, seed: int = 0) -> np.ndarray:
    t = np.linspace(0, 1, rows, dtype=np.float32)[:, None, None]
    top, bottom = ((0.35, 0.37, 0.4), (0.6, 0.62, 0.64)) if storm else ((0.25, 0.45, 0.85), (0.7, 0.8, 0.95))
    sky = np.array(top) + (np.array(bottom) - np.array(top)) * t
    return np.clip(sky + 0.15 * np.clip(_noise(seed, 10)[:rows], 0, None)[..., None], 0, 1)


def _field(seed: int) -> np.ndarray:
    return np.clip(np.array([0.25, 0.45, 0.15]) * (1 + 0.35 * _noise(seed, 1.5, 0.7)[..., None]), 0, 1)


def _blur_noise(h: int, w: int, seed: int, sigma_x: float, sigma_y: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
    return (n - n.mean()) / (n.std() + 1e-6)


def _road(wet: bool) -> tuple[np.ndarray, np.ndarray]:
    """A straight road to the horizon between fields: dry asphalt under a blue sky, or wet under a storm sky."""
    horizon = int(0.42 * H)
    image = np.zeros((H, W, 3), np.float32)
    t = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    top, bottom = (np.array([0.35, 0.37, 0.4]), np.array([0.6, 0.62, 0.64])) if wet else (
        np.array([0.25, 0.45, 0.85]), np.array([0.7, 0.8, 0.95]))
    image[:horizon] = np.clip(top + (bottom - top) * t + np.clip(_blur_noise(horizon, W, 0, 10, 10), 0, None)[..., None] * 0.15, 0, 1)
    field = _blur_noise(H - horizon, W, 1, 1.5, 0.7)
    image[horizon:] = np.clip(np.array([0.25, 0.45, 0.15]) * (1 + 0.35 * field[..., None]), 0, 1)
    road = np.zeros((H, W), np.uint8)
    cv2.fillPoly(road, [np.array([(264, horizon), (268, horizon), (int(0.95 * W), H - 1), (int(0.1 * W), H - 1)], np.int32)], 1)
    road = road.astype(bool)
    base = np.array([0.45, 0.47, 0.5]) if wet else np.array([0.33, 0.33, 0.34])
    asphalt = np.clip(base * (1 + 0.12 * _blur_noise(H, W, 2, 1.2, 0.6)[..., None]), 0, 1)
    image[road] = asphalt[road]
    return image, road


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize("wet", [False, True])
def test_a_road_to_the_horizon_never_flows(wet: bool) -> None:
    image, road = _road(wet)
    masks = estimate_regions(image)
    assert masks.water.mean() < 0.005, "the road is animated as water"
    assert masks.sky[: int(0.35 * H)].mean() > 0.9
    suggested = [r for r in masks.regions if r.kind == "water" and not r.accepted]
    if not wet:  # dry asphalt still looks a little like grey water: it is offered, not moved
        assert suggested and (suggested[0].mask & road).sum() > 0.8 * suggested[0].mask.sum()
        assert "road" in suggested[0].evidence


def test_road_wedges_find_converging_edges_only_with_a_horizon() -> None:
    image, road = _road(False)
    from landscape4d.imageops import resize_long_side
    from landscape4d.regions.classic import _features

    gray = _features(resize_long_side(image, 256)).gray  # the classifier's working size and luma
    road = cv2.resize(road.astype(np.uint8), (256, 144), interpolation=cv2.INTER_NEAREST).astype(bool)
    ground = np.zeros((144, 256), bool)
    ground[int(0.42 * 144) + 2 :] = True
    horizon = np.full(256, 0.42 * 144)
    wedges = road_wedges(gray, ground, horizon=horizon)
    assert (wedges & road).sum() > 0.75 * road.sum() and (wedges & ~road).sum() < 0.6 * road.sum()
    fields = ground & ~cv2.dilate(road.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    assert (wedges & fields).sum() < 0.5 * road.sum()
    assert not road_wedges(gray, ground, horizon=None).any()  # no sky, no horizon: a pool's banks converge too
    flat = np.full((144, 256), 0.5, np.float32)
    assert not road_wedges(flat, ground, horizon=horizon).any()


def test_blossom_over_a_lake_stays_still() -> None:
    horizon = int(0.3 * H)
    image = np.array([0.2, 0.35, 0.5]) * (1 + 0.15 * _noise(3, 6, 0.8)[..., None])
    image[:horizon] = _sky(horizon)
    yy, xx = np.mgrid[0:H, 0:W]
    blossom = ((xx - 0.2 * W) / (0.22 * W)) ** 2 + ((yy - 0.62 * H) / (0.2 * H)) ** 2 + 0.35 * _noise(9, 6) < 1.0
    pink = np.array([0.93, 0.85, 0.88]) * (1 + 0.12 * _noise(4, 1.2)[..., None])
    image[blossom] = pink[blossom]
    image = np.clip(image, 0, 1).astype(np.float32)
    masks = estimate_regions(image)
    lake = np.zeros((H, W), bool)
    lake[horizon + 4 :] = True
    lake &= ~cv2.dilate(blossom.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (masks.water & blossom).sum() < 0.3 * blossom.sum(), "blossom churns like water"
    assert (masks.water & lake).sum() > 0.8 * lake.sum()


def test_waterfall_without_sky_has_no_sky_and_moves_the_falling_column() -> None:
    image = np.clip(0.22 + 0.08 * _noise(0, 1.5)[..., None] * np.ones(3), 0, 1)
    column = np.zeros((H, W), bool)
    column[: int(0.75 * H), int(0.4 * W) : int(0.6 * W)] = True
    image[column] = np.clip(0.85 + 0.08 * _noise(5, 0.8, 8), 0, 1)[..., None].repeat(3, 2)[column]
    pool = np.zeros((H, W), bool)
    pool[int(0.75 * H) :, int(0.15 * W) : int(0.85 * W)] = True
    image[pool] = np.clip(np.array([0.25, 0.38, 0.42]) * (1 + 0.2 * _noise(6, 6, 0.8)[..., None]), 0, 1)[pool]
    masks = estimate_regions(image.astype(np.float32))
    rock = ~cv2.dilate((column | pool).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert masks.sky.mean() < 0.005, "falling water or rock taken for sky"
    assert (masks.water & column).sum() > 0.7 * column.sum()
    assert (masks.water & pool).sum() > 0.7 * pool.sum()
    assert (masks.water & rock).sum() < 0.02 * rock.sum()
    falling = [r for r in masks.regions if "falling water" in r.evidence]
    assert falling and falling[0].accepted


def test_dark_cliffs_reaching_the_top_are_not_sky() -> None:
    image = _field(20) * 0.8
    yy, xx = np.mgrid[0:H, 0:W]
    cliffs = (((xx - 0.3 * W) / (0.15 * W)) ** 2 + (yy / (0.35 * H)) ** 2 < 1) | (
        ((xx - 0.75 * W) / (0.12 * W)) ** 2 + (yy / (0.3 * H)) ** 2 < 1)
    image[cliffs] = (np.clip(0.28 + 0.03 * _noise(21, 3), 0, 1)[..., None] * np.array([1.0, 1.0, 1.02]))[cliffs]
    masks = estimate_regions(np.clip(image, 0, 1).astype(np.float32))
    assert masks.sky.mean() < 0.005 and masks.water.mean() < 0.005
    assert all(not r.accepted for r in masks.regions)  # at most suggested, with a reason
    assert all("darker" in r.evidence for r in masks.regions if r.kind == "sky")


def test_a_calm_lake_mirroring_the_hills_is_water_below_the_waterline_only() -> None:
    shore = H // 2
    image = np.zeros((H, W, 3), np.float32)
    image[: H // 4] = _sky(H // 4)
    image[H // 4 : shore] = np.clip(np.array([0.35, 0.38, 0.33]) * (1 + 0.3 * _noise(7, 1.5)[H // 4 : shore, :, None]), 0, 1)
    image[shore:] = (image[:shore][::-1] * 0.75 + np.array([0.02, 0.04, 0.06]))[: H - shore]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    axes = find_mirror_axes(cv2.resize(gray, (256, 144)), 36)
    assert axes and abs(axes[0][0] - 72) <= 1 and axes[0][1] > 0.9
    masks = estimate_regions(np.clip(image, 0, 1))
    assert masks.water[: shore - 2].sum() == 0, "the mirrored hills themselves flow"
    assert masks.water[shore:].mean() > 0.7
    reflections = [r for r in masks.regions if r.kind == "water" and "mirrors" in r.evidence]
    assert reflections and all(r.accepted for r in reflections)


def test_mirror_axes_ignore_unrelated_texture() -> None:
    gray = (0.5 + 0.1 * _noise(8, 1.5)).astype(np.float32)
    assert find_mirror_axes(gray, 10) == []


def test_regions_interface_confidence_choose_and_plain_estimators() -> None:
    image = np.zeros((40, 60, 3), np.float32)
    sky = np.zeros((40, 60), bool)
    sky[:10] = True
    water = np.zeros((40, 60), bool)
    water[30:, :20] = True
    water[30:, 40:] = True  # two separate parts
    masks = estimate_regions(image, lambda _image: (sky, water))  # a backend that only knows masks
    assert [r.kind for r in masks.regions] == ["sky", "water", "water"]
    assert all(r.confidence == 1.0 and r.accepted for r in masks.regions)
    without_left = masks.choose([0, 2])
    assert without_left.sky[:10].all() and without_left.water[30:, 40:].all() and not without_left.water[:, :20].any()
    assert not masks.choose([]).sky.any()
    weak = Region("water", water, 0.3, "grey")
    assert not weak.accepted and ACCEPT_CONFIDENCE > 0.3
    assert RegionMasks(sky, np.zeros_like(water), [Region("sky", sky, 0.9), weak]).accepted == [0]
    with pytest.raises(ValueError):
        Region("lava", sky, 1.0)
    with pytest.raises(ValueError):
        RegionMasks(sky, water, [Region("sky", np.zeros((5, 5), bool), 1.0)])
    tiny = np.zeros((40, 60), bool)
    tiny[0, 0] = True  # parts under MIN_PART_FRACTION join their kind's largest part: nothing is lost
    parts = regions_from_masks(sky | tiny, np.zeros_like(sky))
    assert len(parts) == 1 and parts[0].mask.sum() == (sky | tiny).sum()


def test_a_grey_cascade_in_shade_is_suggested_not_moved() -> None:
    image = np.clip(0.22 + 0.08 * _noise(10, 1.5)[..., None] * np.ones(3), 0, 1)
    image[: int(0.25 * H)] = _sky(int(0.25 * H))
    column = np.zeros((H, W), bool)
    column[int(0.3 * H) : int(0.75 * H), int(0.45 * W) : int(0.55 * W)] = True
    image[column] = np.clip(0.55 + 0.08 * _noise(11, 0.8, 8), 0, 1)[..., None].repeat(3, 2)[column]
    pool = np.zeros((H, W), bool)
    pool[int(0.75 * H) :, int(0.1 * W) : int(0.9 * W)] = True
    image[pool] = np.clip(np.array([0.25, 0.38, 0.42]) * (1 + 0.2 * _noise(12, 6, 0.8)[..., None]), 0, 1)[pool]
    masks = estimate_regions(image.astype(np.float32))
    assert (masks.water & pool).sum() > 0.7 * pool.sum()
    assert (masks.water & column).sum() < 0.2 * column.sum(), "grey streaks are not trusted enough to move"
    cascades = [r for r in masks.regions if "waterfall" in r.evidence]
    assert cascades and not cascades[0].accepted
    assert (cascades[0].mask & column).sum() > 0.5 * column.sum()


def test_the_far_shore_band_between_a_hazy_sky_and_a_lake_stays_still() -> None:
    """Pale sky, a thin textured band of distant town and hills in the haze, then a pale lake: only sky and lake."""
    top, shore, lake_top = int(0.4 * H), int(0.4 * H), int(0.47 * H)
    t = np.linspace(0, 1, top, dtype=np.float32)[:, None, None]
    image = np.zeros((H, W, 3), np.float32)
    image[:top] = np.array([0.78, 0.84, 0.9]) + (np.array([0.88, 0.9, 0.92]) - np.array([0.78, 0.84, 0.9])) * t
    band = np.clip(0.72 + 0.06 * _noise(13, 0.8)[..., None], 0, 1) * np.array([0.95, 0.98, 1.0])
    image[shore:lake_top] = band[shore:lake_top]
    lake = np.clip(np.array([0.76, 0.8, 0.82]) * (1 + 0.03 * _noise(14, 5, 0.8)[..., None]), 0, 1)
    image[lake_top:] = lake[lake_top:]
    masks = estimate_regions(image.astype(np.float32))
    band_mask = np.zeros((H, W), bool)
    band_mask[shore + 2 : lake_top - 2] = True
    moving = masks.sky | masks.water
    assert moving[band_mask].mean() < 0.2, "the far shore drifts with the sky or flows with the lake"
    assert masks.sky[: top - 4].mean() > 0.9 and masks.water[lake_top + 6 :].mean() > 0.8


def _beach(surf_tint: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sky, a grey-blue sea with horizontal ripples, a band of surf (bright horizontal streaks, tinted by the light)
    breaking on the near side, and smooth saturated sand below. Returns (image, surf, sand)."""
    horizon, surf_top, shore = int(0.35 * H), int(0.62 * H), int(0.78 * H)
    image = np.zeros((H, W, 3), np.float32)
    image[:horizon] = _sky(horizon)
    sea = np.array([0.38, 0.46, 0.55]) * (1 + 0.18 * _noise(5, 4.0, 0.6)[..., None])
    image[horizon:surf_top] = sea[horizon:surf_top]
    streaks = np.clip(_noise(6, 6.0, 0.8), -1.5, 1.5)[..., None]
    surf = np.clip(np.array(surf_tint) * (0.85 + 0.12 * streaks), 0, 1)
    image[surf_top:shore] = surf[surf_top:shore]
    sand = np.array([0.62, 0.46, 0.26]) * (1 + 0.03 * _noise(7, 3.0)[..., None])
    image[shore:] = sand[shore:]
    surf_mask = np.zeros((H, W), bool)
    surf_mask[surf_top + 4 : shore - 4] = True
    sand_mask = np.zeros((H, W), bool)
    sand_mask[shore + 4 :] = True
    return np.clip(image, 0, 1).astype(np.float32), surf_mask, sand_mask


@pytest.mark.parametrize("tint", [(0.92, 0.86, 0.78), (0.95, 0.93, 0.92)], ids=["golden-hour", "white"])
def test_surf_breaking_on_the_near_side_is_water_and_the_sand_is_not(tint) -> None:
    image, surf, sand = _beach(tint)
    masks = estimate_regions(image)
    assert (masks.water & surf).sum() > 0.8 * surf.sum(), "the surf stays still"
    assert (masks.water & sand).sum() < 0.02 * sand.sum(), "the sand flows"



def test_falling_water_continues_down_its_own_column_only() -> None:
    """A lit falling column (detected foam) over a shaded continuation of the fall and, beside it, pale rock with
    vertical cracks: the continuation joins the fall, the rock beside it does not, nor does a non-streaked one."""
    from landscape4d.regions.classic import _continue_falling_water

    h, w = 60, 60
    segments = np.zeros((h, w), np.int32)  # 0: rock
    segments[5:30, 20:30] = 1  # the lit column
    segments[30:50, 20:30] = 2  # the fall in shade below it
    segments[30:50, 30:45] = 3  # pale streaked rock beside the fall
    segments[50:55, 20:30] = 4  # below the shaded fall, but not streaked (a boulder)
    fall_seg = np.array([False, True, True, True, False])
    falling = segments == 1
    fall = _continue_falling_water(segments, fall_seg, falling)
    assert fall[segments == 2].all(), "the shaded fall below the lit column stays still"
    assert not fall[segments == 3].any(), "the rock beside the fall flows"
    assert not fall[segments == 4].any() and not fall[segments == 0].any()
    assert not _continue_falling_water(segments, fall_seg, np.zeros((h, w), bool)).any(), "no fall, nothing joins"


def test_a_hazy_island_in_a_lake_stays_still() -> None:
    """A pale lake under a pale sky with a far-shore band and, inside the lake, a hazy wooded island (darker and
    more textured than the water, water all around it): the lake flows, the island does not."""
    top, lake_top = int(0.4 * H), int(0.47 * H)
    t = np.linspace(0, 1, top, dtype=np.float32)[:, None, None]
    image = np.zeros((H, W, 3), np.float32)
    image[:top] = np.array([0.78, 0.84, 0.9]) + (np.array([0.88, 0.9, 0.92]) - np.array([0.78, 0.84, 0.9])) * t
    band = np.clip(0.72 + 0.06 * _noise(13, 0.8)[..., None], 0, 1) * np.array([0.95, 0.98, 1.0])
    image[top:lake_top] = band[top:lake_top]
    lake = np.clip(np.array([0.76, 0.8, 0.82]) * (1 + 0.015 * _noise(14, 5, 0.8)[..., None]), 0, 1)  # calm
    image[lake_top:] = lake[lake_top:]
    yy, xx = np.mgrid[0:H, 0:W]
    island = ((xx - 0.6 * W) / (0.12 * W)) ** 2 + ((yy - 0.62 * H) / (0.05 * H)) ** 2 < 1
    trees = np.clip(0.6 + 0.08 * _noise(15, 1.0)[..., None], 0, 1) * np.array([0.9, 0.95, 1.0])
    image[island] = trees[island]
    masks = estimate_regions(image.astype(np.float32))
    open_water = np.zeros((H, W), bool)
    open_water[lake_top + 6 :] = True
    open_water &= ~cv2.dilate(island.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    inner = cv2.erode(island.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert masks.water[inner].mean() < 0.1, "the island flows with the lake"
    assert masks.water[open_water].mean() > 0.8


def test_a_bundle_of_pipes_across_a_river_stays_still() -> None:
    """A rippled river under a blue sky, crossed by a bundle of three bright metal pipes seen side-on (a
    railing in the foreground, slightly tilted): bright streaked metal passes for foam, its shaded
    underside for grey water; the two strong parallel outer edges show it is one object."""
    horizon = int(0.35 * H)
    image = np.array([0.2, 0.3, 0.38]) * (1 + 0.2 * _noise(40, 5, 0.8)[..., None])
    image[:horizon] = _sky(horizon)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    centre = 0.62 * H + 0.05 * xx  # the bundle's top edge, 3° off level
    offset = yy - centre
    pipes = (offset >= 0) & (offset < 27)
    across = np.mod(offset, 9.0) / 9.0  # each pipe: lit on top, shaded below (a cylinder)
    metal = np.where(across < 0.75, 0.92 - 0.3 * across, 0.3) + 0.02 * _noise(41, 6, 0.8)  # dark gaps between
    image[pipes] = np.clip(metal, 0, 1)[pipes][:, None] * np.array([1.0, 1.0, 1.02])
    masks = estimate_regions(np.clip(image, 0, 1).astype(np.float32))
    inner = cv2.erode(pipes.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    river = (yy > horizon + 6) & ~cv2.dilate(pipes.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    assert masks.water[inner].mean() < 0.1, "the pipes flow with the river"
    assert masks.water[river].mean() > 0.7


def test_a_dark_forest_and_its_reflection_are_cut_apart_at_the_waterline() -> None:
    """Sky, pale hills, a dark forest down to the shore, and a calm lake mirroring it all: the forest and its
    reflection look alike and touch at the waterline (one segment across it); the reflection flows, the
    forest does not."""
    shore = H // 2
    image = np.zeros((H, W, 3), np.float32)
    image[: H // 4] = _sky(H // 4)
    hills = np.clip(np.array([0.45, 0.48, 0.5]) * (1 + 0.2 * _noise(50, 1.5)[..., None]), 0, 1)
    image[H // 4 : shore] = hills[H // 4 : shore]
    forest = int(0.36 * H)
    image[forest:shore] = np.clip(np.array([0.1, 0.14, 0.1]) * (1 + 0.3 * _noise(51, 1.2)[forest:shore, :, None]), 0, 1)
    image[shore:] = (image[:shore][::-1] * 0.92 + 0.01)[: H - shore]
    masks = estimate_regions(np.clip(image, 0, 1))
    reflection = np.zeros((H, W), bool)
    reflection[shore + 3 : 2 * shore - forest - 3] = True
    assert masks.water[: shore - 2].sum() == 0, "the forest flows"
    assert masks.water[reflection].mean() > 0.7, "the forest's reflection stays still"


def test_churn_joins_the_water_only_at_a_falls_foot() -> None:
    """White churn where the fall plunges into the pool joins the water; pale segments beside the fall higher up
    (wet rock, a ledge) or away from the pool do not, and without a fall nothing joins."""
    from landscape4d.regions.classic import _churn_at_the_foot

    h, w = 100, 60
    segments = np.zeros((h, w), np.int32)  # 0: rock
    segments[10:70, 25:35] = 1  # the fall
    segments[80:, :] = 2  # the pool
    segments[66:80, 10:25] = 3  # churn at the foot, left of the fall, touching the pool
    segments[30:45, 35:45] = 4  # a pale ledge beside the fall, high up
    segments[66:74, 35:45] = 5  # pale, at the foot, but rock between it and the pool
    churn_seg = np.array([False, False, False, True, True, True])
    fall = segments == 1
    water = fall | (segments == 2)
    churn = _churn_at_the_foot(segments, churn_seg, fall, water)
    assert churn[segments == 3].all(), "the churn at the fall's foot stays still"
    assert not churn[(segments == 4) | (segments == 5) | (segments == 0)].any(), "pale rock beside the fall flows"
    assert not _churn_at_the_foot(segments, churn_seg, np.zeros((h, w), bool), water).any()


def test_the_sky_stops_just_inside_a_roofs_outline() -> None:
    """A sky mask that overshoots onto a roof's sharp outline by a pixel loses that pixel (it would drag the
    roof's edge along with the clouds); where the mask ends in open sky it keeps its edge."""
    from landscape4d.regions.classic import _off_object_edges

    h, w, line = 60, 80, 30
    image = np.full((h, w, 3), 0.8, np.float32)
    image[line:, : w // 2] = 0.2  # a dark roof on the left, open sky on the right
    mask = np.zeros((h, w), bool)
    mask[: line + 1] = True  # reaches one row onto the roof on the left, ends in open sky on the right
    kept = _off_object_edges(mask, image)
    assert not kept[line, 2 : w // 2 - 2].any(), "the roof's outline drifts with the sky"
    assert kept[:line].all(), "the sky inside the outline is lost"
    assert kept[line, w // 2 + 2 :].all(), "the sky's edge in open sky is lost"
    # A mask that stops one pixel short of the outline: its rim carries the outline's blur and halo, and goes too.
    short = np.zeros((h, w), bool)
    short[:line] = True
    kept = _off_object_edges(short, image)
    assert not kept[line - 1, 2 : w // 2 - 2].any(), "the pixel beside the roof's outline drifts with the sky"
    assert kept[: line - 1].all() and kept[line - 1, w // 2 + 2 :].all()


def test_smooth_open_sky_below_a_false_far_shore_returns_to_the_sky() -> None:
    """Pixels a far-shore line cut off from the sky that are not water: the smooth open sky under a low bank of
    cloud that touches the sky comes back to it; textured haze over land, and smooth patches away from the sky,
    do not."""
    from landscape4d.regions.classic import _features, _return_dry_cut

    h, w = 90, 160
    image = np.full((h, w, 3), (0.6, 0.72, 0.9), np.float32)  # open sky everywhere…
    rng = np.random.default_rng(70)
    image[40:55, 80:] = np.clip(0.6 + 0.15 * rng.standard_normal((15, 80, 1)), 0, 1)  # …but textured haze here
    features = _features(image)
    sky = np.zeros((h, w), bool)
    sky[:30] = True
    dry = np.zeros((h, w), bool)
    dry[32:55] = True  # cut off just below the sky: open sky on the left, haze on the right
    dry[70:80, 10:40] = True  # a smooth patch far below, not touching the sky
    out = _return_dry_cut(features, sky, dry)
    assert out[34:50, 5:70].all(), "the open sky below the cloud bank stays still"
    assert not out[42:53, 85:155].any(), "the haze drifts with the sky"
    assert not out[70:80, 10:40].any() and out[:30].all()


def test_the_outline_snaps_to_the_side_whose_colour_a_pixel_has() -> None:
    """A half-resolution mask's outline a few pixels off: flat sky short of a tree's outline joins the sky, a
    textured canopy (pale leaves included) the mask overshot onto leaves it, and a thin white line like
    neither side (surf along a beach) keeps the estimate."""
    from landscape4d.regions.classic import _snap_to_colour

    h, w, line = 64, 64, 32
    rng = np.random.default_rng(64)
    image = np.empty((h, w, 3), np.float32)
    image[:] = (0.6, 0.72, 0.9)  # flat sky…
    image += 0.005 * rng.standard_normal((h, w, 1)).astype(np.float32)
    leaves = (0.15 + 0.75 * rng.random((h - line, w // 2, 1))).astype(np.float32)  # pale leaves as bright as the sky
    image[line:, : w // 2] = leaves * np.array([0.7, 1.0, 0.6], np.float32)  # …over a canopy on the left
    image[line:, w // 2 :] = (0.35, 0.3, 0.2)  # and dark sand on the right, behind…
    image[line - 2 : line, w // 2 :] = 1.0  # …a thin white line of surf that belongs to the water above
    image = np.clip(image, 0, 1)

    short = np.zeros((h, w), bool)
    short[: line - 2, : w // 2] = True  # stops two rows short of the canopy
    snapped = _snap_to_colour(short, image, band=3)
    assert snapped[: line, 2 : w // 2 - 4].all(), "the sky next to the canopy stays still"
    assert not snapped[line:].any(), "the canopy moves"

    over = np.zeros((h, w), bool)
    over[: line + 2] = True  # two rows onto the canopy and past the surf onto the sand
    snapped = _snap_to_colour(over, image, band=3)
    assert not snapped[line:, : w // 2 - 4].any(), "the canopy's outline drifts with the sky"
    assert snapped[: line, : w // 2 - 4].all(), "the sky is lost"
    assert snapped[line - 2 : line, w // 2 + 4 :].all(), "the surf line unlike both sides is dropped"
    assert not snapped[line:, w // 2 + 4 :].any(), "the sand moves"


def test_the_outline_does_not_snap_across_a_soft_ramp() -> None:
    """A soft boundary (sky fading into pale haze over 6 rows above a far ridge: no pixel-to-pixel step) has no
    outline to snap to: the estimate stays as it is (snapping there moved two whole rows), while the same estimate
    next to a hard edge of the same colours snaps to it."""
    from landscape4d.regions.classic import _snap_to_colour

    h, w, line = 64, 64, 32
    rows = np.arange(h, dtype=np.float32)[:, None, None]
    sky, haze = np.array([0.6, 0.72, 0.9], np.float32), np.array([0.74, 0.79, 0.85], np.float32)
    ramp = np.clip((rows - (line - 3)) / 6.0, 0.0, 1.0)
    soft = (sky * (1 - ramp) + haze * ramp) * np.ones((h, w, 1), np.float32)
    soft[line + 7 :] = (0.12, 0.18, 0.12)  # the ridge
    soft = np.clip(soft + 0.004 * np.random.default_rng(3).standard_normal((h, w, 1)).astype(np.float32), 0, 1)
    estimate = np.zeros((h, w), bool)
    estimate[: line - 3] = True  # the half-resolution outline, where the ramp begins
    assert np.array_equal(_snap_to_colour(estimate, soft, band=3), estimate)

    hard = np.where(rows < line, sky, haze).astype(np.float32) * np.ones((h, w, 1), np.float32)
    snapped = _snap_to_colour(estimate, hard, band=3)
    assert snapped[: line].all() and not snapped[line:].any(), "a hard edge: the sky reaches it"


def test_pale_foliage_darker_than_the_lake_is_not_foam() -> None:
    """Foam is the lightest thing on its water: a pale textured patch touching a bright lake but darker than it
    (sunlit foliage on the shore) is not foam; surf lighter than its water is."""
    from landscape4d.regions.classic import _darker_than_its_water

    h, w = 64, 64
    lightness = np.full((h, w), 76.0, np.float32)  # a bright hazy lake…
    water = np.zeros((h, w), bool)
    water[:40] = True
    labels = np.zeros((h, w), np.int32)
    labels[40:48, :30] = 1  # …pale foliage on its shore, darker than the lake
    lightness[40:48, :30] = 68.0
    labels[40:48, 34:] = 2  # …white surf, lighter than it
    lightness[40:48, 34:] = 92.0
    labels[56:60, 20:40] = 3  # a patch with no water near it
    darker = _darker_than_its_water(lightness, labels, 4, water)
    assert darker[1], "sunlit foliage darker than the lake joins it as foam"
    assert not darker[2], "surf lighter than its water is refused"
    assert not darker[3] and not darker[0]


def test_a_piece_of_the_lake_cut_off_by_a_tower_is_water() -> None:
    """A calm piece of a confidently found lake, cut off by a tower in front, at the lake's rows and with its hue
    (though darker), is water with the lake's score; a teal roof at the same rows (another hue), hazy hills above
    the lake's far shore, an island inside the lake, and any piece without a confident lake, are not."""
    from landscape4d.regions.classic import _features, _pieces_of_the_same_water

    h, w = 64, 64
    rng = np.random.default_rng(65)
    image = np.empty((h, w, 3), np.float32)
    image[:] = (0.75, 0.8, 0.88)  # pale sky
    image[24:, :] = (0.3, 0.45, 0.2)  # land
    image[30:60, 36:] = (0.72, 0.76, 0.8)  # the lake, right of the tower
    image[36:40, 48:56] = (0.4, 0.42, 0.45)  # an island in it
    image[34:50, 4:20] = (0.6, 0.64, 0.7)  # a darker, bluer piece of it, left of the tower
    image[34:46, 22:32] = (0.2, 0.5, 0.5)  # a teal roof at the same rows
    image[20:28, 4:30] = (0.6, 0.66, 0.74)  # hazy hills above the lake's far shore
    image = np.clip(image + 0.003 * rng.standard_normal((h, w, 1)).astype(np.float32), 0, 1)
    features = _features(image)
    water = np.zeros((h, w), bool)
    water[30:60, 36:] = True
    water[36:40, 48:56] = False
    calm = np.zeros((h, w), bool)
    for box in [(slice(34, 50), slice(4, 20)), (slice(34, 46), slice(22, 32)), (slice(20, 28), slice(4, 30)),
                (slice(36, 40), slice(48, 56))]:
        calm[box] = True
    score = np.where(water, 0.9, 0.4).astype(np.float32)
    pieces, inherited = _pieces_of_the_same_water(features, calm, water, score, 0.02)
    assert pieces[34:50, 4:20].all(), "the piece of the lake behind the tower stays still"
    assert np.allclose(inherited[34:50, 4:20], 0.9)
    assert not pieces[34:46, 22:32].any(), "the teal roof flows"
    assert not pieces[20:28].any(), "the hazy hills above the far shore flow"
    assert not pieces[36:40, 48:56].any(), "the island flows"
    weak, _ = _pieces_of_the_same_water(features, calm, water, np.where(water, 0.5, 0.4).astype(np.float32), 0.02)
    assert not weak.any(), "a piece joins a lake found without confidence"


def _lake_under_a_far_shore(h: int, w: int, seed: int, top: int, shore_rows: int, lake=(0.55, 0.62, 0.7)):
    """Sky above row ``top``, a calm lake below it whose first ``shore_rows`` rows are a textured far shore. Returns
    (image, sky, water, rng): the masks as the estimator found them (sky above, water below), and the generator
    for more texture."""
    rng = np.random.default_rng(seed)
    image = np.empty((h, w, 3), np.float32)
    image[:] = (0.75, 0.8, 0.88)
    image[top:] = lake
    image[top : top + shore_rows] = np.clip(0.45 + 0.2 * rng.standard_normal((shore_rows, w, 1)), 0, 1)
    sky = np.zeros((h, w), bool)
    sky[:top] = True
    return image, sky, ~sky, rng


def test_the_far_shore_trim_stops_above_an_island_near_it() -> None:
    """The textured far-shore band under the sky is trimmed off the lake, but an island just below it (a hole in
    the water whose outline textures part of the rows around it) does not pull the trim down through the open
    water beside it: a far shore runs across the whole width."""
    from landscape4d.regions.classic import _features, _trim_far_shore_band

    image, sky, water, rng = _lake_under_a_far_shore(64, 64, 66, top=16, shore_rows=3)
    image[24:36, 20:44] = np.clip(0.3 + 0.15 * rng.standard_normal((12, 24, 1)), 0, 1)  # an island near it
    water[24:36, 20:44] = False
    out = _trim_far_shore_band(_features(image), water, sky)
    assert not out[16:18].any(), "the far shore flows"
    assert out[24:36, :14].all() and out[24:36, 50:].all(), "the open water beside the island is trimmed off"


def test_a_piece_of_water_grows_over_the_rows_its_segment_gave_away() -> None:
    """A calm piece whose segment stops short of its real edge grows over the adjacent pixels that look like it
    (the same flat colour), not over the hazy shore beside it, nor to a like-coloured patch it does not reach."""
    from landscape4d.regions.classic import _features, _grow_alike

    h, w = 64, 64
    rng = np.random.default_rng(67)
    image = np.empty((h, w, 3), np.float32)
    image[:] = (0.35, 0.45, 0.25)  # land
    image[20:30, :40] = (0.62, 0.62, 0.58)  # a hazy shore
    image[30:52, :40] = (0.6, 0.64, 0.7)  # the calm water
    image[56:62, 50:60] = (0.6, 0.64, 0.7)  # a like-coloured patch away from it
    image = np.clip(image + 0.004 * rng.standard_normal((h, w, 1)).astype(np.float32), 0, 1)
    features = _features(image)
    part = np.zeros((h, w), bool)
    part[35:50, 3:37] = True  # the segment stops short of the water's edges
    grown = _grow_alike(features, part, np.ones((h, w), bool))
    assert grown[31:50, 3:36].all(), "the water's edge rows the segment gave away stay still"
    assert not grown[:29].any(), "the hazy shore flows"
    assert not grown[55:].any(), "a like-coloured patch it does not reach flows"
    assert not grown[:, 41:].any(), "the land flows"


def test_painted_eaves_among_tiles_are_not_water_but_a_rippled_sea_with_foam_is() -> None:
    """A tower's teal eave set with orange tiles passes for rippled teal water on colour and texture alone, but its
    hue jumps from pixel to pixel (a mosaic of pigments): it stays still. Water's hue is uniform at that scale —
    ripples and foam change its lightness — so a rippled sea streaked with white foam keeps moving, and so does a
    mosaic that mirrors the shore (a colourful shore's reflection)."""
    from landscape4d.regions.classic import _features, _mottled, water_mask

    h, w = 64, 64
    rng = np.random.default_rng(68)
    image = np.empty((h, w, 3), np.float32)
    image[:] = (0.72, 0.8, 0.9)  # sky
    image[22:] = (0.45, 0.3, 0.25)  # the tower's wall
    for column in range(4, 60):
        lift = int(round(5 * ((column - 32) / 28) ** 2))  # the eave curves up toward its corners
        image[28 - lift : 40 - lift, column] = (0.15, 0.38, 0.36)  # teal paint
        for index, row in enumerate(range(29, 38, 4)):  # rows of orange tiles, staggered
            if (column - 5 - 4 * (index % 2)) % 9 < 6:
                image[row - lift : row - lift + 2, column] = (0.8, 0.45, 0.2)
    image[44:] = (0.3, 0.45, 0.2)  # trees below
    image = np.clip(image + 0.004 * rng.standard_normal((h, w, 1)), 0, 1).astype(np.float32)
    sky = np.zeros((h, w), bool)
    sky[:22] = True
    assert not water_mask(_features(image), sky, 0.02).any(), "the painted eave flows"

    sea = np.empty((h, w, 3), np.float32)
    sea[:] = (0.72, 0.8, 0.9)
    ripples = cv2.GaussianBlur(rng.standard_normal((h - 24, w)).astype(np.float32), (0, 0), sigmaX=3, sigmaY=0.6)
    ripples /= ripples.std()
    sea[24:] = np.array((0.15, 0.4, 0.7)) * (1.0 + 0.3 * ripples[..., None])  # a saturated blue sea, rippled
    sea[24:][ripples > 1.2] = (0.92, 0.94, 0.95)  # white foam on the crests
    sea = np.clip(sea + 0.004 * rng.standard_normal((h, w, 1)), 0, 1).astype(np.float32)
    water = np.zeros((h, w), bool)
    water[24:] = True
    none = np.zeros((h, w), bool)
    assert not _mottled(_features(sea), water, none).any(), "a rippled sea with foam stays still"
    eave = np.zeros((h, w), bool)
    eave[22:44, 4:60] = True
    assert _mottled(_features(image), eave, none).any()
    assert not _mottled(_features(image), eave, eave).any(), "a mosaic mirroring the shore stays still"


def test_a_falls_column_joins_its_churn_through_foam_a_hair_too_smooth() -> None:
    """The churn at a fall's foot touches the pool and joins; the column above it is foam too, but its lowest
    stretch is a little smoother than the foam threshold (the working size averaged its streaks): foam continues
    through it to the lit column. Weak foam that touches no joined foam (pale streaked rock) stays dry, and so
    does weak foam that touches the sky (mist)."""
    from landscape4d.regions.classic import _foam_that_joins

    h, w = 80, 60
    lightness = np.full((h, w), 40.0, np.float32)
    water = np.zeros((h, w), bool)
    water[70:] = True  # the pool
    sky = np.zeros((h, w), bool)
    sky[:5] = True
    foam = np.zeros((h, w), bool)
    foam[10:40, 25:35] = True  # the lit column, not touching the pool
    foam[60:70, 22:38] = True  # the churn at its foot
    weak = np.zeros((h, w), bool)
    weak[40:60, 26:34] = True  # the column's smoother stretch between them
    weak[30:50, 5:12] = True  # pale streaked rock, apart from any foam
    weak[5:15, 45:52] = True  # mist under the sky
    lightness[foam | weak] = 85.0
    joined = _foam_that_joins(lightness, foam, weak, water, sky, 0.02)
    assert joined[60:70, 22:38].all(), "the churn touching the pool stays dry"
    assert joined[40:60, 26:34].all() and joined[10:40, 25:35].all(), "the column is cut off from its churn"
    assert not joined[30:50, 5:12].any(), "pale rock beside the fall flows"
    assert not joined[5:15, 45:52].any(), "mist under the sky joins the water"
    no_weak = _foam_that_joins(lightness, foam, np.zeros_like(weak), water, sky, 0.02)
    assert not no_weak[10:40].any(), "without the smoother stretch the column would not join (the test shows nothing)"


def test_the_far_shore_trim_keeps_a_bay_reaching_up_into_the_shore_and_boats_below_it() -> None:
    """The far shore under the sky is a band of textured land across the whole width, deeper on the left: right
    of the headland, a smooth bay reaches up into it. The rows of the band go, but the bay's open water, joined to
    the lake below through smooth pixels, stays. Further down, an island with a crowd of boats beside it textures
    only part of the lake's width: those rows stay (boats float on the water)."""
    from landscape4d.regions.classic import _features, _trim_far_shore_band

    image, sky, water, rng = _lake_under_a_far_shore(90, 80, 7, top=20, shore_rows=4, lake=(0.6, 0.66, 0.72))
    image[24:40, :58] = np.clip(0.45 + 0.2 * rng.standard_normal((16, 58, 1)), 0, 1)  # its headland
    image[52:62, 4:34] = np.clip(0.4 + 0.2 * rng.standard_normal((10, 30, 1)), 0, 1)  # boats, then an island
    water[52:62, 20:34] = False  # the island is no water; the boats left of it float on it
    out = _trim_far_shore_band(_features(image), water, sky)
    assert not out[20:23].any(), "the far shore flows"
    assert not out[26:38, 4:52].any(), "the headland flows"
    assert out[30:40, 66:].all(), "the bay reaching up into the shore is trimmed off"
    assert out[52:62, 4:18].all() and out[52:62, 40:].all(), "boats and open water beside the island are trimmed off"
    assert out[66:].all()


def test_boats_beside_an_island_under_the_far_shore_are_no_shore() -> None:
    """Right under the far shore, an island (a hole in the water) with boats beside it: in the narrowed rows the
    island's shores and the boats texture half of what is left, but only a third of the lake's width. A far
    shore runs across the whole width: those rows stay water."""
    from landscape4d.regions.classic import _features, _trim_far_shore_band

    image, sky, water, rng = _lake_under_a_far_shore(64, 80, 11, top=16, shore_rows=3)
    image[24:36, :46] = np.clip(0.35 + 0.15 * rng.standard_normal((12, 46, 1)), 0, 1)  # boats, then the island
    water[24:36, 28:46] = False
    out = _trim_far_shore_band(_features(image), water, sky)
    assert not out[16:18].any(), "the far shore flows"
    assert out[26:34, 2:20].all(), "the boats beside the island are taken for the far shore"
    assert out[24:36, 56:].all(), "the open water beside the island is trimmed off"


@pytest.mark.parametrize("name", ["lake", "sea"])
def test_an_underexposed_photo_finds_the_regions_of_its_normal_exposure(name) -> None:
    from pathlib import Path

    from landscape4d.regions.classic import ClassicRegions, normalise_exposure

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.jpg"
    photo = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    normal = photo.astype(np.float32) / 255.0
    dark = (photo * 0.2).astype(np.uint8).astype(np.float32) / 255.0  # three stops under, in 8 bits
    assert normalise_exposure(normal) is normal  # a normally exposed photo is left as it is
    found, found_dark = ClassicRegions()(normal), ClassicRegions()(dark)
    assert found.water.mean() > 0.2 and found.sky.mean() > 0.2
    assert _iou(found.water, found_dark.water) > 0.9 and _iou(found.sky, found_dark.sky) > 0.9
