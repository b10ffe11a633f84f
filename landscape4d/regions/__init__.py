"""Motion regions of a photo: where the sky is and where the water is.

Estimators are swappable callables (``RegionEstimator``); :class:`ClassicRegions` is the weight-free default.
``load_user_mask`` reads a mask a user painted or uploaded.

User masks: any image mode. Where the mask has real transparency (some alpha < 255) a pixel is selected where
alpha > 0 (strokes on a transparent layer); otherwise it is selected where its brightest channel is "on":
non-zero for 0/1 masks, above 10 % of the data range for 8/16-bit or float masks (so JPEG noise in black areas is
not selected), above 0.5 for float masks in [0, 1]. Boolean arrays are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .classic import ClassicRegions

ASPECT_TOLERANCE = 0.02  # a mask whose aspect ratio differs by more than this was not made for this photo

__all__ = ["ClassicRegions", "RegionEstimator", "RegionMasks", "estimate_regions", "load_user_mask"]


@dataclass
class RegionMasks:
    """Boolean region masks at the working resolution."""

    sky: np.ndarray  # [H,W] bool
    water: np.ndarray  # [H,W] bool

    def __post_init__(self) -> None:
        self.sky = np.asarray(self.sky, dtype=bool)
        self.water = np.asarray(self.water, dtype=bool)
        if self.sky.ndim != 2 or self.sky.shape != self.water.shape:
            raise ValueError(f"sky {self.sky.shape} and water {self.water.shape} must be equal [H,W] masks")


class RegionEstimator(Protocol):
    """Anything that maps an RGB float image [H,W,3] in [0,1] to RegionMasks of the same size."""

    def __call__(self, image: np.ndarray) -> RegionMasks: ...


def estimate_regions(image: np.ndarray, estimator: RegionEstimator | None = None) -> RegionMasks:
    """Sky and water masks of ``image`` [H,W,3] float RGB in [0,1] (ClassicRegions when no estimator is given)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H,W,3] RGB, got shape {image.shape}")
    masks = (estimator or ClassicRegions())(image)
    if not isinstance(masks, RegionMasks):  # third-party estimators may return a tuple (sky, water)
        masks = RegionMasks(*masks)
    if masks.sky.shape != image.shape[:2]:
        raise ValueError(f"region estimator returned masks of shape {masks.sky.shape}, expected {image.shape[:2]}")
    masks.water = masks.water & ~masks.sky  # one pixel has one role (not in place: the arrays may alias)
    return masks


def load_user_mask(source: str | Path | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A user mask as bool [H,W] = ``shape``, resized (nearest) from any image file or array.

    Raises ValueError with an actionable message when the file is unreadable or was made for another photo
    (aspect ratio off by more than 2 %).
    """
    height, width = int(shape[0]), int(shape[1])
    if isinstance(source, np.ndarray):
        selected = _array_selection(np.asarray(source), alpha=None)
        label = "the mask array"
    else:
        path = Path(source).expanduser()
        label = f"mask '{path.name}'"
        selected = _read_mask_file(path, label)
    _check_aspect(selected.shape, (height, width), label)
    if selected.shape != (height, width):
        selected = cv2.resize(selected.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return np.ascontiguousarray(selected, dtype=bool)


def _read_mask_file(path: Path, label: str) -> np.ndarray:
    from ..photo import open_auxiliary_image

    if not path.is_file():
        raise ValueError(f"{label} not found or not a file: '{path}'.")
    if path.suffix.lower() == ".npy":
        try:
            return _array_selection(np.load(path, allow_pickle=False), alpha=None)
        except (OSError, ValueError) as error:
            raise ValueError(f"Could not read {label} as a NumPy array: {error}") from error
    image = open_auxiliary_image(path, label, "Save the mask as a PNG.")
    if image.mode == "P":
        image = image.convert("RGBA")
    elif image.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif image.mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    array = np.asarray(image)
    alpha = None
    if image.mode in ("LA", "RGBA"):
        array, alpha = array[..., :-1], array[..., -1]
    return _array_selection(array, alpha)


def _array_selection(array: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Selected pixels of a mask array (rules in the module docstring)."""
    if array.ndim == 3 and array.shape[-1] in (2, 4) and alpha is None:
        array, alpha = array[..., :-1], array[..., -1]
    if array.ndim == 3:
        array = array.max(axis=-1)  # any painted colour counts
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"A mask must be a 2D image or array, got shape {array.shape}")
    if alpha is not None:
        full = 255 if alpha.dtype == np.uint8 else (65535 if alpha.dtype == np.uint16 else 1.0)
        if float(alpha.min()) < full:
            return alpha > 0  # strokes on a transparent layer
    if array.dtype == np.bool_:
        return array.copy()
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("The mask contains NaN or infinite values.")
    maximum = float(values.max())
    if maximum <= 0:
        return np.zeros(array.shape, dtype=bool)
    if np.issubdtype(array.dtype, np.integer):
        if maximum <= 1:
            return values > 0
        container = 255.0 if maximum <= 255 else (65535.0 if maximum <= 65535 else maximum)
        return values > 0.1 * container
    return values > (0.5 if maximum <= 1.0 else 0.1 * maximum)


def _check_aspect(aux_shape: tuple[int, ...], shape: tuple[int, int], label: str) -> None:
    from ..photo import check_same_aspect

    check_same_aspect(aux_shape, shape, label, "paint the mask on the same photo, uncropped.", ASPECT_TOLERANCE)


def paint_over(
    sky: np.ndarray, water: np.ndarray, painted_sky: np.ndarray | None, painted_water: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Automatic (sky, water) with painted layers on top; painted labels win. All masks [H,W] bool, same size."""
    sky, water = sky.copy(), water.copy()
    if painted_water is not None:
        water |= painted_water
        sky &= ~painted_water
    if painted_sky is not None:
        sky |= painted_sky
        water &= ~painted_sky
    return sky, water


def apply_user_regions(
    regions: RegionMasks,
    sky: str | Path | np.ndarray | None = None,
    water: str | Path | np.ndarray | None = None,
) -> RegionMasks:
    """The automatic masks with user-painted sky / water (files or arrays of any size with the photo's aspect)."""
    shape = regions.sky.shape
    painted = [None if m is None else load_user_mask(m, shape) for m in (sky, water)]
    return RegionMasks(*paint_over(regions.sky, regions.water, *painted))
