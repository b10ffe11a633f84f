import numpy as np
import pytest

from landscape4d.video import probe_mp4, read_mp4, write_mp4


def test_mp4_is_h264_yuv420p_and_decodes(tmp_path):
    frames = [np.full((48, 64, 3), (i * 20, 128, 255 - i * 20), np.uint8) for i in range(10)]
    path = write_mp4(iter(frames), tmp_path / "v.mp4", fps=10)
    info = probe_mp4(path)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"]) == (64, 48) and info["frames"] == 10
    decoded = read_mp4(path)
    assert decoded.shape == (10, 48, 64, 3)
    assert np.abs(decoded.astype(int) - np.stack(frames).astype(int)).mean() < 3


def test_odd_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        write_mp4([np.zeros((47, 64, 3), np.uint8)], tmp_path / "v.mp4", fps=10)
    assert not (tmp_path / "v.mp4").exists()
