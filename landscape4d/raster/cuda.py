"""gsplat backend: the same render through ``gsplat.rasterization`` on CUDA tensors.

gsplat is imported lazily, so this module imports (and the test-suite skips) cleanly on machines without CUDA or
gsplat. The call pins every option the other backends hard-code (eps2d 0.3, near 0.01, far 1e10, radius_clip 0,
classic mode, 16-px tiles) so a gsplat upgrade that changes a default cannot silently change our renders.
"""

from __future__ import annotations

import importlib
import importlib.util

import torch

from .projection import EPS2D, FAR_PLANE, NEAR_PLANE

GSPLAT_PIP = "pip install gsplat==1.5.3"  # the version requirements.txt pins
# Every option the other backends hard-code, pinned so a gsplat upgrade that changes a default cannot change renders.
PINNED_OPTIONS = {"near_plane": NEAR_PLANE, "far_plane": FAR_PLANE, "radius_clip": 0.0, "eps2d": EPS2D, "packed": False,
                  "tile_size": 16, "rasterize_mode": "classic"}


def gsplat_available() -> bool:
    """True when gsplat can be imported (without importing it: that compiles/loads CUDA code)."""
    return importlib.util.find_spec("gsplat") is not None


def _import_gsplat():  # noqa: ANN202 - module type
    try:
        return importlib.import_module("gsplat")
    except ImportError as exc:
        raise ImportError(
            f"the 'gsplat' raster backend needs gsplat with CUDA support; install it with: {GSPLAT_PIP}"
        ) from exc


def rasterize_gsplat(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    world_to_camera: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    background: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """rgb [H,W,3] (background composited), alpha [H,W], depth [H,W] (Σ wᵢ zᵢ, gsplat's "D") via gsplat.

    Inputs are CUDA tensors with the shapes of :func:`landscape4d.raster.rasterize`. gsplat works in float32;
    other float dtypes are converted on the way in and the outputs converted back.
    """
    gsplat = _import_gsplat()
    if not means.is_cuda:
        raise ValueError(f"the 'gsplat' raster backend needs CUDA tensors, got means on {means.device}")
    dtype = means.dtype
    f32 = [t.to(torch.float32) for t in (means, quats, scales, opacities, colors)]
    viewmat = world_to_camera.to(device=means.device, dtype=torch.float32)[None]
    intrinsics = K.to(device=means.device, dtype=torch.float32)[None]
    backgrounds = None if background is None else background.to(device=means.device, dtype=torch.float32)[None]
    render, alphas, _meta = gsplat.rasterization(
        *f32,
        viewmat,
        intrinsics,
        width,
        height,
        backgrounds=backgrounds,
        render_mode="RGB+D",  # accumulated (unnormalised) depth in channel 3; gsplat composites no bg into it
        **PINNED_OPTIONS,
    )
    rgb = render[0, :, :, :3].to(dtype)
    depth = render[0, :, :, 3].to(dtype)
    alpha = alphas[0, :, :, 0].to(dtype)
    return rgb, alpha, depth


def rasterize_gsplat_frames(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    world_to_camera: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """B frames in one gsplat call, each its own Gaussian state seen by its own camera (a video's frames).

    means [B,N,3], opacities [B,N], colors [B,N,3] per frame; quats [N,4] and scales [N,3] shared (animation moves
    Gaussians, it never turns or resizes them); world_to_camera [B,4,4], K [B,3,3]. Returns rgb [B,H,W,3]
    (premultiplied: no background) and alpha [B,H,W], float32, with exactly :func:`rasterize_gsplat`'s options.
    """
    gsplat = _import_gsplat()
    if not means.is_cuda:
        raise ValueError(f"the 'gsplat' raster backend needs CUDA tensors, got means on {means.device}")
    frames = means.shape[0]
    f32 = torch.float32
    render, alphas, _meta = gsplat.rasterization(
        means.to(f32),
        quats.to(f32).expand(frames, -1, -1),
        scales.to(f32).expand(frames, -1, -1),
        opacities.to(f32),
        colors.to(f32),
        world_to_camera.to(device=means.device, dtype=f32)[:, None],  # [B, C=1, 4, 4]
        K.to(device=means.device, dtype=f32)[:, None],
        width,
        height,
        render_mode="RGB",
        **PINNED_OPTIONS,
    )
    return render[:, 0], alphas[:, 0, :, :, 0]


__all__ = ["GSPLAT_PIP", "gsplat_available", "rasterize_gsplat", "rasterize_gsplat_frames"]
