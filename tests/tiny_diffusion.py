"""A tiny random Stable Diffusion inpainting pipeline, built locally (no download), for tests.

Built the way diffusers' own pipeline tests build theirs: a 2-level UNet with 9 input channels (4 latent + 1 mask +
4 masked-image latent), a 2-level VAE, a 2-layer CLIP text encoder and a CLIP tokenizer whose byte-level BPE
vocabulary is written here (the 256 byte characters and their end-of-word forms plus the two special tokens, no
merges), so nothing is fetched from the Hub. ``save_tiny_inpainting(folder)`` writes it with ``save_pretrained``;
the backend then loads it through the same ``from_pretrained`` path as a real model. Weights are random (seeded):
outputs are noise, but shapes, masking, compositing, determinism and loading are all exercised for real.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_SIZE = 64  # px: the pipeline's native resolution (UNet sample_size 32 × VAE scale factor 2)


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's (GPT-2's) reversible byte → printable unicode character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in characters)))


def write_tiny_tokenizer_files(folder: Path) -> int:
    """vocab.json and merges.txt of a byte-level CLIP BPE with no merges; returns the vocabulary size."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return len(vocab)


def build_tiny_inpainting(seed: int = 0):
    """The tiny random ``StableDiffusionInpaintPipeline`` (CPU, fp32)."""
    import tempfile

    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=9, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=(2, 4), norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, sample_size=64,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
    )
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    with tempfile.TemporaryDirectory() as scratch:
        vocab_size = write_tiny_tokenizer_files(Path(scratch))
        tokenizer = CLIPTokenizer(str(Path(scratch) / "vocab.json"), str(Path(scratch) / "merges.txt"), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, layer_norm_eps=1e-5,
        vocab_size=max(1000, vocab_size), max_position_embeddings=77,
    ))
    return StableDiffusionInpaintPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def save_tiny_inpainting(folder: Path) -> Path:
    """Write the tiny pipeline to ``folder`` with ``save_pretrained`` (a model reference for the backend)."""
    folder = Path(folder)
    build_tiny_inpainting().save_pretrained(folder)
    return folder


__all__ = ["TINY_SIZE", "build_tiny_inpainting", "save_tiny_inpainting", "write_tiny_tokenizer_files"]
