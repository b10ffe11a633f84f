import numpy as np
import pytest
import torch

from landscape4d.animate import gaussians_at, phase_at
from landscape4d.camera import identity_camera
from landscape4d.gaussians import GaussianSet, random_gaussians
from landscape4d.scene import Scene4D


def make_scene(n=300, seed=0) -> Scene4D:
    g = random_gaussians(n, seed)
    velocity = torch.zeros(n, 3)
    velocity[: n // 3, 0] = 0.01
    return Scene4D(g, velocity, identity_camera(64, 48), loop_frames=30, loop_fps=30.0, depth_near=2.0, depth_far=6.0)


def test_loop_endpoints_equal_rest_state():
    scene = make_scene()
    for k in (0.0, 30.0):
        state = gaussians_at(scene, k).gaussians
        visible = state.opacities > 0
        rest = scene.gaussians
        assert visible.sum() == len(rest)
        ordered = torch.cat([rest.means[~scene.moving], rest.means[scene.moving]])
        assert torch.allclose(state.means[visible], ordered)


def test_midloop_populations_and_static_never_move():
    scene = make_scene()
    state = gaussians_at(scene, 15.0)
    moving = scene.moving
    n_static, n_moving = int((~moving).sum()), int(moving.sum())
    assert len(state.gaussians) == n_static + 2 * n_moving
    assert torch.equal(state.gaussians.means[:n_static], scene.gaussians.means[~moving])
    forward = state.gaussians.select(state.population == 1)
    backward = state.gaussians.select(state.population == 2)
    assert torch.allclose(forward.means, scene.gaussians.means[moving] + scene.velocity[moving] * 15)
    assert torch.allclose(backward.means, scene.gaussians.means[moving] - scene.velocity[moving] * 15)
    # Compensated cross-fade: the two half-weight copies together cover like the one rest Gaussian.
    assert torch.allclose(state.weight[state.population == 1], torch.full((n_moving,), 0.5))
    clear = (1 - forward.opacities) * (1 - backward.opacities)
    assert torch.allclose(1 - clear, scene.gaussians.opacities[moving], atol=1e-6)


def make_cycling_scene(cycles=3, fade=0.3, seed=0):
    from landscape4d.animate import phase_offsets

    scene = make_scene(seed=seed)
    scene.loop_frames = 90
    scene.cycles, scene.fade = cycles, fade
    scene.phase_offset = phase_offsets(scene.gaussians.means, scene.source_camera, fade, seed)
    return scene


def test_cycles_loop_exactly_show_the_photo_at_zero_and_stay_within_one_cycle():
    scene = make_cycling_scene()
    moving = scene.moving
    half = (1 - scene.fade) / 2
    assert float(scene.phase_offset.abs().max()) <= half + 1e-6
    assert float(scene.phase_offset.max() - scene.phase_offset.min()) > half  # offsets really differ
    start = gaussians_at(scene, 0.0)
    end = gaussians_at(scene, 90.0)
    assert torch.equal(start.gaussians.means, end.gaussians.means)
    assert torch.equal(start.gaussians.opacities, end.gaussians.opacities)
    # t = 0: every moving Gaussian has exactly one copy, at rest, with its own opacity.
    shown = start.weight[start.population > 0] > 0
    assert int(shown.sum()) == int(moving.sum())
    rest = scene.gaussians.means[moving]
    copies = start.gaussians.means[start.population > 0]
    assert torch.allclose(copies[shown], torch.cat([rest, rest])[shown])
    # Each cycle repeats (30 frames) and no copy ever strays more than one cycle's travel from rest.
    a, b = gaussians_at(scene, 7.0), gaussians_at(scene, 37.0)
    assert torch.allclose(a.gaussians.means, b.gaussians.means, atol=1e-5)
    travel = scene.velocity[moving].norm(dim=-1) * 30
    for k in torch.linspace(0, 90, 37).tolist():
        state = gaussians_at(scene, k)
        weights = state.weight[state.population > 0].reshape(2, -1)
        assert torch.allclose(weights.sum(0), torch.ones(weights.shape[1]))
        offset = (state.gaussians.means[state.population > 0].reshape(2, -1, 3) - rest).norm(dim=-1)
        assert bool((offset[weights > 0] <= travel.repeat(2, 1)[weights > 0] * (1 + 1e-4) + 1e-6).all())  # visible copies


def test_copies_stray_exactly_their_cycle_reach_forward_and_backward():
    # cycle_reach is what the taper and the confinement budget for: the farthest a visible copy gets ahead of and
    # behind its rest position, per Gaussian, must match it (not exceed it, and be reached).
    from landscape4d.animate import cycle_reach

    scene = make_cycling_scene()
    moving = scene.moving
    rest, v = scene.gaussians.means[moving], scene.velocity[moving]
    travel = v * 30  # one cycle
    ahead = torch.zeros(len(rest))
    behind = torch.zeros(len(rest))
    for k in np.linspace(0, 30, 601):
        state = gaussians_at(scene, float(k))
        copies = state.gaussians.means[state.population > 0].reshape(2, -1, 3)
        weights = state.weight[state.population > 0].reshape(2, -1)
        along = ((copies - rest) * travel).sum(-1) / (travel * travel).sum(-1)  # in cycles of travel
        along = torch.where(weights > 0, along, torch.zeros_like(along))
        ahead = torch.maximum(ahead, along.max(0).values)
        behind = torch.maximum(behind, (-along).max(0).values)
    forward, backward = cycle_reach(scene.phase_offset[moving], scene.fade)
    assert bool((ahead <= forward + 1e-4).all()) and bool((behind <= backward + 1e-4).all())
    np.testing.assert_allclose(ahead.numpy(), forward.numpy(), atol=0.01)  # 1/600 cycle steps
    np.testing.assert_allclose(behind.numpy(), backward.numpy(), atol=0.01)
    assert float(forward.min()) < 0.5 and float(forward.max()) > 0.8  # offsets really differ


def test_cycles_fade_at_different_times_across_the_photo():
    scene = make_cycling_scene()
    mid_fade = []
    for k in range(0, 30, 3):
        state = gaussians_at(scene, float(k))
        w = state.weight[state.population == 1]
        mid_fade.append(float(((w > 0.05) & (w < 0.95)).float().mean()))
    # Never the whole region at once, but some of it at some time.
    assert max(mid_fade) < 0.7 and max(mid_fade) > 0.05


def test_phase_wraps_forward():
    scene = make_scene()
    assert phase_at(scene, 0.0) == 0.0
    assert phase_at(scene, 1.0) == pytest.approx(0.0)  # 30 frames at 30 fps = one period
    assert phase_at(scene, 1.5) == pytest.approx(15.0)


def test_save_load_roundtrip(tmp_path):
    scene = make_scene()
    scene.meta.photo = "x"
    scene.meta.settings = {"speed": 1.5}
    path = scene.save(tmp_path / "s.l4d.npz")
    loaded = Scene4D.load(path)
    for name, value in scene.gaussians.as_dict().items():
        assert torch.equal(getattr(loaded.gaussians, name), value)
    assert torch.equal(loaded.velocity, scene.velocity)
    assert loaded.loop_frames == 30 and loaded.meta.photo == "x" and loaded.meta.speed == 1.5
    assert loaded.meta.depth_focus == pytest.approx(scene.meta.depth_focus)
    assert torch.equal(loaded.source_camera.K, scene.source_camera.K)


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.l4d.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a landscape4d scene"):
        Scene4D.load(bad)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a landscape4d scene"):
        Scene4D.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        Scene4D.load(tmp_path / "missing.l4d.npz")


def test_gaussianset_shape_check():
    g = random_gaussians(10)
    with pytest.raises(ValueError, match="quats"):
        GaussianSet(g.means, g.quats[:5], g.scales, g.opacities, g.colors)


def test_layer_round_trips_and_subsets(tmp_path):
    import torch as _torch

    from landscape4d.scene import LAYER_BACKDROP, LAYER_PHOTO

    scene = make_scene()
    n = len(scene.gaussians)
    scene.layer = _torch.tensor([LAYER_PHOTO] * (n - 3) + [LAYER_BACKDROP] * 3, dtype=_torch.int8)
    loaded = Scene4D.load(scene.save(tmp_path / "s.l4d.npz"))
    assert loaded.layer is not None and loaded.layer.dtype == _torch.int8
    assert _torch.equal(loaded.layer, scene.layer)
    sub = loaded.subset(_torch.arange(n - 2, n))
    assert sub.layer.tolist() == [LAYER_BACKDROP, LAYER_BACKDROP] and len(sub.gaussians) == 2


def _write_old_scene(path, version: int, extra: dict | None) -> None:
    """A scene file as landscape4d wrote it before the typed SceneMeta (format 1 or 2)."""
    import json

    scene = make_scene()
    arrays = {name: t.numpy() for name, t in scene.gaussians.as_dict().items()}
    arrays["velocity"] = scene.velocity.numpy()
    arrays["K"] = scene.source_camera.K.numpy()
    arrays["world_to_camera"] = scene.source_camera.world_to_camera.numpy()
    meta = {"format": "landscape4d-scene", "version": version, "loop_frames": 30, "loop_fps": 30.0,
            "depth_near": 2.0, "depth_far": 9.0, "width": scene.source_camera.width, "height": scene.source_camera.height}
    if extra is not None:
        meta["extra"] = extra
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)


def test_old_scene_files_load_into_the_typed_record(tmp_path):
    _write_old_scene(tmp_path / "v2.l4d.npz", 2, {"photo": "lake.jpg", "depth_focus": 4.5, "settings": {"speed": 2.0},
                                                  "timings_s": {"fit": 1.0}, "source_psnr_db": 40.0, "gone": 1})
    v2 = Scene4D.load(tmp_path / "v2.l4d.npz")
    assert (v2.meta.photo, v2.meta.depth_focus, v2.meta.speed, v2.meta.source_psnr_db) == ("lake.jpg", 4.5, 2.0, 40.0)
    _write_old_scene(tmp_path / "v1.l4d.npz", 1, None)  # no record at all: paths aim at 3 × near, speed 1
    v1 = Scene4D.load(tmp_path / "v1.l4d.npz")
    assert v1.meta.depth_focus == pytest.approx(6.0) and v1.meta.speed == 1.0 and v1.cycles == 1


def test_scene_meta_is_typed_and_stamped():
    from landscape4d import __version__
    from landscape4d.scene import SceneMeta

    meta = SceneMeta.now(photo="a.jpg", depth_focus=2.0)
    assert meta.library_version == __version__ and meta.created_utc.endswith("+00:00")
    assert SceneMeta.from_json(meta.to_json()) == meta
    with pytest.raises(TypeError, match="SceneMeta"):
        scene = make_scene()
        Scene4D(scene.gaussians, scene.velocity, scene.source_camera, 30, 30.0, 1.0, 2.0, meta={"photo": "x"})
    with pytest.raises(ValueError, match="JSON object"):
        SceneMeta.from_json(["not", "a", "record"])


def test_backdrop_sits_behind_moving_paths_that_pass_over_it_up_to_a_limit():
    # Water a little farther away flows down the image at a constant depth over a spot whose own Gaussian is
    # nearer: that spot's backdrop must sit behind the water's path, or the water would vanish behind it
    # mid-loop. Water far behind (a fall over its pool) pushes it back no farther than BACKDROP_PASSING_MAX.
    from landscape4d.animate import BACKDROP_BEHIND, BACKDROP_PASSING_MAX, with_backdrop
    from landscape4d.camera import project_points, unproject

    camera = identity_camera(64, 48)
    K = camera.K.numpy().astype(np.float64)
    near = unproject(np.array([[32.5, 30.5]]), np.array([5.0]), K)[0]
    for far_depth, expected in ((6.0, 6.0), (10.0, BACKDROP_PASSING_MAX * 5.0)):
        far = unproject(np.array([[32.5, 12.5]]), np.array([far_depth]), K)[0]
        g = random_gaussians(2, 0).replace(means=torch.tensor(np.stack([near, far]), dtype=torch.float32))
        velocity = torch.zeros(2, 3)
        velocity[0, 1] = 1e-3  # the near one barely moves (it only needs a backdrop)
        velocity[1, 1] = 1.0 * far_depth / float(K[1, 1])  # 1 px per frame down: 20 px over the cycle
        without, velocity_out = with_backdrop(g, velocity, 20.0)
        with_camera, _ = with_backdrop(g, velocity, 20.0, camera)
        assert len(with_camera) == 3 and bool((velocity_out[2] == 0).all())  # one static backdrop (every 2nd moving)
        assert float(without.means[2, 2]) < 5.5  # on its own: just behind its own Gaussian
        assert float(with_camera.means[2, 2]) == pytest.approx(BACKDROP_BEHIND * expected, rel=1e-3)
        # Moved along its ray only: the photo's camera sees it where it was.
        uv_before, _ = project_points(without.means[2:], camera)
        uv_after, _ = project_points(with_camera.means[2:], camera)
        assert torch.allclose(uv_before, uv_after, atol=1e-4)


def test_phase_offsets_spread_over_their_full_range_within_every_region():
    # A small region (a waterfall) spans few noise blobs: ranked with the whole photo its offsets cover a narrow
    # band, so the whole region fades at once; ranked on its own it spreads over the full range like a big one.
    from landscape4d.animate import motion_groups, phase_offset_map

    h, w, fade = 120, 160, 0.3
    small = np.zeros((h, w), bool)
    small[50:62, 70:82] = True
    sky = np.zeros((h, w), bool)
    sky[:30] = True
    groups = motion_groups(small, sky)
    assert set(np.unique(groups)) == {0, 1, 2}
    half = (1 - fade) / 2
    whole = phase_offset_map(h, w, fade, seed=3)
    own = phase_offset_map(h, w, fade, seed=3, groups=groups)
    assert float(np.ptp(whole[small])) < 0.5 * 2 * half  # a few blobs: a narrow band of the photo's range
    for region in (small, sky):
        values = np.sort(own[region])
        expected = (np.arange(values.size) + 0.5) / values.size * 2 * half - half  # uniform over ±half
        np.testing.assert_allclose(values, expected, atol=1e-6)
    # The order within a region is the noise's: neighbours still share a phase.
    np.testing.assert_array_equal(np.argsort(whole[small]), np.argsort(own[small]))
    np.testing.assert_array_equal(phase_offset_map(h, w, fade, seed=3, groups=np.zeros((h, w), int)), whole)
