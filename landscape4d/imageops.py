"""Image helpers shared by the weight-free depth and region estimators.

* :func:`guided_filter`: edge-preserving smoothing guided by the photo (He et al. 2010).
* :func:`find_horizontal_lines` / :class:`HorizontalLine`: long straight near-horizontal edges (sea horizons,
  shorelines, tree lines).
* :func:`resize_long_side`: the estimators' small working copy of a photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """``image`` shrunk (area-averaged) so its long side is at most ``long_side`` px; never enlarged, ≥ 8 px a side."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` [H,W] guided by ``guide`` [H,W] or [H,W,3] (He et al. 2010).

    With a colour guide the local linear model uses the full 3×3 colour covariance, so edges between regions of
    equal brightness but different colour (sky vs. sea) are kept.
    """
    src = src.astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    if guide.ndim == 2:
        guide = guide.astype(np.float32)
        mean_i, mean_p = box(guide), box(src)
        var_i = box(guide * guide) - mean_i * mean_i
        a = (box(guide * src) - mean_i * mean_p) / (var_i + eps)
        b = mean_p - a * mean_i
        return box(a) * guide + box(b)
    guide = guide.astype(np.float32)
    mean_i = box(guide)  # [H,W,3]
    mean_p = box(src)
    cov_ip = box(guide * src[..., None]) - mean_i * mean_p[..., None]
    sigma = np.empty(guide.shape[:2] + (3, 3), np.float32)
    for r in range(3):
        for c in range(r, 3):
            value = box(guide[..., r] * guide[..., c]) - mean_i[..., r] * mean_i[..., c]
            sigma[..., r, c] = value
            sigma[..., c, r] = value
    sigma += eps * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(sigma, cov_ip[..., None])[..., 0]  # [H,W,3]
    b = mean_p - (a * mean_i).sum(axis=-1)
    return (box(a) * guide).sum(axis=-1) + box(b)


@dataclass(frozen=True)
class HorizontalLine:
    """A long, straight, near-horizontal intensity step: row(x) = row_at_centre + slope · (x − width/2)."""

    row_at_centre: float
    slope: float  # rows per column
    strength: float  # mean vertical intensity step per pixel along the line (0 = none)

    def rows(self, width: int) -> np.ndarray:
        return self.row_at_centre + self.slope * (np.arange(width) + 0.5 - width / 2.0)

    def below(self, shape: tuple[int, int], margin: float = 0.0) -> np.ndarray:
        """[h,w] bool: pixels more than ``margin`` rows below the line."""
        height, width = shape
        return np.arange(height)[:, None] > self.rows(width)[None, :] + margin


def find_horizontal_lines(
    gray: np.ndarray,
    max_tilt_deg: float = 3.0,
    min_strength: float = 0.04,
    max_lines: int = 6,
    weight: np.ndarray | None = None,
    min_support: float = 0.15,
) -> list[HorizontalLine]:
    """Long straight near-horizontal edges (sea horizons, shorelines, tree lines), strongest first.

    ``gray`` is [h,w] or [h,w,C] (e.g. Lab scaled to ~[0,1], so that a colour-only step such as light-blue sky
    over deep-blue sea counts).
    For each tilt the vertical gradient is sheared so the candidate line becomes a row, then averaged along
    the row: a line spanning the width keeps its full step, while texture of either sign averages out. This is
    a Hough transform restricted to near-horizontal lines, weighted by signed gradient. With ``weight`` [h,w]
    the average runs over the weighted pixels only (a horizon seen between two mountains), which must cover at
    least ``min_support`` of the width.
    """
    height, width = gray.shape[:2]
    channels = gray.reshape(height, width, -1).astype(np.float32)
    gy = np.stack(
        [cv2.Sobel(channels[..., c], cv2.CV_32F, 0, 1, ksize=3) / 4.0 for c in range(channels.shape[-1])], axis=-1
    )
    weights = np.ones((height, width), np.float32) if weight is None else weight.astype(np.float32)
    tilts = np.arange(-max_tilt_deg, max_tilt_deg + 1e-6, 0.5)
    profiles = np.zeros((len(tilts), height), np.float64)
    for index, tilt in enumerate(tilts):
        slope = float(np.tan(np.radians(tilt)))
        # dst(x, y) = src(x, y + slope·(x − w/2)): the line of that slope through row y becomes row y.
        shear = np.float32([[1, 0, 0], [slope, 1, -slope * width / 2.0]])

        def sheared(values: np.ndarray) -> np.ndarray:
            return cv2.warpAffine(
                values, shear, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
            )

        support = sheared(weights).sum(axis=1)
        summed = sheared(gy * weights[..., None]).reshape(height, width, -1).sum(axis=1)  # [h, C], signed
        step = np.sqrt((summed**2).sum(axis=1)) / np.maximum(support, 1e-6)
        profiles[index] = np.where(support >= min_support * width, step, 0.0)
    border = max(2, height // 60)  # frames and scanner borders are not horizons
    profiles[:, :border] = 0.0
    profiles[:, height - border :] = 0.0
    lines: list[HorizontalLine] = []
    suppress = max(3, height // 40)
    for _ in range(max_lines):
        tilt_index, row = np.unravel_index(int(np.argmax(profiles)), profiles.shape)
        strength = float(profiles[tilt_index, row])
        if strength < min_strength:
            break
        slope = float(np.tan(np.radians(tilts[tilt_index])))
        lines.append(HorizontalLine(float(row), slope, strength))
        profiles[:, max(0, row - suppress) : row + suppress + 1] = 0.0
    return lines
