"""Depth Anything V2 through transformers: the ``"depth-anything"`` depth backend.

Models
------
Any ``AutoModelForDepthEstimation`` checkpoint of the Depth Anything family, named by a model reference
(``landscape4d.hub``: a Hub id ``org/name[@revision]`` or a local ``save_pretrained`` folder), with the model's own
image processor (``AutoImageProcessor``: the ``DPTImageProcessor`` of the checkpoint — short side resized to 518 px
keeping the aspect ratio, sides multiples of 14, bicubic, ImageNet mean/std).

==========================================  ============  ===========  =============
Hub id                                      parameters    download     licence
==========================================  ============  ===========  =============
depth-anything/Depth-Anything-V2-Small-hf   ~25 M         ~100 MB      Apache-2.0
depth-anything/Depth-Anything-V2-Base-hf    ~97 M         ~390 MB      CC-BY-NC-4.0
depth-anything/Depth-Anything-V2-Large-hf   ~335 M        ~1.3 GB      CC-BY-NC-4.0
==========================================  ============  ===========  =============

The default (``Settings.depth_model``) is **Small**, the only size under a licence that allows commercial use;
Base and Large are non-commercial (CC-BY-NC-4.0) — pick them only where that is acceptable. Weights load once per
process (``hub.load_model``), in fp16 on CUDA and fp32 on the CPU, in eval mode, moved to the device once.

Disparity → depth (:func:`disparity_to_depth`)
----------------------------------------------
Relative Depth Anything models output *relative disparity*: larger = nearer, affine-invariant (unknown scale
**and** shift), so ``1 / d`` is not a depth until the shift is fixed. The mapping:

1. ``lo`` / ``hi`` = the 1st / 99th percentiles of the non-sky disparity (all pixels when everything is sky);
   ``t = (d − lo) / (hi − lo)`` puts the farthest content at 0 and the nearest at 1 (``t`` < 0 is clamped to 0;
   ``t`` is capped at 1 / MIN_DEPTH so an outlier cannot reach zero depth).
2. ``depth = 1 / (t + ε)`` with ``ε = 1 / (R − 1)``: the non-sky far/near ratio (99th / 1st percentile of depth,
   the percentiles ``normalize_depth`` uses) is exactly ``R`` = :data:`FAR_NEAR_RATIO` = 30.

Why 30: the true shift of a landscape's disparity is unknowable from one photo (mountains kilometres away would
give ratios of thousands, which the convention clips to 50 anyway). 30 is what the weight-free ``ClassicDepth``
produces — its ground plane spans ``GROUND_RANGE`` = 30 and its p99/p1 ratio is 26–29 on examples/china.jpg and the
shared landscape photos — so switching the depth backend changes the *shape* of the depth (what is in front of
what, and by how much relative to the rest) but not the overall depth budget the cameras, views and fills of the
later stages are tuned for. It also stays inside the convention's [0.25, 50] range with room for the sky shell.

Sky pixels (``regions.sky``) take no part in the percentiles; they go through the same monotone mapping (the model
usually sees them as the farthest) and stay finite, and ``normalize_depth`` then puts them on the sky shell.
Non-finite disparities (NaN, −inf) count as the farthest content, +inf as the nearest. A disparity with no spread
(a blank wall, a random test model) gives a flat depth of 1.

Checkpoints whose config says ``depth_estimation_type == "metric"`` (Depth-Anything-V2-Metric-*) already output
metric z-depth (larger = farther); their output is used as is (made finite and positive).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..hub import ModelRef, hub_kwargs, load_model
from ..settings import DEFAULT_DEPTH_MODEL
from . import FAR_PERCENTILE, MIN_DEPTH, NEAR_PERCENTILE

if TYPE_CHECKING:
    from ..regions import RegionMasks

log = logging.getLogger("landscape4d.depth.models")

FAR_NEAR_RATIO = 30.0  # non-sky depth p99/p1 after the disparity shift: ClassicDepth's GROUND_RANGE (docstring)
FLAT_SPREAD = 1e-6  # (hi − lo) / max(|hi|, |lo|) below this: the disparity has no spread, the depth is flat


def disparity_to_depth(
    disparity: np.ndarray, sky: np.ndarray | None = None, far_near_ratio: float = FAR_NEAR_RATIO
) -> np.ndarray:
    """Relative disparity [H,W] (larger = nearer, any scale and shift) → positive z-depth [H,W] float32 whose non-sky
    99th/1st percentile ratio is ``far_near_ratio`` (module docstring). Sky pixels do not shape the mapping."""
    if far_near_ratio <= 1.0:
        raise ValueError(f"far_near_ratio must be > 1, got {far_near_ratio}")
    d = np.asarray(disparity, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"disparity must be [H,W], got shape {d.shape}")
    sky_mask = np.zeros(d.shape, bool) if sky is None else np.asarray(sky, dtype=bool)
    if sky_mask.shape != d.shape:
        raise ValueError(f"sky mask has shape {sky_mask.shape}, expected {d.shape}")
    finite = np.isfinite(d)
    reference = finite & ~sky_mask
    if not reference.any():  # all sky (or no finite non-sky value): the whole photo sets the range
        reference = finite
    if not reference.any():
        return np.ones(d.shape, np.float32)
    lo, hi = (float(v) for v in np.percentile(d[reference], [NEAR_PERCENTILE, FAR_PERCENTILE]))
    spread = hi - lo
    if not spread > FLAT_SPREAD * max(abs(hi), abs(lo)) or spread <= 0.0:
        return np.ones(d.shape, np.float32)
    d = np.nan_to_num(d, nan=lo, posinf=hi, neginf=lo)
    eps = 1.0 / (far_near_ratio - 1.0)
    t = np.clip((d - lo) / spread, 0.0, 1.0 / MIN_DEPTH)
    return (1.0 / (t + eps)).astype(np.float32)


@dataclass
class _LoadedDepthModel:
    model: Any  # a transformers AutoModelForDepthEstimation, eval mode, on its device
    processor: Any  # the checkpoint's own image processor
    metric: bool  # True: the output is metric z-depth; False: relative disparity


def _load_depth_anything(ref: ModelRef, device: torch.device, dtype: torch.dtype) -> _LoadedDepthModel:
    from transformers import AutoImageProcessor, AutoModelForDepthEstimation

    kwargs = hub_kwargs(ref)
    processor = AutoImageProcessor.from_pretrained(ref.name, **kwargs)
    model = AutoModelForDepthEstimation.from_pretrained(ref.name, dtype=dtype, **kwargs)
    model.eval().requires_grad_(False).to(device)
    metric = getattr(model.config, "depth_estimation_type", "relative") == "metric"
    return _LoadedDepthModel(model, processor, metric)


class DepthAnythingDepth:
    """Depth Anything (V2) as a depth backend: ``(image [H,W,3] RGB in [0,1], regions) → z-depth [H,W] > 0`` in the
    scale of :func:`disparity_to_depth` (``normalize_depth`` then applies the convention). Module docstring."""

    def __init__(self, model: str = DEFAULT_DEPTH_MODEL, device: torch.device | str = "cpu",
                 far_near_ratio: float = FAR_NEAR_RATIO, dtype: torch.dtype | None = None) -> None:
        self.reference = str(model)
        self.device = torch.device(device)
        self.far_near_ratio = far_near_ratio
        loaded = load_model(_load_depth_anything, self.reference, self.device, dtype)  # None: fp16 on CUDA
        self.model = loaded.model
        self.processor = loaded.processor
        self.metric = loaded.metric
        self.dtype = next(self.model.parameters()).dtype

    def predict(self, image: np.ndarray) -> np.ndarray:
        """The model's raw output (relative disparity, or metric depth for metric checkpoints) at the image's
        size [H,W] float32: run at the processor's size, then resized (bicubic, antialiased when shrinking)."""
        image = np.asarray(image, dtype=np.float32)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be [H,W,3] RGB, got shape {image.shape}")
        height, width = image.shape[:2]
        pixels = np.round(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
        inputs = self.processor(images=pixels, return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device, self.dtype)
        with torch.no_grad():
            predicted = self.model(pixel_values=pixel_values).predicted_depth
            predicted = predicted.reshape(1, 1, *predicted.shape[-2:]).float()  # fp16 on CUDA → fp32
            shrinking = predicted.shape[-2] * predicted.shape[-1] > height * width
            resized = torch.nn.functional.interpolate(
                predicted, size=(height, width), mode="bicubic", align_corners=False, antialias=shrinking
            )
        return resized[0, 0].cpu().numpy().astype(np.float32)

    def __call__(self, image: np.ndarray, regions: "RegionMasks | np.ndarray") -> np.ndarray:
        output = self.predict(image)
        sky = np.asarray(getattr(regions, "sky", regions), dtype=bool)
        if sky.shape != output.shape:
            raise ValueError(f"sky mask has shape {sky.shape}, expected {output.shape}")
        if self.metric:
            return _metric_depth(output)
        return disparity_to_depth(output, sky, self.far_near_ratio)


def _metric_depth(depth: np.ndarray) -> np.ndarray:
    """A metric checkpoint's z-depth made finite and positive (non-finite or ≤ 0 → the farthest value)."""
    depth = np.asarray(depth, dtype=np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    if not valid.any():
        return np.ones(depth.shape, np.float32)
    far = float(depth[valid].max())
    floor = max(float(depth[valid].min()), far * 1e-4)
    return np.where(valid, np.maximum(depth, floor), far).astype(np.float32)


__all__ = ["DEFAULT_DEPTH_MODEL", "DepthAnythingDepth", "FAR_NEAR_RATIO", "disparity_to_depth"]
