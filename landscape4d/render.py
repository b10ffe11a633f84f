"""Render a Scene4D along a camera path: frames at times t = i / fps, looping phase, encoded to MP4."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .animate import LoopStates, phase_at
from .camera import Camera
from .raster import RenderOutput, rasterize_gaussians
from .scene import Scene4D
from .settings import check_video
from .trajectories import trajectory_cameras
from .video import write_mp4

HOLE_ALPHA = 0.9  # coverage below this counts as a hole in the statistics
GPU_FRAMES_PER_CALL = 16  # frames per gsplat call on a GPU: amortises the per-call launch overhead (~40 MB a frame per million Gaussians)


@dataclass
class VideoResult:
    path: Path
    num_frames: int
    width: int
    height: int
    fps: float
    hole_fraction: list[float] = field(default_factory=list)  # per frame: share of pixels with alpha < 0.9


def render_at(
    scene: Scene4D, camera: Camera, time_s: float, device: torch.device | str = "cpu", states: LoopStates | None = None
) -> RenderOutput:
    """The scene at time ``time_s`` (seconds; the loop wraps) seen from ``camera``.

    Pass ``states`` (a ``LoopStates`` of this scene) when rendering many frames.
    """
    states = states or LoopStates(scene)
    with torch.no_grad():
        return rasterize_gaussians(states(phase_at(scene, time_s)).to(device), camera)


def to_uint8(out: RenderOutput) -> np.ndarray:
    """[H,W,3] uint8. Partly covered pixels are un-premultiplied so frame edges never darken."""
    return frames_to_uint8(out.rgb[None], out.alpha[None])[0].cpu().numpy()


def frames_to_uint8(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Premultiplied rgb [B,H,W,3] and alpha [B,H,W] → un-premultiplied uint8 [B,H,W,3] on the same device (a GPU
    then copies a quarter of the bytes float32 would need)."""
    a = alpha[..., None]
    value = torch.where(a > 1e-3, rgb / a.clamp(min=1e-3), torch.zeros_like(rgb))
    return (value * 255.0 + 0.5).clamp(0, 255).to(torch.uint8)


def trajectory_for(scene: Scene4D, preset: str, num_frames: int) -> list[Camera]:
    return trajectory_cameras(preset, num_frames, scene.source_camera, scene.depth_near, scene.meta.depth_focus)


def batched_rendering(device: torch.device | str) -> bool:
    """True where frames render many per call: a CUDA device with gsplat."""
    if torch.device(device).type != "cuda":
        return False
    from .raster.cuda import gsplat_available

    return gsplat_available()


def render_frames(
    scene: Scene4D,
    cameras: list[Camera],
    fps: float,
    device: torch.device | str = "cpu",
    stats: list[float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = GPU_FRAMES_PER_CALL,
) -> Iterator[np.ndarray]:
    """uint8 frames, frame i at time i / fps from ``cameras[i]``; hole fractions appended to ``stats``.

    On a CUDA device with gsplat the animation states are computed on the GPU and ``batch`` frames go through one
    rasterization call; elsewhere one frame at a time.
    """
    if batched_rendering(device):
        yield from _render_frames_batched(scene, cameras, fps, torch.device(device), stats, progress, batch)
        return
    states = LoopStates(scene)
    for i, camera in enumerate(cameras):
        out = render_at(scene, camera, i / fps, device, states)
        if stats is not None:
            stats.append(float((out.alpha < HOLE_ALPHA).float().mean()))
        if progress is not None:
            progress(i + 1, len(cameras))
        yield to_uint8(out)


def _render_frames_batched(
    scene: Scene4D,
    cameras: list[Camera],
    fps: float,
    device: torch.device,
    stats: list[float] | None,
    progress: Callable[[int, int], None] | None,
    batch: int,
) -> Iterator[np.ndarray]:
    from .raster.cuda import rasterize_gsplat_frames

    states = LoopStates(scene, device)
    template = states.gaussians
    n, batch = len(template), max(1, min(batch, len(cameras)))
    means = torch.empty((batch, n, 3), dtype=torch.float32, device=device)
    opacities = torch.empty((batch, n), dtype=torch.float32, device=device)
    colors = torch.empty((batch, n, 3), dtype=torch.float32, device=device)
    pinned = torch.empty((batch, cameras[0].height, cameras[0].width, 3), dtype=torch.uint8)
    pinned = pinned.pin_memory() if device.type == "cuda" else pinned  # page-locked: a fast device → host copy
    with torch.no_grad():
        for start in range(0, len(cameras), batch):
            chunk = cameras[start:start + batch]
            phases = [phase_at(scene, (start + j) / fps) for j in range(len(chunk))]
            states.write_frames(phases, means, opacities, colors, static=start == 0)
            b = len(chunk)
            world_to_camera = torch.stack([c.world_to_camera for c in chunk]).to(device)
            K = torch.stack([c.K for c in chunk]).to(device)
            rgb, alpha = rasterize_gsplat_frames(means[:b], template.quats, template.scales, opacities[:b],
                                                 colors[:b], world_to_camera, K, chunk[0].width, chunk[0].height)
            pinned[:b].copy_(frames_to_uint8(rgb, alpha))
            if stats is not None:
                stats.extend((alpha < HOLE_ALPHA).float().mean(dim=(1, 2)).tolist())
            for j in range(b):
                if progress is not None:
                    progress(start + j + 1, len(cameras))
                yield pinned[j].numpy().copy()


def prefetched(items: Iterator[np.ndarray], depth: int = 2 * GPU_FRAMES_PER_CALL) -> Iterator[np.ndarray]:
    """``items`` produced by a background thread up to ``depth`` ahead, so a GPU renders while the encoder is fed.
    Errors in the producer are raised here."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            buffer.put((done, exc))

    # The producer runs in the caller's context (progress callbacks such as Gradio's read context variables).
    thread = threading.Thread(target=contextvars.copy_context().run, args=(produce,), daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if isinstance(item, tuple) and item and item[0] is done:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=60)


def render_video(
    scene: Scene4D,
    trajectory: str,
    seconds: float,
    fps: float,
    out_path: str | Path,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> VideoResult:
    """Render ``seconds`` × ``fps`` frames along a preset path and encode them as H.264 yuv420p MP4."""
    num_frames = check_video(seconds, fps)  # ranges and limits.LIMITS.max_video_frames, before any frame is rendered
    cameras = trajectory_for(scene, trajectory, num_frames)
    holes: list[float] = []
    frames = render_frames(scene, cameras, fps, device, holes, progress)
    if batched_rendering(device):
        frames = prefetched(frames)
    path = write_mp4(frames, out_path, fps)
    return VideoResult(path, num_frames, scene.source_camera.width, scene.source_camera.height, fps, holes)
