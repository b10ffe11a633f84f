"""Differentiable Gaussian rasterizer with gsplat's (v1.5) conventions.

``rasterize`` draws 3D Gaussians (:mod:`landscape4d.gaussians` parametrisation) through a pinhole camera
(:mod:`landscape4d.camera` conventions) and is differentiable w.r.t. means, quats, scales, opacities and colors on
every backend:

* ``"gsplat"``: ``gsplat.rasterization`` (CUDA tensors, gsplat installed);
* ``"cpu"``: torch EWA projection + numba tile rasterizer (:mod:`.cpu`), the fast path without a GPU;
* ``"reference"``: torch projection + brute-force per-pixel compositing (:mod:`.reference`), tests only;
* ``"auto"``: gsplat for CUDA tensors when it is importable, else cpu.

All backends implement the same maths: eps2d = 0.3 low-pass, near 0.01 / far 1e10 culling, opacity-aware
bounding boxes, alpha = min(0.999, o·exp(-σ)) skipped below 1/255, front-to-back compositing that stops before T
would fall to 1e-4, pixel centres at +0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..camera import Camera
from ..gaussians import GaussianSet
from .projection import ProjectedGaussians, project_gaussians

BACKENDS = ("auto", "cpu", "reference", "gsplat")


@dataclass
class RenderOutput:
    rgb: torch.Tensor  # [H,W,3] colour, background composited as rgb + (1 - alpha) · background
    alpha: torch.Tensor  # [H,W] accumulated opacity 1 - T
    depth: torch.Tensor  # [H,W] Σ wᵢ zᵢ: alpha-weighted camera z, NOT normalised (divide by alpha for the mean)


def _check_tensor(name: str, value: object, shape: tuple[int | str, ...]) -> torch.Tensor:
    """Raise a gsplat-style message naming ``name`` unless ``value`` is a floating tensor of ``shape``."""
    pretty = "[" + ", ".join(str(s) for s in shape) + "]"
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {pretty}, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.dim() != len(shape) or any(not isinstance(s, str) and value.shape[i] != s for i, s in enumerate(shape)):
        raise ValueError(f"{name} must have shape {pretty}, got {tuple(value.shape)}")
    return value


def _validate(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    world_to_camera: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    background: torch.Tensor | None,
    backend: str,
) -> None:
    _check_tensor("means", means, ("N", 3))
    n = means.shape[0]
    _check_tensor("quats", quats, (n, 4))
    _check_tensor("scales", scales, (n, 3))
    _check_tensor("opacities", opacities, (n,))
    _check_tensor("colors", colors, (n, 3))
    _check_tensor("world_to_camera", world_to_camera, (4, 4))
    _check_tensor("K", K, (3, 3))
    if background is not None:
        _check_tensor("background", background, (3,))
    for name, tensor in (("quats", quats), ("scales", scales), ("opacities", opacities), ("colors", colors)):
        if tensor.dtype != means.dtype:
            raise TypeError(f"{name} has dtype {tensor.dtype} but means has {means.dtype}; use one dtype")
        if tensor.device != means.device:
            raise ValueError(f"{name} is on {tensor.device} but means is on {means.device}")
    for name, size in (("width", width), ("height", height)):
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def _resolve_backend(backend: str, device: torch.device) -> str:
    if backend != "auto":
        return backend
    if device.type == "cuda":
        from .cuda import gsplat_available

        if gsplat_available():
            return "gsplat"
    return "cpu"


def rasterize(
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
    backend: str = "auto",
) -> RenderOutput:
    """Render Gaussians (means [N,3], quats [N,4] wxyz, scales [N,3] linear, opacities [N], colors [N,3]).

    ``world_to_camera`` [4,4] and ``K`` [3,3] may be float32 even for float64 Gaussians (converted here).
    ``background`` [3] is composited as ``rgb + (1 - alpha) · background``. Outputs live on ``means.device``
    with ``means.dtype``.
    """
    _validate(means, quats, scales, opacities, colors, world_to_camera, K, width, height, background, backend)
    chosen = _resolve_backend(backend, means.device)
    if chosen == "gsplat":
        from .cuda import rasterize_gsplat

        rgb, alpha, depth = rasterize_gsplat(
            means, quats, scales, opacities, colors, world_to_camera, K, width, height, background
        )
        return RenderOutput(rgb=rgb, alpha=alpha, depth=depth)

    device, dtype = means.device, means.dtype
    cpu = torch.device("cpu")
    # The numba/reference paths run on the CPU; .to() keeps the autograd link to tensors on other devices.
    means_c, quats_c, scales_c, opac_c, colors_c = (t.to(cpu) for t in (means, quats, scales, opacities, colors))
    viewmat = world_to_camera.to(device=cpu, dtype=dtype)
    intrinsics = K.detach().to(device=cpu, dtype=dtype)
    if chosen == "cpu":
        from .cpu import rasterize_cpu

        rgb, alpha, depth = rasterize_cpu(
            means_c, quats_c, scales_c, opac_c, colors_c, viewmat, intrinsics, width, height
        )
    else:
        from .reference import rasterize_reference_2d

        projected = project_gaussians(
            means_c, quats_c, scales_c, viewmat, intrinsics, width, height, opacities=opac_c
        )
        rgb, alpha, depth = rasterize_reference_2d(projected, colors_c, opac_c, width, height)
    if background is not None:
        rgb = rgb + (1.0 - alpha)[..., None] * background.to(device=cpu, dtype=dtype)
    return RenderOutput(rgb=rgb.to(device), alpha=alpha.to(device), depth=depth.to(device))


def rasterize_gaussians(
    gaussians: GaussianSet,
    camera: Camera,
    background: torch.Tensor | None = None,
    backend: str = "auto",
) -> RenderOutput:
    """:func:`rasterize` for a :class:`GaussianSet` seen by a :class:`Camera`."""
    return rasterize(
        gaussians.means,
        gaussians.quats,
        gaussians.scales,
        gaussians.opacities,
        gaussians.colors,
        camera.world_to_camera,
        camera.K,
        camera.width,
        camera.height,
        background=background,
        backend=backend,
    )


__all__ = ["BACKENDS", "ProjectedGaussians", "RenderOutput", "project_gaussians", "rasterize", "rasterize_gaussians"]
