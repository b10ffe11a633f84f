"""``viewer.html``: one self-contained page that plays a ``.splatv`` with the bundled gsplat.js.

The page needs no network: gsplat.js (MIT, licence kept in its header comment) is inlined from
``exporters/viewer/gsplat.es.js`` and imported from a blob URL; the scene is embedded as base64 (default) or
fetched from a ``.splatv`` next to the page (served over http; opened from disk it offers a file picker). The clock
runs forwards and wraps (sawtooth), so water never flows backwards; mouse orbit/pan/zoom come from gsplat.js's
OrbitControls, starting at the photo's viewpoint; play/pause and a speed slider sit in a bar at the bottom.
"""

from __future__ import annotations

import base64
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .splatv import ViewerCamera
from landscape4d.zips import deflated_zip

VIEWER_DIR = Path(__file__).resolve().parent / "viewer"
GSPLAT_BUNDLE = VIEWER_DIR / "gsplat.es.js"
TEMPLATE = VIEWER_DIR / "viewer.html"
SCRIPT = VIEWER_DIR / "viewer.js"


@dataclass(frozen=True)
class OrbitStart:
    """gsplat.js OrbitControls arguments that reproduce a camera (without roll) looking at ``target``."""

    alpha: float
    beta: float
    radius: float
    target: tuple[float, float, float]

    @staticmethod
    def from_camera(camera: ViewerCamera, distance: float) -> "OrbitStart":
        """Orbit about the point ``distance`` in front of ``camera``.

        gsplat.js places the camera at target + radius · (sin α cos β, −sin β, −cos α cos β), so it looks along
        (−sin α cos β, sin β, cos α cos β).
        """
        if not distance > 0:
            raise ValueError(f"orbit distance must be positive, got {distance}")
        c2w = camera.camera_to_world
        forward = c2w[:3, 2] / np.linalg.norm(c2w[:3, 2])
        target = c2w[:3, 3] + forward * distance
        beta = math.asin(float(np.clip(forward[1], -1.0, 1.0)))
        alpha = math.atan2(-float(forward[0]), float(forward[2]))
        return OrbitStart(alpha, beta, float(distance), tuple(float(v) for v in target))


def orbit_distance(camera: ViewerCamera, means: np.ndarray) -> float:
    """Median depth of the splat centres in front of the camera (1.0 if none are)."""
    w2c = np.asarray(camera.world_to_camera, dtype=np.float64)
    z = np.asarray(means, dtype=np.float64) @ w2c[2, :3] + w2c[2, 3]
    z = z[np.isfinite(z) & (z > 0)]
    return float(np.median(z)) if z.size else 1.0


def viewer_config(
    camera: ViewerCamera,
    distance: float,
    loop_seconds: float,
    file_name: str,
    background: tuple[int, int, int] = (0, 0, 0),
    splats: int | None = None,
) -> dict:
    """The JSON the page reads: source intrinsics, orbit start, loop period, file name, background and the number
    of splats in the file (the texture gsplat.js uploads is padded to whole rows; the page shows this count)."""
    if not loop_seconds > 0:
        raise ValueError(f"loop_seconds must be positive, got {loop_seconds}")
    orbit = OrbitStart.from_camera(camera, distance)
    K = np.asarray(camera.K, dtype=np.float64)
    return {
        "file": file_name,
        "loopSeconds": float(loop_seconds),
        "camera": {"fx": float(K[0, 0]), "fy": float(K[1, 1]), "width": int(camera.width), "height": int(camera.height)},
        "orbit": {
            "alpha": orbit.alpha,
            "beta": orbit.beta,
            "radius": orbit.radius,
            "target": list(orbit.target),
            "minZoom": 0.05 * distance,
            "maxZoom": 4.0 * distance,
            "zoomSpeed": 0.15 * distance,
            "panSpeed": 0.3 * distance,
        },
        "near": 1e-3 * distance,
        "far": 1e4 * distance,
        "background": [int(c) for c in background] + [255],
        "splats": None if splats is None else int(splats),
    }


def _script_text(text: str) -> str:
    """Text that is safe inside a <script> element (no closing tag, no comment opener)."""
    if re.search(r"</script|<!--", text, flags=re.IGNORECASE):
        raise ValueError("text for a <script> element contains '</script' or '<!--'")
    return text


def viewer_html_bytes(config: dict, splatv: bytes | None = None, title: str = "landscape4d") -> bytes:
    """The page as UTF-8 bytes. ``splatv`` bytes are embedded (base64); None → the page fetches ``config['file']``.

    The base64 text (4/3 of the ``.splatv``, tens of MB) is joined in as bytes: substituting it into the template
    as a string and encoding the page again cost as much as deflating it."""
    config_json = json.dumps(config, separators=(",", ":")).replace("</", "<\\/")
    values = {
        "TITLE": re.sub(r"[<>&\"]", "", title),
        "CONFIG": config_json,
        "GSPLAT": _script_text(GSPLAT_BUNDLE.read_text(encoding="utf-8")),
        "VIEWER_JS": _script_text(SCRIPT.read_text(encoding="utf-8")),
    }
    # Split at the scene's marker first, then one pass per piece, so inserted text is never scanned for a marker.
    pieces = TEMPLATE.read_text(encoding="utf-8").split("@SPLATV_BASE64@")
    filled = [re.sub(r"@(TITLE|CONFIG|GSPLAT|VIEWER_JS)@", lambda m: values[m.group(1)], piece).encode("utf-8")
              for piece in pieces]
    return (b"" if splatv is None else base64.b64encode(splatv)).join(filled)


def build_viewer_html(config: dict, splatv: bytes | None = None, title: str = "landscape4d") -> str:
    """The page as a string (``viewer_html_bytes`` decoded)."""
    return viewer_html_bytes(config, splatv, title).decode("utf-8")


def viewer_zip(html: str | bytes, splatv: bytes, splatv_name: str, workers: int | None = None) -> bytes:
    """A zip with ``viewer.html`` and the ``.splatv`` beside it, deflated (level 6) by ``workers`` threads
    (``zips.deflated_zip``: a single thread took most of the ``.splatv`` export's time)."""
    page = html.encode("utf-8") if isinstance(html, str) else html
    return deflated_zip([("viewer.html", page), (splatv_name, splatv)], level=6, workers=workers)


def zip_entry(name: str, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A zip member that unpacks as a regular file with mode 0644 (``writestr(name)`` gives 0600)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100644 << 16)
    info.create_system = 3  # unix: the mode above is honoured by unzip and shutil.unpack_archive
    info.compress_type = compress_type
    return info
