"""Every static format re-read by an independent reader: PlayCanvas's ``@playcanvas/splat-transform`` (npm, installed
from the project's package.json / package-lock.json by ``npm ci``, as ``.ci/run`` does) converts our files to CSV;
its counts and decoded values must match what we meant to write, within each format's quantisation.

The scene is a real one (``examples/china.jpg`` built at 128 px: photo, border ring, inpainted layers, moving
water), exported with the default export footprints; skipped when node or the npm packages are missing.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from exporters import export_scene
from exporters.api import SUFFIXES
from exporters.arrays import SH_C0
from exporters.footprint import export_ready
from exporters.loop import rest_splats
from exporters.ply import morton_order

REPO = Path(__file__).resolve().parents[1]
SPLAT_TRANSFORM = REPO / "node_modules" / "@playcanvas" / "splat-transform" / "bin" / "cli.mjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not SPLAT_TRANSFORM.exists(),
    reason="needs node and the project's npm packages (run `npm ci` in the repository root; .ci/run does)",
)


@pytest.fixture(scope="module")
def small_scene():
    from landscape4d import Settings, build

    return build(REPO / "examples" / "china.jpg", Settings(long_side=128, device="cpu")).scene


def read_with_splat_transform(path: Path, tmp_path: Path) -> dict[str, np.ndarray]:
    out = tmp_path / (path.name.replace(".", "_") + ".csv")
    done = subprocess.run([NODE, str(SPLAT_TRANSFORM), "-q", "-w", str(path), str(out)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with out.open() as f:
        rows = list(csv.reader(f))
    header, values = rows[0], np.array(rows[1:], dtype=np.float64)
    return {name: values[:, i] for i, name in enumerate(header)}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("fmt", ["ply", "compressed_ply", "splat", "spz"])
def test_splat_transform_reads_every_static_format(small_scene, tmp_path, fmt):
    result = export_scene(small_scene, fmt, tmp_path)
    path = result.paths[0]
    assert path.name == "scene" + SUFFIXES[fmt]
    truth = rest_splats(export_ready(small_scene))  # what the file is meant to hold (widened, re-fitted)
    read = read_with_splat_transform(path, tmp_path)
    n = len(truth)
    assert len(read["x"]) == n == result.stats["splats"]

    means = truth.means.astype(np.float64)
    log_scales = np.log(truth.scales.astype(np.float64))
    colors = np.clip(truth.colors.astype(np.float64), 0, 1)
    opacity = truth.opacities.astype(np.float64)
    if fmt == "compressed_ply":  # stored in Morton order
        order = morton_order(truth.means)
        means, log_scales, colors, opacity = means[order], log_scales[order], colors[order], opacity[order]
    xyz = np.stack([read["x"], read["y"], read["z"]], axis=1)
    if fmt == "spz":  # SPZ stores RUB axes: y and z negated (see exporters/README.md, Coordinates)
        xyz = xyz * np.array([1.0, -1.0, -1.0])
    read_scales = np.stack([read[f"scale_{i}"] for i in range(3)], axis=1)
    read_colors = 0.5 + SH_C0 * np.stack([read[f"f_dc_{i}"] for i in range(3)], axis=1)
    read_opacity = sigmoid(read["opacity"])
    extent = float(np.ptp(means, axis=0).max())

    # Tolerances: each format's quantisation step (half a step for rounding, plus float slack).
    position_tol = {"ply": 1e-6 * extent, "splat": 1e-6 * extent, "spz": 0.5 / 4096 + 1e-6, "compressed_ply": extent / 1000}[fmt]
    scale_tol = {"ply": 1e-5, "splat": 1e-5, "spz": 0.5 / 16 + 1e-4, "compressed_ply": 0.05}[fmt]
    color_tol = {"ply": 1e-5, "splat": 0.5 / 255 + 1e-5, "spz": 0.5 / (0.15 * 255) * SH_C0 + 1e-4, "compressed_ply": 0.5 / 255 + 1e-3}[fmt]
    opacity_tol = {"ply": 1e-5, "splat": 0.5 / 255 + 1e-5, "spz": 0.5 / 255 + 1e-5, "compressed_ply": 0.5 / 255 + 1e-3}[fmt]
    np.testing.assert_allclose(xyz, means, rtol=0, atol=position_tol)
    np.testing.assert_allclose(read_scales, log_scales, rtol=0, atol=scale_tol)
    np.testing.assert_allclose(np.clip(read_colors, 0, 1), colors, rtol=0, atol=color_tol)
    np.testing.assert_allclose(read_opacity, np.clip(opacity, 0, 1), rtol=0, atol=opacity_tol)
    if fmt == "ply":  # the static .ply keeps full detail: every Gaussian of the scene
        assert n == len(small_scene.gaussians)


def test_export_footprints_cover_the_pixel_grid(small_scene):
    """The exported splats are at least 0.6 pixel spacings wide and, seen at 1920×1080 (15× the working image),
    leave no gaps, where the scene's own footprints let the background through."""
    import torch

    from exporters.footprint import EXPORT_FOOTPRINT, pixel_spacing
    from landscape4d.animate import gaussians_at
    from landscape4d.raster import rasterize_gaussians
    from exporters.footprint import window_camera

    ready = export_ready(small_scene)
    sigma = ready.gaussians.scales.numpy().min(axis=1)
    assert (sigma >= EXPORT_FOOTPRINT * pixel_spacing(ready) * (1 - 1e-5)).all()
    camera = window_camera(small_scene.source_camera, 1920, 1080)
    coverage = {}
    for name, scene in (("scene", small_scene), ("export", ready)):
        state = gaussians_at(scene, 0.0).gaussians
        coverage[name] = rasterize_gaussians(state, camera, background=torch.zeros(3)).alpha.numpy()
    assert (coverage["scene"] < 0.9).mean() > 0.2  # the scene's own splats: a dot grid at this size
    assert (coverage["export"] < 0.9).mean() < 0.005


@pytest.mark.parametrize("fmt", ["splatv", "sequence", "spz"])
def test_size_budget_resamples_without_holes(small_scene, tmp_path, fmt):
    """A byte budget below the full scene's size: the file fits it, holds fewer Gaussians on a coarser grid, and
    the picture stays whole (our render of what the file holds covers every pixel of the source view)."""
    import torch

    from exporters.api import estimated_bytes
    from landscape4d.animate import gaussians_at
    from landscape4d.raster import rasterize_gaussians

    full = export_scene(small_scene, fmt, tmp_path / "full", max_bytes=0)
    budget = full.sizes[full.paths[0].name] // 3
    small = export_scene(small_scene, fmt, tmp_path / "small", max_bytes=budget)
    assert small.sizes[small.paths[0].name] <= budget
    assert small.stats["grid"] > 1.0
    if fmt == "splatv":
        # A moving Gaussian costs 14 splats, a static one 1: the coarser grid merges by bytes, so the moving layer
        # shrinks to about a third and the static one less (China at 128 px: 0.27 and 0.57 of theirs).
        assert small.stats["splats"] < 0.4 * full.stats["splats"]
        assert small.stats["moving"] < 0.4 * full.stats["moving"] and small.stats["gaussians"] < 0.6 * full.stats["gaussians"]
    else:
        assert small.stats["gaussians"] < 0.5 * full.stats["gaussians"]
    assert small.stats["dropped_budget"] == 0  # resampled, not cut
    ready = export_ready(small_scene, grid=small.stats["grid"])
    assert len(ready.gaussians) == small.stats["gaussians"]
    camera = small_scene.source_camera
    alpha = rasterize_gaussians(gaussians_at(ready, 0.0).gaussians, camera, background=torch.zeros(3)).alpha.numpy()
    assert (alpha < 0.9).mean() < 0.002
    if fmt != "spz":
        assert estimated_bytes(fmt, {**small.stats, "frame_formats": ("compressed_ply",), "stride": small.stats.get("stride", 1),
                                     "lobes": small.stats.get("lobes", 2)}, ready) <= budget


def test_zip_members_unpack_as_0644(small_scene, tmp_path):
    import stat
    import zipfile

    export_scene(small_scene, "splatv", tmp_path)
    export_scene(small_scene, "sequence", tmp_path)
    for archive in ("scene_viewer.zip", "scene.zip"):
        with zipfile.ZipFile(tmp_path / archive) as z:
            for info in z.infolist():
                assert stat.S_IMODE(info.external_attr >> 16) == 0o644, (archive, info.filename)
                assert stat.S_ISREG(info.external_attr >> 16)
        folder = tmp_path / archive.replace(".zip", "_out")
        shutil.unpack_archive(tmp_path / archive, folder)
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in folder.iterdir())
