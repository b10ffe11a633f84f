"""Colour anchoring: texture travels, the photo's local mean colour stays where the photo has it.

Constructed cases with known answers: a linear colour ramp gives a known shift per cycle; a bright/dark step that
flows keeps its region's mean colour (and drifts without anchoring); the loop stays exact and shows the photo at
k = 0; the ``.splatv`` lobes carry the anchored colour of their copy.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from exporters import SplatArrays, encode_splatv
from landscape4d.animate import (
    LoopStates, anchor_positions, anchored_colours, colour_shifts, gaussians_at, offsets_at, phase_offset_map,
    refine_colour_shifts,
)
from landscape4d.camera import identity_camera
from landscape4d.gaussians import gaussians_from_pixels
from landscape4d.raster import rasterize_gaussians
from landscape4d.render import to_uint8
from landscape4d.scene import Scene4D, SceneMeta

SIZE = 64
DEPTH = 2.0


def _camera():
    return identity_camera(SIZE, SIZE, 60.0)


def _px_to_world(camera) -> float:
    """World units per pixel at DEPTH (the identity camera looks down +z)."""
    return DEPTH / float(camera.K[0, 0])


def test_linear_ramp_gives_its_slope_times_the_travel():
    camera = _camera()
    x = np.arange(SIZE, dtype=np.float32) / SIZE
    image = np.repeat(np.repeat(x[None, :, None], SIZE, axis=0), 3, axis=2)  # red = green = blue = x / 64
    moving = np.ones((SIZE, SIZE), bool)
    # Gaussians at the centre columns, travelling 8 px to the right per cycle; one static one.
    u = np.array([24.0, 32.0, 40.0, 32.0])
    v = np.full(4, 32.0)
    z = np.full(4, DEPTH)
    means = torch.from_numpy(np.stack([(u - camera.K[0, 2].item()) * z / camera.K[0, 0].item(),
                                       (v - camera.K[1, 2].item()) * z / camera.K[1, 1].item(), z], 1).astype(np.float32))
    travel_px, cycle_frames = 8.0, 10.0
    velocity = torch.zeros(4, 3)
    velocity[:3, 0] = travel_px * _px_to_world(camera) / cycle_frames
    shift = colour_shifts(means, velocity, cycle_frames, camera, image, moving, sigma_px=2.0)
    expected = travel_px / SIZE  # the ramp's change over 8 px
    # Sample j is the change at travel a_j (cycles): a ramp changes a_j × its change per cycle.
    positions = anchor_positions(shift.shape[1])
    np.testing.assert_allclose(shift[:3].numpy(), np.broadcast_to(positions[None, :, None] * expected, shift[:3].shape), atol=2e-3)
    assert torch.equal(shift[3], torch.zeros_like(shift[3]))  # static: no shift


def test_static_colours_do_not_bleed_into_the_local_mean():
    """Outside the motion region the image is white; the water's local mean is its own grey, so a copy travelling
    towards the region's edge keeps the water's colour (no shift), it does not whiten."""
    camera = _camera()
    image = np.full((SIZE, SIZE, 3), 0.3, np.float32)
    image[:, 40:] = 1.0
    moving = np.zeros((SIZE, SIZE), bool)
    moving[:, :40] = True
    u, v = 36.0, 32.0
    means = torch.tensor([[(u - camera.K[0, 2].item()) * DEPTH / camera.K[0, 0].item(), 0.0, DEPTH]])
    velocity = torch.tensor([[6.0 * _px_to_world(camera) / 10.0, 0.0, 0.0]])
    shift = colour_shifts(means, velocity, 10.0, camera, image, moving, sigma_px=3.0)
    assert float(shift.abs().max()) < 1e-3


def _step_scene(anchor: bool) -> Scene4D:
    """A 64×64 "river": white foam above row 24, dark water below, all of it flowing down 12 px per cycle."""
    camera = _camera()
    image = np.full((SIZE, SIZE, 3), 0.15, np.float32)
    image[:24] = 0.9
    rng = np.random.default_rng(0)
    image += rng.uniform(-0.05, 0.05, image.shape).astype(np.float32)  # texture to carry
    depth = np.full((SIZE, SIZE), DEPTH, np.float32)
    gaussians = gaussians_from_pixels(image, depth, camera.K, torch.eye(4))
    cycle_frames = 10
    velocity = torch.zeros(len(gaussians), 3)
    velocity[:, 1] = 12.0 * _px_to_world(camera) / cycle_frames
    moving = np.ones((SIZE, SIZE), bool)
    shift = colour_shifts(gaussians.means, velocity, cycle_frames, camera, image, moving) if anchor else None
    return Scene4D(gaussians=gaussians, velocity=velocity, source_camera=camera, loop_frames=2 * cycle_frames,
                   loop_fps=30.0, depth_near=DEPTH, depth_far=DEPTH, meta=SceneMeta(photo="step"), cycles=2,
                   fade=0.3, colour_shift=shift)


def _region_means(scene: Scene4D) -> np.ndarray:
    """Mean colour (8-bit levels) of the inner region at 10 phases of one cycle."""
    states = LoopStates(scene)
    means = []
    for k in np.linspace(0, 10, 10, endpoint=False):
        frame = to_uint8(rasterize_gaussians(states(float(k)), scene.source_camera)).astype(np.float64)
        means.append(frame[16:56, 8:56].mean(axis=(0, 1)))
    return np.array(means)


def test_a_flowing_step_keeps_its_mean_colour_with_anchoring_and_drifts_without():
    drift_plain = np.abs(_region_means(_step_scene(False)) - _region_means(_step_scene(False))[0]).max()
    anchored = _region_means(_step_scene(True))
    drift_anchored = np.abs(anchored - anchored[0]).max()
    assert drift_plain > 15.0  # foam slides 12 px into the dark water
    assert drift_anchored < 3.0  # the foam line stays; only the texture moves


def test_the_closed_loop_corrects_what_the_open_loop_anchoring_missed():
    """Start from anchoring that predicts nothing (every shift 0), phases spread as the pipeline spreads them: the
    foam slides into the dark water and the region's mean drifts 16 levels. Two closed-loop iterations measure the
    rendered local means and cut the drift to under a third, while frame 0 stays the photo, the loop closes exactly
    and the fine texture still travels 3 px by k = 2.5."""
    plain = _step_scene(False)
    camera = plain.source_camera
    offsets = offsets_at(plain.gaussians.means, camera, phase_offset_map(SIZE, SIZE, plain.fade, seed=0))
    plain = dataclasses.replace(plain, phase_offset=offsets)
    blind = dataclasses.replace(plain, colour_shift=torch.zeros(len(plain.gaussians), 9, 3))
    moving = np.ones((SIZE, SIZE), bool)
    refined = dataclasses.replace(blind, colour_shift=refine_colour_shifts(blind, moving, iterations=2, sigma_px=3.0))
    before, after = _region_means(blind), _region_means(refined)
    drift_before, drift_after = np.abs(before - before[0]).max(), np.abs(after - after[0]).max()
    assert drift_before > 12.0
    assert drift_after < 0.33 * drift_before
    assert np.abs(after - after[0]).mean() < 0.3 * np.abs(before - before[0]).mean()
    assert torch.equal(refined.colour_shift[:, 4], torch.zeros_like(refined.colour_shift[:, 4]))  # rest: untouched

    def frame(scene: Scene4D, k: float) -> np.ndarray:
        return to_uint8(rasterize_gaussians(gaussians_at(scene, k).gaussians, camera)).astype(np.float64)

    assert np.array_equal(frame(refined, 0.0), frame(plain, 0.0))
    assert np.array_equal(frame(refined, 0.0), frame(refined, float(refined.loop_frames)))

    def texture(image: np.ndarray) -> np.ndarray:
        import cv2

        grey = image.mean(axis=-1)
        return grey - cv2.GaussianBlur(grey, (0, 0), 2.0)

    first, later = texture(frame(refined, 0.0)), texture(frame(refined, 2.5))
    inner = (slice(30, 58), slice(8, 56))  # dark water, away from the foam line
    moved = np.corrcoef(later[inner].ravel(), first[27:55, 8:56].ravel())[0, 1]
    assert moved > 0.8


def test_anchored_loop_shows_the_photo_at_zero_and_closes_exactly():
    anchored, plain = _step_scene(True), _step_scene(False)
    camera = anchored.source_camera
    first = to_uint8(rasterize_gaussians(gaussians_at(anchored, 0.0).gaussians, camera))
    assert np.array_equal(first, to_uint8(rasterize_gaussians(gaussians_at(plain, 0.0).gaussians, camera)))
    last = to_uint8(rasterize_gaussians(gaussians_at(anchored, float(anchored.loop_frames)).gaussians, camera))
    assert np.array_equal(first, last)
    # Mid-cycle the anchored colours differ from the fixed ones (the anchoring is on).
    mid = to_uint8(rasterize_gaussians(gaussians_at(anchored, 5.0).gaussians, camera))
    mid_plain = to_uint8(rasterize_gaussians(gaussians_at(plain, 5.0).gaussians, camera))
    assert np.abs(mid.astype(int) - mid_plain).max() > 30


def test_every_copy_has_the_colour_of_its_own_travel():
    """Colours are a function of where a copy is (its travel along the path), so the slots swap without a jump."""
    scene = _step_scene(True)
    states = LoopStates(scene)
    n = int(scene.moving.sum())
    base = scene.gaussians.colors
    step = scene.velocity[:, 1] * (scene.loop_frames / scene.cycles)
    for k in np.linspace(0, scene.loop_frames, 23):
        g = states(float(k))
        for slot in range(2):
            rows = slice(states.n_static + slot * n, states.n_static + (slot + 1) * n)
            along = (g.means[rows, 1] - scene.gaussians.means[:, 1]) / step
            expected = anchored_colours(base, scene.colour_shift, along)
            torch.testing.assert_close(g.colors[rows], expected, atol=1e-4, rtol=0)


def test_scene_file_and_subset_keep_the_shift(tmp_path):
    scene = _step_scene(True)
    loaded = Scene4D.load(scene.save(tmp_path / "step"))
    # Stored in half precision: well under a tenth of an 8-bit level for changes up to the whole range.
    torch.testing.assert_close(loaded.colour_shift, scene.colour_shift, atol=5e-4, rtol=0)
    keep = torch.arange(10, 50)
    assert torch.equal(scene.subset(keep).colour_shift, scene.colour_shift[keep])
    with pytest.raises(ValueError, match="colour_shift has shape"):
        dataclasses.replace(scene, colour_shift=torch.zeros(3, 2, 3))
    with pytest.raises(ValueError, match="K odd"):
        dataclasses.replace(scene, colour_shift=torch.zeros(len(scene.gaussians), 4, 3))


def test_scene_files_of_format_4_keep_their_anchoring():
    """Format 4 stored one change each way, (Δ⁺, Δ⁻): colour + a·Δ⁺ ahead, colour + a·Δ⁻ behind (a < 0). It loads
    as three samples that draw the same colours at every travel."""
    scene = _step_scene(True)
    n = len(scene.gaussians)
    generator = torch.Generator().manual_seed(3)
    legacy = 0.1 * torch.randn(n, 2, 3, generator=generator)
    converted = dataclasses.replace(scene, colour_shift=legacy).colour_shift
    assert tuple(converted.shape) == (n, 3, 3)
    colours = scene.gaussians.colors
    for along in (-1.0, -0.6, -0.1, 0.0, 0.3, 0.75, 1.0):
        a = torch.full((n,), along)
        old = colours + a.clamp(min=0)[:, None] * legacy[:, 0] + a.clamp(max=0)[:, None] * legacy[:, 1]
        torch.testing.assert_close(anchored_colours(colours, converted, a), old, atol=1e-6, rtol=0)


def test_splatv_lobes_carry_the_anchored_colour_of_their_copy():
    scene = _step_scene(True)
    splats = SplatArrays.from_gaussians(scene.gaussians)
    offsets = np.zeros(len(splats))
    encoding = encode_splatv(splats, scene.velocity.numpy(), scene.loop_frames, cycles=scene.cycles,
                             fade=scene.fade, phase_offset=offsets, colour_shift=scene.colour_shift.numpy())
    records = encoding.records
    moving = encoding.role > 0
    centre = records["trbf"][:, 0].astype(np.float64)
    along = centre * scene.cycles + encoding.copy
    source = encoding.source_index
    expected = anchored_colours(splats.colors[source].astype(np.float64), scene.colour_shift.numpy()[source], along)
    got = records["rgba"][:, :3] / 255.0
    np.testing.assert_allclose(got[moving], np.clip(expected[moving], 0, 1), atol=1.5 / 255)
    # The copy resting at t = 0 (copy 0) keeps the photo's colour up to its lobes' travel from rest (a lobe's colour
    # is constant: it is the colour at the lobe's centre, within half a cycle of rest).
    resting = moving & (encoding.copy == 0)
    assert resting.any() and np.abs(along[resting]).max() <= 0.5
    near_rest = np.abs(anchor_positions(scene.colour_shift.shape[1])) <= 0.5  # samples bounding |a| ≤ ½ (linear between)
    bound = np.abs(scene.colour_shift.numpy()[source[resting]][:, near_rest]).max(axis=1) + 1.5 / 255
    assert (np.abs(got[resting] - np.clip(splats.colors[source[resting]], 0, 1)) <= bound).all()
    # Without the shift, the same encoder writes the rest colour on every copy.
    plain = encode_splatv(splats, scene.velocity.numpy(), scene.loop_frames, cycles=scene.cycles,
                          fade=scene.fade, phase_offset=offsets)
    np.testing.assert_allclose(plain.records["rgba"][:, :3] / 255.0,
                               np.clip(splats.colors[plain.source_index], 0, 1), atol=1.5 / 255)


def test_copies_resting_off_the_anchored_region_keep_their_colour_and_the_closed_loop_leaves_them():
    """The step scene with only its left half anchored (the right half stands for sky: a cloud is its low-frequency
    colour and must travel with it). Right-half copies get no shift from either anchoring, so the bright band
    slides down 12 px there, while the left half keeps its foam line."""
    scene = _step_scene(False)
    camera = scene.source_camera
    anchored = np.zeros((SIZE, SIZE), bool)
    anchored[:, :32] = True
    image = np.full((SIZE, SIZE, 3), 0.15, np.float32)
    image[:24] = 0.9
    shift = colour_shifts(scene.gaussians.means, scene.velocity, 10, camera, image, np.ones((SIZE, SIZE), bool),
                          anchored=anchored)
    cols = scene.gaussians.means[:, 0] / scene.gaussians.means[:, 2] * camera.K[0, 0] + camera.K[0, 2]
    left, right = cols < 31, cols > 33
    assert float(shift[right].abs().max()) == 0.0
    assert float(shift[left].abs().max()) > 0.5  # foam copies travelling into the dark water darken
    scene = dataclasses.replace(scene, colour_shift=shift)
    refined = refine_colour_shifts(scene, anchored, iterations=1, sigma_px=3.0)
    assert float(refined[right].abs().max()) == 0.0 and not torch.equal(refined[left], shift[left])
    later = to_uint8(rasterize_gaussians(gaussians_at(dataclasses.replace(scene, colour_shift=refined), 5.0).gaussians,
                                         camera)).astype(np.float64).mean(axis=-1)
    # 5 frames = 6 px down: rows 24-28 are still foam on the right (the band travelled), dark again on the left.
    assert later[25:29, 40:56].mean() > 180 and later[25:29, 8:24].mean() < 100


def test_the_closed_loop_corrects_a_coarse_region_from_its_own_error():
    """Blind anchoring (all shifts 0): the left half is the fine region, the right half the coarse one (the sky,
    corrected at its own, larger scale). One closed loop over the same renders corrects copies of both halves, and
    the right half's mean colour drifts less afterwards."""
    blind = _step_scene(False)
    blind = dataclasses.replace(blind, colour_shift=torch.zeros(len(blind.gaussians), 9, 3))
    left, right = np.zeros((SIZE, SIZE), bool), np.zeros((SIZE, SIZE), bool)
    left[:, :32], right[:, 32:] = True, True
    only_left = refine_colour_shifts(blind, left, iterations=2, sigma_px=3.0)
    both = refine_colour_shifts(blind, left, iterations=2, sigma_px=3.0, coarse=right, coarse_sigma_px=6.0)
    camera = blind.source_camera
    cols = blind.gaussians.means[:, 0] / blind.gaussians.means[:, 2] * camera.K[0, 0] + camera.K[0, 2]
    on_right = cols > 33
    assert float(only_left[on_right].abs().max()) == 0.0 and float(both[on_right].abs().max()) > 0.05

    def right_drift(shift: torch.Tensor) -> float:
        states = LoopStates(dataclasses.replace(blind, colour_shift=shift))
        means = [to_uint8(rasterize_gaussians(states(float(k)), camera)).astype(np.float64)[16:56, 40:56].mean()
                 for k in np.linspace(0, 10, 10, endpoint=False)]
        return float(np.abs(np.array(means) - means[0]).max())

    assert right_drift(both) < 0.5 * right_drift(only_left)


def test_a_wide_local_mean_is_the_full_blur_to_within_a_few_percent_and_keeps_static_colours_out():
    import cv2

    from landscape4d.animate import masked_local_mean

    rng = np.random.default_rng(1)
    image = np.clip(0.5 + 3.0 * (cv2.GaussianBlur(rng.random((120, 200, 3)).astype(np.float32), (0, 0), 6.0) - 0.5), 0, 1)
    mask = np.zeros((120, 200), bool)
    mask[:60] = True
    image[60:] = 1.0  # static white below the region
    sigma = 30.0  # downsampled path
    fast = masked_local_mean(image, mask, sigma)
    weight = mask.astype(np.float32)
    full = cv2.GaussianBlur(image * weight[..., None], (0, 0), sigma) / np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-4)[..., None]
    inside = fast[:60]
    assert np.abs(inside - full[:60]).max() < 0.05 * (full[:60].max() - full[:60].min()) + 1e-3
    assert inside.max() < 0.9  # the static white never bleeds in
