"""Render a Scene4D along a camera path: frames at times t = i / fps, looping phase, encoded to MP4."""

from __future__ import annotations

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
    alpha = out.alpha.cpu().numpy()[..., None]
    rgb = out.rgb.cpu().numpy() / np.maximum(alpha, 1e-3)
    rgb = np.where(alpha > 1e-3, rgb, 0.0)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def trajectory_for(scene: Scene4D, preset: str, num_frames: int) -> list[Camera]:
    return trajectory_cameras(preset, num_frames, scene.source_camera, scene.depth_near, scene.meta.depth_focus)


def render_frames(
    scene: Scene4D,
    cameras: list[Camera],
    fps: float,
    device: torch.device | str = "cpu",
    stats: list[float] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[np.ndarray]:
    """uint8 frames, frame i at time i / fps from ``cameras[i]``; hole fractions appended to ``stats``."""
    states = LoopStates(scene)
    for i, camera in enumerate(cameras):
        out = render_at(scene, camera, i / fps, device, states)
        if stats is not None:
            stats.append(float((out.alpha < HOLE_ALPHA).float().mean()))
        if progress is not None:
            progress(i + 1, len(cameras))
        yield to_uint8(out)


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
    path = write_mp4(render_frames(scene, cameras, fps, device, holes, progress), out_path, fps)
    return VideoResult(path, num_frames, scene.source_camera.width, scene.source_camera.height, fps, holes)
