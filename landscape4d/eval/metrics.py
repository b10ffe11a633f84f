"""Quality metrics on plain NumPy arrays (no scenes, no rendering, no downloaded weights).

Images are [H,W,3] (or [H,W]) arrays, either uint8 (0..255) or float in [0,1]; every function converts with
:func:`to_float01` first, so both kinds give the same numbers. Flows are [H,W,2] arrays of (du, dv) in pixels,
with the convention ``a(x) ≈ b(x + flow(x))`` for the flow from image ``a`` to image ``b``. Pixel centres sit at
(u + 0.5, v + 0.5) as everywhere in landscape4d (:mod:`landscape4d.camera`).

The exact definitions (the report header repeats them) are in each docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..camera import project, sample_bilinear, unproject  # the one pinhole camera (re-exported here)

HOLE_ALPHA = 0.9  # accumulated opacity below this is a hole (same threshold as render.HOLE_ALPHA)
LEVELS = 255.0  # 8-bit levels: the unit of the change and warping-error metrics


# ---------------------------------------------------------------------------------------------------------------
# Conversions


def to_float01(image: np.ndarray) -> np.ndarray:
    """float64 copy in [0,1] of a uint8 (÷255) or float image (kept as is)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"images must be uint8 or float, got dtype {image.dtype}")
    return image.astype(np.float64)


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (0.299 R + 0.587 G + 0.114 B) as uint8 [H,W]."""
    image = to_float01(image)
    gray = image if image.ndim == 2 else image[..., :3] @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.round(gray * 255.0), 0, 255).astype(np.uint8)


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = to_float01(a), to_float01(b)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    return a, b


# ---------------------------------------------------------------------------------------------------------------
# Full-reference fidelity


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB = 10·log10(1 / MSE), MSE over all pixels and channels in [0,1] units (inf when identical).

    With ``mask`` [H,W] bool the MSE runs over the selected pixels only (NaN when none is selected).
    """
    a, b = _check_pair(a, b)
    diff2 = (a - b) ** 2
    if mask is not None:
        mask = np.asarray(mask, bool)
        if not mask.any():
            return float("nan")
        diff2 = diff2[mask]
    mse = float(diff2.mean())
    return float("inf") if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004): Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1, population
    covariances, computed per RGB channel and averaged (scikit-image ``structural_similarity``)."""
    from skimage.metrics import structural_similarity

    a, b = _check_pair(a, b)
    return float(
        structural_similarity(
            a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            channel_axis=-1 if a.ndim == 3 else None,
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# Coverage, loop seam, static stability


def hole_fraction(alpha: np.ndarray, threshold: float = HOLE_ALPHA) -> float:
    """Share of pixels whose accumulated opacity is below ``threshold`` (0.9)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    return float((alpha < threshold).mean())


def seam_psnr(frame_start: np.ndarray, frame_end: np.ndarray) -> float:
    """PSNR between the frame at the start of the loop (t = 0) and at its end (t = period⁻), same camera."""
    return psnr(frame_start, frame_end)


@dataclass
class StaticChange:
    p99: float  # 99th percentile over static pixels of the per-pixel maximum change, 8-bit levels
    max: float  # maximum over static pixels, 8-bit levels
    pixels: int  # number of static pixels evaluated


def static_change(frames: list[np.ndarray] | np.ndarray, static_mask: np.ndarray) -> StaticChange:
    """Change of static pixels under a static camera, in 8-bit levels.

    D(x) = max over frames t and channels c of |I_t(x, c) − I_0(x, c)| · 255, for x in ``static_mask``;
    returns the 99th percentile and the maximum of D over the static pixels.
    """
    frames = [to_float01(f) for f in frames]
    static_mask = np.asarray(static_mask, bool)
    if not static_mask.any() or len(frames) < 2:
        return StaticChange(float("nan"), float("nan"), int(static_mask.sum()))
    reference = frames[0]
    change = np.zeros(static_mask.shape, np.float64)
    for frame in frames[1:]:
        diff = np.abs(frame - reference)
        change = np.maximum(change, diff.max(axis=-1) if diff.ndim == 3 else diff)
    values = change[static_mask] * LEVELS
    return StaticChange(float(np.percentile(values, 99)), float(values.max()), int(static_mask.sum()))


# ---------------------------------------------------------------------------------------------------------------
# Edge of the world (moving cameras) and ghosting (the animation under the input camera)

FLAT_LEVELS = 2.0  # local luma standard deviation (8-bit levels) below which a pixel counts as flat
FLAT_WINDOW = 5  # ... over this many × this many pixels
PROVENANCE_SEEN = 0.5  # provenance below this: the pixel's content was neither in the photo nor in its border
MIN_CONTACT_PX = 5  # a component shows the edge of the world if it runs along the frame border for this many px


def local_std_levels(image: np.ndarray, window: int = FLAT_WINDOW, mask: np.ndarray | None = None) -> np.ndarray:
    """[H,W] standard deviation of luma (Rec. 601, float, 8-bit levels) over a ``window``×``window`` box
    (population std; reflected borders). With ``mask`` [H,W] bool only the masked pixels of each window count
    (a thin fill next to real texture is judged by itself); 0 where a window holds no masked pixel."""
    image = to_float01(image)
    gray = (image if image.ndim == 2 else image[..., :3] @ np.array([0.299, 0.587, 0.114])) * LEVELS
    weight = np.ones(gray.shape) if mask is None else np.asarray(mask, np.float64)
    box = lambda x: cv2.blur(x, (window, window), borderType=cv2.BORDER_REFLECT)  # noqa: E731
    count = np.maximum(box(weight), 1e-12)
    mean = box(gray * weight) / count
    mean_sq = box(gray * gray * weight) / count
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def edge_of_world_mask(
    frame: np.ndarray,
    provenance: np.ndarray,
    alpha: np.ndarray,
    flat_levels: float = FLAT_LEVELS,
    window: int = FLAT_WINDOW,
    min_contact_px: int = MIN_CONTACT_PX,
) -> np.ndarray:
    """[H,W] bool: the pixels where a rendered frame shows that the scene ends (see :func:`edge_of_world_share`)."""
    provenance, alpha = np.asarray(provenance, np.float64), np.asarray(alpha, np.float64)
    if provenance.shape != alpha.shape or provenance.shape != np.asarray(frame).shape[:2]:
        raise ValueError(f"frame {np.asarray(frame).shape}, provenance {provenance.shape} and alpha {alpha.shape} must share [H,W]")
    unseen = (provenance < PROVENANCE_SEEN) | (alpha < HOLE_ALPHA)
    candidates = unseen & (local_std_levels(frame, window, unseen) < flat_levels)
    if not candidates.any():
        return candidates
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    on_border = np.zeros(labels.shape, bool)
    on_border[[0, -1]] = True
    on_border[:, [0, -1]] = True
    contact = np.bincount(labels[on_border], minlength=count)
    touching = contact >= min_contact_px
    touching[0] = False
    return touching[labels]


def edge_of_world_share(
    frame: np.ndarray,
    provenance: np.ndarray,
    alpha: np.ndarray,
    flat_levels: float = FLAT_LEVELS,
    window: int = FLAT_WINDOW,
    min_contact_px: int = MIN_CONTACT_PX,
) -> float:
    """Share of a frame's pixels where it shows the end of the scene: unseen, flat and connected to the border.

    ``provenance`` [H,W]: the rendered share of the pixel's colour that comes from the photo or its outpainted
    border (each Gaussian carries 1 if ``Scene4D.layer`` is LAYER_PHOTO or LAYER_BORDER — or LAYER_BACKDROP, the
    static copy of moving photo content — else 0; blended, ÷ alpha). unseen = provenance < 0.5 or alpha < 0.9;
    flat = standard deviation of luma (8-bit levels) of the unseen pixels of a ``window``×``window`` box
    < ``flat_levels`` (seen pixels around a thin fill do not count). The share counts the pixels of the
    8-connected components of unseen ∧ flat that run along the frame border for at least ``min_contact_px``
    border pixels, divided by H·W. Textured fills, interior holes and thin disocclusion cracks that merely cross
    the border (e.g. behind a horizon) do not count.
    """
    return float(edge_of_world_mask(frame, provenance, alpha, flat_levels, window, min_contact_px).mean())


def mean_gradient(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean gradient magnitude of luma (8-bit levels per pixel; Sobel 3×3 ÷ 8) over ``mask`` (NaN when empty)."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return float("nan")
    image = to_float01(image)
    gray = (image if image.ndim == 2 else image[..., :3] @ np.array([0.299, 0.587, 0.114])) * LEVELS
    gx = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    gy = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    return float(np.hypot(gx, gy)[mask].mean())


@dataclass
class Ghosting:
    sharpness_ratio: float  # min over phases of mean gradient in the region ÷ that of frame 0 (1 = as sharp)
    colour_drift: float  # max over phases and channels of |mean colour of the region − frame 0's|, 8-bit levels
    pixels: int


def ghosting(frames: list[np.ndarray] | np.ndarray, region: np.ndarray) -> Ghosting:
    """Blur and colour drift of a region over loop phases, against the first frame (same camera).

    ``frames[0]`` is phase 0. sharpness ratio = min over the other frames t of G_t / G_0, where G = mean Sobel
    gradient magnitude of luma over ``region`` (:func:`mean_gradient`); colour drift = max over t and RGB channels
    c of |mean_region I_t(c) − mean_region I_0(c)|·255. NaN when the region is empty or there is one frame.
    """
    frames = [to_float01(f) for f in frames]
    region = np.asarray(region, bool)
    pixels = int(region.sum())
    if pixels == 0 or len(frames) < 2:
        return Ghosting(float("nan"), float("nan"), pixels)
    reference = mean_gradient(frames[0], region)
    mean0 = frames[0][region].mean(axis=0)
    ratios = [mean_gradient(f, region) / reference if reference > 0 else float("nan") for f in frames[1:]]
    drift = max(float(np.max(np.abs(f[region].mean(axis=0) - mean0))) for f in frames[1:]) * LEVELS
    return Ghosting(float(np.min(ratios)), drift, pixels)


# ---------------------------------------------------------------------------------------------------------------
# Optical flow and motion adherence


def warp_by_flow(image: np.ndarray, displacement_px: np.ndarray) -> np.ndarray:
    """``image`` with its content moved by ``displacement_px`` [H,W,2] (x, y; the field at the destination, as an
    Eulerian field is): out(x) = image(x − d(x)), bilinear, edges reflected."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    d = displacement_px.astype(np.float32)
    return cv2.remap(image, xs - d[..., 0], ys - d[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow [H,W,2] from ``a`` to ``b`` (a(x) ≈ b(x + flow)), OpenCV DIS (medium preset) on 8-bit luma."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(to_gray_u8(a), to_gray_u8(b), None).astype(np.float64)


def texture_luma(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """[H,W] float in [0,1]: luma minus its local mean (Gaussian blur of ``sigma_px``), × 2 around mid-grey.

    The texture alone (ripples, foam streaks): where the low-frequency colour of a region is meant to stay put
    (colour anchoring) while its texture travels, optical flow on plain luma averages a still layer with a moving
    one and reads less motion than the eye follows."""
    gray = to_gray_u8(image).astype(np.float64) / 255.0
    local_mean = cv2.GaussianBlur(gray, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    return np.clip(0.5 + 2.0 * (gray - local_mean), 0.0, 1.0)


def textured_mask(image: np.ndarray, min_eigenvalue: float = 1e-4, block: int = 7) -> np.ndarray:
    """Pixels where flow is measurable (Shi–Tomasi): the smaller eigenvalue of the structure tensor
    mean(∇I ∇Iᵀ) over a ``block``×``block`` window exceeds ``min_eigenvalue``; I = luma in [0,1], ∇ = Sobel 3×3 ÷ 8
    (so a gradient of 0.01 per pixel in every direction gives 1e-4)."""
    gray = to_gray_u8(image).astype(np.float64) / 255.0
    gx = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3) / 8.0
    mean = lambda x: cv2.blur(x, (block, block), borderType=cv2.BORDER_REFLECT)  # noqa: E731
    xx, yy, xy = mean(gx * gx), mean(gy * gy), mean(gx * gy)
    smaller = 0.5 * (xx + yy) - np.sqrt(0.25 * (xx - yy) ** 2 + xy**2)
    return smaller > min_eigenvalue


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel unsigned angle in degrees between 2D vectors a and b [...,2] (NaN where either is zero)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    cosine = np.sum(a * b, axis=-1) / np.where(norms > 0, norms, 1.0)
    angle = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return np.where(norms > 0, angle, np.nan)


@dataclass
class MotionAdherence:
    angle_deg: float  # mean angle between measured and requested motion over the evaluated pixels
    speed_ratio: float  # median of (measured · requested direction) / |requested|
    still_share: float  # share of evaluated pixels whose measured displacement is below min_measured_px
    pixels: int


def speed_along(measured: np.ndarray, requested: np.ndarray) -> np.ndarray:
    """Per pixel: the measured motion along the requested direction ÷ the requested length (1 = exact speed; 0
    where nothing is requested). Both [H,W,2], same time step."""
    measured, requested = np.asarray(measured, np.float64), np.asarray(requested, np.float64)
    length_sq = np.sum(requested * requested, axis=-1)
    return np.where(length_sq > 0, np.sum(measured * requested, axis=-1) / np.maximum(length_sq, 1e-12), 0.0)


def readable_mask(control_measured: np.ndarray, requested: np.ndarray, control_tracked: np.ndarray, tolerance: float = 0.25) -> np.ndarray:
    """Pixels where the flow instrument reads a known motion: ``control_measured`` is the flow measured on an exact
    warp by ``requested``; readable = tracked there and within ±tolerance of the requested speed along its
    direction. Elsewhere (a flat sky's border, haze, tiny boats) the instrument fails, so an animation's speed
    cannot be judged there whatever it does."""
    return np.asarray(control_tracked, bool) & (np.abs(speed_along(control_measured, requested) - 1.0) <= tolerance)


def angle_error_deg(
    measured: np.ndarray,
    requested: np.ndarray,
    mask: np.ndarray | None = None,
    min_requested_px: float = 0.5,
    min_measured_px: float = 0.1,
) -> MotionAdherence:
    """How well a measured flow follows the requested one (both [H,W,2], same time step).

    Evaluated pixels: ``mask`` (all if None) where |requested| ≥ ``min_requested_px``. The angle is averaged
    over evaluated pixels whose |measured| ≥ ``min_measured_px`` (a still pixel has no direction); those that
    do not reach it are counted in ``still_share``. ``speed_ratio`` is the median over evaluated pixels of the
    measured motion along the requested direction divided by the requested length (1 = exact speed).
    """
    measured, requested = np.asarray(measured, np.float64), np.asarray(requested, np.float64)
    requested_len = np.linalg.norm(requested, axis=-1)
    evaluated = requested_len >= min_requested_px
    if mask is not None:
        evaluated &= np.asarray(mask, bool)
    count = int(evaluated.sum())
    if count == 0:
        return MotionAdherence(float("nan"), float("nan"), float("nan"), 0)
    m, r, r_len = measured[evaluated], requested[evaluated], requested_len[evaluated]
    moving = np.linalg.norm(m, axis=-1) >= min_measured_px
    angle = float(np.mean(angle_between_deg(m[moving], r[moving]))) if moving.any() else float("nan")
    along = np.sum(m * r, axis=-1) / r_len
    return MotionAdherence(angle, float(np.median(along / r_len)), float(1.0 - moving.mean()), count)


# ---------------------------------------------------------------------------------------------------------------
# Temporal flicker


def warp_backward(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """out(x) = image(x + flow(x)), bilinear, border replicated (float64 in [0,1])."""
    image = to_float01(image)
    height, width = flow.shape[:2]
    grid_u, grid_v = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_u = grid_u + flow[..., 0].astype(np.float32)
    map_v = grid_v + flow[..., 1].astype(np.float32)
    return cv2.remap(image.astype(np.float32), map_u, map_v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float64)


def consistent_flow_mask(flow_backward: np.ndarray, flow_forward: np.ndarray) -> np.ndarray:
    """Non-occluded pixels of frame t+1 (Sundaram et al. 2010 forward–backward check, as in Lai et al. 2018).

    ``flow_backward``: t+1 → t; ``flow_forward``: t → t+1. Pixel x of t+1 is valid when x + b(x) lies inside
    the image and |b(x) + f(x + b(x))|² < 0.01·(|b(x)|² + |f(x + b(x))|²) + 0.5. (Swap the arguments to check
    the pixels of frame t.)
    """
    height, width = flow_backward.shape[:2]
    forward_at = warp_backward(flow_forward, flow_backward)
    total = flow_backward + forward_at
    bound = 0.01 * (np.sum(flow_backward**2, -1) + np.sum(forward_at**2, -1)) + 0.5
    grid_u, grid_v = np.meshgrid(np.arange(width), np.arange(height))
    target_u, target_v = grid_u + flow_backward[..., 0], grid_v + flow_backward[..., 1]
    inside = (target_u >= 0) & (target_u <= width - 1) & (target_v >= 0) & (target_v <= height - 1)
    return inside & (np.sum(total**2, -1) < bound)


def warping_error(frame_t: np.ndarray, frame_next: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Flicker between consecutive frames, RMSE in 8-bit levels over non-occluded pixels.

    b = flow(frame_next → frame_t), f = flow(frame_t → frame_next) (DIS); Ŵ(x) = frame_t(x + b(x));
    M = forward–backward consistent pixels (∧ ``valid`` if given, e.g. non-hole pixels);
    E = 255 · sqrt(Σ_x M(x) Σ_c (frame_next − Ŵ)² / (3 Σ_x M(x))).
    """
    a, b = _check_pair(frame_t, frame_next)
    flow_back = optical_flow(b, a)
    flow_fwd = optical_flow(a, b)
    mask = consistent_flow_mask(flow_back, flow_fwd)
    if valid is not None:
        mask &= np.asarray(valid, bool)
    if not mask.any():
        return float("nan")
    diff2 = (b - warp_backward(a, flow_back)) ** 2
    diff2 = diff2.mean(axis=-1) if diff2.ndim == 3 else diff2
    return float(LEVELS * math.sqrt(diff2[mask].mean()))


# ---------------------------------------------------------------------------------------------------------------
# No-reference quality: PIQE


def _mscn(gray_255: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients: (I − μ) / (σ + 1), 7×7 Gaussian σ = 7/6, replicate."""
    kernel = cv2.getGaussianKernel(7, 7.0 / 6.0)
    blur = lambda x: cv2.sepFilter2D(x, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REPLICATE)  # noqa: E731
    mu = blur(gray_255)
    sigma = np.sqrt(np.abs(blur(gray_255 * gray_255) - mu * mu))
    return (gray_255 - mu) / (sigma + 1.0)


def piqe(
    image: np.ndarray,
    block: int = 16,
    activity_threshold: float = 0.1,
    impaired_threshold: float = 0.1,
    segment: int = 6,
) -> float:
    """PIQE score (Venkatanath et al., NCC 2015; lower is better, 0..100), weight-free, MATLAB ``piqe`` semantics.

    Luma (Rec. 601, 8-bit) is rescaled to round(255·I / max I), padded symmetrically (bottom/right) to whole
    16×16 blocks and turned into MSCN coefficients. A block is *active* when the (n − 1) variance v of its
    coefficients exceeds 0.1. An active block is distorted by
    - noticeable artifacts (blockiness/blur) when any of the 11 runs of 6 consecutive coefficients along one of
      its four edges has standard deviation < 0.1, contributing 1 − v;
    - noise when σ > 2β, where σ = √v and β = |σ − r| / max(σ, r), r = std(columns 8 and 9) / std(the block
      without columns 8 and 10) (1-based; the MATLAB reference deletes column 8 and then the new column 9),
      contributing v.
    PIQE = 100 · (Σ contributions + 1) / (number of active blocks + 1); a flat image scores 100.
    Standard deviations are sample (n − 1) ones, as in the reference.
    """
    gray = to_gray_u8(image).astype(np.float64)
    if min(gray.shape) < block:
        raise ValueError(f"PIQE needs an image of at least {block}×{block} pixels, got {gray.shape[1]}×{gray.shape[0]}")
    pad_rows, pad_cols = -gray.shape[0] % block, -gray.shape[1] % block
    gray = np.pad(gray, ((0, pad_rows), (0, pad_cols)), mode="symmetric")
    gray = np.round(255.0 * gray / max(float(gray.max()), 1e-12))
    rows, cols = gray.shape
    coefficients = _mscn(gray)
    blocks = coefficients.reshape(rows // block, block, cols // block, block).transpose(0, 2, 1, 3).reshape(-1, block, block)
    count = len(blocks)
    variance = blocks.reshape(count, -1).var(axis=1, ddof=1)
    active = variance > activity_threshold

    # Noticeable-distortion criterion: a flat segment on any block edge.
    edges = np.stack([blocks[:, 0, :], blocks[:, :, -1], blocks[:, -1, :], blocks[:, :, 0]], axis=1)  # [B,4,block]
    segments = np.lib.stride_tricks.sliding_window_view(edges, segment, axis=2)  # [B,4,block-segment+1,segment]
    impaired = (segments.std(axis=-1, ddof=1) < impaired_threshold).any(axis=(1, 2))

    # Noise criterion: centre–surround deviation ratio against the block's own deviation.
    sigma = np.sqrt(variance)
    centre = (block - 1 + 1) // 2  # 1-based centre column of the reference (8 for 16×16 blocks)
    centre_cols = blocks[:, :, [centre - 1, centre]].reshape(count, -1)
    keep = np.delete(np.delete(np.arange(block), centre - 1), centre)  # the reference's two deletions
    surround_std = blocks[:, :, keep].reshape(count, -1).std(axis=1, ddof=1)
    centre_std = centre_cols.std(axis=1, ddof=1)
    ratio = np.divide(centre_std, surround_std, out=np.zeros(count), where=surround_std > 0)
    beta = np.abs(sigma - ratio) / np.maximum(np.maximum(sigma, ratio), 1e-12)
    noisy = sigma > 2.0 * beta

    scores = active * (impaired * (1.0 - variance) + noisy * variance)
    return float(100.0 * (scores.sum() + 1.0) / (active.sum() + 1.0))


# ---------------------------------------------------------------------------------------------------------------
# Multi-view motion consistency (geometry on arrays)


def project_motion(points_world: np.ndarray, velocity_world: np.ndarray, K: np.ndarray, world_to_camera: np.ndarray) -> np.ndarray:
    """2D motion [N,2] of moving points in a view: proj(p + v) − proj(p)."""
    start, _ = project(points_world, K, world_to_camera)
    end, _ = project(np.asarray(points_world, np.float64) + velocity_world, K, world_to_camera)
    return end - start


def carry_flow_to_source(
    points_world: np.ndarray,
    flow_view: np.ndarray,
    depth_view: np.ndarray,
    K_view: np.ndarray,
    world_to_camera_view: np.ndarray,
    K_source: np.ndarray,
    world_to_camera_source: np.ndarray,
    depth_tolerance: float = 0.03,
    moved_depth: str = "keep",
    depth_change_view: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A view's 2D motion carried to the source view through depth, for source-view surface points [N,3].

    For each point P: q = proj_view(P) at view depth z = z_view(P); it is *visible* when z > 0, q lies inside
    the view and |depth_view(q) − z| ≤ ``depth_tolerance`` · z. The moved point is
    P' = unproject_view(q + flow_view(q), z'), with z' = z (``moved_depth="keep"``: the motion is lifted at the
    point's own depth) or z' = depth_view(q + flow_view(q)) (``"surface"``: it slides on the view's surface); with
    ``depth_change_view`` [H,W] (a 3D motion's change of view depth per frame, known to the view) z' = z + that at q.
    The carried motion is proj_source(P') − proj_source(P). Returns (carried [N,2], visible [N] bool).
    """
    if moved_depth not in ("keep", "surface"):
        raise ValueError(f"moved_depth must be 'keep' or 'surface', got {moved_depth!r}")
    height, width = depth_view.shape
    q, z = project(points_world, K_view, world_to_camera_view)
    inside = (z > 0) & (q[:, 0] >= 0) & (q[:, 0] < width) & (q[:, 1] >= 0) & (q[:, 1] < height)
    surface = sample_bilinear(depth_view, q)
    visible = inside & (np.abs(surface - z) <= depth_tolerance * np.maximum(z, 1e-9))
    target = q + sample_bilinear(flow_view, q)
    target_z = z if moved_depth == "keep" else sample_bilinear(depth_view, target)
    if depth_change_view is not None:
        target_z = z + sample_bilinear(depth_change_view, q)
    moved = unproject(target, target_z, K_view, world_to_camera_view)
    start, _ = project(points_world, K_source, world_to_camera_source)
    end, _ = project(moved, K_source, world_to_camera_source)
    return end - start, visible


def content_registered_error(
    carried: np.ndarray,
    own_field: np.ndarray,
    pixels: np.ndarray,
    content_view: np.ndarray,
    content_source: np.ndarray,
) -> np.ndarray:
    """[N] EPE of carried motions against the source view's own field at the *content* the view shows there.

    A splat renderer shows at a pixel the alpha-blend of the Gaussians around it, front to back, so the content
    (``content_*`` [N,2]: the blended source-view pixel coordinates of the Gaussians seen, ``render_content_coordinates``)
    sits a fraction of a pixel from where depth puts it, toward the nearer neighbours, and differently in every view.
    Each view's motion belongs to the content it shows: the source point x whose rendered content is the view's is
    x + (content_view − content_source(x)) to first order, and the source field ``own_field`` [H,W,2] is read
    there (bilinear; ``pixels`` [N,2] are the points' source pixels, centres at +0.5)."""
    at = np.asarray(pixels, np.float64) + (np.asarray(content_view, np.float64) - np.asarray(content_source, np.float64))
    return endpoint_error(carried, sample_bilinear(own_field, at))


def endpoint_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-vector Euclidean distance |a − b| of [...,2] arrays."""
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=-1)


__all__ = [
    "HOLE_ALPHA", "MotionAdherence", "StaticChange", "angle_between_deg", "angle_error_deg", "carry_flow_to_source",
    "consistent_flow_mask", "content_registered_error", "edge_of_world_mask", "edge_of_world_share", "endpoint_error", "ghosting",
    "Ghosting", "local_std_levels", "mean_gradient", "hole_fraction", "optical_flow", "piqe", "project", "project_motion",
    "psnr", "sample_bilinear", "seam_psnr", "ssim", "static_change", "textured_mask", "to_float01", "to_gray_u8",
    "unproject", "warp_backward", "warping_error",
]
