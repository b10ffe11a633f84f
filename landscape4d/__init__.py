"""landscape4d: one landscape photo → looping 4D Gaussians → video and splat files.

Public API::

    from landscape4d import Settings, build_scene, render_video, Scene4D
    scene = build_scene("examples/china.jpg", Settings())
    render_video(scene, "circle", seconds=3, fps=15, out_path="out/china_circle.mp4")
    scene.save("out/china.l4d.npz"); scene = Scene4D.load("out/china.l4d.npz")

Names are imported lazily so that ``import landscape4d.camera`` (or the CLI's ``--help``) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Arrow": "flow2d",
    "Backends": "pipeline",
    "SceneBuild": "pipeline",
    "UserEdits": "pipeline",
    "build": "pipeline",
    "build_scene": "pipeline",
    "VideoResult": "render",
    "render_video": "render",
    "Scene4D": "scene",
    "Settings": "settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'landscape4d' has no attribute {name!r}")
