"""landscape4d on Hugging Face Spaces: one landscape photo → a living 3D scene, a video and splat files.

A thin shell over the library (``landscape4d.pipeline``, ``landscape4d.render``, ``exporters``): handlers
validate the inputs, make one or two library calls and format the results; the Space's own helpers live in
``space/`` (``space.preview``: overlays, the arrow pad, path sketches, the 3D preview; ``space.estimates``: time
estimates). Every limit, default and rule (working size, video length and fps, presets, camera paths, motion
methods, region kinds) is the library's, imported here, never restated.

Session habits (after TRELLIS's app.py): every browser session gets its own temp folder, created on load and
removed on unload; ``gr.State`` holds only CPU data (that folder, the saved scene's path and what it was built
from), so a re-render with another camera path loads the scene file instead of rebuilding it. Buttons are enabled
only when there is something to act on; validation raises ``gr.Error`` with a message the user can act on.
Importing this module builds the page but runs nothing heavy; ``python app.py`` launches it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from landscape4d.flow2d import Arrow
from landscape4d.photo import PhotoError, load_photo, working_size
from landscape4d.regions import KINDS, Region, RegionMasks, paint_over
from landscape4d.settings import (
    DEFAULT_VIDEO_FPS, DEFAULT_VIDEO_SECONDS, DEFAULT_VIDEO_TRAJECTORY, LOOP_SECONDS_RANGE, MOTION_METHODS, SPEED_RANGE,
    VIDEO_FPS_RANGE, VIDEO_SECONDS_RANGE, Settings, video_frame_count,
)
from landscape4d.settings import PRESETS as QUALITY
from landscape4d.trajectories import PRESETS as TRAJECTORIES
from space import preview

try:  # Hugging Face ZeroGPU: a GPU is attached only while a decorated function runs.
    import spaces

    build_gpu_task = spaces.GPU(duration=120)  # seconds per call; a fast or balanced build needs far less

    def _render_gpu_seconds(scene_path, trajectory, seconds, fps, *args, **kwargs) -> int:
        """ZeroGPU time for one video: rendering and encoding cost about 30 ms a frame at 1024 px on an H200."""
        return int(min(600, 30 + 0.03 * video_frame_count(float(seconds), float(fps))))

    render_gpu_task = spaces.GPU(duration=_render_gpu_seconds)
except ImportError:  # anywhere else the decorators are no-ops

    def build_gpu_task(fn):
        return fn

    render_gpu_task = build_gpu_task


log = logging.getLogger("landscape4d.app")
# Lazily cached example results go to the temp dir, not into the repository (.gradio/ is not ignored there).
os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(Path(tempfile.gettempdir()) / "landscape4d-examples"))

REPO = Path(__file__).resolve().parent
EXAMPLES = [str(REPO / "examples" / "china.jpg")]
SESSIONS_ROOT = Path(os.environ.get("LANDSCAPE4D_SESSIONS", Path(tempfile.gettempdir()) / "landscape4d-sessions"))
STALE_SESSION_S = 6 * 3600  # folders of sessions that never said goodbye (API clients, crashed tabs)
DISPLAY_LONG_SIDE = 768  # the arrow pad and brush editor show the photo at most this large
CHECK_LONG_SIDE = 256  # validating a photo (its header, its original size) needs only a small decode
RESOLUTIONS = ["preset", "256", "384", "512", "768", "1024"]
DEFAULT_QUALITY = "fast"  # CPU-friendly; the example and the loop, speed and motion controls start at it
FULL_STAGES = ("Rendering video", "Writing splat files")
FRAMES_STRIDE = 6  # the frames zip keeps every 6th loop frame (5 fps)
EXPORTS = (  # (key, exporter format, button label, options)
    ("ply", "ply", ".ply", {}),
    ("splat", "splat", ".splat", {}),
    ("spz", "spz", ".spz", {}),
    # SuperSplat plays a zip of frames; compressed .ply at every 6th loop frame (5 fps) keeps it to tens of MB.
    ("frames", "sequence", "frames .zip", {"frame_formats": ("compressed_ply",), "stride": FRAMES_STRIDE}),
    # error_samples only feeds the motion-fit statistics; 3 samples instead of 61 saves most of the time.
    ("splatv", "splatv", ".splatv + viewer .zip", {"error_samples": 3}),
)


# ---------------------------------------------------------------------------------------------------------------
# Session state: CPU data only


@dataclass
class Session:
    """What ``gr.State`` keeps for one browser session."""

    dir: str = ""
    scene_path: str = ""  # the fitted scene (*.l4d.npz); re-renders load it
    scene_key: str = ""  # fingerprint of the photo, edits and scene settings it was built from
    name: str = "scene"
    files: dict[str, str] = field(default_factory=dict)  # export key → path
    viewer_url: str = ""
    renders: int = 0
    summary: str = ""


def _session(state: dict | None, request: gr.Request | None) -> Session:
    session = Session(**state) if state else Session()
    if not session.dir or not Path(session.dir).is_dir():
        session.dir = str(_session_dir(request))
    return session


def _session_dir(request: gr.Request | None) -> Path:
    key = getattr(request, "session_hash", None) or f"anon-{os.getpid()}-{time.time_ns()}"
    path = SESSIONS_ROOT / "".join(c for c in str(key) if c.isalnum() or c in "-_")
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_session(request: gr.Request) -> dict:
    _sweep_stale_sessions()
    return asdict(Session(dir=str(_session_dir(request))))


def end_session(request: gr.Request) -> None:
    shutil.rmtree(_session_dir(request), ignore_errors=True)


def _sweep_stale_sessions() -> None:
    if not SESSIONS_ROOT.is_dir():
        return
    now = time.time()
    for path in SESSIONS_ROOT.iterdir():
        try:
            if path.is_dir() and now - path.stat().st_mtime > STALE_SESSION_S:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------------------------
# Inputs → library arguments (validation only; messages the user can act on)


def _settings(quality: str, resolution: str, loop_seconds: float | None = None, speed: float | None = None,
              motion: str | None = None) -> Settings:
    """The quality preset with the page's changes (None: the preset's own value); the library validates them."""
    if quality not in QUALITY:
        raise gr.Error(f"Unknown quality {quality!r}; choose one of {', '.join(QUALITY)}.")
    changes: dict[str, Any] = {}
    if loop_seconds is not None:
        changes["loop_seconds"] = float(loop_seconds)
    if speed is not None:
        changes["speed"] = float(speed)
    if motion:
        if motion not in MOTION_METHODS:
            raise gr.Error(f"Unknown 3D motion method {motion!r}; choose one of {', '.join(MOTION_METHODS)}.")
        changes["motion"] = motion
    if resolution and str(resolution) != "preset":
        changes["long_side"] = int(resolution)
    try:
        return QUALITY[quality].replace(**changes)
    except ValueError as error:
        raise gr.Error(str(error)) from error


def _photo_path(photo: Any) -> str:
    path = photo if isinstance(photo, str) else getattr(photo, "name", None) or (photo or {}).get("path")
    if not path:
        raise gr.Error("Upload a photo first (or pick the example below the upload box).", title="No photo")
    return str(path)


def _check_photo(path: str):
    """The photo at a small size: enough to validate it (header checks run before any decoding)."""
    try:
        return load_photo(path, CHECK_LONG_SIDE)
    except PhotoError as error:
        raise gr.Error(str(error), title="This photo can't be used", duration=None, print_exception=False) from error


def _arrows(text: str | None, original_size: tuple[int, int]) -> list[Arrow]:
    try:
        arrows = preview.parse_arrows(text)
        preview.check_arrows(arrows, original_size)
    except ValueError as error:
        raise gr.Error(f"Arrows: {error}", title="Check the arrows") from error
    return arrows


def _fingerprint(path: str, layers: preview.PaintedLayers, arrows: list[Arrow], settings: Settings) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(layers.fingerprint())
    digest.update(preview.format_arrows(arrows).encode())
    digest.update(repr(replace(settings, device="auto")).encode())
    return digest.hexdigest()


def _working_long_side(settings: Settings, gpu: bool) -> int:
    """The long side the pipeline will work at: the library's rule (the settings', else its default per device)."""
    import torch

    from landscape4d.pipeline import working_long_side  # deferred: importing the app stays light

    return working_long_side(settings, torch.device("cuda" if gpu else "cpu"))


def _working_size(original_size: tuple[int, int], settings: Settings, gpu: bool) -> tuple[int, int]:
    """(w, h) of the pipeline's working image for a photo of ``original_size`` (what ``load_photo`` will return)."""
    return working_size(original_size, _working_long_side(settings, gpu))


# ---------------------------------------------------------------------------------------------------------------
# Device note and estimates


_DEVICE: tuple[bool, str] | None = None


def device_note() -> tuple[bool, str]:
    """(has GPU, one line saying what runs where)."""
    global _DEVICE
    if _DEVICE is None:
        import torch  # the library imports it anyway; deferred so that importing app.py stays quick

        cores = os.cpu_count() or 1
        if os.environ.get("SPACES_ZERO_GPU") or torch.cuda.is_available():
            name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "ZeroGPU"
            rasterizer = "gsplat" if importlib.util.find_spec("gsplat") else "the CPU rasterizer (pip install gsplat)"
            _DEVICE = (True, f"**GPU ({name})**: fitting and rendering run on the GPU with {rasterizer}; depth, "
                             "regions and file writing run on the CPU.")
        else:
            _DEVICE = (False, f"**CPU only** (no GPU found, {cores} cores): every stage runs on the CPU with the "
                              "project's numba rasterizer — pick quality *fast* for a quick result.")
    return _DEVICE


def estimate(photo_size: list | None, quality: str, resolution: str, loop_seconds: float, speed: float,
             seconds: float, fps: float, state: dict | None) -> str:
    from exporters.sequence import frame_phases  # deferred with the pipeline: importing the app stays light
    from space import estimates

    gpu, note = device_note()
    try:
        settings = _settings(quality, resolution, loop_seconds, speed)
    except gr.Error as error:
        return f"{note}  \n⚠ {error.message}"
    size = _working_size(tuple(photo_size) if photo_size else (3, 2), settings, gpu)
    frames = video_frame_count(float(seconds), float(fps))
    written = len(frame_phases(settings.loop_frames, FRAMES_STRIDE))
    numbers = estimates.estimate_seconds(size, settings, frames, written, gpu)
    kept = bool(state and state.get("scene_path") and Path(state["scene_path"]).is_file())
    return estimates.estimate_markdown(note, size, numbers, frames, scene_kept=kept)


# ---------------------------------------------------------------------------------------------------------------
# Photo, regions and arrows (light handlers)


def _editor_value(overlay) -> dict:
    return {"background": overlay, "layers": [], "composite": None}


def show_photo(photo: Any, quality: str, resolution: str):
    """Upload → the photo with its automatic regions (pad and brush background). Bad files → a message."""
    # A new photo needs a new scene: "Re-render video" waits for the next Generate.
    empty = (preview.arrow_pad_html(None, None), None, None, "", gr.update(interactive=False),
             gr.update(interactive=False))
    if photo is None:
        return (*empty, "")
    try:
        path = _photo_path(photo)
        gpu, _ = device_note()
        working = load_photo(path, _working_long_side(_settings(quality, resolution), gpu))
    except (PhotoError, gr.Error) as error:
        message = error.message if isinstance(error, gr.Error) else str(error)
        gr.Warning(message, title="This photo can't be used")
        return (*empty, f"⚠ **This photo can't be used.** {message}")
    from landscape4d.backends import REGIONS
    from landscape4d.regions import estimate_regions

    # The regions backend the build will use, at the scene's working size, as the pipeline will see them.
    settings = _settings(quality, resolution)
    regions = estimate_regions(working.image, REGIONS.create(settings.regions, settings))
    display = preview.to_uint8(load_photo(path, DISPLAY_LONG_SIDE).image)  # the pad and brush: larger
    automatic = [asdict(region) for region in regions.regions]  # plain dicts in gr.State; _regions reads them
    view = {"photo": display, "size": list(working.original_size), "regions": automatic,
            "chosen": list(regions.accepted), "sky": regions.sky, "water": regions.water}
    view = _paint_view(view, preview.PaintedLayers())
    suggested = len(automatic) - len(regions.accepted)
    status = (
        f"Photo **{working.name}** ({working.original_size[0]}×{working.original_size[1]}): sky "
        f"{regions.sky.mean():.0%}, water {regions.water.mean():.0%} of the picture"
        + (f"; {suggested} more region{'s' if suggested != 1 else ''} suggested (orange, still: tick to move)"
           if suggested else "")
        + ". Untick a wrong region, paint or draw arrows to change the motion, or press **Generate**."
    )
    pad = preview.arrow_pad_html(view["overlay"], working.original_size, [])
    return pad, _editor_value(view["overlay"]), view, "", gr.update(interactive=True), gr.update(interactive=False), status


def _paint_view(view: dict, layers: preview.PaintedLayers) -> dict:
    """The view with its overlay and moving mask: the chosen automatic regions with the painted layers on top,
    every automatic region numbered, the unchosen ones outlined in orange."""
    shape = view["sky"].shape
    sky, water = paint_over(view["sky"], view["water"], preview.resize_mask(layers.sky, shape),
                            preview.resize_mask(layers.water, shape))
    freeze = preview.resize_mask(layers.freeze, shape)
    moving = (sky | water) & ~freeze if freeze is not None else sky | water
    overlay = preview.region_overlay(view["photo"], sky, water, layers.freeze)
    overlay = preview.label_regions(overlay, view.get("regions", []), view.get("chosen", []))
    return {**view, "overlay": overlay, "moving": moving}


def repaint_regions(editor: dict | None, view: dict | None, arrows_text: str):
    """Brush strokes → the pad shows the regions the scene will use: automatic ones with the painted layers on top."""
    if not view:
        return gr.skip(), gr.skip()
    view = _paint_view(view, preview.painted_layers(editor))
    return view, _pad(view, arrows_text)


def region_list(view: dict | None):
    """The automatic regions as a checkbox list (ticked = moves), numbered as on the pad."""
    if not view or not view.get("regions"):
        return gr.update(choices=[], value=[], visible=bool(view))
    choices = [preview.region_choice(i, r) for i, r in enumerate(view["regions"])]
    return gr.update(choices=choices, value=list(view.get("chosen", [])), visible=True)


def choose_regions(chosen: list | None, editor: dict | None, view: dict | None, arrows_text: str):
    """One click on the list accepts or removes an automatic region; the pad shows the result at once."""
    if not view or not view.get("regions"):
        return gr.skip(), gr.skip()
    chosen = sorted(int(i) for i in (chosen or []) if 0 <= int(i) < len(view["regions"]))
    masks = RegionMasks(view["sky"], view["water"], _regions(view)).choose(chosen)
    view = _paint_view({**view, "chosen": chosen, "sky": masks.sky, "water": masks.water},
                       preview.painted_layers(editor))
    return view, _pad(view, arrows_text)


def _regions(view: dict) -> list[Region]:
    """The view's automatic regions (kept as plain dicts in gr.State) as the library's ``Region``."""
    return [Region(**region) for region in view.get("regions", [])]


def with_region_choices(layers: preview.PaintedLayers, view: dict | None) -> preview.PaintedLayers:
    """The painted layers plus the user's choices among the automatic regions, as edits the pipeline applies on
    top of its own (identical) automatic regions: a removed region is frozen (where nothing was painted), a
    ticked suggestion is painted in with its kind."""
    if not view or not view.get("regions"):
        return layers
    regions, chosen = _regions(view), set(view.get("chosen", []))
    painted = [m for m in (layers.water, layers.sky, layers.freeze) if m is not None]
    shape = painted[0].shape if painted else regions[0].mask.shape
    empty = np.zeros(shape, bool)
    fit = lambda m: empty.copy() if m is None else preview.resize_mask(m, shape)  # noqa: E731
    added = {kind: empty.copy() for kind in KINDS}
    removed = empty.copy()
    for index, region in enumerate(regions):
        if index in chosen and not region.accepted:
            added[region.kind] |= fit(region.mask)
        elif index not in chosen and region.accepted:
            removed |= fit(region.mask)
    removed &= ~(fit(layers.sky) | fit(layers.water))
    union = lambda a, b: (fit(a) | b) if (a is not None or b.any()) else None  # noqa: E731
    return preview.PaintedLayers(water=union(layers.water, added["water"]), sky=union(layers.sky, added["sky"]),
                                 freeze=union(layers.freeze, removed))


def _pad(view: dict | None, arrows_text: str) -> str:
    if not view:
        return preview.arrow_pad_html(None, None)
    size = tuple(view["size"])
    try:
        arrows = preview.parse_arrows(arrows_text)
        preview.check_arrows(arrows, size)
    except ValueError as error:
        return preview.arrow_pad_html(view["overlay"], size, [], error=str(error))
    still = preview.still_arrows(arrows, view["moving"], size)
    return preview.arrow_pad_html(view["overlay"], size, arrows, still)


def redraw_pad(view: dict | None, arrows_text: str) -> str:
    return _pad(view, arrows_text)


def add_arrow(arrows_text: str, event: gr.EventData) -> str:
    x0, y0, x1, y1 = (float(v) for v in event.arrow)
    try:
        arrows = preview.parse_arrows(arrows_text)
    except ValueError:
        arrows = []
    return preview.format_arrows([*arrows, Arrow(x0, y0, x1, y1)])


def undo_arrow(arrows_text: str) -> str:
    try:
        return preview.format_arrows(preview.parse_arrows(arrows_text)[:-1])
    except ValueError:
        return ""


# ---------------------------------------------------------------------------------------------------------------
# Heavy work (on the GPU when there is one)


def _stage_reporter(progress: gr.Progress, count: int):
    def report(index: int, _count: int, description: str) -> None:
        progress((index - 1) / count, desc=f"[{index}/{count}] {description}")

    return report


def _frame_reporter(progress: gr.Progress, index: int, count: int, description: str):
    def report(done: int, total: int) -> None:
        progress((index - 1 + done / total) / count, desc=f"[{index}/{count}] {description} ({done}/{total} frames)")

    return report


@build_gpu_task
def build_scene_files(photo_path: str, settings: Settings, painted: preview.PaintedLayers, arrows: list[Arrow],
                      out_dir: str, progress: gr.Progress) -> dict:
    """Photo → the fitted scene saved in ``out_dir`` (stages 1–5). Returns its path and numbers for the page."""
    from landscape4d.pipeline import STAGES, UserEdits, build
    from landscape4d.scene import SCENE_SUFFIX

    count = len(STAGES) + len(FULL_STAGES)
    edits = UserEdits(sky=painted.sky, water=painted.water, freeze=painted.freeze, arrows=arrows)
    result = build(photo_path, settings, edits, progress=_stage_reporter(progress, count))
    scene = result.scene
    out = Path(out_dir)
    scene_path = scene.save(out / f"{result.photo.name}{SCENE_SUFFIX}")
    return {"scene_path": str(scene_path), "name": result.photo.name, "timings": result.timings_s,
            "gaussians": len(scene.gaussians), "moving": int(scene.moving.sum()),
            "size": (scene.source_camera.width, scene.source_camera.height)}


@render_gpu_task
def render_scene_video(scene_path: str, trajectory: str, seconds: float, fps: float, out_path: str,
                       stage: tuple[int, int], progress: gr.Progress) -> dict:
    from landscape4d.pipeline import resolve_device
    from landscape4d.render import render_video
    from landscape4d.scene import Scene4D

    index, count = stage
    scene = Scene4D.load(scene_path)
    video = render_video(scene, trajectory, seconds, fps, out_path, resolve_device("auto"),
                         progress=_frame_reporter(progress, index, count, f"Rendering the {trajectory} video"))
    return {"path": str(video.path), "frames": video.num_frames, "size": (video.width, video.height),
            "holes": max(video.hole_fraction or [0.0])}


def export_files(scene_path: str, out_dir: str, progress: gr.Progress, stage: tuple[int, int]) -> dict[str, str]:
    """The download files (and the live viewer's page, unpacked from the .splatv zip) in ``out_dir``/files."""
    import exporters
    from landscape4d.scene import SCENE_SUFFIX, Scene4D

    index, count = stage
    scene = Scene4D.load(scene_path)
    name = Path(scene_path).name.removesuffix(SCENE_SUFFIX)
    out = Path(out_dir) / "files"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files: dict[str, str] = {}
    for i, (key, fmt, label, options) in enumerate(EXPORTS):
        progress((index - 1 + i / len(EXPORTS)) / count, desc=f"[{index}/{count}] Writing splat files ({label})")
        stem = out / (f"{name}_frames" if key == "frames" else name)
        result = exporters.export_scene(scene, fmt, stem, **options)
        files[key] = str(result.paths[-1])  # the main file; for splatv the zip with viewer.html written after it
    files["viewer"] = str(_unpack_viewer(Path(files["splatv"]), Path(out_dir) / "viewer"))
    # gr.Model3D starts from a fixed orbit: give it a copy of the .splat placed so that it starts at the photo's view.
    view = Path(out_dir) / "model3d" / Path(files["splat"]).name
    view.parent.mkdir(exist_ok=True)
    world_to_camera = scene.source_camera.world_to_camera.detach().cpu().numpy()
    view.write_bytes(preview.model3d_view_splat(Path(files["splat"]).read_bytes(), world_to_camera))
    files["model3d"] = str(view)
    return files


def _unpack_viewer(zip_path: Path, folder: Path) -> Path:
    """viewer.html (scene embedded) from the exporters' zip, to be served to the page's iframe."""
    import zipfile

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        (folder / "viewer.html").write_bytes(archive.read("viewer.html"))
    return folder / "viewer.html"


# ---------------------------------------------------------------------------------------------------------------
# Generate and re-render


def _size(path: str) -> str:
    size = Path(path).stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


def _download_updates(files: dict[str, str]) -> list:
    updates = []
    for key, _fmt, label, _options in EXPORTS:
        path = files.get(key)
        if path and Path(path).is_file():
            updates.append(gr.update(value=path, label=f"{label} · {_size(path)}", interactive=True))
        else:
            updates.append(gr.update(value=None, label=label, interactive=False))
    return updates


def _viewer_url(path: str | None) -> str:
    return f"gradio_api/file={path}" if path else ""


def generate(photo, editor, arrows_text, trajectory, seconds, fps, loop_seconds, speed, quality, resolution,
             state, view=None, motion: str | None = None, request: gr.Request = None, progress=gr.Progress()):
    """Build the scene (unless this session already built it from the same inputs), render, write the files."""
    started = time.perf_counter()
    path = _photo_path(photo)
    checked = _check_photo(path)
    settings = _settings(quality, resolution, loop_seconds, speed, motion)
    arrows = _arrows(arrows_text, checked.original_size)
    _check_video(trajectory, seconds, fps)
    layers = with_region_choices(preview.painted_layers(editor), view)
    session = _session(state, request)
    key = _fingerprint(path, layers, arrows, settings)

    reuse = key == session.scene_key and Path(session.scene_path).is_file()
    count = 2 if reuse else len(_pipeline_stages()) + len(FULL_STAGES)
    timings: dict[str, float] = {}
    try:
        if reuse:
            progress(0.0, desc=f"[1/{count}] Loading the saved scene")
        else:
            t = time.perf_counter()
            built = build_scene_files(path, settings, layers, arrows, session.dir, progress)
            timings["scene"] = time.perf_counter() - t
            session = replace(session, scene_path=built["scene_path"], scene_key=key, name=built["name"], files={},
                              viewer_url="")
            session.summary = (f"{built['gaussians']:,} Gaussians ({built['moving']:,} moving) at "
                               f"{built['size'][0]}×{built['size'][1]}, quality *{quality}*, loop "
                               f"{settings.loop_seconds:g} s, speed {settings.speed:g}×")
        t = time.perf_counter()
        video = _render(session, trajectory, seconds, fps, (count - 1 if not reuse else 2, count), progress)
        timings["video"] = time.perf_counter() - t
        if not reuse:
            t = time.perf_counter()
            session.files = export_files(session.scene_path, session.dir, progress, (count, count))
            session.viewer_url = _viewer_url(session.files.get("viewer"))
            timings["files"] = time.perf_counter() - t
    except (ValueError, PhotoError) as error:
        raise gr.Error(str(error), title="Could not build the scene") from error
    except gr.Error:
        raise
    except Exception as error:  # keep serving; the log has the traceback
        log.exception("generate failed")
        raise gr.Error(f"Something went wrong while building the scene ({type(error).__name__}: {error}).",
                       title="Internal error") from error

    total = time.perf_counter() - started
    parts = ", ".join(f"{name} {value:.0f} s" for name, value in timings.items())
    status = (f"✓ {'Re-rendered the kept scene' if reuse else 'Done'} in **{total:.0f} s** ({parts}). "
              f"{session.summary}. Change the camera path, length or fps and press **Re-render video** to reuse "
              "this scene.")
    return _outputs(session, video, status, new_scene=not reuse)


def rerender(trajectory, seconds, fps, state, request: gr.Request, progress=gr.Progress()):
    """Only the video: the session's saved scene along another path or for another length."""
    started = time.perf_counter()
    _check_video(trajectory, seconds, fps)
    session = _session(state, request)
    if not session.scene_path or not Path(session.scene_path).is_file():
        raise gr.Error("There is no scene in this session yet: press Generate first.", title="No scene yet")
    progress(0.0, desc="[1/2] Loading the saved scene")
    try:
        video = _render(session, trajectory, seconds, fps, (2, 2), progress)
    except ValueError as error:
        raise gr.Error(str(error)) from error
    status = (f"✓ Re-rendered **{trajectory}** ({video['frames']} frames) from the kept scene in "
              f"**{time.perf_counter() - started:.0f} s**. {session.summary} (other scene settings, edits or photo: "
              "press **Generate**).")
    return _outputs(session, video, status, new_scene=False)


def _pipeline_stages() -> tuple[str, ...]:
    from landscape4d.pipeline import STAGES

    return STAGES


def _check_video(trajectory: str, seconds: float, fps: float) -> None:
    if trajectory not in TRAJECTORIES:
        raise gr.Error(f"Unknown camera path {trajectory!r}; choose one of {', '.join(TRAJECTORIES)}.")
    (shortest, longest), (slowest, fastest) = VIDEO_SECONDS_RANGE, VIDEO_FPS_RANGE  # what render_video accepts
    if not (shortest < float(seconds) <= longest and slowest <= float(fps) <= fastest):
        raise gr.Error(f"The video must last more than {shortest:g} s and at most {longest:g} s, at {slowest:g}–"
                       f"{fastest:g} fps.", title="Check the video length")


def _render(session: Session, trajectory: str, seconds: float, fps: float, stage: tuple[int, int],
            progress: gr.Progress) -> dict:
    session.renders += 1
    out = Path(session.dir) / f"{session.name}_{trajectory}_{session.renders}.mp4"
    for old in Path(session.dir).glob(f"{session.name}_*.mp4"):
        old.unlink(missing_ok=True)  # the page already has its own copy of the previous video
    return render_scene_video(session.scene_path, trajectory, float(seconds), float(fps), str(out), stage, progress)


def _outputs(session: Session, video: dict, status: str, new_scene: bool) -> tuple:
    """The page's outputs; a kept scene's 3D views and files are already on the page (and are not copied again)."""
    if not new_scene:
        return (status, video["path"], gr.skip(), gr.skip(), *[gr.skip()] * len(EXPORTS), asdict(session),
                gr.update(interactive=True))
    viewer = preview.viewer_html(session.viewer_url, "Live 4D scene (the .splatv in the bundled viewer): drag to "
                                                     "orbit, right-drag to pan, scroll to zoom.")
    return (status, video["path"], session.files.get("model3d"), viewer, *_download_updates(session.files),
            asdict(session), gr.update(interactive=True))


# ---------------------------------------------------------------------------------------------------------------
# Example (cached lazily: the first visitor who clicks it pays for the run)


def example_result(photo, progress=gr.Progress()):
    settings = QUALITY[DEFAULT_QUALITY]
    out = SESSIONS_ROOT / "example-cache"
    out.mkdir(parents=True, exist_ok=True)
    count = len(_pipeline_stages()) + 1
    built = build_scene_files(_photo_path(photo), settings, preview.PaintedLayers(), [], str(out), progress)
    video = render_scene_video(built["scene_path"], "circle", 3.0, 15.0, str(out / "example_circle.mp4"),
                               (count, count), progress)
    return video["path"], "Example result (cached). Press **Generate** to build it in your session and get the files."


# ---------------------------------------------------------------------------------------------------------------
# The page


# The sliders offer sub-ranges of what the library accepts (settings.VIDEO_SECONDS_RANGE, VIDEO_FPS_RANGE,
# LOOP_SECONDS_RANGE, SPEED_RANGE) that a shared Space renders in reasonable time; the bounds checks are the
# library's, so API callers may use its full ranges.
VIDEO_SECONDS_SLIDER = (1.0, 12.0)
VIDEO_FPS_SLIDER = (8.0, 30.0)
LOOP_SECONDS_SLIDER = (1.0, LOOP_SECONDS_RANGE[1])
SPEED_SLIDER = (SPEED_RANGE[0], 3.0)

INTRO = """
# landscape4d · one photo → a living 3D scene
Upload a landscape photo: sky and water are found automatically, each region with a confidence (untick a wrong one,
tick an orange suggestion). Optionally paint regions and draw arrows for the direction of motion, pick a camera
path, and press **Generate**. You get a looping video, the 3D scene in the page, and splat files for web viewers.
Everything runs offline with weight-free classical models.
"""


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="landscape4d", delete_cache=(3600, 7200)) as demo:
        state = gr.State(None)
        view = gr.State(None)
        # Created first (rendered further down) because the cached example writes into them.
        status = gr.Markdown(label="status", elem_id="status", render=False)
        video = gr.Video(label="Video", autoplay=True, loop=True, buttons=["download", "share"], interactive=False,
                         elem_id="video", render=False)
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                photo = gr.File(label="1 · Photo (JPEG, PNG, WebP, TIFF…)", file_count="single", type="filepath",
                                height=110, elem_id="photo")
                gr.Examples(EXAMPLES, inputs=[photo], outputs=[video, status], fn=example_result,
                            cache_examples=True, cache_mode="lazy", label="Example photo (its result is cached)")
                with gr.Accordion("2 · Paint motion regions (optional)", open=False):
                    gr.Markdown("Choose a layer — **water**, **sky / clouds** or **freeze** — in the layer menu, "
                                "then paint. Painted water and sky move like the automatic ones; frozen pixels stay "
                                "still.", elem_classes="l4d-hint")
                    editor = gr.ImageEditor(
                        label="Brush", type="numpy", sources=(), height=420, transforms=(),
                        layers=gr.LayerOptions(layers=list(preview.LAYERS), allow_additional_layers=False),
                        brush=gr.Brush(colors=[preview.hex_colour(c) for c in (preview.WATER_RGB, preview.SKY_RGB,
                                                                               preview.FREEZE_RGB)],
                                       default_color=preview.hex_colour(preview.WATER_RGB), color_mode="fixed"),
                        elem_id="editor")
                with gr.Group():
                    trajectory = gr.Radio(list(TRAJECTORIES), value=DEFAULT_VIDEO_TRAJECTORY, label="3 · Camera path",
                                          elem_id="trajectory")
                    paths = gr.HTML(preview.paths_html(TRAJECTORIES, DEFAULT_VIDEO_TRAJECTORY), padding=True)
                with gr.Row():
                    seconds = gr.Slider(*VIDEO_SECONDS_SLIDER, value=DEFAULT_VIDEO_SECONDS, step=0.5, label="Video length (s)",
                                        elem_id="seconds")
                    fps = gr.Slider(*VIDEO_FPS_SLIDER, value=DEFAULT_VIDEO_FPS, step=1, label="Frames per second", elem_id="fps")
                with gr.Row():
                    loop_seconds = gr.Slider(*LOOP_SECONDS_SLIDER, value=QUALITY[DEFAULT_QUALITY].loop_seconds,
                                             step=0.5, label="Loop period (s)",
                                             info="the motion repeats seamlessly after this")
                    speed = gr.Slider(*SPEED_SLIDER, value=QUALITY[DEFAULT_QUALITY].speed, step=0.1,
                                      label="Motion speed")
                quality = gr.Radio(list(QUALITY), value=DEFAULT_QUALITY, label="Quality",
                                   info="fast: CPU-friendly · balanced · high: for a GPU", elem_id="quality")
                with gr.Accordion("Advanced", open=False):
                    resolution = gr.Dropdown(RESOLUTIONS, value="preset", label="Working resolution (long side, px)",
                                             info="'preset' follows the quality", elem_id="resolution")
                    motion = gr.Radio(list(MOTION_METHODS), value=QUALITY[DEFAULT_QUALITY].motion, label="3D motion",
                                      info="single-view: lift the photo's motion along its depth (fast) · 3dmom: "
                                      "one 3D motion that agrees with every generated view (the paper's 3D-MOM)",
                                      elem_id="motion")
                    photo_size = gr.JSON(None, visible=False)
            with gr.Column(scale=7, min_width=360):
                pad = gr.HTML(preview.arrow_pad_html(None, None), js_on_load=preview.ARROW_PAD_JS,
                              elem_id="arrow-pad", label="Motion regions and arrows")
                auto_regions = gr.CheckboxGroup([], label="Automatic regions (ticked ones move; numbers as on the photo)",
                                                info="One click unticks a wrong region (it stays still) or ticks an "
                                                "orange suggestion (it moves). Paint in step 2 for anything else.",
                                                visible=False, elem_id="auto-regions")
                with gr.Row():
                    arrows = gr.Textbox(label="Arrows (x0,y0,x1,y1 in photo pixels; drawn on the photo above)",
                                        placeholder="e.g. 300,380,200,400", scale=4, elem_id="arrows")
                    undo = gr.Button("Undo arrow", size="sm", scale=1, elem_id="undo-arrow")
                    clear = gr.Button("Clear arrows", size="sm", scale=1, elem_id="clear-arrows")
                with gr.Row():
                    run = gr.Button("Generate", variant="primary", interactive=False, scale=3, elem_id="generate")
                    again = gr.Button("Re-render video", interactive=False, scale=2, elem_id="rerender")
                note = gr.Markdown(elem_id="estimate")
                status.render()
                video.render()
                with gr.Tabs():
                    # The live viewer's tab renders (and loads its scene) only when opened.
                    with gr.Tab("3D preview (static splat)", id="static"):
                        model = gr.Model3D(label="Static splat", height=420, clear_color=(0.07, 0.07, 0.09, 1.0),
                                           elem_id="model3d")
                    with gr.Tab("Live 4D scene (animated)", id="live"):
                        live = gr.HTML(preview.viewer_html(None), js_on_load=None, label="live viewer",
                                       elem_id="live-viewer")
                with gr.Row():
                    downloads = [gr.DownloadButton(label, interactive=False, size="sm", elem_id=f"dl-{key}")
                                 for key, _fmt, label, _options in EXPORTS]
                gr.Markdown("Files: `.ply` (INRIA 3DGS) and `.splat` open in SuperSplat and other splat viewers; "
                            "`.spz` is Niantic's compressed format; the frames zip holds one splat per loop frame; "
                            "the `.splatv` zip plays the animation offline (open `viewer.html`).",
                            elem_classes="l4d-hint")

        # Session folder: created on load, removed on unload.
        demo.load(start_session, outputs=state, api_visibility="private")
        demo.unload(end_session)

        light = {"concurrency_limit": None, "show_progress": "hidden", "api_visibility": "private"}
        estimate_inputs = [photo_size, quality, resolution, loop_seconds, speed, seconds, fps, state]
        photo.change(show_photo, [photo, quality, resolution], [pad, editor, view, arrows, run, again, status],
                     api_name="load_photo", concurrency_limit=None, show_progress="minimal").then(
            lambda v: v and v["size"], view, photo_size, **light).then(estimate, estimate_inputs, note, **light).then(
            region_list, view, auto_regions, **light)
        auto_regions.input(choose_regions, [auto_regions, editor, view, arrows], [view, pad], **light)
        # Brush strokes fire "input" (not "change") on the editor.
        editor.input(repaint_regions, [editor, view, arrows], [view, pad], trigger_mode="always_last", **light)
        pad.input(add_arrow, [arrows], [arrows], **light)
        arrows.change(redraw_pad, [view, arrows], [pad], **light)
        undo.click(undo_arrow, [arrows], [arrows], **light)
        clear.click(lambda: "", None, [arrows], **light)
        trajectory.change(lambda t: preview.paths_html(TRAJECTORIES, t), trajectory, paths, **light)
        for control in (quality, resolution, loop_seconds, speed, seconds, fps):
            control.change(estimate, estimate_inputs, note, **light)
        demo.load(estimate, estimate_inputs, note, **light)

        outputs = [status, video, model, live, *downloads, state, again]
        run.click(generate, [photo, editor, arrows, trajectory, seconds, fps, loop_seconds, speed, quality,
                             resolution, state, view, motion], outputs, api_name="generate", concurrency_id="heavy").success(
            estimate, estimate_inputs, note, **light)
        again.click(rerender, [trajectory, seconds, fps, state], outputs, api_name="rerender", concurrency_id="heavy")
    return demo


def launch_options() -> dict:
    """Arguments for ``launch`` (shared by ``python app.py`` and the tests)."""
    SESSIONS_ROOT.mkdir(parents=True, exist_ok=True)
    return {"allowed_paths": [str(SESSIONS_ROOT)], "max_file_size": "100mb", "css": preview.PAD_CSS,
            "theme": gr.themes.Soft(primary_hue="sky")}


demo = build_demo()


def main() -> None:
    """``python app.py``: one heavy job at a time (light UI events bypass that limit), port from GRADIO_SERVER_PORT."""
    logging.basicConfig(level=logging.INFO)
    demo.queue(default_concurrency_limit=1, max_size=20).launch(**launch_options())


if __name__ == "__main__":
    main()
