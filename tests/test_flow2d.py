import numpy as np
import pytest

from landscape4d.flow2d import Arrow, motion_field


def _regions(h=64, w=64):
    sky = np.zeros((h, w), bool)
    sky[:20] = True
    water = np.zeros((h, w), bool)
    water[40:] = True
    return sky, water


def test_defaults_clouds_sideways_water_down_static_still():
    sky, water = _regions()
    flow = motion_field((64, 64), sky, water, travel_frames=30)
    f = flow.flow_px_per_frame
    assert np.all(f[~(sky | water)] == 0)
    assert f[10, 32, 0] > 0 and abs(f[10, 32, 1]) < 1e-6  # clouds drift right
    assert f[60, 32, 1] > 0 and abs(f[60, 32, 0]) < 1e-6  # water flows down the image
    assert not flow.moving[30].any()


def test_arrow_direction_is_followed_in_its_region_only():
    sky, water = _regions()
    arrows = [Arrow(30, 55, 10, 55)]  # leftward in the water
    flow = motion_field((64, 64), sky, water, 30, arrows=arrows)
    f = flow.flow_px_per_frame
    inside = flow.moving & water
    angles = np.degrees(np.arctan2(f[inside][:, 1], f[inside][:, 0]))
    assert np.all(np.abs(np.abs(angles) - 180) < 1e-3)
    assert f[10, 32, 0] > 0  # sky keeps its default


def test_taper_keeps_particles_inside_region_over_a_loop():
    sky, water = _regions()
    loop = 30
    flow = motion_field((64, 64), np.zeros_like(sky), water, loop, speed=5.0, water_direction=(0.0, 1.0))
    f = flow.flow_px_per_frame
    rows, cols = np.nonzero(flow.moving)
    assert (f[rows, cols, 1] * loop).max() >= 9  # fast enough to matter
    start_rows = rows - f[rows, cols, 1] * loop
    assert start_rows.min() >= 40 - 1e-3  # the backward population never crosses into the static ground above


def test_freeze_and_user_region():
    sky, water = _regions()
    freeze = np.zeros_like(sky)
    freeze[:, :32] = True
    moves = np.zeros_like(sky)
    moves[25:35, 40:60] = True
    flow = motion_field((64, 64), sky, water, 30, moves=moves, freeze=freeze)
    assert not flow.moving[:, :32].any()
    assert flow.region_id[30, 50] == 3


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "1,1,1,1", "nan,1,2,3"])
def test_bad_arrow_text(text):
    with pytest.raises(ValueError, match="arrow"):
        Arrow.parse(text)


def test_arrow_outside_photo():
    sky, water = _regions()
    with pytest.raises(ValueError, match="outside the photo"):
        motion_field((64, 64), sky, water, 30, arrows=[Arrow(100, 10, 120, 10)])


def test_arrow_outside_regions_grows_a_region_from_the_image():
    h, w = 64, 64
    image = np.zeros((h, w, 3), np.float32)
    image[:, :] = (0.2, 0.6, 0.2)  # meadow
    image[30:44, :] = (0.1, 0.2, 0.7)  # a river the automatic masks missed
    none = np.zeros((h, w), bool)
    flow = motion_field((h, w), none, none, 30, arrows=[Arrow(10, 37, 40, 37)], image=image)
    assert (flow.region_id[32:42] == 3).all() and flow.moving[35:39, 10:54].all()
    assert not flow.moving[:28].any() and not flow.moving[46:].any()
    assert (flow.flow_px_per_frame[flow.moving][:, 0] > 0).all()
    # Without the image the arrow has no region to steer.
    assert not motion_field((h, w), none, none, 30, arrows=[Arrow(10, 37, 40, 37)]).moving.any()


def test_arrow_on_textured_water_moves_it_at_the_asked_speed():
    # Rippled water (strong texture) the automatic masks missed, between a textured meadow and a textured field:
    # a colour flood fill stops after a few pixels; the grown region must cover the water, not its banks.
    rng = np.random.default_rng(0)
    h, w = 96, 128
    image = np.empty((h, w, 3), np.float32)
    image[:] = (0.25, 0.55, 0.2)
    image[:, :, 1] += 0.15 * rng.standard_normal((h, w)).astype(np.float32)  # grass texture
    water = np.zeros((h, w), bool)
    water[30:70] = True
    import cv2

    ripples = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.5)
    ripples *= 0.25 / ripples.std()  # ±25 % brightness ripples a few pixels across
    image[water] = np.stack([0.15 + 0.5 * ripples, 0.3 + 0.5 * ripples, 0.65 + 0.5 * ripples], -1)[water]
    image = np.clip(image, 0, 1)
    none = np.zeros((h, w), bool)
    arrow = Arrow(30, 50, 70, 50)  # 40 px → 0.8 px per frame
    flow = motion_field((h, w), none, none, 20.0, arrows=[arrow], image=image)
    grown = flow.region_id == 3
    assert grown[water].mean() > 0.75 and grown[~water].mean() < 0.02
    asked = arrow.length / 50
    assert flow.flow_px_per_frame[50, 30, 0] >= 0.8 * asked
    assert np.median(flow.flow_px_per_frame[40:60, 20:108, 0]) >= 0.8 * asked


def test_taper_leaves_the_speed_each_pixels_reach_allows():
    # A 20 px band of water flowing sideways at 3 px/frame over a 4-frame cycle: 12 px each way does not fit
    # in the 10 px from the band's middle to its banks, but particles whose copies reach only a quarter cycle each
    # way (3 px) keep the full speed there.
    sky = np.zeros((40, 64), bool)
    water = np.zeros((40, 64), bool)
    water[10:30, 22:42] = True
    arrow = [Arrow(32, 20, 32 + 150, 20)]  # 150 px → 3 px/frame
    whole = motion_field((40, 64), sky, water, 4, arrows=arrow)
    quarter = motion_field((40, 64), sky, water, 4, arrows=arrow, reach=np.full((40, 64, 2), 0.25, np.float32))
    assert whole.flow_px_per_frame[20, 32, 0] <= 2.05  # (10 px of room − 2 px margin) / 4 frames
    np.testing.assert_allclose(quarter.flow_px_per_frame[20, 31:34, 0], 3.0, rtol=1e-3)
    assert quarter.reach is not None and whole.reach is None


def test_a_shallow_band_of_lake_drifts_sideways_and_a_tall_river_keeps_flowing_down():
    """Down the picture is the water's default, but a lake seen across as a shallow band (12 px tall, 200 wide)
    has no room for it: the taper would cut the motion to a crawl, so it drifts right at nearly the asked speed.
    A tall river keeps flowing down; arrows still steer either; the choice is recorded for the views."""
    shape = (120, 240)
    sky = np.zeros(shape, bool)
    sky[:40] = True
    band = np.zeros(shape, bool)
    band[60:72, 20:220] = True
    flow = motion_field(shape, sky, band, travel_frames=15)
    assert flow.water_direction == (1.0, 0.0)
    f = flow.flow_px_per_frame[band]
    speed = np.linalg.norm(f, axis=-1)
    assert np.all(f[:, 1] == 0) and np.median(speed) > 0.9 * 0.0025 * 240
    down = motion_field(shape, sky, band, travel_frames=15, water_direction=(0.0, 1.0))
    assert np.median(np.linalg.norm(down.flow_px_per_frame[band], axis=-1)) < 0.5 * np.median(speed)
    river = np.zeros(shape, bool)
    river[50:, 100:130] = True
    flow = motion_field(shape, sky, river, travel_frames=15)
    assert flow.water_direction == (0.0, 1.0) and flow.flow_px_per_frame[90, 115, 1] > 0
    steered = motion_field(shape, sky, band, travel_frames=15, arrows=[Arrow(200, 66, 40, 66)])
    assert np.all(steered.flow_px_per_frame[steered.moving & band][:, 0] < 0)  # leftward, as the arrow asks
