"""Motion regions of a photo: where the sky is and where the water is.

Estimators are swappable callables (``RegionEstimator``); :class:`ClassicRegions` is the weight-free default and a
segmentation model can replace it through the same interface. An estimator returns :class:`RegionMasks`: the
``sky`` and ``water`` masks that will move, and the list of automatic ``regions`` it found, each one connected
area with its kind, its confidence in [0, 1] and a short note of the evidence. Regions with confidence ≥
``ACCEPT_CONFIDENCE`` make up ``sky`` / ``water``; weaker ones are kept as suggestions (shown in the app, where one
click accepts or removes any region: :meth:`RegionMasks.choose`). An estimator that only knows masks may leave
``regions`` empty: :func:`estimate_regions` then lists the masks' connected parts with confidence 1.
``load_user_mask`` reads a mask a user painted or uploaded.

User masks: any image mode. Where the mask has real transparency (some alpha < 255) a pixel is selected where
alpha > 0 (strokes on a transparent layer); otherwise it is selected where its brightest channel is "on":
non-zero for 0/1 masks, above 10 % of the data range for 8/16-bit or float masks (so JPEG noise in black areas is
not selected), above 0.5 for float masks in [0, 1]. Boolean arrays are used as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .classic import ClassicRegions

ASPECT_TOLERANCE = 0.02  # a mask whose aspect ratio differs by more than this was not made for this photo
ACCEPT_CONFIDENCE = 0.5  # automatic regions at least this confident move; weaker ones are only suggested
MIN_PART_FRACTION = 0.002  # regions_from_masks: connected parts smaller than this share of the photo are merged

__all__ = ["ACCEPT_CONFIDENCE", "ClassicRegions", "Region", "RegionEstimator", "RegionMasks", "estimate_regions",
           "load_user_mask", "regions_from_masks"]

KINDS = ("sky", "water")


@dataclass
class Region:
    """One automatic region: a connected area of one kind, with the estimator's confidence in it."""

    kind: str  # "sky" (clouds, fog, mist: drifts) or "water" (flows)
    mask: np.ndarray  # [H,W] bool
    confidence: float  # in [0, 1]; ≥ ACCEPT_CONFIDENCE: moves by default
    evidence: str = ""  # a few words on why (shown to the user)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"region kind must be one of {KINDS}, got {self.kind!r}")
        self.mask = np.asarray(self.mask, dtype=bool)
        self.confidence = float(np.clip(self.confidence, 0.0, 1.0))

    @property
    def accepted(self) -> bool:
        return self.confidence >= ACCEPT_CONFIDENCE

    @property
    def share(self) -> float:
        return float(self.mask.mean())


@dataclass
class RegionMasks:
    """Boolean region masks at the working resolution, and the automatic regions behind them."""

    sky: np.ndarray  # [H,W] bool
    water: np.ndarray  # [H,W] bool
    regions: list[Region] = field(default_factory=list)  # accepted regions and suggestions, most confident first

    def __post_init__(self) -> None:
        self.sky = np.asarray(self.sky, dtype=bool)
        self.water = np.asarray(self.water, dtype=bool)
        if self.sky.ndim != 2 or self.sky.shape != self.water.shape:
            raise ValueError(f"sky {self.sky.shape} and water {self.water.shape} must be equal [H,W] masks")
        for region in self.regions:
            if region.mask.shape != self.sky.shape:
                raise ValueError(f"region mask {region.mask.shape} differs from the masks' {self.sky.shape}")

    @property
    def accepted(self) -> list[int]:
        """Indices of the regions that move by default."""
        return [i for i, region in enumerate(self.regions) if region.accepted]

    def choose(self, chosen: Iterable[int]) -> RegionMasks:
        """The masks made of the regions whose indices are in ``chosen`` (a user's accept / remove choices)."""
        chosen = set(int(i) for i in chosen)
        sky = np.zeros_like(self.sky)
        water = np.zeros_like(self.water)
        for index, region in enumerate(self.regions):
            if index in chosen:
                (sky if region.kind == "sky" else water)[region.mask] = True
        return RegionMasks(sky, water & ~sky, list(self.regions))


def regions_from_masks(sky: np.ndarray, water: np.ndarray, confidence: float = 1.0) -> list[Region]:
    """The connected parts of plain masks as regions (parts under ``MIN_PART_FRACTION`` join their kind's
    largest part, so nothing is lost), largest first."""
    regions: list[Region] = []
    for kind, mask in (("sky", sky), ("water", water)):
        mask = np.asarray(mask, bool)
        if not mask.any():
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        order = sorted(range(1, count), key=lambda i: -stats[i, cv2.CC_STAT_AREA])
        big = [i for i in order if stats[i, cv2.CC_STAT_AREA] >= MIN_PART_FRACTION * mask.size] or order[:1]
        parts = [labels == i for i in big]
        parts[0] = parts[0] | (mask & ~np.isin(labels, big))
        regions += [Region(kind, part, confidence) for part in parts]
    return sorted(regions, key=lambda r: -r.share)


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
    if not masks.regions:
        masks.regions = regions_from_masks(masks.sky, masks.water)
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
            loaded = np.load(path, allow_pickle=False)
        except Exception as error:  # OSError, EOFError, SyntaxError from a damaged header… (tests/test_fuzz.py)
            raise ValueError(f"Could not read {label} as a NumPy array: {error}") from error
        if not isinstance(loaded, np.ndarray):  # an .npz archive under a .npy name
            loaded.close()
            raise ValueError(f"{label} is an .npz archive, not one .npy array; save the mask with numpy.save.")
        return _array_selection(loaded, alpha=None)
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
    return RegionMasks(*paint_over(regions.sky, regions.water, *painted), regions=list(regions.regions))
