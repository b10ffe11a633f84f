"""Brute-force reference rasterizer: every pixel against every splat, in pure torch (autograd gives gradients).

It reproduces gsplat's per-pixel compositing rules exactly, without tiles:

* splats sorted front to back by depth (float32 keys, ties by index — gsplat's stable radix sort);
* ``alpha = min(0.999, opacity · exp(-sigma))``; skipped if ``sigma < 0`` or ``alpha < 1/255``;
* front-to-back ``T ← T (1 - alpha)``; the splat that would bring T to ``≤ 1e-4`` and everything behind it is
  dropped (gsplat's exclusive early stop);
* pixel centres at ``(x + 0.5, y + 0.5)``.

O(pixels × splats) memory and time: tests and small images only.
"""

from __future__ import annotations

import torch

from .projection import ALPHA_THRESHOLD, ProjectedGaussians

ALPHA_MAX = 0.999  # gsplat clamps alpha to 0.999 (so 1 - alpha never reaches 0)
TRANSMITTANCE_MIN = 1e-4  # gsplat stops a pixel when T would fall to or below this


def rasterize_reference_2d(
    projected: ProjectedGaussians,
    colors: torch.Tensor,
    opacities: torch.Tensor,
    width: int,
    height: int,
    max_pixels_per_chunk: int = 4096,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Composite projected splats; returns premultiplied rgb [H,W,3], alpha [H,W], depth [H,W] (Σ wᵢ zᵢ)."""
    index = torch.nonzero(projected.valid, as_tuple=False).squeeze(-1)
    dtype, device = colors.dtype, colors.device
    if index.numel() == 0:
        zero = (colors.sum() + opacities.sum()) * 0.0  # keeps the outputs attached to the graph
        rgb = torch.zeros(height, width, 3, dtype=dtype, device=device) + zero
        alpha = torch.zeros(height, width, dtype=dtype, device=device) + zero
        return rgb, alpha, alpha.clone()
    order = torch.argsort(projected.depths[index].detach().float(), stable=True)
    index = index[order]
    means2d = projected.means2d[index]
    conics = projected.conics[index]
    opac = opacities[index]
    # Depth rides along as a 4th colour channel, exactly as gsplat's "RGB+D" mode does it.
    features = torch.cat([colors[index], projected.depths[index, None]], dim=-1)

    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=dtype, device=device) + 0.5,
        torch.arange(width, dtype=dtype, device=device) + 0.5,
        indexing="ij",
    )
    pixels = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)
    outputs = []
    for start in range(0, pixels.shape[0], max_pixels_per_chunk):
        outputs.append(_composite(pixels[start : start + max_pixels_per_chunk], means2d, conics, opac, features))
    out = torch.cat(outputs, dim=0)
    rgb = out[:, :3].reshape(height, width, 3)
    depth = out[:, 3].reshape(height, width)
    alpha = out[:, 4].reshape(height, width)
    return rgb, alpha, depth


def _composite(
    pixels: torch.Tensor, means2d: torch.Tensor, conics: torch.Tensor, opac: torch.Tensor, features: torch.Tensor
) -> torch.Tensor:
    """[P,5]: accumulated features (4) and alpha for pixel centres [P,2] over depth-sorted splats [G]."""
    delta = means2d[None, :, :] - pixels[:, None, :]  # gsplat: mean - pixel
    dx, dy = delta[..., 0], delta[..., 1]
    sigma = 0.5 * (conics[:, 0] * dx * dx + conics[:, 2] * dy * dy) + conics[:, 1] * dx * dy
    alpha = torch.clamp(opac * torch.exp(-sigma), max=ALPHA_MAX)
    keep = (sigma >= 0) & (alpha >= ALPHA_THRESHOLD)
    alpha = torch.where(keep, alpha, torch.zeros_like(alpha))
    one_minus = 1.0 - alpha
    t_after = torch.cumprod(one_minus, dim=1)
    # T only decreases, so "T after this splat > 1e-4" is exactly the set of splats before the early stop.
    contributes = keep & (t_after > TRANSMITTANCE_MIN)
    t_before = torch.cat([torch.ones_like(t_after[:, :1]), t_after[:, :-1]], dim=1)
    weights = torch.where(contributes, alpha * t_before, torch.zeros_like(alpha))
    accumulated = weights @ features
    t_final = torch.where(contributes, one_minus, torch.ones_like(one_minus)).prod(dim=1)
    return torch.cat([accumulated, (1.0 - t_final)[:, None]], dim=-1)


__all__ = ["ALPHA_MAX", "TRANSMITTANCE_MIN", "rasterize_reference_2d"]
