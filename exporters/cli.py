"""Command line for exports: ``python -m landscape4d export SCENE --format ... --out ...``.

``landscape4d.cli`` builds the export parser with ``add_export_arguments`` and calls ``run_export``; errors are
raised as ``ValueError``/``FileNotFoundError`` with messages a user can act on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .api import FORMATS, OPTIONS, ExportResult, export_scene
from .footprint import EXPORT_FOOTPRINT
from .sequence import FRAME_FORMATS
from .splatv import DEFAULT_LOBES, LOBE_CHOICES

__all__ = ["ExportResult", "add_export_arguments", "export_scene", "run_export"]


def _dashed(name: str) -> str:
    return name.replace("_", "-")


def _budget_defaults() -> str:
    """``spz 15, sequence 250, splatv 64``: the formats with a default size budget, from ``OPTIONS``."""
    budgets = {fmt: opts["max_bytes"] for fmt, opts in OPTIONS.items() if opts.get("max_bytes")}
    return ", ".join(f"{_dashed(fmt)} {size / 1_000_000:g}" for fmt, size in budgets.items())


def add_export_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the export arguments to ``parser`` (positional SCENE, --format, --out and the format options)."""
    parser.add_argument("scene", help="saved scene file (*.l4d.npz)")
    parser.add_argument("--format", required=True, choices=[_dashed(f) for f in FORMATS], help="what to write")
    parser.add_argument("--out", required=True, help="output file (suffix added if missing) or existing folder")
    parser.add_argument("--max-gaussians", type=int, default=None, help="budget: most splats a file/frame may hold")
    parser.add_argument(
        "--footprint", type=float, default=None,
        help=f"splat size in pixel spacings, colours re-fitted (default {EXPORT_FOOTPRINT:g}: gap-free at any window size; "
        "0 = the scene's own)",
    )
    parser.add_argument(
        "--max-mb", type=float, default=None,
        help=f"size budget in MB (default: {_budget_defaults()}; none for the others): above it the scene is "
        "resampled on a coarser grid; 0 = no budget",
    )
    parser.add_argument("--sh-degree", type=int, choices=(0, 3), default=None, help="ply: SH degree (default: 3 if present)")
    parser.add_argument("--spz-version", type=int, choices=(2, 3), default=None, help="spz: format version (default 3)")
    parser.add_argument(
        "--frame-format", action="append", choices=[_dashed(f) for f in FRAME_FORMATS], default=None,
        help="sequence: file type of each frame (repeatable, e.g. --frame-format ply --frame-format splat; default compressed-ply)",
    )
    parser.add_argument("--stride", type=int, default=None, help="sequence: keep every k-th loop frame (default: about 10 frames a second)")
    parser.add_argument(
        "--lobes", type=int, choices=LOBE_CHOICES, default=None,
        help=f"splatv: temporal-opacity splats per particle copy (default {DEFAULT_LOBES}; more = closer cross-fade, bigger file)",
    )
    parser.add_argument("--no-viewer", action="store_true", help="splatv: do not write the viewer zip")
    parser.add_argument("--no-embed", action="store_true", help="splatv: viewer.html loads the .splatv beside it")
    return parser


def options_from_args(args: argparse.Namespace) -> dict:
    """The ``export_scene`` options the arguments ask for (only those that apply to the chosen format)."""
    fmt = args.format.replace("-", "_")
    candidates = {
        "max_gaussians": args.max_gaussians,
        "footprint": args.footprint,
        "max_bytes": None if args.max_mb is None else max(0, int(args.max_mb * 1_000_000)),
        "sh_degree": args.sh_degree,
        "spz_version": args.spz_version,
        "frame_formats": tuple(f.replace("-", "_") for f in args.frame_format) if args.frame_format else None,
        "stride": args.stride,
        "lobes": args.lobes,
        "viewer": False if args.no_viewer else None,
        "embed": False if args.no_embed else None,
    }
    given = {k: v for k, v in candidates.items() if v is not None}
    wrong = sorted(k for k in given if k not in OPTIONS[fmt])
    if wrong:
        flags = ", ".join("--" + ("no-" + k if k in ("viewer", "embed") else _dashed(k)) for k in wrong)
        raise ValueError(f"{flags} do(es) not apply to --format {args.format}")
    return given


def run_export(args: argparse.Namespace) -> int:
    """Load the scene, export it, print what was written and how big it is. Returns the exit status."""
    from landscape4d.scene import Scene4D

    scene = Scene4D.load(Path(args.scene))
    result = export_scene(scene, args.format, Path(args.out), **options_from_args(args))
    print(result.summary())
    return 0
