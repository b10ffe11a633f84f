"""Load, validate and normalise one input photo.

``load_photo`` accepts a path, a PIL image or a NumPy array and returns a :class:`Photo`: float32 RGB in [0, 1]
at a working resolution, with the EXIF orientation applied. Every check runs on the header (size, aspect ratio)
before any pixel is decoded, and every failure is a :class:`PhotoError` whose message says what is wrong and
what to do about it.

Decisions (documented once, here)
---------------------------------
* Alpha is flattened against the photo's own alpha-weighted mean colour, not white or black: transparent
  corners then read as "more of the same" to the depth and region stages instead of as a bright sky or a
  dark hole. A fully transparent image keeps its RGB as is.
* 16/32-bit integer data is divided by the smallest container range that holds its maximum (255, 1023, 4095,
  65535, 2³²−1), so 8-, 10-, 12- and 16-bit data stored in wider types keeps its exposure. Floats already in
  [0, 1] are kept; 0–255 floats are divided by 255; anything larger is divided by its maximum.
* NumPy arrays are taken as RGB (OpenCV users convert from BGR first); [H,W], [H,W,1|3|4] and [1|3|4,H,W].
* Size: the long side is reduced to ``long_side`` with area averaging; photos are never enlarged to reach
  ``long_side``, except that photos whose short side is below 64 px are enlarged (bicubic) to a 64 px short side
  (still capped by the working size below) so the later stages have enough pixels. A panorama wider (or taller) than 2:1
  keeps the pixel count of a 2:1 photo at ``long_side`` (its long side grows by √(aspect / 2), at most 2× at the
  8:1 limit): a 6:1 strip at 512 px is 886×148 instead of 512×86, a video worth watching at the cost of no more
  pixels than a 2:1 photo. Both sides are rounded to even numbers because H.264 yuv420p needs even sizes.
* Embedded ICC profiles (Display P3 phone photos, CMYK print files) are converted to sRGB when Pillow's
  littleCMS is available; otherwise the pixel values are used as they are.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .limits import LimitError, check_input_pixels, input_pixels_message

MAX_ASPECT_RATIO = 8.0  # 4:1 panoramas are fine; 8:1 strips leave too few rows for depth and views
MIN_SIDE_PX = 16  # below this nothing meaningful can be estimated
MIN_WORKING_SHORT_SIDE_PX = 64  # tiny photos are enlarged to this short side (see module docstring)
EXIF_ORIENTATION_TAG = 0x0112
SUPPORTED_HINT = "JPEG, PNG, WebP, TIFF, BMP or GIF"


class PhotoError(ValueError):
    """The photo cannot be used; the message says what is wrong and what to do."""


@dataclass
class Photo:
    """A photo ready for the pipeline."""

    image: np.ndarray  # [H,W,3] float32 RGB in [0,1], working resolution, H and W even
    original_size: tuple[int, int]  # (width, height) of the source after EXIF orientation
    name: str  # filesystem-safe stem for naming outputs

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


def load_photo(
    source: str | Path | Image.Image | np.ndarray, long_side: int | None = 512
) -> Photo:
    """Load ``source`` as a working-resolution float RGB photo (see the module docstring for the rules)."""
    valid_long_side = isinstance(long_side, (int, np.integer)) and long_side >= MIN_WORKING_SHORT_SIDE_PX
    if long_side is not None and not valid_long_side:
        raise ValueError(f"long_side must be an integer ≥ {MIN_WORKING_SHORT_SIDE_PX} or None, got {long_side!r}")
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source)
        name = "photo"
        original_size = (int(rgb.shape[1]), int(rgb.shape[0]))
    elif isinstance(source, Image.Image):
        name = _safe_name(Path(getattr(source, "filename", "") or "photo").stem)
        rgb, original_size = _pil_to_rgb(source, long_side, label="the image", allow_draft=False)
    elif isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        name = _safe_name(path.stem)
        with _open_path(path) as opened:
            rgb, original_size = _pil_to_rgb(opened, long_side, label=f"'{path.name}'")
    else:
        raise TypeError(f"source must be a path, a PIL image or a NumPy array, got {type(source).__name__}")

    # The working size comes from the original size: a JPEG may have been decoded at a reduced (draft) scale.
    image = _resize_to_working(rgb, working_size(original_size, long_side))
    return Photo(image=image, original_size=original_size, name=name)


# ---------------------------------------------------------------------------------------------------------------
# Opening and validating


def _open_path(path: Path) -> Image.Image:
    if not path.exists():
        raise PhotoError(f"Photo not found: '{path}'. Check the path and try again.")
    if not path.is_file():
        raise PhotoError(f"'{path}' is not a file (is it a folder?). Give the path of one image file.")
    if path.stat().st_size == 0:
        raise PhotoError(f"'{path.name}' is empty (0 bytes). Re-export or re-download the photo.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise PhotoError(_bomb_message(f"'{path.name}'", _pixels_from_bomb_error(error))) from error
    except UnidentifiedImageError as error:
        raise PhotoError(
            f"'{path.name}' is not an image Pillow can read (or it is corrupt). Use a {SUPPORTED_HINT} file; "
            "convert HEIC/RAW photos to JPEG first."
        ) from error
    except OSError as error:
        raise PhotoError(f"Could not read '{path.name}': {error}. Check the file and its permissions.") from error
    except Exception as error:  # Pillow's plugins raise many types on damaged headers (found by tests/test_fuzz.py)
        raise PhotoError(
            f"'{path.name}' is not an image Pillow can read (or it is corrupt: {type(error).__name__}). Use a "
            f"{SUPPORTED_HINT} file."
        ) from error
    return image


def open_auxiliary_image(path: Path, label: str, hint: str) -> Image.Image:
    """Decode a mask or depth image with the photo's size guard and EXIF orientation.

    ``hint`` ends the error message (what to use instead). Raises ``ValueError`` a user can act on.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                check_input_pixels(*image.size, label)  # limits.LIMITS.max_input_megapixels, before decoding
                image.load()
                return ImageOps.exif_transpose(image)
    except LimitError:
        raise
    except Exception as error:  # Pillow raises OSError, SyntaxError, KeyError, TypeError… on damaged files (fuzzed)
        raise ValueError(f"Could not read {label} as an image ({type(error).__name__}: {error}). {hint}") from error


def check_same_aspect(
    aux_shape: tuple[int, ...], shape: tuple[int, int], label: str, advice: str, tolerance: float = 0.02
) -> None:
    """Refuse a mask/depth map whose aspect ratio differs from the photo's (H, W) by more than ``tolerance``."""
    aux_ratio = aux_shape[1] / aux_shape[0]
    photo_ratio = shape[1] / shape[0]
    if abs(aux_ratio / photo_ratio - 1.0) > tolerance:
        raise ValueError(
            f"{label} is {aux_shape[1]}×{aux_shape[0]} (aspect {aux_ratio:.3f}) but the photo is "
            f"{shape[1]}×{shape[0]} (aspect {photo_ratio:.3f}); {advice}"
        )


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) after EXIF orientation, read from the header only."""
    width, height = image.size
    try:
        orientation = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1))
    except Exception:  # broken EXIF blocks are common and must not stop the photo from loading
        orientation = 1
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _check_size(width: int, height: int, label: str) -> None:
    check_input_pixels(width, height, label, error=PhotoError)  # limits.LIMITS.max_input_megapixels
    if min(width, height) < MIN_SIDE_PX:
        raise PhotoError(
            f"{label} is {width}×{height} px; each side needs at least {MIN_SIDE_PX} px. Use a larger photo."
        )
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT_RATIO:
        raise PhotoError(
            f"{label} is {width}×{height} px, an aspect ratio of {ratio:.1f}:1; at most {MAX_ASPECT_RATIO:.0f}:1 "
            "is supported. Crop it to a narrower panorama."
        )


def _bomb_message(label: str, pixels: int | None) -> str:
    return input_pixels_message(label, pixels)  # Pillow's own decompression-bomb guard tripped first


def _pixels_from_bomb_error(error: Exception) -> int | None:
    match = re.search(r"\((\d+) pixels\)", str(error))
    return int(match.group(1)) if match else None


def _pil_to_rgb(
    image: Image.Image, long_side: int | None, label: str, allow_draft: bool = True
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode a PIL image to float32 RGB [H,W,3] in [0,1], oriented, after the header checks.

    Returns the pixels and the oriented original (width, height); the pixels may be smaller (JPEG draft).
    ``allow_draft`` is off for caller-owned images, because ``draft`` changes the image object in place.
    """
    width, height = _oriented_size(image)
    _check_size(width, height, label)
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated GIF/WebP, multi-page TIFF: the first frame is the photo
        target_w, target_h = working_size((width, height), long_side)
        if allow_draft and image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 13 MP JPEG then loads in a fraction of the time.
            # Ask for twice the working size so area averaging still does the final, high-quality reduction.
            swap = (width, height) != image.size
            request = (2 * target_h, 2 * target_w) if swap else (2 * target_w, 2 * target_h)
            image.draft(image.mode, request)
        image.load()
        image = _to_srgb(image)
        try:
            image = ImageOps.exif_transpose(image)
        except Exception:  # a corrupt orientation tag: keep the pixels as stored
            pass
        return _pil_pixels_to_rgb(image), (width, height)
    except PhotoError:
        raise
    except Image.DecompressionBombError as error:
        raise PhotoError(_bomb_message(label, _pixels_from_bomb_error(error))) from error
    except Exception as error:  # OSError, SyntaxError, EOFError, struct.error, and KeyError/TypeError from damaged TIFFs
        raise PhotoError(
            f"{label} could not be decoded ({error}); the file is probably truncated or corrupt. Re-export or "
            f"re-download it as {SUPPORTED_HINT}."
        ) from error


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert an image with an embedded ICC profile to sRGB; leave it unchanged when that is not possible."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        from PIL import ImageCms

        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source_profile, ImageCms.createProfile("sRGB"), outputMode=output_mode)
    except Exception:  # no littleCMS, or a broken profile: the raw values are still a usable photo
        return image


def _pil_pixels_to_rgb(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode in ("1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        image = image.convert("RGB")
    elif mode == "RGBa":
        image = image.convert("RGBA")
    elif mode == "La":
        image = image.convert("LA")
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _array_to_rgb(np.asarray(image))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    return _array_to_rgb(np.asarray(image))


# ---------------------------------------------------------------------------------------------------------------
# Arrays


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Any supported array → float32 RGB [H,W,3] in [0,1] (alpha flattened)."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)  # CHW → HWC
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (2, 3, 4)):
        raise PhotoError(
            f"An image array must be [H,W], [H,W,3] or [H,W,4] (RGB/RGBA); got shape {tuple(array.shape)}."
        )
    if array.size == 0:
        raise PhotoError("The image array is empty.")
    height, width = array.shape[:2]
    _check_size(width, height, "the image")
    values = _to_unit_float(array)
    if values.ndim == 2:
        values = values[..., None]
    channels = values.shape[-1]
    if channels in (2, 4):  # grey+alpha or RGB+alpha
        colour, alpha = values[..., :-1], values[..., -1:]
        values = _flatten_alpha(colour, alpha)
    if values.shape[-1] == 1:
        values = np.repeat(values, 3, axis=-1)
    return np.ascontiguousarray(values, dtype=np.float32)


def _to_unit_float(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        maximum = int(array.max())
        minimum = int(array.min())
        if minimum < 0:  # signed data: shift into a non-negative range first
            array = array.astype(np.int64) - minimum
            maximum -= minimum
        for container in (255, 1023, 4095, 65535, 2**32 - 1):
            if maximum <= container:
                return (array.astype(np.float64) / container).astype(np.float32)
        return (array.astype(np.float64) / max(maximum, 1)).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        finite = np.isfinite(values)
        if not finite.any():
            raise PhotoError("The image array has no finite values (all NaN or infinite).")
        values = np.where(finite, values, 0.0).astype(np.float32)
        maximum = float(values.max())
        if maximum > 1.0 + 1e-3:
            values = values / (255.0 if maximum <= 255.0 else maximum)
        return np.clip(values, 0.0, 1.0)
    raise PhotoError(f"Unsupported image array dtype {array.dtype}; use uint8, uint16 or float.")


def _flatten_alpha(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite ``colour`` over its own alpha-weighted mean colour (see the module docstring for why)."""
    total = float(alpha.sum())
    if total <= 1e-6 or float(alpha.min()) >= 1.0:
        return colour  # fully transparent (keep the stored RGB) or fully opaque (nothing to do)
    background = (colour * alpha).reshape(-1, colour.shape[-1]).sum(axis=0) / total
    return colour * alpha + background * (1.0 - alpha)


# ---------------------------------------------------------------------------------------------------------------
# Resizing and naming


PANORAMA_ASPECT = 2.0  # wider than this, a photo keeps the pixel count of a photo of this aspect at long_side


def working_size(original_size: tuple[int, int], long_side: int | None) -> tuple[int, int]:
    """Even (width, height) at which ``load_photo(…, long_side)`` returns a photo of ``original_size`` (width,
    height after EXIF orientation): the one place of the rules in the module docstring (reduced to ``long_side``,
    or to the pixel count of a 2:1 photo for a wider panorama, never enlarged except that a short side below 64 px
    is, both sides rounded half-up to even numbers)."""
    width, height = (int(v) for v in original_size)
    long_px, short_px = max(width, height), min(width, height)
    budget_long = long_side * math.sqrt(max(1.0, long_px / short_px / PANORAMA_ASPECT)) if long_side is not None else math.inf
    cap = budget_long / long_px
    scale = min(cap, max(1.0, MIN_WORKING_SHORT_SIDE_PX / short_px))
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, int(math.floor(value / 2.0 + 0.5)) * 2)  # half-up: 101 → 102, not banker's 100


def _resize_to_working(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if (rgb.shape[1], rgb.shape[0]) == (width, height):
        return np.ascontiguousarray(rgb, dtype=np.float32)
    shrinking = width * height < rgb.shape[0] * rgb.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    resized = cv2.resize(rgb.astype(np.float32), (width, height), interpolation=interpolation)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def _safe_name(stem: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:64]
    return cleaned or "photo"
