"""What the multi-view EPE can reach on a photo: ours against motions that are consistent by construction.

    python benchmarks/epe_floor.py examples/waterfall.jpg [more photos] [--long-side 512]

Each photo is built with the default settings; then, on the same Gaussians and views, the quality report's
multi-view EPE (through depth, and content-registered: ``eval.evaluate.velocity_epe``) is measured for:

* *ours*: the scene as built (3D-MOM with priors);
* *asked, flat*: every moving Gaussian moves exactly by the asked 2D field at its pixel, at constant depth (the
  simplest 3D motion that shows the asked field; no depth change, so nothing a view sees differs but the blend);
* *uniform, flat*: one vector for the whole region (the asked field's mean speed and mean direction), constant depth;
* *uniform, on the surface*: the same uniform field lifted by ``motion3d.lift_single_view`` (it follows the
  depth surface, as water coming toward the camera does).

A splat renderer shows at each pixel a front-to-back blend of the Gaussians around it, so a view's content sits a
fraction of a pixel (the *registration offset*) from where depth puts it. Through depth, every change of the field
inside the measured region then reads as offset × gradient: *mean |∇f|* (px per frame per px, inside the motion
regions eroded by the report's margin) says how much of that a photo's field has. The uniform rows have none.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape4d import Settings, build  # noqa: E402
from landscape4d.camera import project_points, sample_bilinear, unproject  # noqa: E402
from landscape4d.eval.evaluate import EvalConfig, epe_geometry, erode, velocity_epe  # noqa: E402
from landscape4d.motion3d import lift_single_view  # noqa: E402


def flat_lift(result, field: np.ndarray) -> torch.Tensor:
    """[N,3] velocities moving each moving Gaussian's projection by ``field`` [H,W,2] at its pixel, at constant depth."""
    scene, camera = result.scene, result.scene.source_camera
    moving = scene.moving.numpy()
    uv, z = project_points(scene.gaussians.means.float(), camera)
    uv, z = uv.numpy().astype(np.float64)[moving], z.numpy().astype(np.float64)[moving]
    step = sample_bilinear(field.astype(np.float64), uv)
    delta_camera = unproject(uv + step, z, camera.K) - unproject(uv, z, camera.K)
    velocity = np.zeros((len(moving), 3))
    velocity[moving] = delta_camera @ camera.camera_to_world[:3, :3].numpy().astype(np.float64).T
    return torch.from_numpy(velocity.astype(np.float32))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", nargs="+")
    p.add_argument("--long-side", type=int, default=None)
    args = p.parse_args()
    config = EvalConfig()
    print(f"device: {platform.processor() or 'CPU'} ({torch.get_num_threads()} threads); torch {torch.__version__}")
    print("EPE px per loop frame: through depth / content-registered")
    print("| photo | size | asked speed px/frame | mean \\|∇f\\| | registration offset px | ours | asked, flat | "
          "uniform, flat | uniform, on the surface |")
    print("|---|---|---|---|---|---|---|---|---|")
    for photo in args.photos:
        settings = Settings() if not args.long_side else Settings(long_side=args.long_side)
        result = build(photo, settings)
        geometry = epe_geometry(result, config)
        flow = result.flow
        if geometry is None:
            print(f"| {Path(photo).stem} | – | nothing moves | | | | | | |")
            continue
        asked = flow.flow_px_per_frame.astype(np.float64)
        inner = erode(flow.moving, config.margin_px)
        gradient = np.sqrt(sum(np.gradient(asked[..., c])[a] ** 2 for c in range(2) for a in range(2)))
        mean_vector = asked[flow.moving].mean(axis=0)
        speed = float(np.linalg.norm(asked[flow.moving], axis=-1).mean())
        uniform = np.zeros_like(asked)
        uniform[flow.moving] = mean_vector / max(float(np.linalg.norm(mean_vector)), 1e-12) * speed
        moving = result.scene.moving
        on_surface = lift_single_view(result.scene.gaussians.means, dataclasses.replace(flow, flow_px_per_frame=uniform.astype(np.float32)),
                                      result.depth_m, result.scene.source_camera, confine=False)
        on_surface[~moving] = 0.0
        rows = {"ours": result.scene.velocity, "asked, flat": flat_lift(result, asked),
                "uniform, flat": flat_lift(result, uniform), "uniform, on the surface": on_surface}
        cells, offset = [], float("nan")
        for name, velocity in rows.items():
            epe = velocity_epe(geometry, velocity, config)
            cells.append(f"{epe.depth_registered.mean():.4f} / {epe.content_registered.mean():.4f}")
            if name == "ours":
                offset = float(epe.offset.mean())
        height, width = flow.moving.shape
        print(f"| {Path(photo).stem} | {width}×{height} | {speed:.3f} | {gradient[inner].mean():.4f} | {offset:.3f} | "
              + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
