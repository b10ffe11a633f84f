"""Landscape evidence for and against a candidate region, without weights.

* :func:`reflection_symmetry`: calm water mirrors what stands above it, so the intensity profile just below a
  water body's upper edge is the profile just above it, flipped (normalised cross-correlation per column).
* :func:`road_wedges`: roads, paths and tracks seen in perspective are bounded by long straight edges that converge
  toward a vanishing point; the wedge between two such edges is ground, whatever its colour.

Both work on the classifier's small working image and return plain numbers or masks, so any region estimator can
use them.
"""

from __future__ import annotations

import cv2
import numpy as np


def reflection_symmetry(gray: np.ndarray, region: np.ndarray, max_depth: float = 0.15, offsets: int = 2) -> float:
    """How strongly ``region`` [h,w] bool mirrors the content above its upper edge, in [-1, 1] (0 = unrelated).

    For every column the region covers, rows t, t+1, … below its first row t are compared with rows t−1, t−2, …
    above it (up to ``max_depth`` of the height, and no deeper than the region or the photo allow). The score is
    the variance-weighted mean of the per-column normalised cross-correlations, maximised over a shift of the
    mirror axis by up to ``offsets`` rows (the waterline may sit a row or two off the region's edge). Columns
    whose profile above is flat (open sky) carry no weight: a flat sky mirrored in flat water is no evidence.
    """
    height, width = gray.shape
    region = np.asarray(region, bool)
    columns = np.nonzero(region.any(axis=0))[0]
    if columns.size < 3:
        return 0.0
    gray = gray.astype(np.float64)
    tops = np.argmax(region[:, columns], axis=0)
    depth_cap = max(4, int(max_depth * height))
    best = 0.0
    for shift in range(-offsets, offsets + 1):
        axis = tops + shift
        depth = np.minimum(np.minimum(axis, height - axis), depth_cap)
        usable = depth >= 4
        if usable.sum() < 3:
            continue
        d = np.arange(depth_cap)[:, None]
        valid = (d < depth[None, :]) & usable[None, :]
        rows_below = np.clip(axis[None, :] + d, 0, height - 1)
        rows_above = np.clip(axis[None, :] - 1 - d, 0, height - 1)
        below = np.where(valid, gray[rows_below, columns[None, :]], 0.0)
        above = np.where(valid, gray[rows_above, columns[None, :]], 0.0)
        count = np.maximum(valid.sum(axis=0), 1)
        below_c = np.where(valid, below - below.sum(axis=0) / count, 0.0)
        above_c = np.where(valid, above - above.sum(axis=0) / count, 0.0)
        var_a, var_b = (above_c**2).sum(axis=0) / count, (below_c**2).sum(axis=0) / count
        ncc = (above_c * below_c).sum(axis=0) / count / np.sqrt(np.maximum(var_a * var_b, 1e-12))
        # Weight: texture above (std ≥ ~1 level counts fully), and a reflection must carry some of it below.
        weight = np.clip(np.sqrt(var_a) / 0.02, 0, 1) * (np.sqrt(var_b) > 0.002) * usable
        if weight.sum() < 0.2 * columns.size:
            continue
        best = max(best, float((ncc * weight).sum() / weight.sum()))
    return best


def road_wedges(
    gray: np.ndarray, ground: np.ndarray, min_length: float = 0.15, horizon: np.ndarray | None = None
) -> np.ndarray:
    """[h,w] bool: wedges between pairs of long straight edges in ``ground`` that converge upward (roads, paths,
    tracks, canals with straight banks seen in perspective).

    Edges: Canny on ``gray`` [h,w] in [0,1]; segments: probabilistic Hough, at least ``min_length`` of the smaller
    side long, 12°–80° off horizontal, lying in ``ground`` (below the horizon). Two segments of opposite lean form
    a wedge when their lines meet above both of them (the vanishing point) and their lower ends lie on the two
    sides of it; the wedge is the triangle from that point down to where the two lines leave the photo. With
    ``horizon`` (per column, the row of the horizon) the vanishing point must lie near it (within 15 % of the
    height), as a road's does; without one (no sky in the photo) no wedge is reported: a pool's banks or a gorge
    converge too.
    """
    height, width = gray.shape
    edges = cv2.Canny(np.clip(gray * 255.0, 0, 255).astype(np.uint8), 40, 110)
    edges &= (ground.astype(np.uint8) * 255)
    length = max(8, int(min_length * min(height, width)))
    found = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=max(10, length // 2), minLineLength=length, maxLineGap=3)
    wedges = np.zeros((height, width), np.uint8)
    if found is None or horizon is None:
        return wedges.astype(bool)
    segments = []  # (upper x, upper y, lower x, lower y)
    for x0, y0, x1, y1 in found.reshape(-1, 4).astype(np.float64):
        if y0 > y1:
            x0, y0, x1, y1 = x1, y1, x0, y0
        angle = np.degrees(np.arctan2(y1 - y0, abs(x1 - x0) + 1e-9))
        if 12.0 <= angle <= 80.0:
            segments.append((x0, y0, x1, y1))
    for i, a in enumerate(segments):
        for b in segments[i + 1 :]:
            # Going up, a road's left edge leans right (upper x > lower x) and its right edge leans left.
            left, right = (a, b) if a[0] > a[2] else (b, a)
            if not (left[0] > left[2] and right[0] < right[2]):
                continue
            point = _intersection(left, right)
            if point is None:
                continue
            vx, vy = point
            if vy > min(left[1], right[1]) + 0.05 * height or vy < -0.5 * height:
                continue  # meets below the edges, or the edges are nearly parallel (a wall, a waterfall's sides)
            if not left[2] < vx < right[2]:
                continue
            horizon_row = float(horizon[int(np.clip(vx, 0, width - 1))])
            if abs(vy - horizon_row) > 0.15 * height:
                continue
            polygon = np.array([(vx, vy), _to_bottom(left, vx, vy, height), _to_bottom(right, vx, vy, height)])
            cv2.fillPoly(wedges, [np.round(polygon).astype(np.int32)], 1)
    return wedges.astype(bool)


def _intersection(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float] | None:
    x1, y1, x2, y2 = a
    x3, y3, x4, y4 = b
    det = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(det) < 1e-9:
        return None
    t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / det
    return x1 + t * (x2 - x1), y1 + t * (y2 - y1)


def _to_bottom(segment: tuple[float, ...], vx: float, vy: float, height: int) -> tuple[float, float]:
    """Where the line from the vanishing point through ``segment``'s lower end reaches the bottom row."""
    x, y = segment[2], segment[3]
    if y <= vy + 1e-6:
        return x, y
    scale = (height - 1 - vy) / (y - vy)
    return vx + (x - vx) * scale, height - 1.0


def mirror_maps(gray: np.ndarray, axes: list[np.ndarray], window: int = 9, min_std: float = 0.015) -> list[np.ndarray]:
    """One [h,w] map in [-1, 1] per axis: how well each pixel's neighbourhood mirrors the content above it.

    ``axes``: candidate waterlines, each the row per column [w] (a shore or far-shore line). For a pixel at row y
    below an axis a, the ``window``×``window`` patch around it is compared (normalised cross-correlation) with the
    patch around row 2a − y flipped upside down; the best axis counts. Pixels whose mirrored patch is flat
    (std < ``min_std``) or off the photo score 0: only textured content (trees, hills, buildings) proves a mirror.
    Average a map over a whole segment before comparing axes: one pixel's best axis is noise.
    """
    height, width = gray.shape
    gray = gray.astype(np.float32)
    rows = np.arange(height, dtype=np.float32)[:, None]
    maps = []
    box = lambda x: cv2.blur(x, (window, window), borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean_a = box(gray)
    var_a = np.maximum(box(gray * gray) - mean_a**2, 0.0)
    for axis in axes:
        axis = np.asarray(axis, np.float32)[None, :]
        source_rows = 2.0 * axis - rows  # the mirrored row of every pixel
        valid = (rows > axis + 1) & (source_rows >= 0)
        map_y = np.clip(source_rows, 0, height - 1).astype(np.float32)
        map_x = np.broadcast_to(np.arange(width, dtype=np.float32)[None, :], (height, width)).copy()
        mirrored = cv2.remap(gray, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mean_b = box(mirrored)
        var_b = np.maximum(box(mirrored * mirrored) - mean_b**2, 0.0)
        cov = box(gray * mirrored) - mean_a * mean_b
        ncc = cov / np.sqrt(np.maximum(var_a * var_b, 1e-10))
        ncc = np.where(valid & (np.sqrt(var_b) > min_std) & (np.sqrt(var_a) > 0.2 * min_std), ncc, 0.0)
        maps.append(ncc.astype(np.float32))
    return maps


def find_mirror_axes(gray: np.ndarray, start_row: int, min_ncc: float = 0.5, max_axes: int = 2) -> list[tuple[int, float]]:
    """Rows below ``start_row`` about which the photo is mirror-symmetric (calm water's waterline), best first.

    For each candidate row a the band of up to 20 % of the height above it, flipped, is compared with the band
    below it (normalised cross-correlation of the horizontally high-passed luma, so shading and haze do not count
    and a calm reflection's fine detail does). (row, score) of the rows scoring ≥ ``min_ncc``, at least 5 % of the
    height apart.
    """
    height, width = gray.shape
    gray = gray.astype(np.float32)
    detail = gray - cv2.blur(gray, (max(3, width // 16) | 1, 1), borderType=cv2.BORDER_REFLECT)
    depth_cap = max(6, int(0.2 * height))
    scores = np.full(height, -1.0)
    for a in range(max(start_row + 3, 6), height - 6):
        depth = min(depth_cap, a - max(start_row, 0), height - a)
        if depth < 6:
            continue
        above = detail[a - depth : a][::-1]
        below = detail[a : a + depth]
        above_c, below_c = above - above.mean(), below - below.mean()
        denominator = np.sqrt((above_c**2).sum() * (below_c**2).sum())
        if denominator > 1e-8 and above.std() > 0.01:
            scores[a] = float((above_c * below_c).sum() / denominator)
    axes = []
    for a in np.argsort(-scores):
        if scores[a] < min_ncc or len(axes) >= max_axes:
            break
        if all(abs(a - b) > 0.05 * height for b, _ in axes):
            axes.append((int(a), float(scores[a])))
    return axes
