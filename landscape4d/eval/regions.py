"""Region quality: is what moves the sky and the water, and does it move the right way?

Scored against a reference *fluid mask* (white = sky or water; hand-made, or exact from the generator of the procedural examples) and, where one exists, a reference
motion field, both stored next to the photos as ``<stem>_fluid_mask.png`` and ``<stem>_motion.npy`` (the
StyleCineGAN layout: float32 [1, 2, h, w], x then y component, any units; only the direction is compared).

* **mask version**: the moving region the pipeline asks for (``Flow2D.moving``, or sky ∪ water of the region
  estimator) against the reference;
* **rendered version**: the pixels that *visibly* move in the static-camera video — rendered frames at several loop
  phases from the input camera, a pixel moves if its colour changes by more than ``VISIBLE_LEVELS`` 8-bit levels
  from the t = 0 frame in any of them.

Both are scored on *textured* pixels only (``metrics.textured_mask`` of the photo: Shi–Tomasi), because motion
of a flat patch is invisible and a flat patch is neither right nor wrong to move. Pixels within ``OUTLINE_VOID_PX``
of the reference's outline are left out too (a *void* border, as PASCAL VOC's segmentation benchmark leaves a
5-px band): an outline pixel is part sky, part roof, and the pixel beside it carries the outline's blur and
sharpening halo; the pipeline keeps motion a Gaussian's footprint inside every outline on purpose, so that roofs
and trees are not dragged. Under a flat sky almost every textured reference pixel is such a rim pixel, so the
strict scores (no void border; ``*_strict`` values) measure the rim more than the regions. Both are reported.
Precision = |P ∧ R| / |P|, recall = |P ∧ R| / |R|, IoU = |P ∧ R| / |P ∨ R| over the scored pixels (NaN where the denominator is empty; IoU of
two empty masks is 1). Direction: mean unsigned angle between our requested field and the reference field over
the pixels both move (each above 10 % of its own median speed there).

``python -m landscape4d.eval.regions PHOTOS… [--masks DIR]`` scores the region estimator alone (seconds a photo,
no scene is built).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import metrics as M

MASK_SUFFIX = "_fluid_mask.png"
MOTION_SUFFIX = "_motion.npy"
VISIBLE_LEVELS = 8.0  # a rendered pixel moves when its colour changes by more than this (8-bit levels)
MIN_SPEED_SHARE = 0.1  # direction: a pixel counts as moving above this share of its field's median speed
OUTLINE_VOID_PX = 2  # reference pixels this close to its outline (either side) are not scored


@dataclass(frozen=True)
class RegionScores:
    precision: float
    recall: float
    iou: float
    predicted_share: float  # of the scored pixels
    reference_share: float
    pixels: int  # scored pixels


@dataclass
class Reference:
    """A photo's reference masks at one size: ``fluid`` [H,W] bool, ``motion`` [H,W,2] (x, y) or None."""

    fluid: np.ndarray
    motion: np.ndarray | None = None
    source: str = ""

    def resized(self, shape: tuple[int, int]) -> Reference:
        height, width = int(shape[0]), int(shape[1])
        fluid = self.fluid
        if fluid.shape != (height, width):
            fluid = cv2.resize(fluid.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) > 0.5
        motion = None if self.motion is None else resize_field(self.motion, (height, width))
        return Reference(fluid, motion, self.source)


@dataclass
class RegionQuality:
    """Everything the report shows for one photo (NaN where a reference or a render is missing)."""

    mask: RegionScores | None = None
    rendered: RegionScores | None = None
    mask_strict: RegionScores | None = None  # the same without the void border at the reference's outline
    rendered_strict: RegionScores | None = None
    angle_deg: float = float("nan")  # requested field vs reference field, all moving pixels
    angle_sky_deg: float = float("nan")
    angle_water_deg: float = float("nan")
    values: dict[str, float] = field(default_factory=dict)

    def as_values(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for prefix, scores in (("region", self.mask), ("visible", self.rendered), ("region_strict", self.mask_strict),
                               ("visible_strict", self.rendered_strict)):
            for key in ("precision", "recall", "iou"):
                out[f"{prefix}_{key}"] = getattr(scores, key) if scores is not None else float("nan")
        out["region_angle_deg"] = self.angle_deg
        out["region_angle_sky_deg"] = self.angle_sky_deg
        out["region_angle_water_deg"] = self.angle_water_deg
        return out


def scores(predicted: np.ndarray, reference: np.ndarray, valid: np.ndarray | None = None) -> RegionScores:
    """Precision, recall and IoU of ``predicted`` against ``reference`` over ``valid`` pixels (all if None)."""
    predicted, reference = np.asarray(predicted, bool), np.asarray(reference, bool)
    if predicted.shape != reference.shape:
        raise ValueError(f"predicted {predicted.shape} and reference {reference.shape} masks differ in size")
    valid = np.ones(predicted.shape, bool) if valid is None else np.asarray(valid, bool)
    p, r = predicted[valid], reference[valid]
    both, either = int((p & r).sum()), int((p | r).sum())
    n_p, n_r, n = int(p.sum()), int(r.sum()), int(valid.sum())
    nan = float("nan")
    return RegionScores(
        precision=both / n_p if n_p else nan,
        recall=both / n_r if n_r else nan,
        iou=both / either if either else (1.0 if n else nan),
        predicted_share=n_p / n if n else nan,
        reference_share=n_r / n if n else nan,
        pixels=n,
    )


def outline_band(mask: np.ndarray, width_px: int = OUTLINE_VOID_PX) -> np.ndarray:
    """[H,W] bool: the pixels within ``width_px`` of ``mask``'s outline, on either side (image borders are no
    outline)."""
    mask = np.asarray(mask, bool)
    if width_px <= 0:
        return np.zeros(mask.shape, bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width_px + 1, 2 * width_px + 1))
    grown = cv2.dilate(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    shrunk = cv2.erode(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    return grown & ~shrunk


def visibly_moving(frames: list[np.ndarray] | np.ndarray, levels: float = VISIBLE_LEVELS) -> np.ndarray:
    """[H,W] bool: pixels whose colour differs from frame 0 by more than ``levels`` (8-bit, any channel) in any
    later frame. Frames are uint8 or float in [0,1] [H,W,3] from one static camera."""
    frames = [M.to_float01(f) for f in frames]
    first = frames[0]
    change = np.zeros(first.shape[:2])
    for frame in frames[1:]:
        change = np.maximum(change, np.abs(frame - first).max(axis=-1) * M.LEVELS)
    return change > levels


def resize_field(motion: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A motion field [h,w,2] or [1,2,h,w] / [2,h,w] resized to [H,W,2], components scaled with the axes (so a
    direction in the picture stays the same direction)."""
    motion = np.asarray(motion, np.float32)
    if motion.ndim == 4:
        motion = motion[0]
    if motion.ndim == 3 and motion.shape[0] == 2 and motion.shape[-1] != 2:
        motion = np.moveaxis(motion, 0, -1)
    if motion.ndim != 3 or motion.shape[-1] != 2:
        raise ValueError(f"a motion field must be [h,w,2] or [1,2,h,w], got {motion.shape}")
    height, width = int(shape[0]), int(shape[1])
    h, w = motion.shape[:2]
    out = cv2.resize(motion, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return out


def direction_error_deg(ours: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean unsigned angle (degrees) between two fields [H,W,2] over ``mask`` pixels where both move (each above
    ``MIN_SPEED_SHARE`` of its own median speed over the mask); NaN where there are none."""
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    region = np.ones(ours.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    speed_o, speed_r = np.linalg.norm(ours, axis=-1), np.linalg.norm(reference, axis=-1)
    region = region & (speed_o > 0) & (speed_r > 0)
    if not region.any():
        return float("nan")
    region &= speed_o > MIN_SPEED_SHARE * np.median(speed_o[region])
    region &= speed_r > MIN_SPEED_SHARE * np.median(speed_r[region]) if region.any() else region
    if not region.any():
        return float("nan")
    return float(np.mean(M.angle_between_deg(ours[region], reference[region])))


def evaluate_regions(
    image: np.ndarray,
    moving: np.ndarray,
    reference: Reference,
    flow: np.ndarray | None = None,
    sky: np.ndarray | None = None,
    water: np.ndarray | None = None,
    frames: list[np.ndarray] | None = None,
) -> RegionQuality:
    """Region quality of one photo at the working size (see the module docstring).

    ``moving`` [H,W] bool: the requested moving region; ``flow`` [H,W,2] the requested field (direction);
    ``sky`` / ``water`` split the direction error by region; ``frames``: static-camera renders at loop phases
    (the first at t = 0) for the rendered version.
    """
    shape = np.asarray(moving).shape
    reference = reference.resized(shape)
    textured = M.textured_mask(image)
    scored = textured & ~outline_band(reference.fluid)
    out = RegionQuality(mask=scores(moving, reference.fluid, scored), mask_strict=scores(moving, reference.fluid, textured))
    if frames is not None and len(frames) > 1:
        visible = visibly_moving(frames)
        out.rendered = scores(visible, reference.fluid, scored)
        out.rendered_strict = scores(visible, reference.fluid, textured)
    if flow is not None and reference.motion is not None:
        both = np.asarray(moving, bool) & reference.fluid
        out.angle_deg = direction_error_deg(flow, reference.motion, both)
        if sky is not None:
            out.angle_sky_deg = direction_error_deg(flow, reference.motion, both & np.asarray(sky, bool))
        if water is not None:
            out.angle_water_deg = direction_error_deg(flow, reference.motion, both & np.asarray(water, bool))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Finding and reading reference masks


def reference_dirs(photo: str | Path, extra: list[str | Path] | None = None) -> list[Path]:
    """Where a photo's reference masks may be: the given folders, then the photo's folder, its ``masks/``
    subfolder and a ``masks/`` folder beside it (``photos/`` + ``masks/``)."""
    folder = Path(photo).resolve().parent
    dirs = [Path(d) for d in (extra or [])] + [folder, folder / "masks", folder.parent / "masks"]
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def find_reference(photo: str | Path, extra: list[str | Path] | None = None) -> Reference | None:
    """The reference (fluid mask, motion field if present) of ``photo``, or None where there is no mask."""
    stem = Path(photo).stem
    for folder in reference_dirs(photo, extra):
        mask_path = folder / f"{stem}{MASK_SUFFIX}"
        if mask_path.is_file():
            return load_reference(mask_path, folder / f"{stem}{MOTION_SUFFIX}")
    return None


def load_reference(mask_path: str | Path, motion_path: str | Path | None = None) -> Reference:
    from PIL import Image

    with Image.open(mask_path) as image:
        array = np.asarray(image.convert("L"))
    fluid = array > 127
    motion = None
    if motion_path is not None and Path(motion_path).is_file():
        motion = resize_field(np.load(motion_path, allow_pickle=False), fluid.shape)
    return Reference(fluid, motion, str(mask_path))


# ---------------------------------------------------------------------------------------------------------------
# Command line: the region estimator alone


def score_estimator(photo: str | Path, reference: Reference, long_side: int = 512, estimator: Any = None) -> RegionQuality:
    """Region quality of the region estimator's sky ∪ water on ``photo`` at ``long_side`` (mask version only;
    direction against the default 2D field of those regions)."""
    from ..flow2d import motion_field
    from ..photo import load_photo
    from ..regions import estimate_regions

    working = load_photo(photo, long_side)
    regions = estimate_regions(working.image, estimator)
    moving = regions.sky | regions.water
    flow = None
    if reference.motion is not None and moving.any():
        flow = motion_field(moving.shape, regions.sky, regions.water, 30.0).flow_px_per_frame
    return evaluate_regions(working.image, moving, reference, flow, regions.sky, regions.water)


def main(argv: list[str] | None = None) -> int:
    from .report import fmt

    parser = argparse.ArgumentParser(prog="python -m landscape4d.eval.regions",
                                     description="Score the automatic motion regions against reference fluid masks.")
    parser.add_argument("photos", nargs="+", help="photos or folders of photos")
    parser.add_argument("--masks", action="append", default=[], help="folder with <stem>_fluid_mask.png (repeatable)")
    parser.add_argument("--long-side", type=int, default=512)
    args = parser.parse_args(argv)
    from .__main__ import list_photos

    photos = [p for source in args.photos for p in list_photos(Path(source))]
    print(f"Textured pixels, outside a {OUTLINE_VOID_PX}-px void border at the reference's outline; *strict IoU*: with it.")
    print()
    print("| photo | precision | recall | IoU | strict IoU | moving % | reference % | angle ° (sky / water) |")
    print("|---|---|---|---|---|---|---|---|")
    for photo in photos:
        reference = find_reference(photo, args.masks)
        if reference is None:
            continue
        q = score_estimator(photo, reference, args.long_side)
        s = q.mask
        print(f"| {photo.stem} | {fmt(s.precision)} | {fmt(s.recall)} | {fmt(s.iou)} | {fmt(q.mask_strict.iou)} | "
              f"{fmt(s.predicted_share, 'pct')} | "
              f"{fmt(s.reference_share, 'pct')} | {fmt(q.angle_deg, 'f0')} ({fmt(q.angle_sky_deg, 'f0')} / "
              f"{fmt(q.angle_water_deg, 'f0')}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
