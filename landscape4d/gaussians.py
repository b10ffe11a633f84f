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


def gaussians_from_pixels(
    image: np.ndarray,
    depth_m: np.ndarray,
    K: torch.Tensor,
    camera_to_world: torch.Tensor,
    mask: np.ndarray | None = None,
    footprint: float | None = None,
    opacity: float = 0.99,
) -> GaussianSet:
    """One Gaussian per (masked) pixel of an RGB-D view: at its depth, one pixel wide, with its colour.

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
    return GaussianSet(
        means=means.contiguous(),
        quats=identity_quats(n),
        scales=sigma[:, None].repeat(1, 3).contiguous(),
        opacities=torch.full((n,), opacity),
        colors=torch.from_numpy(np.ascontiguousarray(image[mask], dtype=np.float32)),
    )
