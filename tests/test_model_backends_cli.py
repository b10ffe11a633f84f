"""The model backends end to end through the CLI, from tiny random models saved locally (no network):
``--backend models`` with ``--depth-model``, ``--segmentation-model`` and ``--inpaint-model`` folders writes the video
and the scene; ``--backend auto`` falls back to the classic backends, saying why; an explicit model that cannot load
is a usage error naming it, before any heavy work."""

from __future__ import annotations

import logging
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from landscape4d.cli import main
from landscape4d.scene import Scene4D
from tiny_diffusion import save_tiny_inpainting
from tiny_models import save_tiny_depth_anything
from tiny_segmentation import save_tiny_segmentation


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny kernels on a shared 2-core machine: one thread avoids self-contention
    try:
        yield {"depth": save_tiny_depth_anything(root / "depth"), "segmentation": save_tiny_segmentation(root / "seg"),
               "inpaint": save_tiny_inpainting(root / "inpaint")}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    image = np.zeros((48, 72, 3), np.uint8)
    image[:20] = (120, 170, 230)  # sky
    image[20:34] = (70, 110, 60)  # hills
    image[34:] = (40, 80, 110)  # lake
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "lake.png"
    iio.imwrite(path, image)
    return path


def test_cli_runs_with_all_model_backends_from_local_folders(tiny_models, photo, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    code = main([str(photo), "--backend", "models", "--depth-model", str(tiny_models["depth"]),
                 "--segmentation-model", str(tiny_models["segmentation"]), "--inpaint-model", str(tiny_models["inpaint"]),
                 "--inpaint-steps", "2", "--quality", "fast", "--resolution", "64", "--seconds", "0.5", "--fps", "8",
                 "--out", str(out), "--quiet", "--device", "cpu"])
    assert code == 0
    video = out / "lake_circle.mp4"
    frames = iio.imread(video)
    assert frames.shape[0] == 4 and frames.shape[1:3] == (42, 64) or frames.shape[1:3] == (48, 64)
    scene = Scene4D.load(out / "lake.l4d.npz")
    assert scene.meta.backends == {"regions": "segmentation", "depth": "depth-anything", "inpainter": "diffusion",
                                   "outpainter": "diffusion", "motion": "3dmom"}
    assert scene.meta.settings["depth_model"] == str(tiny_models["depth"])


def test_auto_falls_back_to_classic_and_says_why(photo, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="landscape4d.backends"):
        code = main([str(photo), "--backend", "auto", "--depth-model", "example-org/not-cached-depth",
                     "--quality", "fast", "--resolution", "64", "--seconds", "0.25", "--fps", "8", "--out", str(out),
                     "--quiet", "--device", "cpu"])
    assert code == 0
    assert Scene4D.load(out / "lake.l4d.npz").meta.backends["depth"] == "classic"
    lines = [r.getMessage() for r in caplog.records]
    assert any("depth backend auto → classic" in line and "example-org/not-cached-depth" in line
               and "HF_HUB_OFFLINE" in line for line in lines)


def test_an_explicit_model_that_cannot_load_is_named_before_any_work(photo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main([str(photo), "--depth-backend", "depth-anything", "--depth-model", "example-org/not-cached-depth",
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "example-org/not-cached-depth" in err and "HF_HUB_OFFLINE" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-written
