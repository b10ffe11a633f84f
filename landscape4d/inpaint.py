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
BOUNDARY_PX = 7  # how far around a hole to look for its far side


class Inpainter(Protocol):
    def __call__(
        self, image: np.ndarray, depth_m: np.ndarray, hole: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill ``hole`` [H,W] bool of ``image`` [H,W,3] float in [0,1] and ``depth_m`` [H,W]; return both filled."""
        ...


def near_side(depth_m: np.ndarray, hole: np.ndarray, radius_px: int = BOUNDARY_PX) -> np.ndarray:
    """[H,W] bool: valid pixels next to a hole that belong to the occluder (much nearer than the far side)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    valid_depth = np.where(hole, 0.0, depth_m).astype(np.float32)
    far_around = cv2.dilate(valid_depth, kernel)
    around_hole = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool) & ~hole
    return around_hole & (valid_depth < NEAR_RATIO * far_around)


class ClassicInpainter:
    """Weight-free default: far-side-only OpenCV Telea inpainting of colour and log-depth."""

    def __init__(self, radius_px: int = 5) -> None:
        self.radius_px = radius_px

    def __call__(self, image: np.ndarray, depth_m: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not hole.any():
            return image, depth_m
        exclude = hole | near_side(depth_m, hole)
        if exclude.all():
            raise ValueError("nothing to inpaint from: the whole view is a hole")
        mask = exclude.astype(np.uint8)
        image8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
        filled8 = cv2.inpaint(image8, mask, self.radius_px, cv2.INPAINT_TELEA)
        log_depth = np.log(np.maximum(np.where(exclude, 1.0, depth_m), 1e-6)).astype(np.float32)
        filled_log = cv2.inpaint(log_depth, mask, self.radius_px, cv2.INPAINT_TELEA)
        # Holes take the inpainted values; the near side keeps its own (it was only hidden from the fill).
        image_out = np.where(hole[..., None], filled8.astype(np.float32) / 255.0, image)
        depth_out = np.where(hole, np.exp(filled_log), depth_m)
        # A hole can never be nearer than the far side it was filled from.
        return image_out.astype(np.float32), depth_out.astype(np.float32)
