"""Scene4D: everything needed to render or export the living scene, and its single-file save format.

A scene file (``*.l4d.npz``) is a NumPy archive: the Gaussian arrays, the per-Gaussian velocity, the source
camera and a JSON ``meta`` record (the loop's timing, the scene's depth range and a typed ``SceneMeta``: focus
depth, settings, provenance, timings). Re-rendering with a new trajectory or length loads it and skips depth,
views and fitting entirely. Only ``Scene4D.save`` / ``Scene4D.load`` read and write the file.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .camera import Camera
from .gaussians import GaussianSet
from .zips import deflated_zip

SCENE_FORMAT_VERSION = 5  # 2 added ``layer``, ``cycles``, ``fade``, ``phase_offset``; 3 the typed SceneMeta; 4 ``colour_shift``; 5 its K samples per path (older files load)
FOCUS_FALLBACK = 3.0  # scenes that never knew their focus depth (format 1–2 without it) aim paths at 3 × near

# What a Gaussian's content came from (``Scene4D.layer``).
LAYER_PHOTO = 0  # a pixel of the photo
LAYER_BORDER = 1  # the photo's outpainted border: content just beyond the frame, for moving cameras
LAYER_INPAINTED = 2  # a disocclusion filled by the inpainter in a generated view
LAYER_BACKDROP = 3  # the static copy under moving content (``animate.with_backdrop``)
LAYER_NAMES = {LAYER_PHOTO: "photo", LAYER_BORDER: "border", LAYER_INPAINTED: "inpainted", LAYER_BACKDROP: "backdrop"}
SCENE_SUFFIX = ".l4d.npz"


@dataclass
class SceneMeta:
    """What a scene knows about how it was made: the one typed record behind ``Scene4D.meta``.

    ``depth_focus`` is where camera paths aim (median non-sky depth); ``settings`` the build's ``Settings`` as a
    dict (``Settings.field_names()``); ``backends`` the backend name each stage ran; ``library_version`` and
    ``created_utc`` the provenance; ``timings_s`` the stage times; ``source_psnr_db`` the t = 0 fidelity.
    """

    photo: str = ""  # file name of the photo (no directories: scene files get shared)
    depth_focus: float | None = None  # world units; None → FOCUS_FALLBACK × depth_near (filled by Scene4D)
    settings: dict[str, Any] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)  # stage → registered backend name
    library_version: str = ""
    created_utc: str = ""  # ISO 8601
    timings_s: dict[str, float] = field(default_factory=dict)
    source_psnr_db: float | None = None

    @property
    def speed(self) -> float:
        """The build's global speed multiplier (1 when unknown)."""
        return float(self.settings.get("speed", 1.0))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "SceneMeta":
        """Tolerant of older files: unknown keys are dropped, missing ones take their defaults."""
        if not isinstance(record, dict):
            raise ValueError(f"scene metadata must be a JSON object, got {type(record).__name__}")
        known = {f.name for f in fields(cls)}
        meta = cls(**{key: value for key, value in record.items() if key in known})
        if meta.depth_focus is not None:
            meta.depth_focus = float(meta.depth_focus)
        return meta

    @classmethod
    def now(cls, **values: Any) -> "SceneMeta":
        """A record stamped with this library's version and the current UTC time."""
        from . import __version__

        return cls(library_version=__version__, created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"), **values)


def write_npz(path: Path, arrays: dict[str, np.ndarray], level: int = 1) -> None:
    """What ``np.savez_compressed`` writes (``np.load`` reads it), deflated at ``level`` 1 in parallel blocks
    (``zips.deflated_zip``): a 1024 px scene's ~200 MB of arrays took 3 s on one core."""
    members = []
    for name, value in arrays.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=False)
        members.append((name + ".npy", buffer.getvalue()))
    path.write_bytes(deflated_zip(members, level, block=1 << 21))  # 2 MiB blocks: every core busy


@dataclass
class Scene4D:
    """Static Gaussians plus a looping Eulerian motion.

    ``velocity`` [N,3] is in world units per loop frame (zero for static Gaussians). The loop lasts
    ``loop_frames`` frames at ``loop_fps``; the animation state at continuous frame phase k ∈ [0, loop_frames]
    is a pure function of (scene, k) — see ``animate.gaussians_at``.
    """

    gaussians: GaussianSet
    velocity: torch.Tensor  # [N,3] world units per loop frame
    source_camera: Camera
    loop_frames: int
    loop_fps: float
    depth_near: float  # robust nearest scene depth (world units), used to scale camera paths
    depth_far: float  # robust farthest non-sky depth
    meta: SceneMeta = field(default_factory=SceneMeta)
    layer: torch.Tensor | None = None  # [N] int8 LAYER_* of each Gaussian; None when unknown (old files)
    cycles: int = 1  # cross-fade cycles per loop (see ``animate``): a particle travels at most v·loop_frames/cycles
    fade: float = 1.0  # share of a cycle each cross-fade takes (1 with cycles = 1: the classic two-population loop)
    phase_offset: torch.Tensor | None = None  # [N] per-Gaussian cycle phase offset, |ψ| ≤ (1 − fade)/2; None = 0
    # [N,2,3] colour change per cycle of travel, [:,0] for a copy ahead of its rest position and [:,1] behind it
    # (see ``animate.colour_shifts``): texture moves while the photo's local mean colour stays put. None = fixed.
    colour_shift: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.meta, SceneMeta):
            raise TypeError(f"meta must be a SceneMeta, got {type(self.meta).__name__}")
        if self.meta.depth_focus is None:
            self.meta.depth_focus = FOCUS_FALLBACK * self.depth_near
        if self.velocity.shape != self.gaussians.means.shape:
            raise ValueError(f"velocity has shape {tuple(self.velocity.shape)}, expected {tuple(self.gaussians.means.shape)}")
        n = len(self.gaussians)
        for name in ("layer", "phase_offset"):
            value = getattr(self, name)
            if value is not None and tuple(value.shape) != (n,):
                raise ValueError(f"{name} has shape {tuple(value.shape)}, expected ({n},)")
        if self.colour_shift is not None:
            shape = tuple(self.colour_shift.shape)
            if shape == (n, 2, 3):  # format 4: one change each way
                from .animate import legacy_colour_shift

                self.colour_shift = legacy_colour_shift(self.colour_shift)
            elif len(shape) != 3 or shape[0] != n or shape[2] != 3 or shape[1] < 3 or shape[1] % 2 == 0:
                raise ValueError(f"colour_shift has shape {shape}, expected ({n}, K, 3) with K odd >= 3")
        if self.cycles < 1 or self.cycles > self.loop_frames:
            raise ValueError(f"cycles must be between 1 and loop_frames ({self.loop_frames}), got {self.cycles}")
        if not 0.0 < self.fade <= 1.0:
            raise ValueError(f"fade must be in (0, 1], got {self.fade}")
        if self.phase_offset is not None and n and float(self.phase_offset.abs().max()) > (1.0 - self.fade) / 2.0 + 1e-6:
            raise ValueError("phase offsets must lie within ±(1 − fade)/2, or the photo would not be shown at t = 0")
        if self.loop_frames < 2:
            raise ValueError(f"loop_frames must be at least 2, got {self.loop_frames}")

    @property
    def moving(self) -> torch.Tensor:
        """[N] bool: Gaussians that take part in the motion."""
        return self.velocity.abs().sum(dim=-1) > 0

    def subset(self, keep: np.ndarray | torch.Tensor) -> "Scene4D":
        """The same scene with only the Gaussians selected by ``keep`` (bool mask or indices)."""
        keep = torch.as_tensor(np.asarray(keep))
        return Scene4D(
            gaussians=self.gaussians.select(keep),
            velocity=self.velocity[keep],
            source_camera=self.source_camera,
            loop_frames=self.loop_frames,
            loop_fps=self.loop_fps,
            depth_near=self.depth_near,
            depth_far=self.depth_far,
            meta=self.meta,
            layer=None if self.layer is None else self.layer[keep],
            cycles=self.cycles,
            fade=self.fade,
            phase_offset=None if self.phase_offset is None else self.phase_offset[keep],
            colour_shift=None if self.colour_shift is None else self.colour_shift[keep],
        )

    @property
    def period_s(self) -> float:
        return self.loop_frames / self.loop_fps

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if not path.name.endswith(SCENE_SUFFIX):
            path = path.with_name(path.name + SCENE_SUFFIX) if path.suffix != ".npz" else path
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": "landscape4d-scene",
            "version": SCENE_FORMAT_VERSION,
            "loop_frames": self.loop_frames,
            "loop_fps": self.loop_fps,
            "cycles": self.cycles,
            "fade": self.fade,
            "depth_near": self.depth_near,
            "depth_far": self.depth_far,
            "width": self.source_camera.width,
            "height": self.source_camera.height,
            "extra": self.meta.to_json(),
        }
        arrays = {name: t.detach().cpu().numpy().astype(np.float32) for name, t in self.gaussians.as_dict().items()}
        arrays["velocity"] = self.velocity.detach().cpu().numpy().astype(np.float32)
        if self.layer is not None:
            arrays["layer"] = self.layer.detach().cpu().numpy().astype(np.int8)
        if self.phase_offset is not None:
            arrays["phase_offset"] = self.phase_offset.detach().cpu().numpy().astype(np.float32)
        if self.colour_shift is not None:
            # Half precision: colour changes of a few levels need no more (0.1 level), and the file stays small.
            arrays["colour_shift"] = self.colour_shift.detach().cpu().numpy().astype(np.float16)
        arrays["K"] = self.source_camera.K.cpu().numpy().astype(np.float32)
        arrays["world_to_camera"] = self.source_camera.world_to_camera.cpu().numpy().astype(np.float32)
        tmp = path.with_name(path.name + ".tmp.npz")
        write_npz(tmp, {"meta": np.array(json.dumps(meta)), **arrays})
        tmp.replace(path)  # atomic: a crash never leaves a half-written scene behind
        return path

    @staticmethod
    def load(path: str | Path) -> "Scene4D":
        """Read a file written by ``save``. Anything else — another file, a truncated or damaged scene, arrays of
        the wrong shape or type — is refused with ``ValueError("… is not a landscape4d scene file (why)")``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"scene file not found: {path}")
        try:
            meta, arrays = _read_scene_archive(path)
        except Exception as exc:  # BadZipFile, zlib.error, EOFError, SyntaxError from a damaged .npy header, …
            raise ValueError(f"{path} is not a landscape4d scene file ({type(exc).__name__}: {exc})") from exc
        if meta.get("format") != "landscape4d-scene":
            raise ValueError(f"{path} is not a landscape4d scene file")
        version = meta.get("version", 0)
        if isinstance(version, (int, float)) and not isinstance(version, bool) and version > SCENE_FORMAT_VERSION:
            raise ValueError(f"{path} was written by a newer landscape4d (scene format {meta['version']})")
        try:
            return _scene_from(meta, arrays)
        except (ValueError, KeyError, TypeError, OverflowError, RuntimeError) as exc:  # RuntimeError: torch shapes
            raise ValueError(f"{path} is not a landscape4d scene file ({type(exc).__name__}: {exc})") from exc


SCENE_ARRAYS = {  # name → (shape with -1 for the Gaussian count and None for any size, required)
    "means": ((-1, 3), True), "quats": ((-1, 4), True), "scales": ((-1, 3), True), "opacities": ((-1,), True),
    "colors": ((-1, 3), True), "velocity": ((-1, 3), True), "layer": ((-1,), False), "phase_offset": ((-1,), False),
    "colour_shift": ((-1, None, 3), False),
    "K": ((3, 3), True), "world_to_camera": ((4, 4), True),
}
MAX_SCENE_MEMBER_BYTES = 4_000_000_000  # a member unpacking to more than this is refused before it is read


def _read_scene_archive(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The meta record and the arrays of a scene file; every array's header is checked against the bytes the
    archive says it holds before any memory is allocated for it (a small damaged file cannot ask for gigabytes)."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
            if name != "meta" and name not in SCENE_ARRAYS:
                continue  # not read (a newer writer's extra, or junk)
            if member.file_size > MAX_SCENE_MEMBER_BYTES:
                raise ValueError(f"member {member.filename!r} unpacks to {member.file_size:,} bytes")
            with archive.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                else:
                    raise ValueError(f"member {member.filename!r} has NumPy format {version}")
                if dtype.hasobject or int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > member.file_size:
                    raise ValueError(f"member {member.filename!r} claims a {shape} {dtype} array it does not hold")
            with archive.open(member) as handle:
                arrays[name] = np.lib.format.read_array(handle, allow_pickle=False)
    if "meta" not in arrays or arrays["meta"].shape != () or arrays["meta"].dtype.kind != "U":
        raise ValueError("no meta record")
    meta = json.loads(str(arrays.pop("meta")))
    if not isinstance(meta, dict):
        raise ValueError(f"the meta record is a JSON {type(meta).__name__}, not an object")
    return meta, arrays


def _scene_from(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Scene4D:
    """Check the arrays' presence, types and shapes, then build the scene (its own checks run in ``__post_init__``)."""
    n = int(arrays["means"].shape[0]) if "means" in arrays and arrays["means"].ndim else -1
    tensors: dict[str, torch.Tensor] = {}
    for name, (shape, required) in SCENE_ARRAYS.items():
        if name not in arrays:
            if required:
                raise ValueError(f"the array {name!r} is missing")
            continue
        array = arrays[name]
        if array.dtype.kind not in "fiu" or array.dtype.itemsize > 8:
            raise ValueError(f"the array {name!r} holds {array.dtype}, not numbers")
        expected = tuple(n if d == -1 else array.shape[i] if d is None and i < array.ndim else d for i, d in enumerate(shape))
        if array.shape != expected:
            raise ValueError(f"the array {name!r} has shape {array.shape}, expected {expected}")
        tensors[name] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.int8 if name == "layer" else np.float32))
    width, height = int(meta["width"]), int(meta["height"])
    if not (0 < width <= 1 << 16 and 0 < height <= 1 << 16):
        raise ValueError(f"the camera is {width}×{height} px")
    timing = {key: float(meta[key]) for key in ("loop_fps", "depth_near", "depth_far")}
    if not all(math.isfinite(v) and v > 0 for v in timing.values()):
        raise ValueError(f"loop_fps, depth_near and depth_far must be positive numbers, got {timing}")
    gaussians = GaussianSet(**{k: tensors[k] for k in ("means", "quats", "scales", "opacities", "colors")})
    return Scene4D(
        gaussians=gaussians,
        velocity=tensors["velocity"],
        source_camera=Camera(tensors["K"], tensors["world_to_camera"], width, height),
        loop_frames=int(meta["loop_frames"]),
        loop_fps=timing["loop_fps"],
        depth_near=timing["depth_near"],
        depth_far=timing["depth_far"],
        meta=SceneMeta.from_json(meta.get("extra", {})),
        layer=tensors.get("layer"),
        cycles=int(meta.get("cycles", 1)),
        fade=float(meta.get("fade", 1.0)),
        phase_offset=tensors.get("phase_offset"),
        colour_shift=tensors.get("colour_shift"),
    )
