"""The Space's own helpers (``space.preview``, ``space.estimates``) and its session housekeeping, without a server."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exporters.splat import SPLAT_DTYPE
from landscape4d.flow2d import Arrow
from landscape4d.pipeline import STAGES
from landscape4d.settings import PRESETS as QUALITY
from landscape4d.trajectories import PRESETS as TRAJECTORIES
from space import estimates, preview

REPO = Path(__file__).resolve().parents[1]


def test_importing_app_builds_the_page_but_runs_nothing_heavy(tmp_path):
    code = (
        "import sys, app, gradio as gr\n"
        "assert isinstance(app.demo, gr.Blocks)\n"
        "heavy = ('landscape4d.pipeline', 'landscape4d.fit', 'landscape4d.render', 'exporters')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert not app.demo.is_running\n"
        "print('ok')\n"
    )
    env = {"LANDSCAPE4D_SESSIONS": str(tmp_path / "sessions"), "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
    assert not (tmp_path / "sessions").exists(), "no session folder before a session starts"


def test_region_overlay_tints_only_inside_masks():
    image = np.full((40, 60, 3), 0.5, np.float32)
    sky = np.zeros((20, 30), bool)  # half size: resized to the image
    sky[:5] = True
    water = np.zeros((40, 60), bool)
    water[30:] = True
    out = preview.region_overlay(image, sky, water)
    assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
    grey = np.uint8(128)
    assert (out[15:25] == grey).all(), "pixels outside every region are untouched"
    assert np.abs(out[2, 30].astype(int) - grey).sum() > 30 and np.abs(out[35, 30].astype(int) - grey).sum() > 30
    assert not np.array_equal(out[2, 30], out[35, 30]), "sky and water have different colours"
    frozen = preview.region_overlay(image, sky, water, freeze=water)
    assert np.array_equal(frozen[35, 30], preview.region_overlay(image, freeze=water)[35, 30]), "freeze wins"


def test_arrow_text_round_trip_and_messages():
    arrows = preview.parse_arrows("10,20,30,40; 5.4, 6, 7, 8\n1,1,9,9")
    assert arrows == [Arrow(10, 20, 30, 40), Arrow(5.4, 6, 7, 8), Arrow(1, 1, 9, 9)]
    assert preview.parse_arrows(preview.format_arrows(arrows[:1])) == arrows[:1]
    assert preview.parse_arrows("  ") == []
    with pytest.raises(ValueError, match="four numbers"):
        preview.parse_arrows("1,2,3")
    with pytest.raises(ValueError, match="Arrow 2 starts at .* outside the 100×50 photo"):
        preview.check_arrows([Arrow(1, 1, 5, 5), Arrow(120, 10, 5, 5)], (100, 50))


def test_painted_layers_are_read_by_position_and_alpha():
    water = np.zeros((30, 40, 4), np.uint8)
    water[5:10, 5:10] = (0, 0, 255, 255)
    freeze = np.zeros((30, 40, 4), np.uint8)
    freeze[20:, :, 3] = 128
    layers = preview.painted_layers({"background": None, "layers": [water, np.zeros((30, 40, 4), np.uint8), freeze]})
    assert layers.water.sum() == 25 and layers.sky is None and layers.freeze.sum() == 10 * 40
    assert preview.painted_layers(None).empty and preview.painted_layers({"layers": []}).empty
    assert layers.fingerprint() != preview.painted_layers(None).fingerprint()


def test_arrow_pad_draws_arrows_in_original_photo_pixels():
    overlay = np.zeros((30, 45, 3), np.uint8)
    page = preview.arrow_pad_html(overlay, (900, 600), [Arrow(100, 200, 300, 250), Arrow(10, 10, 50, 10)])
    assert 'viewBox="0 0 900 600"' in page and 'data-w="900" data-h="600"' in page
    assert page.count('class="l4d-arrow"') == 2 and 'x1="100.0" y1="200.0"' in page
    assert page.count("data:image/jpeg;base64,") == 1
    assert "2 arrows" in page
    assert "Upload a photo" in preview.arrow_pad_html(None, None)
    flagged = preview.arrow_pad_html(overlay, (900, 600), [Arrow(100, 200, 300, 250)], still=[1])
    assert "outside the coloured regions" in flagged and preview.hex_colour(preview.STILL_ARROW_RGB) in flagged
    assert "Check this" in preview.arrow_pad_html(overlay, (900, 600), error="Check this")


def test_still_arrows_are_those_starting_outside_moving_regions():
    moving = np.zeros((60, 90), bool)  # a working-size mask of a 900×600 photo
    moving[40:] = True
    arrows = [Arrow(450, 500, 300, 500), Arrow(450, 100, 300, 100), Arrow(899, 599, 800, 500)]
    assert preview.still_arrows(arrows, moving, (900, 600)) == [2]
    assert "trigger('input'" in preview.ARROW_PAD_JS


def test_path_sketches_follow_the_presets():
    circle = preview.path_points("circle")
    assert np.allclose(circle[0], circle[-1], atol=1e-6), "a periodic path closes"
    assert np.allclose(preview.path_points("static"), 0.0)
    zoom = preview.path_points("zoom-in")
    assert zoom[-1, 2] > zoom[0, 2] and np.allclose(zoom[:, :2], 0.0), "zoom-in moves forward (+z) only"
    assert preview.path_points("dolly-out")[-1, 2] < 0
    swing = preview.path_points("swing")
    assert np.ptp(swing[:, 0]) > 0 and np.allclose(swing[:, 1:], 0.0)
    page = preview.paths_html(TRAJECTORIES, "orbit")
    assert page.count("<svg") == len(TRAJECTORIES) and page.count("l4d-on") == 1
    assert re.search(r'l4d-path l4d-on"[^>]*>.*?<div>orbit</div>', page)


def test_estimates_grow_with_work_and_shrink_on_gpu():
    fast, high = QUALITY["fast"], QUALITY["high"]
    small = estimates.estimate_seconds((384, 256), fast, 24, 15, gpu=False)
    large = estimates.estimate_seconds((1024, 682), high, 96, 15, gpu=False)
    assert small.total_s < large.total_s and small.video_s < large.video_s
    assert estimates.estimate_seconds((1024, 682), high, 96, 15, gpu=True).scene_s < large.scene_s
    assert estimates.estimate_seconds((1024, 682), high, 96, 15, gpu=True).video_s < large.video_s / 5
    assert estimates.estimate_seconds((384, 256), fast, 24, 30, gpu=False).files_s > small.files_s
    lift = estimates.estimate_seconds((384, 256), fast.replace(motion="single-view"), 24, 15, gpu=False)
    mom = estimates.estimate_seconds((384, 256), fast.replace(motion="3dmom"), 24, 15, gpu=False)
    assert mom.scene_s > lift.scene_s, "3D-MOM's per-view motion costs extra"
    text = estimates.estimate_markdown("CPU only", (384, 256), small, 24)
    assert "384×256" in text and "24 frames" in text and "in all" in text and "Re-render" not in text
    assert "Re-render video" in estimates.estimate_markdown("CPU only", (384, 256), small, 24, scene_kept=True)
    assert estimates.format_duration(3) == "≈5 s" and estimates.format_duration(90) == "≈1.5 min"
    assert "~" not in text, "no 'about ~' and no Markdown strike-through from two tildes"
    none = estimates.estimate_markdown("CPU only", None, None)
    assert "Upload a photo" in none and "frames" not in none and "≈" not in none, "no numbers before a photo"


def test_the_estimate_follows_this_servers_own_runs():
    fast = QUALITY["fast"]
    raw = estimates.estimate_seconds((384, 256), fast, 96, 15, gpu=False, video_size=(768, 512))
    assert raw.video_s > estimates.estimate_seconds((384, 256), fast, 96, 15, gpu=False).video_s, "more pixels"
    calibration = estimates.Calibration()
    assert calibration.apply(raw).total_s == pytest.approx(raw.total_s)
    calibration.record(raw, {"scene": raw.scene_s / 2, "video": raw.video_s * 3, "files": raw.files_s})
    tuned = calibration.apply(raw)
    assert tuned.scene_s == pytest.approx(raw.scene_s / 2) and tuned.video_s == pytest.approx(3 * raw.video_s)
    assert tuned.files_s == pytest.approx(raw.files_s) and calibration.runs == 1
    # A re-render times only the video; one odd run moves the factor half way, and never past the bounds.
    calibration.record(raw, {"video": raw.video_s * 100})
    assert calibration.factors["scene"] == pytest.approx(0.5)
    assert calibration.factors["video"] == pytest.approx(0.5 * 3 + 0.5 * calibration.bounds[1])
    text = estimates.estimate_markdown("CPU only", (384, 256), tuned, 96, video_size=(768, 512), calibrated_runs=2)
    assert "video 768×512" in text and "last 2 runs" in text


def test_the_estimate_prices_each_pipeline_stage_and_the_fit_once():
    assert tuple(estimates.STAGE_COSTS) == STAGES, "one cost per landscape4d.pipeline stage, in its order"
    settings = QUALITY["balanced"]
    few = estimates.estimate_seconds((512, 342), settings.replace(num_views=2), 48, 15, gpu=False)
    many = estimates.estimate_seconds((512, 342), settings.replace(num_views=40), 48, 15, gpu=False)
    assert tuple(few.stages_s) == STAGES and few.scene_s == pytest.approx(sum(few.stages_s.values()))
    # The colour fit runs against the input view only: more generated views must not make it dearer.
    assert many.stages_s["Fitting Gaussians"] == few.stages_s["Fitting Gaussians"]
    assert many.stages_s["Generating views"] > few.stages_s["Generating views"]
    longer = estimates.estimate_seconds((512, 342), settings.replace(fit_iters=2 * settings.fit_iters), 48, 15, False)
    assert longer.stages_s["Fitting Gaussians"] > few.stages_s["Fitting Gaussians"], "it is charged per step"
    # On the reference CPU a fast 384×256 scene took 5 s and its 96-frame 768×512 video 11 s: the estimate is close.
    fast = estimates.estimate_seconds((384, 256), QUALITY["fast"], 96, 15, gpu=False, video_size=(768, 512))
    assert 3 < fast.scene_s < 8 and 7 < fast.video_s < 16


def _model3d_camera_project(points: np.ndarray) -> np.ndarray:
    camera_to_world = preview.model3d_camera_to_world()
    camera = (points - camera_to_world[:3, 3]) @ camera_to_world[:3, :3]  # columns of the rotation: camera axes
    return camera[:, :2] / camera[:, 2:3]


def test_model3d_camera_sits_on_its_orbit_looking_at_the_origin():
    camera_to_world = preview.model3d_camera_to_world()
    position, forward, down = camera_to_world[:3, 3], camera_to_world[:3, 2], camera_to_world[:3, 1]
    assert np.linalg.norm(position) == pytest.approx(preview.MODEL3D_ORBIT[2])
    assert np.allclose(forward, -position / np.linalg.norm(position)), "it looks at the orbit target"
    assert down[1] > 0, "image down is world down (OpenCV axes)"


def test_model3d_copy_starts_at_the_photo_viewpoint():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    n = 200
    records = np.zeros(n, SPLAT_DTYPE)
    xyz = np.stack([rng.uniform(-1, 1, n), rng.uniform(-1, 1, n), rng.uniform(1, 5, n)], axis=1)
    records["position"] = xyz
    records["scale"] = 0.01
    records["rgba"] = (200, 100, 50, 220)
    records["rotation"] = (255, 128, 128, 128)  # identity quaternion
    moved = np.frombuffer(preview.model3d_view_splat(records.tobytes(), np.eye(4)), dtype=SPLAT_DTYPE)
    # Every splat is seen in the same direction from Model3D's default camera as from the photo camera.
    assert np.allclose(_model3d_camera_project(moved["position"].astype(np.float64)), xyz[:, :2] / xyz[:, 2:3],
                       atol=1e-4)
    assert (moved["rgba"] == records["rgba"]).all(), "colours and opacities are kept byte for byte"
    # The median depth lands on the orbit target (the origin), and shapes keep their proportions.
    on_axis = np.zeros(1, SPLAT_DTYPE)
    on_axis["position"] = (0, 0, np.median(xyz[:, 2]))
    on_axis["rotation"] = (255, 128, 128, 128)
    probe = np.concatenate([records, on_axis])
    target = np.frombuffer(preview.model3d_view_splat(probe.tobytes(), np.eye(4)), dtype=SPLAT_DTYPE)
    assert np.linalg.norm(target["position"][-1]) < 0.05
    scale = moved["scale"][:, 0] / 0.01
    assert np.allclose(scale, scale[0]) and scale[0] > 0
    # The Gaussians turn with the scene: identity rotations become the camera's rotation.
    q = (moved["rotation"][0].astype(float) - 128) / 128
    x, y, z, w = Rotation.from_matrix(preview.model3d_camera_to_world()[:3, :3]).as_quat()
    expected = np.array([w, x, y, z])
    assert min(np.abs(q - expected).max(), np.abs(q + expected).max()) < 2 / 128


def test_model3d_copy_opens_at_the_photos_framing_and_stays_light():
    """The photo's corners land on the preview canvas's edges (not a zoomed-in middle); big scenes are thinned."""
    width, height, focal = 640, 427, 554.0
    rng = np.random.default_rng(1)
    n = 400
    u, v, z = rng.uniform(0, width, n), rng.uniform(0, height, n), rng.uniform(1, 5, n)
    records = np.zeros(n, SPLAT_DTYPE)
    records["position"] = np.stack([(u - width / 2) / focal * z, (v - height / 2) / focal * z, z], axis=1)
    records["scale"] = 0.01
    records["rgba"] = (200, 100, 50, 220)
    records["rotation"] = (255, 128, 128, 128)
    moved = np.frombuffer(preview.model3d_view_splat(records.tobytes(), np.eye(4), (width, height), focal),
                          dtype=SPLAT_DTYPE)
    canvas = _model3d_camera_project(moved["position"].astype(np.float64)) * preview.MODEL3D_FOCAL_PX
    fit = min(preview.MODEL3D_WIDTH_PX / width, preview.model3d_height((width, height)) / height)
    assert np.allclose(canvas, np.stack([(u - width / 2) * fit, (v - height / 2) * fit], axis=1), atol=0.05)
    assert preview.model3d_height((width, height)) == round(preview.MODEL3D_WIDTH_PX * height / width)
    assert preview.model3d_height((300, 900)) == preview.MODEL3D_HEIGHT_RANGE[1], "tall photos: capped"
    # Splats stretch with the scene across the view (round splats stay round seen from the camera).
    assert moved["scale"].max() > 0 and (moved["rgba"] == records["rgba"]).all()
    many = np.repeat(records, 10)
    thin = preview.model3d_view_splat(many.tobytes(), np.eye(4), (width, height), focal, max_splats=1000)
    assert len(thin) == 32 * 1000


def test_the_presentation_helpers_live_with_the_app_not_in_the_library():
    import importlib.util

    assert importlib.util.find_spec("landscape4d.preview") is None
    assert set(preview.PATH_NOTES) == set(TRAJECTORIES), "one note for every camera path the library has"
    from landscape4d.regions import KINDS

    assert set(preview.KIND_LABELS) == set(KINDS), "one label for every region kind the library has"


def test_sessions_get_a_folder_on_load_and_lose_it_on_unload(tmp_path, monkeypatch):
    import app

    monkeypatch.setattr(app, "SESSIONS_ROOT", tmp_path)

    class Request:
        session_hash = "abc123"

    stale = tmp_path / "old-session"
    stale.mkdir()
    old = 1_000_000.0
    import os

    os.utime(stale, (old, old))
    state = app.start_session(Request())
    folder = Path(state["dir"])
    assert folder == tmp_path / app.session_folder_name("abc123") and folder.is_dir()
    assert "abc123" not in folder.name and len(folder.name) >= 32, "named by a keyed hash, not the session id"
    assert not stale.exists(), "folders of sessions that never unloaded are swept"
    (folder / "scene.l4d.npz").write_bytes(b"x")
    app.end_session(Request())
    assert not folder.exists()


def test_painted_regions_override_the_automatic_labels():
    from landscape4d.regions import apply_user_regions, estimate_regions

    image = np.zeros((20, 30, 3), np.float32)
    image[:8] = (0.6, 0.75, 0.95)  # a sky-blue band on top
    painted_water = np.zeros((40, 60), bool)  # editor resolution: twice the working size
    painted_water[:4] = True
    painted_sky = np.zeros((40, 60), bool)
    painted_sky[30:] = True
    masks = apply_user_regions(estimate_regions(image), sky=painted_sky, water=painted_water)
    assert masks.water[:2].all() and not masks.sky[:2].any()
    assert masks.sky[15:].all() and not masks.water[15:].any()
    assert not (masks.sky & masks.water).any()


def test_device_note_says_where_things_run():
    import app

    gpu, note = app.device_note()
    assert ("GPU" in note) if gpu else ("CPU only" in note)
    assert math.isfinite(len(note))


def _two_regions():
    sky = np.zeros((40, 60), bool)
    sky[:12] = True
    water = np.zeros((40, 60), bool)
    water[26:] = True
    return [{"kind": "sky", "mask": sky, "confidence": 0.95, "evidence": "bright"},
            {"kind": "water", "mask": water, "confidence": 0.3, "evidence": "grey, no ripples"}]


def test_region_labels_number_every_region_and_outline_the_unchosen_in_orange():
    regions = _two_regions()
    base = preview.region_overlay(np.full((80, 120, 3), 0.5, np.float32), regions[0]["mask"])  # 2× the masks
    out = preview.label_regions(base, regions, chosen=[0])
    orange = np.all(out == np.array(preview.SUGGESTED_RGB, np.uint8), axis=-1)
    assert orange[50:].any(), "the suggested water is outlined (and numbered) in orange"
    assert not orange[:40].any(), "the chosen sky has no orange"
    boundary = orange[50:54].sum() + orange[-2:].sum()
    assert boundary > 0 and orange[56:-4, 4:-4].sum() < orange.sum(), "the outline runs along the edge, dashed"
    assert not np.array_equal(out[:24], base[:24]), "the sky carries its number"
    assert np.array_equal(out[30:48], base[30:48]), "nothing is drawn between the regions"
    choice = preview.region_choice(1, regions[1])
    assert choice[1] == 1 and choice[0].startswith("2 · water · 35% of the photo · confidence 0.30")
    assert "grey, no ripples" in choice[0]


def test_one_click_removes_or_accepts_an_automatic_region():
    import app

    regions = _two_regions()
    view = {"photo": np.full((80, 120, 3), 128, np.uint8), "size": [120, 80], "regions": regions, "chosen": [0],
            "sky": regions[0]["mask"], "water": np.zeros((40, 60), bool)}
    view = app._paint_view(view, preview.PaintedLayers())
    assert view["moving"][:12].all() and not view["moving"][12:].any()
    # Untick the sky, tick the suggested water.
    after, pad = app.choose_regions([1], None, view, "")
    assert not after["moving"][:12].any() and after["moving"][26:].all()
    assert "data:image/jpeg;base64," in pad
    edits = app.with_region_choices(preview.PaintedLayers(), after)
    assert edits.freeze is not None and edits.freeze[:12].all() and not edits.freeze[12:].any()
    assert edits.water is not None and edits.water[26:].all() and edits.sky is None
    # Painted water inside a removed region is kept (not frozen); nothing changes when nothing was chosen.
    painted = np.zeros((80, 120), bool)  # editor resolution: twice the working size
    painted[:8] = True
    edits = app.with_region_choices(preview.PaintedLayers(water=painted), after)
    assert edits.freeze.shape == (80, 120) and not edits.freeze[:8].any() and edits.freeze[8:24].all()
    kept = app.with_region_choices(preview.PaintedLayers(), view)
    assert kept.freeze is None and kept.water is None and kept.sky is None
    assert app.with_region_choices(preview.PaintedLayers(water=painted), None).water is painted


def test_the_app_takes_working_size_and_video_limits_from_the_library():
    import gradio as gr

    import app
    from landscape4d.photo import working_size
    from landscape4d.settings import VIDEO_FPS_RANGE, VIDEO_SECONDS_RANGE, default_long_side

    for gpu, device in ((False, "cpu"), (True, "cuda")):
        for size in ((4000, 3000), (1001, 667), (40, 20)):
            expected = working_size(size, default_long_side(device))
            assert app._working_size(size, QUALITY["balanced"], gpu) == expected
    assert app._working_size((40, 20), QUALITY["fast"], False) == (128, 64), "tiny photos are enlarged, as load_photo does"
    assert "128×64" in app.estimate([40, 20], "fast", "preset", 3, 1, 4, 24, None)
    assert "Upload a photo" in app.estimate(None, "fast", "preset", 3, 1, 4, 24, None)
    # The video is rendered at twice the scene's size (even sides, at most VIDEO_MAX_LONG_SIDE, never smaller).
    assert app.video_size((384, 256)) == (768, 512) and app.video_size((256, 171)) == (512, 342)
    assert app.video_size((1024, 683)) == (1024, 683) and app.video_size((640, 427)) == (1024, 684)

    from landscape4d.limits import LIMITS

    app._check_video("circle", VIDEO_SECONDS_RANGE[1], LIMITS.max_video_frames / VIDEO_SECONDS_RANGE[1])  # longest
    app._check_video("circle", LIMITS.max_video_frames / VIDEO_FPS_RANGE[1], VIDEO_FPS_RANGE[1])  # fastest
    with pytest.raises(gr.Error, match=f"the limit is {LIMITS.max_video_frames:,} frames"):
        app._check_video("circle", VIDEO_SECONDS_RANGE[1], VIDEO_FPS_RANGE[1])  # both maxima: too many frames
    app._check_video("circle", 0.1, VIDEO_FPS_RANGE[0])
    too_much = [(VIDEO_SECONDS_RANGE[1] + 1, 24), (4, VIDEO_FPS_RANGE[1] + 1), (VIDEO_SECONDS_RANGE[0], 24),
                (4, VIDEO_FPS_RANGE[0] - 0.5)]
    for seconds, fps in too_much:
        with pytest.raises(gr.Error, match=f"at most {VIDEO_SECONDS_RANGE[1]:g} s, at {VIDEO_FPS_RANGE[0]:g}–"):
            app._check_video("circle", seconds, fps)
    sliders = {c.elem_id: c for c in app.demo.blocks.values() if getattr(c, "elem_id", None) in ("seconds", "fps")}
    for name, (low, high) in (("seconds", VIDEO_SECONDS_RANGE), ("fps", VIDEO_FPS_RANGE)):
        assert low <= sliders[name].minimum <= sliders[name].maximum <= high, "the sliders stay within the library's range"
