"""Weight-free landscape depth: a ground plane, a horizon, and upright segments ("photo pop-up").

1. Horizon row: the topmost strong straight horizontal edge below the lowest sky pixel (far shore, sea horizon,
   tree line, river bank), else the lowest sky line; the top of the water when a water mask is given.
   Clamped to [0.15, 0.95]·H. With the horizon below 0.8·H (a thin strip of land under a big sky), every
   segment in that bottom band is terrain: it lies on the plane (step 3's verticality 0) and skips step 4's
   smoothing, so the land reaches to its horizon instead of standing as a wall at the frame's bottom row.
   A photo without sky (forest stream, waterfall close-up) looks down at the ground or a close wall: its horizon
   is put above the frame (−0.1·H), so depth grows smoothly towards the top over an ~11× range instead of
   jumping to "far" at mid-height.
2. Ground plane: a camera above flat ground sees the row y at depth z ∝ 1 / (y − y_horizon); rows within a
   small band below the horizon are clamped so the ground's far/near ratio is at most GROUND_RANGE.
3. Over-segmentation (Felzenszwalb) at ≤ 256 px. Every non-sky segment gets a verticality v ∈ [0,1]: high when
   it rises above the horizon (mountains, trees, buildings) or is taller than wide (a rock, a post), 0.5 for
   ordinary segments below the horizon (layering), 0 when it spans a long depth range (a lake, a meadow) or is
   water. Its pixels take z_foot^v · z_ground(y)^(1−v), where z_foot is the
   ground depth at the segment's foot (its lowest rows): upright things stand at constant depth on the spot
   where they touch the ground, flat things follow the plane. Segments wholly above the horizon are far.
4. Edge-aware smoothing: a guided filter with the full-resolution photo as guide, on disparity, with the sky
   excluded (normalised convolution), keeps depth edges where the photo has edges and removes the segment
   staircase elsewhere.

The output is a positive z-depth map in arbitrary units; ``normalize_depth`` applies the scale convention.
Deterministic; about 0.2 s at 512 px on 2 CPU cores.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..imageops import find_horizontal_lines, guided_filter, resize_long_side

WORK_LONG_SIDE = 256  # segmentation size: enough for landscape layers, fast on a CPU
GROUND_RANGE = 30.0  # far/near ratio of the ground plane between the bottom row and the horizon clamp
NO_SKY_HORIZON = -0.1  # fraction of the height: above the frame, so the ground spans an ~11× depth range
LAYER_VERTICALITY = 0.5  # how upright an ordinary below-horizon segment stands (0 = flat ground, 1 = wall)
HORIZON_LIMITS = (0.15, 0.95)  # a thin strip of land under a big sky has its horizon near the bottom
TERRAIN_HORIZON = 0.8  # a horizon at least this low (fraction of the height from the top): the land below is terrain
LINE_STRENGTH = 0.06  # Lab step (ΔE/100 per pixel) of a straight edge accepted as the horizon


class ClassicDepth:
    """Weight-free landscape depth estimator (module docstring). Call: ``(image, sky, water=None) → depth``."""

    def __init__(self, work_long_side: int = WORK_LONG_SIDE, ground_range: float = GROUND_RANGE):
        self.work_long_side = work_long_side
        self.ground_range = ground_range

    def __call__(self, image: np.ndarray, sky: np.ndarray, water: np.ndarray | None = None) -> np.ndarray:
        image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        sky = np.asarray(sky, dtype=bool)
        height, width = sky.shape
        if image.shape[:2] != (height, width):
            raise ValueError(f"image {image.shape[:2]} and sky {sky.shape} sizes differ")
        if sky.all():
            return np.ones((height, width), np.float32)  # clouds only: normalize_depth makes it a sky plane
        small = resize_long_side(image, self.work_long_side)
        sky_small = _resize_mask(sky, small.shape[:2])
        water_small = None if water is None else _resize_mask(np.asarray(water, bool), small.shape[:2])

        horizon = estimate_horizon(small, sky_small, water_small)
        ground = ground_depth(small.shape[0], horizon, self.ground_range)
        depth_small, terrain_small = _segment_depth(small, sky_small, water_small, horizon, ground)

        disparity = cv2.resize(1.0 / depth_small, (width, height), interpolation=cv2.INTER_LINEAR)
        smoothed = _smooth_disparity(image, disparity, ~sky)
        # Terrain follows the plane exactly (no staircase to smooth): the filter's one-sided window at its top edge
        # would pull its far rows (a steep disparity ramp near the horizon) several times nearer.
        terrain = _resize_mask(terrain_small, (height, width))
        disparity = np.where(terrain, disparity, smoothed)
        depth = 1.0 / np.maximum(disparity, 1e-6)
        depth = np.clip(depth, ground.min(), ground.max())
        depth[sky] = ground.max() * 1.25
        return depth.astype(np.float32)


def estimate_horizon(image: np.ndarray, sky: np.ndarray, water: np.ndarray | None = None) -> float:
    """Horizon row (float, in pixels of ``image``) from sky, water and straight edges (module docstring)."""
    height = image.shape[0]
    low, high = HORIZON_LIMITS[0] * height, HORIZON_LIMITS[1] * height
    if water is not None and water.any():
        columns = water.any(axis=0)
        tops = np.argmax(water, axis=0)[columns]
        return float(np.clip(np.percentile(tops, 20) - 0.01 * height, low, high))
    if not sky.any():
        # No sky: the camera looks down at the ground or at a close wall, so the horizon is above the frame.
        return NO_SKY_HORIZON * height
    columns = sky.any(axis=0)
    lowest_sky = height - 1 - np.argmax(sky[::-1], axis=0)[columns]
    sky_line = float(np.percentile(lowest_sky, 90))  # where the sky dips lowest (between hills, sea horizon)
    lab = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2Lab), (0, 0), 1.0) / 100.0
    candidates = [
        line.row_at_centre
        for line in find_horizontal_lines(lab, min_strength=LINE_STRENGTH, max_lines=8)
        if sky_line - 0.02 * height <= line.row_at_centre <= high
    ]
    # The topmost strong line below the sky is the far shore / horizon; lower ones are nearer edges.
    horizon = min(candidates) if candidates else sky_line
    return float(np.clip(horizon, low, high))


def ground_depth(height: int, horizon: float, ground_range: float = GROUND_RANGE) -> np.ndarray:
    """Per-row depth [height] of a flat ground seen by a level camera: ∝ 1/(y − horizon), clamped near it."""
    rows = np.arange(height, dtype=np.float64) + 0.5
    bottom = height - horizon
    if bottom <= 1.0:
        return np.full(height, 1.0, np.float32)
    clamp = bottom / ground_range  # rows closer than this to the horizon are all "far"
    return (bottom / np.maximum(rows - horizon, clamp)).astype(np.float32)  # bottom row ≈ 1


def _segment_depth(
    image: np.ndarray, sky: np.ndarray, water: np.ndarray | None, horizon: float, ground: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise depth [h,w]: upright segments at their foot depth, flat ones on the ground plane; and the mask of
    the terrain band (a thin strip of land along the bottom, on the plane)."""
    from skimage.segmentation import felzenszwalb

    height, width = sky.shape
    area = height * width
    segments = felzenszwalb(image, scale=150, sigma=0.7, min_size=max(20, area // 800))
    segments = np.where(sky, -1, segments)  # sky pixels never take part in a segment's statistics
    _, segments = np.unique(segments, return_inverse=True)
    segments = segments.reshape(height, width)
    count = int(segments.max()) + 1
    flat = segments.ravel()
    rows = np.repeat(np.arange(height), width)
    size = np.bincount(flat, minlength=count).astype(np.float64)

    # Robust extents per segment: the foot is the 95th percentile row, the top the 5th.
    order = np.lexsort((rows, flat))
    starts = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    sorted_rows = rows[order]
    foot = sorted_rows[np.minimum(starts + (0.95 * (size - 1)).astype(np.int64), len(flat) - 1)]
    top = sorted_rows[starts + (0.05 * (size - 1)).astype(np.int64)]
    columns = np.tile(np.arange(width), height)
    col_min = np.full(count, width)
    col_max = np.zeros(count, np.int64)
    np.minimum.at(col_min, flat, columns)
    np.maximum.at(col_max, flat, columns)
    seg_width = (col_max - col_min + 1).astype(np.float64)
    seg_height = (foot - top + 1).astype(np.float64)
    above = np.bincount(flat, weights=(rows < horizon).astype(np.float64), minlength=count) / np.maximum(size, 1)

    # Verticality: rising above the horizon, or standing taller than wide.
    v_rise = np.clip((above - 0.05) / 0.2, 0.0, 1.0)
    # Taller than wide counts only for things small against their distance (a rock, a post, a person): a
    # tall narrow segment spanning a large depth range is a river, path or glitter streak lying on the ground.
    foot_gap = np.maximum(foot + 0.5 - horizon, 1.0)
    top_gap = np.maximum(top + 0.5 - horizon, 1.0)
    depth_span = foot_gap / top_gap  # ground depth at its top / at its foot, were it lying flat
    v_shape = np.clip((seg_height / seg_width - 0.6) / 0.6, 0.0, 1.0) * np.clip((1.8 - depth_span) / 0.6, 0.0, 1.0)
    # Everything else below the horizon half-stands ("pop-up" layering): depth grows more slowly inside a
    # segment than on the plane and steps up at its top edge, so rocks, bushes and banks separate from what
    # lies behind them. Large segments spanning a long depth range (a lake, a meadow) stay flat.
    v_layer = LAYER_VERTICALITY * np.clip((3.0 - depth_span) / 1.5, 0.0, 1.0)
    verticality = np.maximum(np.maximum(v_rise, v_shape), v_layer)
    # A thin band of land along the bottom under a big sky (the horizon low in the frame) is terrain: it lies on the
    # plane (hills rising above the horizon row are as far as the plane gets), not standing upright at the frame's
    # bottom row, where a moving camera would fly over it.
    terrain = (horizon >= TERRAIN_HORIZON * height) & (top >= TERRAIN_HORIZON * height - 0.1 * height) & (size > 0)
    verticality = np.where(terrain, 0.0, verticality)
    if water is not None:
        watery = np.bincount(flat, weights=water.ravel().astype(np.float64), minlength=count) / np.maximum(size, 1)
        verticality *= watery < 0.5  # water is the flattest ground there is

    z_row = ground[rows].reshape(height, width).astype(np.float64)
    z_foot = ground[np.clip(foot, 0, height - 1)].astype(np.float64)
    v = verticality[segments]
    log_depth = v * np.log(z_foot[segments]) + (1.0 - v) * np.log(z_row)
    depth = np.exp(log_depth)
    # Segments that never reach below the horizon (peaks behind ridges, far cloud banks) are as far as the
    # ground gets.
    floating = foot <= horizon
    depth = np.where(floating[segments], ground.max(), depth)
    depth[sky] = ground.max()
    return depth.astype(np.float32), terrain[segments] & ~sky


def _smooth_disparity(image: np.ndarray, disparity: np.ndarray, solid: np.ndarray) -> np.ndarray:
    """Guided-filter smoothing of disparity over the non-sky pixels (normalised convolution)."""
    height, width = solid.shape
    radius = max(2, round(max(height, width) / 48))
    weight = solid.astype(np.float32)
    numerator = guided_filter(image, disparity * weight, radius=radius, eps=2e-3)
    denominator = guided_filter(image, weight, radius=radius, eps=2e-3)
    smoothed = numerator / np.maximum(denominator, 1e-3)
    smoothed = np.where(denominator > 0.2, smoothed, disparity)  # thin slivers between sky: keep raw
    low, high = float(disparity[solid].min()) if solid.any() else 0.0, float(disparity.max())
    return np.clip(smoothed, max(low, 1e-6), high)


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape == shape:
        return mask.copy()
    resized = cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return resized > 0.5
