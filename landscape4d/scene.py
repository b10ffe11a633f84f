"""Scene4D: everything needed to render or export the living scene, and its single-file save format.

A scene file (``*.l4d.npz``) is a NumPy archive: the Gaussian arrays, the per-Gaussian velocity, the source
camera and a JSON ``meta`` record (the loop's timing, the scene's depth range and a typed ``SceneMeta``: focus
depth, settings, provenance, timings). Re-rendering with a new trajectory or length loads it and skips depth,
views and fitting entirely. Only ``Scene4D.save`` / ``Scene4D.load`` read and write the file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .camera import Camera
from .gaussians import GaussianSet

SCENE_FORMAT_VERSION = 3  # 2 added ``layer``, ``cycles``, ``fade``, ``phase_offset``; 3 the typed SceneMeta (older files load)
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
        arrays["K"] = self.source_camera.K.cpu().numpy().astype(np.float32)
        arrays["world_to_camera"] = self.source_camera.world_to_camera.cpu().numpy().astype(np.float32)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
        tmp.replace(path)  # atomic: a crash never leaves a half-written scene behind
        return path

    @staticmethod
    def load(path: str | Path) -> "Scene4D":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"scene file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: torch.from_numpy(data[k].copy()) for k in data.files if k != "meta"}
        except (ValueError, KeyError, OSError) as exc:
            raise ValueError(f"{path} is not a landscape4d scene file ({exc})") from exc
        if meta.get("format") != "landscape4d-scene":
            raise ValueError(f"{path} is not a landscape4d scene file")
        if meta.get("version", 0) > SCENE_FORMAT_VERSION:
            raise ValueError(f"{path} was written by a newer landscape4d (scene format {meta['version']})")
        gaussians = GaussianSet(**{k: arrays[k] for k in ("means", "quats", "scales", "opacities", "colors")})
        camera = Camera(arrays["K"], arrays["world_to_camera"], int(meta["width"]), int(meta["height"]))
        return Scene4D(
            gaussians=gaussians,
            velocity=arrays["velocity"],
            source_camera=camera,
            loop_frames=int(meta["loop_frames"]),
            loop_fps=float(meta["loop_fps"]),
            depth_near=float(meta["depth_near"]),
            depth_far=float(meta["depth_far"]),
            meta=SceneMeta.from_json(meta.get("extra", {})),
            layer=arrays["layer"].to(torch.int8) if "layer" in arrays else None,
            cycles=int(meta.get("cycles", 1)),
            fade=float(meta.get("fade", 1.0)),
            phase_offset=arrays.get("phase_offset"),
        )
