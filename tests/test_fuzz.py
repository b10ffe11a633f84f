"""Fuzzing (hypothesis), bounded for CI: the loaders of user files refuse garbage with the project's own clear error
(never a crash or a stray exception type), and random valid scenes survive every exporter and its reader within
the format's quantisation.

Each property runs a fixed number of examples (``FUZZ``: no deadline, no example database) and takes a few seconds
on a 2-core machine. Crashes found here were fixed in the library and are kept below as regular tests.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from exporters import SplatArrays, encode_compressed_ply, encode_ply, encode_splat, encode_spz, export_scene
from exporters.splat import decode_splat
from exporters.testing import example_scene
from landscape4d.depth import load_user_depth
from landscape4d.photo import Photo, PhotoError, load_photo
from landscape4d.regions import load_user_mask
from landscape4d.scene import Scene4D

from test_exporters import SH_C0, read_compressed_ply, read_spz, same_rotation, unit
from test_exporters_splatv import read_splatv

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SHAPE = (24, 32)  # (H, W) the masks and depth maps are loaded for


def write(data: bytes, suffix: str) -> Path:
    """``data`` as a file with ``suffix`` in a fresh temporary folder (kept until the interpreter exits)."""
    folder = Path(tempfile.mkdtemp(prefix="l4d-fuzz-"))
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


def encoded(fmt: str, mode: str = "RGB", size: tuple[int, int] = (32, 24)) -> bytes:
    rng = np.random.default_rng(0)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


REAL_FILES = {  # suffix → valid bytes that the fuzzer truncates and corrupts
    ".png": encoded("PNG", "RGBA"),
    ".jpg": encoded("JPEG"),
    ".webp": encoded("WEBP"),
    ".gif": encoded("GIF", "L"),
    ".tif": encoded("TIFF"),
    ".bmp": encoded("BMP"),
    ".npy": npy(np.linspace(1.0, 5.0, SHAPE[0] * SHAPE[1]).reshape(SHAPE)),
}


@st.composite
def damaged_files(draw: st.DrawFn, suffixes: tuple[str, ...] = tuple(REAL_FILES)) -> tuple[bytes, str]:
    """Random bytes under a real suffix, or a real file truncated and with a few bytes overwritten."""
    suffix = draw(st.sampled_from(suffixes))
    if draw(st.booleans()):
        return draw(st.binary(max_size=600)), suffix
    data = bytearray(REAL_FILES[suffix])
    data = data[: draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data), suffix


# ------------------------------------------------------------------------------------------------ loaders


@FUZZ
@given(damaged_files(tuple(s for s in REAL_FILES if s != ".npy")))
def test_photo_loader_refuses_damaged_files_clearly(case):
    data, suffix = case
    try:
        photo = load_photo(write(data, suffix), long_side=64)
    except PhotoError as error:
        assert str(error)
    else:
        assert isinstance(photo, Photo) and photo.image.dtype == np.float32 and np.isfinite(photo.image).all()
        assert photo.image.min() >= 0 and photo.image.max() <= 1


ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64, np.bool_]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=40),
)


@FUZZ
@given(ARRAYS)
def test_photo_loader_refuses_odd_arrays_clearly(array):
    try:
        photo = load_photo(array, long_side=64)
    except PhotoError as error:
        assert str(error)
    else:
        assert np.isfinite(photo.image).all() and photo.image.shape[2] == 3


@FUZZ
@given(st.one_of(damaged_files(), ARRAYS.map(lambda a: (a, None))))
def test_mask_loader_refuses_garbage_with_a_value_error(case):
    data, suffix = case
    source = data if suffix is None else write(data, suffix)
    try:
        mask = load_user_mask(source, SHAPE)
    except ValueError as error:
        assert str(error)
    else:
        assert mask.dtype == np.bool_ and mask.shape == SHAPE


@FUZZ
@given(st.one_of(damaged_files(), ARRAYS.map(lambda a: (a, None))))
def test_depth_loader_refuses_garbage_with_a_value_error(case):
    data, suffix = case
    source = data if suffix is None else write(data, suffix)
    try:
        depth = load_user_depth(source, SHAPE)
    except ValueError as error:
        assert str(error)
    else:
        assert depth.shape == SHAPE and np.isfinite(depth).all() and (depth > 0).all()


def saved_scene() -> bytes:
    folder = Path(tempfile.mkdtemp(prefix="l4d-fuzz-"))
    return example_scene(n=40, seed=1, loop_frames=6).save(folder / "scene").read_bytes()


SAVED_SCENE = saved_scene()


@st.composite
def damaged_scenes(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    data = bytearray(SAVED_SCENE)
    data = data[: draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 3))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(damaged_scenes())
def test_scene_loader_refuses_damaged_files(data):
    path = write(data, ".l4d.npz")
    try:
        scene = Scene4D.load(path)
    except ValueError as error:
        assert "not a landscape4d scene" in str(error)
    else:
        assert len(scene.gaussians) == 40


def test_scene_loader_still_reads_saved_scenes(tmp_path):
    scene = example_scene(n=40, seed=1, loop_frames=6)
    loaded = Scene4D.load(write(SAVED_SCENE, ".l4d.npz"))
    for name, value in scene.gaussians.as_dict().items():
        assert torch.equal(loaded.gaussians.as_dict()[name], value)
    assert torch.equal(loaded.velocity, scene.velocity) and loaded.loop_frames == 6


def scene_archive(meta: object = None, drop: str | None = None, **replace: np.ndarray) -> bytes:
    """The saved example scene with its meta record, one array dropped or arrays replaced."""
    import json

    with np.load(io.BytesIO(SAVED_SCENE), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(meta))
    if drop:
        arrays.pop(drop)
    arrays.update(replace)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def claiming_archive() -> bytes:
    """A tiny archive whose ``means`` header claims 30 billion floats (a memory bomb for a naive reader)."""
    array = io.BytesIO()
    np.lib.format.write_array_header_1_0(array, {"descr": "<f4", "fortran_order": False, "shape": (10**10, 3)})
    array.write(bytes(64))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("means.npy", array.getvalue())
    return buffer.getvalue()


def scene_meta(**changes: object) -> dict:
    import json

    with np.load(io.BytesIO(SAVED_SCENE), allow_pickle=False) as data:
        return {**json.loads(str(data["meta"])), **changes}


@pytest.mark.parametrize("data", [
    b"",
    b"PK\x05\x06" + bytes(18),  # an empty zip
    scene_archive(meta=[1, 2]),  # meta is not an object
    scene_archive(meta={"format": "landscape4d-scene", "version": "2"}),  # version is not a number
    scene_archive(meta={"format": "landscape4d-scene"}),  # loop timing, sizes missing
    scene_archive(drop="velocity"),
    scene_archive(drop="K"),
    scene_archive(means=np.zeros((3, 3), np.float32)),  # arrays disagree in length
    scene_archive(K=np.zeros((2,), np.float32)),
    scene_archive(means=np.array(["a"] * 40)),  # strings, not numbers
    claiming_archive(),
    scene_archive(meta=scene_meta(loop_fps=0)),
    scene_archive(meta=scene_meta(width=-3)),
    scene_archive(meta=scene_meta(extra=[1])),
    scene_archive(meta=scene_meta(loop_frames="many")),
], ids=["empty", "empty-zip", "meta-list", "version-text", "meta-missing", "no-velocity", "no-K", "short-means",
        "bad-K", "text-means", "memory-bomb", "zero-fps", "negative-width", "extra-list", "frames-text"])
def test_scene_loader_refuses_wrong_contents(data):
    with pytest.raises(ValueError, match="not a landscape4d scene"):
        Scene4D.load(write(data, ".l4d.npz"))


# Crashes the fuzzer found (fixed in the library), kept as regular tests.
TIFF_WITHOUT_DIMENSIONS = (  # a TIFF whose IFD lost its size tag: Pillow raised TypeError("Missing dimensions")
    b"II*\x00\x08\x00\x00\x00\n\x00\x00\x01\x04\x00\x01\x00\x00\x00 \x00\x00\x00\x01\x01\x04\x00\x01\x00\x00\x00\x18"
    b"\x00\x00\x00\x02\x01\x03\x00\x03\x00\x00\x00\x86\x00\x00\x00\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00"
    b"\x06\x01\x03\x00\x01\x00\x00\x00\x02\x00\x00\x00\x11\x01\x04\x00\x01\x00\x00\x00\x8c\x00\x00\x00\x15\x01\x03"
    b"\x00\x01\x00\x00\x00\x03\x00\x00\x00\x16\x01\x04\x00\x01\x00\x00\x00\x18\x00\x00\x00\x17\x01\x04\x00\x01\x00"
    b"\x00\x00\x00\t\x00\x00\x1c\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x08\x00\x08\x00\x08\x00"
)
NPY_WITH_NUL_IN_HEADER = (  # numpy's header parser raised SyntaxError (null bytes), not ValueError
    b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (24, 32), \x00" + b" " * 56 + b"\n"
)


def test_found_tiff_without_dimensions():
    with pytest.raises(PhotoError, match="could not be decoded|not an image Pillow can read"):
        load_photo(write(TIFF_WITHOUT_DIMENSIONS, ".tif"))
    with pytest.raises(ValueError, match="Could not read"):
        load_user_mask(write(TIFF_WITHOUT_DIMENSIONS, ".tif"), SHAPE)
    with pytest.raises(ValueError, match="Could not read"):
        load_user_depth(write(TIFF_WITHOUT_DIMENSIONS, ".tif"), SHAPE)


@pytest.mark.parametrize("data", [b"", NPY_WITH_NUL_IN_HEADER, b"PK\x05\x06" + bytes(18)], ids=["empty", "nul", "zip"])
def test_found_damaged_npy(data):
    with pytest.raises(ValueError, match="Could not read|npz archive"):
        load_user_mask(write(data, ".npy"), SHAPE)
    with pytest.raises(ValueError, match="Could not read|holds arrays"):
        load_user_depth(write(data, ".npy"), SHAPE)
    with pytest.raises(ValueError, match="not a landscape4d scene"):
        Scene4D.load(write(data, ".l4d.npz"))


# --------------------------------------------------------------------------------------------- exporters

# Splats the way a scene holds them: positions within the spz fixed-point range, non-zero quaternions of any length,
# positive scales over many octaves, opacities and colours in [0, 1] (colours a little outside too: the fit allows it).
N_SPLATS = st.integers(1, 300)


@st.composite
def splat_arrays(draw: st.DrawFn, sh: bool = False) -> SplatArrays:
    n = draw(N_SPLATS)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    spread = draw(st.sampled_from([1e-3, 1.0, 100.0, 1000.0]))
    quats = rng.normal(size=(n, 4)) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    quats[np.abs(quats).sum(axis=1) == 0] = (1.0, 0.0, 0.0, 0.0)
    log_s = rng.uniform(draw(st.sampled_from([-9.0, -5.0])), draw(st.sampled_from([-1.0, 2.0])), size=(n, 3))
    opacities = rng.uniform(0, 1, size=n)
    opacities[rng.random(n) < 0.1] = draw(st.sampled_from([0.0, 1.0]))
    return SplatArrays(
        means=rng.uniform(-spread, spread, size=(n, 3)),
        quats=quats,
        scales=np.exp(log_s),
        opacities=opacities,
        colors=rng.uniform(-0.05, 1.05, size=(n, 3)),
        sh_rest=rng.uniform(-0.9, 0.9, size=(n, 15, 3)) if sh else None,
    )


ROUND_TRIP = settings(FUZZ, max_examples=60)


@ROUND_TRIP
@given(splat_arrays())
def test_splat_round_trip(splats):
    read = decode_splat(encode_splat(splats))
    assert len(read) == len(splats)
    np.testing.assert_array_equal(read.means, splats.means)
    np.testing.assert_array_equal(read.scales, splats.scales)
    np.testing.assert_allclose(read.colors, np.clip(splats.colors, 0, 1), atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(read.opacities, splats.opacities, atol=0.5 / 255 + 1e-6)
    # Bytes are q·128 + 128 clamped to 0..255: +1 is not representable, a component near it reads as at most 127/128.
    quats = np.clip(unit(splats.quats.astype(np.float64)), -1.0, 127 / 128)
    np.testing.assert_allclose(read.quats, quats, atol=0.5 / 128 + 1e-6)


@ROUND_TRIP
@given(splat_arrays(), st.sampled_from([2, 3]))
def test_spz_round_trip(splats, version):
    read = read_spz(encode_spz(splats, version=version))
    np.testing.assert_allclose(read["means"], splats.means, atol=0.5 / 4096 + 1e-4 * np.abs(splats.means).max())
    np.testing.assert_allclose(read["opacities"], splats.opacities, atol=0.5 / 255 + 1e-6)
    colors = np.clip(splats.colors, 0.5 - 127.5 * SH_C0 / (0.15 * 255), 0.5 + 127.5 * SH_C0 / (0.15 * 255))
    np.testing.assert_allclose(read["colors"], colors, atol=0.5 * SH_C0 / (0.15 * 255) + 1e-6)
    log_s = np.clip(np.log(splats.scales.astype(np.float64)), -10.0, 255 / 16 - 10.0)
    np.testing.assert_allclose(np.log(read["scales"]), log_s, atol=0.5 / 16 + 1e-5)
    if version == 3:
        same_rotation(read["quats"], splats.quats, atol=2 * np.sqrt(0.5) / 511 + 1e-6)


@ROUND_TRIP
@given(splat_arrays())
def test_compressed_ply_round_trip(splats):
    read = read_compressed_ply(encode_compressed_ply(splats))
    assert len(read["means"]) == len(splats)
    # Morton order inside chunks of 256: compare as sets, through each row's own position.
    from exporters.ply import morton_order

    src = splats.subset(morton_order(splats.means))
    extent = np.ptp(splats.means.astype(np.float64), axis=0).max() + 1e-12
    np.testing.assert_allclose(read["means"], src.means, atol=extent / 1023 / 2 * 1.01 + 1e-5 * extent)
    np.testing.assert_allclose(read["opacities"], src.opacities, atol=0.5 / 255 + 1e-6)
    same_rotation(read["quats"], src.quats, atol=np.sqrt(2) / 1023 + 1e-3)


@ROUND_TRIP
@given(splat_arrays())
def test_ply_round_trip(splats):
    from plyfile import PlyData

    v = PlyData.read(io.BytesIO(encode_ply(splats)))["vertex"].data
    assert len(v) == len(splats)
    np.testing.assert_array_equal(np.stack([v["x"], v["y"], v["z"]], 1), splats.means)
    colors = 0.5 + SH_C0 * np.stack([v[f"f_dc_{c}"] for c in range(3)], 1).astype(np.float64)
    np.testing.assert_allclose(colors, splats.colors, atol=1e-5)
    opacity = 1 / (1 + np.exp(-v["opacity"].astype(np.float64)))
    np.testing.assert_allclose(opacity, splats.opacities, atol=1e-6)


@settings(FUZZ, max_examples=6)
@given(n=st.integers(1, 400), seed=st.integers(0, 1000), loop_frames=st.integers(2, 40),
       travel=st.sampled_from([0.0, 0.05, 0.3]), water_line=st.sampled_from([-1.0, 0.15, 2.0]))
def test_random_scenes_survive_every_exporter(n, seed, loop_frames, travel, water_line):
    scene = example_scene(n=n, seed=seed, loop_frames=loop_frames, travel=travel, water_line=water_line,
                          width=64, height=48)
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("splat", "spz", "compressed_ply", "sequence", "splatv"):
            options = {"stride": max(1, loop_frames // 3)} if fmt == "sequence" else {}
            if fmt == "sequence" and options["stride"] >= loop_frames:
                continue  # a single frame: the exporter refuses it (a static format is the right choice)
            result = export_scene(scene, fmt, folder, **options)
            data = result.paths[0].read_bytes()
            if fmt == "splat":
                assert len(decode_splat(data)) == result.stats["splats"]
            elif fmt == "spz":
                assert len(read_spz(data)["means"]) == result.stats["splats"]
            elif fmt == "compressed_ply":
                assert len(read_compressed_ply(data)["means"]) == result.stats["splats"]
            elif fmt == "sequence":
                with zipfile.ZipFile(result.paths[0]) as archive:
                    assert len(archive.namelist()) == result.stats["frames"]
            else:
                assert read_splatv(data)["count"] >= result.stats["splats"]
