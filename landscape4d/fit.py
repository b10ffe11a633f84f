"""Refine a GaussianSet's colours against the photo: a bounded linear least-squares solve (conjugate gradients).

Why a solver and not a per-pixel copy: the rasterizer widens every footprint by gsplat's ``eps2d`` low-pass
(σ² + 0.3 px²), so a pixel's Gaussian (σ = 0.35 px) still lays ≈ 30 % opacity on each of its four neighbours, and
where neighbours sit a hair nearer the camera they cover most of a pixel before its own Gaussian is drawn. The
render from the input camera is the photo blurred by a 3×3-ish, depth-order dependent kernel. Inverting it on
smooth content needs small corrections; on a 1-px dark branch against a bright sky it needs colours *outside*
[0, 1] (the branch darker than black so that it shows dark through the sky Gaussians in front of it, the sky beside
it brighter than white so that it survives the branch's tails). A [0, 1] colour fit (the old sigmoid-logit Adam)
therefore stalls there: 23 dB on a constructed thin-branch image, whatever the number of steps.

With geometry and opacities fixed, the rendered image is *linear* in the colours (``rgb = A c``: the weights
αᵢ·Tᵢ do not depend on colours), so the fit is a least-squares problem. CGLS solves it in a handful of
iterations, each one rasterizer forward plus one backward (the cost of one Adam step): the forward of the search
direction gives ``A p``, and the backward of the same graph with the new residual as output gradient gives
``Aᵀ r``. On the CPU, ``A`` itself is built once as a sparse matrix of the rasterizer's compositing weights
(two traversals of the tile lists) and every iteration is a pair of sparse products: the same solve, several
times faster than rasterizer passes. Colours are kept in ``COLOR_RANGE`` (one unit of headroom on either side of [0, 1]) by an active set: after every
round of ``ROUND_ITERS`` iterations colours past a bound are clamped and frozen, and CG restarts on the rest.
Gaussians the input camera does not see (background layers, the backdrop under moving content) get almost no gradient
and keep their colours. Geometry, opacities and scales stay fixed: they come from depth and guarantee coverage
from every camera on the paths, which a photometric loss on one view cannot see (fitting means, or means and scales, did
raise the PSNR but opened holes along the paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from numba import njit, prange

from .camera import Camera
from .gaussians import GaussianSet
from .raster import rasterize_gaussians
from .views import View

# Colours may leave [0, 1] by up to one unit so that the solve can undo the footprints' overlap around thin, high-contrast
# detail. Only Gaussians next to such detail use the headroom (a few % of them); renders are clipped to [0, 1] by
# ``render.to_uint8`` and exporters that store 8-bit colours clip per splat (there the old blur comes back).
COLOR_RANGE = (-1.0, 2.0)
ROUND_ITERS = 5  # CG iterations between active-set updates (clamp + freeze colours at a bound, restart)
TINY = 1e-20


@dataclass
class FitReport:
    losses: list[float]  # mean squared error of the source render after each iteration (before the final clamp)
    source_psnr_db: float


def psnr_db(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """PSNR in dB of two images in [0,1] (inf when identical)."""
    mse = float(((torch.as_tensor(a, dtype=torch.float64) - torch.as_tensor(b, dtype=torch.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * float(np.log10(1.0 / mse))


class _RasterOperator:
    """``A c`` by a rasterizer forward of colours ``c``; ``Aᵀ r`` by the backward of that same graph."""

    def __init__(self, gaussians: GaussianSet, camera: Camera) -> None:
        self.gaussians, self.camera = gaussians, camera

    def forward(self, colors: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        leaf = colors.detach().clone().requires_grad_(True)
        rgb = rasterize_gaussians(self.gaussians.replace(colors=leaf), self.camera).rgb
        return rgb.detach(), (rgb, leaf)

    def adjoint(self, handle: tuple[torch.Tensor, torch.Tensor], residual: torch.Tensor) -> torch.Tensor:
        rgb, leaf = handle
        (grad,) = torch.autograd.grad(rgb, leaf, residual)
        return grad


class _SparseOperator:
    """``A`` as a sparse matrix of the CPU rasterizer's compositing weights (``raster.cpu.splat_weights``): the same
    products as :class:`_RasterOperator`, each a sparse product instead of a rasterizer pass. The weights are
    grouped once by pixel (for ``A c``) and once by Gaussian (for ``Aᵀ r``), so both products run in parallel
    over their output rows without write conflicts."""

    def __init__(self, gaussians: GaussianSet, camera: Camera) -> None:
        from .raster.cpu import camera_arrays, project_numpy, splat_weights

        g = gaussians.detach()
        arrays = [t.contiguous().numpy() for t in (g.means, g.quats, g.scales, g.opacities, g.colors)]
        splats, radii = project_numpy(*arrays, *camera_arrays(camera.world_to_camera, camera.K, g.means.dtype),
                                      camera.width, camera.height)
        pixels, ids, weights = splat_weights(splats, radii, camera.width, camera.height)
        self.by_pixel = _grouped(pixels, ids, weights, camera.height * camera.width)
        self.by_gaussian = _grouped(ids, pixels, weights, len(g))
        self.image_shape, self.dtype = (camera.height, camera.width, 3), g.colors.dtype

    def forward(self, colors: torch.Tensor) -> tuple[torch.Tensor, None]:
        rgb = _grouped_product(*self.by_pixel, np.ascontiguousarray(colors.detach().to(torch.float64).numpy()))
        return torch.from_numpy(rgb.reshape(self.image_shape)).to(self.dtype), None

    def adjoint(self, handle: None, residual: torch.Tensor) -> torch.Tensor:
        r = np.ascontiguousarray(residual.detach().to(torch.float64).reshape(-1, 3).numpy())
        return torch.from_numpy(_grouped_product(*self.by_gaussian, r)).to(self.dtype)


@njit(cache=True)
def _grouped(keys: np.ndarray, others: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries (key, other, value) sorted by key (a counting sort): (offsets [n_keys+1], others, values)."""
    offsets = np.zeros(n_keys + 1, np.int64)
    for k in keys:
        offsets[k + 1] += 1
    for i in range(n_keys):
        offsets[i + 1] += offsets[i]
    cursor = offsets[:-1].copy()
    sorted_others = np.empty(keys.shape[0], np.int64)
    sorted_values = np.empty(keys.shape[0], np.float64)
    for e in range(keys.shape[0]):
        slot = cursor[keys[e]]
        sorted_others[slot] = others[e]
        sorted_values[slot] = values[e]
        cursor[keys[e]] = slot + 1
    return offsets, sorted_others, sorted_values


@njit(parallel=True, cache=True)
def _grouped_product(offsets: np.ndarray, others: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """out[key] = Σ value · x[other] over the key's entries, for x [M, 3]: keys in parallel."""
    out = np.empty((offsets.shape[0] - 1, 3), np.float64)
    for key in prange(offsets.shape[0] - 1):
        r = g = b = 0.0
        for k in range(offsets[key], offsets[key + 1]):
            j, w = others[k], values[k]
            r += w * x[j, 0]
            g += w * x[j, 1]
            b += w * x[j, 2]
        out[key, 0], out[key, 1], out[key, 2] = r, g, b
    return out


def fit_gaussians(
    gaussians: GaussianSet,
    source: View,
    iterations: int,
    lr: float | None = None,
    device: torch.device | str = "cpu",
    callback: Callable[[int, float], None] | None = None,
    color_range: tuple[float, float] = COLOR_RANGE,
) -> tuple[GaussianSet, FitReport]:
    """Solve the colours for the source photo by bounded CGLS within ``iterations`` forward+backward passes.

    Only the photo is a target: the other views are themselves renders of these Gaussians (plus inpainting that
    already set the background layer's colours), and fitting them too pulled the photo's colours back toward
    their blurred renders (−6 dB measured on the example). ``lr`` is accepted for compatibility and unused: CG
    chooses its own step lengths. ``color_range=(0, 1)`` gives the best fit within the usual colour convention.
    """
    del lr
    low, high = color_range
    device = torch.device(device)
    g = gaussians.to(device)
    target = torch.from_numpy(source.image).to(device=device, dtype=g.colors.dtype)
    x = g.colors.detach().clamp(low, high).clone()
    free = torch.ones_like(x, dtype=torch.bool)
    # The CPU builds the operator's sparse matrix once (two rasterizer traversals) and iterates on sparse products;
    # elsewhere each product is a rasterizer pass (forward: A c; backward of that graph: Aᵀ r).
    operator = _SparseOperator(g, source.camera) if device.type == "cpu" else _RasterOperator(g, source.camera)

    losses: list[torch.Tensor] = []
    passes = 0  # operator applications (A then Aᵀ): the budget ``iterations`` counts these
    converged = False
    # On a GPU no step reads a value back to the host (a convergence test would stall the queue every pass): a
    # converged CG takes zero-length steps instead of stopping; the CPU tests convergence and stops early.
    test_convergence = device.type == "cpu"
    while passes < iterations and not converged:
        # (Re)start CG on the free colours: r = b − A x, s = Aᵀ r, p = s.
        rgb, handle = operator.forward(x)
        residual = target - rgb
        s = operator.adjoint(handle, residual) * free
        passes += 1
        p, gamma = s, (s * s).sum()
        for _ in range(ROUND_ITERS):
            if passes >= iterations:
                break
            if test_convergence and float(gamma) <= TINY:
                converged = True
                break
            live = gamma > TINY
            q, handle = operator.forward(p)
            alpha = torch.where(live, gamma / (q * q).sum().clamp(min=TINY), torch.zeros_like(gamma))
            x = x + alpha * p
            residual = residual - alpha * q
            s = operator.adjoint(handle, residual) * free  # Aᵀ r of the new residual
            gamma_new = (s * s).sum()
            beta = torch.where(live, gamma_new / gamma.clamp(min=TINY), torch.zeros_like(gamma))
            p, gamma = s + beta * p, gamma_new
            passes += 1
            losses.append((residual * residual).mean())
            if callback is not None:
                callback(len(losses) - 1, float(losses[-1]))
        # Active set: colours past a bound are clamped there and stay fixed from now on.
        outside = (x < low) | (x > high)
        x = x.clamp(low, high)
        free &= ~outside
    fitted = g.replace(colors=x.detach()).detach().to("cpu")
    with torch.no_grad():
        source_rgb = rasterize_gaussians(fitted.to(device), source.camera).rgb.clamp(0.0, 1.0).cpu()
    return fitted, FitReport([float(v) for v in torch.stack(losses).cpu()] if losses else [], psnr_db(source_rgb, source.image))
