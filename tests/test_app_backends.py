"""The app's Advanced › Backends choice reaches the library: classic / models / auto and the model ids map onto
Settings, an explicit model that cannot load is named in the page's error (and the server keeps serving), and
``auto`` builds with a local model where one is given and the classic backends elsewhere. Calls the app's
handlers directly (no server): the same functions the page and the HTTP API run."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from conftest import EXAMPLE_PHOTO
from tiny_models import save_tiny_depth_anything

app = pytest.importorskip("app")


def test_backend_choice_and_model_ids_map_onto_settings():
    settings = app._settings("fast", "preset", backend="models", models={"depth_model": " org/depth@v1 ", "inpaint_model": ""})
    assert (settings.regions, settings.depth, settings.inpainter, settings.outpainter) == (
        "segmentation", "depth-anything", "diffusion", "diffusion")
    assert settings.depth_model == "org/depth@v1" and settings.inpaint_model == app.DEFAULT_INPAINT_MODEL
    assert app._settings("fast", "preset", backend="classic").depth == "classic"
    with pytest.raises(gr.Error, match="Unknown backends 'gpu'"):
        app._settings("fast", "preset", backend="gpu")


def test_an_explicit_model_that_cannot_load_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(app, "SESSIONS_ROOT", tmp_path)
    with pytest.raises(gr.Error) as raised:
        list(app.generate(str(EXAMPLE_PHOTO), None, "", "swing", 1, 8, 3, 1, "fast", "64", None, None, None,
                          "models", "", "example-org/not-cached-seg", ""))
    assert "example-org/not-cached-seg" in raised.value.message and "HF_HUB_OFFLINE" in raised.value.message


def test_auto_uses_a_local_model_and_falls_back_elsewhere(monkeypatch, tmp_path):
    import torch

    from landscape4d.scene import Scene4D

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(app, "SESSIONS_ROOT", tmp_path / "sessions")
    depth_folder = save_tiny_depth_anything(tmp_path / "depth")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outputs = list(app.generate(str(EXAMPLE_PHOTO), None, "", "swing", 0.5, 8, 3, 1, "fast", "64", None, None, None,
                                    "auto", str(depth_folder), "example-org/not-cached-seg", "example-org/not-cached-inpaint"))
    finally:
        torch.set_num_threads(threads)
    assert outputs
    scenes = list((tmp_path / "sessions").rglob("*.l4d.npz"))
    assert len(scenes) == 1
    backends = Scene4D.load(scenes[0]).meta.backends
    assert backends["depth"] == "depth-anything" and backends["regions"] == "classic"
    assert backends["inpainter"] == "classic" and backends["outpainter"] == "mirror"


def test_a_request_over_the_run_time_limit_is_refused_up_front(monkeypatch, tmp_path):
    """The app asks the library's limits before any work: an estimate over ``max_request_seconds`` is refused with
    the estimate and the limit in the message, and no session scene is written."""
    import landscape4d.limits as limits

    monkeypatch.setattr(limits, "LIMITS", limits.LIMITS.replace(max_request_seconds=1.0))
    monkeypatch.setattr(app, "SESSIONS_ROOT", tmp_path / "sessions")
    with pytest.raises(gr.Error) as raised:
        list(app.generate(str(EXAMPLE_PHOTO), None, "", "swing", 4, 24, 3, 1, "fast", "preset", None))
    assert "the limit is 1 s" in raised.value.message
    assert not list((tmp_path / "sessions").rglob("*.l4d.npz"))
    assert "Run time: 1 s per request" in app._limits_markdown()  # the page shows the library's live limits
