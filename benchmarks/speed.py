"""Photo → video + scene + the Space's downloads, timed stage by stage (issue P), on whatever machine runs it.

    python benchmarks/speed.py [--photo examples/china.jpg] [--upscale 2] [--long-side 1024] [--seconds 4]
                               [--fps 30] [--trajectory circle] [--device auto] [--out FILE.md]

What it runs is the library's own API, exactly as the CLI and the Space call it: ``pipeline.build`` (its per-stage
timings), ``render.render_frames`` / ``render.render_video`` and ``exporters.export_scene`` for each of
``exporters.DEFAULT_DOWNLOADS``. A small warm-up build first compiles what compiles on first use (gsplat's CUDA
extension, numba kernels), so the table is the warm cost a Space's second request sees; the first-call compile is
reported on its own line.

Each row has a *floor*: the time the bytes the stage must move (or the frames it must encode) take at this
machine's own measured rates (host copy GB/s, disk write GB/s, GPU copy GB/s, x264 frames/s on these frames), so
the gap between a stage and the hardware is visible. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import platform
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import exporters  # noqa: E402
from landscape4d import Settings, build  # noqa: E402
from landscape4d.camera import Camera, intrinsics_from_fov  # noqa: E402
from landscape4d.pipeline import resolve_device  # noqa: E402
from landscape4d.render import batched_rendering, render_frames, render_video, trajectory_for  # noqa: E402
from landscape4d.settings import DEFAULT_FOV_DEG  # noqa: E402
from landscape4d.video import write_mp4  # noqa: E402

GB = 1e9


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return f"CPU {platform.machine()}, {os.cpu_count()} cores (torch {torch.__version__})"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_rates(device: torch.device, folder: Path) -> dict[str, float]:
    """This machine's own rates: host memory copy, disk write (with fsync), GPU memory copy (GB/s)."""
    rates: dict[str, float] = {}
    block = np.ones(256 * 2**20, np.uint8)
    out = np.empty_like(block)
    t = time.perf_counter()
    for _ in range(4):
        np.copyto(out, block)
    rates["host_copy"] = 4 * 2 * block.nbytes / (time.perf_counter() - t) / GB  # read + write
    path = folder / "rate.bin"
    t = time.perf_counter()
    with open(path, "wb") as f:
        f.write(block.tobytes())
        f.flush()
        os.fsync(f.fileno())
    rates["disk_write"] = block.nbytes / (time.perf_counter() - t) / GB
    path.unlink()
    if device.type == "cuda":
        a = torch.empty(2**30, dtype=torch.uint8, device=device)
        b = torch.empty_like(a)
        b.copy_(a)
        sync(device)
        t = time.perf_counter()
        for _ in range(10):
            b.copy_(a)
        sync(device)
        rates["gpu_copy"] = 10 * 2 * a.numel() / (time.perf_counter() - t) / GB
        host = torch.empty(2**28, dtype=torch.uint8).pin_memory()
        t = time.perf_counter()
        host.copy_(a[: host.numel()])
        sync(device)
        rates["gpu_to_host"] = host.numel() / (time.perf_counter() - t) / GB
        del a, b, host
    return rates


def first_call_compile(device: torch.device) -> float | None:
    """Seconds for gsplat's first rasterization in this process (its CUDA extension JIT-compiles or loads from
    ``TORCH_EXTENSIONS_DIR``); None without CUDA/gsplat."""
    if not batched_rendering(device):
        return None
    from landscape4d.gaussians import random_gaussians
    from landscape4d.raster import rasterize_gaussians
    from landscape4d.camera import identity_camera

    t = time.perf_counter()
    rasterize_gaussians(random_gaussians(100).to(device), identity_camera(64, 48))
    sync(device)
    return time.perf_counter() - t


def model_settings(config: str, models_dir: str | None) -> dict[str, str]:
    """Settings changes of a model_backends.py configuration, its random real-size models built if missing."""
    if config == "classic":
        return {}
    import model_backends  # benchmarks/model_backends.py, beside this file

    folder = Path(models_dir or tempfile.mkdtemp(prefix="l4d-models-"))
    changes = {}
    for key, value in model_backends.CONFIGS[config].items():
        if key.endswith("_model"):
            path = folder / value
            if not (path / "config.json").is_file() and not (path / "model_index.json").is_file():
                torch.manual_seed(0)
                model_backends.BUILDERS[value](path)
            value = str(path)
        changes[key] = value
    return changes


def build_floor_bytes(stage: str, result, settings: Settings, gpu: bool = True) -> tuple[float, str]:
    """Bytes a build stage must at least read and write once (its inputs and outputs), for its floor."""
    height, width = result.photo.image.shape[:2]
    pixels, n = height * width, len(result.scene.gaussians)
    views = len(result.views)
    if stage == "photo":
        return pixels * (3 + 3 * 4), "decode + float image"
    if stage == "depth_regions":
        return pixels * (3 * 4 + 4 + 3), "image in; depth + masks out"
    if stage == "views":
        return views * pixels * (3 + 1 + 1) * 4 * 2, f"{views} views: warp + inpaint rgb, depth, mask"
    if stage == "motion":
        return views * n * (3 + 2 + 6) * 4, f"{views} views × N: positions, 2D flow, Jacobians"
    if stage == "fit":
        # + the closed-loop colour anchoring: 2 iterations × 9 renders of the photo's camera (animate.py)
        loop = 2 * 9 * n * 14 * 4
        if not gpu:  # fit.py's sparse operator: two weight traversals, then products over ~15 weights per pixel
            return (2 * n * 14 * 4 + settings.fit_iters * 15 * pixels * 12 + loop,
                    f"2 weight passes + {settings.fit_iters} sparse products (~15 weights/px); closed-loop anchoring: 18 renders")
        return settings.fit_iters * n * 14 * 4 * 2 + loop, f"{settings.fit_iters} render passes over N Gaussians; closed-loop anchoring: 18 renders"
    return 0.0, ""


def camera_720p(scene_camera: Camera) -> Camera:
    """The photo's camera at 1280×720 (same pose and horizontal field of view)."""
    width, height = 1280, 720
    return Camera(intrinsics_from_fov(width, height, DEFAULT_FOV_DEG), scene_camera.world_to_camera, width, height)


def render_only(scene, cameras, fps, device) -> tuple[float, list[np.ndarray]]:
    sync(device)
    t = time.perf_counter()
    frames = list(render_frames(scene, cameras, fps, device))
    sync(device)
    return time.perf_counter() - t, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default="examples/china.jpg")
    parser.add_argument("--upscale", type=float, default=1.0, help="resize the photo first (china.jpg is 640 px)")
    parser.add_argument("--long-side", type=int, default=None, help="working size; default 1024 on CUDA, 512 on CPU")
    parser.add_argument("--seconds", type=float, default=None, help="default 4 on CUDA, 3 on CPU")
    parser.add_argument("--fps", type=float, default=None, help="default 30 on CUDA, 15 on CPU")
    parser.add_argument("--trajectory", default="circle")
    parser.add_argument("--motion", default=None, choices=("single-view", "3dmom"), help="3D motion lifter (default: the library's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-720p", action="store_true", help="skip the 1280×720 render-only rows")
    parser.add_argument("--config", default="classic",
                        help="backends as in benchmarks/model_backends.py: classic (default), depth-small, depth-large, "
                        "segmentation, diffusion or models (all three model backends; random weights of the real sizes)")
    parser.add_argument("--models-dir", default=None, help="where model_backends.py's random models are (built if missing)")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    parser.add_argument("--profile", default=None, help="write a cProfile summary of a second build and of each export (alone) to this file")
    args = parser.parse_args()

    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    long_side = args.long_side or (1024 if gpu else 512)
    seconds = args.seconds or (4.0 if gpu else 3.0)
    fps = args.fps or (30.0 if gpu else 15.0)
    folder = Path(tempfile.mkdtemp(prefix="l4d_speed_"))
    image = cv2.imread(args.photo, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {args.photo}")
    if args.upscale != 1.0:
        image = cv2.resize(image, None, fx=args.upscale, fy=args.upscale, interpolation=cv2.INTER_CUBIC)
    photo_path = folder / "photo.png"
    cv2.imwrite(str(photo_path), image)
    settings = Settings(long_side=long_side, device=str(device), **model_settings(args.config, args.models_dir))
    if args.motion:
        settings = replace(settings, motion=args.motion)
    rows: list[tuple[str, float, float | None, str]] = []  # (stage, seconds, floor seconds, note)

    rates = measure_rates(device, folder)
    compile_s = first_call_compile(device)

    # Warm-up: a small build, render and every export, so numba/CUDA first-use costs stay out of the table.
    t = time.perf_counter()
    warm = build(str(photo_path), replace(settings, long_side=128, num_views=2, fit_iters=2)).scene
    list(render_frames(warm, trajectory_for(warm, args.trajectory, 3), fps, device))
    for _key, fmt, _label, options in exporters.DEFAULT_DOWNLOADS:
        exporters.export_scene(warm, fmt, folder / "warm" / fmt, **options)
    warm_s = time.perf_counter() - t
    if gpu:
        torch.cuda.reset_peak_memory_stats(device)

    t = time.perf_counter()
    result = build(str(photo_path), settings)
    sync(device)
    build_s = time.perf_counter() - t
    scene = result.scene
    n = len(scene.gaussians)
    width, height = scene.source_camera.width, scene.source_camera.height
    for stage, value in result.timings_s.items():
        floor_bytes, note = build_floor_bytes(stage, result, settings, gpu)
        rate = rates.get("gpu_copy", rates["host_copy"]) if stage == "fit" else rates["host_copy"]
        rows.append((f"build: {stage}", value, floor_bytes / GB / rate, note))
    rows.append(("build (all)", build_s, None, f"{n:,} Gaussians ({int(scene.moving.sum()):,} moving), {width}×{height}"))
    profiles = []
    if args.profile:  # a second build, profiled (the table's times come from the unprofiled one above)
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        build(str(photo_path), settings)
        sync(device)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
        profiles.append(f"## build (profiled): {time.perf_counter() - t:.2f} s\n\n```\n{text.getvalue()}\n```\n")

    t = time.perf_counter()
    scene_path = scene.save(folder / "scene.l4d.npz")
    save_s = time.perf_counter() - t
    size = scene_path.stat().st_size
    rows.append(("scene file", save_s, size / GB / rates["disk_write"], f"{size / 1e6:.1f} MB"))

    num_frames = int(round(seconds * fps))
    cameras = trajectory_for(scene, args.trajectory, num_frames)
    render_s, frames = render_only(scene, cameras, fps, device)
    frame_bytes = width * height * 3
    floor = num_frames * frame_bytes / GB / rates.get("gpu_to_host", rates["host_copy"])
    rows.append((f"render only, {width}×{height}", render_s, floor,
                 f"{num_frames / render_s:.0f} frames/s ({num_frames} frames)"))
    parity = None
    if batched_rendering(device):  # the batched GPU path against gsplat one frame per call (render_at)
        from landscape4d.animate import LoopStates
        from landscape4d.render import render_at, to_uint8

        states = LoopStates(scene)
        parity = max(int(np.abs(to_uint8(render_at(scene, cameras[i], i / fps, device, states)).astype(int)
                                - frames[i].astype(int)).max()) for i in range(min(10, num_frames)))
    t = time.perf_counter()
    write_mp4(iter(frames), folder / "encode_only.mp4", fps)
    encode_s = time.perf_counter() - t
    pipe_floor = num_frames * frame_bytes / GB / rates["host_copy"]
    rows.append(("encode only (x264)", encode_s, pipe_floor, f"{num_frames / encode_s:.0f} frames/s"))
    del frames
    t = time.perf_counter()
    video = render_video(scene, args.trajectory, seconds, fps, folder / "video.mp4", device)
    video_s = time.perf_counter() - t
    rows.append(("render + encode", video_s, max(render_s, encode_s),
                 f"{num_frames / video_s:.0f} frames/s, {video.path.stat().st_size / 1e6:.1f} MB"))

    if not args.skip_720p:
        cams720 = [camera_720p(c) for c in trajectory_for(scene, args.trajectory, num_frames)]
        s720, _ = render_only(scene, cams720, fps, device)
        rows.append((f"render only, 1280×720, {n:,} Gaussians", s720, None, f"{num_frames / s720:.0f} frames/s"))
        if n > 500_000:
            keep = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:500_000].sort().values
            s500, _ = render_only(scene.subset(keep), cams720, fps, device)
            rows.append(("render only, 1280×720, 500,000 Gaussians", s500, None, f"{num_frames / s500:.0f} frames/s"))

    # Each export alone (its own cost), then all of them as the Space writes them (export_downloads: concurrent on a
    # GPU), which is what the end-to-end time counts. The size budgets' refits are cached per scene object, so each
    # pass gets a fresh copy of the scene.
    labels = {key: label for key, _fmt, label, _options in exporters.DEFAULT_DOWNLOADS}
    total_bytes = 0
    for row in exporters.DEFAULT_DOWNLOADS:
        profiler = cProfile.Profile() if args.profile else None
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        out = exporters.export_downloads(replace(scene), folder / "alone", "scene", (row,), workers=1)[row[0]]
        took = time.perf_counter() - t
        if profiler:
            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
            profiles.append(f"## export {labels[row[0]]}: {took:.2f} s\n\n```\n{text.getvalue()}\n```\n")
        size = sum(out.sizes.values())
        total_bytes += size
        rows.append((f"export {labels[row[0]]} (alone)", took, size / GB / rates["disk_write"], f"{size / 1e6:.1f} MB"))
    t = time.perf_counter()
    exporters.export_downloads(replace(scene), folder / "files", "scene")
    exports_s = time.perf_counter() - t
    rows.append(("all downloads, as the Space writes them", exports_s, total_bytes / GB / rates["disk_write"],
                 f"{total_bytes / 1e6:.1f} MB, " + ("concurrent" if gpu else "one at a time")))

    end_to_end = build_s + save_s + video_s + exports_s
    rows.append(("**photo → video + scene + downloads**", end_to_end, None, "build + scene file + video + exports"))
    peak_gpu = torch.cuda.max_memory_allocated(device) / GB if gpu else float("nan")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux → GB

    lines = [
        f"# Speed: photo → video + downloads ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Command: `python benchmarks/speed.py {' '.join(sys.argv[1:])}`",
        f"Device: {device_name(device)}; gsplat batched rendering: {batched_rendering(device)}.",
        f"Photo: `{args.photo}` ×{args.upscale:g} → working size {width}×{height}; video {seconds:g} s at {fps:g} fps "
        f"({num_frames} frames, `{args.trajectory}`); backends: {args.config}"
        + (" (random weights of the real sizes: times and memory are real, pictures are noise)." if args.config != "classic" else "."),
        f"Measured rates: " + ", ".join(f"{k} {v:.1f} GB/s" for k, v in rates.items()) + ".",
        f"First-call compile (gsplat extension load/JIT in this process): "
        + (f"{compile_s:.1f} s" if compile_s is not None else "n/a (no CUDA/gsplat)")
        + f"; warm-up (128 px build, render, exports): {warm_s:.1f} s.",
        f"Peak GPU memory: {peak_gpu:.2f} GB; peak host RSS: {peak_rss:.2f} GB.",
        f"Batched GPU frames vs one gsplat call per frame, first 10 frames: max |Δ| = {parity} levels."
        if parity is not None else "Rendering: one frame per call (no CUDA/gsplat).",
        "",
        "| stage | seconds | floor s | note |",
        "|---|---|---|---|",
    ]
    for stage, value, floor, note in rows:
        lines.append(f"| {stage} | {value:.2f} | {'' if floor is None else f'{floor:.2f}'} | {note} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.profile:
        Path(args.profile).write_text("\n".join(profiles))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
