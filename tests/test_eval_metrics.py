"""Each evaluation metric on constructed cases with known answers (landscape4d.eval.metrics)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from landscape4d.eval import metrics as M

EXAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "examples" / "china.jpg"


def texture(height: int = 160, width: int = 224, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture in [0,1] (blurred noise at two scales): trackable everywhere."""
    rng = np.random.default_rng(seed)
    coarse = cv2.GaussianBlur(rng.random((height, width, 3)), (0, 0), 4.0)
    fine = cv2.GaussianBlur(rng.random((height, width, 3)), (0, 0), 1.5)
    image = 0.5 + 2.5 * (coarse - coarse.mean()) + 1.5 * (fine - fine.mean())
    return np.clip(image, 0, 1)


def shifted(image: np.ndarray, du: float, dv: float) -> np.ndarray:
    """image moved by (du, dv) px: out(x) = image(x − d), so the flow image → out is +d."""
    matrix = np.float32([[1, 0, du], [0, 1, dv]])
    return cv2.warpAffine(image.astype(np.float32), matrix, image.shape[1::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT).astype(np.float64)


# --- fidelity ---------------------------------------------------------------------------------------------------


def test_psnr_identical_is_infinite_and_known_mse_gives_known_db():
    image = texture()
    assert M.psnr(image, image) == math.inf
    assert M.psnr(np.zeros((8, 8, 3)), np.full((8, 8, 3), 0.1)) == pytest.approx(20.0)
    as_u8 = (image * 255).round().astype(np.uint8)
    assert M.psnr(as_u8, as_u8.astype(np.float64) / 255) == math.inf  # uint8 and float agree


def test_psnr_mask_selects_pixels():
    a, b = np.zeros((4, 4, 3)), np.zeros((4, 4, 3))
    b[0, 0] = 1.0
    mask = np.zeros((4, 4), bool)
    mask[2:, 2:] = True
    assert M.psnr(a, b, mask) == math.inf
    assert math.isnan(M.psnr(a, b, np.zeros((4, 4), bool)))


def test_ssim_is_one_for_identical_and_lower_for_noise():
    image = texture()
    assert M.ssim(image, image) == pytest.approx(1.0)
    noisy = np.clip(image + np.random.default_rng(1).normal(0, 0.1, image.shape), 0, 1)
    assert M.ssim(image, noisy) < 0.9


# --- holes, seam, static ----------------------------------------------------------------------------------------


def test_hole_fraction_of_constructed_alpha():
    alpha = np.ones((10, 20))
    alpha[:5, :10] = 0.5  # 50 of 200 pixels are holes
    alpha[9, 19] = 0.9  # exactly at the threshold: covered
    assert M.hole_fraction(alpha) == pytest.approx(0.25)
    assert M.HOLE_ALPHA == 0.9


def test_hole_threshold_matches_the_renderer():
    render = pytest.importorskip("landscape4d.render")
    assert M.HOLE_ALPHA == render.HOLE_ALPHA


def test_seam_psnr_of_identical_frames_is_infinite():
    frame = (texture() * 255).astype(np.uint8)
    assert M.seam_psnr(frame, frame.copy()) == math.inf
    assert M.seam_psnr(frame, 255 - frame) < 20


def test_static_change_ignores_motion_regions_and_reports_levels():
    base = np.full((20, 20, 3), 0.5)
    frames = [base.copy() for _ in range(4)]
    moving = np.zeros((20, 20), bool)
    moving[:10] = True
    frames[1][:10] = 1.0  # large change inside the motion region: ignored
    frames[2][15, 15, 1] = 0.5 + 10 / 255  # one static pixel changes by 10 levels in one channel
    frames[3][15, 15, 1] = 0.5 - 4 / 255
    change = M.static_change(frames, ~moving)
    assert change.max == pytest.approx(10.0)
    assert change.pixels == 200
    assert change.p99 == pytest.approx(np.percentile(np.r_[np.zeros(199), 10.0], 99))
    assert M.static_change([base, base], ~moving).max == 0.0


# --- optical flow and motion adherence --------------------------------------------------------------------------


@pytest.mark.parametrize("du, dv", [(3.0, 2.0), (1.3, -0.7), (-0.4, 0.25)])
def test_optical_flow_of_a_shifted_image_is_the_shift(du, dv):
    image = texture()
    flow = M.optical_flow(image, shifted(image, du, dv))
    inner = flow[12:-12, 12:-12].reshape(-1, 2)
    assert np.abs(np.median(inner, axis=0) - [du, dv]).max() < 0.2
    assert np.percentile(np.abs(inner - [du, dv]).max(axis=1), 90) < 0.2


def test_textured_mask_finds_texture_not_flat_areas():
    image = texture()
    image[:, :60] = 0.4  # flat band
    mask = M.textured_mask(image)
    assert not mask[:, :50].any()
    assert mask[:, 80:].mean() > 0.9


def test_angle_error_of_a_rotated_field():
    requested = np.zeros((10, 10, 2))
    requested[..., 0] = 2.0
    angle = math.radians(30)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    measured = requested @ rotation.T
    result = M.angle_error_deg(measured, requested)
    assert result.angle_deg == pytest.approx(30.0, abs=1e-6)
    assert result.speed_ratio == pytest.approx(math.cos(angle))
    assert result.still_share == 0.0 and result.pixels == 100
    assert M.angle_error_deg(requested, requested).angle_deg == pytest.approx(0.0, abs=1e-6)
    measured[:5] = 0.0  # half the pixels do not move: no direction, counted as still
    half = M.angle_error_deg(measured, requested)
    assert half.still_share == pytest.approx(0.5)
    assert half.angle_deg == pytest.approx(30.0, abs=1e-6)
    opposite = M.angle_error_deg(-requested, requested)
    assert opposite.angle_deg == pytest.approx(180.0) and opposite.speed_ratio == pytest.approx(-1.0)


def test_angle_error_ignores_pixels_without_requested_motion():
    requested = np.zeros((4, 4, 2))
    requested[:2, :, 1] = 1.0
    measured = np.ones((4, 4, 2))
    result = M.angle_error_deg(measured, requested)
    assert result.pixels == 8 and result.angle_deg == pytest.approx(45.0)


# --- flicker ----------------------------------------------------------------------------------------------------


def test_warping_error_is_near_zero_for_a_pure_translation():
    canvas = texture(200, 260, seed=3)
    frame_t, frame_next = canvas[20:180, 20:240], canvas[18:178, 17:237]  # content moves by (+3, +2) px
    assert M.warping_error(frame_t, frame_next) < 1.0  # 8-bit levels


def test_warping_error_measures_a_brightness_flicker():
    frame = texture(seed=4) * 0.8
    error = M.warping_error(frame, frame + 10 / 255)
    assert error == pytest.approx(10.0, abs=1.0)


def test_consistent_flow_mask_rejects_contradicting_flows():
    flow_back = np.zeros((10, 10, 2))
    flow_back[..., 0] = 2.0
    flow_fwd = -flow_back
    assert M.consistent_flow_mask(flow_back, flow_fwd)[:, :7].all()
    assert not M.consistent_flow_mask(flow_back, flow_fwd)[:, 8:].any()  # lands outside the frame
    assert not M.consistent_flow_mask(flow_back, flow_back)[:, :7].any()


# --- PIQE -------------------------------------------------------------------------------------------------------


def example_photo(width: int = 384) -> np.ndarray:
    from PIL import Image

    with Image.open(EXAMPLE_PHOTO) as image:
        image = image.convert("RGB")
        return np.asarray(image.resize((width, round(width * image.height / image.width)), Image.LANCZOS))


def test_piqe_is_higher_for_noisy_and_blocky_images_than_for_the_clean_photo():
    clean = example_photo()
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    blocky = cv2.resize(cv2.resize(clean, (48, 32), interpolation=cv2.INTER_AREA), clean.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    scores = {name: M.piqe(image) for name, image in (("clean", clean), ("noisy", noisy), ("blocky", blocky))}
    assert all(0 <= s <= 100 for s in scores.values())
    assert scores["noisy"] > scores["clean"] + 5
    assert scores["blocky"] > scores["clean"] + 5
    assert M.piqe(clean) == scores["clean"]  # deterministic


def test_piqe_of_a_flat_image_has_no_active_blocks():
    assert M.piqe(np.full((64, 64, 3), 0.5)) == pytest.approx(100.0)  # (0 + 1) / (0 + 1)
    with pytest.raises(ValueError, match="16"):
        M.piqe(np.zeros((8, 8, 3)))


# --- multi-view motion consistency ------------------------------------------------------------------------------


def plane_setup():
    """Source camera = identity, a fronto-parallel plane at z = 5, a second camera moved right and down."""
    width, height, focal = 96, 64, 80.0
    K = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])
    source_w2c = np.eye(4)
    view_w2c = np.eye(4)
    view_w2c[:3, 3] = [-0.3, -0.1, 0.0]  # camera at (0.3, 0.1, 0)
    rows, cols = np.mgrid[8:56:4, 8:88:4]
    pixels = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], -1)
    points = M.unproject(pixels, np.full(len(pixels), 5.0), K, source_w2c)
    depth_view = np.full((height, width), 5.0)
    velocity = np.array([0.05, 0.02, 0.0])
    grid = np.stack(np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5), -1).reshape(-1, 2)
    view_points = M.unproject(grid, depth_view.ravel(), K, view_w2c)
    flow_view = M.project_motion(view_points, np.broadcast_to(velocity, view_points.shape), K, view_w2c).reshape(height, width, 2)
    source_flow = M.project_motion(points, np.broadcast_to(velocity, points.shape), K, source_w2c)
    return K, source_w2c, view_w2c, points, depth_view, flow_view, source_flow


def test_multiview_epe_is_zero_for_a_consistent_3d_motion():
    K, source_w2c, view_w2c, points, depth_view, flow_view, source_flow = plane_setup()
    carried, visible = M.carry_flow_to_source(points, flow_view, depth_view, K, view_w2c, K, source_w2c)
    assert visible.all()
    assert np.allclose(source_flow, [80 * 0.05 / 5, 80 * 0.02 / 5])
    assert M.endpoint_error(carried, source_flow).max() < 1e-9


def test_multiview_epe_of_a_constructed_inconsistency():
    K, source_w2c, view_w2c, points, depth_view, flow_view, source_flow = plane_setup()
    wrong = flow_view + np.array([1.0, 0.0])  # the view disagrees by one pixel per frame
    carried, visible = M.carry_flow_to_source(points, wrong, depth_view, K, view_w2c, K, source_w2c)
    assert M.endpoint_error(carried[visible], source_flow[visible]).mean() == pytest.approx(1.0, abs=1e-9)


def test_multiview_visibility_test_drops_occluded_points():
    K, source_w2c, view_w2c, points, depth_view, flow_view, _ = plane_setup()
    occluded = depth_view.copy()
    occluded[:, :48] = 2.0  # something nearer covers the view's left half
    _, visible = M.carry_flow_to_source(points, flow_view, occluded, K, view_w2c, K, source_w2c)
    uv, _ = M.project(points, K, view_w2c)
    assert not visible[uv[:, 0] < 47].any() and visible[uv[:, 0] > 49].all()


def test_project_and_unproject_round_trip():
    K, _, view_w2c, points, *_ = plane_setup()
    uv, z = M.project(points, K, view_w2c)
    assert np.allclose(M.unproject(uv, z, K, view_w2c), points)


# --- the evaluation's loop-state shortcut -----------------------------------------------------------------------


def test_loop_states_equal_animate_gaussians_at():
    torch = pytest.importorskip("torch")
    pytest.importorskip("landscape4d.raster")
    from landscape4d.animate import gaussians_at
    from landscape4d.camera import identity_camera
    from landscape4d.eval.evaluate import LoopStates
    from landscape4d.gaussians import random_gaussians
    from landscape4d.scene import Scene4D

    gaussians = random_gaussians(500, seed=1)
    velocity = torch.randn(500, 3) * 0.01
    velocity[::3] = 0.0
    scene = Scene4D(gaussians, velocity, identity_camera(64, 48), 90, 30.0, 1.0, 5.0)
    states = LoopStates(scene)
    for phase in (0.0, 0.5, 13.25, 45.0, 89.9, 90.0):
        expected, actual = gaussians_at(scene, phase).gaussians, states(phase)
        for name in ("means", "quats", "scales", "opacities", "colors"):
            assert torch.equal(getattr(expected, name), getattr(actual, name)), (phase, name)


def test_multiview_moved_depth_modes_agree_on_a_plane_and_differ_at_a_depth_edge():
    K, source_w2c, view_w2c, points, depth_view, flow_view, source_flow = plane_setup()
    for mode in ("keep", "surface"):
        carried, _ = M.carry_flow_to_source(points, flow_view, depth_view, K, view_w2c, K, source_w2c, moved_depth=mode)
        assert M.endpoint_error(carried, source_flow).max() < 1e-9
    edge = depth_view.copy()
    edge[:, 60:] = 4.0  # a nearer surface where some moved pixels land: only "surface" follows it
    keep, visible = M.carry_flow_to_source(points, flow_view, edge, K, view_w2c, K, source_w2c, moved_depth="keep")
    assert M.endpoint_error(keep[visible], source_flow[visible]).max() < 1e-9
    with pytest.raises(ValueError, match="moved_depth"):
        M.carry_flow_to_source(points, flow_view, edge, K, view_w2c, K, source_w2c, moved_depth="nope")


# --- edge of the world, ghosting --------------------------------------------------------------------------------


def test_edge_of_world_flat_unseen_strip_at_the_border_counts():
    frame = (texture(64, 64) * 255).astype(np.uint8)
    frame[:, -10:] = (200, 220, 240)  # a flat sky-coloured strip where the scene ran out
    provenance, alpha = np.ones((64, 64)), np.ones((64, 64))
    provenance[:, -10:] = 0.0
    assert M.edge_of_world_share(frame, provenance, alpha) == pytest.approx(10 / 64)
    alpha_hole = np.ones((64, 64))
    alpha_hole[:, -10:] = 0.5  # uncovered instead of unseen: the same
    assert M.edge_of_world_share(frame, np.ones((64, 64)), alpha_hole) == pytest.approx(10 / 64)


def test_edge_of_world_ignores_textured_fills_seen_content_and_interior_blobs():
    frame = (texture(64, 64) * 255).astype(np.uint8)
    provenance, alpha = np.ones((64, 64)), np.ones((64, 64))
    provenance[:, -10:] = 0.0
    assert M.edge_of_world_share(frame, provenance, alpha) == 0.0  # unseen but textured (e.g. outpainted)
    flat = frame.copy()
    flat[:, -10:] = 128
    assert M.edge_of_world_share(flat, np.ones((64, 64)), alpha) == 0.0  # flat but seen (the photo's own sky)
    blob = frame.copy()
    blob[20:40, 20:40] = 90
    interior = np.ones((64, 64))
    interior[20:40, 20:40] = 0.0
    assert M.edge_of_world_share(blob, interior, alpha) == 0.0  # a flat disocclusion fill inside the frame
    crack = frame.copy()
    crack[30] = 150
    behind_horizon = np.ones((64, 64))
    behind_horizon[30] = 0.0
    assert M.edge_of_world_share(crack, behind_horizon, alpha) == 0.0  # a 1-px crack crossing the frame


def test_edge_of_world_counts_a_thin_wedge_next_to_texture():
    frame = (texture(64, 64) * 255).astype(np.uint8)
    provenance = np.ones((64, 64))
    rows, cols = np.mgrid[:64, :64]
    wedge = cols < (64 - rows) / 16  # 1–4 px wide, thinner than the 5×5 window
    frame[wedge] = (180, 200, 230)
    provenance[wedge] = 0.0
    assert M.edge_of_world_share(frame, provenance, np.ones((64, 64))) == pytest.approx(wedge.mean())
    with pytest.raises(ValueError, match="share"):
        M.edge_of_world_share(frame, provenance[:32], np.ones((64, 64)))


def test_ghosting_of_a_blurred_and_tinted_region():
    frame = texture(64, 64)
    region = np.zeros((64, 64), bool)
    region[8:56, 8:56] = True
    same = M.ghosting([frame, frame.copy()], region)
    assert same.sharpness_ratio == pytest.approx(1.0) and same.colour_drift == pytest.approx(0.0)
    blurred = frame.copy()
    blurred[region] = cv2.GaussianBlur(frame, (0, 0), 2.0)[region]
    tinted = frame.copy()
    tinted[region] = np.clip(frame[region] + np.array([0.0, 0.0, 10 / 255]), 0, 1)
    result = M.ghosting([frame, tinted, blurred], region)
    assert result.sharpness_ratio < 0.6  # the blur lowers the mean gradient
    expected_drift = np.abs(tinted[region].mean(0) - frame[region].mean(0)).max() * 255
    assert result.colour_drift == pytest.approx(max(expected_drift, np.abs(blurred[region].mean(0) - frame[region].mean(0)).max() * 255))
    assert 9.0 < result.colour_drift <= 10.0 + 1e-9
    assert math.isnan(M.ghosting([frame], region).sharpness_ratio)
    assert math.isnan(M.ghosting([frame, frame], np.zeros((64, 64), bool)).colour_drift)


def test_mean_gradient_of_a_ramp():
    ramp = np.tile(np.arange(32, dtype=np.float64) * 2 / 255, (32, 1))  # 2 levels per px to the right
    inner = np.zeros((32, 32), bool)
    inner[:, 1:-1] = True  # the reflected border halves the gradient in the outer columns
    assert M.mean_gradient(ramp, inner) == pytest.approx(2.0)


def test_warp_by_flow_moves_the_content_and_dis_reads_the_exact_warp_at_its_speed():
    """The speed control of the report: an exact warp of a textured image by a known field reads as that field."""
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.random((96, 128, 3)).astype(np.float32), (0, 0), 1.5)
    image = (255 * (image - image.min()) / (image.max() - image.min())).astype(np.uint8)
    field = np.zeros((96, 128, 2))
    field[..., 0], field[..., 1] = 1.5, -0.5
    moved = M.warp_by_flow(image, field)
    shifted = M.warp_by_flow(image, np.full((96, 128, 2), 2.0))
    assert np.array_equal(shifted[10:80, 10:110], image[8:78, 8:108])  # whole pixels: an exact copy
    measured = M.optical_flow(image, moved)[16:80, 16:112].reshape(-1, 2)
    np.testing.assert_allclose(np.median(measured, axis=0), [1.5, -0.5], atol=0.1)


def test_texture_flow_follows_moving_ripples_over_a_still_colour_field():
    # A still low-frequency colour field (bright foam fading into a dark pool) with ripples travelling 2 px to the
    # right over it, as colour anchoring renders water: optical flow on the texture reads the ripples' 2 px, while
    # plain luma mixes in the still field and reads less.
    import cv2

    from landscape4d.eval.metrics import optical_flow, texture_luma

    rng = np.random.default_rng(0)
    h, w = 96, 128
    ripples = cv2.GaussianBlur(rng.standard_normal((h, w + 8)), (0, 0), 1.2) * 0.05
    field = np.clip(0.85 - 0.7 * np.abs(np.linspace(-1, 1, w))[None, :] ** 0.5, 0, 1)  # still, low frequency
    first = np.clip(field + ripples[:, 4:-4], 0, 1)
    second = np.clip(field + ripples[:, 2:-6], 0, 1)  # ripples moved 2 px to the right
    sigma = 0.01 * 512  # the anchoring scale at 512 px
    texture = optical_flow(texture_luma(first, sigma), texture_luma(second, sigma))[16:-16, 16:-16, 0]
    plain = optical_flow(first, second)[16:-16, 16:-16, 0]
    assert abs(float(np.median(texture)) - 2.0) < 0.2
    assert float(np.median(plain)) < float(np.median(texture))
    assert texture_luma(np.full((8, 8, 3), 0.3), 2.0) == pytest.approx(np.full((8, 8), 0.5), abs=1e-9)  # no texture: mid-grey


def test_speed_is_judged_only_where_the_instrument_reads_an_exact_warp():
    # Requested: 2 px/frame to the right everywhere. On the left half the instrument reads the exact warp (control
    # 2.0) and the animation moves at 1.8 px; on the right half the instrument reads only 0.3 px of the exact warp
    # (haze), so the animation's 0.2 px there says nothing and must not pull the speed ratio down.
    h, w = 20, 40
    requested = np.zeros((h, w, 2))
    requested[..., 0] = 2.0
    control = requested.copy()
    control[:, w // 2:, 0] = 0.3
    animation = requested.copy()
    animation[:, : w // 2, 0] = 1.8
    animation[:, w // 2:, 0] = 0.2
    tracked = np.ones((h, w), bool)
    readable = M.readable_mask(control, requested, tracked, tolerance=0.25)
    assert readable[:, : w // 2].all() and not readable[:, w // 2:].any()
    np.testing.assert_allclose(M.speed_along(animation, requested)[0, [0, -1]], [0.9, 0.1])
    assert M.angle_error_deg(animation, requested, readable).speed_ratio == pytest.approx(0.9)
    assert M.angle_error_deg(animation, requested, tracked).speed_ratio == pytest.approx(0.5)  # mixing in what it can't read
    # A control read in the wrong direction is not readable either, however long.
    control[:, : w // 2] = [0.0, 2.0]
    assert not M.readable_mask(control, requested, tracked).any()


def test_motion_adherence_pools_start_phases_over_the_cycle():
    # A 12-frame cycle whose content moves at the asked 1 px/frame for the first 4 frames, then at half speed. The
    # first pair (phases 0 → 2) alone reads 1.0; pooled over the six start phases 0, 2, … 10, four of six pairs move
    # at half speed, so the animation's speed ratio is 0.5.
    from types import SimpleNamespace

    from landscape4d.eval.evaluate import EvalConfig, motion_adherence

    base = texture(96, 128, seed=3)

    def position(k: float) -> float:
        return k if k <= 4 else 4 + 0.5 * (k - 4)

    class Stub:
        scene = SimpleNamespace(loop_frames=12, cycles=1, source_camera=None)

        def __call__(self, camera, phase):
            frame = np.clip(shifted(base, position(phase), 0.0) * 255 + 0.5, 0, 255).astype(np.uint8)
            return frame, np.ones(frame.shape[:2])

    requested = np.zeros((96, 128, 2), np.float32)
    requested[..., 0] = 1.0
    flow = SimpleNamespace(flow_px_per_frame=requested, moving=np.ones((96, 128), bool))
    render = Stub()
    values = motion_adherence(render, flow, render(None, 0.0)[0], EvalConfig())
    assert values["motion_gap_frames"] == 2
    assert values["motion_speed_ratio_phase0"] == pytest.approx(1.0, abs=0.08)
    assert values["motion_speed_ratio"] == pytest.approx(0.5, abs=0.08)
    assert values["motion_angle_deg"] < 5


def test_content_registration_compares_each_piece_of_texture_with_itself():
    # The input view's motion is a ramp along x (0.1 px/frame per px); a view shows at q the content of the source
    # point 0.3 px to the right of where depth puts it (a splat renderer's blend), and carries that content's motion.
    height, width = 32, 48
    ramp = np.zeros((height, width, 2))
    ramp[..., 0] = 0.1 * (np.arange(width) + 0.5)[None, :]
    rows, cols = np.mgrid[4:28, 4:44]
    pixels = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], -1)
    content_source = pixels + np.array([0.0, 0.2])  # the input view's own blend is off too, downward
    content_view = pixels + np.array([0.3, 0.2])
    carried = np.stack([0.1 * (pixels[:, 0] + 0.3), np.zeros(len(pixels))], -1)
    own = M.sample_bilinear(ramp, pixels)
    assert M.endpoint_error(carried, own).mean() == pytest.approx(0.03, abs=1e-9)  # depth registration: 0.3 px × 0.1
    assert M.content_registered_error(carried, ramp, pixels, content_view, content_source).max() < 1e-9
    # A view that disagrees about the motion itself still reads its disagreement.
    wrong = carried + np.array([0.05, 0.0])
    np.testing.assert_allclose(M.content_registered_error(wrong, ramp, pixels, content_view, content_source), 0.05, atol=1e-9)


def test_rendered_content_leans_toward_the_nearer_neighbours_of_a_receding_plane():
    import torch

    from landscape4d.camera import identity_camera
    from landscape4d.eval.evaluate import render_content_coordinates
    from landscape4d.gaussians import gaussians_from_pixels
    from landscape4d.scene import Scene4D

    camera = identity_camera(64, 64)
    image = np.full((64, 64, 3), 0.5, np.float32)
    # A ground plane: each row further down is 2 % nearer (a lake's surface seen from its shore); and the same
    # plane upside down (a ceiling).
    ground = (3.0 * 0.98 ** np.arange(64, dtype=np.float32))[:, None].repeat(64, 1)
    # Within a row, a little seeded jitter breaks the ties that would leave the blend to the sort's index order.
    ground *= 1.0 + 1e-4 * np.random.default_rng(0).standard_normal(ground.shape).astype(np.float32)
    shifts = {}
    for name, depth in (("ground", ground), ("ceiling", ground[::-1].copy())):
        g = gaussians_from_pixels(image, depth, camera.K, camera.camera_to_world)
        scene = Scene4D(g, torch.zeros_like(g.means), camera, 30, 30.0, 1.0, 5.0)
        content = render_content_coordinates(scene, camera)[8:56, 8:56]
        centres = np.stack(np.meshgrid(np.arange(8, 56) + 0.5, np.arange(8, 56) + 0.5), -1)
        shifts[name] = (content - centres).reshape(-1, 2).mean(0)
    # The nearer row wins the blend: below the pixel on the ground, above it on the ceiling; nothing sideways.
    assert shifts["ground"][1] > 0.05 and shifts["ceiling"][1] < -0.05
    assert abs(shifts["ground"][0]) < 0.01 and abs(shifts["ceiling"][0]) < 0.01
