"""Static formats, sequences, the API and the CLI, each re-read by a reader the exporters did not write.

PLY files are read with plyfile. ``.splat``, ``.spz`` and compressed ``.ply`` are read by small readers written here
from the published layouts (antimatter15 .splat, INRIA .ply, the spz README, PlayCanvas's compressed-ply layout), and those
readers are first checked against hand-written bytes. Every field is compared with the source within its
format's quantisation.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import json
import struct
import warnings
import zipfile

import numpy as np
import pytest
import torch
from plyfile import PlyData

from exporters import SplatArrays, encode_compressed_ply, encode_ply, encode_splat, encode_spz, export_scene
from exporters.cli import add_export_arguments, run_export
from exporters.loop import frame_splats
from exporters.sequence import write_sequence_zip
from exporters.testing import example_scene
from landscape4d.animate import LoopStates, gaussians_at, phase_offsets

SH_C0 = 0.28209479177387814


# ------------------------------------------------------------------------------------------------ fixtures


def random_splats(n: int = 500, seed: int = 0, sh: bool = False) -> SplatArrays:
    rng = np.random.default_rng(seed)
    quats = rng.normal(size=(n, 4))
    return SplatArrays(
        means=rng.uniform(-5, 5, size=(n, 3)),
        quats=quats,  # deliberately not normalised: writers must normalise
        scales=np.exp(rng.uniform(-5, 0, size=(n, 3))),
        opacities=rng.uniform(0.01, 0.99, size=n),
        colors=rng.uniform(0, 1, size=(n, 3)),
        sh_rest=rng.uniform(-0.9, 0.9, size=(n, 15, 3)) if sh else None,
    )


def unit(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def rotation_angle(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """[N] angle (radians) of the rotation taking q2 to q1."""
    q1, q2 = unit(np.asarray(q1, np.float64)), unit(np.asarray(q2, np.float64))
    return 2.0 * np.arccos(np.clip(np.abs(np.sum(q1 * q2, axis=-1)), 0.0, 1.0))


def same_rotation(q1: np.ndarray, q2: np.ndarray, atol: float) -> None:
    """Quaternions equal up to sign, component-wise within atol."""
    q1, q2 = unit(np.asarray(q1, np.float64)), unit(np.asarray(q2, np.float64))
    sign = np.where(np.sum(q1 * q2, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    np.testing.assert_allclose(q1, q2 * sign, atol=atol)


@pytest.fixture(scope="module")
def scene():
    return example_scene(n=1500, seed=3, loop_frames=12)


# ------------------------------------------------------------------------------------- independent readers


def read_splat(data: bytes) -> dict[str, np.ndarray]:
    """.splat per antimatter15's layout: 32-byte records: 3 f32 position, 3 f32 scale, RGBA u8, quaternion u8 (w x y z)."""
    assert len(data) % 32 == 0
    n = len(data) // 32
    floats = np.frombuffer(data, dtype="<f4").reshape(n, 8)
    raw = np.frombuffer(data, dtype=np.uint8).reshape(n, 32)
    return {
        "means": floats[:, 0:3],
        "scales": floats[:, 3:6],
        "colors": raw[:, 24:27] / 255.0,
        "opacities": raw[:, 27] / 255.0,
        "quats": (raw[:, 28:32].astype(np.float64) - 128.0) / 128.0,
    }


def read_spz(data: bytes) -> dict:
    """.spz v2/v3 per the spz README: gzip of header + positions, alphas, colours, scales, rotations, SH (RUB axes)."""
    raw = gzip.decompress(data)
    magic, version, n, sh_degree, frac, flags, reserved = struct.unpack_from("<IIIBBBB", raw, 0)
    assert magic == 0x5053474E and version in (2, 3) and reserved == 0
    offset = 16

    def take(count: int) -> np.ndarray:
        nonlocal offset
        block = np.frombuffer(raw, dtype=np.uint8, count=count, offset=offset)
        offset += count
        return block

    pos = take(n * 9).reshape(n * 3, 3).astype(np.int32)
    fixed = pos[:, 0] | (pos[:, 1] << 8) | (pos[:, 2] << 16)
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    means_rub = (fixed / float(1 << frac)).reshape(n, 3)
    alphas = take(n) / 255.0
    colors_dc = (take(n * 3).reshape(n, 3) / 255.0 - 0.5) / 0.15
    log_scales = take(n * 3).reshape(n, 3) / 16.0 - 10.0
    if version == 2:
        xyz = take(n * 3).reshape(n, 3) / 127.5 - 1.0
        w = np.sqrt(np.maximum(0.0, 1.0 - np.sum(xyz**2, axis=1)))
        q_xyzw = np.concatenate([xyz, w[:, None]], axis=1)
    else:
        comp = take(n * 4).reshape(n, 4).astype(np.uint64)
        word = comp[:, 0] | (comp[:, 1] << 8) | (comp[:, 2] << 16) | (comp[:, 3] << 24)
        largest = (word >> 30).astype(np.int64)
        q_xyzw = np.zeros((n, 4))
        remaining = word.copy()
        filled = np.zeros((n, 4), dtype=bool)
        filled[np.arange(n), largest] = True
        for i in (3, 2, 1, 0):  # fields are stored in component order, so unpack from the last
            here = ~filled[:, i]
            mag = (remaining & 511).astype(np.float64)
            neg = ((remaining >> 9) & 1).astype(bool)
            value = np.sqrt(0.5) * mag / 511.0 * np.where(neg, -1.0, 1.0)
            q_xyzw[here, i] = value[here]
            remaining = np.where(here, remaining >> 10, remaining)
        q_xyzw[np.arange(n), largest] = np.sqrt(np.maximum(0.0, 1.0 - np.sum(q_xyzw**2, axis=1)))
    sh = None
    if sh_degree:
        dim = {1: 3, 2: 8, 3: 15}[sh_degree]
        sh = (take(n * dim * 3).reshape(n, dim, 3).astype(np.float64) - 128.0) / 128.0
    assert offset == len(raw)
    # RUB → RDF (OpenCV): negate y and z of positions and of the quaternion's vector part; odd SH flip sign.
    flip = np.array([1.0, -1.0, -1.0])
    q_wxyz = np.concatenate([q_xyzw[:, 3:], q_xyzw[:, :3] * flip], axis=1)
    if sh is not None:
        sh = sh * np.array([-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1])[: sh.shape[1], None]
    return {
        "version": version,
        "sh_degree": sh_degree,
        "fractional_bits": frac,
        "flags": flags,
        "means": means_rub * flip,
        "opacities": alphas,
        "colors": 0.5 + SH_C0 * colors_dc,
        "scales": np.exp(log_scales),
        "quats": q_wxyz,
        "sh_rest": sh,
    }


def read_compressed_ply(data: bytes) -> dict[str, np.ndarray]:
    """PlayCanvas compressed .ply: chunk bounds (18 floats) + 4 packed uint32 per splat, 256 splats a chunk."""
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    assert header[:2] == ["ply", "format binary_little_endian 1.0"]
    elements: list[tuple[str, int, list[tuple[str, str]]]] = []
    for line in header[2:-1]:
        words = line.split()
        if words[0] == "element":
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            elements[-1][2].append((words[1], words[2]))
    (chunk_name, n_chunks, chunk_props), (vertex_name, n, vertex_props) = elements
    assert chunk_name == "chunk" and vertex_name == "vertex" and all(t == "float" for t, _ in chunk_props)
    assert [p for _, p in vertex_props] == ["packed_position", "packed_rotation", "packed_scale", "packed_color"]
    chunks = np.frombuffer(data, dtype="<f4", count=n_chunks * 18, offset=end).reshape(n_chunks, 18).astype(np.float64)
    names = [p for _, p in chunk_props]
    col = {name: chunks[:, i] for i, name in enumerate(names)}
    packed = np.frombuffer(data, dtype="<u4", count=n * 4, offset=end + n_chunks * 72).reshape(n, 4).astype(np.int64)
    assert end + n_chunks * 72 + n * 16 == len(data)
    c = np.arange(n) // 256
    assert n_chunks == -(-n // 256)

    def unpack_111011(v: np.ndarray) -> np.ndarray:
        return np.stack([(v >> 21) / 2047.0, ((v >> 11) & 1023) / 1023.0, (v & 2047) / 2047.0], axis=1)

    def lerp(prefix: str, suffix: list[str], t: np.ndarray) -> np.ndarray:
        lo = np.stack([col[f"min_{prefix}{s}"][c] for s in suffix], axis=1)
        hi = np.stack([col[f"max_{prefix}{s}"][c] for s in suffix], axis=1)
        return lo + (hi - lo) * t

    means = lerp("", ["x", "y", "z"], unpack_111011(packed[:, 0]))
    log_s = lerp("scale_", ["x", "y", "z"], unpack_111011(packed[:, 2]))
    rgba = np.stack([(packed[:, 3] >> s) & 255 for s in (24, 16, 8, 0)], axis=1) / 255.0
    colors = lerp("", ["r", "g", "b"], rgba[:, :3])
    r = packed[:, 1]
    largest = r >> 30
    three = np.stack([(r >> 20) & 1023, (r >> 10) & 1023, r & 1023], axis=1) / 1023.0
    three = (three - 0.5) * np.sqrt(2.0)
    quats = np.zeros((n, 4))
    for k in range(4):
        rows = largest == k
        others = [i for i in range(4) if i != k]
        quats[np.ix_(rows, others)] = three[rows]
        quats[rows, k] = np.sqrt(np.maximum(0.0, 1.0 - np.sum(three[rows] ** 2, axis=1)))
    return {"means": means, "scales": np.exp(log_s), "colors": colors, "opacities": rgba[:, 3], "quats": quats}


def match_rows(source_means: np.ndarray, read_means: np.ndarray, tol: float) -> np.ndarray:
    """Index into the source for each read row (formats that reorder splats), by nearest position."""
    d = np.linalg.norm(read_means[:, None, :] - source_means[None, :, :], axis=-1)
    index = d.argmin(axis=1)
    assert d[np.arange(len(index)), index].max() <= tol
    assert len(np.unique(index)) == len(index)
    return index


# --------------------------------------------------------------------------------- readers vs known bytes


ONE = SplatArrays(
    means=[[1.0, 2.0, 3.0]],
    quats=[[1.0, 0.0, 0.0, 0.0]],
    scales=[[np.exp(-2.0)] * 3],
    opacities=[0.5],
    colors=[[1.0, 0.5, 0.0]],
)


def test_splat_known_bytes():
    expected = struct.pack("<6f", 1, 2, 3, *[np.float32(np.exp(-2.0))] * 3) + bytes([255, 128, 0, 128, 255, 128, 128, 128])
    assert encode_splat(ONE) == expected
    read = read_splat(expected)
    np.testing.assert_allclose(read["means"], [[1, 2, 3]])
    np.testing.assert_allclose(read["quats"], [[127 / 128, 0, 0, 0]])
    np.testing.assert_allclose(read["colors"], [[1.0, 128 / 255, 0.0]])


def test_spz_known_bytes():
    header = struct.pack("<IIIBBBB", 0x5053474E, 3, 1, 0, 12, 0, 0)
    # RDF (1, 2, 3) → RUB (1, −2, −3) → 24-bit fixed point with 12 fractional bits.
    positions = bytes([0x00, 0x10, 0x00, 0x00, 0xE0, 0xFF, 0x00, 0xD0, 0xFF])
    alpha = bytes([128])
    colors = bytes([round(255 * 0.15 * (0.5 / SH_C0) + 127.5), 128, round(255 * 0.15 * (-0.5 / SH_C0) + 127.5)])
    scales = bytes([128, 128, 128])  # (log s + 10) · 16 with log s = −2
    rotation = bytes([0, 0, 0, 0xC0])  # identity: largest component w (index 3 in x y z w), others 0
    payload = header + positions + alpha + colors + scales + rotation
    assert gzip.decompress(encode_spz(ONE, version=3)) == payload
    read = read_spz(gzip.compress(payload))
    np.testing.assert_allclose(read["means"], [[1, 2, 3]])
    np.testing.assert_allclose(read["quats"], [[1, 0, 0, 0]])
    np.testing.assert_allclose(read["scales"], np.exp([[-2.0] * 3]))
    v2 = header[:4] + struct.pack("<I", 2) + header[8:] + positions + alpha + colors + scales + bytes([128, 128, 128])
    assert gzip.decompress(encode_spz(ONE, version=2)) == v2
    np.testing.assert_allclose(read_spz(gzip.compress(v2))["quats"], [[1, 0, 0, 0]], atol=1e-2)


def test_compressed_ply_known_bytes():
    data = encode_compressed_ply(ONE)
    header_end = data.index(b"end_header\n") + len(b"end_header\n")
    chunk = np.frombuffer(data, "<f4", 18, header_end)
    np.testing.assert_allclose(chunk, [1, 2, 3, 1, 2, 3, -2, -2, -2, -2, -2, -2, 1, 0.5, 0, 1, 0.5, 0])
    packed = struct.unpack_from("<4I", data, header_end + 72)
    assert packed == (0, (512 << 20) | (512 << 10) | 512, 0, 128)
    read = read_compressed_ply(data)
    np.testing.assert_allclose(read["means"], [[1, 2, 3]])
    same_rotation(read["quats"], [[1, 0, 0, 0]], atol=2e-3)


# ------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("sh", [False, True])
def test_ply_round_trip_with_plyfile(sh):
    splats = random_splats(400, seed=1, sh=sh)
    ply = PlyData.read(io.BytesIO(encode_ply(splats)))
    assert ply.text is False and ply.byte_order == "<"
    vertex = ply["vertex"]
    names = [p.name for p in vertex.properties]
    expected = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    expected += [f"f_rest_{i}" for i in range(45 if sh else 0)] + ["opacity", "scale_0", "scale_1", "scale_2"]
    expected += ["rot_0", "rot_1", "rot_2", "rot_3"]
    assert names == expected
    assert all(p.val_dtype in ("f4", "float32") or np.dtype(p.val_dtype) == np.float32 for p in vertex.properties)
    v = vertex.data
    np.testing.assert_array_equal(np.stack([v["x"], v["y"], v["z"]], 1), splats.means)
    np.testing.assert_array_equal(np.stack([v["nx"], v["ny"], v["nz"]], 1), 0)
    colors = 0.5 + SH_C0 * np.stack([v[f"f_dc_{c}"] for c in range(3)], 1).astype(np.float64)
    np.testing.assert_allclose(colors, splats.colors, atol=1e-6)
    np.testing.assert_allclose(1 / (1 + np.exp(-v["opacity"].astype(np.float64))), splats.opacities, atol=1e-6)
    np.testing.assert_allclose(np.exp(np.stack([v[f"scale_{i}"] for i in range(3)], 1)), splats.scales, rtol=1e-6)
    np.testing.assert_allclose(np.stack([v[f"rot_{i}"] for i in range(4)], 1), unit(splats.quats.astype(np.float64)), atol=1e-6)
    if sh:
        rest = np.stack([v[f"f_rest_{i}"] for i in range(45)], 1).reshape(-1, 3, 15)  # channel-major
        np.testing.assert_array_equal(rest.transpose(0, 2, 1), splats.sh_rest)


def test_splat_round_trip():
    splats = random_splats(600, seed=2)
    read = read_splat(encode_splat(splats))
    np.testing.assert_array_equal(read["means"], splats.means)
    np.testing.assert_array_equal(read["scales"], splats.scales)
    np.testing.assert_allclose(read["colors"], splats.colors, atol=0.5 / 255 + 1e-9)
    np.testing.assert_allclose(read["opacities"], splats.opacities, atol=0.5 / 255 + 1e-9)
    np.testing.assert_allclose(read["quats"], unit(splats.quats.astype(np.float64)), atol=0.5 / 128 + 1e-9)


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("sh", [False, True])
def test_spz_round_trip(version, sh):
    splats = random_splats(700, seed=4, sh=sh)
    read = read_spz(encode_spz(splats, version=version))
    assert read["version"] == version and read["sh_degree"] == (3 if sh else 0) and read["fractional_bits"] == 12
    np.testing.assert_allclose(read["means"], splats.means, atol=0.5 / 4096 + 1e-6)
    np.testing.assert_allclose(read["opacities"], splats.opacities, atol=0.5 / 255 + 1e-9)
    # colour byte = f_dc·0.15·255 + 127.5: one step is 1/(0.15·255) in f_dc, SH_C0 times that in colour.
    np.testing.assert_allclose(read["colors"], splats.colors, atol=0.5 * SH_C0 / (0.15 * 255) + 1e-9)
    np.testing.assert_allclose(np.log(read["scales"]), np.log(splats.scales), atol=0.5 / 16 + 1e-6)
    # v3: sign + 9-bit magnitude of the three smallest |c| ≤ 1/√2 → each within ½ step (7e-4); the largest is
    # derived from the norm and collects their errors (≤ 2 steps). v2: 8-bit x y z and w from the norm, which is
    # badly conditioned near w = 0 (a property of the format).
    if version == 3:
        same_rotation(read["quats"], splats.quats, atol=2 * np.sqrt(0.5) / 511)
    angle = rotation_angle(read["quats"], splats.quats)
    assert angle.max() < (0.25 if version == 2 else 0.01)
    if sh:
        np.testing.assert_allclose(read["sh_rest"], splats.sh_rest, atol=0.5 / 128 + 1e-9)


def test_spz_v2_rotation_error_small_where_well_conditioned():
    splats = random_splats(700, seed=5)
    read = read_spz(encode_spz(splats, version=2))
    q = unit(splats.quats.astype(np.float64))
    np.testing.assert_allclose(read["quats"][:, 1:] * np.sign(q[:, :1]), q[:, 1:], atol=0.5 / 127.5 + 1e-6)  # x y z stored
    good = np.abs(q[:, 0]) > 0.5  # w from the norm: error ≈ |xyz|·(½ step)·√3 / w
    same_rotation(read["quats"][good], splats.quats[good], atol=0.015)


def test_compressed_ply_round_trip():
    splats = random_splats(1000, seed=6)  # 4 chunks, the last one partial
    read = read_compressed_ply(encode_compressed_ply(splats))
    # Chunks of 256 nearby splats (Morton order): error bounds come from each chunk's box.
    index = match_rows(splats.means.astype(np.float64), read["means"], tol=0.1)
    src = splats.subset(index)
    chunk_extent = 10.0  # at most the whole scene box, 10 units wide
    np.testing.assert_allclose(read["means"], src.means, atol=chunk_extent / 1023 / 2 + 1e-5)
    np.testing.assert_allclose(np.log(read["scales"]), np.log(src.scales), atol=5.0 / 1023 / 2 + 1e-5)
    np.testing.assert_allclose(read["colors"], src.colors, atol=1.0 / 255 / 2 + 1e-6)
    np.testing.assert_allclose(read["opacities"], src.opacities, atol=0.5 / 255 + 1e-9)
    same_rotation(read["quats"], src.quats, atol=np.sqrt(2) / 1023 + 1e-3)
    assert len(read["means"]) == len(splats)


# ----------------------------------------------------------------------------------------- NaN handling


def test_nan_splats_dropped_with_warning(tmp_path, scene):
    bad = scene.gaussians.means.clone()
    bad[5, 0] = float("nan")
    bad_opacity = scene.gaussians.opacities.clone()
    bad_opacity[9] = float("inf")
    broken = type(scene)(
        scene.gaussians.replace(means=bad, opacities=bad_opacity), scene.velocity, scene.source_camera,
        scene.loop_frames, scene.loop_fps, scene.depth_near, scene.depth_far,
    )
    with pytest.warns(RuntimeWarning, match="dropped 2 of 1500 Gaussians with NaN/inf"):
        result = export_scene(broken, "splat", tmp_path / "a.splat")
    assert result.stats["dropped_invalid"] == 2
    read = read_splat((tmp_path / "a.splat").read_bytes())
    assert len(read["means"]) == 1498 and np.isfinite(read["means"]).all()


def test_invalid_velocity_counts_as_invalid(tmp_path, scene):
    velocity = scene.velocity.clone()
    velocity[7, 1] = float("nan")
    broken = type(scene)(
        scene.gaussians, velocity, scene.source_camera, scene.loop_frames, scene.loop_fps, scene.depth_near, scene.depth_far
    )
    with pytest.warns(RuntimeWarning, match="dropped 1 of"):
        result = export_scene(broken, "sequence", tmp_path / "s.zip", stride=6)
    assert result.stats["dropped_invalid"] == 1


def test_clean_scene_exports_without_warnings(tmp_path, scene):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_scene(scene, "ply", tmp_path / "a.ply")


# ------------------------------------------------------------------------------------------- sequences


def test_sequence_frames_match_the_animation_and_drop_invisible(tmp_path, scene):
    result = export_scene(scene, "sequence", tmp_path / "seq.zip", stride=3, frame_formats=("ply", "splat"))
    with zipfile.ZipFile(tmp_path / "seq.zip") as archive:
        names = archive.namelist()
        assert names == [f"frame{i:04d}.{ext}" for i in range(4) for ext in ("ply", "splat")]
        for i, phase in enumerate([0, 3, 6, 9]):
            ply = PlyData.read(io.BytesIO(archive.read(f"frame{i:04d}.ply")))["vertex"].data
            state = gaussians_at(scene, phase)
            visible = state.weight.numpy() >= 1 / 255
            expected = state.gaussians.means.numpy()[visible]
            np.testing.assert_array_equal(np.stack([ply["x"], ply["y"], ply["z"]], 1), expected)
            opacity = 1 / (1 + np.exp(-ply["opacity"].astype(np.float64)))
            np.testing.assert_allclose(opacity, state.gaussians.opacities.numpy()[visible], atol=1e-6)
            splat = read_splat(archive.read(f"frame{i:04d}.splat"))
            np.testing.assert_array_equal(splat["means"], expected)
    moving = int(scene.moving.sum())
    first = result.stats["per_frame"][0]
    assert first["dropped_invisible"] == moving and first["slot_b"] == 0  # slot B is invisible at phase 0
    assert result.stats["per_frame"][1]["splats"] == len(scene.gaussians) + moving  # classic: both slots mid-loop
    assert result.stats["frames"] == 4 and result.stats["frame_fps"] == pytest.approx(scene.loop_fps / 3)


def test_sequence_frames_follow_cycles_fades_and_phase_offsets(tmp_path, scene):
    """A scene with three cross-fade cycles, a short fade and per-Gaussian phase offsets: every frame holds exactly
    the Gaussians LoopStates draws with a visible weight, where it draws them; frame 0 is the still scene."""
    offsets = phase_offsets(scene.gaussians.means, scene.source_camera, 0.3, seed=4)
    cycled = dataclasses.replace(scene, cycles=3, fade=0.3, phase_offset=offsets)
    result = export_scene(cycled, "sequence", tmp_path / "seq.zip", frame_formats=("splat",), stride=1)
    states = LoopStates(cycled)
    moving = int(cycled.moving.sum())
    with zipfile.ZipFile(tmp_path / "seq.zip") as archive:
        assert len(archive.namelist()) == cycled.loop_frames
        for phase in range(cycled.loop_frames):
            read = read_splat(archive.read(f"frame{phase:04d}.splat"))
            gaussians = states(phase)
            visible = states.weight.numpy() >= 1 / 255
            np.testing.assert_array_equal(read["means"], gaussians.means.numpy()[visible])
            np.testing.assert_allclose(read["opacities"], gaussians.opacities.numpy()[visible], atol=0.5 / 255 + 1e-6)
            entry = result.stats["per_frame"][phase]
            assert entry["slot_a"] + entry["slot_b"] == visible.sum() - entry["static"]
            assert moving <= entry["slot_a"] + entry["slot_b"] <= 2 * moving
            if phase == 0:  # the still photo: each moving Gaussian once, at rest
                np.testing.assert_array_equal(np.sort(read["means"], axis=0), np.sort(cycled.gaussians.means.numpy(), axis=0))
    # Short fades: most Gaussians are drawn once in most frames (classic fade 1 draws both slots all loop long).
    mean_drawn = np.mean([f["slot_a"] + f["slot_b"] for f in result.stats["per_frame"]])
    assert mean_drawn < 1.5 * moving


def test_sequence_compressed_frames(tmp_path, scene):
    export_scene(scene, "sequence", tmp_path / "seq.zip", stride=4, frame_formats=("compressed_ply",))
    with zipfile.ZipFile(tmp_path / "seq.zip") as archive:
        assert archive.namelist() == ["frame0000.compressed.ply", "frame0001.compressed.ply", "frame0002.compressed.ply"]
        read = read_compressed_ply(archive.read("frame0001.compressed.ply"))
    state = gaussians_at(scene, 4)
    assert len(read["means"]) == len(state.gaussians)  # nothing invisible mid-loop
    read_sorted = np.sort(read["means"][:, 2])
    np.testing.assert_allclose(read_sorted, np.sort(state.gaussians.means.numpy()[:, 2]), atol=0.01)


def test_sequence_compressed_frames_match_the_single_frame_encoder(tmp_path, scene):
    """Compressed frames packed with the static chunks once (``CompressedPlyFrames``) decode to the splats
    ``encode_compressed_ply`` stores for the frame (only their order differs), and any number of encoder threads
    writes the same bytes."""
    offsets = phase_offsets(scene.gaussians.means, scene.source_camera, 0.3, seed=4)
    cycled = dataclasses.replace(scene, cycles=3, fade=0.3, phase_offset=offsets)
    for workers in (1, 3):
        write_sequence_zip(cycled, tmp_path / f"w{workers}.zip", ("compressed_ply",), stride=2, workers=workers)
    assert (tmp_path / "w1.zip").read_bytes() == (tmp_path / "w3.zip").read_bytes()
    states = LoopStates(cycled)
    extent = float(np.ptp(cycled.gaussians.means.numpy(), axis=0).max())
    with zipfile.ZipFile(tmp_path / "w3.zip") as archive:
        for index, phase in enumerate(range(0, cycled.loop_frames, 2)):
            truth, _ = frame_splats(cycled, phase, 1 / 255, states)
            read = read_compressed_ply(archive.read(f"frame{index:04d}.compressed.ply"))
            single = read_compressed_ply(encode_compressed_ply(truth))
            rows = match_rows(truth.means, read["means"], tol=extent / 1000)
            single_rows = match_rows(truth.means, single["means"], tol=extent / 1000)
            assert sorted(rows.tolist()) == list(range(len(truth)))
            back = np.argsort(rows)  # read rows in the order of the frame's splats
            single_back = np.argsort(single_rows)
            for key, tol in (("opacities", 0.5 / 255 + 1e-3), ("colors", 0.5 / 255 + 1e-3)):
                np.testing.assert_allclose(read[key][back], getattr(truth, key), atol=tol)
            np.testing.assert_allclose(read["scales"][back], single["scales"][single_back], rtol=0.05)
            same_rotation(read["quats"][back], single["quats"][single_back], atol=1e-12)  # packed per splat: the same words


def test_budget_keeps_the_most_important(tmp_path, scene):
    result = export_scene(scene, "sequence", tmp_path / "seq.zip", stride=4, max_gaussians=1000)
    assert result.stats["max_frame_splats"] <= 1000
    assert result.stats["dropped_budget"] > 0
    export_scene(scene, "ply", tmp_path / "b.ply", max_gaussians=321)
    kept = PlyData.read(tmp_path / "b.ply")["vertex"].data
    assert len(kept) == 321
    opacities = scene.gaussians.opacities.numpy().astype(np.float64)
    s = np.sort(scene.gaussians.scales.numpy().astype(np.float64), axis=1)
    top = np.argsort(-(opacities * s[:, 2] * s[:, 1]))[:321]
    kept_rows = match_rows(scene.gaussians.means.numpy(), np.stack([kept["x"], kept["y"], kept["z"]], 1), tol=0.0)
    assert set(kept_rows.tolist()) == set(top.tolist())


# -------------------------------------------------------------------------------------------- API / CLI


def test_export_scene_every_format(tmp_path, scene):
    exports = [("ply", "a.ply"), ("compressed_ply", "c.ply"), ("splat", "a.splat"), ("spz", "a.spz"), ("splatv", "a.splatv")]
    for fmt, name in exports:
        result = export_scene(scene, fmt, tmp_path / name)
        assert result.paths[0] == tmp_path / name
        for path in result.paths:
            assert path.is_file() and result.sizes[path.name] == path.stat().st_size > 0
        assert "wrote" in result.summary()
    assert (tmp_path / "a_viewer.zip").is_file()


def test_output_path_rules(tmp_path, scene):
    assert export_scene(scene, "splat", tmp_path / "noext").paths[0] == tmp_path / "noext.splat"
    assert export_scene(scene, "spz", tmp_path).paths[0] == tmp_path / "scene.spz"
    with pytest.raises(ValueError, match="suffix '.ply' but format 'splat'"):
        export_scene(scene, "splat", tmp_path / "x.ply")
    with pytest.raises(ValueError, match="unknown export format 'obj'"):
        export_scene(scene, "obj", tmp_path / "x.obj")
    with pytest.raises(ValueError, match="does not take option"):
        export_scene(scene, "ply", tmp_path / "x.ply", stride=2)
    with pytest.raises(ValueError, match="frame stride must be a positive integer"):
        export_scene(scene, "sequence", tmp_path / "x.zip", stride=0)
    with pytest.raises(ValueError, match="would share file names"):
        export_scene(scene, "sequence", tmp_path / "x.zip", frame_formats=("ply", "compressed_ply"))
    with pytest.raises(ValueError, match="spz_version must be one of"):
        export_scene(scene, "spz", tmp_path / "x.spz", spz_version=4)
    with pytest.raises(ValueError, match="max_gaussians must be a positive integer"):
        export_scene(scene, "ply", tmp_path / "x.ply", max_gaussians=0)


def test_spz_rejects_positions_outside_fixed_point_range():
    far = SplatArrays(means=[[3000.0, 0, 0]], quats=[[1, 0, 0, 0]], scales=[[1, 1, 1]], opacities=[1], colors=[[1, 1, 1]])
    with pytest.raises(ValueError, match="24-bit fixed point"):
        encode_spz(far)


def test_cli_export(tmp_path, scene, capsys):
    path = scene.save(tmp_path / "s.l4d.npz")
    parser = add_export_arguments(argparse.ArgumentParser())
    assert run_export(parser.parse_args([str(path), "--format", "splat", "--out", str(tmp_path / "o.splat")])) == 0
    out = capsys.readouterr().out
    assert "o.splat" in out and "KB" in out
    args = parser.parse_args([str(path), "--format", "sequence", "--out", str(tmp_path / "q"), "--stride", "6",
                              "--frame-format", "compressed-ply", "--frame-format", "splat"])
    assert run_export(args) == 0
    with zipfile.ZipFile(tmp_path / "q.zip") as archive:
        assert archive.namelist() == ["frame0000.compressed.ply", "frame0000.splat", "frame0001.compressed.ply", "frame0001.splat"]
    with pytest.raises(ValueError, match="--stride do"):
        run_export(parser.parse_args([str(path), "--format", "ply", "--out", str(tmp_path / "x.ply"), "--stride", "2"]))
    with pytest.raises(FileNotFoundError):
        run_export(parser.parse_args([str(tmp_path / "missing.l4d.npz"), "--format", "ply", "--out", str(tmp_path)]))


def test_lead_cli_entry_point(tmp_path, scene):
    """``python -m landscape4d export`` goes through the lead's main() into run_export."""
    from landscape4d.cli import main

    path = scene.save(tmp_path / "s.l4d.npz")
    assert main(["export", str(path), "--format", "spz", "--out", str(tmp_path / "x.spz")]) == 0
    assert read_spz((tmp_path / "x.spz").read_bytes())["means"].shape == (1500, 3)
    assert main(["export", str(path), "--format", "splat", "--out", str(tmp_path / "x.ply")]) == 2


def test_viewer_zip_is_self_contained(tmp_path, scene):
    result = export_scene(scene, "splatv", tmp_path / "v.splatv")
    with zipfile.ZipFile(tmp_path / "v_viewer.zip") as archive:
        assert sorted(archive.namelist()) == ["v.splatv", "viewer.html"]
        html = archive.read("viewer.html").decode("utf-8")
        assert archive.read("v.splatv") == (tmp_path / "v.splatv").read_bytes()
    assert "Copyright (c) 2023 Dylan Ebert" in html and "Permission is hereby granted" in html  # MIT licence kept
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html.split("gsplat-source")[0]
    config = json.loads(html.split('id="landscape4d-config">')[1].split("</script>")[0])
    assert config["file"] == "v.splatv" and config["loopSeconds"] == pytest.approx(scene.period_s)
    assert config["camera"]["width"] == scene.source_camera.width
    assert result.stats["viewer_html_bytes"] == len(html.encode("utf-8"))


def test_scene_with_no_motion_exports_everything(tmp_path):
    still = example_scene(n=300, seed=1, travel=0.0)
    assert not bool(still.moving.any())
    result = export_scene(still, "splatv", tmp_path / "still.splatv", viewer=False)
    assert result.stats["splats"] == 300 and result.stats["fit_error_px"]["samples"] == 0
    with pytest.raises(ValueError, match="stride"):
        export_scene(still, "sequence", tmp_path / "s.zip", stride=still.loop_frames)


def test_torch_inputs_unchanged(tmp_path, scene):
    before = {k: v.clone() for k, v in scene.gaussians.as_dict().items()}
    export_scene(scene, "compressed_ply", tmp_path / "c.ply")
    for k, v in scene.gaussians.as_dict().items():
        assert torch.equal(v, before[k])


@pytest.mark.parametrize("encode", [encode_ply, encode_compressed_ply, encode_splat, encode_spz])
def test_pure_encoders_drop_nan_with_a_warning(encode):
    splats = random_splats(50, seed=9)
    means = splats.means.copy()
    means[3, 1] = np.nan
    quats = splats.quats.copy()
    quats[4] = 0.0  # no rotation at all: as unusable as NaN
    with pytest.warns(RuntimeWarning, match="dropped 2 of 50 Gaussians"):
        data = encode(splats.replace(means=means, quats=quats))
    clean = encode(splats.subset(np.setdiff1d(np.arange(50), [3, 4])))
    assert data == clean


def test_budget_ranks_by_importance_per_splat():
    from exporters.loop import budget_mask

    splats = SplatArrays(
        means=np.zeros((3, 3)), quats=np.tile([1.0, 0, 0, 0], (3, 1)), scales=np.array([[1.0] * 3, [0.9] * 3, [0.8] * 3]),
        opacities=np.ones(3), colors=np.zeros((3, 3)),
    )
    # The largest Gaussian moves (2 splats a frame): per splat it is worth less than either static one.
    keep = budget_mask(splats, cost=np.array([2, 1, 1]), max_splats=2)
    assert keep.tolist() == [False, True, True]
    assert budget_mask(splats, cost=np.array([1, 1, 1]), max_splats=2).tolist() == [True, True, False]


@pytest.mark.parametrize("spread", [10, 1 << 40])
def test_resample_groups_are_numbered_like_unique_rows(spread):
    """``footprint._row_groups`` (keys packed into one integer when their ranges allow) numbers groups exactly as
    ``np.unique(axis=0)``, so ``resample`` merges and orders Gaussians as before."""
    from exporters.footprint import _row_groups

    rng = np.random.default_rng(5)
    keys = np.stack([rng.integers(-spread, spread, 5000), rng.integers(-3, 3, 5000), rng.integers(0, 2, 5000)], axis=1)
    group, n = _row_groups(keys)
    _, expected = np.unique(keys, axis=0, return_inverse=True)
    np.testing.assert_array_equal(group, expected.ravel())
    assert n == len(np.unique(keys, axis=0))


def test_export_downloads_concurrent_writes_the_same_files(tmp_path, scene):
    """The Space's downloads written concurrently (threads sharing one cached refit per size budget) are byte for
    byte the files written one at a time, named as the Space names them, and each finished file is reported once."""
    from exporters import DEFAULT_DOWNLOADS, export_downloads

    rows = tuple((key, fmt, label, {**options, "max_bytes": 120_000} if key == "splatv" else options)
                 for key, fmt, label, options in DEFAULT_DOWNLOADS)  # splatv on a coarser grid: a second refit
    one_by_one = export_downloads(dataclasses.replace(scene), tmp_path / "serial", "photo", rows, workers=1)
    seen: list[str] = []
    together = export_downloads(dataclasses.replace(scene), tmp_path / "threads", "photo", rows, workers=len(rows),
                                on_done=lambda key, result: seen.append(key))
    assert sorted(seen) == sorted(key for key, *_ in rows) and list(together) == [key for key, *_ in rows]
    assert together["splatv"].stats["grid"] > 1.0 == together["ply"].stats["grid"]
    names = sorted(p.name for p in (tmp_path / "threads").iterdir())
    assert names == ["photo.ply", "photo.splat", "photo.splatv", "photo.spz", "photo_frames.zip", "photo_viewer.zip"]
    for name in names:
        if name.endswith(".zip"):  # zip entries carry timestamps: compare what is inside
            with zipfile.ZipFile(tmp_path / "serial" / name) as a, zipfile.ZipFile(tmp_path / "threads" / name) as b:
                assert a.namelist() == b.namelist()
                assert all(a.read(n) == b.read(n) for n in a.namelist()), name
        else:
            assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "threads" / name).read_bytes(), name
