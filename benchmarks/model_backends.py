"""Time the model backends (issue O) with randomly initialised models of the REAL sizes, per photo.

No weights can be downloaded on the benchmark machines, so each model is built from its published architecture
(Depth Anything V2 Small and Large, UperNet-ConvNeXt-Small with 150 ADE20K classes, a Stable-Diffusion-2-inpainting
UNet/VAE/text encoder), given random weights, saved with ``save_pretrained`` and loaded back through the library's
own backends by folder — the same code path a Space runs with the real checkpoints. Times and memory are real;
the pictures are noise, so nothing here says anything about quality.

    python benchmarks/model_backends.py [--photo examples/china.jpg] [--upscale 2] [--long-side 1024]
                                        [--configs classic,depth-small,...] [--steps N] [--out FILE.md]

Prints a Markdown table: model load time, each build stage, the whole build (models loaded), peak GPU memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d import Settings, build  # noqa: E402
from landscape4d.backends import resolve_backends  # noqa: E402
from landscape4d.hub import release_models  # noqa: E402

ADE_WATER_LIKE = {2: "sky", 21: "water", 26: "sea", 60: "river", 104: "fountain", 109: "swimming pool", 113: "waterfall",
                  128: "lake"}


def save_depth_anything(folder: Path, size: str) -> Path:
    """Depth Anything V2 Small or Large (the hf conversion's configuration), random weights."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    small = size == "small"
    backbone = Dinov2Config(
        image_size=518, patch_size=14, hidden_size=384 if small else 1024, num_hidden_layers=12 if small else 24,
        num_attention_heads=6 if small else 16, intermediate_size=4 * (384 if small else 1024),
        out_indices=[3, 6, 9, 12] if small else [5, 12, 18, 24],
        out_features=[f"stage{i}" for i in ([3, 6, 9, 12] if small else [5, 12, 18, 24])], reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone, patch_size=14, reassemble_hidden_size=backbone.hidden_size,
        neck_hidden_sizes=[48, 96, 192, 384] if small else [256, 512, 1024, 1024],
        fusion_hidden_size=64 if small else 256, head_hidden_size=32, depth_estimation_type="relative",
    )
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    DPTImageProcessor(size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14, do_pad=False,
                      resample=3, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder


def save_upernet(folder: Path) -> Path:
    """UperNet with a ConvNeXt-Small backbone and 150 ADE20K classes (water-like names where ADE20K has them)."""
    from transformers import ConvNextConfig, SegformerImageProcessor, UperNetConfig, UperNetForSemanticSegmentation

    id2label = {i: ADE_WATER_LIKE.get(i, f"class {i}") for i in range(150)}
    backbone = ConvNextConfig(hidden_sizes=[96, 192, 384, 768], depths=[3, 3, 27, 3],
                              out_features=["stage1", "stage2", "stage3", "stage4"])
    config = UperNetConfig(backbone_config=backbone, hidden_size=512, auxiliary_in_channels=384, num_labels=150,
                           id2label=id2label, label2id={v: k for k, v in id2label.items()})
    UperNetForSemanticSegmentation(config).save_pretrained(folder)
    SegformerImageProcessor(size={"height": 512, "width": 512}, do_reduce_labels=False).save_pretrained(folder)
    return folder


def _byte_level_tokenizer(folder: Path) -> None:
    """A CLIP tokenizer with only byte-level tokens (no merges): sequence lengths, not words, matter here."""
    from transformers import CLIPTokenizer

    codes = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, n = [chr(c) for c in codes], 0
    for b in range(256):
        if b not in codes:
            chars.append(chr(256 + n))
            n += 1
    vocab = {token: i for i, token in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    tokens = folder / "tokenizer_src"
    tokens.mkdir(parents=True, exist_ok=True)
    (tokens / "vocab.json").write_text(json.dumps(vocab))
    (tokens / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(tokens / "vocab.json"), str(tokens / "merges.txt"), model_max_length=77)  # as SD2's


def save_sd2_inpainting(folder: Path) -> Path:
    """A Stable-Diffusion-2-inpainting-sized pipeline (UNet 865 M, VAE 84 M, OpenCLIP-H text encoder 340 M)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet = UNet2DConditionModel(
        sample_size=64, in_channels=9, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512,
    )
    tokenizer = _byte_level_tokenizer(folder)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23, projection_dim=512,
        hidden_act="gelu", vocab_size=max(49408, len(tokenizer)), max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id,
    ))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon")
    pipe = StableDiffusionInpaintPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                          scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                          requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


CONFIGS = {
    "classic": {},
    "depth-small": {"depth": "depth-anything", "depth_model": "da_small"},
    "depth-large": {"depth": "depth-anything", "depth_model": "da_large"},
    "segmentation": {"regions": "segmentation", "segmentation_model": "upernet"},
    "diffusion": {"inpainter": "diffusion", "outpainter": "diffusion", "inpaint_model": "sd2"},
    "models": {"depth": "depth-anything", "depth_model": "da_small", "regions": "segmentation",
               "segmentation_model": "upernet", "inpainter": "diffusion", "outpainter": "diffusion", "inpaint_model": "sd2"},
}
BUILDERS = {"da_small": lambda f: save_depth_anything(f, "small"), "da_large": lambda f: save_depth_anything(f, "large"),
            "upernet": save_upernet, "sd2": save_sd2_inpainting}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photo", default="examples/china.jpg")
    p.add_argument("--upscale", type=float, default=2.0, help="enlarge the photo first (the example is 640 px wide)")
    p.add_argument("--long-side", type=int, default=None, help="working long side (default: 1024 GPU / 512 CPU)")
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--models-dir", default=None, help="where the random models are saved (default: a temp folder)")
    p.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = p.parse_args()

    image = cv2.cvtColor(cv2.imread(args.photo, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if args.upscale != 1:
        image = cv2.resize(image, None, fx=args.upscale, fy=args.upscale, interpolation=cv2.INTER_CUBIC)
    cuda = torch.cuda.is_available()
    device_name = torch.cuda.get_device_name(0) if cuda else f"CPU ({platform.processor() or platform.machine()})"
    models_dir = Path(args.models_dir or tempfile.mkdtemp(prefix="l4d-models-"))
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    needed = sorted({v for c in configs for k, v in CONFIGS[c].items() if k.endswith("_model")})
    save_s = {}
    for name in needed:
        folder = models_dir / name
        if not (folder / "config.json").is_file() and not (folder / "model_index.json").is_file():
            t = time.perf_counter()
            torch.manual_seed(0)
            BUILDERS[name](folder)
            save_s[name] = time.perf_counter() - t
        size_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
        print(f"model {name}: {size_mb:,.0f} MB on disk (built and saved in {save_s.get(name, 0):.1f} s)", flush=True)

    rows, failures = [], []
    for config in configs:
        changes = {k: (str(models_dir / v) if k.endswith("_model") else v) for k, v in CONFIGS[config].items()}
        settings = Settings(long_side=args.long_side, **changes)
        for run in ("cold", "warm"):
            if run == "cold":
                release_models()
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t = time.perf_counter()
            backends, _ = resolve_backends(settings)  # loads the models (once per process: warm runs reuse them)
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            try:
                result = build(image, settings, backends=backends)
            except Exception as exc:  # noqa: BLE001 - one configuration's failure is reported, the others still run
                failures.append(f"{config} ({run}): {type(exc).__name__}: {exc}")
                print(failures[-1], flush=True)
                break
            if cuda:
                torch.cuda.synchronize()
            build_s = time.perf_counter() - t
            peak_gb = torch.cuda.max_memory_allocated() / 1e9 if cuda else float("nan")
            timings = result.timings_s
            rows.append((config, run, result.photo.width, result.photo.height, load_s, timings.get("depth_regions", 0),
                         timings.get("views", 0), timings.get("motion", 0), timings.get("fit", 0), build_s, peak_gb,
                         len(result.scene.gaussians)))
            print(rows[-1], flush=True)
            del result, backends

    lines = [
        "# Model backends with real-size random weights: time and memory per photo",
        "",
        f"Command: `python benchmarks/model_backends.py {' '.join(sys.argv[1:])}`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{device_name}, torch {torch.__version__}. Photo: `{args.photo}` ×{args.upscale:g}. Random weights: the "
        "times and memory are those of the real architectures; the pictures are noise (no quality can be measured).",
        "'cold' loads the models from disk first (not counted in build); 'warm' reuses them (a Space's later requests).",
        "",
        "| config | run | size | model load s | depth + regions s | views s | motion s | fit s | build s | peak GPU GB | Gaussians |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c, run, w, h, load, dr, views, motion, fit, total, peak, n in rows:
        lines.append(f"| {c} | {run} | {w}×{h} | {load:.2f} | {dr:.2f} | {views:.2f} | {motion:.2f} | {fit:.2f} | {total:.2f} | "
                     f"{peak:.2f} | {n:,} |")
    lines += [f"\nFailed: {failure}" for failure in failures]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
