"""Markdown and CSV reports of an evaluation run (the header defines every metric)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..trajectories import PRESETS as TRAJECTORIES
from . import metrics as M
from .regions import OUTLINE_VOID_PX as REGION_VOID_PX
from .evaluate import CONTACT_TRAJECTORIES, FLICKER_ORBIT_TRAJECTORY, FLICKER_TRAJECTORY, SEAM_EXTRA_TRAJECTORY, EvalConfig, PhotoResult, RealVideoResult


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: str  # "db", "f2", "f3", "f4", "pct", "int", "deg"
    better: str  # "↑", "↓" or ""


MAIN_COLUMNS = (
    Column("source_psnr_db", "src PSNR dB", "db", "↑"),
    Column("source_ssim", "src SSIM", "f3", "↑"),
    Column("holes_mean", "holes mean %", "pct", "↓"),
    Column("holes_worst", "holes worst %", "pct", "↓"),
    Column("edge_mean", "edge mean %", "pct", "↓"),
    Column("edge_worst", "edge worst %", "pct", "↓"),
    Column("seam_psnr_db", "seam PSNR dB", "db", "↑"),
    Column("static_p99", "static p99", "f2", "↓"),
    Column("static_max", "static max", "f2", "↓"),
    Column("sharpness_ratio", "sharpness ratio", "f2", "→1"),
    Column("colour_drift", "colour drift", "f2", "↓"),
    Column("motion_angle_deg", "motion angle °", "f2", "↓"),
    Column("motion_speed_ratio", "speed ratio", "f2", "→1"),
    Column("epe_ours_px", "MV EPE ours px", "f4", "↓"),
    Column("epe_paper_px", "MV EPE plain 3D-MOM px", "f4", "↓"),
    Column("epe_ours_content_px", "MV EPE ours, content-registered px", "f4", "↓"),
    Column("epe_paper_content_px", "MV EPE plain 3D-MOM, content-registered px", "f4", "↓"),
    Column("epe_single_view_px", "MV EPE single-view px", "f4", "↓"),
    Column("epe_per_view_px", "MV EPE per-view 2D px", "f4", "↓"),
    Column("mom_ours_px", "views' 2D vs ours px", "f4", "↓"),
    Column("mom_paper_px", "views' 2D vs plain 3D-MOM px", "f4", "↓"),
    Column("mom_single_view_px", "views' 2D vs single-view px", "f4", "↓"),
    Column("flicker_warp_rmse", "flicker", "f2", "↓"),
    Column("render_piqe", "PIQE render", "f2", "↓"),
    Column("photo_piqe", "PIQE photo", "f2", ""),
)
EVAL_TIMINGS = {"build_total": "build", "eval_render": "eval renders", "eval_total": "eval", "process_cpu": "CPU (process)"}
STAGE_NAMES = {"photo": "load photo", "depth_regions": "depth + regions", "depth_regions_flow": "depth + regions + 2D flow", "motion": "2D + 3D motion"}


def _per_path_table(title: str, results: list[PhotoResult], field_name: str) -> list[str]:
    """A '### title' table of photo × preset path cells "mean / worst" from ``PhotoResult.<field_name>``."""
    lines = ["", f"### {title}", "", "| photo | " + " | ".join(TRAJECTORIES) + " |", "|" + "---|" * (1 + len(TRAJECTORIES))]
    for r in results:
        if r.error is None:
            per_path = getattr(r, field_name)
            cells = [f"{fmt(per_path[t][0], 'pct')} / {fmt(per_path[t][1], 'pct')}" if t in per_path else "–" for t in TRAJECTORIES]
            lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return lines


def timing_keys(results: list[PhotoResult]) -> list[str]:
    """The pipeline's stage keys (``SceneBuild.timings_s``, in their order) followed by the evaluation's."""
    stages: list[str] = []
    for r in results:
        stages += [k for k in r.timings_s if k not in EVAL_TIMINGS and k != "eval_renders" and k not in stages]
    return stages + list(EVAL_TIMINGS)
REGION_KEYS = ("region_precision", "region_recall", "region_iou", "visible_precision", "visible_recall", "visible_iou",
               "region_strict_iou", "visible_strict_iou", "region_angle_deg", "region_angle_sky_deg",
               "region_angle_water_deg")
EXTRA_KEYS = ("flicker_orbit_warp_rmse", "static_max_nomargin", "motion_tracked_share", "motion_still_share", "motion_gap_frames", "motion_pixels",
              "motion_speed_control", "motion_speed_ratio_luma", "motion_speed_control_luma", "motion_speed_ratio_all",
              "motion_readable_share", "motion_speed_ratio_phase0", "epe_points", "epe_single_view_content_px",
              "registration_offset_px")


def fmt(value: Any, kind: str = "f2") -> str:
    if value is None:
        return "–"
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if kind == "db":
        return f"{value:.2f}"
    if kind == "pct":
        return f"{100 * value:.2f}"
    if kind == "int":
        return f"{value:,.0f}"
    return f"{value:.{int(kind[1]) if kind.startswith('f') else 2}f}"


def _mean_inf(values: list[float]) -> float:
    """Mean of the finite values (NaNs dropped); ∞ only when every value is +∞ (e.g. bit-identical seams).

    Rows with an infinite PSNR show it themselves, so the mean row stays informative.
    """
    values = [v for v in values if not math.isnan(v)]
    finite = [v for v in values if not math.isinf(v)]
    if finite:
        return sum(finite) / len(finite)
    return values[0] if values else float("nan")


def definitions(config: EvalConfig) -> list[str]:
    """The report header: one precise definition per metric."""
    c = config
    total = round(c.video_seconds * c.video_fps)
    return [
        "All renders use the library's renderer (CPU rasterizer) on the built scene; 8-bit frames are what "
        "`render.to_uint8` writes into videos. N = loop frames (3 s × 30 fps = 90 by default); phase k ∈ [0, N]. "
        "Motion regions = `Flow2D.moving` of the input view.",
        "",
        "- **src PSNR / SSIM** (source-view fidelity): the t = 0 frame rendered from the input camera against the "
        "working-resolution photo. PSNR = 10·log10(1/MSE) over all pixels and RGB channels in [0,1]; SSIM = mean "
        "SSIM of Wang et al. 2004 (Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, per channel, averaged; "
        "scikit-image).",
        f"- **holes mean / worst %**: share of pixels whose accumulated opacity is < 0.9, on {c.trajectory_frames} "
        f"frames sampled evenly along each of the {len(TRAJECTORIES)} preset paths ({', '.join(TRAJECTORIES)}) of a "
        f"{c.video_seconds:g} s video (frame i at t = i·{c.video_seconds:g}/{c.trajectory_frames} s). *mean* = mean "
        "over paths of the per-path mean; *worst* = worst single frame of any path. Per-path numbers are below.",
        f"- **edge mean / worst %** (edge of the world): on the same frames as the holes metric, the share of a "
        "frame's pixels where it shows that the scene ends. A provenance image is rendered with the same rasterizer "
        "(each Gaussian coloured 1 if `Scene4D.layer` is photo, border — the photo's outpainted ring — or backdrop — "
        "the static copy of moving photo content —, 0 if inpainted; "
        f"blended, ÷ alpha); *unseen* = provenance < {M.PROVENANCE_SEEN:g} or alpha < 0.9; *flat* = standard "
        f"deviation of luma (Rec. 601, 8-bit levels) of the unseen pixels of a {M.FLAT_WINDOW}×{M.FLAT_WINDOW} box "
        f"< {M.FLAT_LEVELS:g} (so a thin fill next to real texture is judged by itself); "
        "the share counts the pixels of the 8-connected components of unseen ∧ flat that run along the frame border "
        f"for ≥ {M.MIN_CONTACT_PX} border pixels (flat colour where the content runs out; textured fills, interior "
        "holes and thin disocclusion cracks that only cross the border do not count). *mean* = mean "
        "over paths of the per-path mean; *worst* = worst single frame of any path. Per-path numbers are below.",
        f"- **seam PSNR**: PSNR between the frame at the start of the loop (k = 0) and at its end (k = N, i.e. "
        f"t = period before the clock wraps), same camera; the minimum over the input camera and the most lateral "
        f"camera of the `{SEAM_EXTRA_TRAJECTORY}` path. ∞ = bit-identical.",
        f"- **static p99 / max** (static stability, 8-bit levels): input camera, {c.static_samples} loop phases "
        f"k = j·T/{c.static_samples} spread over one cross-fade cycle T = N / cycles (the animation state repeats "
        "every cycle, so these are every state the loop shows at 1/12-cycle steps); D(x) = max over phases and channels of |I_k(x) − I_0(x)|·255; p99 and max of D "
        f"over pixels outside the motion regions dilated by {c.margin_px} px (a Gaussian's footprint). The CSV also "
        "has `static_max_nomargin` (no dilation).",
        f"- **sharpness ratio / colour drift** (ghosting of the animation): the same {c.static_samples} input-camera "
        f"frames as static stability, inside the motion regions eroded by {c.margin_px} px. *sharpness ratio* = "
        "min over phases k of G_k / G_0, G = mean gradient magnitude of luma (Sobel 3×3 ÷ 8, 8-bit levels per px) "
        "over the region (1 = as sharp as the photo; cross-fading blurs and lowers it); *colour drift* = max over "
        "phases and RGB channels of |mean colour of the region at k − at k = 0|, 8-bit levels.",
        f"- **motion angle / speed ratio** (motion adherence): DIS optical flow (OpenCV, medium preset) on the "
        f"*texture* of pairs of input-camera frames at phases k0 and k0 + s, for {c.adherence_phases} start phases k0 = j·T/{c.adherence_phases} "
        "over one cross-fade cycle T = N / cycles, pixels of all pairs pooled (how fast a region reads depends on where its copies are in "
        "their fade: one start phase alone measures that phase's luck; *speed ratio, start phase 0 only* in the Details table is the "
        "single-pair measure of earlier reports) — luma minus its local mean (Gaussian blur of σ = "
        f"1 % of the long side, the colour-anchoring scale), × 2 around mid-grey — divided by s, against the requested Eulerian field "
        f"(`Flow2D.flow_px_per_frame`); s = round({c.adherence_target_px:g} px / median requested speed), clamped "
        f"to [1, N·{c.adherence_max_gap:.3g}]. Candidate pixels: motion regions eroded by {c.margin_px} px, textured "
        "(Shi–Tomasi: smaller structure-tensor eigenvalue > 1e-4, 7×7 window, luma in [0,1]) with requested motion "
        "≥ 0.5 px over s frames; *tracked* = candidates passing the forward–backward flow check below (the Details "
        "table gives their share: a low share means the texture does not move coherently). *angle* = mean unsigned "
        "angle between measured and requested vectors over tracked pixels that moved ≥ 0.1 px; *speed control* "
        "(Details table) = the median speed ratio measured between frame k0 and frame k0 warped exactly by s × the "
        "requested field: what DIS reads on this texture when the motion is perfect (near 1 on water with ripples; "
        "far below 1 where the only texture is a flat sky's border, haze or tiny boats). *Readable* pixels = "
        f"candidates where that exact warp passes the forward–backward check and reads within ±{c.readable_tolerance:.0%} "
        "of the requested speed: there the instrument is known to work. *speed ratio* = median over tracked, "
        "readable pixels of (measured · requested direction)/|requested| (1 = exact; – with fewer than "
        f"{c.readable_min_pixels} such pixels); the Details table gives the readable share and the same median over "
        "all tracked pixels (*speed ratio, all tracked*), which mixes in what DIS cannot read. The texture is measured because colour anchoring keeps a region's "
        "low-frequency colour where the photo has it while ripples and foam travel: flow on plain luma averages the "
        "still layer with the moving one and reads less than the eye follows. *speed ratio (luma)* and its control "
        "(Details table) are the same measures on plain luma, for reference.",
        f"- **MV EPE** (multi-view motion consistency, px per loop frame; the paper's Table II measure): for every "
        "generated view, the view's motion is rendered from the Gaussians of the moving layer (the static backdrop "
        "under it left out; each Gaussian carries proj(p + v) − proj(p) and its change of view depth as its colour; "
        "blended, ÷ alpha). It is carried to the input view through depth: an input-view surface point P "
        f"(each pixel of the motion regions eroded by {c.margin_px} px, unprojected with the depth map) projects to q "
        f"at view depth z; it is visible if the view's rendered depth at q is within {100 * c.depth_tolerance:g} % of z; "
        "the moved point P' is the pixel q + flow(q) lifted at depth z + the rendered depth change at q (a 3D motion "
        "knows it), and the carried motion is proj_in(P') − proj_in(P). EPE = mean |carried − the input view's own "
        "rendered motion| over all visible (view, point) pairs. Rows: *ours* = the scene as built (3D-MOM with "
        "priors, `mom3d`, by default; the single-view lift with `--motion single-view`); *plain 3D-MOM* = the paper's objective alone on the same Gaussians and views "
        "(L1 over all views alike, visible points, no priors, no confinement, from rest); *single-view* = the "
        "single-view lift (`motion3d.lift_single_view`); *per-view 2D* = the \"without 3D-MOM\" baseline: each "
        "view's own field (`mom3d.estimate_view_motion`: the input's regions and arrows carried into the view "
        "through its depth, `flow2d.motion_field` there), carried at "
        + ("the same view depth z" if c.moved_depth == "keep" else "the view's rendered depth there")
        + " (a 2D field has no depth change), against the input view's requested field. Paper: 0.152 px without "
        "3D-MOM, 0.003 px with it. *Content-registered* (ours, plain 3D-MOM; single-view in the Details table): the "
        "same carried motions, compared with the input view's own motion at the *content* the view shows at q "
        "rather than at P's pixel x. A splat renderer shows at a pixel the alpha-blend of the Gaussians around it, "
        "front to back, so the content sits a fraction of a pixel from where depth puts it, toward the nearer "
        "neighbours, and differently in every view; each Gaussian carries its input-view pixel coordinates as its "
        "colour (blended, ÷ alpha: c_view(q) in the view, c_in(x) in the input view) and the input view's motion is "
        "read (bilinear) at x + c_view(q) − c_in(x): every piece of texture is compared with itself. *registration "
        "offset* (Details table) = mean |c_view(q) − c_in(x)| over the same pairs, px of the input view: where the "
        "field changes, offset × its gradient is what the depth registration adds to the EPE.",
        f"- **flicker** (temporal warping error, 8-bit levels; tearing between views shows here): two runs of "
        f"{c.flicker_frames} consecutive frames of the `{FLICKER_TRAJECTORY}` path (and, *flicker, orbit* in the "
        f"Details table, of the `{FLICKER_ORBIT_TRAJECTORY}` path) at {c.video_fps:g} fps ({total}-frame video; runs start at frames 0 and "
        f"{total // 2}). For each pair (I_t, I_t+1): b = DIS flow I_t+1 → I_t, f = I_t → I_t+1; Ŵ(x) = I_t(x + b(x)); "
        "M = pixels passing the forward–backward check |b + f(x+b)|² < 0.01(|b|² + |f(x+b)|²) + 0.5, landing inside "
        "the frame and covered (alpha ≥ 0.9) in both frames; E = 255·sqrt(mean over M and channels of "
        "(I_t+1 − Ŵ)²) (Lai et al. 2018 warping error, as an RMSE). Mean over pairs.",
        "- **PIQE** (no reference, lower is better, 0–100; Venkatanath et al. 2015, the measure the paper reports): "
        "own NumPy implementation of the published algorithm (MATLAB `piqe` semantics, no learned weights): luma, "
        "MSCN coefficients (7×7 Gaussian, σ = 7/6), 16×16 blocks, activity threshold 0.1, edge-segment (6 px) "
        "threshold 0.1, noise criterion σ > 2β; score = 100·(Σ block distortions + 1)/(active blocks + 1). "
        "*render* = mean over every path frame of the holes metric; *photo* = the working-resolution input, for "
        "reference. Absolute values depend on resolution; compare render with photo.",
        "- **timings** (s): the pipeline's stages from `SceneBuild.timings_s`, the whole build, the evaluation's "
        "rendering and the whole evaluation (wall clock), and the CPU time (user + system) of the process; **peak MB**: peak resident memory (`getrusage` ru_maxrss) of the process "
        "that built and evaluated the photo (one fresh process per photo unless `--isolate no`).",
        "- **real-video check**: the scene is built from the clip's first frame at the clip's resolution; frame i is "
        "rendered from the input camera at t = i/fps and compared with real frame i (PSNR, SSIM as above; *masked* = "
        "PSNR inside the motion regions). The *still image* baseline repeats frame 0. Means over frames 1 … T−1 "
        "(an infinite PSNR counts as 100 dB).",
        "- **motion regions vs reference** (only photos with a reference `<stem>_fluid_mask.png`: white = sky or "
        "water, hand-made; found in `--masks` folders, the photo's folder, its `masks/` subfolder or a `masks/` "
        "folder beside it; resized to the working size, area average > 0.5): scored on *textured* pixels of the "
        "photo (Shi–Tomasi as for motion adherence; motion of a flat patch is invisible) outside a void border of "
        f"{REGION_VOID_PX} px on either side of the reference's outline (as PASCAL VOC leaves a 5-px band): an "
        "outline pixel is part sky, part roof, the pixel beside it carries the outline's blur, and the pipeline "
        "keeps motion a Gaussian's footprint inside every outline on purpose so that roofs and trees are not "
        "dragged; under a flat sky nearly every textured reference pixel is such a rim pixel. *strict IoU* scores "
        "all textured pixels, the border included. *mask* = the requested "
        "moving region (`Flow2D.moving`); *visible* = pixels that visibly move in the static-camera video: the "
        f"{c.static_samples} input-camera frames of static stability, a pixel moves if max over phases and channels "
        "of |I_k − I_0| > 8 levels. Precision = |P ∧ R|/|P|, recall = |P ∧ R|/|R|, IoU = |P ∧ R|/|P ∨ R|. "
        "*angle* (where a reference motion field `<stem>_motion.npy` exists, resized with its components scaled "
        "to the axes): mean unsigned angle between the requested field and the reference field over pixels moving "
        "in both and in the reference mask (each field above 10 % of its median speed there), all / in our sky / "
        "in our water. The reference's direction is one plausible choice (a lake may drift either way), so the "
        "angle is informative; precision is what matters most: a road, field or tree that flows is the worst "
        "error.",
    ]


def _result_rows(results: list[PhotoResult]) -> list[str]:
    header = "| photo | size | Gaussians | " + " | ".join(f"{c.header} {c.better}".strip() for c in MAIN_COLUMNS) + " |"
    lines = [header, "|" + "---|" * (3 + len(MAIN_COLUMNS))]
    ok = [r for r in results if r.error is None]
    for r in results:
        if r.error is not None:
            lines.append(f"| {r.name} | error | " + " | ".join("–" for _ in range(1 + len(MAIN_COLUMNS))) + " |")
            continue
        cells = [fmt(r.values.get(c.key), c.fmt) for c in MAIN_COLUMNS]
        lines.append(f"| {r.name} | {r.width}×{r.height} | {fmt(r.gaussians, 'int')} | " + " | ".join(cells) + " |")
    if len(ok) > 1:
        cells = []
        for c in MAIN_COLUMNS:
            column = [r.values.get(c.key, float("nan")) for r in ok]
            infinite = sum(1 for v in column if math.isinf(v))
            cell = fmt(_mean_inf(column), c.fmt)
            cells.append(f"{cell} (+{infinite} ∞)" if infinite and infinite < len(column) else cell)
        lines.append(f"| **mean** ({len(ok)}) | | {fmt(sum(r.gaussians for r in ok) / len(ok), 'int')} | " + " | ".join(cells) + " |")
    return lines


def _region_table(results: list[PhotoResult]) -> list[str]:
    """The '### Motion regions vs reference masks' table (photos with a reference only)."""
    rows = [r for r in results if r.error is None and not math.isnan(r.values.get("region_iou", float("nan")))]
    if not rows:
        return []
    lines = ["", "### Motion regions vs reference masks (textured pixels, outline border void)", "",
             "| photo | mask precision ↑ | mask recall ↑ | mask IoU ↑ | visible precision ↑ | visible recall ↑ | "
             "visible IoU ↑ | strict IoU mask / visible | angle ° all / sky / water |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r.values
        cells = [fmt(v.get(k)) for k in REGION_KEYS[:6]]
        strict = " / ".join(fmt(v.get(k)) for k in REGION_KEYS[6:8])
        angles = " / ".join(fmt(v.get(k), "f0") for k in REGION_KEYS[8:])
        lines.append(f"| {r.name} | " + " | ".join(cells) + f" | {strict} | {angles} |")
    if len(rows) > 1:
        means = [fmt(_mean_inf([r.values.get(k, float("nan")) for r in rows])) for k in REGION_KEYS[:8]]
        lines.append(f"| **mean** ({len(rows)}) | " + " | ".join(means[:6]) + f" | {means[6]} / {means[7]} | |")
    return lines


def markdown_table(results: list[PhotoResult]) -> str:
    return "\n".join(_result_rows(results))


def render_markdown(
    results: list[PhotoResult],
    config: EvalConfig,
    command: str,
    environment: dict[str, str],
    real: RealVideoResult | None = None,
    sheets: dict[str, str] | None = None,
) -> str:
    lines = ["# landscape4d quality report", ""]
    lines += [f"- **command**: `{command}`"]
    lines += [f"- **{k}**: {v}" for k, v in environment.items()]
    lines += ["", "## Metrics", ""] + definitions(config) + ["", "## Results", "",
              "Arrows: ↑ higher is better, ↓ lower is better, →1 best at 1.", ""]
    lines += _result_rows(results)

    lines += _per_path_table("Holes per path (mean / worst frame, % of pixels with alpha < 0.9)", results, "holes")
    lines += _per_path_table("Edge of the world per path (mean / worst frame, % of pixels; definition above)", results, "edge")

    lines += ["", "### Timings (s) and peak memory", ""]
    keys = timing_keys(results)
    headers = [STAGE_NAMES.get(k, EVAL_TIMINGS.get(k, k)) for k in keys]
    lines += ["| photo | " + " | ".join(headers) + " | renders | peak MB |", "|" + "---|" * (3 + len(keys))]
    for r in results:
        if r.error is None:
            cells = [fmt(r.timings_s.get(k), "f2") for k in keys]
            lines.append(f"| {r.name} | " + " | ".join(cells) + f" | {fmt(r.timings_s.get('eval_renders'), 'int')} | {fmt(r.peak_rss_mb, 'int')} |")

    lines += _region_table(results)

    lines += ["", "### Details", ""]
    lines += ["| photo | moving px % | moving Gaussians | static max, no margin | motion gap (frames) | motion tracked % | motion px | speed control | readable % | speed ratio, all tracked | speed ratio, start phase 0 only | speed ratio (luma) / control | still % | EPE points | MV EPE single-view, content-registered px | registration offset px | flicker, orbit |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.error is None:
            v = r.values
            lines.append(
                f"| {r.name} | {fmt(r.moving_share, 'pct')} | {fmt(r.moving_gaussians, 'int')} | {fmt(v.get('static_max_nomargin'))} | "
                f"{fmt(v.get('motion_gap_frames'), 'int')} | {fmt(v.get('motion_tracked_share'), 'pct')} | {fmt(v.get('motion_pixels'), 'int')} | {fmt(v.get('motion_speed_control'))} | "
                f"{fmt(v.get('motion_readable_share'), 'pct')} | {fmt(v.get('motion_speed_ratio_all'))} | {fmt(v.get('motion_speed_ratio_phase0'))} | "
                f"{fmt(v.get('motion_speed_ratio_luma'))} / {fmt(v.get('motion_speed_control_luma'))} | {fmt(v.get('motion_still_share'), 'pct')} | "
                f"{fmt(v.get('epe_points'), 'int')} | {fmt(v.get('epe_single_view_content_px'), 'f4')} | "
                f"{fmt(v.get('registration_offset_px'), 'f3')} | {fmt(v.get('flicker_orbit_warp_rmse'))} |"
            )

    if real is not None:
        lines += ["", "## Real-video check", ""]
        if real.error:
            lines.append(f"{real.clip}: **error** — {real.error}")
        else:
            v = real.values
            lines += [
                f"Clip `{real.clip}`: {real.frames} frames, {real.width}×{real.height}, {real.fps:g} fps; motion regions "
                f"cover {fmt(v['moving_share'], 'pct')} % of the frame; build {fmt(v['build_s'])} s, render {fmt(v['render_s'])} s.",
                "",
                "| method | PSNR dB ↑ | SSIM ↑ | masked PSNR dB ↑ |",
                "|---|---|---|---|",
                f"| landscape4d (static camera) | {fmt(v['psnr'])} | {fmt(v['ssim'], 'f3')} | {fmt(v['psnr_mask'])} |",
                f"| still image (frame 0 repeated) | {fmt(v['still_psnr'])} | {fmt(v['still_ssim'], 'f3')} | {fmt(v['still_psnr_mask'])} |",
            ]

    errors = [r for r in results if r.error is not None]
    if errors:
        lines += ["", "## Errors", ""] + [f"- `{r.name}`: {r.error}" for r in errors]
    if sheets:
        lines += ["", "## Contact sheets", ""]
        lines += [f"![{name}]({path})" for name, path in sheets.items()]
        lines += ["", f"Rows: input, depth, masks, requested flow; then the first, middle and last frames of the "
                  f"{' and '.join(f'`{t}`' for t in CONTACT_TRAJECTORIES)} paths."]
    return "\n".join(lines) + "\n"


def write_csv(results: list[PhotoResult], path: str | Path) -> Path:
    path = Path(path)
    value_keys = [c.key for c in MAIN_COLUMNS] + list(EXTRA_KEYS) + list(REGION_KEYS)
    hole_keys = [f"{m}_{t}_{s}" for m in ("holes", "edge") for t in TRAJECTORIES for s in ("mean", "worst")]
    stage_keys = timing_keys(results)
    time_fields = [f"time_{k}_s" for k in stage_keys] + ["eval_renders"]
    fields = ["photo", "width", "height", "gaussians", "moving_gaussians", "moving_share", *value_keys, *hole_keys,
              *time_fields, "peak_rss_mb", "error"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for r in results:
            row: dict[str, Any] = {"photo": r.name, "error": r.error or ""}
            if r.error is None:
                row.update(width=r.width, height=r.height, gaussians=r.gaussians, moving_gaussians=r.moving_gaussians,
                           moving_share=r.moving_share, peak_rss_mb=round(r.peak_rss_mb, 1))
                row.update({k: r.values.get(k, float("nan")) for k in value_keys})
                for t in TRAJECTORIES:
                    if t in r.holes:
                        row[f"holes_{t}_mean"], row[f"holes_{t}_worst"] = r.holes[t]
                    if t in r.edge:
                        row[f"edge_{t}_mean"], row[f"edge_{t}_worst"] = r.edge[t]
                row.update({f"time_{k}_s": r.timings_s.get(k, float("nan")) for k in stage_keys})
                row["eval_renders"] = r.timings_s.get("eval_renders", float("nan"))
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return path


def write_real_csv(real: RealVideoResult, path: str | Path) -> Path:
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "frames", "fps", "width", "height", *real.values.keys(), "error"])
        writer.writerow([real.clip, real.frames, real.fps, real.width, real.height,
                         *(f"{v:.6g}" for v in real.values.values()), real.error or ""])
    return path
