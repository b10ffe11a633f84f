"""Tests of landscape4d.raster: numba CPU rasterizer vs the brute-force reference (and gsplat on CUDA)."""

from __future__ import annotations

import math

import numba
import pytest
import torch

from landscape4d.camera import Camera, identity_camera, look_at
from landscape4d.gaussians import GaussianSet, identity_quats, random_gaussians
from landscape4d.raster import RenderOutput, project_gaussians, rasterize, rasterize_gaussians
from landscape4d.raster.cpu import project_numpy, rasterize_tiles
from landscape4d.raster.cpu import R_CA, R_CB, R_CC, R_DEPTH, R_MX, R_MY
from landscape4d.raster.cuda import gsplat_available

WIDTH, HEIGHT = 64, 48
PARAMS = ("means", "quats", "scales", "opacities", "colors")


# ----------------------------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------------------------


def _cast(g: GaussianSet, dtype: torch.dtype) -> GaussianSet:
    return GaussianSet(**{k: v.to(dtype) for k, v in g.as_dict().items()})


def edge_case_gaussians(seed: int) -> GaussianSet:
    """Random splats plus the awkward ones: behind the camera, at the near plane, off-screen, huge, tiny, needles,
    (almost) transparent, fully opaque, and a stack of opaque splats that drives T below 1e-4."""
    gen = torch.Generator().manual_seed(seed)
    base = random_gaussians(200, seed=seed)

    def make(means: list[list[float]], scales: list[list[float]], opacity: list[float]) -> GaussianSet:
        n = len(means)
        quats = torch.randn(n, 4, generator=gen)
        return GaussianSet(
            means=torch.tensor(means, dtype=torch.float32),
            quats=quats / quats.norm(dim=-1, keepdim=True),
            scales=torch.tensor(scales, dtype=torch.float32),
            opacities=torch.tensor(opacity, dtype=torch.float32),
            colors=torch.rand(n, 3, generator=gen),
        )

    special = make(
        means=[
            [0.0, 0.0, -2.0],  # behind the camera
            [0.1, 0.0, 0.005],  # in front of the near plane
            [0.0, 0.0, 0.02],  # just past the near plane, very close
            [40.0, 0.0, 3.0],  # far off-screen right (fov clamp of the Jacobian)
            [3.2, 0.5, 3.0],  # just off-screen, its box reaches in
            [0.0, -30.0, 3.0],  # far off-screen up
            [0.3, 0.2, 4.0],  # huge
            [-0.4, 0.1, 2.5],  # tiny (pure eps2d blur)
            [0.2, -0.3, 3.5],  # needle
            [-0.2, -0.2, 3.0],  # invisible: opacity below 1/255
            [0.1, 0.1, 2.2],  # fully opaque: alpha clamps to 0.999
        ],
        scales=[
            [0.1, 0.1, 0.1],
            [0.1, 0.1, 0.1],
            [0.01, 0.01, 0.01],
            [0.5, 0.5, 0.5],
            [0.3, 0.3, 0.3],
            [0.5, 0.5, 0.5],
            [2.5, 1.5, 2.0],
            [1e-4, 1e-4, 1e-4],
            [0.6, 0.003, 0.004],
            [0.1, 0.1, 0.1],
            [0.15, 0.15, 0.15],
        ],
        opacity=[0.8, 0.8, 0.9, 0.9, 0.9, 0.9, 0.6, 0.95, 0.9, 0.003, 1.0],
    )
    # A stack of opaque splats in front of everything: pixels there stop early (T ≤ 1e-4).
    stack_n = 12
    stack = GaussianSet(
        means=torch.stack(
            [torch.full((stack_n,), -0.25), torch.full((stack_n,), 0.15), torch.linspace(1.0, 1.5, stack_n)], dim=-1
        )
        + 0.02 * torch.randn(stack_n, 3, generator=gen),
        quats=identity_quats(stack_n),
        scales=torch.full((stack_n, 3), 0.08),
        opacities=torch.full((stack_n,), 0.7),
        colors=torch.rand(stack_n, 3, generator=gen),
    )
    return GaussianSet.concat([base, special, stack])


def posed_camera(width: int = WIDTH, height: int = HEIGHT) -> Camera:
    """A camera that is not the identity: moved, looking back at the scene from the side."""
    cam = identity_camera(width, height, fov_deg=70.0)
    pose = look_at(torch.tensor([1.5, -0.5, -0.5]), torch.tensor([0.0, 0.0, 3.5]))
    return cam.with_pose(pose)


def render(g: GaussianSet, camera: Camera, backend: str, background: torch.Tensor | None = None) -> RenderOutput:
    return rasterize_gaussians(g, camera, background=background, backend=backend)


def weighted_loss(out: RenderOutput, seed: int = 0) -> torch.Tensor:
    """A scalar touching every output with random weights (so no gradient term cancels by symmetry)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = out.alpha.shape
    like = {"dtype": out.rgb.dtype, "device": out.rgb.device}
    w_rgb = torch.rand(h, w, 3, generator=gen).to(**like)
    w_alpha = torch.rand(h, w, generator=gen).to(**like)
    w_depth = torch.rand(h, w, generator=gen).to(**like) * 0.1
    return (out.rgb * w_rgb).sum() + (out.alpha * w_alpha).sum() + (out.depth * w_depth).sum()


def grads_of(g: GaussianSet, camera: Camera, backend: str, background: torch.Tensor | None = None):  # noqa: ANN201
    params = {k: v.detach().clone().requires_grad_(True) for k, v in g.as_dict().items()}
    out = render(GaussianSet(**params), camera, backend, background)
    weighted_loss(out).backward()
    return out, {k: v.grad for k, v in params.items()}


CASES = [
    pytest.param(lambda: random_gaussians(300, seed=0), identity_camera(WIDTH, HEIGHT), id="random-identity"),
    pytest.param(lambda: random_gaussians(400, seed=1), posed_camera(), id="random-posed"),
    pytest.param(lambda: edge_case_gaussians(2), identity_camera(WIDTH, HEIGHT), id="edge-identity"),
    pytest.param(lambda: edge_case_gaussians(3), posed_camera(), id="edge-posed"),
    pytest.param(lambda: edge_case_gaussians(4), identity_camera(61, 37), id="edge-odd-size"),
]


# ----------------------------------------------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "camera"), CASES)
def test_cpu_matches_reference(make, camera: Camera) -> None:  # noqa: ANN001
    g = make()
    cpu = render(g, camera, "cpu")
    ref = render(g, camera, "reference")
    assert cpu.rgb.shape == (camera.height, camera.width, 3)
    assert cpu.alpha.shape == cpu.depth.shape == (camera.height, camera.width)
    assert cpu.rgb.dtype == torch.float32
    for name in ("rgb", "alpha", "depth"):
        a, b = getattr(cpu, name), getattr(ref, name)
        assert (a - b).abs().mean() <= 1e-4, name
        assert (a - b).abs().max() <= 1e-3, name
    assert cpu.alpha.max() > 0.5  # the scene is actually visible
    assert (cpu.alpha >= 0).all() and (cpu.alpha <= 1).all()


def test_early_stop_and_clamp_are_exercised() -> None:
    """The edge scene must hit gsplat's T ≤ 1e-4 stop somewhere, else the early-stop tests prove nothing."""
    g = edge_case_gaussians(2)
    out = render(g, identity_camera(WIDTH, HEIGHT), "cpu")
    assert (1 - out.alpha).min() < 1e-3


def test_depth_is_unnormalised_expected_z() -> None:
    """A single opaque splat filling a pixel: depth ≈ alpha · z (Σ wᵢ zᵢ, not divided by alpha)."""
    g = GaussianSet(
        means=torch.tensor([[0.0, 0.0, 3.0]]),
        quats=identity_quats(1),
        scales=torch.full((1, 3), 0.5),
        opacities=torch.tensor([0.5]),
        colors=torch.tensor([[1.0, 0.5, 0.25]]),
    )
    out = render(g, identity_camera(WIDTH, HEIGHT), "cpu")
    centre = (HEIGHT // 2, WIDTH // 2)
    assert out.alpha[centre] == pytest.approx(0.5, abs=5e-3)  # pixel centre is 0.5 px off the mean
    assert out.depth[centre] == pytest.approx(3.0 * out.alpha[centre].item(), rel=1e-5)
    assert out.rgb[centre].tolist() == pytest.approx([0.5, 0.25, 0.125], abs=5e-3)


@pytest.mark.parametrize(("make", "camera"), CASES[:4])
def test_numba_projection_matches_torch_projection(make, camera: Camera) -> None:  # noqa: ANN001
    g = make()
    proj = project_gaussians(g.means, g.quats, g.scales, camera.world_to_camera, camera.K, camera.width,
                             camera.height, opacities=g.opacities)  # fmt: skip
    view = camera.world_to_camera.double().numpy()
    k = camera.K.double()
    intrinsics = (float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]))
    arrays = [t.numpy() for t in (g.means, g.quats, g.scales, g.opacities, g.colors)]
    splats, radii = project_numpy(*arrays, view, intrinsics, camera.width, camera.height)
    splats = torch.from_numpy(splats)
    valid = torch.from_numpy(radii[:, 0] > 0)
    assert torch.equal(valid, proj.valid)
    assert valid.any()
    torch.testing.assert_close(splats[:, [R_MX, R_MY]], proj.means2d, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(splats[:, [R_CA, R_CB, R_CC]], proj.conics, rtol=1e-3, atol=1e-6)
    torch.testing.assert_close(splats[:, R_DEPTH], proj.depths, rtol=1e-6, atol=1e-6)
    assert (torch.from_numpy(radii).long() - proj.radii.long()).abs().max() <= 1  # ceil() at rounding edges


def test_torch_projection_path_matches_reference() -> None:
    """rasterize_tiles (numba 2D raster under the torch projection) is the same render as the reference."""
    g = edge_case_gaussians(5)
    cam = posed_camera()
    proj = project_gaussians(g.means, g.quats, g.scales, cam.world_to_camera, cam.K, WIDTH, HEIGHT,
                             opacities=g.opacities)  # fmt: skip
    rgb, alpha, depth = rasterize_tiles(proj, g.colors, g.opacities, WIDTH, HEIGHT)
    ref = render(g, cam, "reference")
    assert (rgb - ref.rgb).abs().max() < 1e-5
    assert (alpha - ref.alpha).abs().max() < 1e-5
    assert (depth - ref.depth).abs().max() < 1e-4


def test_background_compositing() -> None:
    g = random_gaussians(300, seed=7)
    cam = identity_camera(WIDTH, HEIGHT)
    background = torch.tensor([0.2, 0.5, 0.9])
    for backend in ("cpu", "reference"):
        plain = render(g, cam, backend)
        with_bg = render(g, cam, backend, background)
        expected = plain.rgb + (1 - plain.alpha)[..., None] * background
        torch.testing.assert_close(with_bg.rgb, expected)
        torch.testing.assert_close(with_bg.alpha, plain.alpha)
        torch.testing.assert_close(with_bg.depth, plain.depth)  # background never leaks into depth


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_empty_scene_is_background(backend: str) -> None:
    empty = GaussianSet(torch.zeros(0, 3), torch.zeros(0, 4), torch.zeros(0, 3), torch.zeros(0), torch.zeros(0, 3))
    behind = random_gaussians(50, seed=0)
    behind = behind.replace(means=behind.means * torch.tensor([1.0, 1.0, -1.0]))  # all behind the camera
    background = torch.tensor([0.1, 0.2, 0.3])
    cam = identity_camera(WIDTH, HEIGHT)
    for g in (empty, behind):
        params = {k: v.clone().requires_grad_(True) for k, v in g.as_dict().items()}
        out = rasterize_gaussians(GaussianSet(**params), cam, background=background, backend=backend)
        assert torch.equal(out.alpha, torch.zeros(HEIGHT, WIDTH))
        assert torch.equal(out.depth, torch.zeros(HEIGHT, WIDTH))
        assert torch.allclose(out.rgb, background.expand(HEIGHT, WIDTH, 3))
        weighted_loss(out).backward()  # must not fail, and gives zero gradients
        for name in PARAMS:
            grad = params[name].grad
            assert grad is None or torch.count_nonzero(grad) == 0


def test_deterministic_and_thread_count_independent() -> None:
    g = edge_case_gaussians(6)
    cam = posed_camera()
    out_a, grads_a = grads_of(g, cam, "cpu")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        out_b, grads_b = grads_of(g, cam, "cpu")
    finally:
        numba.set_num_threads(threads)
    for name in ("rgb", "alpha", "depth"):
        assert torch.equal(getattr(out_a, name), getattr(out_b, name))
    for name in PARAMS:
        assert torch.equal(grads_a[name], grads_b[name])


# ----------------------------------------------------------------------------------------------------------------
# gradients
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "camera"), CASES)
def test_cpu_gradients_match_reference_float32(make, camera: Camera) -> None:  # noqa: ANN001
    g = make()
    _, cpu = grads_of(g, camera, "cpu", background=torch.tensor([0.3, 0.6, 0.1]))
    _, ref = grads_of(g, camera, "reference", background=torch.tensor([0.3, 0.6, 0.1]))
    for name in PARAMS:
        assert cpu[name].abs().sum() > 0, name
        rel = (cpu[name] - ref[name]).norm() / ref[name].norm()
        assert rel < 1e-4, (name, rel.item())


@pytest.mark.parametrize(("make", "camera"), [CASES[1], CASES[3]])
def test_cpu_gradients_match_reference_float64(make, camera: Camera) -> None:  # noqa: ANN001
    g = _cast(make(), torch.float64)
    _, cpu = grads_of(g, camera, "cpu")
    _, ref = grads_of(g, camera, "reference")
    for name in PARAMS:
        torch.testing.assert_close(cpu[name], ref[name], rtol=1e-9, atol=1e-10)


def test_torch_projection_path_gradients_match_reference() -> None:
    g = _cast(edge_case_gaussians(8), torch.float64)
    cam = posed_camera()
    params = {k: v.clone().requires_grad_(True) for k, v in g.as_dict().items()}
    proj = project_gaussians(params["means"], params["quats"], params["scales"], cam.world_to_camera, cam.K,
                             WIDTH, HEIGHT, opacities=params["opacities"])  # fmt: skip
    rgb, alpha, depth = rasterize_tiles(proj, params["colors"], params["opacities"], WIDTH, HEIGHT)
    weighted_loss(RenderOutput(rgb, alpha, depth)).backward()
    _, ref = grads_of(g, cam, "reference")
    for name in PARAMS:
        torch.testing.assert_close(params[name].grad, ref[name], rtol=1e-9, atol=1e-10)


def test_cpu_gradients_finite_differences_float64() -> None:
    """Central differences of the cpu render on a handful of parameters of visible splats."""
    g = _cast(edge_case_gaussians(9), torch.float64)
    cam = posed_camera()
    background = torch.tensor([0.2, 0.4, 0.6], dtype=torch.float64)
    _, grads = grads_of(g, cam, "cpu", background)
    proj = project_gaussians(g.means, g.quats, g.scales, cam.world_to_camera, cam.K, WIDTH, HEIGHT,
                             opacities=g.opacities)  # fmt: skip
    visible = torch.nonzero(proj.valid).squeeze(-1)
    gen = torch.Generator().manual_seed(0)
    picks = visible[torch.randperm(len(visible), generator=gen)[:4]].tolist() + [len(g) - 1]  # + a stacked splat
    eps = 1e-6
    checked = 0
    for name in PARAMS:
        for index in picks:
            tensor = g.as_dict()[name]
            component = 0 if tensor.dim() == 1 else int(torch.randint(tensor.shape[1], (1,), generator=gen))
            key = (index,) if tensor.dim() == 1 else (index, component)

            def loss_at(delta: float) -> float:
                values = {k: v.clone() for k, v in g.as_dict().items()}
                values[name][key] += delta
                return weighted_loss(render(GaussianSet(**values), cam, "cpu", background)).item()

            numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
            analytic = grads[name][key].item()
            assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-6), (name, key)
            checked += analytic != 0.0
    assert checked >= 15  # most picks have a real gradient


def test_opacity_gradient_vanishes_under_alpha_clamp() -> None:
    """alpha = min(0.999, o·exp(-σ)): a pixel where the clamp is active passes no gradient to opacity."""
    g = GaussianSet(
        means=torch.tensor([[0.0, 0.0, 3.0]], dtype=torch.float64),
        quats=identity_quats(1).double(),
        scales=torch.full((1, 3), 0.001, dtype=torch.float64),  # screen size ≈ eps2d blur only
        opacities=torch.tensor([1.0], dtype=torch.float64),
        colors=torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64),
    )
    cam = Camera(torch.tensor([[100.0, 0, 32.5], [0, 100.0, 24.5], [0, 0, 1]]), torch.eye(4), WIDTH, HEIGHT)
    for backend in ("cpu", "reference"):
        params = {k: v.clone().requires_grad_(True) for k, v in g.as_dict().items()}
        out = rasterize_gaussians(GaussianSet(**params), cam, backend=backend)
        assert out.alpha[24, 32].item() == pytest.approx(0.999)  # splat centred on pixel (32, 24)
        out.alpha[24, 32].backward()
        assert params["opacities"].grad.item() == 0.0


# ----------------------------------------------------------------------------------------------------------------
# API
# ----------------------------------------------------------------------------------------------------------------


def _args(n: int = 4) -> dict:
    g = random_gaussians(n, seed=0)
    cam = identity_camera(WIDTH, HEIGHT)
    return dict(g.as_dict(), world_to_camera=cam.world_to_camera, K=cam.K, width=WIDTH, height=HEIGHT)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"means": torch.zeros(4, 2)}, ValueError, r"means must have shape \[N, 3\], got \(4, 2\)"),
        ({"quats": torch.zeros(3, 4)}, ValueError, r"quats must have shape \[4, 4\], got \(3, 4\)"),
        ({"scales": torch.zeros(4)}, ValueError, r"scales must have shape \[4, 3\]"),
        ({"opacities": torch.zeros(4, 1)}, ValueError, r"opacities must have shape \[4\], got \(4, 1\)"),
        ({"colors": torch.zeros(4, 4)}, ValueError, r"colors must have shape \[4, 3\]"),
        ({"world_to_camera": torch.eye(3)}, ValueError, r"world_to_camera must have shape \[4, 4\]"),
        ({"K": torch.eye(4)}, ValueError, r"K must have shape \[3, 3\]"),
        ({"background": torch.zeros(4)}, ValueError, r"background must have shape \[3\]"),
        ({"colors": torch.zeros(4, 3, dtype=torch.int64)}, TypeError, r"colors must be a floating-point tensor"),
        ({"opacities": torch.zeros(4, dtype=torch.float64)}, TypeError, r"opacities has dtype torch.float64"),
        ({"means": [[0.0, 0.0, 1.0]]}, TypeError, r"means must be a torch.Tensor"),
        ({"width": 0}, ValueError, r"width must be a positive int"),
        ({"height": 4.5}, ValueError, r"height must be a positive int"),
        ({"backend": "vulkan"}, ValueError, r"backend must be one of"),
    ],
)
def test_bad_arguments_are_named(change: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        rasterize(**{**_args(), **change})


def test_float64_camera_mix_and_output_dtype() -> None:
    """float32 camera tensors with float64 Gaussians are fine; outputs follow the Gaussians' dtype."""
    args = _args(20)
    args.update({k: args[k].double() for k in PARAMS})
    for backend in ("cpu", "reference"):
        out = rasterize(**args, backend=backend)
        assert out.rgb.dtype == out.alpha.dtype == out.depth.dtype == torch.float64


@pytest.mark.skipif(gsplat_available(), reason="gsplat is installed here")
def test_gsplat_backend_without_gsplat_explains_the_install() -> None:
    with pytest.raises(ImportError, match="pip install"):
        rasterize(**_args(), backend="gsplat")


def test_auto_backend_on_cpu_is_cpu() -> None:
    args = _args(50)
    auto = rasterize(**args)
    cpu = rasterize(**args, backend="cpu")
    assert torch.equal(auto.rgb, cpu.rgb)


# ----------------------------------------------------------------------------------------------------------------
# gsplat (CUDA only)
# ----------------------------------------------------------------------------------------------------------------

needs_gsplat = pytest.mark.skipif(
    not (torch.cuda.is_available() and gsplat_available()), reason="needs CUDA and gsplat"
)


@needs_gsplat
@pytest.mark.parametrize(("make", "camera"), CASES)
def test_cpu_matches_gsplat(make, camera: Camera) -> None:  # noqa: ANN001
    g = make()
    background = torch.tensor([0.3, 0.6, 0.1])
    cpu, cpu_grads = grads_of(g, camera, "cpu", background)
    gpu_cam = Camera(camera.K.cuda(), camera.world_to_camera.cuda(), camera.width, camera.height)
    gpu, gpu_grads = grads_of(g.to("cuda"), gpu_cam, "gsplat", background.cuda())
    for name in ("rgb", "alpha", "depth"):
        diff = (getattr(cpu, name) - getattr(gpu, name).cpu()).abs()
        assert diff.mean() <= 1e-3, (name, diff.mean().item())
    for name in PARAMS:
        reference = cpu_grads[name]
        rel = (gpu_grads[name].cpu() - reference).norm() / reference.norm().clamp_min(1e-12)
        assert rel < 1e-2, (name, rel.item())


@needs_gsplat
def test_auto_backend_on_cuda_is_gsplat() -> None:
    args = _args(50)
    args = {k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in args.items()}
    out = rasterize(**args)
    assert out.rgb.is_cuda
    assert math.isfinite(out.rgb.sum().item())
