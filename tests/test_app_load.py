"""The Space under load (issue 15, part 3): 20 concurrent jobs from 20 gradio_client sessions against one locally
launched CPU app with the fastest settings and a 96 px photo.

Each job finishes or is told clearly that the queue is full (the test app's queue holds ``QUEUE_SIZE`` waiting jobs,
so both answers occur); the server's peak RSS stays bounded; a normal request works afterwards; and once the
sessions end (their clients close) no session folder and no Gradio temp file of theirs is left. Prints the numbers
(``-s``) and writes them to test-artifacts/app-load/load.json. Marked ``load``: skip it locally with
``LANDSCAPE4D_SKIP_LOAD=1`` or ``-m "not load"``; it runs in the README's test command (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO, launched_app
from test_app_robustness import tiny_photo

client_module = pytest.importorskip("gradio_client", reason="needs gradio_client")
Client, handle_file = client_module.Client, client_module.handle_file

ARTIFACTS = REPO / "test-artifacts" / "app-load"
JOBS = 20
QUEUE_SIZE = int(os.environ.get("LANDSCAPE4D_LOAD_QUEUE_SIZE", "4"))  # waiting jobs (the Space: 20)
MAX_RSS_GB = 6.0
FAST = ("", "static", 1, 8, 3, 1, "fast", "256")  # arrows, path, seconds, fps, loop, speed, quality, resolution


def _peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set (VmHWM): the kernel's own high-water mark, no sampling needed."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def _wait_for(condition, timeout: float, what: str, detail=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}: {detail()}")
        time.sleep(0.2)


@pytest.mark.load
def test_twenty_concurrent_jobs_finish_or_hear_the_queue_is_full(tmp_path):
    photo = tiny_photo(tmp_path)  # 96×64
    env = {"GRADIO_HEARTBEAT_INTERVAL": "1", "LANDSCAPE4D_QUEUE_SIZE": str(QUEUE_SIZE)}
    with launched_app(tmp_path / "app", ARTIFACTS / "server.log", **env) as server:
        temp_before = _files(server["temp"])  # the examples Gradio cached at start-up
        clients = [Client(server["url"], verbose=False) for _ in range(JOBS)]
        started = time.perf_counter()
        jobs = [c.submit(handle_file(str(photo)), None, *FAST, api_name="/generate") for c in clients]

        def outcome(job) -> tuple[str, str, float]:
            try:
                status, *_ = job.result(timeout=900)
                return "done", status, time.perf_counter() - started
            except Exception as error:  # noqa: BLE001 - the message is what is checked
                return "refused", str(error), time.perf_counter() - started

        with ThreadPoolExecutor(JOBS) as pool:
            outcomes = list(pool.map(outcome, jobs))
        wall = time.perf_counter() - started
        done = [o for o in outcomes if o[0] == "done"]
        refused = [o for o in outcomes if o[0] == "refused"]
        peak = _peak_rss_bytes(server["process"].pid)

        # Afterwards the app answers normally.
        after = Client(server["url"], verbose=False)
        status, *_ = after.predict(handle_file(str(tiny_photo(tmp_path, "after.jpg", seed=3))), None, *FAST,
                                   api_name="/generate")
        after.close()
        for client in clients:
            client.close()
        # The sessions end (their heartbeats stop): nothing of theirs stays on disk.
        _wait_for(lambda: not any(server["sessions"].iterdir()), 120, "every session folder to be removed")
        # Gradio's copies of their files (uploads, outputs it served) go with them; what may stay is Gradio's own
        # empty upload staging files (0 bytes, swept by the app after an hour).
        def left() -> set[Path]:
            return {p for p in _files(server["temp"]) - temp_before
                    if not (p.parent == server["temp"] and p.name.startswith("tmp") and p.stat().st_size == 0)}

        _wait_for(lambda: not left(), 60, "Gradio's copies of the sessions' files to go", lambda: sorted(left()))
        staging = len(_files(server["temp"]) - temp_before)

    numbers = {"jobs": JOBS, "queue_size": QUEUE_SIZE, "done": len(done), "refused": len(refused),
               "wall_s": round(wall, 1), "slowest_done_s": round(max((o[2] for o in done), default=0.0), 1),
               "peak_rss_gb": round(peak / 1e9, 2), "empty_upload_staging_files_left": staging,
               "refusal": refused[0][1] if refused else ""}
    print(f"\nload: {JOBS} jobs, queue {QUEUE_SIZE}: {len(done)} done, {len(refused)} refused (queue full) in "
          f"{wall:.1f} s; peak server RSS {peak / 1e9:.2f} GB; after the sessions: no session folder, no copy of their "
          f"files, {staging} empty upload staging files")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(numbers, indent=2))

    assert len(done) + len(refused) == JOBS
    assert all(status.startswith("✓ Done") for _kind, status, _t in done), done
    assert all("queue is full" in message.lower() for _kind, message, _t in refused), refused
    assert len(done) >= QUEUE_SIZE, "the queue holds QUEUE_SIZE jobs besides the running one"
    assert peak < MAX_RSS_GB * 1e9, f"peak RSS {peak / 1e9:.2f} GB"
    assert status.startswith("✓ Done"), status
