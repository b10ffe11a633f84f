"""Batch mode on a local Ray cluster: tiny photos, one that fails, then a resumed run that skips the finished ones."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO

ray = pytest.importorskip("ray")

TINY = ["--quality", "fast", "--resolution", "64", "--seconds", "0.5", "--fps", "8", "--trajectory", "swing", "--quiet"]


def _photo(path, seed: int) -> None:
    """A 48×32 landscape: sky band, green land, blue water, with noise."""
    rng = np.random.default_rng(seed)
    image = np.zeros((32, 48, 3), np.int16)
    image[:12], image[12:20], image[20:] = (120, 170, 230), (60, 120, 50), (40, 80, 140)
    image += rng.integers(-20, 20, image.shape, dtype=np.int16)
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)


def _batch(photos, out, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "landscape4d", "batch", str(photos), "--out", str(out), "--num-cpus", "2", *TINY, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=240)


def _rows(out) -> dict[str, dict]:
    with open(out / "summary.csv", newline="") as f:
        csv_rows = {row["photo"]: row for row in csv.DictReader(f)}
    summary = json.loads((out / "summary.json").read_text())
    json_rows = {row["photo"]: row for row in summary["photos"]}
    assert csv_rows.keys() == json_rows.keys()
    for name, row in json_rows.items():
        assert csv_rows[name]["status"] == row["status"] and csv_rows[name]["outputs"] == ";".join(row["outputs"])
    return json_rows


def test_batch_on_local_ray_with_a_failure_then_resume(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    for seed, name in enumerate(("lake.png", "hills.png", "coast.jpg")):
        _photo(photos / name, seed)
    (photos / "broken.jpg").write_text("this is not a photo")
    (photos / "notes.txt").write_text("not picked up: not a photo suffix")

    job = ["--formats", "splat"]
    first = _batch(photos, out, *job)
    assert first.returncode == 1, first.stderr  # one photo failed, the others finished
    rows = _rows(out)
    assert sorted(rows) == ["broken.jpg", "coast.jpg", "hills.png", "lake.png"]
    assert rows["broken.jpg"]["status"] == "failed" and "broken.jpg" in rows["broken.jpg"]["reason"]
    assert "failed broken.jpg:" in first.stderr
    assert not (out / "broken").exists()  # a failed photo leaves no folder behind
    for name in ("lake", "hills", "coast"):
        row = rows[f"{name}.{'jpg' if name == 'coast' else 'png'}"]
        assert row["status"] == "ok", row
        assert row["models_loaded"] == 0  # nothing loaded per photo (test_worker_loads_models_once: with a model)
        files = {os.path.basename(p) for p in row["outputs"]}
        assert files == {f"{name}_swing.mp4", f"{name}.l4d.npz", f"{name}.splat"}
        assert all(os.path.getsize(p) > 0 for p in row["outputs"])
        assert not [p for p in os.listdir(out / name) if ".tmp" in p or ".partial" in p]  # atomic writes
    workers = [row["worker"] for row in rows.values()]
    assert 1 <= len(set(workers)) <= 2  # four photos on the (at most two) long-lived workers of the 2-CPU cluster
    mtimes = {p: os.stat(p).st_mtime_ns for row in rows.values() for p in row["outputs"]}

    second = _batch(photos, out, *job)  # resume: only the failed photo is tried again
    assert second.returncode == 1, second.stderr
    again = _rows(out)
    assert {name: row["status"] for name, row in again.items()} == {
        "broken.jpg": "failed", "coast.jpg": "skipped", "hills.png": "skipped", "lake.png": "skipped"}
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes  # finished photos were not rewritten
    assert "0 ok, 3 skipped" in second.stdout

    (photos / "broken.jpg").unlink()
    third = _batch(photos, out, *job)  # everything done: no cluster needed, exit 0
    assert third.returncode == 0, third.stderr
    assert {row["status"] for row in _rows(out).values()} == {"skipped"}


def test_batch_usage_errors(tmp_path):
    from landscape4d.batch import BatchJob, VideoOptions, finished
    from landscape4d.cli import EXPORT_FORMATS, main
    from landscape4d.settings import Settings

    from exporters.api import FORMATS

    assert EXPORT_FORMATS == tuple(f.replace("_", "-") for f in FORMATS)
    assert main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "o")]) == 2  # no photos in it
    with pytest.raises(ValueError):
        VideoOptions(seconds=0)
    # A photo made with other settings is not "finished" for this job.
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "p.mp4").write_bytes(b"x")
    job = BatchJob(Settings(seed=1))
    (folder / "batch.json").write_text(json.dumps({"outputs": ["p.mp4"], "job": job.describe()}))
    assert finished(folder, job) is not None
    assert finished(folder, BatchJob(Settings(seed=2))) is None
    (folder / "p.mp4").unlink()
    assert finished(folder, job) is None


def test_worker_loads_models_once(tmp_path):
    """A worker (the Ray actor's class, here in-process) builds the model backends when it starts; the photos it
    then processes reuse them (``hub.load_model``'s per-process cache) instead of loading them again."""
    from landscape4d.backends import DEPTH
    from landscape4d.batch import BatchJob, PhotoWorker, VideoOptions
    from landscape4d.depth import ClassicDepthFromRegions
    from landscape4d.hub import load_model, release_models
    from landscape4d.settings import PRESETS

    loads = []

    def loader(ref, device, dtype):
        loads.append(str(ref))
        return ClassicDepthFromRegions()

    DEPTH.register("counting", lambda settings: load_model(loader, str(tmp_path), "cpu"))
    try:
        for seed, name in enumerate(("one.png", "two.png")):
            _photo(tmp_path / name, seed)
        job = BatchJob(PRESETS["fast"].replace(long_side=64, depth="counting", device="cpu"), VideoOptions("static", 0.25, 4))
        worker = PhotoWorker(job)  # threads=None: leave this process's torch threads alone
        assert len(loads) == 1 and worker.models_loaded == 1 and not worker.warmup_error
        rows = [worker.process(str(tmp_path / name), str(tmp_path / "out" / name)) for name in ("one.png", "two.png")]
        assert [row["status"] for row in rows] == ["ok", "ok"], rows
        assert len(loads) == 1 and [row["models_loaded"] for row in rows] == [0, 0]
    finally:
        DEPTH.unregister("counting")
        release_models()
