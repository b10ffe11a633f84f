"""The GPU video path (animation states on the device, several frames per rasterization call, a prefetching
producer thread) checked on the CPU: the batched rasterizer is stood in for by the project's CPU rasterizer frame by
frame, so the batching, phases, hole statistics and the frames' order must give exactly the per-frame path's video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape4d import render
from landscape4d.raster import rasterize
from landscape4d.render import frames_to_uint8, prefetched, render_frames, trajectory_for
from landscape4d.scene import Scene4D
from exporters.testing import example_scene


def cpu_frames(means, quats, scales, opacities, colors, world_to_camera, K, width, height):
    outs = [rasterize(means[b], quats, scales, opacities[b], colors[b], world_to_camera[b], K[b], width, height,
                      backend="cpu") for b in range(means.shape[0])]
    return torch.stack([o.rgb for o in outs]), torch.stack([o.alpha for o in outs])


@pytest.fixture
def scene() -> Scene4D:
    return example_scene(n=600, seed=3, width=64, height=48)


def test_batched_frames_equal_the_per_frame_path(scene: Scene4D, monkeypatch: pytest.MonkeyPatch) -> None:
    cameras = trajectory_for(scene, "circle", 11)  # 11 frames: batches of 4, 4 and a short one of 3
    holes_single: list[float] = []
    single = list(render_frames(scene, cameras, 10.0, "cpu", holes_single))
    monkeypatch.setattr(render, "batched_rendering", lambda device: True)
    import landscape4d.raster.cuda as cuda

    monkeypatch.setattr(cuda, "rasterize_gsplat_frames", cpu_frames)
    holes_batched: list[float] = []
    seen: list[int] = []
    batched = list(render_frames(scene, cameras, 10.0, "cpu", holes_batched, lambda i, n: seen.append(i), batch=4))
    assert len(batched) == len(single) == 11 and seen == list(range(1, 12))
    # The frames differ over time (the water moves): equality below is not that of a still image.
    assert np.abs(single[0].astype(int) - single[5].astype(int)).max() > 10
    for a, b in zip(single, batched):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    np.testing.assert_allclose(holes_batched, holes_single, atol=1e-6)


def test_frames_to_uint8_unpremultiplies_and_zeroes_empty_pixels() -> None:
    rgb = torch.tensor([[[[0.25, 0.5, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]])
    alpha = torch.tensor([[[0.5, 0.0, 1.0]]])
    out = frames_to_uint8(rgb, alpha)
    assert out.dtype == torch.uint8
    assert out[0, 0].tolist() == [[128, 255, 0], [0, 0, 0], [255, 255, 255]]


def test_prefetched_keeps_order_and_raises_the_producers_error() -> None:
    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise RuntimeError("rasterizer failed on frame 2")

    got = []
    with pytest.raises(RuntimeError, match="frame 2"):
        for item in prefetched(broken()):
            got.append(item)
    assert got == [1]


def test_prefetched_stops_its_thread_when_the_consumer_stops() -> None:
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    frames = prefetched(endless(), depth=2)
    assert next(frames) == 0
    frames.close()  # the encoder failed: the producer must not run on
    count = len(produced)
    assert count <= 5


@pytest.mark.parametrize("anchored", [False, True])
def test_write_frames_equals_the_per_phase_states(scene: Scene4D, anchored: bool) -> None:
    import dataclasses

    from landscape4d.animate import LoopStates

    if anchored:  # colour anchoring: each copy's colour depends on its travel
        shift = 0.2 * torch.randn(len(scene.gaussians), 2, 3, generator=torch.Generator().manual_seed(1))
        scene = dataclasses.replace(scene, colour_shift=shift)
    states = LoopStates(scene)
    assert (states.shift is not None) == anchored
    phases = [0.0, 3.7, 14.2, 29.9, 30.0]
    n = len(states.gaussians)
    means, opacities, colors = torch.zeros(6, n, 3), torch.zeros(6, n), torch.zeros(6, n, 3)
    states.write_frames(phases, means, opacities, colors)
    for j, phase in enumerate(phases):
        one = states(phase)
        torch.testing.assert_close(means[j], one.means, rtol=0, atol=1e-6)
        torch.testing.assert_close(opacities[j], one.opacities, rtol=0, atol=1e-6)
        torch.testing.assert_close(colors[j], one.colors, rtol=0, atol=1e-6)
    assert not torch.equal(means[1], means[2])  # the phases differ: the moving part moved
    assert (means[5] == 0).all()  # buffers longer than the batch keep their other rows


def test_prefetched_runs_the_producer_in_the_callers_context() -> None:
    import contextvars

    request = contextvars.ContextVar("request", default=None)
    request.set("session-1")  # e.g. the web request a progress callback reports to

    def produce():
        for i in range(3):
            yield (i, request.get())

    assert list(prefetched(produce())) == [(0, "session-1"), (1, "session-1"), (2, "session-1")]
