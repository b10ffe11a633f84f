"""Determinism: the same photo, settings and seed give the same scene arrays, byte-identical exports in every format
and the same decoded video frames (decoded by imageio) on a re-run in a fresh process (another hash seed, one CPU
thread).

``SceneMeta.created_utc`` and ``timings_s`` are a time stamp and stopwatch readings by design, so a saved scene file
differs between runs; its arrays (read back with ``Scene4D.load``) must not.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO / "examples" / "china.jpg"


def produce(out: Path) -> dict[str, str]:
    """Build the tiny scene, save it, export every format and render a short video into ``out``; the SHA-256 of
    every scene array (as saved and loaded back), every exported file and the decoded video frames."""
    import imageio.v3 as iio

    from exporters import FORMATS, export_scene
    from landscape4d import Settings, build
    from landscape4d.render import render_video
    from landscape4d.scene import Scene4D

    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    built = build(PHOTO, Settings(long_side=64, num_views=2, fit_iters=3, seed=7, device="cpu"))
    scene = built.scene
    hashes: dict[str, str] = {}
    arrays = {f"gaussians.{k}": v for k, v in scene.gaussians.as_dict().items()}
    arrays.update(velocity=scene.velocity, layer=scene.layer, phase_offset=scene.phase_offset)
    for name, tensor in arrays.items():
        hashes[f"array {name}"] = digest(tensor.detach().cpu().numpy().tobytes())
    loaded = Scene4D.load(scene.save(out / "scene"))
    for name, tensor in loaded.gaussians.as_dict().items():
        hashes[f"saved {name}"] = digest(tensor.numpy().tobytes())
    hashes["saved velocity"] = digest(loaded.velocity.numpy().tobytes())
    for fmt in FORMATS:
        result = export_scene(scene, fmt, out / fmt)
        for path in result.paths:
            hashes[f"file {fmt}/{path.name}"] = digest(path.read_bytes())
    video = render_video(scene, "circle", 0.5, 8.0, out / "video.mp4")
    frames = np.stack(list(iio.imiter(video.path, plugin="FFMPEG")))  # imageio-ffmpeg, as the library encodes
    assert frames.shape[0] == video.num_frames == 4
    hashes["video frames"] = digest(np.ascontiguousarray(frames).tobytes())
    return hashes


def differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def test_same_inputs_same_scene_exports_and_frames(tmp_path):
    # The re-run is a fresh interpreter (started first, so both run at once): another string-hash seed (set/dict
    # order), one thread for torch, numba and BLAS (thread-order reductions would show), numba loaded from its cache.
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    rerun = subprocess.Popen([sys.executable, __file__, str(tmp_path / "b")], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        here = produce(tmp_path / "a")
        stdout, stderr = rerun.communicate(timeout=300)
    finally:
        rerun.kill()
    assert len([k for k in here if k.startswith("file ")]) == 7  # six formats, the .splatv with its viewer zip
    assert rerun.returncode == 0, stderr[-3000:]
    fresh = json.loads(stdout.strip().splitlines()[-1])
    assert differences(here, fresh) == []


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    print(json.dumps(produce(folder)))
