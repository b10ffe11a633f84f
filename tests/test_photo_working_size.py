"""``photo.working_size``: the one rule for the working resolution, the size ``load_photo`` really returns."""

from __future__ import annotations

import numpy as np
import pytest

from landscape4d.photo import MIN_WORKING_SHORT_SIDE_PX, load_photo, working_size


@pytest.mark.parametrize(
    "original_size, long_side",
    [((1000, 667), 512), ((667, 1000), 512), ((301, 101), 256), ((40, 20), 512), ((240, 30), 128), ((120, 80), None),
     ((4000, 3000), 1024), ((2560, 427), 512), ((427, 2560), 1024)],
)
def test_load_photo_returns_the_working_size(original_size, long_side):
    width, height = original_size
    image = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    photo = load_photo(image, long_side)
    assert (photo.width, photo.height) == working_size(original_size, long_side)


def test_working_size_reduces_rounds_to_even_and_enlarges_tiny_photos():
    assert working_size((1000, 667), 512) == (512, 342)
    assert working_size((300, 200), 512) == (300, 200), "never enlarged to reach long_side"
    assert working_size((101, 101), None) == (102, 102), "odd sides round half-up to even"
    small = working_size((40, 20), 512)
    assert min(small) == MIN_WORKING_SHORT_SIDE_PX and small == (128, 64), "a tiny photo is enlarged"
    assert working_size((240, 30), 128) == (256, 32), "the enlargement is still capped (by the 8:1 strip's budget)"


@pytest.mark.parametrize("original_size", [(4000, 1000), (6000, 1000), (1000, 6000), (8000, 1000)])
def test_a_panorama_keeps_the_pixel_count_of_a_2_to_1_photo(original_size):
    width, height = working_size(original_size, 512)
    assert width * height == pytest.approx(512 * 256, rel=0.02)  # a 2:1 photo at 512 px
    assert width / height == pytest.approx(original_size[0] / original_size[1], rel=0.03)  # its own aspect
    assert max(width, height) <= 2 * 512  # at most twice the long side (the 8:1 limit)
    assert working_size((1920, 1080), 512) == (512, 288) and working_size((1000, 500), 512) == (512, 256)  # 2:1 and squarer: long_side
