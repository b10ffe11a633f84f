"""Outpainting: content just beyond the photo's frame (colour and depth), behind a small swappable interface.

A moving camera sees past the photo's edges. The pipeline pads the photo with a border ring wide enough for every
camera path (``views.border_margins``) and asks an ``Outpainter`` to fill it; the ring becomes the scene's border
layer, which the generated views then render instead of inpainting the edge of the world with flat colour. The
weight-free default mirrors the photo (reflect-101) in colour and log-depth, so the ring keeps the photo's
texture and its depth continues the depth at the edge. A diffusion outpainter plugs in behind the same signature.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np


class Outpainter(Protocol):
    def __call__(
        self, image: np.ndarray, depth_m: np.ndarray, known: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill the pixels outside ``known`` [H,W] bool (an axis-aligned rectangle: the photo placed on a larger
        canvas) of ``image`` [H,W,3] float in [0,1] and ``depth_m`` [H,W] (z-depth, > 0); return both filled.
        Known pixels must come back unchanged."""
        ...


def known_box(known: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the rectangle of known pixels (bottom/right exclusive)."""
    rows, cols = np.nonzero(known.any(axis=1))[0], np.nonzero(known.any(axis=0))[0]
    if rows.size == 0:
        raise ValueError("nothing to outpaint from: no known pixel")
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if not known[top:bottom, left:right].all():
        raise ValueError("the known pixels must form a rectangle")
    return top, bottom, left, right


class MirrorOutpainter:
    """Weight-free default: reflect-101 mirror padding of colour and log-depth (texture continues past the edge,
    no seam at it). Beyond ``feather_px`` from the frame the mirrored colour is gradually softened (Gaussian blur
    mixed in up to ``feather_strength``), so the mirror symmetry is less obvious far out."""

    def __init__(self, feather_px: int = 24, feather_strength: float = 0.3) -> None:
        self.feather_px = feather_px
        self.feather_strength = feather_strength

    def __call__(self, image: np.ndarray, depth_m: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        known = np.asarray(known, bool)
        if known.all():
            return image, depth_m
        top, bottom, left, right = known_box(known)
        height, width = known.shape
        pads = (top, height - bottom, left, width - right)
        if min(bottom - top, right - left) < 2:
            raise ValueError("a photo needs at least 2×2 pixels to be mirrored")
        photo = np.asarray(image[top:bottom, left:right], np.float32)
        log_depth = np.log(np.maximum(depth_m[top:bottom, left:right], 1e-6)).astype(np.float32)
        # NumPy's "reflect" is reflect-101 (the edge pixel is not repeated) and mirrors again past the far edge,
        # so a panorama's ring may be taller than the photo.
        widths = ((pads[0], pads[1]), (pads[2], pads[3]))
        mirrored = np.pad(photo, (*widths, (0, 0)), mode="reflect")
        mirrored_depth = np.exp(np.pad(log_depth, widths, mode="reflect"))
        if self.feather_strength > 0 and self.feather_px > 0:
            outside = (~known).astype(np.uint8)
            distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
            weight = self.feather_strength * np.clip(distance / self.feather_px - 1.0, 0.0, 1.0)
            soft = cv2.GaussianBlur(mirrored, (0, 0), max(1.0, self.feather_px / 8))
            mirrored = mirrored * (1 - weight[..., None]) + soft * weight[..., None]
        image_out = np.where(known[..., None], image, mirrored)
        depth_out = np.where(known, depth_m, mirrored_depth)
        return image_out.astype(np.float32), depth_out.astype(np.float32)


__all__ = ["MirrorOutpainter", "Outpainter", "known_box"]
