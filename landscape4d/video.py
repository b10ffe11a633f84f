"""H.264 (yuv420p) MP4 encoding with the ffmpeg that imageio-ffmpeg ships, and a probe to read it back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_mp4(frames: Iterable[np.ndarray], path: str | Path, fps: float, crf: int = 18) -> Path:
    """Encode uint8 RGB frames [H,W,3] (even H and W) into a browser-playable MP4; written atomically."""
    import imageio_ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.mp4")
    writer = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                if height % 2 or width % 2:
                    raise ValueError(f"H.264 yuv420p needs even frame sizes, got {width}×{height}")
                writer = imageio_ffmpeg.write_frames(
                    str(tmp),
                    (width, height),
                    fps=fps,
                    codec="libx264",
                    pix_fmt_out="yuv420p",
                    quality=None,
                    output_params=["-crf", str(crf), "-preset", "veryfast", "-movflags", "+faststart"],
                    macro_block_size=2,
                    ffmpeg_log_level="error",
                )
                writer.send(None)
            writer.send(np.ascontiguousarray(frame, dtype=np.uint8))
            count += 1
    finally:
        if writer is not None:
            writer.close()
    if count == 0:
        raise ValueError("no frames to encode")
    tmp.replace(path)
    return path


def probe_mp4(path: str | Path) -> dict[str, object]:
    """Codec, pixel format, size and frame count of the first video stream (read by ffmpeg, not by us)."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    result = subprocess.run([exe, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                            capture_output=True, text=True)
    text = result.stderr
    info: dict[str, object] = {"raw": text}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Stream") and "Video:" in line:
            desc = line.split("Video:", 1)[1].strip()
            info["codec"] = desc.split()[0]
            info["pix_fmt"] = desc.split(",")[1].strip().split("(")[0].strip()
            for token in desc.replace(",", " ").split():
                if "x" in token and token.split("x")[0].isdigit() and token.split("x")[1].isdigit():
                    info["width"], info["height"] = (int(v) for v in token.split("x"))
                    break
        if line.startswith("frame="):
            info["frames"] = int(line.split("frame=")[1].split()[0])
    return info


def read_mp4(path: str | Path) -> np.ndarray:
    """All frames [T,H,W,3] uint8 (decoded by ffmpeg)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    width, height = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return np.stack(frames)


