"""``python -m landscape4d.eval`` end to end on a tiny synthetic photo and clip (seconds, CPU)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("landscape4d.raster")
pipeline = pytest.importorskip("landscape4d.pipeline")


def synthetic_landscape(width: int = 128, height: int = 96, seed: int = 0) -> np.ndarray:
    """Sky gradient with soft clouds over textured hills and a blue lake, uint8 RGB."""
    rng = np.random.default_rng(seed)
    import cv2

    v = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([0.45, 0.65, 0.95]) * (1 - 0.4 * v) + 0.25 * cv2.GaussianBlur(rng.random((height, width)), (0, 0), 5)[..., None]
    ground = 0.35 * np.array([0.3, 0.55, 0.25]) + 0.5 * cv2.GaussianBlur(rng.random((height, width, 3)), (0, 0), 1.2) * np.array([0.5, 0.6, 0.3])
    lake = np.array([0.2, 0.35, 0.6]) + 0.15 * cv2.GaussianBlur(rng.random((height, width)), (0, 0), 1.5)[..., None]
    image = np.where(v < 0.4, sky, np.where(v < 0.7, ground, lake))
    return np.clip(image * 255, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    from landscape4d.eval.__main__ import main
    from landscape4d.video import write_mp4

    root = tmp_path_factory.mktemp("eval")
    photos = root / "photos"
    photos.mkdir()
    image = synthetic_landscape()
    Image.fromarray(image).save(photos / "tiny_lake.png")
    fluid = np.zeros(image.shape[:2], np.uint8)
    fluid[: int(0.4 * image.shape[0])] = 255  # sky
    fluid[int(0.7 * image.shape[0]) :] = 255  # lake
    (photos / "masks").mkdir()
    Image.fromarray(fluid).save(photos / "masks" / "tiny_lake_fluid_mask.png")  # the region-quality reference
    (photos / "broken.jpg").write_bytes(b"not a jpeg")  # recorded as an error; the run goes on
    frames = [np.roll(image, (0, i), axis=(0, 1)) for i in range(4)]
    clip = write_mp4(frames, root / "clip.mp4", fps=10)
    Image.fromarray(frames[0]).save(root / "clip_frame0.png")
    out = root / "report"
    code = main([str(photos), "--out", str(out), "--preset", "fast", "--long-side", "128", "--frames", "3",
                 "--contact-sheets", "yes", "--isolate", "no", "--clip", str(clip), "--clip-photo", str(root / "clip_frame0.png")])
    assert code == 1  # one photo failed
    return out


def test_report_files_and_definitions(report_dir: Path):
    report = (report_dir / "report.md").read_text()
    for needle in ("## Metrics", "src PSNR", "holes", "seam PSNR", "static p99", "motion angle", "MV EPE", "flicker",
                   "PIQE", "Real-video check", "still image", "## Errors", "broken", "python -m landscape4d.eval"):
        assert needle in report, needle
    assert (report_dir / "contact_sheet_tiny_lake.jpg").stat().st_size > 1000
    assert not (report_dir / "contact_sheet_broken.jpg").exists()


def test_metrics_csv_values_are_sane(report_dir: Path):
    rows = {row["photo"]: row for row in csv.DictReader((report_dir / "metrics.csv").open())}
    assert set(rows) == {"tiny_lake", "broken"}
    assert rows["broken"]["error"]
    row = rows["tiny_lake"]
    assert row["error"] == ""
    assert float(row["source_psnr_db"]) > 20 and 0 < float(row["source_ssim"]) <= 1
    assert 0 <= float(row["holes_mean"]) <= float(row["holes_worst"]) <= 1
    assert float(row["seam_psnr_db"]) > 40  # the loop closes
    assert float(row["static_max"]) < 10  # pixels outside the motion regions stay still
    assert 0 <= float(row["render_piqe"]) <= 100
    assert float(row["epe_ours_px"]) < 0.05
    assert 0 <= float(row["epe_ours_content_px"]) < 0.05
    assert 0 < float(row["registration_offset_px"]) < 1  # a fraction of a pixel: the splat blend, not a misplacement
    assert float(row["peak_rss_mb"]) > 0 and float(row["time_build_total_s"]) > 0
    assert not math.isnan(float(row["flicker_warp_rmse"])) and not math.isnan(float(row["flicker_orbit_warp_rmse"]))
    # Only the hills are textured here (soft sky, smooth lake): none of them is asked to move or visibly moves, so
    # both IoUs are exactly 1 and precision/recall have nothing to count.
    assert float(row["region_iou"]) == 1.0 and float(row["visible_iou"]) == 1.0
    assert math.isnan(float(row["region_precision"])) and math.isnan(float(row["visible_recall"]))
    assert math.isnan(float(row["region_angle_deg"]))  # no reference motion field


def test_region_table_in_report(report_dir: Path):
    report = (report_dir / "report.md").read_text()
    assert "### Motion regions vs reference masks" in report and "motion regions vs reference" in report
    line = next(line for line in report.splitlines() if line.startswith("| tiny_lake |") and "/" in line)
    assert line.count("|") == 9


def test_real_video_check(report_dir: Path):
    row = next(csv.DictReader((report_dir / "real_video.csv").open()))
    assert row["error"] == "" and int(row["frames"]) == 4
    for key in ("psnr", "ssim", "still_psnr", "still_ssim"):
        assert not math.isnan(float(row[key])), key


def test_contact_sheets_auto_only_for_project_examples(tmp_path: Path):
    from landscape4d.eval.__main__ import EXAMPLES, sheet_allowed

    assert sheet_allowed(EXAMPLES / "china.jpg", "auto")
    assert not sheet_allowed(tmp_path / "photo.jpg", "auto")
    assert sheet_allowed(tmp_path / "photo.jpg", "yes") and not sheet_allowed(EXAMPLES / "china.jpg", "no")


def test_bad_arguments_exit_2(tmp_path: Path):
    from landscape4d.eval.__main__ import main

    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert main([str(tmp_path), "--out", str(tmp_path / "r"), "--clip", "x.mp4"]) == 2


def test_jobs_measure_photos_of_several_folders_at_once_in_the_given_order(tmp_path: Path, report_dir: Path):
    """``--jobs 2`` over two folders: one fresh process per photo, two at a time; the report lists the photos in
    the folders' order whatever finishes first, a broken photo is its own error, and a photo measures the same as
    in the one-at-a-time run."""
    from PIL import Image

    from landscape4d.eval.__main__ import main

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    Image.fromarray(synthetic_landscape()).save(first / "tiny_lake.png")
    (second / "broken.jpg").write_bytes(b"not a jpeg")
    Image.fromarray(synthetic_landscape(seed=1)).save(second / "other_lake.png")
    out = tmp_path / "report"
    # The real command line: a spawned worker must find everything it runs by name (not on ``__main__``).
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "landscape4d.eval", str(first), str(second), "--out", str(out), "--preset",
                           "fast", "--long-side", "128", "--frames", "3", "--contact-sheets", "no", "--jobs", "2"],
                          cwd=repo, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # the broken photo
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [row["photo"] for row in rows] == ["tiny_lake", "broken", "other_lake"]
    assert rows[1]["error"] and rows[0]["error"] == "" and rows[2]["error"] == ""
    single = {row["photo"]: row for row in csv.DictReader((report_dir / "metrics.csv").open())}["tiny_lake"]
    assert float(rows[0]["source_psnr_db"]) == pytest.approx(float(single["source_psnr_db"]), abs=0.05)
    assert float(rows[2]["seam_psnr_db"]) > 40
    assert main([str(first), "--out", str(tmp_path / "r"), "--jobs", "0"]) == 2
