"""load_photo: orientation, modes, sizes and the errors a user sees."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import needs_shared_photos, shared_photos
from landscape4d.photo import Photo, PhotoError, load_photo



def _halves(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue."""
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(array)


def _check_photo(photo: Photo) -> None:
    assert photo.image.dtype == np.float32
    assert photo.image.ndim == 3 and photo.image.shape[2] == 3
    assert photo.image.shape[0] % 2 == 0 and photo.image.shape[1] % 2 == 0
    assert 0.0 <= photo.image.min() and photo.image.max() <= 1.0


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    image = _halves(128, 64)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)
    photo = load_photo(path)
    _check_photo(photo)
    if orientation in (6, 8):
        assert photo.original_size == (64, 128)
        assert photo.image.shape[:2] == (128, 64)
        # 6 = rotate 90° clockwise to view: the red left half ends up on top; 8 puts it at the bottom.
        top, bottom = photo.image[:32].mean(axis=(0, 1)), photo.image[-32:].mean(axis=(0, 1))
        red_on_top = top[0] > top[2] and bottom[2] > bottom[0]
        assert red_on_top == (orientation == 6)
    else:
        assert photo.original_size == (128, 64)
        left = photo.image[:, :32].mean(axis=(0, 1))
        assert left[2] > left[0]  # rotated 180°: blue is now on the left
    assert photo.name == "rotated"


def test_16_bit_grey_scaled_by_its_container(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 4095, 128).astype(np.uint16), (64, 1))  # 12-bit data in a 16-bit PNG
    path = tmp_path / "grey16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    photo = load_photo(path)
    _check_photo(photo)
    assert photo.image.max() == pytest.approx(1.0, abs=0.02)
    assert photo.image[:, 0].max() < 0.02
    np.testing.assert_allclose(photo.image[..., 0], photo.image[..., 2])


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    _halves(64, 32).convert("CMYK").save(path)
    photo = load_photo(path)
    _check_photo(photo)
    left, right = photo.image[:, :20].mean(axis=(0, 1)), photo.image[:, -20:].mean(axis=(0, 1))
    assert left[0] > 0.8 and left[2] < 0.2
    assert right[2] > 0.8 and right[0] < 0.2


def test_rgba_flattened_on_its_own_mean_colour(tmp_path: Path) -> None:
    array = np.zeros((32, 64, 4), np.uint8)
    array[..., :3] = (200, 40, 40)
    array[..., 3] = 255
    array[:, 32:, :3] = 255  # white pixels that are fully transparent must not show as white
    array[:, 32:, 3] = 0
    path = tmp_path / "cutout.png"
    Image.fromarray(array, "RGBA").save(path)
    photo = load_photo(path)
    np.testing.assert_allclose(photo.image[:, 40:].mean(axis=(0, 1)), np.array([200, 40, 40]) / 255, atol=0.02)


def test_palette_with_transparency_and_grey_modes(tmp_path: Path) -> None:
    palette_image = _halves(64, 32).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    palette_image.info["transparency"] = 0
    palette_path = tmp_path / "palette.png"
    palette_image.save(palette_path, transparency=0)
    _check_photo(load_photo(palette_path))
    for mode in ("L", "LA", "F", "1", "I"):
        image = _halves(64, 32).convert("L").convert(mode)
        path = tmp_path / f"mode_{mode}.{'tiff' if mode in ('F', 'I') else 'png'}"
        image.save(path)
        photo = load_photo(path)
        _check_photo(photo)
        assert photo.image[:, :20].mean() > photo.image[:, -20:].mean() - 1e-6  # red is brighter luma than blue


def test_pil_image_source_is_not_modified() -> None:
    image = _halves(600, 300)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    opened = Image.open(io.BytesIO(buffer.getvalue()))
    photo = load_photo(opened, long_side=128)
    assert photo.image.shape[:2] == (64, 128)
    assert opened.size == (600, 300)


@pytest.mark.parametrize(
    ("array", "expected_max"),
    [
        (np.full((32, 48, 3), 255, np.uint8), 1.0),
        (np.full((32, 48), 1023, np.uint16), 1.0),
        (np.full((32, 48, 3), 0.5, np.float32), 0.5),
        (np.full((32, 48, 3), 127.5, np.float64), 0.5),
        (np.full((3, 32, 48), 0.25, np.float32), 0.25),
        (np.full((32, 48, 4), 0.5, np.float32), 0.5),
    ],
)
def test_numpy_inputs(array: np.ndarray, expected_max: float) -> None:
    photo = load_photo(array)
    _check_photo(photo)
    assert photo.image.max() == pytest.approx(expected_max, abs=1e-3)
    assert photo.name == "photo"


def test_sizes_panorama_tiny_and_native(tmp_path: Path) -> None:
    panorama = load_photo(np.random.default_rng(0).random((300, 1200, 3)).astype(np.float32))
    assert panorama.image.shape[:2] == (182, 724)  # 4:1: the pixel count of a 2:1 photo at 512 px
    assert panorama.original_size == (1200, 300)
    tiny = load_photo(np.zeros((20, 30, 3), np.uint8))
    assert min(tiny.image.shape[:2]) == 64 and tiny.image.shape[:2] == (64, 96)
    native = load_photo(np.zeros((101, 203, 3), np.uint8), long_side=None)
    assert native.image.shape[:2] == (102, 204)  # rounded to even, never resampled otherwise
    medium = load_photo(np.zeros((200, 300, 3), np.uint8), long_side=512)
    assert medium.image.shape[:2] == (200, 300)  # never enlarged to reach long_side
    with pytest.raises(ValueError):
        load_photo(np.zeros((100, 100, 3), np.uint8), long_side=8)


def test_area_downsampling_keeps_mean_colour() -> None:
    rng = np.random.default_rng(1)
    array = rng.random((1000, 1500, 3)).astype(np.float32)
    photo = load_photo(array, long_side=150)
    np.testing.assert_allclose(photo.image.mean(axis=(0, 1)), array.mean(axis=(0, 1)), atol=0.01)
    assert photo.image.std() < array.std() / 3  # averaged, not point-sampled


def test_not_found_and_folder(tmp_path: Path) -> None:
    with pytest.raises(PhotoError, match="not found"):
        load_photo(tmp_path / "missing.jpg")
    with pytest.raises(PhotoError, match="not a file"):
        load_photo(tmp_path)


def test_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo\n" * 20)
    with pytest.raises(PhotoError, match="not an image"):
        load_photo(text)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(PhotoError, match="empty"):
        load_photo(empty)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file(tmp_path: Path, fmt: str) -> None:
    buffer = io.BytesIO()
    noise = np.random.default_rng(2).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, format=fmt)
    data = buffer.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PhotoError) as error:
        load_photo(path)
    assert "corrupt" in str(error.value) or "truncated" in str(error.value)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` but carries a tiny (invalid) body: a decompression bomb probe."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def test_decompression_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(20000, 15000))  # 300 MP
    started = time.perf_counter()
    with pytest.raises(PhotoError) as error:
        load_photo(path)
    message = str(error.value)
    assert "300" in message and "200" in message and "megapixels" in message
    assert time.perf_counter() - started < 1.0  # refused from the header, nothing decoded
    with pytest.raises(PhotoError, match="200 megapixels"):
        load_photo(np.broadcast_to(np.zeros(1, np.uint8), (15000, 14000, 3)))


def test_aspect_ratio_and_too_small() -> None:
    with pytest.raises(PhotoError, match="aspect ratio"):
        load_photo(np.zeros((40, 400, 3), np.uint8))
    with pytest.raises(PhotoError, match="at least 16"):
        load_photo(np.zeros((10, 40, 3), np.uint8))
    with pytest.raises(PhotoError, match="shape"):
        load_photo(np.zeros((10, 40, 7), np.uint8))


def test_large_jpeg_loads_quickly(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    big = _repeat_upscale(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8), 10)  # 3000×4000
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=85)
    started = time.perf_counter()
    photo = load_photo(path)
    assert time.perf_counter() - started < 1.5
    assert photo.original_size == (4000, 3000)
    assert photo.image.shape[:2] == (384, 512)


def _repeat_upscale(array: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)


@needs_shared_photos
def test_shared_photos_load() -> None:
    for path in shared_photos():
        photo = load_photo(path)
        _check_photo(photo)
        assert max(photo.image.shape[:2]) == 512
        with Image.open(path) as image:
            assert photo.original_size == image.size
