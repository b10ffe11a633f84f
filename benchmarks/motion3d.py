"""Time and agreement of the 3D motion stage: single-view lift, 3D-MOM with priors (ours) and the paper's plain 3D-MOM.

    python benchmarks/motion3d.py examples/china.jpg [more photos] [--long-side 512] [--device auto|cpu|cuda]

Each photo is built once up to its Gaussians (``--motion single-view``); then, on the same Gaussians and views,
the table gives: moving Gaussians, (view, Gaussian) pairs seen, the time of each step (per-view 2D fields, the
single-view lift, the 3D-MOM solve with priors and confinement, the plain paper objective) and each method's
agreement with every view's own 2D field (3D-MOM's objective, px per loop frame; ``mom3d.view_disagreement``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d import Settings, build  # noqa: E402
from landscape4d.mom3d import PAPER, MomSettings, ViewMotion, lift_multi_view, view_disagreement  # noqa: E402
from landscape4d.motion3d import lift_single_view  # noqa: E402
from landscape4d.scene import LAYER_BACKDROP  # noqa: E402


def timed(fn, device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", nargs="+")
    p.add_argument("--long-side", type=int, default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = p.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"{platform.processor() or 'CPU'} ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}")
    print("| photo | size | moving Gaussians | views (ours / all) | per-view 2D s (ours / all) | single-view s | "
          "3D-MOM ours s | plain 3D-MOM s | views' 2D vs single-view px | vs ours px | vs plain px |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for photo in args.photos:
        settings = Settings(motion="single-view", device=args.device)
        if args.long_side:
            settings = settings.replace(long_side=args.long_side)
        result = build(photo, settings)
        inputs = result.motion_inputs
        keep = result.scene.layer != LAYER_BACKDROP
        means = result.scene.gaussians.means[keep]
        stride = max(1, MomSettings().view_stride)
        # Ours solves with every ``view_stride``-th view (what the default lifter estimates); the plain objective
        # and the agreement columns use every view.
        solved, t_views = timed(lambda: [inputs.view_motion(i) for i in range(0, len(inputs.views), stride)], torch.device("cpu"))
        view_motions, t_all_views = timed(lambda: inputs.view_motions, torch.device("cpu"))
        single, t_single = timed(lambda: lift_single_view(means, inputs.flow, inputs.depth_m, inputs.camera), torch.device("cpu"))
        start = lift_single_view(means, inputs.flow, inputs.depth_m, inputs.camera, confine=False)
        ours, t_ours = timed(lambda: lift_multi_view(means, inputs.flow, inputs.depth_m, inputs.camera, solved,
                                                     MomSettings(), device, initial_velocity=start), device)
        plain, t_plain = timed(lambda: lift_multi_view(means, inputs.flow, inputs.depth_m, inputs.camera, view_motions,
                                                       PAPER, device, initial_velocity=start), device)
        views = [ViewMotion(inputs.camera, inputs.flow.flow_px_per_frame, inputs.depth_m, inputs.flow.moving), *view_motions]
        agree = [view_disagreement(means, v, views) for v in (single, ours, plain)]
        height, width = result.photo.image.shape[:2]
        print(f"| {Path(photo).stem} | {width}×{height} | {int((single.abs().sum(-1) > 0).sum()):,} | "
              f"{len(solved)} / {len(view_motions)} | {t_views:.2f} / {t_views + t_all_views:.2f} | {t_single:.2f} | {t_ours:.2f} | {t_plain:.2f} | {agree[0]:.4f} | {agree[1]:.4f} | {agree[2]:.4f} |")


if __name__ == "__main__":
    main()
