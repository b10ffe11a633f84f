"""Settings for building a scene: one dataclass, plus named quality presets."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .camera import DEFAULT_FOV_DEG
from .limits import check_long_side

MOTION_METHODS = ("3dmom", "single-view")  # the built-in motion backends (backends.MOTION may hold more)
LOOP_FPS = 30.0  # motion is defined per frame of a 30 fps loop; videos at other fps sample the same loop in time
MAX_LOOP_SECONDS = 4.0
DEFAULT_LONG_SIDE_PX = {"cpu": 512, "cuda": 1024}  # working resolution when Settings.long_side is None
VIDEO_SECONDS_RANGE = (0.0, 120.0)  # a rendered video lasts more than the first and at most the second
VIDEO_FPS_RANGE = (1.0, 120.0)  # frames per second of a rendered video, both inclusive
DEFAULT_VIDEO_TRAJECTORY, DEFAULT_VIDEO_SECONDS, DEFAULT_VIDEO_FPS = "circle", 4.0, 24.0  # the CLI's and the app's
LOOP_SECONDS_RANGE = (0.5, MAX_LOOP_SECONDS)  # Settings.loop_seconds, both inclusive
SPEED_RANGE = (0.0, 5.0)  # Settings.speed, both inclusive


def video_frame_count(seconds: float, fps: float) -> int:
    """How many frames a video of ``seconds`` at ``fps`` has (frame i shows t = i / fps)."""
    return max(1, round(seconds * fps))


def check_video(seconds: float, fps: float) -> int:
    """The one check of a video's length and frame rate (ranges, then the frame limit); returns its frame count.
    Raises ValueError naming what is accepted."""
    from .limits import check_video_frames

    if not (math.isfinite(fps) and VIDEO_FPS_RANGE[0] <= fps <= VIDEO_FPS_RANGE[1]):
        raise ValueError(f"fps must be between {VIDEO_FPS_RANGE[0]:g} and {VIDEO_FPS_RANGE[1]:g}, got {fps}")
    if not (math.isfinite(seconds) and VIDEO_SECONDS_RANGE[0] < seconds <= VIDEO_SECONDS_RANGE[1]):
        raise ValueError(f"seconds must be more than {VIDEO_SECONDS_RANGE[0]:g} and at most {VIDEO_SECONDS_RANGE[1]:g}, got {seconds}")
    frames = video_frame_count(seconds, fps)
    check_video_frames(frames, seconds, fps)
    return frames


# Model backends (``backends``: "depth-anything", "segmentation", "diffusion"): Hub ids (``org/name[@revision]``) or
# local folders written by ``save_pretrained``. Licences and sizes: README, "Model backends".
DEFAULT_DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"
DEFAULT_SEGMENTATION_MODEL = "openmmlab/upernet-convnext-small"
DEFAULT_INPAINT_MODEL = "stabilityai/stable-diffusion-2-inpainting"


def default_long_side(device_type: str) -> int:
    """The working resolution (long side, px) used when none is asked for: 1024 on a GPU, 512 on a CPU."""
    return DEFAULT_LONG_SIDE_PX["cuda" if device_type == "cuda" else "cpu"]


FRAMES_STRIDE = 6  # the default frames zip keeps every 6th loop frame (5 fps)
# What the Space writes after each build, as exporters.export_scene formats: (key, exporter format, button label,
# options). Here, not in exporters, so that the app can list them without importing the exporters.
DEFAULT_DOWNLOADS = (
    ("ply", "ply", ".ply", {}),
    ("splat", "splat", ".splat", {}),
    ("spz", "spz", ".spz", {}),
    # SuperSplat plays a zip of frames; compressed .ply at every 6th loop frame (5 fps) keeps it to tens of MB.
    ("frames", "sequence", "frames .zip", {"frame_formats": ("compressed_ply",), "stride": FRAMES_STRIDE}),
    # error_samples only feeds the motion-fit statistics; 3 samples instead of 61 saves most of the time.
    ("splatv", "splatv", ".splatv + viewer .zip", {"error_samples": 3}),
)


@dataclass(frozen=True)
class Settings:
    """How to build a Scene4D. Every field has a sensible default; see ``PRESETS`` for bundles."""

    long_side: int | None = None  # working resolution (long side, px); None → 512 on CPU, 1024 on GPU
    fov_deg: float = DEFAULT_FOV_DEG  # horizontal field of view of the photo
    device: str = "auto"  # "auto", "cpu" or "cuda"
    seed: int = 0
    loop_seconds: float = 3.0  # period of the seamless loop
    speed: float = 1.0  # global multiplier on all motion
    # One cross-fade cycle (a loop holds a whole number of them): how far water travels before it fades. Short
    # travel keeps texture crisp and a region's colour steady (foam does not drift into a pool and back); the
    # phase offsets spread the fades, so they never happen everywhere at once.
    cycle_seconds: float = 0.5
    num_views: int = 12  # generated views around the input camera (besides the input view)
    view_scale: float = 1.2  # views reach this far beyond the largest camera-path excursion
    fit_iters: int = 20  # steps of the colour fit against the input view (the fit refines colours only)
    fit_lr: float = 0.1
    # "3dmom" (default): one 3D motion per Gaussian that agrees with the photo's 2D motion and with the generated
    # views' own (mom3d, the paper's core; about 1.3 s more per photo on a 2-core CPU at 512 px); "single-view":
    # lift the photo's field along the depth surface. Measured on the 17 report photos at 512 px: the rendered
    # motion reads faster with 3D-MOM on 9 photos, equal (±0.003) on 5, slower on one (mountain lake 0.91 against
    # 0.94), and its multi-view EPE is at or below the single-view lift's and the paper's plain objective's on every
    # photo (benchmarks/quality).
    motion: str = "3dmom"
    # Backends of the other swappable stages, by registered name (``landscape4d.backends``; weight-free defaults).
    regions: str = "classic"
    depth: str = "classic"
    inpainter: str = "classic"
    outpainter: str = "mirror"
    depth_model: str = DEFAULT_DEPTH_MODEL  # used by the "depth-anything" depth backend
    segmentation_model: str = DEFAULT_SEGMENTATION_MODEL  # used by the "segmentation" regions backend
    inpaint_model: str = DEFAULT_INPAINT_MODEL  # used by the "diffusion" inpainter and outpainter
    inpaint_steps: int | None = None  # denoising steps of the "diffusion" backends; None → 20 on CUDA, 8 on CPU

    def __post_init__(self) -> None:
        if self.long_side is not None:
            check_long_side(self.long_side)  # limits.LIMITS.max_long_side_px
        if not LOOP_SECONDS_RANGE[0] <= self.loop_seconds <= LOOP_SECONDS_RANGE[1]:
            raise ValueError(f"loop_seconds must be between {LOOP_SECONDS_RANGE[0]:g} and {LOOP_SECONDS_RANGE[1]:g}, got {self.loop_seconds}")
        if not SPEED_RANGE[0] <= self.speed <= SPEED_RANGE[1]:
            raise ValueError(f"speed must be between {SPEED_RANGE[0]:g} and {SPEED_RANGE[1]:g}, got {self.speed}")
        if not 0.2 <= self.cycle_seconds <= MAX_LOOP_SECONDS:
            raise ValueError(f"cycle_seconds must be between 0.2 and {MAX_LOOP_SECONDS}, got {self.cycle_seconds}")
        from .backends import REGISTRIES  # the registries import the stage modules, which import this one

        for stage, registry in REGISTRIES.items():
            registry.check(getattr(self, stage))
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if not 0 <= self.num_views <= 64:
            raise ValueError(f"num_views must be between 0 and 64, got {self.num_views}")
        if self.inpaint_steps is not None and not 1 <= self.inpaint_steps <= 200:
            raise ValueError(f"inpaint_steps must be between 1 and 200, got {self.inpaint_steps}")
        if self.fit_iters < 0:
            raise ValueError(f"fit_iters must be >= 0, got {self.fit_iters}")

    def replace(self, **changes: object) -> "Settings":
        return replace(self, **changes)

    @property
    def loop_frames(self) -> int:
        return max(2, round(self.loop_seconds * LOOP_FPS))

    @property
    def cycles(self) -> int:
        """Cross-fade cycles per loop: a whole number, so the loop stays seamless."""
        return max(1, round(self.loop_seconds / self.cycle_seconds))

    @property
    def travel_frames(self) -> float:
        """Frames one particle copy travels before it has faded (one cycle)."""
        return self.loop_frames / self.cycles

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


PRESETS: dict[str, Settings] = {
    "fast": Settings(long_side=384, num_views=10, fit_iters=10),
    "balanced": Settings(),
    "high": Settings(long_side=1024, num_views=14, fit_iters=60),
}
