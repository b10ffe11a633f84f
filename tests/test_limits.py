"""The library's resource limits (``landscape4d.limits``): one source, each enforced before the expensive work with a
message that says what was asked and what is accepted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import landscape4d.limits as limits
from exporters import export_scene
from exporters.testing import example_scene
from landscape4d import Settings
from landscape4d.camera import identity_camera
from landscape4d.gaussians import GaussianSet
from landscape4d.scene import Scene4D, SceneMeta
from landscape4d.limits import LIMITS, LimitError, Limits
from landscape4d.photo import PhotoError, load_photo

from conftest import EXAMPLE_PHOTO


@pytest.fixture
def tight(monkeypatch):
    """Replace the library's limits for one test: ``tight(max_video_frames=10)``."""

    def apply(**changes):
        monkeypatch.setattr(limits, "LIMITS", LIMITS.replace(**changes))
        return limits.LIMITS

    return apply


def test_one_dataclass_with_every_limit_described():
    names = set(LIMITS.as_dict())
    assert names == {"max_input_megapixels", "max_long_side_px", "max_video_frames", "max_gaussians",
                     "max_export_bytes", "max_request_seconds", "max_session_bytes"}
    rows = LIMITS.describe()
    assert len(rows) == len(names) and all(what and value for what, value in rows)
    assert ("Exported file", "1 GB") in rows
    with pytest.raises(ValueError, match="max_gaussians must be a positive number"):
        Limits(max_gaussians=0)


def test_photo_over_the_pixel_limit_is_refused_from_its_header(tmp_path, tight):
    path = tmp_path / "big.png"
    Image.new("RGB", (400, 300)).save(path)
    tight(max_input_megapixels=0.1)
    with pytest.raises(PhotoError, match=r"400×300 px \(0 megapixels\); the limit is 0.1 megapixels"):
        load_photo(path)
    with pytest.raises(PhotoError, match="the limit is 0.1 megapixels"):
        load_photo(np.zeros((300, 400, 3), np.uint8))
    from landscape4d.depth import load_user_depth

    with pytest.raises(ValueError, match="the limit is 0.1 megapixels"):
        load_user_depth(path, (300, 400))


def test_working_resolution_limit(tight):
    with pytest.raises(ValueError, match="long_side must be between 32 and 4096 px, got 4098"):
        Settings(long_side=4098)
    tight(max_long_side_px=256)
    with pytest.raises(LimitError, match="between 32 and 256 px, got 512"):
        Settings(long_side=512)
    Settings(long_side=256)


def test_video_over_the_frame_limit_is_refused_before_rendering(tmp_path, tight, monkeypatch):
    import landscape4d.render as render

    tight(max_video_frames=30)
    monkeypatch.setattr(render, "write_mp4", lambda *a, **k: pytest.fail("rendered a refused video"))
    with pytest.raises(LimitError, match=r"a 2 s video at 24 fps has 48 frames; the limit is 30 frames.*1.2 s at 24"):
        render.render_video(example_scene(n=50), "circle", 2.0, 24.0, tmp_path / "v.mp4")


def test_build_over_the_gaussian_limit_is_refused_after_loading_the_photo(tight):
    from landscape4d import build

    stages = []
    tight(max_gaussians=5000)
    with pytest.raises(LimitError, match=r"a 64×42 scene with 3 views would hold about 5,389 Gaussians; the limit is "
                                         r"5,000\. Lower the resolution \(to about 61 px"):
        build(EXAMPLE_PHOTO, Settings(long_side=64, num_views=3, device="cpu"), progress=lambda i, n, d: stages.append(i))
    assert stages == [1]  # refused in the first stage, before depth, views and fitting


def test_gaussian_estimate_is_close_to_a_real_build():
    from landscape4d import build

    built = build(EXAMPLE_PHOTO, Settings(long_side=64, num_views=3, fit_iters=0, device="cpu"))
    estimate = limits.estimate_gaussians(built.photo.width * built.photo.height, 3)
    assert 1.0 <= estimate / len(built.scene.gaussians) < 1.3  # errs a little high, never far off


def grid_scene(width: int = 40, height: int = 30, depth: float = 2.0) -> Scene4D:
    """One Gaussian a pixel of a flat picture at ``depth``: what the exporters' resampling merges (k × k cells)."""
    camera = identity_camera(width, height)
    fx, fy, cx, cy = (float(camera.K[i, j]) for i, j in ((0, 0), (1, 1), (0, 2), (1, 2)))
    v, u = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    means = torch.stack([(u - cx) / fx * depth, (v - cy) / fy * depth, torch.full_like(u, depth)], -1).reshape(-1, 3)
    n = len(means)
    gaussians = GaussianSet(means=means, quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                            scales=torch.full((n, 3), 0.35 * depth / fx), opacities=torch.full((n,), 0.9),
                            colors=torch.rand(n, 3, generator=torch.Generator().manual_seed(0)))
    return Scene4D(gaussians, torch.zeros(n, 3), camera, loop_frames=12, loop_fps=30.0, depth_near=depth,
                   depth_far=depth, meta=SceneMeta(photo="grid"))


def test_export_limit_resamples_then_refuses_before_writing(tmp_path, tight):
    scene = grid_scene()
    full = export_scene(scene, "splat", tmp_path / "full")
    assert full.stats["grid"] == 1.0 and full.sizes["full.splat"] == 32 * full.stats["splats"]
    tight(max_export_bytes=20_000)
    fitted = export_scene(scene, "splat", tmp_path / "fitted")  # no budget asked: the limit is the budget
    assert fitted.stats["grid"] > 1.0 and fitted.sizes["fitted.splat"] <= 20_000
    with pytest.raises(LimitError, match="max_bytes 0.1 MB is above the limit of 0.02 MB a file"):
        export_scene(scene, "splat", tmp_path / "asked", max_bytes=100_000)
    tight(max_export_bytes=200)  # not even the coarsest grid fits
    for fmt in ("splat", "sequence", "splatv"):
        with pytest.raises(LimitError, match=r"refused\.\w+ would be .*MB; the limit is 0.0002 MB a file"):
            export_scene(scene, fmt, tmp_path / "refused")
    assert not (tmp_path / "refused").exists() and not list(tmp_path.glob("refused*"))


def test_request_seconds_and_session_disk(tmp_path, tight):
    limits.check_request_seconds(LIMITS.max_request_seconds)
    with pytest.raises(LimitError, match="this request would take about 1,234 s; the limit is 600 s a request"):
        limits.check_request_seconds(1234.4)
    session = tmp_path / "session"
    assert limits.check_session_disk(session) == 0  # no folder yet
    (session / "a").mkdir(parents=True)
    (session / "a" / "scene.splat").write_bytes(b"x" * 3000)
    tight(max_session_bytes=5000)
    assert limits.folder_bytes(session) == 3000
    assert limits.check_session_disk(session, 2000) == 3000
    with pytest.raises(LimitError, match=r"would take 0.005 MB \(0.003 MB already kept\); the limit is 0.005 MB a session"):
        limits.check_session_disk(session, 2001)


def test_readme_lists_the_limits(repo):
    text = (repo / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Limits"):text.index("### Model backends")]
    for value in (f"{LIMITS.max_input_megapixels:g} megapixels", f"{LIMITS.max_long_side_px} px",
                  f"{LIMITS.max_video_frames:,} frames", f"{LIMITS.max_gaussians:,} Gaussians",
                  f"{limits.GAUSSIANS_PER_PIXEL:g} + {limits.GAUSSIANS_PER_PIXEL_PER_VIEW:g} × views",
                  f"| {limits.format_bytes(LIMITS.max_export_bytes)} |", f"{LIMITS.max_request_seconds:g} s a request",
                  f"{limits.format_bytes(LIMITS.max_session_bytes)} a session"):
        assert value in section, value
