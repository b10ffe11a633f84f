"""Resource limits, decided once: what one request may ask of the library, checked before the expensive work.

``LIMITS`` (a frozen :class:`Limits`) holds every limit; each ``check_*`` function refuses work over one of them with
a :class:`LimitError` (a ``ValueError``) whose message says what was asked, what is accepted and what to change.
The library enforces them where the work starts:

=====================  ===========================================  ==============================================
limit                  checked by                                   where
=====================  ===========================================  ==============================================
input pixels           ``check_input_pixels``                       ``photo.load_photo`` and mask/depth images,
                                                                    on the file header, before decoding
working long side      ``check_long_side``                          ``Settings`` (``--resolution``)
frames per video       ``check_video_frames``                       ``render.render_video``, before rendering
Gaussians per scene    ``check_scene_gaussians`` (an estimate)      ``pipeline.build``, after loading the photo,
                                                                    before depth, views and fitting
bytes per export file  ``check_export_bytes``                       ``exporters.export_scene``, before writing
seconds per request    ``check_request_seconds`` (the caller's      the app, before a job starts (the library has
                       estimate)                                    no clock of its own)
disk per session       ``check_session_disk``                       the app, before a job writes into a session
=====================  ===========================================  ==============================================

A deployment that needs tighter limits (a small CPU Space) passes its own ``Limits`` (``LIMITS.replace(...)``) to
the checks it calls; everything in the library reads the module-level ``LIMITS`` at call time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

# What a scene holds a working pixel (measured on the examples at 64 and 128 px): the photo's own Gaussian, the
# outpainted border ring (≈ 0.4–0.6, more at small sizes) and the static backdrop under moving content (≈ 0.15–0.25);
# each generated view adds ≈ 0.03 (inpainted disocclusions). The estimate errs a little high.
GAUSSIANS_PER_PIXEL = 1.9
GAUSSIANS_PER_PIXEL_PER_VIEW = 0.035
MB = 1_000_000
GB = 1_000_000_000


class LimitError(ValueError):
    """A request over one of the library's limits (``LIMITS``); the message says what is accepted."""


@dataclass(frozen=True)
class Limits:
    """Every resource limit of a request (see the module docstring for where each is checked)."""

    max_input_megapixels: float = 200.0  # a photo (or mask/depth image) above this is refused before decoding
    max_long_side_px: int = 4096  # the largest working resolution (Settings.long_side, --resolution)
    max_video_frames: int = 3600  # frames of one rendered video (seconds × fps): 2 min at 30 fps
    max_gaussians: int = 12_000_000  # estimated Gaussians of one scene (≈ 2 per working pixel)
    max_export_bytes: int = 1 * GB  # one exported file (.ply, .splat, .spz, .splatv, frames zip, viewer zip)
    max_request_seconds: float = 600.0  # estimated run time of one request (build + video + files)
    max_session_bytes: int = 4 * GB  # files one session (one user of the app) may keep on disk

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"Limits.{f.name} must be a positive number, got {value!r}")

    def replace(self, **changes: float) -> "Limits":
        return replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def describe(self) -> list[tuple[str, str]]:
        """(what, limit) rows for people: the README's list and the app's page show these."""
        return [
            ("Photo size", f"{self.max_input_megapixels:g} megapixels"),
            ("Working resolution", f"{self.max_long_side_px} px on the long side"),
            ("Video length", f"{self.max_video_frames:,} frames (seconds × fps)"),
            ("Scene size", f"{self.max_gaussians:,} Gaussians (estimated before building)"),
            ("Exported file", format_bytes(self.max_export_bytes)),
            ("Run time", f"{self.max_request_seconds:g} s per request (estimated before starting)"),
            ("Disk", f"{format_bytes(self.max_session_bytes)} per session"),
        ]


LIMITS = Limits()


def format_bytes(n: float) -> str:
    """A limit for people: ``1 GB``, ``250 MB``, ``0.02 MB``."""
    return f"{n / GB:g} GB" if n >= GB else f"{n / MB:g} MB"


def _mb(n: float) -> str:
    """A measured size for people: ``1,234.5 MB``, ``0.00501 MB``."""
    return f"{n / MB:,.1f} MB" if n >= 100_000 else f"{n / MB:.3g} MB"


def _limits(limits: Limits | None) -> Limits:
    return LIMITS if limits is None else limits  # the module attribute, read at call time


def check_input_pixels(
    width: int, height: int, label: str = "the photo", limits: Limits | None = None, error: type[ValueError] = LimitError
) -> None:
    """Refuse an image of ``width`` × ``height`` above ``max_input_megapixels`` (from its header: before decoding).

    ``error`` is the exception class raised (``photo.PhotoError`` for photos)."""
    limit = _limits(limits).max_input_megapixels
    if width * height > limit * 1e6:
        raise error(input_pixels_message(label, width * height, f"{width}×{height}", limits))


def input_pixels_message(label: str, pixels: int | None, dims: str | None = None, limits: Limits | None = None) -> str:
    """The message for an image over ``max_input_megapixels`` (also for Pillow's own decompression-bomb error)."""
    size = f"{pixels / 1e6:.0f} megapixels" if pixels else "too many pixels"
    if dims:
        size = f"{dims} px ({size})"
    return (
        f"{label} is {size}; the limit is {_limits(limits).max_input_megapixels:g} megapixels. Downscale it (for "
        "example to 4000 px on the long side) and try again."
    )


def check_long_side(long_side: int, limits: Limits | None = None, minimum: int = 32) -> None:
    """Refuse a working resolution outside ``minimum`` … ``max_long_side_px`` (long side, px)."""
    maximum = _limits(limits).max_long_side_px
    if not minimum <= long_side <= maximum:
        raise LimitError(f"long_side must be between {minimum} and {maximum} px, got {long_side}")


def check_video_frames(num_frames: int, seconds: float, fps: float, limits: Limits | None = None) -> None:
    """Refuse a video of more than ``max_video_frames`` frames (before any frame is rendered)."""
    maximum = _limits(limits).max_video_frames
    if num_frames > maximum:
        raise LimitError(
            f"a {seconds:g} s video at {fps:g} fps has {num_frames:,} frames; the limit is {maximum:,} frames "
            f"(seconds × fps). Shorten it to at most {maximum / fps:.1f} s at {fps:g} fps, or lower the fps."
        )


def estimate_gaussians(working_pixels: int, num_views: int) -> int:
    """About how many Gaussians a scene of ``working_pixels`` pixels with ``num_views`` generated views holds."""
    return int(round(working_pixels * (GAUSSIANS_PER_PIXEL + GAUSSIANS_PER_PIXEL_PER_VIEW * num_views)))


def check_scene_gaussians(width: int, height: int, num_views: int, limits: Limits | None = None) -> int:
    """Refuse a build whose estimated Gaussian count exceeds ``max_gaussians``; returns the estimate."""
    maximum = _limits(limits).max_gaussians
    estimate = estimate_gaussians(width * height, num_views)
    if estimate > maximum:
        per_pixel = estimate / (width * height)
        side = int((maximum / per_pixel * max(width, height) / min(width, height)) ** 0.5)
        raise LimitError(
            f"a {width}×{height} scene with {num_views} views would hold about {estimate:,} Gaussians; the limit is "
            f"{maximum:,}. Lower the resolution (to about {side} px on the long side) or the number of views."
        )
    return estimate


def check_export_bytes(n_bytes: int, what: str, limits: Limits | None = None, estimated: bool = False) -> None:
    """Refuse writing a file of ``n_bytes`` above ``max_export_bytes`` (``estimated``: the size is an estimate)."""
    maximum = _limits(limits).max_export_bytes
    if n_bytes > maximum:
        about = "about " if estimated else ""
        raise LimitError(
            f"{what} would be {about}{_mb(n_bytes)}; the limit is {format_bytes(maximum)} a file. Set a "
            "size budget (max_bytes / --max-mb) or max_gaussians, or build the scene at a lower resolution."
        )


def check_request_seconds(estimate_s: float, limits: Limits | None = None, what: str = "this request") -> None:
    """Refuse a job whose estimated run time (the caller's estimate, e.g. the app's) exceeds
    ``max_request_seconds`` — up front, with the estimate in the message."""
    maximum = _limits(limits).max_request_seconds
    if estimate_s > maximum:
        raise LimitError(
            f"{what} would take about {estimate_s:,.0f} s; the limit is {maximum:g} s a request. Lower the "
            "resolution, the number of views or the video length (seconds × fps)."
        )


def folder_bytes(folder: str | Path) -> int:
    """Bytes of the regular files under ``folder`` (0 when it does not exist); symlinks are not followed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:  # a file removed while counting
            pass
    return total


def check_session_disk(folder: str | Path, incoming_bytes: int = 0, limits: Limits | None = None) -> int:
    """Refuse adding ``incoming_bytes`` to a session folder that would then exceed ``max_session_bytes``;
    returns the bytes the folder holds now."""
    maximum = _limits(limits).max_session_bytes
    used = folder_bytes(folder)
    if used + incoming_bytes > maximum:
        raise LimitError(
            f"this session's files would take {_mb(used + incoming_bytes)} ({_mb(used)} already kept); the limit is {format_bytes(maximum)} a session. "
            "Delete or download earlier results first, or export fewer formats."
        )
    return used


__all__ = [
    "LIMITS",
    "LimitError",
    "Limits",
    "check_export_bytes",
    "check_input_pixels",
    "check_long_side",
    "check_request_seconds",
    "check_scene_gaussians",
    "check_session_disk",
    "check_video_frames",
    "estimate_gaussians",
    "folder_bytes",
]
