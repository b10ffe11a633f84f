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


def shared_photos() -> list[Path]:
    folder = SHARED / "photos"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"}) if folder.is_dir() else []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian chromium (installed by .ci/run)")
    config.addinivalue_line("markers", "slow: end-to-end runs of the whole pipeline")
    config.addinivalue_line("markers", "gpu: needs CUDA")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
