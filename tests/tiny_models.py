"""Tiny random models of the exact classes the model backends load, saved like a Hub checkout.

They exercise the real loading and inference code (``from_pretrained`` from a local folder, the model's own image
processor, HF_HUB_OFFLINE=1) in a few hundred milliseconds, without any weights being downloaded. Their outputs
are random: tests built on them check plumbing (shapes, dtypes, caching, orientation of the conversions), never
semantics.
"""

from __future__ import annotations

from pathlib import Path

TINY_IMAGE_SIZE = 56  # 4 × 14 patches: the processor resizes the short side to this (multiple of 14)


def save_tiny_depth_anything(folder: Path) -> Path:
    """A random ``DepthAnythingForDepthEstimation`` (DINOv2 backbone, 32 channels, 2 layers) and its
    ``DPTImageProcessor`` (size 56, aspect kept, multiple of 14), saved in ``folder``; returns ``folder``.

    Loadable with ``AutoModelForDepthEstimation`` / ``AutoImageProcessor.from_pretrained(folder)`` exactly as
    ``depth-anything/Depth-Anything-V2-Small-hf`` is. About 75 k parameters (≈ 0.3 MB), drawn with a wide
    initializer (0.1) so that the output varies across the image instead of sitting at the head's ReLU zero."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config
    from transformers.models.dpt.image_processing_pil_dpt import DPTImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    backbone = Dinov2Config(
        image_size=TINY_IMAGE_SIZE,
        patch_size=14,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        out_features=["stage1", "stage2"],
        out_indices=[1, 2],
        reshape_hidden_states=False,
        apply_layernorm=True,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        patch_size=14,
        reassemble_hidden_size=32,
        reassemble_factors=[2, 1],
        neck_hidden_sizes=[16, 32],
        fusion_hidden_size=16,
        head_hidden_size=8,
        depth_estimation_type="relative",
        initializer_range=0.1,  # the default 0.02 gives an output of ~1e-7, mostly exactly 0
    )
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(config).eval()
    model.save_pretrained(folder)
    processor = DPTImageProcessorPil(
        size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
        keep_aspect_ratio=True,
        ensure_multiple_of=14,
        do_pad=False,
        resample=3,  # PIL bicubic, as the released Depth Anything processors
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    processor.save_pretrained(folder)
    return folder


__all__ = ["TINY_IMAGE_SIZE", "save_tiny_depth_anything"]
