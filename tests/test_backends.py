"""Every swappable stage can be replaced by name (Settings) or instance (Backends), and the pipeline passes each
backend what it needs — tiny dummy backends in the spirit of diffusers' ``get_dummy_components``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape4d import Settings, build
from landscape4d.backends import (
    DEPTH, INPAINTERS, MOTION, OUTPAINTERS, REGIONS, REGISTRIES, Backends, MotionInputs, Registry, resolve_backends,
)
from landscape4d.regions import RegionMasks
from landscape4d.scene import LAYER_BACKDROP

H, W = 48, 64


def dummy_photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.empty((H, W, 3), np.float32)
    image[: H // 2] = (0.5, 0.7, 0.95)  # sky
    image[H // 2 :] = (0.1, 0.3, 0.4)  # water
    return np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1).astype(np.float32)


class Recorder:
    """Dummy backends for all five stages that record what they were given."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple]] = {stage: [] for stage in REGISTRIES}

    def regions(self, image: np.ndarray) -> RegionMasks:
        self.calls["regions"].append((image.shape,))
        sky = np.zeros(image.shape[:2], bool)
        sky[: H // 2] = True
        return RegionMasks(sky, ~sky)

    def depth(self, image: np.ndarray, regions: RegionMasks) -> np.ndarray:
        self.calls["depth"].append((image.shape, regions.sky.sum(), regions.water.sum()))
        rows = np.arange(image.shape[0], dtype=np.float32)[:, None]
        return np.broadcast_to(10.0 / (1.0 + rows), image.shape[:2]).copy()  # nearer toward the bottom

    def inpainter(self, image: np.ndarray, depth_m: np.ndarray, hole: np.ndarray):
        self.calls["inpainter"].append((image.shape, int(hole.sum())))
        image, depth_m = image.copy(), depth_m.copy()
        image[hole] = (1.0, 0.0, 1.0)  # magenta: visible proof that this backend filled the holes
        depth_m[hole] = float(np.median(depth_m[~hole])) if (~hole).any() else 1.0
        return image, depth_m

    def outpainter(self, image: np.ndarray, depth_m: np.ndarray, known: np.ndarray):
        self.calls["outpainter"].append((image.shape, int(known.sum())))
        image, depth_m = image.copy(), depth_m.copy()
        image[~known] = (0.0, 1.0, 0.0)
        depth_m[~known] = float(depth_m[known].max())
        return image, depth_m

    def motion(self, means_world: torch.Tensor, inputs: MotionInputs) -> torch.Tensor:
        self.calls["motion"].append((len(means_world), len(inputs.views), inputs.flow.moving.shape, inputs.speed))
        velocity = torch.zeros_like(means_world)
        velocity[:, 0] = 0.01
        return velocity


@pytest.fixture()
def recorder():
    rec = Recorder()
    for stage, registry in REGISTRIES.items():
        registry.register("dummy", lambda settings, f=getattr(rec, stage): f)
    yield rec
    for registry in REGISTRIES.values():
        registry.unregister("dummy")


SMALL = Settings(long_side=W, num_views=2, fit_iters=0, device="cpu")


def test_every_stage_swaps_by_name_and_gets_what_it_needs(recorder):
    settings = SMALL.replace(regions="dummy", depth="dummy", inpainter="dummy", outpainter="dummy", motion="dummy", speed=0.5)
    result = build(dummy_photo(), settings)
    calls = recorder.calls
    assert calls["regions"] == [((H, W, 3),)]
    # The depth backend gets the full RegionMasks (sky and water), not just the sky.
    assert calls["depth"] == [((H, W, 3), H // 2 * W, H // 2 * W)]
    assert len(calls["outpainter"]) == 1 and calls["outpainter"][0][1] == H * W  # the photo is the known part
    assert len(calls["inpainter"]) == settings.num_views and all(holes > 0 for _, holes in calls["inpainter"])
    n_before_backdrop, n_views, flow_shape, speed = calls["motion"][0]
    assert n_views == settings.num_views and speed == 0.5 and flow_shape == result.motion_inputs.flow.moving.shape
    # What the backends returned is what the scene holds.
    water_rows = np.arange(H // 2, H)  # the depth convention rescales (nearest = 1) and puts the sky on a shell
    np.testing.assert_allclose(result.depth_m[water_rows, 0] / result.depth_m[-1, 0], H / (1.0 + water_rows), rtol=1e-3)
    front = result.scene.layer != LAYER_BACKDROP
    assert torch.allclose(result.scene.velocity[front][:, 0], torch.tensor(0.01))
    colors = result.scene.gaussians.colors
    assert ((colors[:, 0] > 0.95) & (colors[:, 1] < 0.05) & (colors[:, 2] > 0.95)).any()  # the inpainter's magenta
    assert ((colors[:, 1] > 0.95) & (colors[:, 0] < 0.05)).any()  # the outpainter's green ring
    assert result.scene.meta.backends == {stage: "dummy" for stage in REGISTRIES}


def test_instances_override_names_and_are_recorded(recorder):
    rec = Recorder()
    result = build(dummy_photo(), SMALL, backends=Backends(depth=rec.depth, motion=rec.motion))
    assert len(rec.calls["depth"]) == 1 and len(rec.calls["motion"]) == 1 and not recorder.calls["depth"]
    assert result.scene.meta.backends["depth"] == "custom:method"
    assert result.scene.meta.backends["regions"] == "classic"


def test_defaults_are_the_weight_free_backends():
    chosen, names = resolve_backends(Settings())
    assert names == {"regions": "classic", "depth": "classic", "inpainter": "classic", "outpainter": "mirror",
                     "motion": "3dmom"}
    assert all(callable(getattr(chosen, stage)) for stage in REGISTRIES)
    assert set(MOTION.names()) >= {"single-view", "3dmom"}
    assert {REGIONS.stage, DEPTH.stage, INPAINTERS.stage, OUTPAINTERS.stage} == {"regions", "depth", "inpainter", "outpainter"}


def test_unknown_backend_names_get_a_message_naming_the_choices():
    with pytest.raises(ValueError, match=r"unknown depth backend 'midas'; choose one of: classic"):
        Settings(depth="midas")
    with pytest.raises(ValueError, match=r"unknown motion backend 'x'.*3dmom"):
        Settings(motion="x")


def test_registry_rejects_duplicates_and_works_as_a_decorator():
    registry: Registry[object] = Registry("example")

    @registry.register("one")
    def make_one(settings):
        return "made one"

    assert registry.create("one", Settings()) == "made one" and "one" in registry and list(registry) == ["one"]
    with pytest.raises(ValueError, match="already registered"):
        registry.register("one", make_one)
    registry.register("one", lambda settings: "replaced", replace=True)
    assert registry.create("one", Settings()) == "replaced"


def test_cli_and_eval_choose_backends_with_the_same_flags():
    import argparse

    from landscape4d.backends import add_backend_arguments, backend_changes
    from landscape4d.cli import _run_parser, _settings
    from landscape4d.eval.__main__ import _parser as eval_parser

    args = _run_parser().parse_args(["photo.jpg", "--motion", "3dmom", "--outpaint-backend", "mirror"])
    settings = _settings(args)
    assert (settings.motion, settings.outpainter, settings.depth) == ("3dmom", "mirror", "classic")
    eval_args = eval_parser().parse_args(["photos", "--out", "r", "--motion", "3dmom"])
    assert backend_changes(eval_args) == {"motion": "3dmom"}
    parser = argparse.ArgumentParser()
    add_backend_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--depth-backend", "not-registered"])


def test_settings_bounds_are_the_exported_ranges():
    from landscape4d.settings import LOOP_SECONDS_RANGE, SPEED_RANGE, video_frame_count

    Settings(loop_seconds=LOOP_SECONDS_RANGE[0], speed=SPEED_RANGE[1])
    with pytest.raises(ValueError, match=r"loop_seconds must be between 0.5 and 4"):
        Settings(loop_seconds=LOOP_SECONDS_RANGE[0] - 0.01)
    with pytest.raises(ValueError, match=r"speed must be between 0 and 5"):
        Settings(speed=SPEED_RANGE[1] + 0.01)
    assert video_frame_count(4.0, 24.0) == 96 and video_frame_count(0.01, 1.0) == 1


def test_one_video_check_for_the_cli_the_batch_and_the_app():
    from landscape4d.settings import check_video

    assert check_video(4.0, 24.0) == 96
    with pytest.raises(ValueError, match=r"fps must be between 1 and 120, got 0"):
        check_video(4.0, 0.0)
    with pytest.raises(ValueError, match=r"seconds must be more than 0 and at most 120, got nan"):
        check_video(float("nan"), 24.0)
    with pytest.raises(ValueError, match=r"10,000 frames; the limit is 3,600 frames"):
        check_video(100.0, 100.0)
