"""landscape4d on Hugging Face Spaces: one landscape photo → a living 3D scene, a video and splat files.

A thin shell over the library (``landscape4d.pipeline``, ``landscape4d.render``, ``exporters``): handlers
validate the inputs, make one or two library calls and format the results; the Space's own helpers live in
``space/`` (``space.preview``: overlays, the arrow pad, path sketches, the 3D preview; ``space.estimates``: time
estimates). Every limit, default and rule (working size, video length and fps, presets, camera paths, motion
methods, region kinds) is the library's, imported here, never restated.

Session habits (after TRELLIS's app.py): every browser session gets its own temp folder, created on load and
removed on unload; ``gr.State`` holds only CPU data (that folder, the saved scene's path and what it was built
from); the loaded ``Scene4D`` itself stays in this process (``_SCENES``, a few sessions' worth), so a re-render
with another camera path neither rebuilds nor reloads it. A new photo (upload, drop, ×, example) clears every
result of the previous one. Buttons are enabled only when there is something to act on; validation raises
``gr.Error`` with a message the user can act on. The 3D views load only when their tab is opened.
Importing this module builds the page but runs nothing heavy; ``python app.py`` launches it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.util
import logging
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from landscape4d.backends import BACKEND_PRESETS
from landscape4d.flow2d import Arrow
from landscape4d.hub import ModelUnavailable
from landscape4d.photo import PhotoError, load_photo, working_size
from landscape4d.regions import KINDS, Region, RegionMasks, paint_over
from landscape4d.settings import (
    DEFAULT_DOWNLOADS, FRAMES_STRIDE, DEFAULT_DEPTH_MODEL, DEFAULT_INPAINT_MODEL, DEFAULT_SEGMENTATION_MODEL, check_video,
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
        """ZeroGPU time for one video: render + encode measured 3.7 ms a frame at 1024 px on a whole H200
        (benchmarks/results/speed_h200.md); 10 ms a frame leaves room for a slice, 30 s for loading the scene."""
        return int(min(600, 30 + 0.01 * video_frame_count(float(seconds), float(fps))))

    render_gpu_task = spaces.GPU(duration=_render_gpu_seconds)
except ImportError:  # anywhere else the decorators are no-ops

    def build_gpu_task(fn):
        return fn

    render_gpu_task = build_gpu_task


log = logging.getLogger("landscape4d.app")
# Lazily cached example results go to the temp dir, not into the repository (.gradio/ is not ignored there).
os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(Path(tempfile.gettempdir()) / "landscape4d-examples"))

REPO = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Example:
    """One example of the gallery: a photo the project may ship (examples/CREDITS.md), its camera path and arrows
    (original photo pixels), and its result rendered once by ``python -m space.examples`` (examples/results/)."""

    photo: str
    trajectory: str
    arrows: str = ""
    caption: str = ""

    @property
    def path(self) -> Path:
        return REPO / "examples" / self.photo

    @property
    def result(self) -> Path:
        return REPO / "examples" / "results" / f"{Path(self.photo).stem}.mp4"


# The first five are the project's own procedural landscapes (examples/make_example_scenes.py), then the photo.
EXAMPLES = [
    Example("lake.jpg", "swing", "300,470,420,485; 240,60,330,60", "mountain lake"),
    Example("city-river.jpg", "swing", "300,520,450,520; 180,70,260,70", "city river"),
    Example("waterfall.jpg", "zoom-in", "360,250,360,450; 360,760,360,860", "waterfall"),
    Example("sea.jpg", "zoom-in", "400,400,400,480; 600,120,480,120", "sea and rocks"),
    Example("clouds.jpg", "swing", "300,200,420,200", "clouds only"),
    Example("china.jpg", "swing", "520,265,420,285", "lake, tower"),
    Example("china-lake.jpg", "zoom-in", "560,150,440,175", "the lake"),
    Example("china-panorama.jpg", "circle", "380,40,470,40", "sky strip"),
    Example("china-tower.jpg", "up-down", "", "tower"),
]
EXAMPLE_SECONDS, EXAMPLE_FPS = 3.0, 15.0
SESSIONS_ROOT = Path(os.environ.get("LANDSCAPE4D_SESSIONS", Path(tempfile.gettempdir()) / "landscape4d-sessions"))
STALE_SESSION_S = 6 * 3600  # folders of sessions that never said goodbye (API clients, crashed tabs)
# Session folders are named by a keyed hash of Gradio's session id: unguessable, and a shared link (which shows the
# folder) never reveals the session id itself. The key is this process's own (a restarted server sweeps old ones).
_SESSION_KEY = secrets.token_bytes(32)
STALE_UPLOAD_STAGING_S = 3600  # Gradio's empty upload staging files (see _sweep_upload_staging)
QUEUE_SIZE = int(os.environ.get("LANDSCAPE4D_QUEUE_SIZE", "20"))  # waiting jobs; more are told the queue is full
SCENE_NAME_CHARS = 40  # file names made from an uploaded photo's name keep at most this many characters
DISPLAY_LONG_SIDE = 768  # the arrow pad and brush editor show the photo at most this large
CHECK_LONG_SIDE = 256  # validating a photo (its header, its original size) needs only a small decode
RESOLUTIONS = ["preset", "256", "384", "512", "768", "1024"]
DEFAULT_QUALITY = "fast"  # CPU-friendly; the example and the loop, speed and motion controls start at it
# The video is rendered sharper than the scene is built: its frames cost mostly per Gaussian, not per pixel, so
# twice the working size (at most VIDEO_MAX_LONG_SIDE) costs little more than the working size and plays crisp.
VIDEO_UPSCALE = 2.0
VIDEO_MAX_LONG_SIDE = 1024
SCENES_KEPT = 4  # loaded scenes kept in memory (most recently used sessions); the files stay on disk
FULL_STAGES = ("Rendering video", "Writing splat files")
EXPORTS = DEFAULT_DOWNLOADS  # (key, exporter format, button label, options): the library's list, benchmarked as is


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
    size: list[int] = field(default_factory=list)  # the scene's working size (w, h)
    num_views: int = 0


def _without_scene(session: Session) -> Session:
    """The session with no scene: what a new photo leaves (the old scene's files stay until the next build)."""
    return replace(session, scene_path="", scene_key="", name="scene", files={}, viewer_url="", summary="")


def _session(state: dict | None, request: gr.Request | None) -> Session:
    session = Session(**state) if state else Session()
    if not session.dir or not Path(session.dir).is_dir():
        session.dir = str(_session_dir(request))
    return session


def session_folder_name(session_hash: str | None) -> str:
    """The folder name of a session: a keyed hash of its id (no session id: a fresh random name). Never guessable
    from the outside, never derived from anything the client controls in a way that reaches the filesystem."""
    if not session_hash:
        return secrets.token_urlsafe(24)
    return hmac.new(_SESSION_KEY, str(session_hash).encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:40]


def _session_dir(request: gr.Request | None) -> Path:
    path = SESSIONS_ROOT / session_folder_name(getattr(request, "session_hash", None))
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_session(request: gr.Request) -> dict:
    _sweep_stale_sessions()
    return asdict(Session(dir=str(_session_dir(request))))


def end_session(request: gr.Request) -> None:
    _remove_session(_session_dir(request))


# Sessions whose page went away (the latest few thousand): a job of theirs still running removes the folder again
# when it ends.
_CLOSED: OrderedDict[str, None] = OrderedDict()
CLOSED_KEPT = 10_000
# Gradio's cache copies (uploads, and outputs it copied to serve them) per session folder: removed with the session.
_CACHE_COPIES: dict[str, set[str]] = {}
_CACHE_LOCK = threading.Lock()


def _remove_session(folder: Path) -> None:
    """Everything a session left: its folder, its loaded scene and Gradio's copies of its files."""
    with _CACHE_LOCK:
        _CLOSED[str(folder)] = None
        while len(_CLOSED) > CLOSED_KEPT:
            _CLOSED.popitem(last=False)
        copies = _CACHE_COPIES.pop(str(folder), set())
        for others in _CACHE_COPIES.values():  # the same upload or output of a session still open stays
            copies -= others
    _forget_scenes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    for copy in copies:
        path = Path(copy)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # Gradio's per-file folder, when nothing else is in it
        except OSError:
            pass


def _gradio_cache() -> Path | None:
    try:
        from gradio.utils import get_upload_folder

        return Path(get_upload_folder()).resolve()
    except Exception:
        return None


def _example_photo_names() -> set[str]:
    return {e.path.name for e in EXAMPLES}


def _remember_cache_copies(folder: str | Path, paths) -> None:
    """Note where Gradio keeps copies of this session's files (so that they leave with the session): uploads are
    already in its cache; an output is copied there under the hash of its bytes. The example photos are shared by
    every session and stay."""
    cache = _gradio_cache()
    if cache is None:
        return
    try:
        from gradio import processing_utils
        from gradio_client.utils import strip_invalid_filename_characters
    except ImportError:
        return
    copies = set()
    for path in paths:
        if not path:
            continue
        path = Path(path).resolve()
        try:
            if path.is_relative_to(cache):
                if path.name not in _example_photo_names():
                    copies.add(str(path))
            elif path.is_file():
                info = path.stat()
                digest = _file_digest(str(path), info.st_size, info.st_mtime_ns, processing_utils.hash_file)
                copies.add(str(cache / digest / strip_invalid_filename_characters(path.name)))
        except OSError:
            continue
    with _CACHE_LOCK:
        _CACHE_COPIES.setdefault(str(folder), set()).update(copies)


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int, hash_file) -> str:
    """Gradio's name for a file's cache folder (the hash of its bytes), computed once per version of the file."""
    return hash_file(path)


def _end_of_job(session: "Session") -> None:
    """After a job: a session whose page closed while it ran loses what the job wrote after the goodbye."""
    with _CACHE_LOCK:
        closed = session.dir in _CLOSED
    if closed:
        _remove_session(Path(session.dir))


# The loaded scenes (Scene4D, CPU tensors) by file path: Generate puts the one it built here, re-renders and file
# writing take it from here instead of reading and decoding the file again.
_SCENES: OrderedDict[str, Any] = OrderedDict()
_SCENES_LOCK = threading.Lock()


def _keep_scene(path: str, scene) -> None:
    with _SCENES_LOCK:
        _SCENES[str(path)] = scene
        _SCENES.move_to_end(str(path))
        while len(_SCENES) > SCENES_KEPT:
            _SCENES.popitem(last=False)


def _scene(path: str):
    """The scene saved at ``path``: from memory when this process holds it, else loaded (and then held)."""
    return _held_scene(path)[0]


def _held_scene(path: str):
    """(scene, True when it came from this process's memory rather than from the file)."""
    with _SCENES_LOCK:
        scene = _SCENES.get(str(path))
        if scene is not None:
            _SCENES.move_to_end(str(path))
            return scene, True
    from landscape4d.scene import Scene4D

    scene = Scene4D.load(path)
    _keep_scene(path, scene)
    return scene, False


def _forget_scenes(folder: Path) -> None:
    with _SCENES_LOCK:
        for path in [p for p in _SCENES if Path(p).parent == Path(folder)]:
            del _SCENES[path]


def _sweep_stale_sessions(now: float | None = None) -> list[Path]:
    """Remove the folders of sessions untouched for ``STALE_SESSION_S`` (tabs that never said goodbye, API clients):
    run when a page loads and before every job. Returns the folders removed."""
    if not SESSIONS_ROOT.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for path in SESSIONS_ROOT.iterdir():
        try:
            if path.is_dir() and now - path.stat().st_mtime > STALE_SESSION_S:
                _remove_session(path)
                removed.append(path)
        except OSError:
            pass
    _sweep_upload_staging(now)
    return removed


def _sweep_upload_staging(now: float) -> None:
    """Gradio's upload route leaves an empty ``tmp*`` staging file at the top of its cache for every upload; an hour
    on (no upload still waits for its first byte then) they go."""
    cache = _gradio_cache()
    if cache is None or not cache.is_dir():
        return
    for path in cache.glob("tmp*"):
        try:
            info = path.stat()
            if path.is_file() and info.st_size == 0 and now - info.st_mtime > STALE_UPLOAD_STAGING_S:
                path.unlink()
        except OSError:
            pass


def safe_name(name: str) -> str:
    """A name made from an uploaded file's name that is safe in a file name: letters, digits, '-' and '_' only
    (anything else, path separators and NUL included, becomes '_'), at most ``SCENE_NAME_CHARS`` characters."""
    cleaned = "".join(c if (c.isalnum() and c.isprintable()) or c in "-_" else "_" for c in str(name))
    cleaned = cleaned.strip("_-")[:SCENE_NAME_CHARS].strip("_-")
    return cleaned or "scene"


# ---------------------------------------------------------------------------------------------------------------
# Inputs → library arguments (validation only; messages the user can act on)


def _settings(quality: str, resolution: str, loop_seconds: float | None = None, speed: float | None = None,
              motion: str | None = None, backend: str | None = None, models: dict | None = None) -> Settings:
    """The quality preset with the page's changes (None: the preset's own value); the library validates them.

    ``backend`` is one of ``backends.BACKEND_PRESETS`` (classic / models / auto) and ``models`` maps the Settings'
    model fields (depth_model, segmentation_model, inpaint_model) to Hub ids or folders; empty values keep defaults."""
    from landscape4d.backends import BACKEND_PRESETS, MODEL_FIELDS

    if quality not in QUALITY:
        raise gr.Error(f"Unknown quality {quality!r}; choose one of {', '.join(QUALITY)}.")
    changes: dict[str, Any] = {}
    if backend:
        if backend not in BACKEND_PRESETS:
            raise gr.Error(f"Unknown backends {backend!r}; choose one of {', '.join(BACKEND_PRESETS)}.")
        changes.update(BACKEND_PRESETS[backend])
    for name, value in (models or {}).items():
        if name not in set(MODEL_FIELDS.values()):
            raise gr.Error(f"Unknown model setting {name!r}.")
        if value and str(value).strip():
            changes[name] = str(value).strip()
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


def _explain_bad_values(*components) -> None:
    """Gradio checks a slider's range and a choice's options before a handler runs, with messages that name neither
    the control nor (for NaN, text or a missing value) the problem. Each of these controls answers instead with its
    label, what it got and what it accepts; the handlers' and the library's own checks still follow."""
    for component in components:
        component.preprocess = _explained(component, component.preprocess)


def _explained(component, preprocess):
    label = getattr(component, "label", None) or getattr(component, "elem_id", None) or "A value"

    def check(payload):
        if isinstance(component, gr.Slider):
            low, high = component.minimum, component.maximum
            accepted = f"choose a number from {low:g} to {high:g}"
            if isinstance(payload, bool) or not isinstance(payload, (int, float)):
                raise gr.Error(f"{label}: {payload!r} is not a number; {accepted}.", title="Check the settings")
            if not math.isfinite(payload):
                raise gr.Error(f"{label}: {payload} is not a finite number; {accepted}.", title="Check the settings")
            if not low <= payload <= high:
                raise gr.Error(f"{label}: {payload:g} is out of range; {accepted}.", title="Check the settings")
        else:
            values = [value for _name, value in getattr(component, "choices", [])]
            if payload not in values:
                raise gr.Error(f"{label}: {str(payload)[:80]!r} is not one of the choices; choose one of "
                               f"{', '.join(map(str, values))}.", title="Check the settings")
        return preprocess(payload)

    return check


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
        raise gr.Error(photo_message(path, error), title="This photo can't be used", duration=None,
                       print_exception=False) from error


def photo_message(path: str, error: Exception) -> str:
    """The library's message for a photo it refused, plus what the Space does with a saved scene file."""
    from landscape4d.photo import SUPPORTED_HINT

    message = str(error)
    if "(0 bytes)" in message:
        message += f" The Space takes {SUPPORTED_HINT} photos."
    if str(path).endswith((".npz", ".l4d")):
        message += (" This looks like a saved landscape4d scene (.l4d.npz): the Space builds scenes from photos; "
                    "re-render a saved scene with `python -m landscape4d SCENE.l4d.npz`.")
    return message


def _check_layers(layers: preview.PaintedLayers, original_size: tuple[int, int]) -> None:
    """Painted layers may have any size but must have the photo's aspect ratio (the library's rule for masks)."""
    from landscape4d.photo import check_same_aspect

    width, height = original_size
    for name, mask in (("water", layers.water), ("sky / clouds", layers.sky), ("freeze", layers.freeze)):
        if mask is not None:
            try:
                check_same_aspect(mask.shape, (height, width), f"The painted {name} layer",
                                  "paint on the photo in the editor, or send layers of any size with the photo's "
                                  "aspect ratio.")
            except ValueError as error:
                raise gr.Error(str(error), title="Check the painted regions") from error


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


def video_size(scene_size: tuple[int, int]) -> tuple[int, int]:
    """(w, h) of the video for a scene built at ``scene_size``: ``VIDEO_UPSCALE`` × larger (long side at most
    ``VIDEO_MAX_LONG_SIDE``, never smaller than the scene), both sides even for H.264 yuv420p."""
    width, height = scene_size
    long_side = max(width, height)
    target = max(long_side, min(VIDEO_MAX_LONG_SIDE, round(VIDEO_UPSCALE * long_side)))
    if target == long_side:
        return width, height
    scale = target / long_side
    return 2 * round(width * scale / 2), 2 * round(height * scale / 2)


def _video_scene(scene, size: tuple[int, int]):
    """The scene seen through its own photo camera at another pixel size (same field of view and pose).

    Larger than the scene's own size, its one-pixel splats would break into dots with gaps between them, so the
    video renders the export-ready scene (footprints widened, colours re-fitted at 2×: +3 dB against the photo
    at 2× on the example; the downloads reuse the same scene from the exporters' cache)."""
    from exporters.footprint import export_ready
    from landscape4d.camera import Camera

    camera = scene.source_camera
    if (camera.width, camera.height) == tuple(size):
        return scene
    if size[0] > camera.width:
        scene = export_ready(scene)
    K = camera.K.clone()
    K[0] *= size[0] / camera.width
    K[1] *= size[1] / camera.height
    return replace(scene, source_camera=Camera(K, camera.world_to_camera, int(size[0]), int(size[1])))


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


def _raw_estimate(size: tuple[int, int], settings: Settings, seconds: float, fps: float, gpu: bool):
    """The table's estimate (``space.estimates``) for a run at working size ``size``, before calibration."""
    from exporters.sequence import frame_phases  # deferred with the pipeline: importing the app stays light
    from space import estimates

    frames = video_frame_count(float(seconds), float(fps))
    written = len(frame_phases(settings.loop_frames, FRAMES_STRIDE))
    return estimates.estimate_seconds(size, settings, frames, written, gpu, video_size(size)), frames


def estimate(photo_size: list | None, quality: str, resolution: str, loop_seconds: float, speed: float,
             seconds: float, fps: float, state: dict | None) -> str:
    """The note under Generate: where things run and, once there is a photo, how long a run takes here."""
    from space import estimates

    gpu, note = device_note()
    if not photo_size:
        return estimates.estimate_markdown(note, None, None)
    try:
        settings = _settings(quality, resolution, loop_seconds, speed)
    except gr.Error as error:
        return f"{note}  \n⚠ {error.message}"
    size = _working_size(tuple(photo_size), settings, gpu)
    raw, frames = _raw_estimate(size, settings, seconds, fps, gpu)
    kept = bool(state and state.get("scene_path") and Path(state["scene_path"]).is_file())
    calibration = estimates.CALIBRATION
    return estimates.estimate_markdown(note, size, calibration.apply(raw), frames, scene_kept=kept,
                                       video_size=video_size(size), calibrated_runs=calibration.runs)


def _record_timings(size: tuple[int, int], settings: Settings, seconds: float, fps: float,
                    timings: dict[str, float]) -> None:
    """Fold a finished run's measured seconds into the estimates' calibration (never fails a run)."""
    try:
        from space import estimates

        gpu, _ = device_note()
        raw, _frames = _raw_estimate(size, settings, seconds, fps, gpu)
        estimates.CALIBRATION.record(raw, timings)
    except Exception:  # an estimate is a nicety
        log.exception("could not record the run's timings")


# ---------------------------------------------------------------------------------------------------------------
# Photo, regions and arrows (light handlers)


def _session_image(image: np.ndarray, photo_path: str, request: gr.Request | None):
    """The brush editor's background as a file of the session (so that it, and Gradio's copy of it, leave with the
    session), and the uploaded photo noted as the session's; without a session, the image itself."""
    if request is None or not getattr(request, "session_hash", None):
        return image
    from PIL import Image

    folder = _session_dir(request)
    _remember_cache_copies(folder, [photo_path])
    path = folder / "editor" / "background.png"
    path.parent.mkdir(exist_ok=True)
    Image.fromarray(preview.to_uint8(image)).save(path, compress_level=1)
    _remember_cache_copies(folder, [path])
    return str(path)


def _editor_value(overlay) -> dict:
    return {"background": overlay, "layers": [], "composite": None}


def show_photo(photo: Any, quality: str, resolution: str, example: dict | None = None,
               request: gr.Request | None = None):
    """Upload → the photo with its automatic regions (pad and brush background). Bad files → a message.

    ``example`` (set by a click in the gallery) gives the arrows for that example's photo; any other photo starts
    with none."""
    # A new photo needs a new scene: "Re-render video" waits for the next Generate.
    empty = (preview.arrow_pad_html(None, None), None, None, "", gr.update(interactive=False),
             gr.update(interactive=False))
    if photo is None:
        return (*empty, "", None)
    try:
        path = _photo_path(photo)
        gpu, _ = device_note()
        working = load_photo(path, _working_long_side(_settings(quality, resolution), gpu))
    except (PhotoError, gr.Error) as error:
        message = error.message if isinstance(error, gr.Error) else photo_message(str(path), error)
        gr.Warning(message, title="This photo can't be used")
        return (*empty, f"⚠ **This photo can't be used.** {message}", None)
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
    arrows_text = ""
    if example and example.get("photo") and Path(example["photo"]).name == Path(path).name:
        arrows_text = example.get("arrows", "")
        status += " This is an example: its cached result plays below; **Generate** builds it in your session."
    pad = _pad(view, arrows_text)
    return (pad, _editor_value(_session_image(view["overlay"], path, request)), view, arrows_text,
            gr.update(interactive=True),
            gr.update(interactive=False), status, None)


def clear_scene(state: dict | None, request: gr.Request):
    """``clear_results`` but the video: a gallery pick brings its own."""
    return clear_results(state, request, video=False)


def clear_results(state: dict | None, request: gr.Request, video: bool = True):
    """A new photo (or none): every result of the previous one leaves the page, and the session forgets its scene,
    so nothing of the old photo can be viewed, downloaded or re-rendered."""
    session = _without_scene(_session(state, request))
    return (*([gr.update(value=None, label="Video")] if video else []), preview.compare_html(None, None), None,
            preview.viewer_html(None), *_download_updates({}), asdict(session), gr.update(interactive=False),
            gr.Tabs(selected="video"))


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
    # What an erase reveals: the page shows it from this image at once, before the server's overlay comes back.
    unpainted = None if layers.empty else _paint_view(view, preview.PaintedLayers())["overlay"]
    return {**view, "overlay": overlay, "moving": moving, "unpainted": unpainted}


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
        return preview.arrow_pad_html(view["overlay"], size, [], error=str(error), unpainted=view.get("unpainted"))
    still = preview.still_arrows(arrows, view["moving"], size)
    return preview.arrow_pad_html(view["overlay"], size, arrows, still, unpainted=view.get("unpainted"))


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
    name = safe_name(result.photo.name)  # the uploaded file's name never reaches a path unsanitised
    scene_path = scene.save(out / f"{name}{SCENE_SUFFIX}")
    _keep_scene(str(scene_path), scene)  # the video and the files use it as built, without reading the file back
    return {"scene_path": str(scene_path), "name": name, "timings": result.timings_s,
            "gaussians": len(scene.gaussians), "moving": int(scene.moving.sum()),
            "size": (scene.source_camera.width, scene.source_camera.height)}


@render_gpu_task
def render_scene_video(scene_path: str, trajectory: str, seconds: float, fps: float, out_path: str,
                       stage: tuple[int, int], progress: gr.Progress) -> dict:
    from landscape4d.pipeline import resolve_device
    from landscape4d.render import render_video

    index, count = stage
    scene, in_memory = _held_scene(scene_path)
    size = video_size((scene.source_camera.width, scene.source_camera.height))
    video = render_video(_video_scene(scene, size), trajectory, seconds, fps, out_path, resolve_device("auto"),
                         progress=_frame_reporter(progress, index, count, f"Rendering the {trajectory} video"))
    return {"path": str(video.path), "frames": video.num_frames, "size": (video.width, video.height),
            "holes": max(video.hole_fraction or [0.0]), "in_memory": in_memory}


def export_files(scene_path: str, out_dir: str, progress: gr.Progress, stage: tuple[int, int]) -> dict[str, str]:
    """The download files (and the live viewer's page, unpacked from the .splatv zip) in ``out_dir``/files."""
    import exporters
    from landscape4d.scene import SCENE_SUFFIX

    index, count = stage
    scene = _scene(scene_path)
    name = Path(scene_path).name.removesuffix(SCENE_SUFFIX)
    out = Path(out_dir) / "files"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    labels = {key: label for key, _fmt, label, _options in EXPORTS}
    written: list[str] = []

    def done(key: str, _result) -> None:
        written.append(labels[key])
        progress((index - 1 + len(written) / len(EXPORTS)) / count,
                 desc=f"[{index}/{count}] Writing splat files ({len(written)}/{len(EXPORTS)}: {labels[key]} written)")

    progress((index - 1) / count, desc=f"[{index}/{count}] Writing splat files")
    results = exporters.export_downloads(scene, out, name, EXPORTS, on_done=done)
    # The main file of each; for splatv the zip with viewer.html, written after it.
    files: dict[str, str] = {key: str(result.paths[-1]) for key, result in results.items()}
    files["viewer"] = str(_unpack_viewer(Path(files["splatv"]), Path(out_dir) / "viewer"))
    # gr.Model3D starts from a fixed orbit: give it a copy of the .splat placed so that it starts at the photo's view.
    view = Path(out_dir) / "model3d" / Path(files["splat"]).name
    view.parent.mkdir(exist_ok=True)
    camera = scene.source_camera
    world_to_camera = camera.world_to_camera.detach().cpu().numpy()
    view.write_bytes(preview.model3d_view_splat(Path(files["splat"]).read_bytes(), world_to_camera,
                                                (camera.width, camera.height), float(camera.K[0, 0])))
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
             state, view=None, motion: str | None = None, backend: str | None = None, depth_model: str | None = None,
             segmentation_model: str | None = None, inpaint_model: str | None = None, request: gr.Request = None,
             progress=gr.Progress()):
    """Build the scene (unless this session already built it from the same inputs), render, write the files.

    A generator: the video (and the before/after) reach the page as soon as they are rendered, while the files are
    still being written; the last update enables the downloads and Re-render."""
    started = time.perf_counter()
    path = _photo_path(photo)
    checked = _check_photo(path)
    settings = _settings(quality, resolution, loop_seconds, speed, motion, backend,
                         {"depth_model": depth_model, "segmentation_model": segmentation_model, "inpaint_model": inpaint_model})
    arrows = _arrows(arrows_text, checked.original_size)
    _check_video(trajectory, seconds, fps)
    painted = preview.painted_layers(editor)
    _check_layers(painted, checked.original_size)
    layers = with_region_choices(painted, view)
    _sweep_stale_sessions()
    session = _session(state, request)
    _remember_cache_copies(session.dir, [path])
    _check_request(checked.original_size, settings, seconds, fps, session)
    key = _fingerprint(path, layers, arrows, settings)

    try:
        reuse = key == session.scene_key and Path(session.scene_path).is_file()
        count = 2 if reuse else len(_pipeline_stages()) + len(FULL_STAGES)
        timings: dict[str, float] = {}
        try:
            if reuse:
                progress(0.0, desc=f"[1/{count}] Using the session's scene")
            else:
                t = time.perf_counter()
                built = build_scene_files(path, settings, layers, arrows, session.dir, progress)
                timings["scene"] = time.perf_counter() - t
                session = replace(session, scene_path=built["scene_path"], scene_key=key, name=built["name"],
                                  files={}, viewer_url="", size=list(built["size"]), num_views=settings.num_views)
                session.summary = (f"{built['gaussians']:,} Gaussians ({built['moving']:,} moving) at "
                                   f"{built['size'][0]}×{built['size'][1]}, quality *{quality}*, loop "
                                   f"{settings.loop_seconds:g} s, speed {settings.speed:g}×")
            t = time.perf_counter()
            video = _render(session, trajectory, seconds, fps, (count - 1 if not reuse else 2, count), progress)
            timings["video"] = time.perf_counter() - t
            if not reuse:
                ready = f"✓ Video ready in **{time.perf_counter() - started:.0f} s**; writing the splat files"
                yield _outputs(session, video, f"{ready} (downloads, 3D views)…", view, final=False)
                t = time.perf_counter()
                session.files = export_files(session.scene_path, session.dir, progress, (count, count))
                session.viewer_url = _viewer_url(session.files.get("viewer"))
                timings["files"] = time.perf_counter() - t
        except (ValueError, PhotoError, ModelUnavailable) as error:
            raise gr.Error(str(error), title="Could not build the scene") from error
        except gr.Error:
            raise
        except Exception as error:  # keep serving; the log has the traceback
            log.exception("generate failed")
            raise gr.Error(f"Something went wrong while building the scene ({type(error).__name__}: {error}).",
                           title="Internal error") from error

        total = time.perf_counter() - started
        expected = _expected(session, settings, seconds, fps, timings)
        _record_timings(tuple(session.size), settings, seconds, fps, timings)
        parts = ", ".join(f"{name} {value:.0f} s" for name, value in timings.items())
        held = "held in memory" if video.get("in_memory") else "reloaded from its file"
        status = (f"✓ {f'Re-rendered the kept scene ({held})' if reuse else 'Done'} in **{total:.0f} s** ({parts}{expected}). "
                  f"{session.summary}. Change the camera path, length or fps and press **Re-render video** to reuse "
                  "this scene.")
        log.info("run: %s", status)
        yield _outputs(session, video, status, view)
    finally:  # a page that closed while this ran: what the job wrote leaves too
        _end_of_job(session)


def _expected(session: Session, settings: Settings, seconds: float, fps: float, timings: dict[str, float]) -> str:
    """'; estimated ~25 s' for the parts that ran (the estimate the page showed, calibration included)."""
    try:
        from space import estimates

        gpu, _ = device_note()
        raw, _frames = _raw_estimate(tuple(session.size), settings, seconds, fps, gpu)
        calibrated = estimates.CALIBRATION.apply(raw)
        parts = {"scene": calibrated.scene_s, "video": calibrated.video_s, "files": calibrated.files_s}
        return f"; estimated {estimates.format_duration(sum(parts[k] for k in timings))}"
    except Exception:
        return ""


def rerender(trajectory, seconds, fps, state, view=None, request: gr.Request = None, progress=gr.Progress()):
    """Only the video: the session's scene (held in memory) along another path or for another length."""
    started = time.perf_counter()
    _check_video(trajectory, seconds, fps)
    session = _session(state, request)
    if not session.scene_path or not Path(session.scene_path).is_file():
        raise gr.Error("There is no scene in this session yet: press Generate first.", title="No scene yet")
    try:
        progress(0.0, desc="[1/2] Using the session's scene")
        try:
            _scene(session.scene_path)  # from memory, else read (and checked) from its file
        except Exception as error:  # another version's file, or a damaged one
            raise gr.Error(f"The scene this session kept can't be read by this version of the Space ({error}). "
                           "Press Generate to build it again.", title="Scene can't be re-rendered") from error
        try:
            video = _render(session, trajectory, seconds, fps, (2, 2), progress)
        except ValueError as error:
            raise gr.Error(str(error), title="Could not render the video") from error
        elapsed = time.perf_counter() - started
        if session.size:
            try:
                settings = _scene_settings(session)
                _record_timings(tuple(session.size), settings, seconds, fps, {"video": elapsed})
            except Exception:
                pass
        frames, (width, height) = video["frames"], video["size"]
        held = "held in memory" if video.get("in_memory") else "reloaded from its file"
        status = (f"✓ Re-rendered **{trajectory}** ({frames} frames, {width}×{height}) from the kept scene ({held}) in "
                  f"**{elapsed:.1f} s**. {session.summary} (other scene settings, edits or photo: press **Generate**).")
        log.info("rerender: %s", status)
        return _outputs(session, video, status, view)
    finally:
        _end_of_job(session)


def _scene_settings(session: Session) -> Settings:
    """Enough of the scene's settings to price its video (the Gaussian count follows the number of views)."""
    return Settings(num_views=session.num_views)


def _pipeline_stages() -> tuple[str, ...]:
    from landscape4d.pipeline import STAGES

    return STAGES


def _check_video(trajectory: str, seconds: float, fps: float) -> None:
    if trajectory not in TRAJECTORIES:
        raise gr.Error(f"Unknown camera path {trajectory!r}; choose one of {', '.join(TRAJECTORIES)}.")
    try:
        check_video(float(seconds), float(fps))  # the library's ranges and frame limit, as render_video applies them
    except (TypeError, ValueError) as error:
        (shortest, longest), (slowest, fastest) = VIDEO_SECONDS_RANGE, VIDEO_FPS_RANGE
        raise gr.Error(f"{error}. The video must last more than {shortest:g} s and at most {longest:g} s, at "
                       f"{slowest:g}–{fastest:g} fps.", title="Check the video length") from error


def _limits_markdown() -> str:
    """The library's limits, as the page shows them (the same rows as the README's Limits list)."""
    from landscape4d.limits import LIMITS

    return "**Limits** · " + " · ".join(f"{what}: {value}" for what, value in LIMITS.describe())


def _check_request(original_size: tuple[int, int], settings: Settings, seconds: float, fps: float,
                   session: "Session") -> None:
    """The library's per-request limits, before any work: the estimated run time and the session's disk."""
    from landscape4d.limits import check_request_seconds, check_session_disk

    gpu, _ = device_note()
    estimate, _frames = _raw_estimate(_working_size(original_size, settings, gpu), settings, seconds, fps, gpu)
    try:
        check_request_seconds(estimate.total_s)
        check_session_disk(session.dir)
    except ValueError as error:
        raise gr.Error(str(error), title="This request is too large") from error


def _render(session: Session, trajectory: str, seconds: float, fps: float, stage: tuple[int, int],
            progress: gr.Progress) -> dict:
    session.renders += 1
    out = Path(session.dir) / f"{session.name}_{trajectory}_{session.renders}.mp4"
    for old in Path(session.dir).glob(f"{session.name}_*.mp4"):
        old.unlink(missing_ok=True)  # the page already has its own copy of the previous video
    return render_scene_video(session.scene_path, trajectory, float(seconds), float(fps), str(out), stage, progress)


def _outputs(session: Session, video: dict, status: str, view: dict | None, final: bool = True) -> tuple:
    """The page's outputs: the video (the tab in front), the before/after, the files and the share links. The 3D
    views are emptied here and load when their tab is opened (``show_model3d``, ``show_live``). ``final=False``:
    the video is ready but the files are not (downloads and Re-render stay disabled)."""
    photo = view.get("photo") if view else None
    compare = preview.compare_html(photo, _viewer_url(video["path"]))
    files = session.files if final else {}
    _remember_cache_copies(session.dir, [video["path"], *files.values()])
    return (status, gr.update(value=video["path"], label=f"Video · {video['size'][0]}×{video['size'][1]}"), compare,
            None, preview.viewer_html(None), *_download_updates(files), asdict(replace(session, files=files)),
            gr.update(interactive=final), gr.Tabs(selected="video"), share_html(session) if final else "")


def share_html(session: Session) -> str:
    """Links for sharing the scene, not only the video: the self-contained viewer zip and the live viewer page."""
    zip_path, viewer = session.files.get("splatv"), session.viewer_url
    if not zip_path or not Path(zip_path).is_file():
        return ""
    return (
        '<div class="l4d-share"><b>Share the living scene:</b> '
        f'<a href="{_viewer_url(zip_path)}" download>viewer .zip</a> (one file: unzip and open '
        "<code>viewer.html</code> in any browser, or put it on any static web host) · "
        f'<a href="{viewer}" target="_blank" rel="noopener">open the live scene in a new tab</a> '
        "(this link lasts as long as this page stays open).</div>"
    )


def show_model3d(state: dict | None):
    """The static splat, loaded only when its tab is opened, at a height with the photo's aspect ratio."""
    session = Session(**state) if state else Session()
    path = session.files.get("model3d")
    if not path or not Path(path).is_file():
        return gr.update(value=None), preview.viewer_html(None)
    height = preview.model3d_height(tuple(session.size)) if session.size else None
    return gr.update(value=path, height=height), preview.viewer_html(None)


def show_live(state: dict | None):
    """The live 4D viewer, embedded only when its tab is opened (the static preview is unloaded meanwhile)."""
    session = Session(**state) if state else Session()
    return None, preview.viewer_html(session.viewer_url or None, "Live 4D scene (the .splatv in the bundled viewer): "
                                                                "drag to orbit, right-drag to pan, scroll to zoom.")


# ---------------------------------------------------------------------------------------------------------------
# Example gallery: photos the project ships, each with its path and arrows; results rendered once, ahead of time


def pick_example(event: gr.SelectData):
    """A click in the gallery: the photo (its arrows follow when it is shown), its camera path and its stored
    result (rendered by ``python -m space.examples``; played at once, no work on the server)."""
    example = EXAMPLES[int(event.index)]
    result = example.result if example.result.is_file() else None
    label = ("Video · example result (cached); press Generate to build it in your session and get the files"
             if result else "Video")
    return ({"photo": str(example.path), "arrows": example.arrows}, str(example.path), example.trajectory,
            gr.update(value=str(result) if result else None, label=label), gr.Tabs(selected="video"))


def render_example(example: Example, out_dir: Path, quality: str = DEFAULT_QUALITY) -> Path:
    """Build one example at the default quality and render its result video into ``out_dir`` (used by
    ``python -m space.examples``; never at import or page load)."""
    settings = QUALITY[quality]
    check = _check_photo(str(example.path))
    arrows = _arrows(example.arrows, check.original_size)
    silent = lambda *args, **kwargs: None  # noqa: E731
    work = out_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    built = build_scene_files(str(example.path), settings, preview.PaintedLayers(), arrows, str(work), silent)
    out = out_dir / example.result.name
    render_scene_video(built["scene_path"], example.trajectory, EXAMPLE_SECONDS, EXAMPLE_FPS, str(out), (1, 1), silent)
    shutil.rmtree(work, ignore_errors=True)
    return out


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
Upload a landscape photo (or pick an example): sky and water are found automatically, each region with a confidence
(untick a wrong one, tick an orange suggestion). Optionally paint regions and draw arrows for the direction of
motion, pick a camera path, and press **Generate**. You get a looping video, a before/after, the 3D scene in the page,
and splat files for web viewers. Everything runs offline with weight-free classical models.
"""


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="landscape4d", delete_cache=(3600, 7200)) as demo:
        state = gr.State(None)
        view = gr.State(None)
        example = gr.State(None)  # the gallery's pick, until its photo is shown
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                photo = gr.File(label="1 · Photo (JPEG, PNG, WebP, TIFF…): drop a new one on it to replace it",
                                file_count="single", type="filepath", height=110, elem_id="photo")
                gallery = gr.Gallery(
                    [(str(e.path), e.caption) for e in EXAMPLES], label="Examples (click one: its result plays at once)",
                    columns=3, rows=math.ceil(len(EXAMPLES) / 3), height="auto", object_fit="cover",
                    allow_preview=False, buttons=[], interactive=False, show_label=True, elem_id="examples")
                with gr.Accordion("2 · Paint motion regions (optional)", open=False):
                    gr.Markdown("Pick a layer, then paint on the photo: painted **water** and **sky / clouds** move "
                                "like the automatic ones; **freeze** keeps pixels still. The big photo on the right "
                                "shows each stroke when you lift the brush.", elem_classes="l4d-hint")
                    with gr.Row(elem_classes="l4d-layers"):
                        layer_buttons = [
                            gr.Button(f"Paint {name}", size="sm", elem_id=f"layer-{key}",
                                      elem_classes=["l4d-layer"] + (["l4d-on"] if key == "water" else []))
                            for key, name in zip(("water", "sky", "freeze"), preview.LAYERS)]
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
                                             info="'preset' follows the quality; a panorama wider than 2:1 keeps the pixel count of a 2:1 photo "
                                             "(its long side up to 2× this)", elem_id="resolution")
                    motion = gr.Radio(list(MOTION_METHODS), value=QUALITY[DEFAULT_QUALITY].motion, label="3D motion",
                                      info="3dmom: one 3D motion that agrees with the generated views (the paper's 3D-MOM) · "
                                      "single-view: lift the photo's motion along its depth (~1 s faster)",
                                      elem_id="motion")
                    backend = gr.Radio(list(BACKEND_PRESETS), value="classic", label="Backends", elem_id="backend",
                                       info="classic: weight-free, fast · models: Hub models (Depth Anything V2, "
                                       "segmentation, diffusion inpainting; downloaded once) · auto: models where "
                                       "available, else classic")
                    with gr.Row():
                        depth_model = gr.Textbox(DEFAULT_DEPTH_MODEL, label="Depth model", elem_id="depth-model")
                        segmentation_model = gr.Textbox(DEFAULT_SEGMENTATION_MODEL, label="Segmentation model",
                                                        elem_id="segmentation-model")
                        inpaint_model = gr.Textbox(DEFAULT_INPAINT_MODEL, label="Inpainting model", elem_id="inpaint-model")
                    gr.Markdown(_limits_markdown(), elem_id="limits")
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
                status = gr.Markdown(label="status", elem_id="status")
                # The one place a run's progress shows (stage and frames): it covers neither the status text nor a
                # video that is already playing while the files are written; hidden by CSS when idle.
                progress_slot = gr.HTML("", elem_id="progress", padding=False)
                with gr.Tabs(selected="video", elem_id="results") as tabs:
                    with gr.Tab("Video", id="video") as video_tab:
                        video = gr.Video(label="Video", autoplay=True, loop=True, buttons=["download", "share"],
                                         interactive=False, elem_id="video")
                    with gr.Tab("Before / after", id="compare") as compare_tab:
                        compare = gr.HTML(preview.compare_html(None, None), js_on_load=preview.COMPARE_JS,
                                          elem_id="compare")
                    # The 3D views load their scene only when their tab is opened (a software-rendered browser
                    # would otherwise spend minutes on them at once).
                    with gr.Tab("3D preview (static splat)", id="static") as static_tab:
                        model = gr.Model3D(label="Static splat (opens at the photo's framing)", height=420,
                                           clear_color=(0.07, 0.07, 0.09, 1.0), elem_id="model3d")
                    with gr.Tab("Live 4D scene (animated)", id="live") as live_tab:
                        live = gr.HTML(preview.viewer_html(None), label="live viewer", elem_id="live-viewer")
                share = gr.HTML("", elem_id="share")
                with gr.Row():
                    downloads = [gr.DownloadButton(label, interactive=False, size="sm", elem_id=f"dl-{key}")
                                 for key, _fmt, label, _options in EXPORTS]
                gr.Markdown("Files: `.ply` (INRIA 3DGS) and `.splat` open in SuperSplat and other splat viewers; "
                            "`.spz` is Niantic's compressed format; the frames zip holds one splat per loop frame; "
                            "the `.splatv` zip plays the animation offline (open `viewer.html`).",
                            elem_classes="l4d-hint")

        # Out-of-range, NaN or unknown values sent through the API get a message naming the control.
        _explain_bad_values(seconds, fps, loop_seconds, speed, resolution, trajectory, quality, motion, backend)
        # Session folder: created on load, removed on unload.
        demo.load(start_session, outputs=state, api_visibility="private")
        demo.unload(end_session)

        light = {"concurrency_limit": None, "show_progress": "hidden", "api_visibility": "private"}
        estimate_inputs = [photo_size, quality, resolution, loop_seconds, speed, seconds, fps, state]
        scene_outputs = [compare, model, live, *downloads, state, again, tabs]
        # A new photo clears the old one's results at once: upload, drop and × clear the video too; a gallery pick
        # (which also changes the photo) brings its own cached video.
        for event in (photo.upload, photo.clear):
            event(clear_results, [state], [video, *scene_outputs], queue=False, **light).then(
                lambda: "", None, share, queue=False, **light)
        photo.change(clear_scene, [state], scene_outputs,
                     queue=False, **light).then(lambda: "", None, share, queue=False, **light)
        photo.change(show_photo, [photo, quality, resolution, example],
                     [pad, editor, view, arrows, run, again, status, example], api_name="load_photo",
                     concurrency_limit=None, show_progress="minimal").then(
            lambda v: v and v["size"], view, photo_size, **light).then(estimate, estimate_inputs, note, **light).then(
            region_list, view, auto_regions, **light)
        gallery.select(pick_example, None, [example, photo, trajectory, video, tabs], **light)
        auto_regions.input(choose_regions, [auto_regions, editor, view, arrows], [view, pad], **light)
        # Brush strokes fire "input" (not "change") on the editor.
        editor.input(repaint_regions, [editor, view, arrows], [view, pad], trigger_mode="always_last", **light)
        for button, layer in zip(layer_buttons, preview.LAYERS):
            button.click(None, None, None, js=preview.choose_layer_js(layer), **light)
        pad.input(add_arrow, [arrows], [arrows], **light)
        arrows.change(redraw_pad, [view, arrows], [pad], **light)
        undo.click(undo_arrow, [arrows], [arrows], **light)
        clear.click(lambda: "", None, [arrows], **light)
        trajectory.change(lambda t: preview.paths_html(TRAJECTORIES, t), trajectory, paths, **light)
        for control in (quality, resolution, loop_seconds, speed, seconds, fps):
            control.change(estimate, estimate_inputs, note, **light)
        demo.load(estimate, estimate_inputs, note, **light)
        # Only the open tab's 3D view runs: leaving it unloads it (software WebGL would keep a CPU busy).
        static_tab.select(show_model3d, [state], [model, live], **light)
        live_tab.select(show_live, [state], [model, live], **light)
        for tab in (video_tab, compare_tab):
            tab.select(lambda: (None, preview.viewer_html(None)), None, [model, live], **light)

        outputs = [status, video, compare, model, live, *downloads, state, again, tabs, share]
        heavy = {"concurrency_id": "heavy", "show_progress_on": [progress_slot], "scroll_to_output": True}
        for button in (run, again):  # the video tab comes to the front, where the result will play
            button.click(lambda: gr.Tabs(selected="video"), None, tabs, queue=False, **light)
        run.click(generate, [photo, editor, arrows, trajectory, seconds, fps, loop_seconds, speed, quality,
                             resolution, state, view, motion, backend, depth_model, segmentation_model, inpaint_model],
                  outputs, api_name="generate", **heavy).then(
            estimate, estimate_inputs, note, **light)
        again.click(rerender, [trajectory, seconds, fps, state, view], outputs, api_name="rerender", **heavy).then(
            estimate, estimate_inputs, note, **light)
    return demo


def allowed_paths() -> list[str]:
    """What Gradio may serve besides its own cache: the sessions' folders (the live viewer page, the viewer zip and
    the before/after video are linked there; each folder's name is unguessable) and the examples' photos and
    stored results, file by file; nothing else of the repository or the machine."""
    examples = [str(e.path) for e in EXAMPLES] + [str(e.result) for e in EXAMPLES if e.result.is_file()]
    return [str(SESSIONS_ROOT), *examples]


def launch_options() -> dict:
    """Arguments for ``launch`` (shared by ``python app.py`` and the tests)."""
    SESSIONS_ROOT.mkdir(parents=True, exist_ok=True)
    return {"allowed_paths": allowed_paths(), "max_file_size": "100mb",
            "css": preview.PAD_CSS, "js": preview.PAGE_JS, "theme": gr.themes.Soft(primary_hue="sky")}


demo = build_demo()


def main() -> None:
    """``python app.py``: one heavy job at a time (light UI events bypass that limit), port from GRADIO_SERVER_PORT."""
    logging.basicConfig(level=logging.INFO)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE).launch(**launch_options())


if __name__ == "__main__":
    main()
