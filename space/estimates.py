"""The Space's time estimate: how long a run will take, stage by stage, before the user presses Generate.

The scene build is priced per stage of ``landscape4d.pipeline.STAGES`` (``STAGE_COSTS``, the one table of costs);
rendering the video and writing the files are the app's two further stages. Costs are seconds on the reference
machine (2 CPU cores, the numba rasterizer), rounded up from the quality benchmark's per-stage timings
(benchmarks/quality/*/metrics.csv, balanced preset): a rough guide, not a promise.
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

STAGE_COSTS: dict[str, StageCost] = {  # keyed by landscape4d.pipeline.STAGES, in its order
    "Loading photo": StageCost(fixed_s=0.5),
    "Estimating depth and motion regions": StageCost(fixed_s=0.5, per_mpx_s=5.0),  # on the CPU everywhere
    "Generating views": StageCost(fixed_s=1.0, per_view_mpx_s=6.0, gpu_speedup=2.0),  # inpainting stays on the CPU
    "Lifting motion to 3D": StageCost(fixed_s=0.5, per_mpx_s=20.0),  # the single-view lift
    # The colour fit renders the input view only, once per step: it is not charged per generated view.
    "Fitting Gaussians": StageCost(fixed_s=0.5, per_fit_step_mpx_s=3.0, gpu_speedup=GPU_RENDER_SPEEDUP),
}
MOM3D_EXTRA = StageCost(per_view_mpx_s=5.0)  # "3dmom" motion adds each generated view's own 2D motion
VIDEO_S_FIXED = 1.0  # loading the scene, starting the encoder
VIDEO_S_PER_FRAME_MPX = 3.0  # rendering + encoding one frame per megapixel (÷ GPU_RENDER_SPEEDUP on a GPU)
EXPORT_S_PER_GAUSSIAN = 5e-5  # .splatv encoding (the static formats are ~100× cheaper); on the CPU everywhere
EXPORT_S_PER_GAUSSIAN_FRAME = 3e-6  # the frames zip, per Gaussian per written frame
GAUSSIANS_PER_PIXEL_PER_VIEW = 0.07  # what each generated view adds to the photo's one Gaussian a pixel


@dataclass
class Estimate:
    scene_s: float
    video_s: float
    files_s: float
    stages_s: dict[str, float] = field(default_factory=dict)  # the scene build, per pipeline stage

    @property
    def total_s(self) -> float:
        return self.scene_s + self.video_s + self.files_s


def estimate_seconds(
    working_size: tuple[int, int], settings: Settings, frames: int, written_frames: int, gpu: bool
) -> Estimate:
    """Rough wall time of a run at ``working_size`` (w, h) with ``settings``: the scene build (per pipeline stage),
    a video of ``frames`` frames, and the files (``written_frames`` frames in the frames zip)."""
    mpx = working_size[0] * working_size[1] / 1e6
    work = (mpx, settings.num_views, settings.fit_iters, gpu)
    stages_s = {stage: STAGE_COSTS[stage].seconds(*work) for stage in STAGES}
    if settings.motion == "3dmom":
        stages_s["Lifting motion to 3D"] += MOM3D_EXTRA.seconds(*work)
    video_s = VIDEO_S_FIXED + VIDEO_S_PER_FRAME_MPX * frames * mpx / (GPU_RENDER_SPEEDUP if gpu else 1.0)
    gaussians = mpx * 1e6 * (1.0 + GAUSSIANS_PER_PIXEL_PER_VIEW * settings.num_views)
    files_s = 1.0 + gaussians * (EXPORT_S_PER_GAUSSIAN + EXPORT_S_PER_GAUSSIAN_FRAME * written_frames)
    return Estimate(sum(stages_s.values()), video_s, files_s, stages_s)


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"~{max(5, int(math.ceil(seconds / 5.0)) * 5)} s"
    return f"~{seconds / 60:.0f} min" if seconds >= 600 else f"~{seconds / 60:.1f} min"


def estimate_markdown(
    device_note: str, working_size: tuple[int, int], estimate: Estimate, frames: int, scene_kept: bool = False
) -> str:
    """The 'what runs where and how long' note under the Generate button."""
    w, h = working_size
    text = (
        f"{device_note}  \n"
        f"Working size **{w}×{h}**, {frames} frames. Scene: **{format_duration(estimate.scene_s)}** · video: "
        f"**{format_duration(estimate.video_s)}** · files: **{format_duration(estimate.files_s)}** → about "
        f"**{format_duration(estimate.total_s)}** in all."
    )
    if scene_kept:
        again = format_duration(estimate.video_s + 1)
        text += f"  \n**Re-render video** keeps this session's scene: about **{again}**."
    return text
