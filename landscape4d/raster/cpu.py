"""Fast CPU rasterizer: numba tile-based forward and backward with gsplat's compositing rules.

Pipeline (all numba, no Python loops over splats or pixels):

0. ``_project_fwd``: gsplat's fused EWA projection, one splat per iteration, writing a packed 12-float record per
   splat (``R_*`` columns: 2D mean, conic, opacity, visibility limit, colour, depth). The rasterizer gathers splats
   through per-tile lists in random order, so one record (≈ one cache line) instead of six arrays matters.
1. ``_radix_argsort``: visible splats sorted front to back by their float32 depth (stable LSD radix sort, so ties
   keep index order like gsplat's stable ``cub`` radix sort).
2. ``_bin_splats``: each splat is listed in every 16×16 tile its gsplat bounding box touches. Visiting splats in
   depth order and filling per-tile slots (a counting sort by tile) is a global sort by (tile, depth) in
   O(intersections); chunks of the depth order are binned in parallel and keep their relative order.
3. ``_rasterize_fwd``: tiles in parallel; inside a tile, splats front to back, each touching only the pixels of
   its analytic "alpha ≥ 1/255" ellipse (exact per-row spans, then the exact alpha test), per-pixel early stop at
   T ≤ 1e-4 and a tile-wide stop once every pixel is done. Saves final T and the last contributing list index
   per pixel, and how many list entries each tile used.
4. ``_rasterize_bwd``: the same tiles walked back to front from each pixel's last splat, rebuilding T by division
   exactly like gsplat's backward kernel. Each (tile, list entry) writes its own gradient row (no atomics, no
   races, deterministic), and ``_scatter_entry_grads`` sums them per splat.
5. ``_project_bwd``: hand-written VJP of step 0 down to means, quats and scales.

:class:`FusedRasterizeFunction` (steps 0-5) is the ``"cpu"`` backend. :class:`TileRasterizeFunction` (steps 1-4)
rasterizes splats from the torch projection of :mod:`.projection` instead, letting torch autograd do step 5.
Kernel arithmetic is float64 (a more accurate T rebuild in the backward than gsplat's float32; outputs match gsplat
to float32 rounding); the kernels compile for float32 and float64 inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
import torch
from numba import njit, prange

from .projection import (
    ALPHA_THRESHOLD,
    EPS2D,
    FAR_PLANE,
    FOV_CLAMP_MARGIN,
    MAX_EXTEND,
    NEAR_PLANE,
    ProjectedGaussians,
)
from .reference import ALPHA_MAX, TRANSMITTANCE_MIN

TILE_SIZE = 16
SPAN_MARGIN_PX = 1e-3  # slack on the analytic ellipse spans; the exact alpha test still decides every pixel
VIS_SLACK = 1e-5  # relative slack on the visibility limit (covers its float32 rounding in packed records)
PROJECTION_CHUNKS = 64  # parallel work items of the per-splat projection loops (each reuses its scratch)

# Packed splat record columns.
R_MX, R_MY, R_CA, R_CB, R_CC, R_OPACITY, R_VIS, R_RED, R_GREEN, R_BLUE, R_DEPTH = range(11)
RECORD_SIZE = 12  # 11 fields + 1 pad: 48 bytes in float32

# Per-splat gradient columns of the rasterizer backward.
G_MX, G_MY, G_CA, G_CB, G_CC, G_RED, G_GREEN, G_BLUE, G_OPACITY, G_DEPTH = range(10)
N_GRADS = 10


# ----------------------------------------------------------------------------------------------------------------
# Packing, sorting and binning
# ----------------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _visibility_limit(opacity: float) -> float:
    """sigma above which alpha = opacity·exp(-sigma) < 1/255, with slack (negative: never visible)."""
    if opacity < ALPHA_THRESHOLD:
        return -1.0
    return math.log(opacity / ALPHA_THRESHOLD) * (1.0 + VIS_SLACK) + 1e-9


@njit(parallel=True, cache=True)
def _pack_splats(
    means2d: np.ndarray, conics: np.ndarray, colors: np.ndarray, opacities: np.ndarray, depths: np.ndarray
) -> np.ndarray:
    """Packed records [N, RECORD_SIZE] (dtype of means2d) from separate per-splat arrays."""
    n = means2d.shape[0]
    splats = np.zeros((n, RECORD_SIZE), means2d.dtype)
    for i in prange(n):
        splats[i, R_MX] = means2d[i, 0]
        splats[i, R_MY] = means2d[i, 1]
        splats[i, R_CA] = conics[i, 0]
        splats[i, R_CB] = conics[i, 1]
        splats[i, R_CC] = conics[i, 2]
        splats[i, R_OPACITY] = opacities[i]
        splats[i, R_VIS] = _visibility_limit(float(opacities[i]))
        splats[i, R_RED] = colors[i, 0]
        splats[i, R_GREEN] = colors[i, 1]
        splats[i, R_BLUE] = colors[i, 2]
        splats[i, R_DEPTH] = depths[i]
    return splats


@njit(cache=True)
def _radix_argsort(keys: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``index`` reordered by ascending uint32 ``keys[index]``; stable (3 LSD passes of 11/11/10 bits)."""
    n = index.shape[0]
    key_src = keys[index]
    idx_src = index.copy()
    key_dst = np.empty_like(key_src)
    idx_dst = np.empty_like(idx_src)
    for shift in (0, 11, 22):
        starts = np.zeros(2049, np.int64)
        for i in range(n):
            starts[((key_src[i] >> shift) & 2047) + 1] += 1
        for b in range(2048):
            starts[b + 1] += starts[b]
        for i in range(n):
            bucket = (key_src[i] >> shift) & 2047
            slot = starts[bucket]
            key_dst[slot] = key_src[i]
            idx_dst[slot] = idx_src[i]
            starts[bucket] = slot + 1
        key_src, key_dst = key_dst, key_src
        idx_src, idx_dst = idx_dst, idx_src
    return idx_src


@njit(cache=True)
def _tile_range(mean: float, radius: float, n_tiles: int) -> tuple[int, int]:
    """gsplat's [first, last) tiles of a bounding box along one axis, clamped to the image."""
    centre = mean / TILE_SIZE
    half = radius / TILE_SIZE
    first = min(max(0, int(math.floor(centre - half))), n_tiles)
    last = min(max(0, int(math.ceil(centre + half))), n_tiles)
    return first, last


@njit(parallel=True, cache=True)
def _bin_splats(
    splats: np.ndarray, radii: np.ndarray, order: np.ndarray, tiles_x: int, tiles_y: int, n_chunks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile splat lists in depth order: (tile_offsets [T+1] int64, flat_ids [n_isect] int32)."""
    n = order.shape[0]
    n_tiles = tiles_x * tiles_y
    # Tile rectangles in depth order first: the random reads happen once, in a branch-free loop where the cache
    # misses overlap; the two passes below then stream through ``rects``.
    rects = np.empty((n, 4), np.int32)
    for r in prange(n):
        g = order[r]
        rects[r, 0], rects[r, 1] = _tile_range(splats[g, R_MX], radii[g, 0], tiles_x)
        rects[r, 2], rects[r, 3] = _tile_range(splats[g, R_MY], radii[g, 1], tiles_y)
    counts = np.zeros((n_chunks, n_tiles), np.int64)
    for c in prange(n_chunks):
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            for ty in range(rects[r, 2], rects[r, 3]):
                for tx in range(rects[r, 0], rects[r, 1]):
                    counts[c, ty * tiles_x + tx] += 1
    # Chunk c's slots in tile t come after those of chunks < c: depth order survives the parallel fill.
    tile_offsets = np.empty(n_tiles + 1, np.int64)
    cursors = np.empty((n_chunks, n_tiles), np.int64)
    pos = 0
    for t in range(n_tiles):
        tile_offsets[t] = pos
        for c in range(n_chunks):
            cursors[c, t] = pos
            pos += counts[c, t]
    tile_offsets[n_tiles] = pos
    flat_ids = np.empty(pos, np.int32)
    for c in prange(n_chunks):
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            g = order[r]
            for ty in range(rects[r, 2], rects[r, 3]):
                for tx in range(rects[r, 0], rects[r, 1]):
                    t = ty * tiles_x + tx
                    flat_ids[cursors[c, t]] = g
                    cursors[c, t] += 1
    return tile_offsets, flat_ids


# ----------------------------------------------------------------------------------------------------------------
# Batches and per-splat pixel spans
# ----------------------------------------------------------------------------------------------------------------
# Tile lists visit splats in depth order, i.e. scattered over memory. Copying a batch of records into a small local
# array first (a branch-free loop whose cache misses overlap) and then drawing from it roughly halves the run time:
# inside the branchy drawing loops every miss would stall the pipeline. gsplat stages batches in shared memory for
# the same reason.

BATCH = 64  # splat records staged per gather
# Batch columns beyond the record's: per-splat constants of the span equations below.
B_HALF_H, B_QUAD, B_CONST, B_SLOPE = RECORD_SIZE, RECORD_SIZE + 1, RECORD_SIZE + 2, RECORD_SIZE + 3
BATCH_WIDTH = RECORD_SIZE + 4


@njit(cache=True)
def _gather_batch(splats: np.ndarray, flat_ids: np.ndarray, first: int, count: int, batch: np.ndarray) -> None:
    """batch[j] = record of list entry first + j (float64), plus the span constants of its "alpha ≥ 1/255" ellipse.

    With d = mean - pixel, sigma = 0.5 (a dx² + c dy²) + b dx dy ≤ s_max is an ellipse: rows within ±half_h of my
    (half_h² = 2 s_max Σ_yy, Σ_yy = a / det), and in a row at offset dy the pixel centres within
    ±sqrt(quad dy² + const) of mx + slope dy, with quad = (b² - ac) / a², const = 2 s_max / a, slope = b / a.
    """
    for j in range(count):
        g = flat_ids[first + j]
        for f in range(RECORD_SIZE):
            batch[j, f] = splats[g, f]
    for j in range(count):
        a, b, c, s_max = batch[j, R_CA], batch[j, R_CB], batch[j, R_CC], batch[j, R_VIS]
        inv_a = 1.0 / a
        batch[j, B_HALF_H] = math.sqrt(max(0.0, 2.0 * s_max * a / (a * c - b * b)))
        batch[j, B_QUAD] = (b * b - a * c) * inv_a * inv_a
        batch[j, B_CONST] = 2.0 * s_max * inv_a
        batch[j, B_SLOPE] = b * inv_a


@njit(cache=True)
def _splat_rows(my: float, half_h: float, y0: int, y1: int) -> tuple[int, int]:
    """Inclusive pixel rows of [y0, y1) whose centres lie within ±half_h of my (empty if first > last)."""
    first = max(y0, int(math.ceil(my - half_h - 0.5 - SPAN_MARGIN_PX)))
    last = min(y1 - 1, int(math.floor(my + half_h - 0.5 + SPAN_MARGIN_PX)))
    return first, last


@njit(cache=True)
def _row_span(mx: float, dy: float, quad: float, const: float, slope: float, x0: int, x1: int) -> tuple[int, int]:
    """Inclusive pixel columns of [x0, x1) whose centres are inside the ellipse in the row at dy = my - row centre."""
    half_sq = quad * dy * dy + const
    if half_sq < 0.0:
        return 1, 0
    half = math.sqrt(half_sq)
    centre = mx + slope * dy - 0.5  # pixel index whose centre sits on the span's centre
    first = max(x0, int(math.ceil(centre - half - SPAN_MARGIN_PX)))
    last = min(x1 - 1, int(math.floor(centre + half + SPAN_MARGIN_PX)))
    return first, last


# ----------------------------------------------------------------------------------------------------------------
# Forward
# ----------------------------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _rasterize_fwd(
    splats: np.ndarray,  # [N, RECORD_SIZE]
    tile_offsets: np.ndarray,  # [T+1]
    flat_ids: np.ndarray,  # [n_isect]
    tile_order: np.ndarray,  # [T] processing order (a permutation, for load balance)
    width: int,
    height: int,
    tiles_x: int,
    out_rgb: np.ndarray,  # [H,W,3] premultiplied colour
    out_alpha: np.ndarray,  # [H,W]
    out_depth: np.ndarray,  # [H,W] Σ w z
    t_final: np.ndarray,  # [H,W] float64 transmittance after the last contributing splat
    last_ids: np.ndarray,  # [H,W] int32 list index of the last contributing splat, -1 if none
    tile_n_used: np.ndarray,  # [T] list entries the backward has to revisit
    record: int,  # 0: render only; 1: also count each tile's (pixel, splat) weights; 2: also write them
    tile_n_weights: np.ndarray,  # [T] int64 (record 1: out; record 2: in, the counts)
    weight_offsets: np.ndarray,  # [T] int64 first row of each tile's weights (record 2)
    weight_pixels: np.ndarray,  # out [Σ counts] int64 flat pixel index y·W + x (record 2)
    weight_splats: np.ndarray,  # out [Σ counts] int32 splat index (record 2)
    weight_values: np.ndarray,  # out [Σ counts] float64 wᵢ = αᵢ Tᵢ (record 2)
) -> None:
    for i in prange(tile_order.shape[0]):
        tile = tile_order[i]
        ty = tile // tiles_x
        x0 = (tile - ty * tiles_x) * TILE_SIZE
        y0 = ty * TILE_SIZE
        x1 = min(x0 + TILE_SIZE, width)
        y1 = min(y0 + TILE_SIZE, height)
        tw = x1 - x0
        n_pix = tw * (y1 - y0)
        trans = np.ones(n_pix)
        acc = np.zeros((n_pix, 4))
        last = np.full(n_pix, -1, np.int64)
        done = np.zeros(n_pix, np.bool_)
        batch = np.empty((BATCH, BATCH_WIDTH))
        n_done = 0
        max_last = -1
        n_weights = 0
        start = tile_offsets[tile]
        end = tile_offsets[tile + 1]
        for first in range(start, end, BATCH):
            if n_done == n_pix:  # every pixel of the tile has stopped
                break
            count = min(BATCH, end - first)
            _gather_batch(splats, flat_ids, first, count, batch)
            for j in range(count):
                mx, my = batch[j, R_MX], batch[j, R_MY]
                a, b, c = batch[j, R_CA], batch[j, R_CB], batch[j, R_CC]
                opacity = batch[j, R_OPACITY]
                f0, f1, f2, f3 = batch[j, R_RED], batch[j, R_GREEN], batch[j, R_BLUE], batch[j, R_DEPTH]
                row0, row1 = _splat_rows(my, batch[j, B_HALF_H], y0, y1)
                for py in range(row0, row1 + 1):
                    dy = my - (py + 0.5)
                    col0, col1 = _row_span(mx, dy, batch[j, B_QUAD], batch[j, B_CONST], batch[j, B_SLOPE], x0, x1)
                    row_base = (py - y0) * tw - x0
                    for px in range(col0, col1 + 1):
                        p = row_base + px
                        if done[p]:
                            continue
                        dx = mx - (px + 0.5)
                        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                        if sigma < 0.0:
                            continue
                        alpha = min(ALPHA_MAX, opacity * math.exp(-sigma))
                        if alpha < ALPHA_THRESHOLD:
                            continue
                        next_t = trans[p] * (1.0 - alpha)
                        if next_t <= TRANSMITTANCE_MIN:  # gsplat's exclusive stop: this splat is not drawn
                            done[p] = True
                            n_done += 1
                            continue
                        w = alpha * trans[p]
                        if record == 2:
                            k = weight_offsets[tile] + n_weights
                            weight_pixels[k] = py * width + px
                            weight_splats[k] = flat_ids[first + j]
                            weight_values[k] = w
                        n_weights += 1
                        acc[p, 0] += w * f0
                        acc[p, 1] += w * f1
                        acc[p, 2] += w * f2
                        acc[p, 3] += w * f3
                        trans[p] = next_t
                        last[p] = first + j
                        max_last = first + j
        tile_n_used[tile] = max_last - start + 1 if max_last >= 0 else 0
        if record == 1:
            tile_n_weights[tile] = n_weights
        for p in range(n_pix):
            py = y0 + p // tw
            px = x0 + p % tw
            out_rgb[py, px, 0] = acc[p, 0]
            out_rgb[py, px, 1] = acc[p, 1]
            out_rgb[py, px, 2] = acc[p, 2]
            out_depth[py, px] = acc[p, 3]
            out_alpha[py, px] = 1.0 - trans[p]
            t_final[py, px] = trans[p]
            last_ids[py, px] = last[p]


# ----------------------------------------------------------------------------------------------------------------
# Backward
# ----------------------------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _rasterize_bwd(
    splats: np.ndarray,
    tile_offsets: np.ndarray,
    flat_ids: np.ndarray,
    tile_order: np.ndarray,
    width: int,
    height: int,
    tiles_x: int,
    t_final: np.ndarray,  # [H,W] from the forward
    last_ids: np.ndarray,  # [H,W] from the forward
    tile_n_used: np.ndarray,  # [T] from the forward
    entry_offsets: np.ndarray,  # [T] first gradient row of each tile
    v_rgb: np.ndarray,  # [H,W,3] dL/d premultiplied rgb
    v_alpha: np.ndarray,  # [H,W]
    v_depth: np.ndarray,  # [H,W]
    entry_grads: np.ndarray,  # out [Σ tile_n_used, N_GRADS], one row per revisited list entry
) -> None:
    for i in prange(tile_order.shape[0]):
        tile = tile_order[i]
        n_used = tile_n_used[tile]
        if n_used == 0:
            continue
        ty = tile // tiles_x
        x0 = (tile - ty * tiles_x) * TILE_SIZE
        y0 = ty * TILE_SIZE
        x1 = min(x0 + TILE_SIZE, width)
        y1 = min(y0 + TILE_SIZE, height)
        tw = x1 - x0
        n_pix = tw * (y1 - y0)
        trans = np.empty(n_pix)
        t_end = np.empty(n_pix)
        last = np.empty(n_pix, np.int64)
        v_out = np.empty((n_pix, 4))
        v_a = np.empty(n_pix)
        behind = np.zeros((n_pix, 4))  # Σ over splats behind of feature · weight (gsplat's "buffer")
        batch = np.empty((BATCH, BATCH_WIDTH))
        for p in range(n_pix):
            py = y0 + p // tw
            px = x0 + p % tw
            trans[p] = t_final[py, px]
            t_end[p] = t_final[py, px]
            last[p] = last_ids[py, px]
            v_out[p, 0] = v_rgb[py, px, 0]
            v_out[p, 1] = v_rgb[py, px, 1]
            v_out[p, 2] = v_rgb[py, px, 2]
            v_out[p, 3] = v_depth[py, px]
            v_a[p] = v_alpha[py, px]
        start = tile_offsets[tile]
        base = entry_offsets[tile] - start  # gradient row of list entry k is base + k
        for stop in range(start + n_used, start, -BATCH):  # batches back to front
            first = max(start, stop - BATCH)
            _gather_batch(splats, flat_ids, first, stop - first, batch)
            for j in range(stop - first - 1, -1, -1):
                k = first + j
                mx, my = batch[j, R_MX], batch[j, R_MY]
                a, b, c = batch[j, R_CA], batch[j, R_CB], batch[j, R_CC]
                opacity = batch[j, R_OPACITY]
                f0, f1, f2, f3 = batch[j, R_RED], batch[j, R_GREEN], batch[j, R_BLUE], batch[j, R_DEPTH]
                v_mx = 0.0
                v_my = 0.0
                v_ca = 0.0
                v_cb = 0.0
                v_cc = 0.0
                v_f0 = 0.0
                v_f1 = 0.0
                v_f2 = 0.0
                v_f3 = 0.0
                v_op = 0.0
                row0, row1 = _splat_rows(my, batch[j, B_HALF_H], y0, y1)
                for py in range(row0, row1 + 1):
                    dy = my - (py + 0.5)
                    col0, col1 = _row_span(mx, dy, batch[j, B_QUAD], batch[j, B_CONST], batch[j, B_SLOPE], x0, x1)
                    row_base = (py - y0) * tw - x0
                    for px in range(col0, col1 + 1):
                        p = row_base + px
                        if last[p] < k:  # behind this pixel's early stop (or never reached it)
                            continue
                        dx = mx - (px + 0.5)
                        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                        if sigma < 0.0:
                            continue
                        vis = math.exp(-sigma)
                        alpha = min(ALPHA_MAX, opacity * vis)
                        if alpha < ALPHA_THRESHOLD:
                            continue
                        ra = 1.0 / (1.0 - alpha)
                        trans[p] *= ra  # T in front of this splat
                        fac = alpha * trans[p]
                        v_f0 += fac * v_out[p, 0]
                        v_f1 += fac * v_out[p, 1]
                        v_f2 += fac * v_out[p, 2]
                        v_f3 += fac * v_out[p, 3]
                        # dL/dalpha: own feature minus what it hides behind, plus the final-T (alpha output) term.
                        v_alpha_p = (
                            (f0 * trans[p] - behind[p, 0] * ra) * v_out[p, 0]
                            + (f1 * trans[p] - behind[p, 1] * ra) * v_out[p, 1]
                            + (f2 * trans[p] - behind[p, 2] * ra) * v_out[p, 2]
                            + (f3 * trans[p] - behind[p, 3] * ra) * v_out[p, 3]
                            + t_end[p] * ra * v_a[p]
                        )
                        if opacity * vis <= ALPHA_MAX:  # the 0.999 clamp passes no gradient
                            v_sigma = -opacity * vis * v_alpha_p
                            v_ca += 0.5 * v_sigma * dx * dx
                            v_cb += v_sigma * dx * dy
                            v_cc += 0.5 * v_sigma * dy * dy
                            v_mx += v_sigma * (a * dx + b * dy)
                            v_my += v_sigma * (b * dx + c * dy)
                            v_op += vis * v_alpha_p
                        behind[p, 0] += f0 * fac
                        behind[p, 1] += f1 * fac
                        behind[p, 2] += f2 * fac
                        behind[p, 3] += f3 * fac
                row = base + k
                entry_grads[row, G_MX] = v_mx
                entry_grads[row, G_MY] = v_my
                entry_grads[row, G_CA] = v_ca
                entry_grads[row, G_CB] = v_cb
                entry_grads[row, G_CC] = v_cc
                entry_grads[row, G_RED] = v_f0
                entry_grads[row, G_GREEN] = v_f1
                entry_grads[row, G_BLUE] = v_f2
                entry_grads[row, G_OPACITY] = v_op
                entry_grads[row, G_DEPTH] = v_f3


@njit(cache=True)
def _scatter_entry_grads(
    entry_grads: np.ndarray,
    entry_offsets: np.ndarray,
    tile_offsets: np.ndarray,
    tile_n_used: np.ndarray,
    flat_ids: np.ndarray,
    n_splats: int,
) -> np.ndarray:
    """Sum the per-entry gradient rows into per-splat gradients [N, N_GRADS] (serial: deterministic order)."""
    grads = np.zeros((n_splats, N_GRADS))
    for tile in range(tile_n_used.shape[0]):
        base = entry_offsets[tile]
        start = tile_offsets[tile]
        for kk in range(tile_n_used[tile]):
            g = flat_ids[start + kk]
            for j in range(N_GRADS):
                grads[g, j] += entry_grads[base + kk, j]
    return grads


# ----------------------------------------------------------------------------------------------------------------
# Fused projection (gsplat's fully_fused_projection, forward and hand-written VJP)
# ----------------------------------------------------------------------------------------------------------------
# projection.py's torch code is the readable specification. At 300k splats its ~150 small tensor ops (and their
# autograd graph) cost more than the whole rasterization, so the fast path runs the same maths here, one splat at a
# time. Tests check values and gradients of the two against each other.


@njit(cache=True)
def _fov_limits(
    fx: float, fy: float, cx: float, cy: float, width: int, height: int
) -> tuple[float, float, float, float]:
    """gsplat's clamp range (-lim_x_neg, lim_x_pos), (-lim_y_neg, lim_y_pos) for x/z and y/z."""
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    return (
        cx / fx + FOV_CLAMP_MARGIN * tan_fovx,
        (width - cx) / fx + FOV_CLAMP_MARGIN * tan_fovx,
        cy / fy + FOV_CLAMP_MARGIN * tan_fovy,
        (height - cy) / fy + FOV_CLAMP_MARGIN * tan_fovy,
    )


@njit(cache=True)
def _splat_frame(
    i: int,
    means: np.ndarray,
    quats: np.ndarray,
    scales: np.ndarray,
    view: np.ndarray,
    fx: float,
    fy: float,
    lims: tuple[float, float, float, float],
    frame: np.ndarray,
) -> tuple[float, float, float, float, float, float, float, float, float, float]:
    """Camera-frame quantities of splat i shared by the projection's forward and backward.

    Fills ``frame`` [6,3]: rows 0-2 = R(q̂), rows 3-5 = mc = R_view R(q̂) S (so Σ_cam = mc mcᵀ). Returns
    (x, y, z, |q|, J00, J02, J11, J12, tx, ty) with gsplat's fov-clamped Jacobian J = [[J00, 0, J02], [0, J11, J12]].
    """
    px, py, pz = float(means[i, 0]), float(means[i, 1]), float(means[i, 2])
    x = view[0, 0] * px + view[0, 1] * py + view[0, 2] * pz + view[0, 3]
    y = view[1, 0] * px + view[1, 1] * py + view[1, 2] * pz + view[1, 3]
    z = view[2, 0] * px + view[2, 1] * py + view[2, 2] * pz + view[2, 3]
    q0, q1, q2, q3 = float(quats[i, 0]), float(quats[i, 1]), float(quats[i, 2]), float(quats[i, 3])
    qnorm = max(math.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3), 1e-12)
    w, qx, qy, qz = q0 / qnorm, q1 / qnorm, q2 / qnorm, q3 / qnorm
    frame[0, 0] = 1.0 - 2.0 * (qy * qy + qz * qz)
    frame[0, 1] = 2.0 * (qx * qy - w * qz)
    frame[0, 2] = 2.0 * (qx * qz + w * qy)
    frame[1, 0] = 2.0 * (qx * qy + w * qz)
    frame[1, 1] = 1.0 - 2.0 * (qx * qx + qz * qz)
    frame[1, 2] = 2.0 * (qy * qz - w * qx)
    frame[2, 0] = 2.0 * (qx * qz - w * qy)
    frame[2, 1] = 2.0 * (qy * qz + w * qx)
    frame[2, 2] = 1.0 - 2.0 * (qx * qx + qy * qy)
    for r in range(3):
        for j in range(3):
            rot = view[r, 0] * frame[0, j] + view[r, 1] * frame[1, j] + view[r, 2] * frame[2, j]
            frame[3 + r, j] = rot * float(scales[i, j])
    lim_x_neg, lim_x_pos, lim_y_neg, lim_y_pos = lims
    rz = 1.0 / z if z != 0.0 else 0.0
    tx = z * min(lim_x_pos, max(-lim_x_neg, x * rz))
    ty = z * min(lim_y_pos, max(-lim_y_neg, y * rz))
    return x, y, z, qnorm, fx * rz, -fx * tx * rz * rz, fy * rz, -fy * ty * rz * rz, tx, ty


@njit(cache=True)
def _covariance_2d(
    frame: np.ndarray, j00: float, j02: float, j11: float, j12: float, amat: np.ndarray
) -> tuple[float, float, float]:
    """Σ2d + eps2d I = A Aᵀ + eps2d I with A = J mc (mc = frame[3:6]; A written to amat [2,3])."""
    c00 = EPS2D
    c01 = 0.0
    c11 = EPS2D
    for j in range(3):
        a0 = j00 * frame[3, j] + j02 * frame[5, j]
        a1 = j11 * frame[4, j] + j12 * frame[5, j]
        amat[0, j] = a0
        amat[1, j] = a1
        c00 += a0 * a0
        c01 += a0 * a1
        c11 += a1 * a1
    return c00, c01, c11


@njit(parallel=True, cache=True)
def _project_fwd(
    means: np.ndarray,  # [N,3]
    quats: np.ndarray,  # [N,4]
    scales: np.ndarray,  # [N,3]
    opacities: np.ndarray,  # [N]
    colors: np.ndarray,  # [N,3]
    view: np.ndarray,  # [4,4] float64 world_to_camera
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    width: int,
    height: int,
    splats: np.ndarray,  # out [N, RECORD_SIZE] packed records (zeros where culled)
    radii: np.ndarray,  # out [N,2] int32, 0 = culled
) -> None:
    lims = _fov_limits(fx, fy, cx, cy, width, height)
    n = means.shape[0]
    for chunk in prange(PROJECTION_CHUNKS):
        # Scratch once per chunk: an allocation per splat would dominate the run time.
        frame = np.empty((6, 3))
        amat = np.empty((2, 3))
        for i in range(chunk * n // PROJECTION_CHUNKS, (chunk + 1) * n // PROJECTION_CHUNKS):
            splats[i, :] = 0.0
            radii[i, 0] = 0
            radii[i, 1] = 0
            x, y, z, _, j00, j02, j11, j12, _, _ = _splat_frame(i, means, quats, scales, view, fx, fy, lims, frame)
            if z < NEAR_PLANE or z > FAR_PLANE:
                continue
            c00, c01, c11 = _covariance_2d(frame, j00, j02, j11, j12, amat)
            det = c00 * c11 - c01 * c01
            opacity = float(opacities[i])
            if det <= 0.0 or opacity < ALPHA_THRESHOLD:
                continue
            # gsplat's opacity-aware box: alpha < 1/255 beyond sqrt(2 ln(255 o)) standard deviations.
            extend = min(MAX_EXTEND, math.sqrt(2.0 * math.log(opacity / ALPHA_THRESHOLD)))
            radius_x = math.ceil(extend * math.sqrt(c00))
            radius_y = math.ceil(extend * math.sqrt(c11))
            if radius_x <= 0.0 and radius_y <= 0.0:
                continue
            u = fx * x / z + cx
            v = fy * y / z + cy
            if u + radius_x <= 0.0 or u - radius_x >= width or v + radius_y <= 0.0 or v - radius_y >= height:
                continue
            splats[i, R_MX] = u
            splats[i, R_MY] = v
            splats[i, R_CA] = c11 / det
            splats[i, R_CB] = -c01 / det
            splats[i, R_CC] = c00 / det
            splats[i, R_OPACITY] = opacity
            splats[i, R_VIS] = _visibility_limit(opacity)
            splats[i, R_RED] = colors[i, 0]
            splats[i, R_GREEN] = colors[i, 1]
            splats[i, R_BLUE] = colors[i, 2]
            splats[i, R_DEPTH] = z
            radii[i, 0] = int(radius_x)
            radii[i, 1] = int(radius_y)


@njit(cache=True)
def _quat_vjp(quats: np.ndarray, i: int, qnorm: float, v_rq: np.ndarray, v_quats: np.ndarray) -> None:
    """dL/dq of R(q / |q|) given dL/dR (v_rq [3,3]); written to v_quats[i]."""
    w, qx, qy, qz = (float(quats[i, 0]) / qnorm, float(quats[i, 1]) / qnorm,
                     float(quats[i, 2]) / qnorm, float(quats[i, 3]) / qnorm)  # fmt: skip
    g = v_rq
    gw = 2.0 * (-qz * g[0, 1] + qy * g[0, 2] + qz * g[1, 0] - qx * g[1, 2] - qy * g[2, 0] + qx * g[2, 1])
    gx = 2.0 * (qy * g[0, 1] + qz * g[0, 2] + qy * g[1, 0] - 2.0 * qx * g[1, 1] - w * g[1, 2]
                + qz * g[2, 0] + w * g[2, 1] - 2.0 * qx * g[2, 2])  # fmt: skip
    gy = 2.0 * (-2.0 * qy * g[0, 0] + qx * g[0, 1] + w * g[0, 2] + qx * g[1, 0] + qz * g[1, 2]
                - w * g[2, 0] + qz * g[2, 1] - 2.0 * qy * g[2, 2])  # fmt: skip
    gz = 2.0 * (-2.0 * qz * g[0, 0] - w * g[0, 1] + qx * g[0, 2] + w * g[1, 0] - 2.0 * qz * g[1, 1]
                + qy * g[1, 2] + qx * g[2, 0] + qy * g[2, 1])  # fmt: skip
    radial = gw * w + gx * qx + gy * qy + gz * qz  # normalisation removes the radial component
    v_quats[i, 0] = (gw - radial * w) / qnorm
    v_quats[i, 1] = (gx - radial * qx) / qnorm
    v_quats[i, 2] = (gy - radial * qy) / qnorm
    v_quats[i, 3] = (gz - radial * qz) / qnorm


@njit(parallel=True, cache=True)
def _project_bwd(
    means: np.ndarray,
    quats: np.ndarray,
    scales: np.ndarray,
    view: np.ndarray,
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    width: int,
    height: int,
    radii: np.ndarray,  # [N,2] from the forward (0: culled, no gradient)
    grads2d: np.ndarray,  # [N, N_GRADS] from the rasterizer backward
    v_means: np.ndarray,  # out [N,3]
    v_quats: np.ndarray,  # out [N,4]
    v_scales: np.ndarray,  # out [N,3]
) -> None:
    lims = _fov_limits(fx, fy, cx, cy, width, height)
    lim_x_neg, lim_x_pos, lim_y_neg, lim_y_pos = lims
    n = means.shape[0]
    for chunk in prange(PROJECTION_CHUNKS):
        frame = np.empty((6, 3))
        amat = np.empty((2, 3))
        v_mc = np.empty((3, 3))
        v_rq = np.empty((3, 3))
        for i in range(chunk * n // PROJECTION_CHUNKS, (chunk + 1) * n // PROJECTION_CHUNKS):
            v_means[i, :] = 0.0
            v_quats[i, :] = 0.0
            v_scales[i, :] = 0.0
            if radii[i, 0] <= 0 or radii[i, 1] <= 0:
                continue
            # Recompute the forward intermediates (cheaper than storing ~30 floats per splat).
            x, y, z, qnorm, j00, j02, j11, j12, tx, ty = _splat_frame(
                i, means, quats, scales, view, fx, fy, lims, frame
            )
            c00, c01, c11 = _covariance_2d(frame, j00, j02, j11, j12, amat)
            det = c00 * c11 - c01 * c01
            p00, p01, p11 = c11 / det, -c01 / det, c00 / det  # conic P = Σ2d⁻¹

            # conic (a, b, c) = (P00, P01 = P10, P11): dL/dP splits b over both off-diagonals; dΣ = -P dP P.
            g00, g01, g11 = grads2d[i, G_CA], 0.5 * grads2d[i, G_CB], grads2d[i, G_CC]
            t00 = g00 * p00 + g01 * p01
            t01 = g00 * p01 + g01 * p11
            t10 = g01 * p00 + g11 * p01
            t11 = g01 * p01 + g11 * p11
            s00 = -(p00 * t00 + p01 * t10)
            s01 = -(p00 * t01 + p01 * t11)
            s11 = -(p01 * t01 + p11 * t11)
            # Σ2d = A Aᵀ → dA = 2 dΣ A;  A = J mc → dJ = dA mcᵀ, dmc = Jᵀ dA.
            v_j00 = 0.0
            v_j02 = 0.0
            v_j11 = 0.0
            v_j12 = 0.0
            for j in range(3):
                va0 = 2.0 * (s00 * amat[0, j] + s01 * amat[1, j])
                va1 = 2.0 * (s01 * amat[0, j] + s11 * amat[1, j])
                v_j00 += va0 * frame[3, j]
                v_j02 += va0 * frame[5, j]
                v_j11 += va1 * frame[4, j]
                v_j12 += va1 * frame[5, j]
                v_mc[0, j] = j00 * va0
                v_mc[1, j] = j11 * va1
                v_mc[2, j] = j02 * va0 + j12 * va1
            # mc[:, j] = R_view Rq[:, j] s_j; with d = R_viewᵀ dmc: ds_j = d[:, j]·Rq[:, j], dRq[:, j] = d[:, j] s_j.
            for j in range(3):
                s_j = float(scales[i, j])
                acc = 0.0
                for r in range(3):
                    v_n = view[0, r] * v_mc[0, j] + view[1, r] * v_mc[1, j] + view[2, r] * v_mc[2, j]
                    acc += v_n * frame[r, j]
                    v_rq[r, j] = v_n * s_j
                v_scales[i, j] = acc
            _quat_vjp(quats, i, qnorm, v_rq, v_quats)

            # Camera-frame mean: through means2d, depth and the Jacobian (with gsplat's fov clamp).
            rz = 1.0 / z
            rz2 = rz * rz
            v_u, v_v = grads2d[i, G_MX], grads2d[i, G_MY]
            v_x = v_u * fx * rz
            v_y = v_v * fy * rz
            v_z = -(v_u * fx * x + v_v * fy * y) * rz2 + grads2d[i, G_DEPTH]
            v_z += -fx * rz2 * v_j00 - fy * rz2 * v_j11
            if -lim_x_neg <= x * rz <= lim_x_pos:  # J02 = -fx x / z²
                v_x += -fx * rz2 * v_j02
                v_z += 2.0 * fx * x * rz2 * rz * v_j02
            else:  # clamped: J02 = -fx lim / z
                v_z += fx * tx * rz2 * rz * v_j02
            if -lim_y_neg <= y * rz <= lim_y_pos:
                v_y += -fy * rz2 * v_j12
                v_z += 2.0 * fy * y * rz2 * rz * v_j12
            else:
                v_z += fy * ty * rz2 * rz * v_j12
            for j in range(3):  # p_cam = R_view p + t → dp = R_viewᵀ dp_cam
                v_means[i, j] = view[0, j] * v_x + view[1, j] * v_y + view[2, j] * v_z


# ----------------------------------------------------------------------------------------------------------------
# numpy orchestration and torch glue
# ----------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _tile_order(n_tiles: int) -> np.ndarray:
    """A fixed shuffle of the tiles: numba hands each thread a contiguous block of the prange, and a shuffle
    spreads expensive regions (dense foreground, saturated sky) evenly over the threads."""
    return np.random.default_rng(0).permutation(n_tiles).astype(np.int64)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


@dataclass
class RasterState:
    """What the backward needs from the forward."""

    splats: np.ndarray  # [N, RECORD_SIZE]
    tile_offsets: np.ndarray  # [T+1]
    flat_ids: np.ndarray  # [n_isect]
    tile_order: np.ndarray  # [T]
    tiles_x: int
    t_final: np.ndarray  # [H,W] float64
    last_ids: np.ndarray  # [H,W] int32
    tile_n_used: np.ndarray  # [T]


def _tile_lists(splats: np.ndarray, radii: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Visible splats binned into depth-ordered tile lists: (tile_offsets, flat_ids, tiles_x, tiles_y)."""
    tiles_x = (width + TILE_SIZE - 1) // TILE_SIZE
    tiles_y = (height + TILE_SIZE - 1) // TILE_SIZE
    visible = np.flatnonzero((radii[:, 0] > 0) & (radii[:, 1] > 0))
    # gsplat sorts by the float32 bit pattern of the depth (monotone for positive depths past the near plane).
    keys = np.ascontiguousarray(splats[:, R_DEPTH], dtype=np.float32).view(np.uint32)
    order = _radix_argsort(keys, visible.astype(np.int64))
    n_chunks = max(1, numba.get_num_threads())
    tile_offsets, flat_ids = _bin_splats(splats, radii, order, tiles_x, tiles_y, n_chunks)
    return tile_offsets, flat_ids, tiles_x, tiles_y


_NO_WEIGHTS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32),
               np.zeros(0, np.float64))  # the weight arguments of a forward that records none


def _forward_outputs(height: int, width: int, dtype: np.dtype, n_tiles: int) -> tuple[np.ndarray, ...]:
    """Empty rgb, alpha, depth, t_final, last_ids and tile_n_used for ``_rasterize_fwd``."""
    return (np.empty((height, width, 3), dtype), np.empty((height, width), dtype), np.empty((height, width), dtype),
            np.empty((height, width), np.float64), np.empty((height, width), np.int32), np.zeros(n_tiles, np.int64))


def rasterize_splats(
    splats: np.ndarray, radii: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, RasterState]:
    """Forward of packed splats [N, RECORD_SIZE] with radii [N,2]: rgb [H,W,3], alpha [H,W], depth [H,W], state."""
    tile_offsets, flat_ids, tiles_x, tiles_y = _tile_lists(splats, radii, width, height)
    tile_order = _tile_order(tiles_x * tiles_y)
    rgb, alpha, depth, t_final, last_ids, tile_n_used = _forward_outputs(height, width, splats.dtype, tiles_x * tiles_y)
    _rasterize_fwd(
        splats, tile_offsets, flat_ids, tile_order, width, height, tiles_x,
        rgb, alpha, depth, t_final, last_ids, tile_n_used, 0, *_NO_WEIGHTS,
    )  # fmt: skip
    state = RasterState(splats, tile_offsets, flat_ids, tile_order, tiles_x, t_final, last_ids, tile_n_used)
    return rgb, alpha, depth, state


def splat_weights(splats: np.ndarray, radii: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every nonzero compositing weight wᵢ(p) = αᵢ(p)·Tᵢ(p) of packed splats: (flat pixel index [M] int64, splat
    index [M] int32, weight [M] float64), grouped by tile.

    With geometry and opacities fixed the premultiplied render is linear in the colours, ``rgb[p] = Σᵢ wᵢ(p) cᵢ``:
    these triples are that sparse matrix, exactly as the forward composites (the same traversal, run twice: count,
    then write), so a colour solve can iterate on sparse products instead of rasterizer passes.
    """
    tile_offsets, flat_ids, tiles_x, tiles_y = _tile_lists(splats, radii, width, height)
    n_tiles = tiles_x * tiles_y
    tile_order = _tile_order(n_tiles)
    outputs = _forward_outputs(height, width, splats.dtype, n_tiles)
    counts = np.zeros(n_tiles, np.int64)
    _rasterize_fwd(splats, tile_offsets, flat_ids, tile_order, width, height, tiles_x, *outputs, 1, counts,
                   *_NO_WEIGHTS[1:])
    offsets = np.zeros(n_tiles, np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    total = int(counts.sum())
    pixels, ids, values = np.empty(total, np.int64), np.empty(total, np.int32), np.empty(total, np.float64)
    _rasterize_fwd(
        splats, tile_offsets, flat_ids, tile_order, width, height, tiles_x, *outputs, 2, counts, offsets,
        pixels, ids, values,
    )  # fmt: skip
    return pixels, ids, values


def rasterize_splats_backward(
    state: RasterState, width: int, height: int, v_rgb: np.ndarray, v_alpha: np.ndarray, v_depth: np.ndarray
) -> np.ndarray:
    """Per-splat gradients [N, N_GRADS] float64 (``G_*`` columns) from output gradients [H,W,3], [H,W], [H,W]."""
    entry_offsets = np.zeros_like(state.tile_n_used)
    np.cumsum(state.tile_n_used[:-1], out=entry_offsets[1:])
    entry_grads = np.empty((int(state.tile_n_used.sum()), N_GRADS), np.float64)
    _rasterize_bwd(
        state.splats, state.tile_offsets, state.flat_ids, state.tile_order, width, height, state.tiles_x,
        state.t_final, state.last_ids, state.tile_n_used, entry_offsets, v_rgb, v_alpha, v_depth, entry_grads,
    )  # fmt: skip
    return _scatter_entry_grads(
        entry_grads, entry_offsets, state.tile_offsets, state.tile_n_used, state.flat_ids, state.splats.shape[0]
    )


def _output_grads(
    v_rgb: torch.Tensor, v_alpha: torch.Tensor, v_depth: torch.Tensor, dtype: torch.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output gradients as contiguous numpy arrays of the forward's dtype."""
    return _numpy(v_rgb.to(dtype)), _numpy(v_alpha.to(dtype)), _numpy(v_depth.to(dtype))


class TileRasterizeFunction(torch.autograd.Function):
    """(means2d, conics, colors, opacities, depths, radii) → (premultiplied rgb [H,W,3], alpha [H,W], depth [H,W]).

    Differentiable w.r.t. means2d [N,2], conics [N,3], colors [N,3], opacities [N] and depths [N].
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        means2d: torch.Tensor,
        conics: torch.Tensor,
        colors: torch.Tensor,
        opacities: torch.Tensor,
        depths: torch.Tensor,
        radii: torch.Tensor,
        width: int,
        height: int,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        splats = _pack_splats(*(_numpy(t) for t in (means2d, conics, colors, opacities, depths)))
        rgb, alpha, depth, state = rasterize_splats(splats, _numpy(radii.to(torch.int32)), width, height)
        ctx.state = state
        ctx.size = (width, height)
        ctx.dtype = means2d.dtype
        return torch.from_numpy(rgb), torch.from_numpy(alpha), torch.from_numpy(depth)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        v_rgb: torch.Tensor,
        v_alpha: torch.Tensor,
        v_depth: torch.Tensor,
    ) -> tuple[torch.Tensor | None, ...]:
        width, height = ctx.size
        grads = rasterize_splats_backward(ctx.state, width, height, *_output_grads(v_rgb, v_alpha, v_depth, ctx.dtype))
        grads = torch.from_numpy(grads).to(ctx.dtype)
        return (
            grads[:, G_MX : G_MY + 1],
            grads[:, G_CA : G_CC + 1],
            grads[:, G_RED : G_BLUE + 1],
            grads[:, G_OPACITY],
            grads[:, G_DEPTH],
            None,
            None,
            None,
        )


def rasterize_tiles(
    projected: ProjectedGaussians, colors: torch.Tensor, opacities: torch.Tensor, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Premultiplied rgb [H,W,3], alpha [H,W], depth [H,W] (Σ wᵢ zᵢ) of splats from the torch projection.

    Gradients flow into ``projected`` (and through torch autograd on to 3D parameters); CPU tensors.
    """
    return TileRasterizeFunction.apply(
        projected.means2d, projected.conics, colors, opacities, projected.depths, projected.radii, width, height
    )


def project_numpy(
    means: np.ndarray,
    quats: np.ndarray,
    scales: np.ndarray,
    opacities: np.ndarray,
    colors: np.ndarray,
    view: np.ndarray,
    intrinsics: tuple[float, float, float, float],
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Numba twin of :func:`~.projection.project_gaussians`: packed records [N, RECORD_SIZE] and radii [N,2]."""
    n = means.shape[0]
    splats = np.empty((n, RECORD_SIZE), means.dtype)
    radii = np.empty((n, 2), np.int32)
    _project_fwd(means, quats, scales, opacities, colors, view, *intrinsics, width, height, splats, radii)
    return splats, radii


class FusedRasterizeFunction(torch.autograd.Function):
    """Projection + tile rasterization in numba: gsplat's fused pipeline on the CPU.

    (means [N,3], quats [N,4], scales [N,3], opacities [N], colors [N,3]) → (premultiplied rgb [H,W,3],
    alpha [H,W], depth [H,W]); differentiable w.r.t. those five (not the camera).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        means: torch.Tensor,
        quats: torch.Tensor,
        scales: torch.Tensor,
        opacities: torch.Tensor,
        colors: torch.Tensor,
        view: np.ndarray,
        intrinsics: tuple[float, float, float, float],
        width: int,
        height: int,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        arrays = [_numpy(t) for t in (means, quats, scales, opacities, colors)]
        splats, radii = project_numpy(*arrays, view, intrinsics, width, height)
        rgb, alpha, depth, state = rasterize_splats(splats, radii, width, height)
        ctx.save_for_backward(means, quats, scales)
        ctx.state = state
        ctx.radii = radii
        ctx.camera = (view, intrinsics, width, height)
        return torch.from_numpy(rgb), torch.from_numpy(alpha), torch.from_numpy(depth)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        v_rgb: torch.Tensor,
        v_alpha: torch.Tensor,
        v_depth: torch.Tensor,
    ) -> tuple[torch.Tensor | None, ...]:
        means_t = ctx.saved_tensors[0]
        means, quats, scales = (_numpy(t) for t in ctx.saved_tensors)
        view, intrinsics, width, height = ctx.camera
        grads2d = rasterize_splats_backward(
            ctx.state, width, height, *_output_grads(v_rgb, v_alpha, v_depth, means_t.dtype)
        )
        n, dtype = means.shape[0], means.dtype
        v_means = np.empty((n, 3), dtype)
        v_quats = np.empty((n, 4), dtype)
        v_scales = np.empty((n, 3), dtype)
        _project_bwd(
            means, quats, scales, view, *intrinsics, width, height, ctx.radii, grads2d, v_means, v_quats, v_scales
        )
        grads2d_t = torch.from_numpy(grads2d).to(means_t.dtype)
        return (
            torch.from_numpy(v_means),
            torch.from_numpy(v_quats),
            torch.from_numpy(v_scales),
            grads2d_t[:, G_OPACITY],
            grads2d_t[:, G_RED : G_BLUE + 1],
            None,
            None,
            None,
            None,
        )


def camera_arrays(
    world_to_camera: torch.Tensor, K: torch.Tensor, dtype: torch.dtype | None = None
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The kernels' camera: viewmat [4,4] float64 and (fx, fy, cx, cy); ``dtype``: rounded through it first, as
    :func:`~landscape4d.raster.rasterize` does for Gaussians of that dtype."""
    w2c, k = world_to_camera.detach().cpu(), K.detach().cpu()
    if dtype is not None:
        w2c, k = w2c.to(dtype), k.to(dtype)
    view = w2c.to(torch.float64).contiguous().numpy()
    k = k.to(torch.float64)
    return view, (float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]))


def rasterize_cpu(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    world_to_camera: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Premultiplied rgb [H,W,3], alpha [H,W], depth [H,W] (Σ wᵢ zᵢ) of 3D Gaussians; CPU tensors, one dtype."""
    view, intrinsics = camera_arrays(world_to_camera, K)
    return FusedRasterizeFunction.apply(means, quats, scales, opacities, colors, view, intrinsics, width, height)


__all__ = [
    "RECORD_SIZE",
    "TILE_SIZE",
    "FusedRasterizeFunction",
    "RasterState",
    "TileRasterizeFunction",
    "camera_arrays",
    "project_numpy",
    "rasterize_cpu",
    "rasterize_splats",
    "rasterize_splats_backward",
    "rasterize_tiles",
    "splat_weights",
]
