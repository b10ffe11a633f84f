"""A tiny random semantic segmentation model of the class the default regions model loads
(``openmmlab/upernet-convnext-small``: ``UperNetForSemanticSegmentation`` with a ConvNeXt backbone, and the
``SegformerImageProcessor`` its ``preprocessor_config.json`` declares), written with ``save_pretrained`` so tests
load it through the real code path (``AutoModelForSemanticSegmentation`` / ``AutoImageProcessor``), offline.
Random weights: its labels are arbitrary, only shapes, dtypes and the loading path mean anything."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

ADE_STYLE_LABELS = {0: "wall", 1: "sky", 2: "tree", 3: "water", 4: "sea", 5: "road, route"}


def save_tiny_segmentation(folder: Path, id2label: Mapping[int, str] = ADE_STYLE_LABELS, size: int = 64,
                           seed: int = 0) -> Path:
    """Write a tiny random UperNet-ConvNeXt with ``id2label`` and its image processor (``size``² input) to
    ``folder``; returns ``folder``."""
    import torch
    from transformers import ConvNextConfig, UperNetConfig, UperNetForSemanticSegmentation

    try:  # transformers 5 without torchvision: the PIL backend writes the same "SegformerImageProcessor" config
        from transformers import SegformerImageProcessorPil as Processor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import SegformerImageProcessor as Processor

    folder = Path(folder)
    id2label = {int(i): str(name) for i, name in id2label.items()}
    backbone = ConvNextConfig(num_channels=3, hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1],
                              out_features=["stage1", "stage2", "stage3", "stage4"])
    config = UperNetConfig(backbone_config=backbone, hidden_size=16, auxiliary_in_channels=32, auxiliary_channels=8,
                           pool_scales=[1, 2, 3, 6], num_labels=len(id2label), id2label=id2label,
                           label2id={name: i for i, name in id2label.items()})
    torch.manual_seed(seed)
    UperNetForSemanticSegmentation(config).eval().save_pretrained(folder)
    Processor(size={"height": size, "width": size}, do_reduce_labels=False).save_pretrained(folder)
    return folder
