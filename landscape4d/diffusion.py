"""Diffusion inpainting (disocclusions of generated views) and outpainting (the photo's border ring), via diffusers.

Both backends run one Stable Diffusion inpainting pipeline (default ``stabilityai/stable-diffusion-2-inpainting``,
CreativeML Open RAIL++-M; an 865M-parameter UNet, ~5.2 GB of fp32 weights or ~2.6 GB with the ``fp16`` variant
fetched on CUDA), loaded once per process by :func:`landscape4d.hub.load_model` and shared by the inpainter and the
outpainter. Any ``save_pretrained`` folder or Hub id that ``AutoPipelineForInpainting`` resolves works as well.

How a hole is filled (:class:`DiffusionInpainter`)
--------------------------------------------------
* **Background only.** A disocclusion lies behind the occluder that covered it (``inpaint`` module), so the model
  is asked for background (:data:`PROMPT`) and told to avoid objects (:data:`NEGATIVE_PROMPT`), and the occluder is
  hidden from its context: the hole and the occluder's band around it (``inpaint.near_side``) are replaced by the
  classic far-side fill before the image goes to the model, so the model sees background right up to the hole.
* **Mask.** The hole, dilated by ``mask_dilation_px`` at the model's resolution, so the model repaints a seam
  band and its fill meets the surroundings smoothly; a smooth colour correction (the model's offset from the
  original over a far-side band just outside the hole, push-pull interpolated) removes what is left of the seam.
* **Composite.** Only hole pixels change: every other pixel is returned bit-identical.
* **Only holes the model can paint.** A hole component narrower than :data:`MIN_HOLE_WIDTH_LATENT` of a latent cell
  at the model's resolution (the thin slivers along depth edges that most views are made of) covers less than the
  cell the model denoises, so the model cannot put texture there: such slivers get the classic far-side fill, and a
  view with no wider hole skips the model call entirely (on a 1024 px circle path, 8 of 12 views).
* **Resolution.** The frame is resized to about the model's native pixel count (``resolution``², 512² for SD 2),
  keeping its aspect, with the long side at most ``MAX_LONG_SIDE_FACTOR`` × ``resolution`` (a wide panorama is
  processed as one strip, e.g. 768×192 for 4:1, rather than tiled), each side a multiple of the UNet's stride
  (64 px for SD), then the result is resized back. Small frames are upscaled to the same size.
* **Determinism.** Each call draws its noise from a ``torch.Generator`` (CPU) seeded with ``seed``: the same input
  gives the same fill. ``steps`` defaults to :data:`DEFAULT_STEPS` (20 on CUDA, 8 on the CPU) with a multistep
  DPM-Solver++ scheduler.
* **Depth.** With a ``depth_estimator`` (a depth backend, any scale), depth is estimated on the inpainted frame
  and aligned to the known depth by a robust scale and shift in disparity over a ring of far-side pixels around
  the holes; otherwise (or when the fit fails) the classic inpainter's far-side depth is used. Either way each
  hole's depth is then clamped to be no nearer than the nearest far-side pixel on its boundary, so revealed
  background never comes in front of the occluder.

The border ring (:class:`DiffusionOutpainter`) is the same machinery with hole = everything outside the photo,
except that nothing is hidden (the ring continues whatever touches the edge, foreground included) and the depth
without an estimator is the classic mirror outpainter's (reflected log-depth); with one, the estimate is aligned on
a band of the photo along its edges. Known pixels come back bit for bit.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from .hub import ModelRef, default_dtype, hub_kwargs, load_model
from .inpaint import ClassicInpainter, near_side, push_pull_fill
from .outpaint import MirrorOutpainter, known_box
from .settings import DEFAULT_INPAINT_MODEL

if TYPE_CHECKING:
    from .depth import DepthEstimator

log = logging.getLogger("landscape4d.diffusion")

PROMPT = "landscape background, natural continuation of the scene, seamless, same lighting, photograph"
NEGATIVE_PROMPT = ("people, person, animals, buildings, vehicles, text, watermark, signature, logo, frame, border, "
                   "objects, foreground object, blurry, seam")
DEFAULT_STEPS = {"cuda": 20, "cpu": 8}
GUIDANCE_SCALE = 7.0
MASK_DILATION_PX = 4  # at the model's resolution: the seam band the model repaints around each hole
MAX_LONG_SIDE_FACTOR = 1.5  # the processed long side is at most this × the model's native resolution
SEAM_BAND_PX = 4  # (at the frame's resolution, at least) far-side band whose colour offset corrects the fill
ALIGN_RING_FRACTION = 0.03  # depth alignment ring around holes (× the frame's long side, at least 4 px)
MIN_ALIGN_PIXELS = 16  # fewer known ring pixels than this: no fit, the classic depth is used
MIN_HOLE_WIDTH_LATENT = 0.5  # thinner hole components (at the model's resolution, in latent cells) get the classic fill
FARTHEST_FACTOR = 1.25  # aligned depth is at most this × the farthest known depth
_CALL_LOCK = threading.Lock()  # a pipeline (its scheduler state) serves one call at a time (a Space's threads)


def _load_pipeline(ref: ModelRef, device: torch.device, dtype: torch.dtype) -> Any:
    """An inpainting pipeline of ``ref`` on ``device`` (hub.load_model calls this once per process)."""
    from diffusers import AutoPipelineForInpainting, DPMSolverMultistepScheduler

    kwargs: dict[str, Any] = dict(torch_dtype=dtype, safety_checker=None, **hub_kwargs(ref))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # torch_dtype → dtype rename, old scheduler configs
        pipe = None
        if dtype == torch.float16 and not ref.local:
            try:  # half the download where the repository has the fp16 variant (SD 2 inpainting does)
                pipe = AutoPipelineForInpainting.from_pretrained(ref.name, variant="fp16", **kwargs)
            except Exception as error:  # noqa: BLE001 - no such variant (or not cached): the full-precision files
                log.info("%s: no fp16 variant (%s), loading the default weights", ref, type(error).__name__)
        if pipe is None:
            pipe = AutoPipelineForInpainting.from_pretrained(ref.name, **kwargs)
        try:
            pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
        except Exception as error:  # noqa: BLE001 - keep the model's own scheduler
            log.info("%s keeps its %s scheduler (%s)", ref, type(pipe.scheduler).__name__, error)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def processing_size(height: int, width: int, resolution: int, multiple: int) -> tuple[int, int]:
    """(height, width) the model works at: about ``resolution``² pixels, the aspect of the frame, the long side at
    most ``MAX_LONG_SIDE_FACTOR`` × ``resolution``, both sides multiples of ``multiple``."""
    scale = min(resolution / np.sqrt(height * width), MAX_LONG_SIDE_FACTOR * resolution / max(height, width))
    return (max(multiple, int(round(height * scale / multiple)) * multiple),
            max(multiple, int(round(width * scale / multiple)) * multiple))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _disk(radius)).astype(bool) if radius > 0 else mask.copy()


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def align_depth(estimate: np.ndarray, depth_m: np.ndarray, fit: np.ndarray) -> np.ndarray | None:
    """``estimate`` (depth, any scale) brought to the scale of ``depth_m`` by a robust scale and shift of its
    disparity fitted on the ``fit`` pixels (iteratively reweighted least squares, Huber weights). None when there
    are too few pixels or the fit is degenerate (non-positive scale)."""
    fit = fit & np.isfinite(estimate) & (estimate > 0) & np.isfinite(depth_m) & (depth_m > 0)
    if fit.sum() < MIN_ALIGN_PIXELS:
        return None
    x = 1.0 / estimate[fit].astype(np.float64)
    y = 1.0 / depth_m[fit].astype(np.float64)
    weights = np.ones_like(x)
    scale, shift = 0.0, 0.0
    for _ in range(8):
        design = np.stack([x, np.ones_like(x)], axis=-1) * np.sqrt(weights)[:, None]
        (scale, shift), *_ = np.linalg.lstsq(design, y * np.sqrt(weights), rcond=None)
        residual = np.abs(y - (scale * x + shift))
        spread = 1.4826 * np.median(residual) + 1e-9 * max(float(np.abs(y).max()), 1e-12)
        weights = np.minimum(1.0, 1.5 * spread / np.maximum(residual, 1e-30))
    if not np.isfinite(scale) or scale <= 0:
        return None
    farthest = FARTHEST_FACTOR * float(depth_m[np.isfinite(depth_m) & (depth_m > 0)].max())
    disparity = scale / np.maximum(estimate.astype(np.float64), 1e-12) + shift
    return (1.0 / np.maximum(disparity, 1.0 / farthest)).astype(np.float32)


def far_side_floor(depth_m: np.ndarray, hole: np.ndarray, far_ring: np.ndarray) -> np.ndarray:
    """[H,W] per hole pixel: the nearest depth of the far-side ring pixels around its connected hole (0 where a
    hole has no far-side ring: no constraint)."""
    count, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(depth_m.shape, np.float32)
    # Each ring pixel belongs to a hole it touches (the largest label within the ring's reach).
    reach = cv2.dilate(labels.astype(np.float32), _disk(1 + _ring_px(depth_m.shape)))
    owner = reach[far_ring].astype(np.int64)
    floor = np.full(count, np.inf)
    np.minimum.at(floor, owner, depth_m[far_ring].astype(np.float64))
    floor[~np.isfinite(floor)] = 0.0
    floor[0] = 0.0
    return np.where(hole, floor[labels], 0.0).astype(np.float32)


def _ring_px(shape: tuple[int, ...]) -> int:
    return max(4, round(ALIGN_RING_FRACTION * max(shape[:2])))


class _DiffusionFill:
    """The shared machinery: the loaded pipeline, and one masked generation at the model's resolution."""

    def __init__(
        self,
        model: str = DEFAULT_INPAINT_MODEL,
        device: torch.device | str = "cpu",
        *,
        seed: int = 0,
        depth_estimator: "DepthEstimator | None" = None,
        steps: int | None = None,
        guidance_scale: float = GUIDANCE_SCALE,
        resolution: int | None = None,
        mask_dilation_px: int = MASK_DILATION_PX,
        prompt: str = PROMPT,
        negative_prompt: str = NEGATIVE_PROMPT,
    ) -> None:
        self.model = str(model)
        self.device = torch.device(device)
        self.dtype = default_dtype(self.device)
        self.pipe = load_model(_load_pipeline, self.model, self.device, self.dtype)  # ModelUnavailable names it
        self.seed = int(seed)
        self.depth_estimator = depth_estimator
        self.steps = int(steps or DEFAULT_STEPS["cuda" if self.device.type == "cuda" else "cpu"])
        self.guidance_scale = float(guidance_scale)
        self.mask_dilation_px = int(mask_dilation_px)
        self.prompt, self.negative_prompt = prompt, negative_prompt
        scale_factor = int(getattr(self.pipe, "vae_scale_factor", 8))
        unet_config = getattr(getattr(self.pipe, "unet", None), "config", None)
        native = int(getattr(unet_config, "sample_size", 64) or 64) * scale_factor
        self.resolution = int(resolution or native)
        levels = len(getattr(unet_config, "block_out_channels", (0,))) if unet_config is not None else 1
        self.multiple = max(8, scale_factor * 2 ** max(0, levels - 1))

    def generate(self, context: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The model's [H,W,3] float32 frame for ``context`` [H,W,3] with ``mask`` [H,W] bool to be painted."""
        from PIL import Image

        height, width = mask.shape
        proc_h, proc_w = processing_size(height, width, self.resolution, self.multiple)
        small = cv2.resize(context.astype(np.float32), (proc_w, proc_h), interpolation=cv2.INTER_AREA)
        # Any covered fraction counts, so one-pixel slivers survive downscaling.
        small_mask = cv2.resize(mask.astype(np.float32), (proc_w, proc_h), interpolation=cv2.INTER_AREA) > 0
        small_mask = _dilate(small_mask, self.mask_dilation_px)
        generator = torch.Generator("cpu").manual_seed(self.seed)  # CPU noise: the same fill on any device
        with _CALL_LOCK, torch.inference_mode():
            result = self.pipe(
                prompt=self.prompt, negative_prompt=self.negative_prompt,
                image=Image.fromarray(_to_uint8(small)), mask_image=Image.fromarray(small_mask.astype(np.uint8) * 255),
                height=proc_h, width=proc_w, num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                strength=1.0, generator=generator, output_type="np",
            )
        frame = np.asarray(result.images[0], np.float32)
        if frame.shape[:2] != (height, width):
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_CUBIC)
        return np.clip(np.nan_to_num(frame), 0.0, 1.0)

    def model_scale(self, shape: tuple[int, ...]) -> float:
        """Model pixels per frame pixel for a frame of ``shape``."""
        proc_h, proc_w = processing_size(shape[0], shape[1], self.resolution, self.multiple)
        return float(np.sqrt(proc_h * proc_w / (shape[0] * shape[1])))

    def paintable(self, hole: np.ndarray) -> np.ndarray:
        """The components of ``hole`` at least ``MIN_HOLE_WIDTH_LATENT`` latent cells wide at the model's resolution
        (width = twice the largest distance from inside the component to its outline)."""
        count, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
        if count <= 1:
            return np.zeros(hole.shape, bool)
        # Padded so the frame border does not count as an outline: a hole running off the frame is as wide as it is.
        distance = cv2.distanceTransform(np.pad(hole, 1, mode="edge").astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        widest = np.zeros(count, np.float32)
        np.maximum.at(widest, labels.ravel(), distance.ravel())
        cell_px = float(getattr(self.pipe, "vae_scale_factor", 8))
        wide = 2.0 * widest * self.model_scale(hole.shape) >= MIN_HOLE_WIDTH_LATENT * cell_px
        wide[0] = False  # label 0 is the known pixels
        return wide[labels]

    def fill_colour(self, image: np.ndarray, context: np.ndarray, hole: np.ndarray, trusted: np.ndarray) -> np.ndarray:
        """``image`` with its ``hole`` pixels painted by the model from ``context``; the fill's colour offset from
        the original over the ``trusted`` pixels of a band just outside the hole is removed smoothly."""
        generated = self.generate(context, hole)
        band_px = max(SEAM_BAND_PX, int(np.ceil(self.mask_dilation_px * max(hole.shape) / self.resolution)))
        band = _dilate(hole, band_px) & ~hole & trusted
        if band.sum() >= 4:
            # Smooth: the offset corrects tone, the model's own texture stays.
            offset = push_pull_fill(image.astype(np.float32) - generated, band)
            generated = generated + cv2.GaussianBlur(offset, (0, 0), float(band_px)).reshape(generated.shape)
        return np.where(hole[..., None], np.clip(generated, 0.0, 1.0), image).astype(np.float32)

    def estimated_depth(self, image: np.ndarray, depth_m: np.ndarray, fit: np.ndarray) -> np.ndarray | None:
        """The depth estimator's depth of ``image`` aligned to ``depth_m`` on ``fit`` pixels (None without an
        estimator or when the alignment fails)."""
        if self.depth_estimator is None:
            return None
        from .regions import RegionMasks

        empty = np.zeros(depth_m.shape, bool)  # a generated frame has no region masks of its own
        estimate = np.asarray(self.depth_estimator(image, RegionMasks(empty, empty.copy())), np.float32)
        if estimate.shape != depth_m.shape:
            raise ValueError(f"depth estimator returned shape {estimate.shape}, expected {depth_m.shape}")
        aligned = align_depth(estimate, depth_m, fit)
        if aligned is None:
            log.warning("diffusion fill: the estimated depth could not be aligned; using the weight-free depth fill")
        return aligned


class DiffusionInpainter(_DiffusionFill):
    """Inpainter backend (``inpaint.Inpainter``): disocclusions filled with background by a diffusion model, the
    occluder hidden from its context; depth from the aligned depth estimator or the classic far-side fill, never
    nearer than the hole's far side (module docstring)."""

    def __call__(self, image: np.ndarray, depth_m: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hole = np.asarray(hole, bool)
        if not hole.any():
            return image, depth_m
        image = np.asarray(image, np.float32)
        depth_m = np.asarray(depth_m, np.float32)
        classic = ClassicInpainter()
        wide = self.paintable(hole)
        if not wide.any():  # slivers only: nothing the model could paint (module docstring)
            return classic(image, depth_m, hole)
        if not np.array_equal(wide, hole):  # slivers take the classic fill first, then count as known
            filled_image, filled_depth = classic(image, depth_m, hole)
            thin = hole & ~wide
            image = np.where(thin[..., None], filled_image, image).astype(np.float32)
            depth_m = np.where(thin, filled_depth, depth_m).astype(np.float32)
            hole = wide
        near = near_side(depth_m, hole)
        exclude = hole | near
        if exclude.all():
            raise ValueError("nothing to inpaint from: the whole view is a hole")
        try:  # background colour over the hole and the occluder's band
            hidden, _ = classic(image, depth_m, exclude)
            context = np.where(exclude[..., None], hidden, image)
        except ValueError:  # the band hides everything: show the model the classic hole fill only
            context = classic(image, depth_m, hole)[0]
        image_out = self.fill_colour(image, context, hole, trusted=~exclude)

        far_ring = _dilate(hole, _ring_px(hole.shape)) & ~exclude & np.isfinite(depth_m) & (depth_m > 0)
        fill = self.estimated_depth(image_out, depth_m, far_ring)
        if fill is None:
            _, fill = classic(image, depth_m, hole)
        fill = np.maximum(fill, far_side_floor(depth_m, hole, far_ring))
        depth_out = np.where(hole, fill, depth_m).astype(np.float32)
        return image_out, depth_out


class DiffusionOutpainter(_DiffusionFill):
    """Outpainter backend (``outpaint.Outpainter``): the border ring painted by a diffusion model from the whole
    photo; depth from the aligned depth estimator, else the mirror outpainter's. Known pixels come back unchanged."""

    def __call__(self, image: np.ndarray, depth_m: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        known = np.asarray(known, bool)
        if known.all():
            return image, depth_m
        known_box(known)  # the known pixels must form a rectangle
        image = np.asarray(image, np.float32)
        depth_m = np.asarray(depth_m, np.float32)
        ring = ~known
        mirrored, mirrored_depth = MirrorOutpainter()(image, depth_m, known)
        image_out = self.fill_colour(image, np.where(known[..., None], image, mirrored), ring, trusted=known)

        edge_band = _dilate(ring, _ring_px(ring.shape)) & known
        fill = self.estimated_depth(image_out, np.where(known, depth_m, np.nan).astype(np.float32), edge_band)
        if fill is None:
            fill = mirrored_depth
        image_out = np.where(known[..., None], image, image_out).astype(np.float32)
        depth_out = np.where(known, depth_m, np.maximum(fill, 1e-6)).astype(np.float32)
        return image_out, depth_out


__all__ = ["DEFAULT_STEPS", "MIN_HOLE_WIDTH_LATENT", "NEGATIVE_PROMPT", "PROMPT", "DiffusionInpainter", "DiffusionOutpainter", "align_depth",
           "far_side_floor", "processing_size"]
