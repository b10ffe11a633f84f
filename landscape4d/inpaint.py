"""Background-aware inpainting of disocclusions (colour and depth), behind a small swappable interface.

A hole revealed by a moving camera lies *behind* the near object that used to cover it, so it must be filled
from the far side of the depth edge only. The classic default masks out the near side of every hole boundary
before filling colour (OpenCV Telea) and depth (same, on log-depth), so foreground colours never bleed into the
background layer.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

NEAR_RATIO = 0.8  # a boundary pixel is "near side" if nearer than this × the farthest depth around the hole
BOUNDARY_FRACTION = 0.06  # how far around a hole (× image size) the occluder is hidden from the fill


class Inpainter(Protocol):
    def __call__(
        self, image: np.ndarray, depth_m: np.ndarray, hole: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill ``hole`` [H,W] bool of ``image`` [H,W,3] float in [0,1] and ``depth_m`` [H,W]; return both filled."""
        ...


def near_side(depth_m: np.ndarray, hole: np.ndarray, radius_px: int | None = None) -> np.ndarray:
    """[H,W] bool: valid pixels around a hole that belong to the occluder (much nearer than the far side).

    The band is wider than the holes camera paths reveal, so the fill meets the far side first and the
    occluder's colour cannot creep in from beyond the band.
    """
    if radius_px is None:
        radius_px = max(7, round(BOUNDARY_FRACTION * max(depth_m.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    valid_depth = np.where(hole, 0.0, depth_m).astype(np.float32)
    # The far side may lie across the hole: look twice as far for it as the band reaches.
    far_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * radius_px + 1, 4 * radius_px + 1))
    far_around = cv2.dilate(valid_depth, far_kernel)
    around_hole = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool) & ~hole
    return around_hole & (valid_depth < NEAR_RATIO * far_around)


class ClassicInpainter:
    """Weight-free default: each hole pixel takes the nearest far-side pixel's colour and depth, then a
    normalised blur over hole and far-side pixels softens the streaks (the occluder never contributes)."""

    def __init__(self, smooth_sigma_px: float = 1.5) -> None:
        self.smooth_sigma_px = smooth_sigma_px

    def __call__(self, image: np.ndarray, depth_m: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not hole.any():
            return image, depth_m
        exclude = hole | near_side(depth_m, hole)
        if exclude.all():
            raise ValueError("nothing to inpaint from: the whole view is a hole")
        # Labels of the nearest non-excluded pixel for every pixel (distance transform on the excluded set).
        _, labels = cv2.distanceTransformWithLabels(exclude.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
        source = ~exclude
        index_of_label = np.zeros(labels.max() + 1, np.int64)
        flat_sources = np.flatnonzero(source)
        index_of_label[labels.ravel()[flat_sources]] = flat_sources
        nearest = index_of_label[labels.ravel()].reshape(depth_m.shape)
        filled_image = image.reshape(-1, 3)[nearest]
        filled_depth = np.log(np.maximum(depth_m.ravel()[nearest], 1e-6))
        # Normalised blur over pixels that may contribute (far side + holes), so no occluder colour mixes in.
        weight = (source | hole).astype(np.float32)
        sigma = self.smooth_sigma_px
        norm = np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-6)
        smooth_image = cv2.GaussianBlur(filled_image * weight[..., None], (0, 0), sigma) / norm[..., None]
        smooth_depth = cv2.GaussianBlur((filled_depth * weight).astype(np.float32), (0, 0), sigma) / norm
        image_out = np.where(hole[..., None], smooth_image, image)
        depth_out = np.where(hole, np.exp(smooth_depth), depth_m)
        return image_out.astype(np.float32), depth_out.astype(np.float32)
