"""Shared test settings: offline Gradio/Hub, and the real photos in ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLE_PHOTO = REPO / "examples" / "china.jpg"


SHARED_PHOTOS = SHARED / "photos"
# Real photos that are not the project's: they live beside the checkout (../shared/photos), never in it.
needs_shared_photos = pytest.mark.skipif(
    not SHARED_PHOTOS.is_dir(), reason=f"real photos not present: {SHARED_PHOTOS} (../shared/photos beside the checkout)"
)


def shared_photos() -> list[Path]:
    """The real photos in ../shared/photos, sorted by name; [] when the folder is absent."""
    folder = SHARED_PHOTOS
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"}) if folder.is_dir() else []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian chromium (installed by .ci/run)")
    config.addinivalue_line("markers", "slow: end-to-end runs of the whole pipeline")
    config.addinivalue_line("markers", "gpu: needs CUDA")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
