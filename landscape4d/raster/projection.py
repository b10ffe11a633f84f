"""EWA projection of 3D Gaussians onto the image plane, with gsplat's (v1.5) math, in differentiable torch.

Every backend of :mod:`landscape4d.raster` except gsplat goes through :func:`project_gaussians`, so the 2D splats
the CPU rasterizer draws are exactly the ones gsplat's ``fully_fused_projection`` would produce (pinhole camera,
``eps2d`` low-pass, opacity-aware bounding boxes, same culling). Gradients reach ``means``, ``quats``, ``scales``
through torch autograd; radii and the valid mask are not differentiable (as in gsplat).

Conic convention (gsplat's): ``conics[i] = (a, b, c)`` is the upper triangle of the inverse 2D covariance and a
pixel at offset ``d = mean2d - pixel`` has Mahalanobis term ``sigma = 0.5 * (a dx² + c dy²) + b dx dy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..camera import camera_to_pixels, transform_points

ALPHA_THRESHOLD = 1.0 / 255.0  # gsplat's ALPHA_THRESHOLD: splats fainter than this are skipped
EPS2D = 0.3  # gsplat's default eps2d: added to the 2D covariance diagonal (≈ pixel-footprint low-pass)
NEAR_PLANE = 0.01
FAR_PLANE = 1e10
MAX_EXTEND = 3.33  # gsplat's cap on the bounding-box half-size in standard deviations
FOV_CLAMP_MARGIN = 0.3  # gsplat clamps x/z, y/z to the image plus 30% of the half field of view


@dataclass
class ProjectedGaussians:
    """Screen-space splats for one camera. Invalid (culled) rows hold zeros and ``radii == 0``."""

    means2d: torch.Tensor  # [N,2] pixel coordinates (pixel centres at +0.5)
    conics: torch.Tensor  # [N,3] (a, b, c) of the inverse 2D covariance
    depths: torch.Tensor  # [N] camera-frame z
    radii: torch.Tensor  # [N,2] int32 half-extents of the pixel bounding box (x, y); 0 where culled
    valid: torch.Tensor  # [N] bool: survives near/far, determinant, opacity and off-screen culling


def quat_to_rotation(quats: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [N,3,3] of quaternions [N,4] (w, x, y, z; normalised here, like gsplat)."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*quats.shape[:-1], 3, 3)


def covariance_3d(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """World covariances [N,3,3] = R S Sᵀ Rᵀ from quaternions [N,4] and linear scales [N,3]."""
    m = quat_to_rotation(quats) * scales[..., None, :]
    return m @ m.transpose(-1, -2)


def project_gaussians(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    world_to_camera: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    opacities: torch.Tensor | None = None,
    eps2d: float = EPS2D,
    near_plane: float = NEAR_PLANE,
    far_plane: float = FAR_PLANE,
) -> ProjectedGaussians:
    """Project Gaussians (means [N,3], quats [N,4], scales [N,3]) through a pinhole camera.

    ``world_to_camera`` [4,4] and ``K`` [3,3] follow :mod:`landscape4d.camera`. With ``opacities`` [N] the
    bounding boxes are gsplat's opacity-aware ones (half-size ``min(3.33, sqrt(2 ln(255·o)))`` σ, which is exactly
    where alpha drops below 1/255) and splats with opacity < 1/255 are culled; without, 3.33 σ.
    """
    world_to_camera = world_to_camera.to(device=means.device, dtype=means.dtype)
    rot_view = world_to_camera[:3, :3]
    mean_c = transform_points(means, world_to_camera)
    x, y, z = mean_c.unbind(-1)
    in_range = (z >= near_plane) & (z <= far_plane)
    # Culled rows still flow through the maths below; a safe z keeps their (discarded) values finite so that no
    # NaN/inf can leak into the gradients of the valid rows through torch.where.
    z = torch.where(in_range, z, torch.ones_like(z))
    x = torch.where(in_range, x, torch.zeros_like(x))
    y = torch.where(in_range, y, torch.zeros_like(y))

    # Camera-frame factor M_c = R_view R_q S, so that Σ_c = M_c M_cᵀ. [N,3(j),3(i)] = M_cᵀ via one GEMM.
    m_world = quat_to_rotation(quats) * scales[:, None, :]
    m_cam_t = m_world.transpose(1, 2) @ rot_view.T  # m_cam_t[n, j, i] = M_c[n, i, j]

    # gsplat's persp_proj: the Jacobian is evaluated at x/z, y/z clamped to the image ±30% of the half fov, which
    # keeps splats far outside the view from exploding. The clamp's gradient matches gsplat's persp_proj_vjp.
    fx, fy, cx, cy = (float(v) for v in (K[0, 0], K[1, 1], K[0, 2], K[1, 2]))
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + FOV_CLAMP_MARGIN * tan_fovx
    lim_x_neg = cx / fx + FOV_CLAMP_MARGIN * tan_fovx
    lim_y_pos = (height - cy) / fy + FOV_CLAMP_MARGIN * tan_fovy
    lim_y_neg = cy / fy + FOV_CLAMP_MARGIN * tan_fovy
    rz = 1.0 / z
    tx = z * torch.clamp(x * rz, -lim_x_neg, lim_x_pos)
    ty = z * torch.clamp(y * rz, -lim_y_neg, lim_y_pos)

    # J = [[fx/z, 0, -fx tx/z²], [0, fy/z, -fy ty/z²]];  J M_c rows, then Σ2d = (J M_c)(J M_c)ᵀ.
    jm0 = (fx * rz)[:, None] * m_cam_t[:, :, 0] - (fx * tx * rz * rz)[:, None] * m_cam_t[:, :, 2]
    jm1 = (fy * rz)[:, None] * m_cam_t[:, :, 1] - (fy * ty * rz * rz)[:, None] * m_cam_t[:, :, 2]
    cov00 = (jm0 * jm0).sum(-1) + eps2d
    cov01 = (jm0 * jm1).sum(-1)
    cov11 = (jm1 * jm1).sum(-1) + eps2d
    det = cov00 * cov11 - cov01 * cov01

    valid = in_range & (det > 0)
    det = torch.where(valid, det, torch.ones_like(det))
    inv_det = 1.0 / det
    conics = torch.stack([cov11 * inv_det, -cov01 * inv_det, cov00 * inv_det], dim=-1)
    means2d, _ = camera_to_pixels(torch.stack([x, y, z], dim=-1), K)  # the pinhole mean (culled rows: safe z)

    with torch.no_grad():
        if opacities is None:
            extend = torch.full_like(cov00, MAX_EXTEND)
        else:
            o = opacities.detach()
            valid = valid & (o >= ALPHA_THRESHOLD)
            extend = torch.sqrt(2.0 * torch.log(o.clamp_min(ALPHA_THRESHOLD) / ALPHA_THRESHOLD)).clamp(max=MAX_EXTEND)
        radius_x = torch.ceil(extend * torch.sqrt(cov00.detach().clamp_min(0)))
        radius_y = torch.ceil(extend * torch.sqrt(cov11.detach().clamp_min(0)))
        valid = valid & ~((radius_x <= 0) & (radius_y <= 0))  # gsplat's radius_clip = 0
        m2d = means2d.detach()
        on_screen = (
            (m2d[:, 0] + radius_x > 0)
            & (m2d[:, 0] - radius_x < width)
            & (m2d[:, 1] + radius_y > 0)
            & (m2d[:, 1] - radius_y < height)
        )
        valid = valid & on_screen
        radii = torch.stack([radius_x, radius_y], dim=-1).where(valid[:, None], torch.zeros_like(m2d)).to(torch.int32)

    keep = valid[:, None]
    return ProjectedGaussians(
        means2d=torch.where(keep, means2d, torch.zeros_like(means2d)),
        conics=torch.where(keep, conics, torch.zeros_like(conics)),
        depths=torch.where(valid, mean_c[:, 2], torch.zeros_like(z)),
        radii=radii,
        valid=valid,
    )


__all__ = [
    "ALPHA_THRESHOLD",
    "EPS2D",
    "FAR_PLANE",
    "NEAR_PLANE",
    "ProjectedGaussians",
    "covariance_3d",
    "project_gaussians",
    "quat_to_rotation",
]
