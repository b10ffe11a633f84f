"""Depth of a photo, in the project's one scale convention.

Scale convention (every estimator and user depth goes through :func:`normalize_depth`)
-------------------------------------------------------------------------------------
* z-depth (distance along the camera axis) in scene units, float32, finite and > 0.
* The nearest content — the 1st percentile of non-sky depth — is 1.0.
* Non-sky depth is clipped to [MIN_DEPTH, MAX_DEPTH] = [0.25, 50]: the farthest content is at most 50.
* Sky pixels form a finite shell at 1.25 × the 99th percentile of non-sky depth, raised if needed so that it
  is farther than every non-sky pixel. A photo with no non-sky content is all sky at ALL_SKY_DEPTH.

User depth (:func:`load_user_depth`)
------------------------------------
* Image files (8/16-bit PNG, TIFF, JPEG…) are read as *disparity*: bright = near, as depth models and most
  depth-map viewers save them. Values are scaled to v ∈ [0, 1] by their maximum and turned into depth with
  depth ∝ 1 / (v + 1/50), so black (v = 0) lands 50× farther than white — the far limit of the convention.
* ``.npy`` files and NumPy arrays are metric z-depth: positive, larger = farther. ``.npz`` files must hold one
  array (or one named ``depth``).
* The map is resized to the photo (in disparity, area/linear) after checking the aspect ratio (±2 %).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from .classic import ClassicDepth, guided_filter

MIN_DEPTH = 0.25  # nothing closer than a quarter of the near distance: avoids exploding reprojections
MAX_DEPTH = 50.0  # farthest non-sky content
NEAR_PERCENTILE = 1.0
FAR_PERCENTILE = 99.0
SKY_FACTOR = 1.25
ALL_SKY_DEPTH = 10.0  # a clouds-only photo: a sky plane at a moderate distance so camera paths still show it
DISPARITY_EPS = 1.0 / MAX_DEPTH
ASPECT_TOLERANCE = 0.02

if TYPE_CHECKING:
    from ..regions import RegionMasks

__all__ = [
    "ClassicDepth",
    "ClassicDepthFromRegions",
    "DepthEstimator",
    "estimate_depth",
    "guided_filter",
    "load_user_depth",
    "normalize_depth",
]


class DepthEstimator(Protocol):
    """Anything that maps (image [H,W,3] float RGB in [0,1], the photo's ``RegionMasks``) to depth [H,W] > 0
    (any scale: :func:`normalize_depth` brings it to the convention)."""

    def __call__(self, image: np.ndarray, regions: "RegionMasks") -> np.ndarray: ...


class ClassicDepthFromRegions:
    """``ClassicDepth`` behind the stage interface: the sky mask shapes the depth, the water mask places the
    horizon at the far shore."""

    def __call__(self, image: np.ndarray, regions: "RegionMasks") -> np.ndarray:
        return ClassicDepth()(image, regions.sky, water=regions.water)


def estimate_depth(
    image: np.ndarray,
    regions: "RegionMasks | np.ndarray",
    estimator: DepthEstimator | None = None,
    *,
    water: np.ndarray | None = None,
) -> np.ndarray:
    """Normalised z-depth [H,W] float32 of ``image`` (the classic estimator when none is given).

    ``regions`` is the photo's ``RegionMasks``; a bare sky mask [H,W] bool (with ``water`` optional) is accepted
    too. Every estimator receives the same ``RegionMasks``.
    """
    from ..regions import RegionMasks

    image = np.asarray(image)
    if not isinstance(regions, RegionMasks):
        sky = _check_sky(regions, image.shape[:2])
        regions = RegionMasks(sky, np.zeros_like(sky) if water is None else _check_sky(water, image.shape[:2]))
    sky = _check_sky(regions.sky, image.shape[:2])
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H,W,3] RGB, got shape {image.shape}")
    depth = np.asarray((estimator or ClassicDepthFromRegions())(image, regions), dtype=np.float32)
    if depth.shape != image.shape[:2]:
        raise ValueError(f"depth estimator returned shape {depth.shape}, expected {image.shape[:2]}")
    return normalize_depth(depth, sky)


def normalize_depth(depth_m: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Bring any positive z-depth map to the project's scale convention (module docstring)."""
    depth = np.asarray(depth_m, dtype=np.float64)
    if depth.ndim != 2:
        raise ValueError(f"depth must be [H,W], got shape {depth.shape}")
    sky = _check_sky(sky, depth.shape)
    solid = ~sky
    values = depth[solid]
    if not np.isfinite(values).all():
        raise ValueError("depth has NaN or infinite values outside the sky")
    if (values <= 0).any():
        raise ValueError("depth must be positive outside the sky")
    out = np.empty(depth.shape, dtype=np.float32)
    if values.size == 0:
        out[:] = ALL_SKY_DEPTH
        return out
    near = float(np.percentile(values, NEAR_PERCENTILE))
    scaled = np.clip(values / near, MIN_DEPTH, MAX_DEPTH)
    sky_depth = max(SKY_FACTOR * float(np.percentile(scaled, FAR_PERCENTILE)), 1.05 * float(scaled.max()))
    out[solid] = scaled
    out[sky] = sky_depth
    return out


def load_user_depth(
    source: str | Path | np.ndarray, shape: tuple[int, int], sky: np.ndarray | None = None
) -> np.ndarray:
    """A user's depth map, resized to ``shape`` and normalised (formats in the module docstring)."""
    height, width = int(shape[0]), int(shape[1])
    sky_mask = np.zeros((height, width), dtype=bool) if sky is None else _check_sky(sky, (height, width))
    if isinstance(source, np.ndarray):
        label = "the depth array"
        depth = _metric_array(source, label)
    else:
        path = Path(source).expanduser()
        label = f"depth '{path.name}'"
        if not path.is_file():
            raise ValueError(f"{label} not found or not a file: '{path}'.")
        suffix = path.suffix.lower()
        if suffix in (".npy", ".npz"):
            depth = _metric_array(_load_numpy(path, label), label)
        else:
            depth = _disparity_image_to_depth(path, label)
    _check_aspect(depth.shape, (height, width), label)
    if depth.shape != (height, width):
        # Resample disparity, not depth: averaging depths across a silhouette invents far-away "flying" points.
        disparity = (1.0 / depth).astype(np.float32)
        shrinking = depth.shape[0] * depth.shape[1] > height * width
        disparity = cv2.resize(
            disparity, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        )
        depth = 1.0 / np.maximum(disparity, 1e-12)
    return normalize_depth(depth, sky_mask)


def _check_sky(sky: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    sky = np.asarray(sky, dtype=bool)
    if sky.shape != tuple(shape):
        raise ValueError(f"sky mask has shape {sky.shape}, expected {tuple(shape)}")
    return sky


def _load_numpy(path: Path, label: str) -> np.ndarray:
    keys: list[str] = []
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = list(loaded.keys())
                if "depth" in keys or len(keys) == 1:
                    return loaded["depth" if "depth" in keys else keys[0]]
    except Exception as error:  # ValueError, EOFError, SyntaxError from a damaged header, BadZipFile… (test_fuzz.py)
        raise ValueError(f"Could not read {label} as a NumPy file ({type(error).__name__}: {error}).") from error
    if not isinstance(loaded, np.ndarray):
        raise ValueError(f"{label} holds arrays {keys}; name the depth array 'depth' or save only one.")
    return loaded


def _metric_array(array: np.ndarray, label: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:2])
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{label} must be a 2D [H,W] array, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{label} must hold numbers, got dtype {array.dtype}")
    depth = array.astype(np.float64)
    if np.isnan(depth).any():
        raise ValueError(f"{label} contains NaN values; fill them (for example with the farthest depth) first.")
    if np.isinf(depth).any():
        raise ValueError(f"{label} contains infinite values; replace them with a large finite depth.")
    if (depth < 0).any():
        raise ValueError(f"{label} has negative values; expected metric z-depth (positive, larger = farther).")
    if (depth == 0).any():
        raise ValueError(f"{label} has zeros; depth must be positive (mark the sky with the sky mask instead).")
    return depth


def _disparity_image_to_depth(path: Path, label: str) -> np.ndarray:
    from ..photo import open_auxiliary_image

    image = open_auxiliary_image(path, label, "Use a grey PNG (bright = near) or a .npy depth array.")
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F", "L"):
        values = np.asarray(image).astype(np.float64)
    else:
        values = np.asarray(image.convert("L")).astype(np.float64)  # colour maps cannot be inverted: use luma
    if not np.isfinite(values).all():
        raise ValueError(f"{label} contains NaN or infinite values.")
    if (values < 0).any():
        raise ValueError(f"{label} has negative values; a disparity image must be ≥ 0 (bright = near).")
    maximum = float(values.max())
    if maximum <= 0:
        raise ValueError(f"{label} is completely black; a disparity image needs bright (near) content.")
    return 1.0 / (values / maximum + DISPARITY_EPS)


def _check_aspect(aux_shape: tuple[int, ...], shape: tuple[int, int], label: str) -> None:
    from ..photo import check_same_aspect

    check_same_aspect(aux_shape, shape, label, "use a depth map made from the same, uncropped photo.", ASPECT_TOLERANCE)
