"""Sky and water regions from a semantic segmentation model (transformers, ADE20K label set).

The default model is ``openmmlab/upernet-convnext-small`` (UperNet with a ConvNeXt-S backbone trained on ADE20K's
150 classes; Hub licence tag MIT; weights a 328 MB ``pytorch_model.bin``; its processor is a
``SegformerImageProcessor`` at 512×512). Any ``AutoModelForSemanticSegmentation`` whose ``config.id2label`` names a
sky or a water class works the same way, e.g. ``openmmlab/upernet-convnext-{tiny,base,large,xlarge}`` (MIT) or
``nvidia/segformer-b0..b5-finetuned-ade-*`` (Hub licence tag "other": NVIDIA's SegFormer licence, which allows
non-commercial use only). A model reference is a Hub id (``org/name[@revision]``)
or a ``save_pretrained`` folder (``landscape4d.hub``).

Labels are mapped to the two motion kinds by *name*, case-insensitively; a label such as ``"waterfall, falls"`` is
split into its synonyms at commas (and ``/ ; |``), and COCO-stuff style suffixes (``"sky-other"``) are dropped:

- sky: ``sky``, ``cloud(s)``, ``fog``, ``mist``, ``haze`` — whichever of them the label set has (ADE20K: ``sky``)
- water: ``water``, ``sea``, ``ocean``, ``river``, ``lake``, ``pond``, ``stream``, ``creek``, ``waterfall`` /
  ``falls``, ``fountain``, ``swimming pool``, ``wave(s)`` (ADE20K: water, sea, river, lake, waterfall, fountain,
  swimming pool)

Per pixel, the probability of a kind is the sum of the softmax of its labels (logits upsampled to the photo's
size first); a pixel belongs to the kind — sky, water or other — with the largest probability. Each connected part
of a kind (parts under ``min_part_fraction`` of the photo are dropped) becomes a :class:`Region` whose confidence
is the mean probability of its kind over the part, with the evidence ``"segmentation: sky 0.93 (model)"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..hub import ModelRef, ModelUnavailable, default_dtype, hub_kwargs, load_model
from . import KINDS, MIN_PART_FRACTION, Region, RegionMasks

SKY_NAMES = frozenset({"sky", "cloud", "clouds", "fog", "mist", "haze"})
WATER_NAMES = frozenset({"water", "sea", "ocean", "river", "lake", "pond", "stream", "creek", "waterfall", "falls",
                         "fountain", "swimming pool", "swimming bath", "natatorium", "wave", "waves"})
KIND_NAMES = {"sky": SKY_NAMES, "water": WATER_NAMES}
CLASS_CHUNK = 16  # classes upsampled at once (bounds memory: 16 × H × W floats)

__all__ = ["KIND_NAMES", "SegmentationRegions", "kind_probabilities", "label_kinds", "regions_from_probabilities"]


def _synonyms(label: str) -> set[str]:
    names = set()
    for part in re.split(r"[,/;|]", str(label).lower()):
        part = " ".join(part.replace("_", " ").split())
        if part:
            names |= {part, part.split("-")[0].strip()}  # "sky-other-merged" → "sky"
    return names


def label_kinds(id2label: Mapping[Any, str]) -> dict[str, list[int]]:
    """{"sky": [label ids], "water": [label ids]} from a model's ``id2label``, matched by name (module docstring)."""
    kinds: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for index, label in sorted(((int(i), name) for i, name in id2label.items())):
        names = _synonyms(label)
        for kind in KINDS:
            if names & KIND_NAMES[kind]:
                kinds[kind].append(index)
                break
    return kinds


def kind_probabilities(logits: torch.Tensor, kinds: Mapping[str, list[int]], size: tuple[int, int]) -> np.ndarray:
    """Probabilities [3, H, W] float32 of (sky, water, other) from class logits [C, h, w] upsampled (bilinear) to
    ``size`` = (H, W) and softmaxed over the classes. The upsampling runs a few classes at a time with a running
    maximum (an online softmax), so memory stays small for 150 classes at photo size."""
    logits = logits.detach().float()
    if logits.ndim != 3:
        raise ValueError(f"logits must be [C, h, w], got shape {tuple(logits.shape)}")
    height, width = int(size[0]), int(size[1])
    classes = logits.shape[0]
    members = torch.zeros(len(KINDS), classes, dtype=torch.bool)
    for row, kind in enumerate(KINDS):
        members[row, list(kinds.get(kind, []))] = True
    running_max = total = sums = None
    for start in range(0, classes, CLASS_CHUNK):
        chunk = logits[start : start + CLASS_CHUNK]
        if chunk.shape[-2:] != (height, width):
            chunk = torch.nn.functional.interpolate(chunk[None], size=(height, width), mode="bilinear",
                                                    align_corners=False)[0]
        chunk_max = chunk.max(dim=0).values
        if running_max is None:
            running_max = chunk_max
            total = torch.zeros_like(chunk_max)
            sums = torch.zeros((len(KINDS), height, width), dtype=chunk.dtype, device=chunk.device)
        else:
            new_max = torch.maximum(running_max, chunk_max)
            scale = torch.exp(running_max - new_max)
            total, sums, running_max = total * scale, sums * scale, new_max
        weights = torch.exp(chunk - running_max)
        total += weights.sum(dim=0)
        chunk_members = members[:, start : start + CLASS_CHUNK].to(chunk.device)
        for row in range(len(KINDS)):
            if chunk_members[row].any():
                sums[row] += weights[chunk_members[row]].sum(dim=0)
    kind_probs = (sums / total).clamp(0.0, 1.0)
    other = (1.0 - kind_probs.sum(dim=0, keepdim=True)).clamp(0.0, 1.0)
    return torch.cat([kind_probs, other]).cpu().numpy().astype(np.float32)


def regions_from_probabilities(
    probabilities: np.ndarray, model_name: str = "segmentation", min_part_fraction: float = MIN_PART_FRACTION
) -> RegionMasks:
    """RegionMasks from (sky, water, other) probabilities [3, H, W]: the argmax kind per pixel, one Region per
    connected part (8-connected; parts under ``min_part_fraction`` of the photo dropped), confidence = the mean
    probability of its kind over the part; sky / water are the accepted regions, most confident first."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 3 or probabilities.shape[0] != len(KINDS) + 1:
        raise ValueError(f"probabilities must be [{len(KINDS) + 1}, H, W] (sky, water, other), got {probabilities.shape}")
    shape = probabilities.shape[1:]
    winner = probabilities.argmax(axis=0)
    regions: list[Region] = []
    for row, kind in enumerate(KINDS):
        mask = winner == row
        if not mask.any():
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] < min_part_fraction * mask.size:
                continue
            part = labels == label
            confidence = float(probabilities[row][part].mean())
            regions.append(Region(kind, part, confidence, f"segmentation: {kind} {confidence:.2f} ({model_name})"))
    regions.sort(key=lambda r: (-r.confidence, -r.share))
    sky = np.zeros(shape, bool)
    water = np.zeros(shape, bool)
    for region in regions:
        if region.accepted:
            (sky if region.kind == "sky" else water)[region.mask] = True
    return RegionMasks(sky=sky, water=water & ~sky, regions=regions)


def _load_segmentation(ref: ModelRef, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation

    processor = AutoImageProcessor.from_pretrained(ref.name, **hub_kwargs(ref))
    model = AutoModelForSemanticSegmentation.from_pretrained(ref.name, dtype=dtype, **hub_kwargs(ref))
    return model.to(device).eval(), processor


class SegmentationRegions:
    """Regions estimator (``RegionEstimator``) backed by a transformers semantic segmentation model (module
    docstring). The model is loaded once per process and device (``landscape4d.hub.load_model``)."""

    def __init__(self, model: str, device: torch.device | str = "cpu", min_part_fraction: float = MIN_PART_FRACTION):
        self.reference = str(model)
        self.device = torch.device(device)
        self.dtype = default_dtype(self.device)
        self.min_part_fraction = min_part_fraction
        try:
            ref = ModelRef.parse(self.reference)
        except ValueError as error:  # a missing folder or a malformed id: the model cannot load, say which
            raise ModelUnavailable(f"could not load model {self.reference}: {error}") from error
        self.model, self.processor = load_model(_load_segmentation, self.reference, self.device, self.dtype)
        self.name = Path(ref.name).name or self.reference
        id2label = getattr(self.model.config, "id2label", None) or {}
        self.kinds = label_kinds(id2label)
        if not any(self.kinds.values()):
            shown = ", ".join(repr(v) for _, v in sorted((int(k), v) for k, v in id2label.items())[:8])
            raise ValueError(f"segmentation model {self.reference} has no sky or water label (its labels: "
                             f"{shown or 'none'}{', …' if len(id2label) > 8 else ''}); use an ADE20K model such as "
                             "openmmlab/upernet-convnext-small")

    @torch.no_grad()
    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """(sky, water, other) probabilities [3, H, W] of ``image`` [H, W, 3] (float RGB in [0, 1] or uint8)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be [H,W,3] RGB, got shape {image.shape}")
        if image.dtype != np.uint8:
            image = (np.clip(image.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        inputs = self.processor(images=image, return_tensors="pt", input_data_format="channels_last")
        pixels = inputs["pixel_values"].to(self.device, self.dtype)
        logits = self.model(pixel_values=pixels).logits[0]
        return kind_probabilities(logits, self.kinds, image.shape[:2])

    def __call__(self, image: np.ndarray) -> RegionMasks:
        return regions_from_probabilities(self.probabilities(image), self.name, self.min_part_fraction)

    def __repr__(self) -> str:
        return f"SegmentationRegions({self.reference!r}, device={str(self.device)!r})"
