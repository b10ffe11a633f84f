"""3D-MOM's priors, each measured on its own: the quality report's multi-view EPE and the input view's speed.

Each photo is built once (``--motion single-view``, so every variant solves on the same Gaussians and views); then
every variant's velocities are rendered as the report renders them (``eval.evaluate.multiview_motion_epe``: the
generated views' rendered motion carried to the input view through depth, px per loop frame) and the input view's
own rendered motion is compared with the requested field (median of the motion along the requested direction ÷
its length over the eroded motion regions: 1 = the asked speed).

    python benchmarks/mom3d_priors.py PHOTO [PHOTO ...] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d.eval import evaluate as E  # noqa: E402
from landscape4d.mom3d import PAPER, MomSettings, lift_multi_view  # noqa: E402
from landscape4d.motion3d import lift_single_view  # noqa: E402
from landscape4d.pipeline import build  # noqa: E402
from landscape4d.scene import LAYER_BACKDROP  # noqa: E402
from landscape4d.settings import Settings  # noqa: E402

VARIANTS: dict[str, MomSettings | None] = {
    "single-view lift": None,
    "plain 3D-MOM (paper)": PAPER,
    "+ smoothness 1.0": dataclasses.replace(PAPER, smooth=1.0, iterations=40, confine=True),
    "+ smoothness + anchor 0.5": dataclasses.replace(PAPER, smooth=1.0, iterations=40, confine=True, anchor=0.5),
    "ours without follow-surface": MomSettings(follow_surface=0.0, follow_surface_water=0.0),
    "ours, follow-surface on the sky only": MomSettings(follow_surface_water=0.0),
    "ours, follow-surface 3 on water too": MomSettings(follow_surface_water=3.0),
    "ours (default MomSettings)": MomSettings(),
    "ours + surface prior": MomSettings(surface=1.0),
    "ours + sky-shell prior": MomSettings(sky_shell=1.0),
}


def source_speed_ratio(result, velocity: torch.Tensor) -> float:
    """Median over the eroded motion regions of the input view's rendered motion along the requested direction ÷
    the requested length."""
    scene = result.scene
    keep = scene.layer != LAYER_BACKDROP
    front = dataclasses.replace(scene.subset(keep), velocity=velocity[keep])
    own, _, _, _ = E.render_motion_field(front, scene.source_camera)
    mask = E.erode(result.flow.moving, E.EvalConfig().margin_px)
    requested = result.flow.flow_px_per_frame[mask].astype(np.float64)
    along = (own[mask] * requested).sum(-1) / np.maximum((requested * requested).sum(-1), 1e-12)
    return float(np.median(along)) if along.size else float("nan")


def frame_speed_ratio(result, velocity: torch.Tensor) -> float:
    """The report's speed ratio (``eval.evaluate.motion_adherence``: DIS on rendered input-camera frames of the
    animated loop) with the scene's velocities replaced: what the video shows, where the rendered motion field
    only shows each Gaussian's projected motion."""
    scene = dataclasses.replace(result.scene, velocity=velocity.to(result.scene.velocity.dtype))
    render = E.Renderer(scene)
    frame0 = render(scene.source_camera, 0.0)[0]
    return E.motion_adherence(render, result.flow, frame0, E.EvalConfig())["motion_speed_ratio"]


def measure(photo: str) -> list[tuple[str, float, float, float, float]]:
    result = build(photo, Settings(motion="single-view"))
    inputs = result.motion_inputs
    means = result.scene.gaussians.means
    views = inputs.view_motions
    start = lift_single_view(means, inputs.flow, inputs.depth_m, inputs.camera, confine=False)
    velocities, seconds = {}, {}
    for name, settings in VARIANTS.items():
        t = time.perf_counter()
        if settings is None:
            velocities[name] = lift_single_view(means, inputs.flow, inputs.depth_m, inputs.camera)
        else:
            velocities[name] = lift_multi_view(means, inputs.flow, inputs.depth_m, inputs.camera, views, settings,
                                               initial_velocity=start)
        seconds[name] = time.perf_counter() - t
    # The report's EPE for every variant at once: its rows are whatever motion_variants returns.
    keys = {name: f"v{i}" for i, name in enumerate(VARIANTS)}
    original = (E.motion_variants, E.MOTION_ROWS)
    E.motion_variants = lambda _result: {keys[name]: v for name, v in velocities.items()}
    E.MOTION_ROWS = tuple(keys.values())
    try:
        epe = E.multiview_motion_epe(result, E.EvalConfig())
    finally:
        E.motion_variants, E.MOTION_ROWS = original
    return [(name, epe[f"epe_{keys[name]}_px"], source_speed_ratio(result, velocities[name]),
             frame_speed_ratio(result, velocities[name]), seconds[name]) for name in VARIANTS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()
    lines = [f"# 3D-MOM priors, each on its own ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             f"Command: `python benchmarks/mom3d_priors.py {' '.join(args.photos)}`; {torch.get_num_threads()} threads, "
             f"torch {torch.__version__}. MV EPE: the quality report's multi-view EPE (px per loop frame, ↓); speed: "
             "the input view's rendered motion ÷ the requested (→1); frame speed: the quality report's speed ratio, "
             "measured by optical flow on the animated loop's rendered frames (→1); s: the solve alone (the views' own 2D fields "
             "are estimated once per photo, before).", "",
             "| photo | variant | MV EPE px | input-view speed | frame speed | solve s |", "|---|---|---|---|---|---|"]
    for photo in args.photos:
        for name, epe, speed, frame_speed, took in measure(photo):
            lines.append(f"| {Path(photo).stem} | {name} | {epe:.5f} | {speed:.3f} | {frame_speed:.3f} | {took:.2f} |")
            print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
