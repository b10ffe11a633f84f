"""The pipeline's plug-in points: one Protocol and one name → backend registry per swappable stage.

Every stage is chosen the same way, by name in ``Settings`` (so the CLI, the app and the evaluation choose
backends identically), and built by a factory that receives the ``Settings`` (device, seed, resolution…):

=============  ==========================  =========================================================  ==============
stage          ``Settings`` field          called as                                                  weight-free
=============  ==========================  =========================================================  ==============
regions        ``regions``                 ``(image) -> RegionMasks``                                 ``classic``
depth          ``depth``                   ``(image, regions) -> depth [H,W]``                        ``classic``
inpainter      ``inpainter``               ``(image, depth_m, hole) -> (image, depth_m)``             ``classic``
outpainter     ``outpainter``              ``(image, depth_m, known) -> (image, depth_m)``            ``mirror``
motion         ``motion``                  ``(means_world, MotionInputs) -> velocity [N,3]``          ``single-view``, ``3dmom``
=============  ==========================  =========================================================  ==============

Images are [H,W,3] float RGB in [0,1] at the working resolution; every backend of a stage receives the same
inputs (the depth stage gets the full ``RegionMasks``, sky and water, whichever backend it is). A model backend
(diffusers, transformers) registers itself with ``REGISTRIES[stage].register(name, factory)`` and imports its heavy
dependencies inside the factory, so the offline default never imports them. ``Backends`` passes instances
directly (tests, notebooks); an instance wins over the name in ``Settings``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import logging
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np
import torch

from .camera import Camera
from .depth import DepthEstimator
from .flow2d import Arrow, Flow2D
from .inpaint import Inpainter
from .outpaint import Outpainter
from .regions import RegionEstimator

if TYPE_CHECKING:
    from .mom3d import ViewMotion
    from .settings import Settings
    from .views import View

log = logging.getLogger("landscape4d.backends")
T = TypeVar("T")
Factory = Callable[["Settings"], T]


@dataclass
class MotionInputs:
    """Everything a motion backend may use: the 2D field on the photo plus its border ring (``flow``, with that
    canvas's ``depth_m`` and ``camera``), the generated ``views``, the user's arrows (canvas pixels), the speed
    multiplier and the photo's width (arrow speeds are per photo width)."""

    flow: Flow2D
    depth_m: np.ndarray
    camera: Camera
    views: list["View"] = field(default_factory=list)  # generated views (not the source, not the border ring)
    arrows: list[Arrow] = field(default_factory=list)
    speed: float = 1.0
    reference_width: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @cached_property
    def _view_motion_cache(self) -> dict[int, "ViewMotion"]:
        return {}

    def view_motion(self, index: int) -> "ViewMotion":
        """Generated view ``index``'s own 2D motion (regions and arrows carried into it), as 3D-MOM estimates it;
        computed on first use."""
        cache = self._view_motion_cache
        if index not in cache:
            from .mom3d import estimate_view_motion

            view = self.views[index]
            cache[index] = estimate_view_motion(view.camera, view.depth_m, view.image, self.flow, self.camera,
                                                self.depth_m, self.arrows, self.speed,
                                                self.reference_width or self.camera.width)
        return cache[index]

    @property
    def view_motions(self) -> list["ViewMotion"]:
        """Every generated view's own 2D motion (``view_motion``)."""
        return [self.view_motion(index) for index in range(len(self.views))]


class MotionLifter(Protocol):
    def __call__(self, means_world: torch.Tensor, inputs: MotionInputs) -> torch.Tensor:
        """Velocity [N,3] (world units per loop frame) of the Gaussians at ``means_world`` [N,3]."""
        ...


class Registry(Generic[T]):
    """Name → factory(Settings) → backend, for one stage."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._factories: dict[str, Factory[T]] = {}

    def register(self, name: str, factory: Factory[T] | None = None, *, replace: bool = False) -> Any:
        """Register ``factory`` under ``name``; without ``factory`` it returns a decorator."""

        def add(f: Factory[T]) -> Factory[T]:
            if not name or not isinstance(name, str):
                raise ValueError(f"a {self.stage} backend needs a non-empty name, got {name!r}")
            if name in self._factories and not replace:
                raise ValueError(f"a {self.stage} backend named {name!r} is already registered")
            self._factories[name] = f
            return f

        return add if factory is None else add(factory)

    def unregister(self, name: str) -> None:
        self._factories.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def check(self, name: str) -> None:
        if name not in self._factories:
            raise ValueError(f"unknown {self.stage} backend {name!r}; choose one of: {', '.join(self._factories)}")

    def create(self, name: str, settings: "Settings") -> T:
        self.check(name)
        return self._factories[name](settings)


REGIONS: Registry[RegionEstimator] = Registry("regions")
DEPTH: Registry[DepthEstimator] = Registry("depth")
INPAINTERS: Registry[Inpainter] = Registry("inpainter")
OUTPAINTERS: Registry[Outpainter] = Registry("outpainter")
MOTION: Registry[MotionLifter] = Registry("motion")
REGISTRIES: dict[str, Registry[Any]] = {
    "regions": REGIONS, "depth": DEPTH, "inpainter": INPAINTERS, "outpainter": OUTPAINTERS, "motion": MOTION,
}
STAGE_NAMES = tuple(REGISTRIES)  # also the Settings fields that name each stage's backend


@dataclass
class Backends:
    """Backend instances that override the names in ``Settings`` (``None``: the registered one by name)."""

    regions: RegionEstimator | None = None
    depth: DepthEstimator | None = None
    inpainter: Inpainter | None = None
    outpainter: Outpainter | None = None  # fills the border ring beyond the photo's frame (colour and depth)
    motion: MotionLifter | None = None


def resolve_backends(settings: "Settings", overrides: Backends | None = None) -> tuple[Backends, dict[str, str]]:
    """One instance per stage (``overrides`` first, else ``Settings``' names) and the name each stage runs
    (``custom:<ClassName>`` for an override), for the scene's provenance."""
    overrides = overrides or Backends()
    chosen, names = {}, {}
    for item in fields(Backends):
        given = getattr(overrides, item.name)
        if given is not None:
            chosen[item.name], names[item.name] = given, f"custom:{type(given).__name__}"
        elif getattr(settings, item.name) == "auto":  # record what auto chose, not "auto"
            chosen[item.name], names[item.name] = create_auto(item.name, settings)
        else:
            name = getattr(settings, item.name)
            chosen[item.name], names[item.name] = REGISTRIES[item.name].create(name, settings), name
    return Backends(**chosen), names


# Command-line flags (the CLI and the evaluation share them); --motion predates the registry and keeps its name.
# --backend classic|models|auto sets the four image stages at once; the per-stage flags win over it.
BACKEND_FLAGS = {"regions": "--regions-backend", "depth": "--depth-backend", "inpainter": "--inpaint-backend",
                 "outpainter": "--outpaint-backend", "motion": "--motion"}


def add_backend_arguments(parser: Any) -> None:
    """Add one ``--<stage>-backend NAME`` option per stage to an argparse parser (choices = registered names)."""
    from .settings import Settings

    defaults = Settings()
    parser.add_argument("--backend", dest="backend_preset", choices=tuple(BACKEND_PRESETS), default=None,
                        help="all image stages at once: classic (weight-free, offline; default), models (Hub models: "
                        "Depth Anything V2, segmentation, diffusion inpainting), auto (models where available, else "
                        "classic, with a log line)")
    for option, field_name in (("--depth-model", "depth_model"), ("--segmentation-model", "segmentation_model"),
                               ("--inpaint-model", "inpaint_model")):
        parser.add_argument(option, dest=field_name, default=None, metavar="ID_OR_DIR",
                            help=f"Hub id (org/name[@revision]) or save_pretrained folder (default: {getattr(defaults, field_name)})")
    parser.add_argument("--inpaint-steps", dest="inpaint_steps", type=int, default=None, metavar="N",
                        help="denoising steps of the diffusion backends (default: 20 on CUDA, 8 on CPU)")
    for stage, flag in BACKEND_FLAGS.items():
        names = REGISTRIES[stage].names()
        parser.add_argument(flag, dest=f"backend_{stage}", choices=names, default=None, metavar="NAME",
                            help=f"{stage} backend: {', '.join(names)} (default: {getattr(defaults, stage)})")


def backend_changes(args: Any) -> dict[str, str]:
    """The ``Settings`` changes asked for by the flags of :func:`add_backend_arguments`."""
    changes: dict[str, str] = dict(BACKEND_PRESETS.get(getattr(args, "backend_preset", None) or "", {}))
    changes.update({stage: getattr(args, f"backend_{stage}") for stage in REGISTRIES if getattr(args, f"backend_{stage}", None)})
    changes.update({name: getattr(args, name) for name in set(MODEL_FIELDS.values()) if getattr(args, name, None)})
    if getattr(args, "inpaint_steps", None) is not None:
        changes["inpaint_steps"] = args.inpaint_steps
    return changes


# --- the weight-free defaults -------------------------------------------------------------------------------


@REGIONS.register("classic")
def _classic_regions(settings: "Settings") -> RegionEstimator:
    from .regions import ClassicRegions

    return ClassicRegions()


@DEPTH.register("classic")
def _classic_depth(settings: "Settings") -> DepthEstimator:
    from .depth import ClassicDepthFromRegions

    return ClassicDepthFromRegions()


@INPAINTERS.register("classic")
def _classic_inpainter(settings: "Settings") -> Inpainter:
    from .inpaint import ClassicInpainter

    return ClassicInpainter()


@OUTPAINTERS.register("mirror")
def _mirror_outpainter(settings: "Settings") -> Outpainter:
    from .outpaint import MirrorOutpainter

    return MirrorOutpainter()


class SingleViewLifter:
    """The photo's field lifted along its depth surface (``motion3d.lift_single_view``)."""

    def __call__(self, means_world: torch.Tensor, inputs: MotionInputs) -> torch.Tensor:
        from .motion3d import lift_single_view

        return lift_single_view(means_world, inputs.flow, inputs.depth_m, inputs.camera)


class MultiViewLifter:
    """3D-MOM: one 3D motion per Gaussian that agrees with every generated view's own 2D motion (``mom3d``), for
    the Gaussians the (unconfined) single-view lift moves; solved from rest unless ``MomSettings.start_at_rest`` is
    off."""

    def __init__(self, mom_settings: Any = None) -> None:
        from .mom3d import MomSettings

        self.mom_settings = mom_settings or MomSettings()

    def __call__(self, means_world: torch.Tensor, inputs: MotionInputs) -> torch.Tensor:
        from .mom3d import lift_multi_view
        from .motion3d import lift_single_view

        start = lift_single_view(means_world, inputs.flow, inputs.depth_m, inputs.camera, confine=False)
        views = [inputs.view_motion(index) for index in range(0, len(inputs.views), max(1, self.mom_settings.view_stride))]
        return lift_multi_view(means_world, inputs.flow, inputs.depth_m, inputs.camera, views, self.mom_settings,
                               inputs.device, initial_velocity=start)


MOTION.register("single-view", lambda settings: SingleViewLifter())
MOTION.register("3dmom", lambda settings: MultiViewLifter())


# --- model backends (Hub models; transformers / diffusers are imported only when one is created) -------------


def _device(settings: "Settings") -> torch.device:
    from .pipeline import resolve_device

    return resolve_device(settings.device)


@DEPTH.register("depth-anything")
def _depth_anything(settings: "Settings") -> DepthEstimator:
    from .depth.models import DepthAnythingDepth

    return DepthAnythingDepth(settings.depth_model, _device(settings))


@REGIONS.register("segmentation")
def _segmentation_regions(settings: "Settings") -> RegionEstimator:
    from .regions.models import SegmentationRegions

    return SegmentationRegions(settings.segmentation_model, _device(settings))


def _depth_for_fills(settings: "Settings") -> DepthEstimator | None:
    """The depth model the diffusion fills estimate their depth with (None: the classic far-side fill)."""
    return DEPTH.create(settings.depth, settings) if settings.depth in MODEL_BACKENDS["depth"] else None


@INPAINTERS.register("diffusion")
def _diffusion_inpainter(settings: "Settings") -> Inpainter:
    from .diffusion import DiffusionInpainter

    return DiffusionInpainter(settings.inpaint_model, _device(settings), steps=settings.inpaint_steps,
                              seed=settings.seed, depth_estimator=_depth_for_fills(settings))


@OUTPAINTERS.register("diffusion")
def _diffusion_outpainter(settings: "Settings") -> Outpainter:
    from .diffusion import DiffusionOutpainter

    return DiffusionOutpainter(settings.inpaint_model, _device(settings), steps=settings.inpaint_steps,
                               seed=settings.seed, depth_estimator=_depth_for_fills(settings))


# Which registered names load a model, the Settings field naming it, and the weight-free fallback of ``auto``.
MODEL_BACKENDS: dict[str, tuple[str, ...]] = {"regions": ("segmentation",), "depth": ("depth-anything",),
                                              "inpainter": ("diffusion",), "outpainter": ("diffusion",)}
MODEL_FIELDS = {"regions": "segmentation_model", "depth": "depth_model", "inpainter": "inpaint_model",
                "outpainter": "inpaint_model"}
CLASSIC = {"regions": "classic", "depth": "classic", "inpainter": "classic", "outpainter": "mirror"}
BACKEND_PRESETS: dict[str, dict[str, str]] = {
    "classic": dict(CLASSIC),
    "models": {stage: names[0] for stage, names in MODEL_BACKENDS.items()},
    "auto": {stage: "auto" for stage in MODEL_BACKENDS},
}


def create_auto(stage: str, settings: "Settings") -> tuple[Any, str]:
    """The ``auto`` choice of one stage: its model backend when the model is usable here (a local folder, in the
    Hub cache, or downloadable) and loads, else the classic backend, with one log line saying which and why.
    Returns the backend and the name of what runs."""
    from .hub import model_available

    model_name, classic = MODEL_BACKENDS[stage][0], CLASSIC[stage]
    reference = getattr(settings, MODEL_FIELDS[stage])
    usable, why = model_available(reference)
    if usable:
        try:
            backend = REGISTRIES[stage].create(model_name, settings.replace(**{stage: model_name}))
            log.info("%s backend auto → %s: %s", stage, model_name, why)
            return backend, model_name
        except Exception as error:  # noqa: BLE001 - auto never fails: it falls back, and says why
            why = f"{reference} did not load ({error})"
    log.warning("%s backend auto → %s: %s", stage, classic, why)
    return REGISTRIES[stage].create(classic, settings.replace(**{stage: classic})), classic


for _stage in MODEL_BACKENDS:
    REGISTRIES[_stage].register("auto", lambda settings, stage=_stage: create_auto(stage, settings)[0])


__all__ = ["BACKEND_FLAGS", "BACKEND_PRESETS", "CLASSIC", "MODEL_BACKENDS", "create_auto", "MODEL_FIELDS", "Backends", "add_backend_arguments", "backend_changes", "DEPTH", "INPAINTERS", "MOTION", "MotionInputs", "MotionLifter", "MultiViewLifter", "OUTPAINTERS",
           "REGIONS", "REGISTRIES", "Registry", "STAGE_NAMES", "SingleViewLifter", "resolve_backends"]
