"""Benchmark the rasterizer backends: forward and forward+backward times, and cpu-vs-gsplat agreement.

Run from the repo root: ``python benchmarks/bench_raster.py [--out results.md] [--repeats 5]``.
Prints a Markdown table. On a CUDA machine with gsplat installed it also times gsplat and reports the max/mean
absolute difference between the cpu and gsplat renders of the same scenes.

Scenes
------
* ``photo``: what landscape4d actually renders — one Gaussian per ~pixel of a synthetic landscape (sky, ground
  plane receding to a horizon, a few foreground rocks), each about a pixel footprint wide, so the image is
  covered a few layers deep. This is the scene the CPU speed targets refer to.
* ``random``: :func:`landscape4d.gaussians.random_gaussians` (splats of 4-30 px), a stress test with thousands
  of splats per tile (the brute-force ``reference`` backend is for tests only and is not timed).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d.camera import identity_camera  # noqa: E402
from landscape4d.gaussians import GaussianSet, random_gaussians  # noqa: E402
from landscape4d.raster import rasterize  # noqa: E402

CASES = [(50_000, 384, 216), (300_000, 512, 384), (200_000, 960, 540)]


def photo_scene(n: int, width: int, height: int, seed: int = 0) -> GaussianSet:
    """~n Gaussians seen by identity_camera(width, height): a landscape photo lifted to 3D, splats ≈ 1 px apart."""
    gen = torch.Generator().manual_seed(seed)
    cam = identity_camera(width, height)
    f, cx, cy = float(cam.K[0, 0]), float(cam.K[0, 2]), float(cam.K[1, 2])
    u = torch.rand(n, generator=gen) * width
    v = torch.rand(n, generator=gen) * height
    horizon = 0.38 * height
    camera_height = 1.6
    ground = camera_height * f / (v - horizon).clamp_min(1.0)
    depth = torch.where(v > horizon, ground.clamp(1.0, 200.0), torch.full_like(v, 500.0))  # sky far away
    rocks = ((u - 0.3 * width) ** 2 + (v - 0.75 * height) ** 2).sqrt() < 0.12 * height
    depth = torch.where(rocks, torch.full_like(depth, 3.0), depth)
    depth = depth * (1 + 0.02 * torch.randn(n, generator=gen))
    means = torch.stack([(u - cx) / f * depth, (v - cy) / f * depth, depth], dim=-1)
    spacing_px = math.sqrt(width * height / n)  # mean distance between neighbouring splats
    footprint = depth / f * spacing_px * 0.8
    scales = footprint[:, None] * torch.empty(n, 3).uniform_(0.5, 1.5, generator=gen)
    quats = torch.randn(n, 4, generator=gen)
    quats = quats / quats.norm(dim=-1, keepdim=True)
    return GaussianSet(
        means=means,
        quats=quats,
        scales=scales,
        opacities=torch.empty(n).uniform_(0.6, 1.0, generator=gen),
        colors=torch.rand(n, 3, generator=gen),
    )


def scene(kind: str, n: int, width: int, height: int) -> GaussianSet:
    return photo_scene(n, width, height) if kind == "photo" else random_gaussians(n, seed=0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_backend(
    g: GaussianSet, width: int, height: int, backend: str, device: torch.device, repeats: int
) -> tuple[float, float, dict[str, torch.Tensor]]:
    """Median forward and forward+backward seconds (after one warm-up of each), and the forward outputs."""
    cam = identity_camera(width, height)
    viewmat, K = cam.world_to_camera.to(device), cam.K.to(device)
    params = {k: v.to(device).requires_grad_(True) for k, v in g.as_dict().items()}
    weights = torch.rand(height, width, 3, generator=torch.Generator().manual_seed(0)).to(device)

    def forward():  # noqa: ANN202
        return rasterize(**params, world_to_camera=viewmat, K=K, width=width, height=height, backend=backend)

    def step() -> None:
        out = forward()
        loss = (out.rgb * weights).sum() + out.alpha.sum() + 0.01 * out.depth.sum()
        loss.backward()
        for p in params.values():
            p.grad = None

    forward()  # warm-up: numba JIT / cache load, CUDA context and kernels
    step()
    fwd_times, step_times = [], []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        with torch.no_grad():
            out = forward()
        _sync(device)
        fwd_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        step()
        _sync(device)
        step_times.append(time.perf_counter() - start)
    outputs = {"rgb": out.rgb.detach().cpu(), "alpha": out.alpha.detach().cpu(), "depth": out.depth.detach().cpu()}
    return statistics.median(fwd_times), statistics.median(step_times), outputs


def environment() -> str:
    import numba

    parts = [
        f"python {platform.python_version()}",
        f"torch {torch.__version__}",
        f"numba {numba.__version__} ({numba.get_num_threads()} threads)",
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()})",
    ]
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name()}")
    try:
        import gsplat

        parts.append(f"gsplat {gsplat.__version__}")
    except ImportError:
        parts.append("gsplat not installed")
    try:
        parts.append(f"load average {os.getloadavg()[0]:.1f}")
    except OSError:
        pass
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="also write the Markdown to this file")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median reported)")
    parser.add_argument("--scenes", default="photo,random", help="comma-separated: photo, random")
    args = parser.parse_args(argv)

    from landscape4d.raster.cuda import gsplat_available

    cuda = torch.cuda.is_available()
    backends = [("cpu", torch.device("cpu"))]
    if cuda and gsplat_available():
        backends.append(("gsplat", torch.device("cuda")))

    lines = [
        "# Rasterizer benchmark",
        "",
        environment(),
        "",
        f"Median of {args.repeats} runs after warm-up. fwd: render only (no_grad); fwd+bwd: render, loss, backward.",
        "",
        "| scene | Gaussians | image | backend | covered | fwd (ms) | fwd+bwd (ms) |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    diff_lines = []
    print("\n".join(lines), flush=True)
    for kind in [s.strip() for s in args.scenes.split(",") if s.strip()]:
        for n, width, height in CASES:
            g = scene(kind, n, width, height)
            outputs = {}
            for backend, device in backends:
                fwd, step, outputs[backend] = time_backend(g, width, height, backend, device, args.repeats)
                covered = (outputs[backend]["alpha"] > 0.5).float().mean().item()
                row = (
                    f"| {kind} | {n:,} | {width}×{height} | {backend} | {covered:.0%} px | {fwd * 1e3:.1f} "
                    f"| {step * 1e3:.1f} |"
                )
                lines.append(row)
                print(row, flush=True)
            if "gsplat" in outputs:
                cells = []
                for name in ("rgb", "alpha", "depth"):
                    diff = (outputs["cpu"][name] - outputs["gsplat"][name]).abs()
                    cells.append(f"{diff.max().item():.2e} / {diff.mean().item():.2e}")
                diff_lines.append(f"| {kind} | {n:,} | {width}×{height} | " + " | ".join(cells) + " |")
    if diff_lines:
        block = [
            "",
            "cpu vs gsplat on the same scenes, max / mean absolute difference:",
            "",
            "| scene | Gaussians | image | rgb | alpha | depth |",
            "| --- | ---: | --- | --- | --- | --- |",
            *diff_lines,
        ]
        lines += block
        print("\n".join(block), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
