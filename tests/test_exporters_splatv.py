""".splatv: an independent reader from the published layout, the loop it plays against ``LoopStates``, and the
errors it reports.

The loop is checked in "copy" form: each moving record is one temporal lobe of copy i of a Gaussian, at
``rest + v·(k + i·T)``; at loop phase k it stands for ``LoopStates``' slot A when ψ + k/T + i ∈ [0, 1) and slot B
when it is in [−1, 0). Positions must match that slot exactly (up to half floats) and the lobes' weights must add up
to the slots' cross-fade weights within the documented fade error.
"""

from __future__ import annotations

import dataclasses
import json
import struct

import numpy as np
import pytest
import torch

from exporters import SplatArrays, ViewerCamera, encode_splatv, export_scene
from exporters.loop import splatv_report
from exporters.splatv import (
    FITTED_LOBES, LOBE_CHOICES, MIN_FADE, VIEWER_CULL, _fit_lobes, fade_error, fade_lobes, record_counts,
)
from exporters.testing import example_scene
from landscape4d.animate import LoopStates, gaussians_at, phase_offsets
from landscape4d.camera import look_at


def read_splatv(data: bytes) -> dict:
    """Reader written from the splatv layout (antimatter15/splaTV): magic, JSON length, JSON chunks, then 16 u32 words a splat."""
    magic, json_length = struct.unpack_from("<II", data, 0)
    assert magic == 0x674B
    chunks = json.loads(data[8 : 8 + json_length].decode("utf-8"))
    chunk = chunks[0]
    assert chunk["type"] == "splat" and chunk["texwidth"] == 4096
    body = data[8 + json_length : 8 + json_length + chunk["size"]]
    assert len(body) == chunk["size"] == chunk["texwidth"] * chunk["texheight"] * 16
    words = np.frombuffer(body, dtype="<u4").reshape(-1, 16)

    def half2(word: np.ndarray) -> np.ndarray:  # GLSL unpackHalf2x16: low 16 bits first
        pair = np.stack([word & 0xFFFF, word >> 16], axis=-1).astype(np.uint16)
        return pair.view(np.float16).astype(np.float64)

    rgba = np.stack([(words[:, 7] >> s) & 0xFF for s in (0, 8, 16, 24)], axis=1) / 255.0
    motion = np.concatenate([half2(words[:, 8 + i]) for i in range(5)], axis=1)[:, :9]
    return {
        "chunk": chunk,
        "count": len(words),
        "position": words[:, 0:3].copy().view("<f4").astype(np.float64),
        "quat": np.concatenate([half2(words[:, 3]), half2(words[:, 4])], axis=1),
        "scale": np.concatenate([half2(words[:, 5]), half2(words[:, 6])[:, :1]], axis=1),
        "color": rgba[:, :3],
        "opacity": rgba[:, 3],
        "motion": motion,
        "omega": np.concatenate([half2(words[:, 13]), half2(words[:, 14])], axis=1),
        "trbf_center": half2(words[:, 15])[:, 0],
        "trbf_scale": half2(words[:, 15])[:, 1],
    }


def decoded_state(read: dict, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions and opacities at viewer time t, as the stock shader computes them (culling included)."""
    dt = (t - read["trbf_center"])[:, None]
    m = read["motion"]
    position = read["position"] + m[:, 0:3] * dt + m[:, 3:6] * dt**2 + m[:, 6:9] * dt**3
    with np.errstate(divide="ignore", invalid="ignore"):  # padding records have trbf_scale 0
        factor = np.exp(-(((t - read["trbf_center"]) / read["trbf_scale"]) ** 2))
    opacity = np.where(np.isfinite(factor) & (factor >= VIEWER_CULL), factor * read["opacity"], 0.0)
    return position, opacity


def cycled(scene, cycles: int = 3, fade: float = 0.3, seed: int = 2):
    """The scene with ``cycles`` cross-fade cycles, a short fade and per-Gaussian phase offsets (as the pipeline)."""
    offsets = phase_offsets(scene.gaussians.means, scene.source_camera, fade, seed=seed)
    return dataclasses.replace(scene, cycles=cycles, fade=fade, phase_offset=offsets)


def offsets_of(scene) -> np.ndarray:
    return np.zeros(len(scene.gaussians)) if scene.phase_offset is None else scene.phase_offset.numpy().astype(np.float64)


def encode(scene, lobes: int = 2):
    splats = SplatArrays.from_gaussians(scene.gaussians)
    return encode_splatv(
        splats, scene.velocity.numpy(), scene.loop_frames, lobes=lobes, cycles=scene.cycles, fade=scene.fade,
        phase_offset=offsets_of(scene),
    )


@pytest.fixture(scope="module")
def scene():
    return example_scene(n=800, seed=5, loop_frames=24)


@pytest.fixture(scope="module", params=["classic", "cycled"])
def any_scene(request, scene):
    return scene if request.param == "classic" else cycled(scene)


def test_reader_against_known_bytes():
    one = SplatArrays(
        means=[[1.0, -2.0, 4.0]], quats=[[2.0, 0, 0, 0]], scales=[[0.5, 0.25, 2.0]], opacities=[1.0], colors=[[1.0, 0.0, 0.2]]
    )
    enc = encode_splatv(one, np.zeros((1, 3)), loop_frames=10, lobes=1)
    chunk = {"type": "splat", "size": 4096 * 16, "texwidth": 4096, "texheight": 1, "cameras": []}
    header = json.dumps([chunk], separators=(",", ":")).encode()
    record = struct.pack("<3f", 1.0, -2.0, 4.0)
    record += struct.pack("<4e", 1.0, 0, 0, 0) + struct.pack("<4e", 0.5, 0.25, 2.0, 0.0) + bytes([255, 0, 51, 255])
    record += struct.pack("<10e", *[0.0] * 10) + struct.pack("<4e", 0, 0, 0, 0) + struct.pack("<2e", 0.0, 1000.0)
    assert len(record) == 64
    expected = struct.pack("<II", 0x674B, len(header)) + header + record + bytes(64 * 1023)
    assert enc.data == expected
    read = read_splatv(expected)
    assert read["count"] == 1024
    np.testing.assert_array_equal(read["position"][0], [1, -2, 4])
    np.testing.assert_array_equal(read["scale"][0], [0.5, 0.25, 2.0])
    assert read["trbf_scale"][0] == 1000.0 and read["opacity"][0] == 1.0


def test_static_and_moving_records_round_trip(any_scene):
    scene = any_scene
    splats = SplatArrays.from_gaussians(scene.gaussians)
    velocity = scene.velocity.numpy()
    enc = encode(scene, lobes=2)
    read = read_splatv(enc.data)
    m = len(enc.records)
    assert read["chunk"]["texheight"] == -(-m // 1024)
    moving = np.abs(velocity).sum(1) > 0
    n_static = int((~moving).sum())
    counts = record_counts(offsets_of(scene)[moving], scene.cycles, scene.fade, 2)
    assert m == n_static + counts.sum() and enc.stats["splats_per_moving"] == pytest.approx(counts.mean())
    # Every copy a Gaussian has in t ∈ [0, 1]: `cycles` of them, plus the wrap duplicates.
    assert counts.min() >= 2 * scene.cycles and counts.max() <= 2 * (scene.cycles + 2)
    src = splats.subset(enc.source_index)
    np.testing.assert_array_equal(read["position"][:n_static], splats.means[~moving])
    q = src.quats / np.linalg.norm(src.quats, axis=1, keepdims=True)
    np.testing.assert_allclose(read["quat"][:m], q, atol=5e-4)  # half floats: 11 significant bits
    np.testing.assert_allclose(read["scale"][:m], src.scales, rtol=1e-3)
    np.testing.assert_allclose(read["color"][:m], src.colors, atol=0.5 / 255 + 1e-9)
    np.testing.assert_array_equal(read["omega"], 0.0)
    static = slice(0, n_static)
    np.testing.assert_array_equal(read["motion"][static], 0.0)
    np.testing.assert_allclose(read["opacity"][static], src.opacities[static], atol=0.5 / 255 + 1e-9)
    assert (read["trbf_center"][static] == 0).all() and (read["trbf_scale"][static] == 1000).all()
    # Moving records: the opacity carries the lobe amplitude, the trbf scale is the lobe's width over one cycle
    # (σ/c in t), the motion is linear at v·N per unit t.
    lobes = fade_lobes(2, scene.fade)
    lobe = enc.lobe[n_static:]
    amplitude = np.asarray(lobes.amplitudes)[lobe]
    np.testing.assert_allclose(read["opacity"][n_static:m], np.minimum(src.opacities[n_static:] * amplitude, 1), atol=0.5 / 255 + 1e-9)
    np.testing.assert_allclose(read["trbf_scale"][n_static:m], np.asarray(lobes.scales)[lobe] / scene.cycles, rtol=1e-3)
    travel = velocity[enc.source_index[n_static:]] * scene.loop_frames
    np.testing.assert_allclose(read["motion"][n_static:m, 0:3], travel, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(read["motion"][n_static:m, 3:9], 0.0, atol=1e-6)
    # Padding records are fully transparent.
    assert (read["opacity"][m:] == 0).all()


def test_camera_in_header_is_the_source_camera():
    K = np.array([[300.0, 0, 160], [0, 310.0, 120], [0, 0, 1]])
    world_to_camera = look_at(torch.tensor([1.0, -0.5, -2.0]), torch.tensor([0.0, 0.0, 3.0])).numpy()
    camera = ViewerCamera(K, world_to_camera, 320, 240)
    one = SplatArrays(means=[[0, 0, 3.0]], quats=[[1, 0, 0, 0]], scales=[[1, 1, 1]], opacities=[1], colors=[[1, 1, 1]])
    cam = read_splatv(encode_splatv(one, np.zeros((1, 3)), 10, camera).data)["chunk"]["cameras"][0]
    c2w = np.linalg.inv(world_to_camera)
    np.testing.assert_allclose(cam["position"], [1.0, -0.5, -2.0], atol=1e-5)
    np.testing.assert_allclose(cam["rotation"], c2w[:3, :3], atol=1e-6)
    assert (cam["width"], cam["height"], cam["fx"], cam["fy"]) == (320, 240, 300.0, 310.0)


def slots_of(scene, enc, read, t: float):
    """For every record: the decoded position and weight (lobe amplitude × temporal factor), its moving column and
    the LoopStates slot (0 = A, 1 = B) its copy stands for at t."""
    m = len(enc.records)
    moving = np.flatnonzero(enc.role[:m] > 0)
    position, opacity = decoded_state(read, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(read["opacity"][:m] > 0, opacity[:m] / read["opacity"][:m], 0.0)
    weight = factor[moving] * np.asarray(enc.lobes.amplitudes)[enc.lobe[moving]]
    column = enc.column[moving]
    psi = offsets_of(scene)[scene.moving.numpy()]
    phase = psi[column] + t * scene.cycles + enc.copy[moving]
    return moving, position[moving], weight, column, phase


@pytest.mark.parametrize("lobes", LOBE_CHOICES)
def test_decoded_loop_matches_the_animation(any_scene, lobes):
    """At viewer times on and off the frame grid, every drawn moving record sits where LoopStates puts the slot its
    copy stands for, and per Gaussian and slot the lobes add up to LoopStates' weight within the fade error."""
    scene = any_scene
    enc = encode(scene, lobes)
    read = read_splatv(enc.data)
    err = fade_error(lobes, scene.fade)
    states = LoopStates(scene)
    n_static = int((~scene.moving).sum())
    n = int(scene.moving.sum())
    for t in list(np.linspace(0, 1, 13)) + [0.013, 0.371, 0.618, 0.994]:
        drawn_set = states(t * scene.loop_frames)
        means = drawn_set.means.numpy()[n_static:].reshape(2, n, 3)
        weight = states.weight.numpy()[n_static:].reshape(2, n)
        _, position, w, column, phase = slots_of(scene, enc, read, t)
        drawn = w > 0
        cycle = np.floor(phase)  # 0: slot A's copy; −1: slot B's, one cycle (v·T) behind
        travel = (means[0] - means[1])[column]
        np.testing.assert_allclose(position[drawn], (means[0, column] + travel * cycle[:, None])[drawn], atol=2e-3)
        stray = drawn & ((cycle < -1) | (cycle > 0))  # copies LoopStates does not draw (weight 0 there)
        if lobes == 3 or scene.fade == 1.0:
            assert not stray.any()  # no cross-fade shift: only the two slots' copies are ever drawn
        assert (w[stray] <= err["max"] + 0.01).all()
        ok = drawn & ~stray
        slot = (cycle < 0).astype(int)
        decoded = np.zeros((2, n))
        np.add.at(decoded, (slot[ok], column[ok]), w[ok])
        assert np.abs(decoded - weight).max() <= err["max"] + 0.01  # half-rounded centres and scales
        total = decoded.sum(axis=0)  # all copies of a Gaussian: ≈ 1 at every t
        assert err["sum_min"] - 0.01 <= total.min() and total.max() <= err["sum_max"] + 0.01
        assert 0.9 <= total.min() or lobes == 1


def test_t0_decodes_to_the_rest_scene(any_scene):
    """t = 0 is the still photo: every Gaussian drawn once at its rest position with its opacity (no ghosts)."""
    scene = any_scene
    enc = encode(scene)
    read = read_splatv(enc.data)
    splats = SplatArrays.from_gaussians(scene.gaussians)
    position, opacity = decoded_state(read, 0.0)
    m = len(enc.records)
    drawn = opacity[:m] > 0
    source = enc.source_index[drawn]
    np.testing.assert_allclose(position[:m][drawn], splats.means[source], atol=2e-4)  # half-float motion × dt
    total = np.zeros(len(splats))
    np.add.at(total, source, opacity[:m][drawn])
    assert np.abs(total - splats.opacities).max() <= 0.011 + 1 / 255  # lobes within 1 % of 1 on the plateau
    # The other copies (one cycle away, v·T from rest) are culled, not just faint.
    moving = enc.role[:m] > 0
    assert not (drawn & moving & (enc.copy != 0)).any()


@pytest.mark.parametrize("lobes", LOBE_CHOICES)
def test_loop_wraps_without_a_pop(any_scene, lobes):
    """The decoded frame at t = 1 (where the viewer's clock wraps) equals the one at t = 0: the same splats at the same
    places with the same opacities (the copies straddling t = 0/1 are written on both sides, each drawn only where
    the viewer's t ∈ [0, 1] can reach it)."""
    enc = encode(any_scene, lobes)
    read = read_splatv(enc.data)
    m = len(enc.records)
    n = len(any_scene.gaussians)
    frames = []
    for t in (0.0, 1.0):
        position, opacity = decoded_state(read, t)
        drawn = opacity[:m] > 0
        source, o, p = enc.source_index[drawn], opacity[:m][drawn], position[:m][drawn]
        count, total, centre = np.zeros(n), np.zeros(n), np.zeros((n, 3))
        np.add.at(count, source, 1)
        np.add.at(total, source, o)
        np.add.at(centre, source, p * o[:, None])
        spread = np.zeros(n)
        np.add.at(spread, source, np.linalg.norm(p - (centre / total[:, None])[source], axis=1))
        frames.append((count, total, centre / total[:, None], spread))
    (c0, o0, p0, s0), (c1, o1, p1, s1) = frames
    np.testing.assert_array_equal(c0, c1)  # per Gaussian the same number of splats drawn
    np.testing.assert_allclose(o0, o1, atol=2e-3)  # with the same opacities
    np.testing.assert_allclose(p0, p1, atol=2e-3)  # around the same place
    np.testing.assert_allclose(s0, s1, atol=2e-3)  # equally spread


@pytest.mark.parametrize("lobes", LOBE_CHOICES)
@pytest.mark.parametrize("fade", [0.1, 0.3, 0.5, 0.8, 1.0])
def test_fade_lobes_errors_and_constraints(lobes, fade):
    err = fade_error(lobes, fade)
    assert err["effective_fade"] == max(fade, MIN_FADE[lobes])
    assert err["ghost"] == 0.0  # other copies culled at t = 0: the still photo, for every offset
    assert 0.985 <= err["start_min"] <= err["start_max"] <= 1.011
    # documented in exporters/README.md: copies' weights sum to within these bounds at every t
    sum_min = {1: 0.74, 2: 0.92, 3: 0.93}[lobes]
    assert sum_min <= err["sum_min"] <= err["sum_max"] <= 1.035
    assert err["shift"] == pytest.approx((max(fade, MIN_FADE[lobes]) - fade) / 2, abs=1e-9)
    if fade >= MIN_FADE[lobes]:  # followed closely where the lobes can
        assert err["mean"] <= {1: 0.06, 2: 0.055, 3: 0.035}[lobes]
    lobe = fade_lobes(lobes, fade)
    # A lobe reaches at most one cycle from its copy's centre: at most two copies (LoopStates' slots) are drawn.
    assert max(abs(c) + 1.978 * s for c, s in zip(lobe.centers, lobe.scales)) < 1.0


@pytest.mark.parametrize("key", sorted(FITTED_LOBES))
def test_tabulated_lobes_are_the_fit(key):
    fitted, table = _fit_lobes(*key), FITTED_LOBES[key]
    for name in ("centers", "scales", "amplitudes"):
        np.testing.assert_allclose(getattr(table, name), getattr(fitted, name), atol=2e-6)


def test_more_lobes_follow_a_short_fade_closer():
    errors = [fade_error(lobes, 0.3)["mean"] for lobes in LOBE_CHOICES]
    assert errors[0] > errors[1] > errors[2]


def test_report_against_loop_states(tmp_path, scene):
    result = export_scene(cycled(scene), "splatv", tmp_path / "s.splatv", viewer=False)
    fit, loop = result.stats["fit_error_px"], result.stats["loop_error"]
    assert fit["samples"] > 0 and loop["stray"]["max_weight"] <= result.stats["fade_error"]["max"] + 0.01
    assert fit["max"] < 0.05 and fit["mean"] <= fit["max"]  # linear motion: half-float rounding only
    err = result.stats["fade_error"]
    assert err["sum_min"] - 0.01 <= loop["weight"]["sum_min"] <= loop["weight"]["sum_max"] <= err["sum_max"] + 0.01
    assert loop["weight"]["max"] <= err["max"] + 0.01
    assert 0 < loop["opacity"]["mean"] < loop["opacity"]["max"] < 1
    assert result.stats["cycles"] == 3 and result.stats["effective_fade"] == 0.8
    assert "per moving Gaussian" in result.summary()


def test_report_catches_a_wrong_encoding(scene):
    """The report compares with LoopStates, not with the encoder's own idea: encode with other phase offsets or
    without the cycles and it says so."""
    target = cycled(scene)
    splats = SplatArrays.from_gaussians(target.gaussians)
    velocity = target.velocity.numpy()
    right = encode(target)
    wrong_phase = encode_splatv(splats, velocity, target.loop_frames, cycles=3, fade=0.3, phase_offset=-offsets_of(target))
    classic = encode_splatv(splats, velocity, target.loop_frames)  # as if the scene had one cycle and no offsets
    good = splatv_report(target, right, samples=9)
    assert good["position"]["max"] < 0.05
    bad = splatv_report(target, wrong_phase, samples=9)
    assert bad["weight"]["max"] > 0.5 and bad["weight"]["mean"] > 1.5 * good["weight"]["mean"]
    bad = splatv_report(target, classic, samples=9)
    assert bad["weight"]["mean"] > 2 * good["weight"]["mean"] and bad["stray"]["samples"] > 0
    moved = encode(target)
    moved.records["position"][moved.role > 0] += np.float32(0.05)
    moved.data = b""
    assert splatv_report(target, moved, samples=5)["position"]["mean"] > 1.0


def test_report_samples_the_loop_once_per_time(scene, tmp_path, monkeypatch):
    """export_scene calls LoopStates once per error sample (the encoder never does)."""
    calls = []
    real = LoopStates.__call__
    monkeypatch.setattr(LoopStates, "__call__", lambda self, k: calls.append(k) or real(self, k))
    result = export_scene(cycled(scene), "splatv", tmp_path / "s.splatv", viewer=False, error_samples=9)
    assert len(calls) == 9 and sorted(calls) == pytest.approx(np.linspace(0, 1, 9) * scene.loop_frames)
    assert result.stats["fit_error_px"]["samples"] > 0


def test_budget_counts_every_copy(scene, tmp_path):
    target = cycled(scene)
    result = export_scene(target, "splatv", tmp_path / "b.splatv", viewer=False, max_gaussians=2000)
    assert result.stats["dropped_budget"] > 0 and result.stats["splats"] <= 2000


def test_nan_rows_are_dropped_and_columns_still_follow_the_input(scene):
    target = cycled(scene)
    splats = SplatArrays.from_gaussians(target.gaussians)
    velocity = target.velocity.numpy()
    moving_rows = np.flatnonzero(target.moving.numpy())
    means = splats.means.copy()
    means[moving_rows[2], 0] = np.nan
    with pytest.warns(RuntimeWarning, match=f"dropped 1 of {len(splats)}"):
        enc = encode_splatv(splats.replace(means=means), velocity, target.loop_frames, cycles=3, fade=0.3,
                            phase_offset=offsets_of(target))
    clean = encode(target)
    assert enc.stats["moving"] == len(moving_rows) - 1 and 2 not in enc.column
    keep = clean.column != 2
    np.testing.assert_array_equal(enc.records, clean.records[keep])
    np.testing.assert_array_equal(enc.column, clean.column[keep])
