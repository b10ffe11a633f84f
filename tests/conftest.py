"""Shared test settings: offline Gradio/Hub, and the real photos in ../shared when present."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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
    config.addinivalue_line(
        "markers", "load: the Space under 20 concurrent jobs (skip locally with LANDSCAPE4D_SKIP_LOAD=1 or -m 'not load')")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("LANDSCAPE4D_SKIP_LOAD", "") not in ("", "0"):
        skip = pytest.mark.skip(reason="LANDSCAPE4D_SKIP_LOAD is set (the load test runs by default and in .ci/run)")
        for item in items:
            if "load" in item.keywords:
                item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def launched_app(root: Path, log_path: Path, **env: str) -> Iterator[dict]:
    """``python app.py`` exactly as a Space runs it, on a free port, with its own sessions folder and Gradio temp
    folder under ``root`` (``env`` adds or overrides variables). Yields url, sessions, temp, process."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "LANDSCAPE4D_SESSIONS": str(root / "sessions"),
        "GRADIO_TEMP_DIR": str(root / "gradio"),
        "GRADIO_EXAMPLES_CACHE": str(root / "examples"),
        # A closed page is noticed at the next heartbeat (Gradio's default: every 15 s, which a loaded CI stretches):
        # the unload tests then wait for the signal, not for minutes.
        "GRADIO_HEARTBEAT_INTERVAL": "2",
        **env,
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=environment, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180  # a bound on a failing start, not a wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"app.py did not start; see {log_path}")
        time.sleep(0.5)
    try:
        yield {"url": url, "sessions": root / "sessions", "temp": root / "gradio", "process": process, "root": root,
               "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
