"""The Space's presentation helpers: region overlays, the brush layers, the arrow pad (HTML, JS, CSS), camera-path
sketches, the live viewer's iframe and the gr.Model3D copy of a ``.splat``.

App code, not library code: the rules these draw (trajectories, cameras, the ``.splat`` layout) come from
``landscape4d`` and ``exporters``. Pure functions of arrays, numbers and strings: nothing here imports Gradio or runs
a pipeline stage, so every helper is unit-tested without a server. Coordinates of arrows are always pixels of the ORIGINAL photo (what
``pipeline.UserEdits.arrows`` expects); the pad draws them in an SVG whose viewBox is the original size.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from landscape4d.camera import look_at
from landscape4d.flow2d import Arrow
from landscape4d.trajectories import PRESET_OFFSETS, orbit_pose

# Region colours (RGB): the same in the overlay, the legend and the brush palette.
SKY_RGB = (192, 132, 252)  # violet: stands out on a blue sky
WATER_RGB = (45, 212, 191)  # teal: stands out on blue or grey water
FREEZE_RGB = (239, 68, 68)
ARROW_RGB = (250, 204, 21)
STILL_ARROW_RGB = (203, 213, 225)  # an arrow that starts outside every region (it grows one by colour)
SUGGESTED_RGB = (251, 146, 60)  # orange outline: an automatic region found but not trusted enough to move
TINT = 0.42  # overlay opacity inside a region

# The page's name for each region kind of landscape4d.regions.KINDS.
KIND_LABELS = {"sky": "sky / clouds", "water": "water"}
# Layer names of the brush editor, in order; the app maps them to region edits by position.
LAYERS = (KIND_LABELS["water"], KIND_LABELS["sky"], "freeze")
MIN_ARROW_PX = 3.0  # arrows shorter than this (original px) are taken as clicks, not drags


def hex_colour(rgb: Sequence[int]) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


# ---------------------------------------------------------------------------------------------------------------
# Images


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0,1] or uint8 [H,W,3] → uint8 [H,W,3]."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image[..., :3]
    return np.clip(image[..., :3] * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.shape == (height, width):
        return mask
    return cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0


def region_overlay(
    image: np.ndarray,
    sky: np.ndarray | None = None,
    water: np.ndarray | None = None,
    freeze: np.ndarray | None = None,
) -> np.ndarray:
    """uint8 [H,W,3]: ``image`` with sky, water and frozen pixels tinted and outlined in their colours.

    Masks may have any size with the image's aspect ratio (resized nearest). A pixel shows one label: freeze over
    water over sky, as in ``flow2d.motion_field``.
    """
    out = to_uint8(image).astype(np.float32)
    height, width = out.shape[:2]
    label = np.zeros((height, width), np.uint8)
    for value, mask in ((1, sky), (2, water), (3, freeze)):
        if mask is not None:
            label[_resize_mask(mask, height, width)] = value
    thickness = max(1, round(max(height, width) / 400))
    kernel = np.ones((2 * thickness + 1, 2 * thickness + 1), np.uint8)
    for value, rgb in ((1, SKY_RGB), (2, WATER_RGB), (3, FREEZE_RGB)):
        mask = label == value
        if not mask.any():
            continue
        colour = np.asarray(rgb, np.float32)
        out[mask] = (1.0 - TINT) * out[mask] + TINT * colour
        edge = mask & ~(cv2.erode(mask.astype(np.uint8), kernel) > 0)
        out[edge] = colour
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _label_point(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of the pixel deepest inside ``mask`` (where a region's number is drawn)."""
    distance = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(col), int(row)


def label_regions(overlay: np.ndarray, regions: Sequence, chosen: Sequence[int]) -> np.ndarray:
    """``overlay`` (uint8 [H,W,3], e.g. from ``region_overlay``) with every automatic region numbered (1-based, as
    in the app's region list) and the regions that are not chosen outlined in dashed orange.

    ``regions``: objects or dicts with ``mask`` [h,w] bool (any size with the overlay's aspect ratio).
    """
    out = to_uint8(overlay).copy()
    height, width = out.shape[:2]
    chosen = set(int(i) for i in chosen)
    thickness = max(1, round(max(height, width) / 300))
    scale = max(0.4, max(height, width) / 900)
    for index, region in enumerate(regions):
        mask = _resize_mask(region["mask"] if isinstance(region, Mapping) else region.mask, height, width)
        if not mask.any():
            continue
        if index not in chosen:
            edge = mask & ~(cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
            rows, cols = np.nonzero(edge)
            dashed = ((rows + cols) // max(4, 3 * thickness)) % 2 == 0
            grown = np.zeros((height, width), np.uint8)
            grown[rows[dashed], cols[dashed]] = 1
            grown = cv2.dilate(grown, np.ones((thickness, thickness), np.uint8)).astype(bool)
            out[grown] = SUGGESTED_RGB
        x, y = _label_point(mask)
        text = str(index + 1)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness + 1)
        origin = (int(np.clip(x - tw // 2, 0, width - tw)), int(np.clip(y + th // 2, th, height - 1)))
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 3, cv2.LINE_AA)
        colour = (255, 255, 255) if index in chosen else SUGGESTED_RGB
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness + 1, cv2.LINE_AA)
    return out


def region_choice(index: int, region) -> tuple[str, int]:
    """(label, value) of automatic region ``index`` for the app's checkbox list."""
    get = (lambda k: region[k]) if isinstance(region, Mapping) else (lambda k: getattr(region, k))
    mask = get("mask")
    kind = KIND_LABELS[get("kind")]
    share = float(np.asarray(mask).mean())
    label = f"{index + 1} · {kind} · {share:.0%} of the photo · confidence {float(get('confidence')):.2f}"
    evidence = get("evidence")
    return (f"{label} ({evidence})" if evidence else label), index


def resize_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """A bool mask resized (nearest) to ``shape`` (H, W); None stays None."""
    return None if mask is None else _resize_mask(mask, int(shape[0]), int(shape[1]))


def jpeg_data_url(image: np.ndarray, quality: int = 88) -> str:
    """An RGB uint8 image as a ``data:image/jpeg;base64,…`` URL (for the arrow pad)."""
    bgr = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the preview image")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


# ---------------------------------------------------------------------------------------------------------------
# Brush layers


@dataclass
class PaintedLayers:
    """Boolean masks painted in the brush editor (editor resolution; ``None`` where nothing was painted)."""

    water: np.ndarray | None = None
    sky: np.ndarray | None = None
    freeze: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return self.water is None and self.sky is None and self.freeze is None

    def fingerprint(self) -> bytes:
        """Bytes that change whenever a painted pixel changes (for deciding whether a scene is still valid)."""
        parts = []
        for mask in (self.water, self.sky, self.freeze):
            parts.append(b"-" if mask is None else np.packbits(mask).tobytes() + str(mask.shape).encode())
        return b"|".join(parts)


def _layer_mask(layer: object) -> np.ndarray | None:
    if layer is None:
        return None
    array = np.asarray(layer)
    if array.ndim == 3 and array.shape[-1] == 4:
        mask = array[..., 3] > 0
    elif array.ndim == 3:
        mask = array.max(axis=-1) > 0
    elif array.ndim == 2:
        mask = array > 0
    else:
        return None
    return mask if mask.any() else None


def painted_layers(editor_value: Mapping | None) -> PaintedLayers:
    """The brush editor's value (``{"background", "layers", "composite"}`` with numpy layers) → masks.

    Layers are read by position in ``LAYERS`` order (water, sky / clouds, freeze); strokes are the pixels with
    alpha > 0. Extra layers are ignored.
    """
    if not editor_value:
        return PaintedLayers()
    layers = list(editor_value.get("layers") or [])[: len(LAYERS)]
    masks = [_layer_mask(layer) for layer in layers] + [None] * (len(LAYERS) - len(layers))
    return PaintedLayers(water=masks[0], sky=masks[1], freeze=masks[2])


# ---------------------------------------------------------------------------------------------------------------
# Arrows: text form "x0,y0,x1,y1; …" in original photo pixels, and the drawing pad


def parse_arrows(text: str | None) -> list[Arrow]:
    """``"x0,y0,x1,y1; x0,y0,x1,y1"`` → arrows (ValueError names the bad item). Blank → []."""
    arrows = []
    for item in (text or "").replace("\n", ";").split(";"):
        if item.strip():
            arrows.append(Arrow.parse(item))
    return arrows


def format_arrows(arrows: Sequence[Arrow]) -> str:
    return "; ".join(f"{a.x0:.0f},{a.y0:.0f},{a.x1:.0f},{a.y1:.0f}" for a in arrows)


def check_arrows(arrows: Sequence[Arrow], original_size: tuple[int, int]) -> None:
    """ValueError when an arrow starts outside the photo (a message the user can act on)."""
    width, height = original_size
    for i, a in enumerate(arrows, start=1):
        if not (0 <= a.x0 < width and 0 <= a.y0 < height):
            raise ValueError(
                f"Arrow {i} starts at ({a.x0:.0f}, {a.y0:.0f}), outside the {width}×{height} photo. "
                "Draw it again on the photo or fix its numbers."
            )


def still_arrows(arrows: Sequence[Arrow], moving: np.ndarray, original_size: tuple[int, int]) -> list[int]:
    """1-based numbers of the arrows whose start lies outside the moving regions (``moving`` [H,W] bool, any size).

    ``flow2d.motion_field`` lets an arrow steer only the region it starts in, so these arrows have no effect.
    """
    height, width = moving.shape
    sx, sy = width / original_size[0], height / original_size[1]
    still = []
    for number, a in enumerate(arrows, start=1):
        col, row = min(width - 1, max(0, int(a.x0 * sx))), min(height - 1, max(0, int(a.y0 * sy)))
        if not moving[row, col]:
            still.append(number)
    return still


def _arrow_svg(arrow: Arrow, number: int, unit: float, active: bool = True) -> str:
    x0, y0, x1, y1 = arrow.x0, arrow.y0, arrow.x1, arrow.y1
    angle = math.atan2(y1 - y0, x1 - x0)
    head = min(4.5 * unit, 0.6 * max(arrow.length, 1e-6))
    left = (x1 - head * math.cos(angle - 0.45), y1 - head * math.sin(angle - 0.45))
    right = (x1 - head * math.cos(angle + 0.45), y1 - head * math.sin(angle + 0.45))
    shaft_end = (x1 - 0.8 * head * math.cos(angle), y1 - 0.8 * head * math.sin(angle))
    colour = hex_colour(ARROW_RGB if active else STILL_ARROW_RGB)
    return (
        f'<g class="l4d-arrow"><line x1="{x0:.1f}" y1="{y0:.1f}" x2="{shaft_end[0]:.1f}" y2="{shaft_end[1]:.1f}" '
        f'stroke="#000" stroke-opacity="0.55" stroke-width="{2.4 * unit:.2f}" stroke-linecap="round"/>'
        f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{shaft_end[0]:.1f}" y2="{shaft_end[1]:.1f}" stroke="{colour}" '
        f'stroke-width="{1.3 * unit:.2f}" stroke-linecap="round"/>'
        f'<polygon points="{x1:.1f},{y1:.1f} {left[0]:.1f},{left[1]:.1f} {right[0]:.1f},{right[1]:.1f}" '
        f'fill="{colour}" stroke="#000" stroke-opacity="0.55" stroke-width="{0.5 * unit:.2f}"/>'
        f'<circle cx="{x0:.1f}" cy="{y0:.1f}" r="{2.6 * unit:.2f}" fill="#000" fill-opacity="0.65"/>'
        f'<text x="{x0:.1f}" y="{y0:.1f}" dy="0.35em" text-anchor="middle" font-size="{3.4 * unit:.2f}" '
        f'fill="{colour}" font-family="sans-serif" font-weight="700">{number}</text></g>'
    )


def legend_html(show_painted: bool = True) -> str:
    items = [(KIND_LABELS["sky"], SKY_RGB), (KIND_LABELS["water"], WATER_RGB), ("suggested, still", SUGGESTED_RGB)]
    if show_painted:
        items.append(("frozen", FREEZE_RGB))
    items.append(("arrow", ARROW_RGB))
    chips = "".join(
        f'<span class="l4d-chip"><i style="background:{hex_colour(rgb)}"></i>{html.escape(name)}</span>'
        for name, rgb in items
    )
    return f'<div class="l4d-legend">{chips}</div>'


def arrow_pad_html(
    overlay: np.ndarray | None,
    original_size: tuple[int, int] | None,
    arrows: Sequence[Arrow] = (),
    still: Sequence[int] = (),
    error: str = "",
    unpainted: np.ndarray | None = None,
) -> str:
    """The arrow pad: the overlay image with the arrows drawn over it in original-photo pixels.

    ``unpainted``: the overlay without the brush layers (when any are painted), a hidden image from which the page
    shows an erase or an undo at once (``STROKE_PREVIEW_JS``), before the server's overlay comes back.

    ``still`` numbers arrows that start outside every region (drawn grey, with a hint); ``error`` is shown instead
    of the usual hint. ``ARROW_PAD_JS`` turns drags (or two clicks: start, then end) on it into arrows. Without a
    photo it shows a placeholder.
    """
    if overlay is None or original_size is None:
        return (
            '<div class="l4d-pad l4d-empty"><p>Upload a photo (or pick the example): it appears here with the '
            "automatic sky and water regions. Then drag on it to draw motion arrows.</p></div>"
        )
    width, height = original_size
    unit = max(width, height) / 250.0  # stroke widths scale with the photo, so arrows look the same at any size
    svg_arrows = "".join(_arrow_svg(a, i, unit, i not in still) for i, a in enumerate(arrows, start=1))
    count = len(arrows)
    if error:
        hint = f"⚠ {error}"
    elif not count:
        hint = "No arrows: default motion (clouds drift sideways, water flows toward you). "
    else:
        hint = f"{count} arrow{'s' if count != 1 else ''}. "
    if still and not error:
        names = ", ".join(str(n) for n in still)
        hint += (
            f"Arrow {names} start{'s' if len(still) == 1 else ''} outside the coloured regions: the area of similar "
            "colour around its start will move (paint it in step 2 to choose the area exactly). "
        )
    if not error:
        hint += "Drag on the photo (or click start, then end) to add an arrow."
    return (
        f'<div class="l4d-pad" data-w="{width}" data-h="{height}" data-unit="{unit:.3f}">'
        f'<div class="l4d-stage"><img src="{jpeg_data_url(overlay)}" alt="photo with motion regions" draggable="false"/>'
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none">{svg_arrows}<g class="l4d-live"></g></svg>'
        f"</div>{legend_html()}<p class=\"l4d-hint\">{html.escape(hint)}</p>"
        + (f'<img class="l4d-unpainted" hidden alt="" src="{jpeg_data_url(unpainted)}"/>' if unpainted is not None else "")
        + "</div>"
    )


# Drag (or click, click) on the pad → trigger('input', {arrow: [x0, y0, x1, y1]}) in original photo pixels.
# Listeners sit on the component root, which survives re-renders of its inner HTML.
ARROW_PAD_JS = """
let drag = null, pending = null;
const pad = () => element.querySelector('.l4d-pad[data-w]');
const live = () => element.querySelector('.l4d-live');
function toPhoto(ev) {
  const p = pad(), r = p.querySelector('img').getBoundingClientRect();
  const w = +p.dataset.w, h = +p.dataset.h;
  const x = Math.min(w - 0.5, Math.max(0, (ev.clientX - r.left) / r.width * w));
  const y = Math.min(h - 0.5, Math.max(0, (ev.clientY - r.top) / r.height * h));
  return [Math.round(x), Math.round(y)];
}
function drawLive(a, b) {
  const g = live(); if (!g) return;
  const u = +pad().dataset.unit;
  g.innerHTML = b
    ? `<line x1="${a[0]}" y1="${a[1]}" x2="${b[0]}" y2="${b[1]}" stroke="#facc15" stroke-width="${1.3 * u}" stroke-dasharray="${3 * u}"/>`
    : `<circle cx="${a[0]}" cy="${a[1]}" r="${2.6 * u}" fill="#facc15"/>`;
}
element.addEventListener('pointerdown', (ev) => {
  if (!pad() || ev.button !== 0 || !ev.target.closest('.l4d-stage')) return;
  ev.preventDefault();
  drag = { from: pending || toPhoto(ev), x: ev.clientX, y: ev.clientY };
});
element.addEventListener('pointermove', (ev) => {
  if (drag) drawLive(drag.from, toPhoto(ev));
});
window.addEventListener('pointerup', (ev) => {
  if (!drag || !pad()) { drag = null; return; }
  const end = toPhoto(ev), moved = Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) > 6;
  const from = drag.from; drag = null;
  if (moved || pending) {
    pending = null;
    if (Math.hypot(end[0] - from[0], end[1] - from[1]) >= %(min_px)s) {
      drawLive(from, end);
      trigger('input', { arrow: [from[0], from[1], end[0], end[1]] });
    } else { drawLive(from, null); pending = from; }
  } else { pending = from; drawLive(from, null); }
});
""".replace("%(min_px)s", str(MIN_ARROW_PX))

PAD_CSS = """
.l4d-pad { user-select: none; }
.l4d-stage { position: relative; line-height: 0; cursor: crosshair; touch-action: none; }
.l4d-stage img { width: 100%; height: auto; border-radius: 6px; }
.l4d-stage svg { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.l4d-stage canvas.l4d-strokes { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none;
  border-radius: 6px; }
.l4d-empty { display: flex; align-items: center; justify-content: center; min-height: 220px; padding: 1.5em;
  border: 1px dashed var(--border-color-primary); border-radius: 6px; color: var(--body-text-color-subdued);
  text-align: center; }
.l4d-legend { display: flex; flex-wrap: wrap; gap: 0.9em; margin-top: 0.4em; font-size: 0.85em; }
.l4d-chip i { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; border-radius: 2px;
  vertical-align: -0.1em; }
.l4d-hint { margin: 0.3em 0 0; font-size: 0.85em; color: var(--body-text-color-subdued); }
.l4d-paths { display: grid; grid-template-columns: repeat(auto-fill, minmax(86px, 1fr)); gap: 6px; }
.l4d-path { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 2px; text-align: center;
  font-size: 0.78em; color: var(--body-text-color-subdued); }
.l4d-path.l4d-on { border-color: var(--color-accent); color: var(--body-text-color);
  box-shadow: 0 0 0 1px var(--color-accent); }
.l4d-path svg { width: 100%; height: 48px; }
.l4d-viewer iframe { width: 100%; height: 420px; border: 0; border-radius: 6px; background: #111; }
.l4d-compare { position: relative; width: 100%; max-height: 640px; overflow: hidden; border-radius: 6px;
  background: #111; line-height: 0; }
.l4d-compare video, .l4d-compare img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; }
.l4d-compare .l4d-before { clip-path: inset(0 calc(100% - var(--split)) 0 0); }
.l4d-compare::after { content: ""; position: absolute; top: 0; bottom: 0; left: var(--split); width: 2px;
  background: #fff; box-shadow: 0 0 4px #0008; pointer-events: none; }
.l4d-compare input[type=range] { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0;
  cursor: ew-resize; }
.l4d-tag { position: absolute; top: 8px; padding: 2px 8px; border-radius: 4px; background: #000a; color: #fff;
  font-size: 12px; line-height: 1.5; pointer-events: none; }
.l4d-left { left: 8px; } .l4d-right { right: 8px; }
#video video { background: #111; }
#progress { min-height: 76px; }
#progress:has([data-testid=status-tracker].hide) { display: none !important; }
#video .volume, #video .volume-control-wrapper, #video [aria-label*="olume"], #video input[type=range].volume-slider { display: none !important; }
.l4d-layers { gap: 6px !important; }
.l4d-layer button, button.l4d-layer { border: 2px solid var(--l4d-colour) !important; }
button.l4d-layer.l4d-on { background: var(--l4d-colour) !important; color: #111 !important; }
#layer-water { --l4d-colour: %(water)s; } #layer-sky { --l4d-colour: %(sky)s; } #layer-freeze { --l4d-colour: %(freeze)s; }
#photo.l4d-dragover { outline: 3px dashed var(--color-accent); outline-offset: -3px; }
"""

PAD_CSS = PAD_CSS.replace("%(water)s", hex_colour(WATER_RGB)).replace("%(sky)s", hex_colour(SKY_RGB)).replace(
    "%(freeze)s", hex_colour(FREEZE_RGB))


# ---------------------------------------------------------------------------------------------------------------
# Camera-path sketches


PATH_NOTES = {
    "static": "camera still; only water and clouds move",
    "zoom-in": "push forward into the scene",
    "dolly-out": "pull back, revealing more",
    "swing": "left ↔ right, loops",
    "up-down": "rise and sink, loops",
    "circle": "small circle in the image plane, loops",
    "orbit": "arc around the middle distance, loops",
}


def path_points(preset: str, samples: int = 48) -> np.ndarray:
    """[samples, 3] camera centres (world, OpenCV axes) of ``preset`` for a scene with depth_near = 1, focus = 3."""
    if preset not in PRESET_OFFSETS:
        raise ValueError(f"unknown trajectory {preset!r}")
    points = []
    for i in range(samples):
        u = i / (samples - 1)
        if preset == "orbit":
            world_to_camera = orbit_pose(u, 1.0, 3.0).double().numpy()
            rotation, translation = world_to_camera[:3, :3], world_to_camera[:3, 3]
            points.append(-rotation.T @ translation)
        else:
            points.append(np.asarray(PRESET_OFFSETS[preset](u), dtype=np.float64))  # camera positions (world)
    return np.asarray(points)


def path_sketch_svg(preset: str) -> str:
    """A 90×48 oblique sketch of the camera path (x right, y down, depth drawn up and to the right)."""
    points = path_points(preset)
    screen = np.stack([points[:, 0] + 0.5 * points[:, 2], points[:, 1] - 0.35 * points[:, 2]], axis=1)
    span = np.ptp(screen, axis=0).max()
    box_w, box_h, margin = 90.0, 48.0, 9.0
    frame = (
        '<rect x="30" y="12" width="30" height="20" rx="2" fill="none" stroke="currentColor" stroke-opacity="0.35"/>'
    )
    if span < 1e-9:
        return (
            f'<svg viewBox="0 0 {box_w:.0f} {box_h:.0f}">{frame}'
            f'<circle cx="45" cy="22" r="3.5" fill="var(--color-accent)"/></svg>'
        )
    centre = (screen.max(axis=0) + screen.min(axis=0)) / 2
    extent = np.maximum(np.ptp(screen, axis=0), 1e-9)
    scale = min((box_w - 2 * margin) / extent[0], (box_h - 2 * margin) / extent[1])
    xy = (screen - centre) * scale + np.array([box_w / 2, box_h / 2])
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    # Arrowhead at the point where the path has gone a quarter of the way (loops end where they start).
    k = len(xy) // 4 if preset not in ("zoom-in", "dolly-out") else len(xy) - 1
    direction = xy[k] - xy[k - 1]
    angle = math.atan2(direction[1], direction[0])
    tip = xy[k]
    head = [tip + 5 * np.array([math.cos(angle + s), math.sin(angle + s)]) for s in (math.pi - 0.5, math.pi + 0.5)]
    arrow = f"{tip[0]:.1f},{tip[1]:.1f} {head[0][0]:.1f},{head[0][1]:.1f} {head[1][0]:.1f},{head[1][1]:.1f}"
    return (
        f'<svg viewBox="0 0 {box_w:.0f} {box_h:.0f}">{frame}'
        f'<polyline points="{line}" fill="none" stroke="var(--color-accent)" stroke-width="2" stroke-linejoin="round"/>'
        f'<polygon points="{arrow}" fill="var(--color-accent)"/>'
        f'<circle cx="{xy[0][0]:.1f}" cy="{xy[0][1]:.1f}" r="2.4" fill="currentColor"/></svg>'
    )


def paths_html(presets: Sequence[str], selected: str) -> str:
    """A grid of path sketches, the selected one highlighted, with a one-line note for it."""
    cards = "".join(
        f'<div class="l4d-path{" l4d-on" if name == selected else ""}" '
        f'title="{html.escape(PATH_NOTES.get(name, name))}">{path_sketch_svg(name)}<div>{html.escape(name)}</div></div>'
        for name in presets
    )
    note = html.escape(PATH_NOTES.get(selected, ""))
    return f'<div class="l4d-paths">{cards}</div><p class="l4d-hint"><b>{html.escape(selected)}</b>: {note}</p>'


def viewer_html(url: str | None, note: str = "") -> str:
    """The live 4D viewer embedded as an iframe (``url`` serves the exporters' viewer.html)."""
    if not url:
        return (
            '<div class="l4d-pad l4d-empty"><p>The live 3D scene appears here after a run: water and clouds move, '
            "drag to orbit, scroll to zoom.</p></div>"
        )
    return (
        f'<div class="l4d-viewer"><iframe src="{html.escape(url, quote=True)}" title="live 4D scene" '
        f'allow="fullscreen" loading="lazy"></iframe><p class="l4d-hint">{html.escape(note)}</p></div>'
    )


# ---------------------------------------------------------------------------------------------------------------
# gr.Model3D preview of a .splat


# gr.Model3D draws .splat files with gsplat.js OrbitControls at their defaults and ignores ``camera_position`` for
# splats: target (0, 0, 0), alpha = beta = 0.5 rad, radius 5, camera at target + radius·(sin α cos β, −sin β,
# −cos α cos β) looking at the target (OpenCV-like axes, y down).
MODEL3D_ORBIT = (0.5, 0.5, 5.0)
MODEL3D_FOV_DEG = 34.0  # gsplat.js camera: fx = 1132 px on a ~700 px wide canvas


def model3d_camera_to_world() -> np.ndarray:
    """camera_to_world [4,4] (float64) of gr.Model3D's default camera: on its orbit, looking at the origin."""
    alpha, beta, radius = MODEL3D_ORBIT
    position = radius * np.array([math.sin(alpha) * math.cos(beta), -math.sin(beta), -math.cos(alpha) * math.cos(beta)])
    world_to_camera = look_at(torch.as_tensor(position, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    return np.linalg.inv(world_to_camera.double().numpy())


MODEL3D_FOCAL_PX = 1132.0  # gsplat.js's fixed focal length in canvas pixels (fx = fy), whatever the canvas size
MODEL3D_WIDTH_PX = 680  # the static preview's canvas width in the Space's layout (a 1280 px wide window)
MODEL3D_HEIGHT_RANGE = (260, 560)  # its height follows the photo's aspect ratio within these bounds
MODEL3D_MAX_SPLATS = 300_000  # the preview keeps at most this many (about 10 MB): it loads in a software browser
# gsplat.js draws a splat of about a canvas pixel as a hard dot: framed previews grow splats a little so that a smooth
# sky reads smooth, not as a grid of dots.
MODEL3D_SPLAT_GROW = 1.4


def model3d_height(photo_size: tuple[int, int]) -> int:
    """The static preview's height (px) for a photo of ``photo_size`` (w, h): the photo's own aspect ratio."""
    width, height = photo_size
    low, high = MODEL3D_HEIGHT_RANGE
    return int(min(high, max(low, round(MODEL3D_WIDTH_PX * height / max(width, 1)))))


def model3d_view_splat(splat: bytes, world_to_camera: np.ndarray, photo_size: tuple[int, int] | None = None,
                       focal_px: float | None = None, max_splats: int = MODEL3D_MAX_SPLATS) -> bytes:
    """A copy of a ``.splat`` moved so that gr.Model3D's fixed start view is the photo's own viewpoint and framing.

    A similarity transform (rotation, translation, uniform scale) maps the photo camera onto Model3D's default
    orbit camera and the median splat depth onto its orbit target. With ``photo_size`` (w, h) and the photo's
    ``focal_px``, the scene is also stretched across the view direction (x and y in the photo camera's frame, depth
    kept) so that Model3D's fixed lens (``MODEL3D_FOCAL_PX``) sees the whole photo in a canvas of
    ``MODEL3D_WIDTH_PX`` × ``model3d_height(photo_size)``: the preview opens on the photo's own framing, not on a
    zoomed-in middle. Each Gaussian's covariance goes through the same linear map. Scenes of more than
    ``max_splats`` Gaussians are thinned (evenly, their sizes grown to keep the coverage) so the preview stays light.
    Only for the in-page preview: the downloadable files keep the scene's world frame.
    """
    from scipy.spatial.transform import Rotation  # deferred with the exporters: importing the app stays light

    from exporters.splat import decode_splat, splat_rows

    splats = decode_splat(splat)
    if len(splats) == 0:
        return splat
    grow = 1.0
    if len(splats) > max_splats:
        keep = np.linspace(0, len(splats) - 1, max_splats).round().astype(np.int64)
        grow = math.sqrt(len(splats) / max_splats)
        splats = replace(splats, means=splats.means[keep], quats=splats.quats[keep], scales=splats.scales[keep],
                         opacities=splats.opacities[keep], colors=splats.colors[keep])
    w2c = np.asarray(world_to_camera, dtype=np.float64)
    points = splats.means.astype(np.float64) @ w2c[:3, :3].T + w2c[:3, 3]  # camera coordinates
    depth = points[:, 2][np.isfinite(points[:, 2]) & (points[:, 2] > 0)]
    focus = float(np.median(depth)) if depth.size else 1.0
    model3d = model3d_camera_to_world()
    rotation, position = model3d[:3, :3], model3d[:3, 3]
    scale = MODEL3D_ORBIT[2] / focus
    stretch = 1.0
    if photo_size is not None and focal_px:
        width, height = photo_size
        fit = min(MODEL3D_WIDTH_PX / width, model3d_height(photo_size) / height)  # canvas px per photo px
        stretch = fit * float(focal_px) / MODEL3D_FOCAL_PX
        grow *= MODEL3D_SPLAT_GROW
    across = np.diag([stretch, stretch, 1.0])
    linear = scale * rotation @ across @ w2c[:3, :3]  # world → Model3D's world, for directions
    moved_means = position + scale * (points @ across.T) @ rotation.T
    wxyz = splats.quats.astype(np.float64)
    own = Rotation.from_quat(wxyz[:, [1, 2, 3, 0]]).as_matrix()  # scipy is x y z w
    if abs(stretch - 1.0) < 1e-9:
        turn = Rotation.from_matrix(rotation @ w2c[:3, :3])
        turned = (turn * Rotation.from_matrix(own)).as_quat()[:, [3, 0, 1, 2]]
        scales = splats.scales * scale * grow
    else:  # Σ' = L Σ Lᵀ, then back to a rotation and three scales
        axes = linear @ own * (splats.scales.astype(np.float64) * grow)[:, None, :]  # L R S
        values, vectors = np.linalg.eigh(axes @ np.swapaxes(axes, 1, 2))
        vectors[np.linalg.det(vectors) < 0, :, 0] *= -1.0
        turned = Rotation.from_matrix(vectors).as_quat()[:, [3, 0, 1, 2]]
        scales = np.sqrt(np.maximum(values, 0.0))
    moved = replace(splats, means=moved_means, scales=scales.astype(np.float32), quats=turned)
    return splat_rows(moved).tobytes()


# ---------------------------------------------------------------------------------------------------------------
# Before / after


def compare_html(photo: np.ndarray | None, video_url: str | None) -> str:
    """The photo and the living scene side by side in one frame: drag the handle (a range input) to compare.

    ``COMPARE_JS`` moves the split; the video is muted, loops and plays inline. Without a result: a placeholder.
    """
    if photo is None or not video_url:
        return (
            '<div class="l4d-pad l4d-empty"><p>After a run, compare the photo with the living scene here: drag the '
            "handle across.</p></div>"
        )
    height, width = np.asarray(photo).shape[:2]
    url = html.escape(video_url, quote=True)
    return (
        f'<div class="l4d-compare" style="aspect-ratio:{width}/{height}; --split:50%">'
        f'<video src="{url}" autoplay muted loop playsinline disablepictureinpicture></video>'
        f'<img class="l4d-before" src="{jpeg_data_url(photo)}" alt="the photo" draggable="false"/>'
        '<span class="l4d-tag l4d-left">photo</span><span class="l4d-tag l4d-right">landscape4d</span>'
        '<input type="range" min="0" max="100" value="50" step="0.5" aria-label="before / after split"/></div>'
        '<p class="l4d-hint">Drag across the picture: the photo on the left, the living 3D scene on the right.</p>'
    )


# Dropping a photo on the loaded one replaces it: gr.File shows no drop zone while it holds a file, so a capture-phase
# listener takes the drop, clears the component and hands the file to the upload input that reappears.
PHOTO_DROP_JS = """
() => {
  const root = () => document.querySelector('#photo');
  const loaded = () => root() && !root().querySelector('input[type=file]');
  const over = (ev) => root() && root().contains(ev.target) && loaded() && ev.dataTransfer
    && [...ev.dataTransfer.types].includes('Files');
  const waitFor = (test, ms) => new Promise((done, fail) => {
    const t0 = performance.now();
    const step = () => { const v = test(); if (v) done(v); else if (performance.now() - t0 > ms) fail(new Error('timeout')); else requestAnimationFrame(step); };
    step();
  });
  document.addEventListener('dragover', (ev) => {
    if (!over(ev)) return;
    ev.preventDefault(); ev.stopPropagation(); ev.dataTransfer.dropEffect = 'copy';
    root().classList.add('l4d-dragover');
  }, true);
  document.addEventListener('dragleave', (ev) => {
    if (root() && !root().contains(ev.relatedTarget)) root().classList.remove('l4d-dragover');
  }, true);
  document.addEventListener('drop', async (ev) => {
    if (!over(ev)) return;
    ev.preventDefault(); ev.stopPropagation();
    const r = root(); r.classList.remove('l4d-dragover');
    const file = ev.dataTransfer.files[0]; if (!file) return;
    const keep = new DataTransfer(); keep.items.add(file);
    r.querySelector('button[aria-label=Clear]').click();
    const input = await waitFor(() => r.querySelector('input[type=file]'), 20000);
    input.files = keep.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, true);
}
"""

# A brush stroke reaches the big preview at once: on pointer-up in the brush editor the page reads the editor's
# layers (the same pixi containers, frame and resolution the editor uploads) and draws the new strokes on a canvas
# over the pad's image, in the layer colours at the overlay's tint with the same outline (region_overlay's rule:
# freeze over water over sky, masks resized nearest to the overlay's size). The server's recomposed overlay
# (editor.input → repaint_regions, seconds later on a busy machine) replaces it when it arrives; strokes made
# after the editor last read its layers (so not in that overlay) are drawn again over it.
# The editor's pixi application is globalThis.__PIXI_APP__ (light theme) or caught by pixi's
# __PIXI_APP_INIT__ hook. Test hooks: window.l4dStrokePreview (counts and times) and data-stroke on the canvas.
STROKE_PREVIEW_JS = """
() => {
  const TINT = %(tint)s, COLOURS = %(colours)s;  // LAYERS order: water, sky / clouds, freeze
  const ORDER = [1, 0, 2];  // drawn sky, water, freeze: the later wins, as in region_overlay
  // strokes: pointer-ups in the editor; drawn: the last stroke drawn here; read: strokes the editor had when it
  // last read its layers for an upload; synced: strokes the pad's server overlay is taken to show; ms: pointer-up →
  // drawn, frameMs: → the next frame (the drawing on screen), editorMs: the editor's own part, work: this script's.
  const state = window.l4dStrokePreview = { strokes: 0, drawn: 0, read: 0, synced: 0, ms: null, frameMs: null };
  const apps = [];
  const previous = globalThis.__PIXI_APP_INIT__;
  globalThis.__PIXI_APP_INIT__ = function (app) { apps.push(app); if (previous) return previous.apply(this, arguments); };
  let own = false, down = false, base = null, baseOverlay = null, upAt = 0;
  const editor = () => document.querySelector('#editor');
  const stage = () => document.querySelector('#arrow-pad .l4d-stage');
  function editorApp() {
    const ed = editor(); if (!ed) return null;
    const all = [...apps, globalThis.__PIXI_APP__].filter(Boolean);
    for (let i = all.length - 1; i >= 0; i--) {
      const app = all[i];
      try { if (app.renderer && app.canvas && ed.contains(app.canvas)) return app; } catch (e) { /* destroyed */ }
    }
    return null;
  }
  function watchReads(app) {  // the editor's own reads of its layers (before each upload) go through extract.pixels
    const extract = app.renderer.extract;
    if (extract.l4dWatched) return;
    const pixels = extract.pixels.bind(extract);
    extract.pixels = function (options) { if (!own) state.read = state.strokes; return pixels(options); };
    extract.l4dWatched = true;
  }
  // The editor's image container holds the background (zIndex -1) and one container per layer (zIndex = its
  // place in LAYERS); a stale container of the editor's first, empty canvas may share zIndex 0: the newest wins.
  function layers(app) {
    for (const box of app.stage.children) {
      const background = box.children.find((c) => c.zIndex === -1);
      const photo = background && background.children.filter((c) => c.texture).pop();
      if (!photo) continue;
      const width = Math.round(photo.texture.width), height = Math.round(photo.texture.height);
      const found = COLOURS.map((_, z) => {
        // Visible ones only: the eraser keeps a hidden working sprite of its own at zIndex 0.
        const all = box.children.filter((c) => c.zIndex === z && c !== background && c.visible && c.children.length
                                        && c.children[0].visible);
        return all.filter((c) => c.children[0].texture && Math.round(c.children[0].texture.width) === width).pop() || null;
      });
      return { found, width, height };
    }
    return null;
  }
  function labels(width, height) {  // Uint8Array [height*width]: 0, or 1 + the layer index that shows at a pixel
    const app = editorApp(); if (!app) return null;
    watchReads(app);
    const info = layers(app); if (!info) return null;
    const out = new Uint8Array(width * height);
    own = true;
    try {
      for (const z of ORDER) {
        const layer = info.found[z]; if (!layer) continue;
        const read = app.renderer.extract.pixels(layer.children[0].texture);  // its texture: no render pass
        const src = read.pixels, lw = read.width, lh = read.height;
        for (let y = 0; y < height; y++) {
          const row = Math.min(lh - 1, Math.floor(y * lh / height)) * lw;
          for (let x = 0; x < width; x++) {
            if (src[4 * (row + Math.min(lw - 1, Math.floor(x * lw / width))) + 3] > 0) out[y * width + x] = z + 1;
          }
        }
      }
    } finally { own = false; }
    return out;
  }
  function pixelsOf(img) {  // the image's RGBA pixels at its natural size (null if it cannot be read)
    try {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(img, 0, 0);
      return ctx.getImageData(0, 0, c.width, c.height);
    } catch (e) { return null; }
  }
  // Does a newly arrived overlay show the strokes painted since ``base``? Answers to earlier events (the photo's
  // own regions, a slow upload) can arrive late, after the editor has read its layers for the stroke's upload: the
  // image itself tells, where the strokes are it is nearer their layer's colour than the overlay before them.
  // An erase (no new paint) is taken as shown.
  function showsStrokes(img) {
    if (!base || !baseOverlay) return true;
    const width = img.naturalWidth, height = img.naturalHeight;
    if (baseOverlay.width !== width || baseOverlay.height !== height || base.length !== width * height) return true;
    const now = labels(width, height), seen = pixelsOf(img);
    if (!now || !seen) return true;
    const a = seen.data, b = baseOverlay.data;
    let count = 0, near = 0, before = 0;
    for (let i = 0; i < now.length; i++) {
      const label = now[i];
      if (!label || base[i] === label) continue;
      const c = COLOURS[label - 1], j = 4 * i;
      near += Math.abs(a[j] - c[0]) + Math.abs(a[j + 1] - c[1]) + Math.abs(a[j + 2] - c[2]);
      before += Math.abs(b[j] - c[0]) + Math.abs(b[j + 1] - c[1]) + Math.abs(b[j + 2] - c[2]);
      count++;
    }
    if (!count) return true;
    return near < 0.5 * (2 - TINT) * before;  // tinted: (1 − TINT) of the distance; not tinted: all of it
  }
  function hashOf(labels) {  // changes whenever a painted pixel does
    let h = 0;
    for (let i = 0; i < labels.length; i++) if (labels[i]) h = (Math.imul(h, 31) + i * 7 + labels[i]) | 0;
    return h;
  }
  let pressHash = null;  // the layers when the pointer went down (a stroke or an Undo / Redo / Clear press)
  // → true when it drew; ``changed``: only if the layers differ from pressHash (the editor has applied the edit)
  function draw(changed = false) {
    const st = stage(), img = st && st.querySelector('img');
    if (!img || !img.naturalWidth) return false;
    const width = img.naturalWidth, height = img.naturalHeight;
    const now = labels(width, height); if (!now) return false;
    if (changed) {
      const hash = hashOf(now);
      if (hash === pressHash) return false;
      pressHash = hash;
    }
    const old = base && base.length === now.length ? base : null;
    const t = Math.max(1, Math.round(Math.max(width, height) / 400));
    let canvas = st.querySelector('canvas.l4d-strokes');
    if (!canvas) {
      canvas = document.createElement('canvas');
      canvas.className = 'l4d-strokes';
      st.insertBefore(canvas, img.nextSibling);
    }
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    const ctx = canvas.getContext('2d');
    const image = ctx.createImageData(width, height), px = image.data;
    const tint = Math.round(TINT * 255);
    // Erased (or undone) paint: the overlay without the brush layers, which the server sends beside its overlay.
    const bare = document.querySelector('#arrow-pad img.l4d-unpainted');
    const under = old && bare && bare.naturalWidth === width && bare.naturalHeight === height ? pixelsOf(bare) : null;
    let count = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x, label = now[i];
        if (!label) {
          if (under && old[i]) {
            const j = 4 * i, u = under.data;
            px[j] = u[j]; px[j + 1] = u[j + 1]; px[j + 2] = u[j + 2]; px[j + 3] = 255;
            count++;
          }
          continue;
        }
        if (old && old[i] === label) continue;
        let edge = false;  // an outline pixel: another label within t pixels (the photo's border is no edge)
        for (let dy = -t; dy <= t && !edge; dy++) {
          const yy = y + dy; if (yy < 0 || yy >= height) continue;
          for (let dx = -t; dx <= t; dx++) {
            const xx = x + dx; if (xx < 0 || xx >= width) continue;
            if (now[yy * width + xx] !== label) { edge = true; break; }
          }
        }
        const c = COLOURS[label - 1];
        px[4 * i] = c[0]; px[4 * i + 1] = c[1]; px[4 * i + 2] = c[2]; px[4 * i + 3] = edge ? 255 : tint;
        count++;
      }
    }
    ctx.putImageData(image, 0, 0);
    canvas.dataset.stroke = String(state.strokes);
    state.shownPixels = count;
    return true;
  }
  // A stroke (paint or erase) on the editor's canvas, or its Undo, Redo or Clear canvas button: each changes the
  // layers and makes the editor upload them.
  const EDITS = ['Undo', 'Redo', 'Clear canvas'];
  window.addEventListener('pointerdown', (ev) => {
    const ed = editor();
    if (ev.button !== 0 || !ed || !ed.contains(ev.target)) return;
    const button = ev.target.closest && ev.target.closest('button');
    if (!(ev.target instanceof HTMLCanvasElement) && !(button && EDITS.includes(button.getAttribute('aria-label')))) return;
    down = true;
    const img = stage() && stage().querySelector('img');
    if (!img || !img.naturalWidth) return;
    const now = labels(img.naturalWidth, img.naturalHeight);
    pressHash = now ? hashOf(now) : null;
    // The server's overlay holds every stroke read so far: new strokes are drawn against what the layers hold now.
    if (state.synced === state.strokes) { base = now; baseOverlay = pixelsOf(img); }
  }, true);
  window.addEventListener('pointerup', (ev) => {
    if (!down) return;
    down = false;
    state.strokes += 1;
    upAt = ev.timeStamp || performance.now();  // when the pointer went up (before the editor's own handler ran)
    state.editorMs = performance.now() - upAt;  // the editor's own pointer-up work (it commits the stroke)
    const stroke = state.strokes;
    let frames = 0;
    // The editor commits the stroke to its layer in its own pointer-up handler (pixi listens on the window in the
    // capture phase; this listener runs in the bubble phase, after it): look now, then on the next frames if the
    // layer does not hold the stroke yet.
    const look = () => {
      if (stroke !== state.strokes) return;
      const t0 = performance.now();
      if (draw(true)) {
        state.drawn = stroke; state.ms = performance.now() - upAt; state.work = performance.now() - t0; state.frameMs = null;
        requestAnimationFrame(() => { state.frameMs = performance.now() - upAt; state.frames = frames + 1; });
      } else if (++frames < 30) requestAnimationFrame(look);  // the editor applies an Undo a frame or two later
    };
    look();
  });
  // The server's overlay arrived (the pad's image changed): once the editor has read its layers for the strokes'
  // upload and the image shows the strokes (``showsStrokes``), the strokes' canvas goes; else they are drawn again
  // on top (strokes after that read, or a late answer to an earlier event).
  const watch = () => {
    let shown = null;
    const changed = () => {
      const img = document.querySelector('#arrow-pad .l4d-stage img');
      if (!img || img.getAttribute('src') === shown) return;
      shown = img.getAttribute('src');
      const strokes = state.strokes;
      const settle = () => {
        if (state.read >= strokes && showsStrokes(img)) {
          state.synced = strokes;
          if (state.strokes === strokes) document.querySelectorAll('#arrow-pad canvas.l4d-strokes').forEach((c) => c.remove());
          else draw();  // a stroke painted while this image loaded
          return;
        }
        state.late = (state.late || 0) + 1;  // an answer without the strokes: keep drawing them
        draw();
      };
      if (img.complete && img.naturalWidth) settle(); else img.addEventListener('load', settle, { once: true });
    };
    new MutationObserver(changed).observe(document.body, { childList: true, subtree: true, attributes: true,
                                                           attributeFilter: ['src'] });
  };
  watch();
}
"""
STROKE_PREVIEW_JS = (STROKE_PREVIEW_JS.replace("%(tint)s", repr(TINT))
                     .replace("%(colours)s", str([list(c) for c in (WATER_RGB, SKY_RGB, FREEZE_RGB)])))

# The page's own script (Blocks ``js``): dropping a photo on the loaded one, and strokes shown on the pad at once.
PAGE_JS = "() => {\n  (" + PHOTO_DROP_JS.strip() + ")();\n  (" + STROKE_PREVIEW_JS.strip() + ")();\n}\n"


def choose_layer_js(layer: str) -> str:
    """JS for a "Paint <layer>" button: pick that layer, the brush and the layer's colour in the brush editor (through
    its own layer menu and swatches), and mark the button as the active one."""
    index = LAYERS.index(layer)
    return (CHOOSE_LAYER_JS.replace("%(number)s", str(index + 1)).replace("%(key)s", LAYER_KEYS[index]))


LAYER_KEYS = ("water", "sky", "freeze")  # the page's element ids for LAYERS (layer-water, …)
CHOOSE_LAYER_JS = """
async () => {
  const ed = document.querySelector('#editor');
  if (!ed) return;
  const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
  // Frames, not wall-clock time: the editor may still be mounting its layers (a busy machine draws few frames).
  const wait = async (test) => { for (let i = 0; i < 1800; i++) { const v = test(); if (v) return v; await frame(); } return null; };
  document.querySelectorAll('button.l4d-layer').forEach((b) => b.classList.toggle('l4d-on', b.id === 'layer-%(key)s'));
  const wrap = await wait(() => ed.querySelector('.layer-wrap'));
  if (wrap && wrap.classList.contains('closed')) wrap.querySelector('button').click();
  const item = await wait(() => ed.querySelector('button[aria-label="layer-%(number)s"]'));
  if (item) item.click();
  const open = ed.querySelector('.layer-wrap:not(.closed) > button');
  if (open) open.click();
  const brush = ed.querySelector('button[aria-label="Brush"]');
  if (brush) brush.click();
  let swatches = ed.querySelectorAll('.swatch button.color');
  if (!swatches.length) {
    const colour = await wait(() => ed.querySelector('button[aria-label="Color"]'));
    if (colour) colour.click();
    swatches = (await wait(() => { const s = ed.querySelectorAll('.swatch button.color'); return s.length ? s : null; })) || [];
  }
  if (swatches[%(number)s - 1]) swatches[%(number)s - 1].click();
}
"""

COMPARE_JS = """
element.addEventListener('input', (ev) => {
  if (!ev.target.matches('.l4d-compare input[type=range]')) return;
  ev.target.closest('.l4d-compare').style.setProperty('--split', ev.target.value + '%');
});
"""
