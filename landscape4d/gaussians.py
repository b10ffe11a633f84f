"""The explicit 3D Gaussian set, in gsplat's conventions.

``means`` [N,3] world, ``quats`` [N,4] w x y z (unit), ``scales`` [N,3] linear (standard deviations),
``opacities`` [N] in [0,1], ``colors`` [N,3] RGB, nominally in [0,1] (the colour fit may go a little beyond, within
``fit.COLOR_RANGE``, to undo the overlap of neighbouring footprints; writers of 8-bit formats clamp). Log/logit parametrisations live only inside the
optimiser (see ``fit.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch


@dataclass
class GaussianSet:
    means: torch.Tensor  # [N,3] world
    quats: torch.Tensor  # [N,4] w x y z
    scales: torch.Tensor  # [N,3] linear
    opacities: torch.Tensor  # [N] in [0,1]
    colors: torch.Tensor  # [N,3] RGB, nominally [0,1] (see the module docstring)

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expected = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,), "colors": (n, 3)}
        for name, shape in expected.items():
            actual = tuple(getattr(self, name).shape)
            if actual != shape:
                raise ValueError(f"GaussianSet.{name} has shape {actual}, expected {shape}")

    def __len__(self) -> int:
        return self.means.shape[0]

    def to(self, device: torch.device | str) -> "GaussianSet":
        return GaussianSet(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def detach(self) -> "GaussianSet":
        return GaussianSet(**{f.name: getattr(self, f.name).detach() for f in fields(self)})

    def select(self, index: torch.Tensor) -> "GaussianSet":
        """Subset by boolean mask or integer index."""
        return GaussianSet(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def replace(self, **changes: torch.Tensor) -> "GaussianSet":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return GaussianSet(**values)

    @staticmethod
    def concat(parts: list["GaussianSet"]) -> "GaussianSet":
        return GaussianSet(**{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(GaussianSet)})

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def identity_quats(n: int) -> torch.Tensor:
    quats = torch.zeros(n, 4)
    quats[:, 0] = 1.0
    return quats


def random_gaussians(n: int, seed: int = 0, depth_range: tuple[float, float] = (2.0, 6.0)) -> GaussianSet:
    """A deterministic random scene in front of the identity camera (unit tests and benchmarks)."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.empty(n).uniform_(*depth_range, generator=generator)
    xy = (torch.rand(n, 2, generator=generator) - 0.5) * z[:, None] * 1.0
    quats = torch.randn(n, 4, generator=generator)
    quats = quats / quats.norm(dim=-1, keepdim=True)
    return GaussianSet(
        means=torch.cat([xy, z[:, None]], dim=-1),
        quats=quats,
        scales=torch.empty(n, 3).uniform_(0.02, 0.12, generator=generator),
        opacities=torch.empty(n).uniform_(0.3, 0.95, generator=generator),
        colors=torch.rand(n, 3, generator=generator),
    )


PIXEL_FOOTPRINT = 0.35  # Gaussian σ in pixels of the view it comes from: neighbours overlap, edges stay crisp
# Along its view's ray a Gaussian reaches this share of the depth step to a neighbour on the same surface: a surface
# seen at a grazing angle (ground near the horizon, a lake) stays closed when a camera moving forward spreads its rows.
RAY_REACH = 1.0
SURFACE_STEP = 0.25  # a depth step of at most this share of the depth, ...
SURFACE_SMOOTH = 2.0  # ... at most this × the steps beside it (a plane's disparity steps are equal), is one surface


def ray_extent(depth_m: np.ndarray) -> np.ndarray:
    """[H,W] float32: each pixel's depth step to its 4-neighbours on the same surface (0 where every neighbour is
    across a depth edge), the σ its Gaussian gets along its ray (× ``RAY_REACH``).

    Same surface: the relative step is small and the disparity step is not a spike against the steps on either
    side (a plane's disparity is affine in the pixel coordinates, a depth edge is a jump)."""
    depth = np.asarray(depth_m, np.float64)
    disparity = 1.0 / np.maximum(depth, 1e-9)
    extent = np.zeros(depth.shape, np.float64)
    rim = np.zeros(depth.shape, bool)  # pixels beside a depth edge: their colour mixes both sides, they stay round
    for axis in (0, 1):
        step = np.abs(np.diff(disparity, axis=axis))
        # The disparity steps on either side of each step (edge-padded), the larger of them.
        padded = np.pad(step, [(1, 1) if a == axis else (0, 0) for a in range(2)], mode="edge")
        before = np.take(padded, np.arange(step.shape[axis]), axis=axis)
        after = np.take(padded, np.arange(2, step.shape[axis] + 2), axis=axis)
        gap = np.abs(np.diff(depth, axis=axis))
        near = np.minimum(np.take(depth, np.arange(depth.shape[axis] - 1), axis=axis),
                          np.take(depth, np.arange(1, depth.shape[axis]), axis=axis))
        surface = (gap <= SURFACE_STEP * near) & (step <= SURFACE_SMOOTH * np.maximum(before, after) + 1e-6 * disparity.max())
        reach = np.where(surface, gap, 0.0)
        lead = [slice(None)] * 2
        trail = [slice(None)] * 2
        lead[axis], trail[axis] = slice(0, -1), slice(1, None)
        extent[tuple(lead)] = np.maximum(extent[tuple(lead)], reach)
        extent[tuple(trail)] = np.maximum(extent[tuple(trail)], reach)
        rim[tuple(lead)] |= ~surface
        rim[tuple(trail)] |= ~surface
    return np.where(rim, 0.0, extent).astype(np.float32)


def ray_quats(directions: torch.Tensor) -> torch.Tensor:
    """[N,4] wxyz unit quaternions turning the local z axis onto each (unit) direction [N,3]."""
    w = 1.0 + directions[:, 2]
    quats = torch.stack([w, -directions[:, 1], directions[:, 0], torch.zeros_like(w)], dim=-1)
    # Pointing straight back (w ≈ 0): a half turn about x.
    back = w < 1e-6
    quats[back] = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=quats.dtype)
    return quats / quats.norm(dim=-1, keepdim=True)


def gaussians_from_pixels(
    image: np.ndarray,
    depth_m: np.ndarray,
    K: torch.Tensor,
    camera_to_world: torch.Tensor,
    mask: np.ndarray | None = None,
    footprint: float | None = None,
    opacity: float = 0.99,
    along_ray: np.ndarray | None = None,
) -> GaussianSet:
    """One Gaussian per (masked) pixel of an RGB-D view: at its depth, one pixel wide, with its colour; where
    ``along_ray`` [H,W] bool is set, long along the view's ray as far as the surface's depth steps reach
    (``ray_extent``): invisible from the view itself, it keeps a surface seen at a grazing angle closed when a
    moving camera spreads its rows. Only for static content: a Gaussian that travels leaves its ray.

    This per-pixel initialisation already reproduces the view; fitting only refines it.
    """
    from .camera import transform_points, unproject_depth

    footprint = PIXEL_FOOTPRINT if footprint is None else footprint
    if mask is None:
        mask = np.ones(depth_m.shape, bool)
    points_camera = torch.from_numpy(unproject_depth(depth_m, K.numpy())[mask])
    means = transform_points(points_camera, camera_to_world.float())
    focal_px = float(K[0, 0])
    sigma = torch.from_numpy(depth_m[mask].astype(np.float32)) * (footprint / focal_px)
    n = means.shape[0]
    # Long along the view's ray (invisible from the view itself), as far as the surface's depth steps reach.
    if along_ray is not None and along_ray.any():
        along = torch.from_numpy(RAY_REACH * np.where(along_ray, ray_extent(depth_m), 0.0).astype(np.float32)[mask])
    else:
        along = torch.zeros(n)
    rays = points_camera / points_camera.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    rays = rays @ camera_to_world[:3, :3].float().T
    ray_len = along * (points_camera.norm(dim=-1) / points_camera[:, 2].abs().clamp_min(1e-12))  # z step → ray length
    scales = sigma[:, None].repeat(1, 3)
    scales[:, 2] = torch.maximum(sigma, ray_len)
    return GaussianSet(
        means=means.contiguous(),
        quats=ray_quats(rays).contiguous(),
        scales=scales.contiguous(),
        opacities=torch.full((n,), opacity),
        colors=torch.from_numpy(np.ascontiguousarray(image[mask], dtype=np.float32)),
    )
