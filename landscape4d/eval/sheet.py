"""Contact sheet of one evaluated photo: input, depth, masks, flow, and three frames of two camera paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

TILE_WIDTH = 320
LABEL_PX = 22
BACKGROUND = (24, 24, 24)


def _u8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    return image


def depth_tile(depth_m: np.ndarray) -> np.ndarray:
    """Inverse depth (near = bright) normalised to its 1–99 % range, TURBO colour map, RGB uint8."""
    inverse = 1.0 / np.maximum(depth_m.astype(np.float64), 1e-6)
    lo, hi = np.percentile(inverse, [1, 99])
    scaled = np.clip((inverse - lo) / max(hi - lo, 1e-12), 0, 1)
    bgr = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def masks_tile(image: np.ndarray, sky: np.ndarray, water: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """The photo dimmed, sky tinted blue, water tinted green, the motion regions' outline in yellow."""
    base = _u8(image).astype(np.float64) * 0.45
    base[sky] = base[sky] * 0.5 + np.array([60, 110, 255]) * 0.5
    base[water] = base[water] * 0.5 + np.array([40, 220, 120]) * 0.5
    out = np.clip(base, 0, 255).astype(np.uint8)
    edge = cv2.morphologyEx(moving.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    out[edge] = (255, 230, 0)
    return out


def flow_tile(flow: np.ndarray) -> np.ndarray:
    """Flow as colour: hue = direction, brightness = speed (normalised to the maximum), white = still."""
    magnitude = np.linalg.norm(flow, axis=-1)
    angle = (np.degrees(np.arctan2(flow[..., 1], flow[..., 0])) % 360.0) / 2.0
    value = magnitude / max(float(magnitude.max()), 1e-12)
    hsv = np.stack([angle, np.clip(value * 255, 0, 255), np.full_like(angle, 255)], -1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _labelled(image: np.ndarray, label: str, width: int = TILE_WIDTH) -> np.ndarray:
    image = _u8(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    tile = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    strip = np.full((LABEL_PX, width, 3), BACKGROUND, np.uint8)
    cv2.putText(strip, label, (4, LABEL_PX - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return np.concatenate([strip, tile], axis=0)


def _text_tile(lines: list[str], shape: tuple[int, int]) -> np.ndarray:
    tile = np.full((*shape, 3), BACKGROUND, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(tile, line, (6, 20 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (235, 235, 235), 1, cv2.LINE_AA)
    return tile


def contact_sheet(result: Any, summary: list[str]) -> np.ndarray:
    """RGB uint8 sheet: row 1 input | depth | masks | flow; then a row of three frames for each contact trajectory
    (``sheet_frames[preset]`` holds (label, frame) pairs)."""
    maps = result.sheet_frames["maps"]
    top = [
        _labelled(maps["image"], "input"),
        _labelled(depth_tile(maps["depth"]), "depth (near = warm)"),
        _labelled(masks_tile(maps["image"], maps["sky"], maps["water"], maps["moving"]), "sky blue / water green / moving"),
        _labelled(flow_tile(maps["flow"]), "requested flow (hue = direction)"),
    ]
    rows = [np.concatenate(top, axis=1)]
    tile_shape = top[0].shape[:2]
    for index, (name, frames) in enumerate((k, v) for k, v in result.sheet_frames.items() if k != "maps"):
        tiles = [_labelled(frame, f"{name}: {label}") for label, frame in frames[:3]]
        while len(tiles) < 3:
            tiles.append(np.full((*tile_shape, 3), BACKGROUND, np.uint8))
        lines = summary if index == 0 else []
        tiles.append(_text_tile(lines, tile_shape))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def write_contact_sheet(result: Any, summary: list[str], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet(result, summary)
    # JPEG at quality 90: the sheets are for looking at (frames, not metrics), and a repository holds a dozen of them.
    if not cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise OSError(f"could not write {path}")
    return path
