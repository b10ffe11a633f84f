#!/usr/bin/env bash
# The quality report at the GPU default working size (1024 px) on a many-core GPU machine: every photo given,
# JOBS at a time (each in its own process; the measurements are mostly CPU work, builds and renders share the GPU).
# gsplat's CUDA extension is compiled once first, so the workers load it instead of all compiling it at once.
#
#   bash benchmarks/gpu_quality.sh OUT_DIR JOBS PHOTO_OR_FOLDER... [eval options, e.g. --masks DIR]
set -euo pipefail
out=$1
jobs=$2
shift 2
python - <<'PY'
import time

import torch

from landscape4d.camera import identity_camera
from landscape4d.gaussians import random_gaussians
from landscape4d.raster import rasterize_gaussians

assert torch.cuda.is_available(), "no CUDA device: this script measures the GPU default"
t = time.perf_counter()
rasterize_gaussians(random_gaussians(100).to("cuda"), identity_camera(64, 48))
torch.cuda.synchronize()
print(f"gsplat first call (compile or load): {time.perf_counter() - t:.0f} s", flush=True)
PY
python -m landscape4d.eval "$@" --out "$out" --jobs "$jobs"
