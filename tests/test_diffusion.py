"""Diffusion inpainter / outpainter backends, run for real on a tiny random pipeline saved locally (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from landscape4d.hub import ModelUnavailable, release_models  # noqa: E402

from tiny_diffusion import TINY_SIZE, save_tiny_inpainting  # noqa: E402

STEPS = 2
FAST = dict(steps=STEPS, guidance_scale=1.0)  # no classifier-free guidance: half the UNet work (the build test keeps it)
SIZE = TINY_SIZE  # 64 px frames: the tiny model's native resolution


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    # One thread: the tiny model's kernels are too small to share, and on a busy CPU the intra-op threads spin
    # against each other (this file runs ~3× faster).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = save_tiny_inpainting(tmp_path_factory.mktemp("tiny-sd-inpaint") / "model")
    yield folder
    release_models()
    torch.set_num_threads(threads)


def _inpainter(model: Path, **kwargs):
    from landscape4d.diffusion import DiffusionInpainter

    return DiffusionInpainter(str(model), "cpu", **{**FAST, **kwargs})


def _outpainter(model: Path, **kwargs):
    from landscape4d.diffusion import DiffusionOutpainter

    return DiffusionOutpainter(str(model), "cpu", **{**FAST, **kwargs})


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A textured background (depth 8–12 by row), a near occluder (depth 2) in columns 16–29, and the strip it
    revealed (columns 30–37) as the hole. Returns image, depth, hole and the background's true depth."""
    rng = np.random.default_rng(0)
    rows = np.linspace(8.0, 12.0, SIZE, dtype=np.float32)[:, None]
    background = np.broadcast_to(rows, (SIZE, SIZE)).astype(np.float32).copy()
    depth = background.copy()
    depth[:, 16:30] = 2.0
    image = np.clip(0.4 + 0.1 * rng.standard_normal((SIZE, SIZE, 3)), 0, 1).astype(np.float32)
    image[:, 16:30] = (0.9, 0.1, 0.1)
    hole = np.zeros((SIZE, SIZE), bool)
    hole[:, 30:38] = True
    image[hole] = 0.0
    depth[hole] = 0.5  # what a renderer leaves in a hole: meaningless
    return image, depth, hole, background


def test_loads_the_pipeline_class_once_and_shares_it(tiny_model: Path) -> None:
    from diffusers import StableDiffusionInpaintPipeline

    first, second = _inpainter(tiny_model), _inpainter(tiny_model, seed=3)
    outpainter = _outpainter(tiny_model)
    assert isinstance(first.pipe, StableDiffusionInpaintPipeline)
    assert first.pipe is second.pipe is outpainter.pipe
    assert first.resolution == SIZE and first.steps == STEPS


def test_missing_or_broken_model_names_the_model(tmp_path: Path) -> None:
    from landscape4d.diffusion import DiffusionInpainter

    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailable, match="no-such-model"):
        DiffusionInpainter(str(missing), "cpu")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(ModelUnavailable, match="empty-model"):
        DiffusionInpainter(str(empty), "cpu")


def test_inpainter_fills_only_the_hole_deterministically(tiny_model: Path) -> None:
    image, depth, hole, _ = _scene()
    inpainter = _inpainter(tiny_model)
    out_image, out_depth = inpainter(image, depth, hole)
    assert out_image.shape == image.shape and out_image.dtype == np.float32
    assert out_depth.shape == depth.shape and out_depth.dtype == np.float32
    assert np.array_equal(out_image[~hole], image[~hole])  # bit-identical outside the hole
    assert np.array_equal(out_depth[~hole], depth[~hole])
    assert np.all((out_image >= 0) & (out_image <= 1)) and np.isfinite(out_depth).all()
    assert np.abs(out_image[hole] - image[hole]).max() > 0.05  # the hole was painted
    again_image, again_depth = inpainter(image, depth, hole)
    assert np.array_equal(again_image, out_image) and np.array_equal(again_depth, out_depth)
    other_image, _ = _inpainter(tiny_model, seed=1)(image, depth, hole)
    assert not np.array_equal(other_image[hole], out_image[hole])  # the seed decides the noise


class _Spy:
    """Forwards to the pipeline and records the keyword arguments of each call."""

    def __init__(self, pipe) -> None:
        self.pipe, self.calls = pipe, []

    def __getattr__(self, name: str):
        return getattr(self.pipe, name)

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


def test_model_sees_background_not_the_occluder_and_a_dilated_mask(tiny_model: Path) -> None:
    from landscape4d.diffusion import NEGATIVE_PROMPT, PROMPT

    image, depth, hole, _ = _scene()
    inpainter = _inpainter(tiny_model, guidance_scale=7.0)
    inpainter.pipe = spy = _Spy(inpainter.pipe)
    inpainter(image, depth, hole)
    (call,) = spy.calls
    assert call["prompt"] == PROMPT and call["negative_prompt"] == NEGATIVE_PROMPT and "people" in NEGATIVE_PROMPT
    assert call["num_inference_steps"] == STEPS and (call["height"], call["width"]) == (SIZE, SIZE)
    context = np.asarray(call["image"], np.float32) / 255
    mask = np.asarray(call["mask_image"]) > 127
    assert mask[hole].all() and mask.sum() > hole.sum()  # the hole, dilated a little
    assert not mask[:, :20].any()  # ... only a little
    # The occluder's band next to the hole (red, columns 23-29) is shown to the model as background.
    band = context[:, 24:30]
    assert np.abs(band.mean(axis=(0, 1)) - context[:, 40:48].mean(axis=(0, 1))).max() < 0.05
    assert (band[..., 0] - band[..., 1]).mean() < 0.1  # no red left (the occluder has R - G = 0.8)
    assert np.allclose(context[:, 16:20, 0], 0.9, atol=1 / 255)  # the rest of the occluder is untouched


def test_slivers_too_thin_for_the_model_take_the_classic_fill(tiny_model: Path) -> None:
    """Hole components narrower than half a latent cell at the model's resolution skip the model: a view of
    slivers only makes no model call; with a wide hole too, the model is asked for the wide hole alone."""
    from landscape4d.diffusion import MIN_HOLE_WIDTH_LATENT
    from landscape4d.inpaint import ClassicInpainter

    size = 256  # 4 frame px per model px (the tiny model works at 64 px; its latent cell is 2 model px)
    rng = np.random.default_rng(5)
    image = np.clip(0.5 + 0.1 * rng.standard_normal((size, size, 3)), 0, 1).astype(np.float32)
    depth = np.broadcast_to(np.linspace(8.0, 12.0, size, dtype=np.float32)[:, None], (size, size)).copy()
    sliver = np.zeros((size, size), bool)
    sliver[20:200, 40:42] = True  # 2 px wide = 0.5 model px = 0.25 latent cell
    block = np.zeros((size, size), bool)
    block[120:184, 150:214] = True  # 64 px = 16 model px = 8 latent cells
    assert MIN_HOLE_WIDTH_LATENT == 0.5

    inpainter = _inpainter(tiny_model)
    inpainter.pipe = spy = _Spy(inpainter.pipe)
    assert not inpainter.paintable(sliver).any() and np.array_equal(inpainter.paintable(sliver | block), block)
    out_image, out_depth = inpainter(image, depth, sliver)
    assert spy.calls == []
    classic_image, classic_depth = ClassicInpainter()(image, depth, sliver)
    assert np.array_equal(out_image, classic_image) and np.array_equal(out_depth, classic_depth)

    hole = sliver | block
    out_image, out_depth = inpainter(image, depth, hole)
    (call,) = spy.calls
    mask = np.asarray(call["mask_image"]) > 127  # 64 × 64
    assert mask[30:46, 37:53].all()  # the block (rows 120-183, cols 150-213 at ¼ scale)
    assert not mask[:, 5:15].any()  # the sliver's columns (10 at ¼ scale) are not sent
    both_image, _ = ClassicInpainter()(image, depth, hole)
    assert np.array_equal(out_image[sliver], both_image[sliver])  # the sliver: classic fill
    assert np.abs(out_image[block] - both_image[block]).max() > 0.05  # the block: painted by the model
    assert np.array_equal(out_image[~hole], image[~hole]) and np.array_equal(out_depth[~hole], depth[~hole])


def test_empty_hole_returns_the_inputs(tiny_model: Path) -> None:
    image, depth, _, _ = _scene()
    out_image, out_depth = _inpainter(tiny_model)(image, depth, np.zeros(depth.shape, bool))
    assert out_image is image and out_depth is depth


def test_filled_depth_is_never_nearer_than_the_far_side(tiny_model: Path) -> None:
    image, depth, hole, background = _scene()
    far_side = background[:, 38:].min()
    # Without a depth estimator: the classic far-side fill.
    _, out_depth = _inpainter(tiny_model)(image, depth, hole)
    assert out_depth[hole].min() >= far_side * (1 - 1e-5)
    assert out_depth[hole].min() > 2.0 * 3  # far behind the occluder

    # An estimator whose disparity is an affine map of the truth: aligned back to the truth.
    truth = background.copy()
    truth[:, 16:30] = 2.0

    def affine_estimator(frame, regions):
        assert frame.shape == image.shape and regions.sky.shape == depth.shape
        return 1.0 / (2.0 / truth + 0.05)

    _, aligned = _inpainter(tiny_model, depth_estimator=affine_estimator)(image, depth, hole)
    np.testing.assert_allclose(aligned[hole], background[hole], rtol=1e-3)

    # An estimator that puts the hole on the occluder's depth: clamped to the far side.
    def wrong_estimator(frame, regions):
        estimate = truth.copy()
        estimate[hole] = 2.0
        return estimate

    _, clamped = _inpainter(tiny_model, depth_estimator=wrong_estimator)(image, depth, hole)
    assert clamped[hole].min() >= far_side * (1 - 1e-5)
    assert np.array_equal(clamped[~hole], depth[~hole])


def test_outpainter_keeps_the_photo_and_fills_the_ring(tiny_model: Path) -> None:
    rng = np.random.default_rng(1)
    shape = (42, 101)  # a wide canvas, sides no multiple of 8: resized to the model's size and back
    image = np.zeros((*shape, 3), np.float32)
    depth = np.ones(shape, np.float32)
    known = np.zeros(shape, bool)
    known[7:35, 13:85] = True
    image[known] = rng.uniform(0.2, 0.8, (known.sum(), 3)).astype(np.float32)
    depth[known] = np.linspace(2.0, 20.0, known.sum(), dtype=np.float32)
    outpainter = _outpainter(tiny_model)
    out_image, out_depth = outpainter(image, depth, known)
    assert out_image.dtype == np.float32 and out_depth.dtype == np.float32
    assert np.array_equal(out_image[known], image[known])  # bit for bit
    assert np.array_equal(out_depth[known], depth[known])
    assert np.abs(out_image[~known]).max() > 0.05 and (out_depth[~known] > 0).all()
    again, _ = outpainter(image, depth, known)
    assert np.array_equal(again, out_image)
    same_image, same_depth = outpainter(image, depth, np.ones_like(known))
    assert same_image is image and same_depth is depth

    # With a depth estimator: its estimate, aligned on the photo's edge band, continues the depth into the ring.
    truth = np.fromfunction(lambda r, c: 3.0 + 0.2 * r + 0.05 * c, shape, dtype=np.float32)
    depth = np.where(known, truth, 1.0).astype(np.float32)
    estimator = lambda frame, regions: 1.0 / (2.0 / truth + 0.05)  # noqa: E731
    ring_image, ring_depth = _outpainter(tiny_model, depth_estimator=estimator)(image, depth, known)
    assert np.array_equal(ring_image[known], image[known]) and np.array_equal(ring_depth[known], depth[known])
    np.testing.assert_allclose(ring_depth[~known], truth[~known], rtol=1e-3)


def test_processing_size_keeps_aspect_and_stride() -> None:
    from landscape4d.diffusion import processing_size

    assert processing_size(1024, 1024, 512, 64) == (512, 512)
    assert processing_size(96, 96, 512, 64) == (512, 512)  # small frames come up to the model's size
    height, width = processing_size(500, 2000, 512, 64)  # a 4:1 panorama: one strip, long side capped
    assert width == 768 and height == 192
    h, w = processing_size(480, 640, 512, 64)
    assert h % 64 == 0 and w % 64 == 0 and abs(w / h - 4 / 3) < 0.2


def test_build_runs_with_diffusion_backends(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import landscape4d
    from landscape4d import diffusion
    from landscape4d.backends import INPAINTERS, OUTPAINTERS
    from landscape4d.settings import Settings

    rng = np.random.default_rng(2)
    rows = np.linspace(0.0, 1.0, 48)[:, None, None]
    photo = np.clip(np.concatenate([0.3 + 0.5 * rows * np.ones((48, 64, 1)), 0.5 * np.ones((48, 64, 1)),
                                    0.8 - 0.5 * rows * np.ones((48, 64, 1))], axis=-1)
                    + 0.05 * rng.standard_normal((48, 64, 3)), 0, 1)
    photo = (photo * 255).astype(np.uint8)
    settings = Settings(long_side=64, num_views=2, fit_iters=0, inpainter="diffusion", outpainter="diffusion",
                        inpaint_model=str(tiny_model))
    assert "diffusion" in INPAINTERS and "diffusion" in OUTPAINTERS
    monkeypatch.setitem(diffusion.DEFAULT_STEPS, "cpu", STEPS)  # the factories use the default step count
    result = landscape4d.build(photo, settings)
    assert result.scene.meta.backends["inpainter"] == "diffusion"
    assert result.scene.meta.backends["outpainter"] == "diffusion"
    assert len(result.views) >= 3  # source, border ring, generated views
