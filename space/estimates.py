"""The Space's time estimate: how long a run will take, stage by stage, before the user presses Generate.

The scene build is priced per stage of ``landscape4d.pipeline.STAGES`` (``STAGE_COSTS``, the one table of costs);
rendering the video and writing the files are the app's two further stages. Costs are seconds on the reference
machine (2 CPU cores, the numba rasterizer), from the pipeline's own stage timings (``SceneBuild.timings_s``) and the
app's timed video and file stages. Machines differ (and a shared CPU is slower when busy), so the app feeds every
finished run's measured seconds back (``CALIBRATION``): from the first run on, the page's estimate is this server's
own timing, scaled to the new photo's size and settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from landscape4d.pipeline import STAGES  # the app imports this module lazily: importing the app stays light
from landscape4d.settings import Settings


@dataclass(frozen=True)
class StageCost:
    """Seconds one stage takes on the reference CPU: a fixed part plus parts proportional to the work it does."""

    fixed_s: float = 0.0
    per_mpx_s: float = 0.0  # × working megapixels
    per_view_mpx_s: float = 0.0  # × generated views × working megapixels
    per_fit_step_mpx_s: float = 0.0  # × colour-fit steps × working megapixels
    gpu_speedup: float = 1.0  # how much faster with a GPU (1: the stage runs on the CPU there too)

    def seconds(self, mpx: float, num_views: int, fit_steps: int, gpu: bool) -> float:
        cpu_s = self.fixed_s + mpx * (self.per_mpx_s + self.per_view_mpx_s * num_views
                                      + self.per_fit_step_mpx_s * fit_steps)
        return cpu_s / self.gpu_speedup if gpu else cpu_s


GPU_RENDER_SPEEDUP = 15.0  # gsplat against the numba rasterizer: the fit and the video frames

# Measured on the reference machine (2 cores, another job beside it) with the "fast" preset: the pipeline's own stage
# timings (SceneBuild.timings_s) and the app's timed video and file stages, china.jpg at 256, 384 and 512 px
# (scene 2 / 5 / 6 s, a 96-frame video at twice the size 4 / 11 / 15 s, files 3 / 8 / 13 s).
STAGE_COSTS: dict[str, StageCost] = {  # keyed by landscape4d.pipeline.STAGES, in its order
    "Loading photo": StageCost(fixed_s=0.1),
    "Estimating depth and motion regions": StageCost(fixed_s=0.1, per_mpx_s=1.5),  # on the CPU everywhere
    "Generating views": StageCost(fixed_s=0.3, per_view_mpx_s=1.2, gpu_speedup=2.0),  # inpainting stays on the CPU
    "Lifting motion to 3D": StageCost(fixed_s=0.3, per_mpx_s=5.0),  # the single-view lift
    # The colour fit renders the input view only, once per step: it is not charged per generated view.
    "Fitting Gaussians": StageCost(fixed_s=0.3, per_fit_step_mpx_s=1.4, gpu_speedup=GPU_RENDER_SPEEDUP),
}
# "3dmom" (the default) adds the solved views' own 2D motion and the solve: +1.5 s for China at 512×342 px with
# 12 views (every third solved) on the 2-core CPU (benchmarks/results/speed_cpu.md), charged per generated view.
MOM3D_EXTRA = StageCost(per_view_mpx_s=0.6)
VIDEO_S_FIXED = 0.5  # starting the encoder
# A video frame costs about as much per Gaussian (projecting and sorting every one) as per output pixel.
VIDEO_S_PER_FRAME_GAUSSIAN = 2.5e-7
VIDEO_S_PER_FRAME_MPX = 0.12
EXPORT_S_FIXED = 0.5
EXPORT_S_PER_GAUSSIAN = 2e-5  # every static format plus the .splatv encoding; on the CPU everywhere
EXPORT_S_PER_GAUSSIAN_FRAME = 1.3e-6  # the frames zip, per Gaussian per written frame
GAUSSIANS_PER_PIXEL_PER_VIEW = 0.09  # what each generated view adds to the photo's one Gaussian a pixel
PARTS = ("scene", "video", "files")


@dataclass
class Calibration:
    """How far this machine's real runs were from the table (actual ÷ estimated, per part): later estimates are
    multiplied by it, so they follow the machine the Space actually runs on (a busy CPU, a faster GPU)."""

    factors: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 1.0))
    runs: int = 0
    weight: float = 0.5  # how much one new run moves a factor (exponential moving average)
    bounds: tuple[float, float] = (0.2, 5.0)

    def record(self, estimate: "Estimate", actual_s: dict[str, float]) -> None:
        """Fold one run's measured seconds per part (``scene``, ``video``, ``files``; missing parts are skipped)
        into the factors. ``estimate`` is the table's uncalibrated estimate for that run."""
        raw = {"scene": estimate.scene_s, "video": estimate.video_s, "files": estimate.files_s}
        for part, seconds in actual_s.items():
            if part in raw and raw[part] > 0 and seconds > 0:
                ratio = min(self.bounds[1], max(self.bounds[0], seconds / raw[part]))
                old = self.factors[part]
                self.factors[part] = ratio if self.runs == 0 else (1 - self.weight) * old + self.weight * ratio
        self.runs += 1

    def apply(self, estimate: "Estimate") -> "Estimate":
        f = self.factors
        return Estimate(estimate.scene_s * f["scene"], estimate.video_s * f["video"], estimate.files_s * f["files"],
                        {k: v * f["scene"] for k, v in estimate.stages_s.items()})


CALIBRATION = Calibration()  # this server's: the app records every finished run


@dataclass
class Estimate:
    scene_s: float
    video_s: float
    files_s: float
    stages_s: dict[str, float] = field(default_factory=dict)  # the scene build, per pipeline stage

    @property
    def total_s(self) -> float:
        return self.scene_s + self.video_s + self.files_s


def gaussians(working_size: tuple[int, int], settings: Settings) -> float:
    """About how many Gaussians a scene built at ``working_size`` holds."""
    return working_size[0] * working_size[1] * (1.0 + GAUSSIANS_PER_PIXEL_PER_VIEW * settings.num_views)


def video_seconds(working_size: tuple[int, int], settings: Settings, frames: int, video_size: tuple[int, int],
                  gpu: bool) -> float:
    """Rendering and encoding ``frames`` frames of ``video_size`` (w, h) from a scene built at ``working_size``."""
    per_frame = (VIDEO_S_PER_FRAME_GAUSSIAN * gaussians(working_size, settings)
                 + VIDEO_S_PER_FRAME_MPX * video_size[0] * video_size[1] / 1e6)
    return VIDEO_S_FIXED + frames * per_frame / (GPU_RENDER_SPEEDUP if gpu else 1.0)


def estimate_seconds(
    working_size: tuple[int, int], settings: Settings, frames: int, written_frames: int, gpu: bool,
    video_size: tuple[int, int] | None = None,
) -> Estimate:
    """Rough wall time of a run at ``working_size`` (w, h) with ``settings``: the scene build (per pipeline stage),
    a video of ``frames`` frames at ``video_size`` (default: the working size), and the files (``written_frames``
    frames in the frames zip). The table's numbers, before any calibration (``CALIBRATION.apply``)."""
    mpx = working_size[0] * working_size[1] / 1e6
    work = (mpx, settings.num_views, settings.fit_iters, gpu)
    stages_s = {stage: STAGE_COSTS[stage].seconds(*work) for stage in STAGES}
    if settings.motion == "3dmom":
        stages_s["Lifting motion to 3D"] += MOM3D_EXTRA.seconds(*work)
    video_s = video_seconds(working_size, settings, frames, video_size or working_size, gpu)
    count = gaussians(working_size, settings)
    files_s = EXPORT_S_FIXED + count * (EXPORT_S_PER_GAUSSIAN + EXPORT_S_PER_GAUSSIAN_FRAME * written_frames)
    return Estimate(sum(stages_s.values()), video_s, files_s, stages_s)


def format_duration(seconds: float) -> str:
    """'≈5 s' (the nearest 5 s up to a minute, never less than 5), '≈1.5 min', '≈12 min' (no '~': two of them strike
    text through in Markdown)."""
    if seconds < 57.5:
        return f"≈{max(5, int(math.floor(seconds / 5.0 + 0.5)) * 5)} s"
    return f"≈{seconds / 60:.0f} min" if seconds >= 600 else f"≈{seconds / 60:.1f} min"


NO_PHOTO_NOTE = "Upload a photo to see how long a run will take on this machine."


def estimate_markdown(
    device_note: str, working_size: tuple[int, int] | None, estimate: Estimate | None, frames: int = 0,
    scene_kept: bool = False, video_size: tuple[int, int] | None = None, calibrated_runs: int = 0,
) -> str:
    """The 'what runs where and how long' note under the Generate button (no numbers before there is a photo)."""
    if working_size is None or estimate is None:
        return f"{device_note}  \n{NO_PHOTO_NOTE}"
    w, h = working_size
    video = f", video {video_size[0]}×{video_size[1]}" if video_size and tuple(video_size) != (w, h) else ""
    basis = (f" (timed on this server's last {calibrated_runs} run{'s' if calibrated_runs != 1 else ''})"
             if calibrated_runs else "")
    text = (
        f"{device_note}  \n"
        f"Scene **{w}×{h}**{video}, {frames} frames. Estimate{basis}: scene {format_duration(estimate.scene_s)} · "
        f"video {format_duration(estimate.video_s)} · files {format_duration(estimate.files_s)} → "
        f"**{format_duration(estimate.total_s)}** in all."
    )
    if scene_kept:
        text += f"  \n**Re-render video** reuses this session's scene: **{format_duration(estimate.video_s)}**."
    return text
