""".splatv: an independent reader from the published layout, the loop it plays, and the fit errors it reports."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from exporters import SplatArrays, ViewerCamera, encode_splatv, export_scene
from exporters.loop import scene_trajectory
from exporters.splatv import FADE_LOBES, VIEWER_CULL, SampledTrajectory, fade_error, position_error_px
from exporters.testing import example_scene
from landscape4d.animate import gaussians_at
from landscape4d.camera import look_at


def read_splatv(data: bytes) -> dict:
    """Reader written from REFERENCE.md §3: magic, JSON length, JSON chunks, then 16 u32 words a splat."""
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


@pytest.fixture(scope="module")
def scene():
    return example_scene(n=800, seed=5, loop_frames=24)


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


def test_static_and_moving_records_round_trip(scene):
    splats = SplatArrays.from_gaussians(scene.gaussians)
    velocity = scene.velocity.numpy()
    enc = encode_splatv(splats, velocity, scene.loop_frames, lobes=2)
    read = read_splatv(enc.data)
    m = len(enc.records)
    assert read["chunk"]["texheight"] == -(-m // 1024)
    moving = np.abs(velocity).sum(1) > 0
    n_static, n_moving = int((~moving).sum()), int(moving.sum())
    assert m == n_static + 2 * 2 * n_moving
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
    # Moving records: the opacity carries the lobe amplitude; the motion is the loop travel v·N (linear).
    lobe_amp = np.asarray(FADE_LOBES[2].amplitudes)[enc.lobe[n_static:]]
    np.testing.assert_allclose(read["opacity"][n_static:m], src.opacities[n_static:] * lobe_amp, atol=0.5 / 255 + 1e-9)
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


def test_decoded_loop_matches_the_animation(scene):
    """At sampled viewer times, every moving record sits where animate.gaussians_at puts its population, and the
    lobes' opacities add up to the cross-fade weight within the documented fade error."""
    splats = SplatArrays.from_gaussians(scene.gaussians)
    enc = encode_splatv(splats, scene.velocity.numpy(), scene.loop_frames, lobes=2)
    read = read_splatv(enc.data)
    m = len(enc.records)
    moving_rows = np.flatnonzero(scene.moving.numpy())
    column = np.searchsorted(moving_rows, enc.source_index)
    bound = fade_error(2)["max"] + 1.0 / 255
    for t in np.linspace(0, 1, 13):
        state = gaussians_at(scene, t * scene.loop_frames)
        population = state.population.numpy()
        means = state.gaussians.means.numpy()
        position, opacity = decoded_state(read, t)
        for role, weight in ((1, 1 - t), (2, t)):
            records = np.flatnonzero(enc.role[:m] == role)
            truth = means[population == role][column[records]]
            drawn = opacity[records] > 0
            np.testing.assert_allclose(position[records][drawn], truth[drawn], atol=2e-3)
            total = np.zeros(len(moving_rows))
            np.add.at(total, column[records], opacity[records])
            expected = splats.opacities[moving_rows] * weight
            assert np.abs(total - expected).max() <= bound
        static = enc.role[:m] == 0
        np.testing.assert_array_equal(position[:m][static], splats.means[enc.source_index[static]])


def test_loop_wraps_without_a_pop(scene):
    """The decoded frame at t → 1 equals the one at t = 0: the same splats are drawn at the same places."""
    splats = SplatArrays.from_gaussians(scene.gaussians)
    for lobes in FADE_LOBES:
        read = read_splatv(encode_splatv(splats, scene.velocity.numpy(), scene.loop_frames, lobes=lobes).data)
        p0, o0 = decoded_state(read, 0.0)
        p1, o1 = decoded_state(read, 1.0)
        drawn0, drawn1 = o0 > 0, o1 > 0
        # Population A at t = 0 and population B at t = 1 both rest at the still positions with equal opacity sums.
        rest0 = np.sort(p0[drawn0][:, 0])
        rest1 = np.sort(p1[drawn1][:, 0])
        assert drawn0.sum() == drawn1.sum()
        np.testing.assert_allclose(rest0, rest1, atol=2e-3)
        np.testing.assert_allclose(np.sort(o0[drawn0]), np.sort(o1[drawn1]), atol=2 / 255)


@pytest.mark.parametrize("lobes", sorted(FADE_LOBES))
def test_fade_lobes_errors_and_constraints(lobes):
    err = fade_error(lobes)
    documented = {1: (0.083, 0.148), 2: (0.023, 0.055), 3: (0.0075, 0.025)}[lobes]
    assert err["mean"] <= documented[0] and err["max"] <= documented[1]
    assert err["wrap"] < VIEWER_CULL  # culled at the far end: the loop wraps cleanly
    assert err["start"] >= 0.98  # t = 0 shows the still photo
    assert 0.75 < err["sum_min"] <= err["sum_max"] < 1.1


@pytest.mark.parametrize("lobes", [1, 2])
def test_fade_lobes_are_a_local_optimum(lobes):
    """Small moves of any centre/scale/amplitude that keep the constraints do not reduce the squared error."""
    fade = FADE_LOBES[lobes]
    t = np.linspace(0, 1, 1001)

    def cost(c, s, a):
        w = (a[:, None] * np.exp(-(((t[None] - c[:, None]) / s[:, None]) ** 2))).sum(0)
        # Constraints of the fit (lobe factor 0.019 at t = 1, |sum − 1| ≤ 0.01 at t = 0), with slack for 5-digit constants.
        feasible = (np.exp(-(((1 - c) / s) ** 2)) <= 0.0191).all() and abs(w[0] - 1) <= 0.0101 and (a <= 1).all()
        return np.mean((w - (1 - t)) ** 2), feasible

    base = [np.array(v, dtype=np.float64) for v in (fade.centers, fade.scales, fade.amplitudes)]
    best, ok = cost(*base)
    assert ok
    for which in range(3):
        for i in range(lobes):
            for step in (-2e-3, 2e-3):
                trial = [v.copy() for v in base]
                trial[which][i] += step
                value, feasible = cost(*trial)
                if feasible:
                    assert value >= best - 1e-6


def test_position_fit_error_report(scene, tmp_path):
    result = export_scene(scene, "splatv", tmp_path / "s.splatv", viewer=False)
    fit = result.stats["fit_error_px"]
    assert fit["samples"] > 0 and fit["max"] < 0.05 and fit["mean"] <= fit["max"]  # linear motion: half-float rounding only


def test_cubic_trajectories_are_fitted_exactly_and_others_report_their_error():
    rng = np.random.default_rng(0)
    n = 200
    splats = SplatArrays(
        means=np.c_[rng.uniform(-1, 1, (n, 2)), rng.uniform(3, 5, n)], quats=np.tile([1.0, 0, 0, 0], (n, 1)),
        scales=np.full((n, 3), 0.05), opacities=np.full(n, 0.8), colors=rng.uniform(0, 1, (n, 3)),
    )
    velocity = np.zeros((n, 3))
    velocity[:100, 0] = 0.01  # 100 moving
    rest = splats.means[:100].astype(np.float64)
    coeff = rng.uniform(-0.2, 0.2, (3, 100, 3))
    camera = ViewerCamera(np.array([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]]), np.eye(4), 320, 240)

    def cubic(t):
        t = np.asarray(t)[:, None, None]
        path = rest[None] + coeff[0] * t + coeff[1] * t**2 + coeff[2] * t**3
        return path, path - 0.1

    enc = encode_splatv(splats, velocity, 30, camera, trajectory=cubic)
    exact = position_error_px(enc, cubic, camera)
    assert exact["max"] < 0.05  # cubic: exact up to half-float rounding

    def wiggle(t):
        t = np.asarray(t)[:, None, None]
        path = rest[None] + 0.05 * np.sin(2 * np.pi * 3 * t) * np.array([1.0, 0, 0])
        return path, path

    enc = encode_splatv(splats, velocity, 30, camera, trajectory=wiggle)
    err = position_error_px(enc, wiggle, camera)
    assert err["max"] > 0.5  # a three-period wiggle is not a cubic: the report says so


def test_scene_trajectory_is_the_animation(scene):
    sample = scene_trajectory(scene)
    a, b = sample(np.array([0.0, 0.5, 1.0]))
    state = gaussians_at(scene, 0.5 * scene.loop_frames)
    np.testing.assert_allclose(a[1], state.gaussians.means.numpy()[state.population.numpy() == 1])
    np.testing.assert_allclose(b[1], state.gaussians.means.numpy()[state.population.numpy() == 2])
    np.testing.assert_allclose(a[0], scene.gaussians.means.numpy()[scene.moving.numpy()])



def test_sampled_trajectory_samples_the_truth_once(scene, tmp_path, monkeypatch):
    """export_scene samples the loop once per grid time: the fit uses every other sample, the report all."""
    from landscape4d.animate import LoopStates

    calls = []
    real = LoopStates.__call__
    monkeypatch.setattr(LoopStates, "__call__", lambda self, k: calls.append(k) or real(self, k))
    result = export_scene(scene, "splatv", tmp_path / "s.splatv", viewer=False, error_samples=9)
    assert len(calls) == 9 and sorted(calls) == pytest.approx(np.linspace(0, 1, 9) * scene.loop_frames)
    assert result.stats["fit_error_px"]["samples"] > 0

    sampled = SampledTrajectory(scene_trajectory(scene), np.linspace(0, 1, 5))
    a, _ = sampled(np.array([0.25, 0.75]))
    np.testing.assert_array_equal(a, sampled.forward[[1, 3]])
    a, _ = sampled(np.array([0.3]))  # off the grid: evaluated
    state = gaussians_at(scene, 0.3 * scene.loop_frames)
    np.testing.assert_allclose(a[0], state.gaussians.means.numpy()[state.population.numpy() == 1])


def test_nan_rows_are_dropped_and_the_report_still_follows_each_record():
    rng = np.random.default_rng(1)
    n = 60
    splats = SplatArrays(
        means=np.c_[rng.uniform(-1, 1, (n, 2)), rng.uniform(3, 5, n)], quats=np.tile([1.0, 0, 0, 0], (n, 1)),
        scales=np.full((n, 3), 0.05), opacities=np.full(n, 0.8), colors=rng.uniform(0, 1, (n, 3)),
    )
    velocity = np.zeros((n, 3))
    velocity[:30, 0] = 0.01
    means = splats.means.copy()
    means[2, 0] = np.nan  # a moving row
    broken = splats.replace(means=means)
    camera = ViewerCamera(np.array([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]]), np.eye(4), 320, 240)
    rest = np.nan_to_num(means[:30].astype(np.float64))

    def path(t):  # the caller's trajectory covers all 30 moving rows, including the broken one
        t = np.asarray(t)[:, None, None]
        return rest[None] + np.array([0.3, 0, 0]) * t, rest[None] - np.array([0.3, 0, 0]) * (1 - t)

    with pytest.warns(RuntimeWarning, match="dropped 1 of 60"):
        enc = encode_splatv(broken, velocity, 30, camera, trajectory=path)
    assert enc.stats["moving"] == 29 and 2 not in enc.trajectory_column
    assert position_error_px(enc, path, camera)["max"] < 0.05
