
import pytest
import torch

from landscape4d.camera import identity_camera
from landscape4d.trajectories import LATERAL, PRESETS, extreme_view_poses, trajectory_cameras


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_starts_at_the_photo(preset):
    cameras = trajectory_cameras(preset, 24, identity_camera(64, 48), depth_near=2.0, depth_focus=6.0)
    assert len(cameras) == 24
    assert torch.allclose(cameras[0].world_to_camera, torch.eye(4), atol=1e-5)


def test_swing_amplitude_scales_with_depth():
    for near in (1.0, 5.0):
        cams = trajectory_cameras("swing", 8, identity_camera(64, 48), near, 3 * near)
        assert cams[2].position_world[0].item() == pytest.approx(LATERAL * near, rel=1e-5)


def test_orbit_keeps_looking_at_the_focus():
    cams = trajectory_cameras("orbit", 8, identity_camera(64, 48), 1.0, 6.0)
    focus = torch.tensor([0.0, 0.0, 6.0, 1.0])
    for cam in cams:
        p = cam.world_to_camera @ focus
        assert abs(p[0].item()) < 1e-4 and abs(p[1].item()) < 1e-4 and p[2].item() > 0
    assert cams[2].position_world[0].abs().item() > 0.01


def test_zoom_moves_forward_and_dolly_backward():
    zoom = trajectory_cameras("zoom-in", 5, identity_camera(64, 48), 1.0, 3.0)
    dolly = trajectory_cameras("dolly-out", 5, identity_camera(64, 48), 1.0, 3.0)
    assert zoom[-1].position_world[2].item() > 0.2 and dolly[-1].position_world[2].item() < -0.05


def test_view_poses_and_errors():
    assert len(extreme_view_poses(1.0, 3.0, 1.2, 10)) == 10
    with pytest.raises(ValueError, match="unknown trajectory"):
        trajectory_cameras("spiral", 5, identity_camera(64, 48), 1.0, 3.0)
    with pytest.raises(ValueError, match="at least one frame"):
        trajectory_cameras("swing", 0, identity_camera(64, 48), 1.0, 3.0)
