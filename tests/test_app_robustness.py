"""The Space under what a public Space receives (issue 15, parts 1 and 4): bad photos and bad values through the
HTTP API (gradio_client) and in the browser, odd requests (re-render first, a second request while a job runs, a
client that goes away mid-job), and isolation between sessions (files, upload names, allowed paths, stale folders).

One ``python app.py`` for the module (its own sessions and Gradio temp folders under tmp), driven like a visitor
would: every case gets a message that says what is wrong and what is accepted, the session keeps its other work,
and the server answers a normal request afterwards. Photos are made here (PIL/numpy), tiny so that a run takes
seconds on a loaded 2-core machine. Waits are on signals (job status, files, DOM), never sleeps.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, launched_app
from test_app import browser, open_app_page  # noqa: F401 (the browser fixture and page helper of the app tests)

client_module = pytest.importorskip("gradio_client", reason="needs gradio_client")
Client, handle_file = client_module.Client, client_module.handle_file
from gradio_client.exceptions import AppError  # noqa: E402

ARTIFACTS = REPO / "test-artifacts" / "app-robustness"
QUALITY, RESOLUTION, SECONDS, FPS, LOOP, SPEED = "fast", "preset", 1, 8, 3, 1
TRAJECTORY = "swing"


# ---------------------------------------------------------------------------------------------------------------
# Photos, made in the test


def _landscape(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A sky-over-water picture (uint8 RGB): enough structure for regions and depth, cheap to build."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    sky = np.array([0.55, 0.7, 0.95], np.float32) * (1.0 - 0.3 * rows) * np.ones((height, width, 3), np.float32)
    water = np.array([0.1, 0.3, 0.45], np.float32) + 0.06 * rng.standard_normal((height, width, 3)).astype(np.float32)
    image = np.where(rows < 0.45, sky, water)
    return (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def tiny_photo(folder: Path, name: str = "tiny.jpg", size: tuple[int, int] = (96, 64), seed: int = 0) -> Path:
    path = folder / name
    Image.fromarray(_landscape(*size, seed=seed)).save(path, quality=92)
    return path


def _zero_bytes(folder: Path) -> Path:
    path = folder / "empty.jpg"
    path.write_bytes(b"")
    return path


def _truncated_jpeg(folder: Path) -> Path:
    data = tiny_photo(folder, "whole.jpg", (320, 200)).read_bytes()
    path = folder / "cut.jpg"
    path.write_bytes(data[: len(data) // 3])
    return path


def _text_named_jpg(folder: Path) -> Path:
    path = folder / "notes.jpg"
    path.write_text("these are holiday notes, not a photo\n" * 20)
    return path


def _svg(folder: Path) -> Path:
    path = folder / "drawing.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">'
                    '<rect width="300" height="200" fill="#6af"/></svg>')
    return path


def _bomb(folder: Path) -> Path:
    """A tiny PNG whose header claims 30000×20000 pixels (600 MP): must be refused before any decoding."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 30000, 20000)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF)
    path = folder / "bomb.png"
    path.write_bytes(bytes(data))
    return path


def _48_megapixels(folder: Path) -> Path:
    """An 8000×6000 JPEG (smooth, so a few hundred kB): decoded with JPEG draft mode at the working size."""
    small = Image.fromarray(_landscape(400, 300))
    path = folder / "camera-48mp.jpg"
    small.resize((8000, 6000), Image.BILINEAR).save(path, quality=80)
    return path


def _16x16(folder: Path) -> Path:
    return tiny_photo(folder, "icon.png", (16, 16))


def _8x8(folder: Path) -> Path:
    return tiny_photo(folder, "speck.png", (8, 8))


def _grayscale(folder: Path) -> Path:
    path = folder / "grey.jpg"
    Image.fromarray(_landscape(96, 64)).convert("L").save(path)
    return path


def _16_bit(folder: Path) -> Path:
    path = folder / "deep.png"
    grey = (np.asarray(Image.fromarray(_landscape(96, 64)).convert("L"), np.uint16) * 257).astype(np.uint16)
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I")
    return path


def _cmyk(folder: Path) -> Path:
    path = folder / "print.jpg"
    Image.fromarray(_landscape(96, 64)).convert("CMYK").save(path)
    return path


def _rgba(folder: Path) -> Path:
    path = folder / "cutout.png"
    rgba = np.dstack([_landscape(96, 64), np.full((64, 96), 255, np.uint8)])
    rgba[:, :20, 3] = 0  # a transparent strip
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def _exif_rotated(folder: Path) -> Path:
    """Stored 96×64, EXIF orientation 6 (rotate 90° clockwise): the photo is 64×96 as a viewer shows it."""
    path = folder / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_landscape(96, 64)).save(path, exif=exif)
    return path


def _wide_6_to_1(folder: Path) -> Path:
    return tiny_photo(folder, "panorama.jpg", (384, 64))


def _tall_1_to_6(folder: Path) -> Path:
    return tiny_photo(folder, "tower.jpg", (64, 384))


def _9_to_1(folder: Path) -> Path:
    return tiny_photo(folder, "strip.jpg", (576, 64))


def _all_sky(folder: Path) -> Path:
    path = folder / "sky.jpg"
    rows = np.linspace(0.0, 1.0, 64, dtype=np.float32)[:, None, None]
    sky = np.array([0.45, 0.62, 0.92], np.float32) * (1.0 - 0.25 * rows) * np.ones((64, 96, 3), np.float32)
    Image.fromarray((sky * 255).astype(np.uint8)).save(path, quality=92)
    return path


# (maker, words the refusal must contain): what is wrong and what is accepted.
REFUSED = {
    "zero-bytes": (_zero_bytes, ["empty (0 bytes)", "JPEG, PNG"]),
    "truncated-jpeg": (_truncated_jpeg, ["truncated or corrupt", "JPEG, PNG"]),
    "text-named-jpg": (_text_named_jpg, ["not an image", "JPEG, PNG"]),
    "svg": (_svg, ["not an image", "JPEG, PNG"]),
    "decompression-bomb": (_bomb, ["600 megapixels", "200 megapixels"]),
    "8x8": (_8x8, ["8×8 px", "at least 16 px"]),
    "9-to-1": (_9_to_1, ["9.0:1", "at most 8:1"]),
}
# (maker, (width, height) the page reports: the photo as a viewer shows it).
ACCEPTED = {
    "48-megapixels": (_48_megapixels, (8000, 6000)),
    "16x16": (_16x16, (16, 16)),
    "grayscale": (_grayscale, (96, 64)),
    "16-bit": (_16_bit, (96, 64)),
    "cmyk": (_cmyk, (96, 64)),
    "rgba": (_rgba, (96, 64)),
    "exif-rotated": (_exif_rotated, (64, 96)),
    "6-to-1": (_wide_6_to_1, (384, 64)),
    "1-to-6": (_tall_1_to_6, (64, 384)),
    "all-sky": (_all_sky, (96, 64)),
}

# The API's inputs of /generate in order (two gr.State values are part of the raw HTTP call, not of gradio_client's).
GOOD_VALUES = {"arrows": "", "trajectory": TRAJECTORY, "seconds": SECONDS, "fps": FPS, "loop": LOOP, "speed": SPEED,
               "quality": QUALITY, "resolution": RESOLUTION}


# ---------------------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust")
    # A short heartbeat: a closed client's session ends within seconds (its unload event removes its folder).
    with launched_app(root / "app", ARTIFACTS / "server.log", GRADIO_HEARTBEAT_INTERVAL="1") as server:
        yield server


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="module")
def client(server):
    client = Client(server["url"], verbose=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def with_scene(client, photos):
    """The module's client after one run: its session holds a scene (a refusal must leave it there)."""
    status, *_ = generate(client, tiny_photo(photos, "kept.jpg"))
    assert status.startswith("✓ Done"), status
    return client


def generate(client, photo: Path, editor=None, **values):
    v = {**GOOD_VALUES, **values}
    return client.predict(handle_file(str(photo)), editor, v["arrows"], v["trajectory"], v["seconds"], v["fps"],
                          v["loop"], v["speed"], v["quality"], v["resolution"], api_name="/generate")


def load(client, photo: Path):
    pad, editor, arrows, status = client.predict(handle_file(str(photo)), QUALITY, RESOLUTION, api_name="/load_photo")
    return pad, editor, status


def assert_serves_normally(client, photos: Path) -> None:
    """A normal request after the odd one: a good photo is shown with its regions."""
    pad, editor, status = load(client, tiny_photo(photos, "after.jpg"))
    assert status.startswith("Photo **after** (96×64)") and "data:image/jpeg" in pad, status


def assert_scene_kept(client) -> None:
    """The session's other work survived: its scene still re-renders."""
    status, video, *_ = client.predict("static", SECONDS, FPS, api_name="/rerender")
    assert status.startswith("✓ Re-rendered **static**"), status


def upload(url: str, name: str, data: bytes) -> dict:
    """A file sent the way a browser sends it (multipart, any name); returns the FileData the API takes."""
    import httpx

    response = httpx.post(url + "gradio_api/upload", files=[("files", (name, data, "image/jpeg"))], timeout=120)
    assert response.status_code == 200, response.text
    return {"path": response.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def call(url: str, api: str, data: list, session_hash: str) -> tuple[str, object]:
    """One raw HTTP call (what a script or a browser can send, NaN and text in number fields included): returns
    the final event ("complete" or "error") and its data."""
    import httpx

    body = json.dumps({"data": data, "session_hash": session_hash})  # json.dumps writes NaN and Infinity
    response = httpx.post(url + f"gradio_api/call/{api}", content=body, headers={"content-type": "application/json"},
                          timeout=120)
    assert response.status_code == 200, response.text
    event_id = response.json()["event_id"]
    event, payload = None, None
    with httpx.stream("GET", url + f"gradio_api/call/{api}/{event_id}", timeout=600) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ").strip()
            elif line.startswith("data: ") and event in ("complete", "error"):
                payload = json.loads(line.removeprefix("data: "))
    return event, payload


def raw_generate(url: str, photo: dict, session_hash: str, **values) -> tuple[str, object]:
    v = {**GOOD_VALUES, **values}
    data = [photo, None, v["arrows"], v["trajectory"], v["seconds"], v["fps"], v["loop"], v["speed"], v["quality"],
            v["resolution"], None, None, "single-view", "classic", "", "", ""]
    return call(url, "generate", data, session_hash)


def session_folders(server) -> set[Path]:
    return set(server["sessions"].iterdir()) if server["sessions"].is_dir() else set()


def wait_for(condition, timeout: float, what: str) -> None:
    """Wait for a condition on the server's files or a job (polled; the timeout is a bound on failure)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------------------------
# Part 1: the bad-photo catalogue through the HTTP API


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_bad_photo_is_refused_with_what_is_wrong_and_what_is_accepted(with_scene, photos, case):
    make, words = REFUSED[case]
    bad = make(photos)
    pad, editor, status = load(with_scene, bad)
    assert status.startswith("⚠ **This photo can't be used.**") and all(w in status for w in words), status
    assert "Upload a photo" in pad and editor is None
    with pytest.raises(AppError) as refused:
        generate(with_scene, bad)
    assert all(w in str(refused.value) for w in words), refused.value
    assert_scene_kept(with_scene)
    assert_serves_normally(with_scene, photos)


@pytest.mark.parametrize("case", list(ACCEPTED), ids=list(ACCEPTED))
def test_odd_but_valid_photo_gives_a_sensible_result(client, photos, case):
    make, (width, height) = ACCEPTED[case]
    photo = make(photos)
    pad, editor, status = load(client, photo)
    assert status.startswith(f"Photo **{photo.stem}** ({width}×{height})"), status
    assert f'data-w="{width}" data-h="{height}"' in pad, "the pad shows the photo upright, at its own size"
    if case in ("48-megapixels", "grayscale", "16-bit", "cmyk"):
        return  # decoded like any photo above; a run costs what the 96 px runs below cost (48 MP: ~45 s)
    status, video, *_ = generate(client, photo)
    assert status.startswith("✓ Done") and "Gaussians" in status, status
    scene_w, scene_h = (int(v) for v in status.split(" at ", 1)[1].split(",", 1)[0].split("×"))
    assert abs(scene_w / scene_h - width / height) < 0.1 * width / height, "the scene keeps the photo's shape"


def test_a_saved_scene_uploaded_as_a_photo_is_explained(client, photos):
    scene = photos / "old.l4d.npz"
    np.savez_compressed(scene, meta=np.array(json.dumps({"format": "landscape4d-scene", "version": 1})))
    _pad, _editor, status = load(client, scene)
    assert "saved landscape4d scene" in status and "builds scenes from photos" in status, status
    assert "python -m landscape4d SCENE.l4d.npz" in status
    assert_serves_normally(client, photos)


# ---------------------------------------------------------------------------------------------------------------
# Part 1: what only the app gets


# (input, value, words of the message): every number and choice of /generate, sent as raw JSON (NaN and Infinity
# included, which gradio_client itself refuses to send).
BAD_VALUES = [
    ("seconds", float("nan"), ["Video length (s)", "not a finite number", "from 1 to 12"]),
    ("seconds", float("inf"), ["Video length (s)", "not a finite number"]),
    ("seconds", -1, ["Video length (s)", "-1 is out of range", "from 1 to 12"]),
    ("seconds", 1e9, ["Video length (s)", "out of range"]),
    ("seconds", "ten", ["Video length (s)", "'ten' is not a number"]),
    ("seconds", None, ["Video length (s)", "None is not a number"]),
    ("fps", float("nan"), ["Frames per second", "not a finite number", "from 8 to 30"]),
    ("fps", 0, ["Frames per second", "0 is out of range"]),
    ("fps", 1e6, ["Frames per second", "out of range"]),
    ("loop", float("nan"), ["Loop period (s)", "not a finite number", "from 1 to 4"]),
    ("loop", -3, ["Loop period (s)", "out of range"]),
    ("loop", float("-inf"), ["Loop period (s)", "not a finite number"]),
    ("speed", float("nan"), ["Motion speed", "not a finite number", "from 0 to 3"]),
    ("speed", -1, ["Motion speed", "out of range"]),
    ("speed", float("inf"), ["Motion speed", "not a finite number"]),
    ("resolution", "99999", ["Working resolution", "'99999' is not one of the choices", "preset, 256, 384"]),
    ("resolution", "-5", ["Working resolution", "not one of the choices"]),
    ("resolution", "nan", ["Working resolution", "not one of the choices"]),
    ("trajectory", "warp", ["Camera path", "'warp' is not one of the choices", "swing"]),
    ("quality", "ultra", ["Quality", "not one of the choices", "fast"]),
]


def test_absurd_values_name_the_control_and_its_range(server, with_scene, photos):
    photo = upload(server["url"], "values.jpg", tiny_photo(photos, "values.jpg").read_bytes())
    session = with_scene.session_hash  # the module client's session: its scene must survive every refusal
    for name, value, words in BAD_VALUES:
        event, payload = raw_generate(server["url"], photo, session, **{name: value})
        assert event == "error" and payload and payload.get("error"), (name, value, event, payload)
        assert all(w in payload["error"] for w in words), (name, value, payload["error"])
    assert_scene_kept(with_scene)
    assert_serves_normally(with_scene, photos)


@pytest.mark.parametrize(
    "arrows, words",
    [("500,10,600,20", ["Arrow 1 starts at (500, 10), outside the 96×64 photo"]),
     ("-5,10,20,10", ["outside the 96×64 photo"]),
     ("10,10,40,10; 30,30,30,30", ["zero length"]),
     ("nan,1,2,3", ["four numbers x0,y0,x1,y1"]),
     ("10,10,inf,3", ["four numbers x0,y0,x1,y1"])],
    ids=["outside", "negative", "zero-length", "nan", "inf"],
)
def test_bad_arrows_are_refused_before_any_work(with_scene, photos, arrows, words):
    with pytest.raises(AppError) as refused:
        generate(with_scene, tiny_photo(photos), arrows=arrows)
    assert str(refused.value).startswith("Arrows: ") and all(w in str(refused.value) for w in words), refused.value
    assert_scene_kept(with_scene)


def _editor(folder: Path, background: tuple[int, int], water: tuple[int, int] | None, painted: bool = True) -> dict:
    back = folder / "background.png"
    Image.new("RGB", background).save(back)
    layers = []
    for index, size in enumerate([water or background, background, background]):
        layer = folder / f"layer{index}.png"
        alpha = 255 if painted and index == 0 and water else 0
        Image.new("RGBA", size, (59, 130, 246, alpha)).save(layer)
        layers.append(handle_file(str(layer)))
    return {"background": handle_file(str(back)), "composite": handle_file(str(back)), "layers": layers}


def test_painted_layer_of_another_aspect_is_refused_and_any_size_is_accepted(with_scene, photos, tmp_path):
    photo = tiny_photo(photos)  # 96×64
    with pytest.raises(AppError) as refused:
        generate(with_scene, photo, editor=_editor(tmp_path, (96, 64), (50, 50)))
    message = str(refused.value)
    assert "painted water layer is 50×50 (aspect 1.000) but the photo is 96×64" in message, message
    assert "aspect ratio" in message, message
    assert_scene_kept(with_scene)
    # Another size with the photo's aspect ratio is fine (the editor may paint at its own size), and so is an
    # empty mask (nothing painted: the automatic regions only).
    status, *_ = generate(with_scene, photo, editor=_editor(tmp_path, (192, 128), (192, 128)))
    assert status.startswith("✓ Done"), status
    status, *_ = generate(with_scene, photo, editor=_editor(tmp_path, (96, 64), (96, 64), painted=False))
    assert status.startswith("✓ Done") and "moving" in status, status


def test_rerender_before_any_scene_says_press_generate(server, photos):
    fresh = Client(server["url"], verbose=False)
    try:
        with pytest.raises(AppError, match="There is no scene in this session yet: press Generate first"):
            fresh.predict("orbit", SECONDS, FPS, api_name="/rerender")
        assert_serves_normally(fresh, photos)
    finally:
        fresh.close()


def test_a_kept_scene_from_another_version_asks_for_a_new_build(server, with_scene, tmp_path):
    """A session whose scene file was written by another landscape4d version (a server upgraded under a long-lived
    tab): re-render reads it through the app's own path (``Scene4D.load``) and says what to do."""
    import app

    scene = next(server["sessions"].glob("*/*.l4d.npz"))  # a real scene from this module's runs
    with np.load(scene) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays["meta"]))
    newer = tmp_path / "newer.l4d.npz"
    np.savez_compressed(newer, **{**arrays, "meta": np.array(json.dumps({**meta, "version": 99}))})
    state = {"dir": str(tmp_path), "scene_path": str(newer), "size": [96, 64], "summary": "kept"}
    with pytest.raises(app.gr.Error) as refused:
        app.rerender("swing", SECONDS, FPS, state, None, None, lambda *a, **k: None)
    message = refused.value.message
    assert "newer landscape4d (scene format 99)" in message and "Press Generate to build it again" in message
    damaged = tmp_path / "damaged.l4d.npz"
    damaged.write_bytes(scene.read_bytes()[:2000])
    with pytest.raises(app.gr.Error, match="can't be read by this version"):
        app.rerender("swing", SECONDS, FPS, {**state, "scene_path": str(damaged)}, None, None, lambda *a, **k: None)


def test_a_second_upload_and_a_second_job_while_a_job_runs(server, photos):
    """A job runs; the same session uploads another photo (shown at once: light events bypass the heavy queue) and
    presses Generate again (queued behind the first: one heavy job at a time). Both jobs finish with their own
    results."""
    from gradio_client.utils import Status

    busy = Client(server["url"], verbose=False)
    try:
        first = busy.submit(handle_file(str(tiny_photo(photos, "first.jpg", (180, 120)))), None, "", "circle", 2, 8,
                            LOOP, SPEED, QUALITY, RESOLUTION, api_name="/generate")
        running = (Status.PROCESSING, Status.PROGRESS, Status.ITERATING)
        wait_for(lambda: first.status().code in (*running, Status.FINISHED), 300, "the first job to start")
        started = time.perf_counter()
        _pad, _editor, status = load(busy, tiny_photo(photos, "second.jpg"))
        shown_after = time.perf_counter() - started
        assert status.startswith("Photo **second** (96×64)"), status
        shown_while_busy = first.status().code in running
        second = busy.submit(handle_file(str(tiny_photo(photos, "second.jpg"))), None, "", TRAJECTORY, SECONDS, FPS,
                             LOOP, SPEED, QUALITY, RESOLUTION, api_name="/generate")
        first_status, first_video, *_ = first.result(timeout=600)
        second_status, second_video, *_ = second.result(timeout=600)
        print(f"upload answered in {shown_after:.1f} s; first job: {first_status[:40]}")
        assert shown_while_busy, f"the upload was answered while the job ran ({shown_after:.1f} s; {first_status})"
        assert first_status.startswith("✓ Done") and "at 180×120" in first_status, first_status
        assert second_status.startswith("✓ Done") and "at 96×64" in second_status, second_status
    finally:
        busy.close()


_DISCONNECTING_CLIENT = """
import sys
from gradio_client import Client, handle_file
from gradio_client.utils import Status
client = Client(sys.argv[1], verbose=False)
job = client.submit(handle_file(sys.argv[2]), None, "", "circle", 2, 8, 3, 1, "fast", "preset", api_name="/generate")
running = (Status.PROCESSING, Status.PROGRESS, Status.ITERATING)
while job.status().code not in (*running, Status.FINISHED):
    pass
print("RUNNING" if job.status().code in running else job.status().code.name, flush=True)
sys.stdin.read()  # killed here, mid-job
"""


def test_a_client_that_disconnects_mid_job_leaves_nothing_and_the_server_serves(server, photos):
    before = session_folders(server)
    script = photos / "disconnect.py"
    script.write_text(_DISCONNECTING_CLIENT)
    photo = tiny_photo(photos, "gone.jpg", (180, 120))
    process = subprocess.Popen([sys.executable, str(script), server["url"], str(photo)], stdout=subprocess.PIPE,
                               stdin=subprocess.PIPE, text=True, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        line = process.stdout.readline().strip()
    finally:
        process.kill()  # the client vanishes without a goodbye: its connections drop mid-job
        process.wait(timeout=30)
    assert line == "RUNNING", line
    # The server goes on: a normal job from another client runs (behind whatever the vanished one left running).
    other = Client(server["url"], verbose=False)
    try:
        status, *_ = generate(other, tiny_photo(photos))
        assert status.startswith("✓ Done"), status
        def gone() -> bool:
            return not any(any(p.glob("gone*")) or any(p.glob("files/gone*")) for p in session_folders(server))

        wait_for(gone, 120, "the vanished client's files to be removed")
        left = session_folders(server) - before
        assert all(any(p.glob("tiny*")) for p in left), "only the other client's folder is new"
        assert_serves_normally(other, photos)
    finally:
        other.close()


# ---------------------------------------------------------------------------------------------------------------
# Part 4: isolation


def _fetch(url: str, path: str) -> int:
    """The status of a GET of Gradio's file route for ``path`` (sent as written: no client-side normalisation)."""
    import httpx

    raw = url + "gradio_api/file=" + path
    with httpx.Client(timeout=60) as http:
        request = http.build_request("GET", raw)
        request.url = httpx.URL(raw)  # keep "..", "%2e%2e" and "//" exactly as an attacker would send them
        return http.send(request).status_code


def test_one_session_cannot_fetch_anothers_files_even_knowing_their_names(server, with_scene, photos):
    url, root = server["url"], server["sessions"]
    # Session A (the module's client) has a scene and its files; its share links name its folder.
    status, video, _compare, _m, _l, ply, *_rest, share = generate(with_scene, tiny_photo(photos, "private.jpg", seed=7),
                                                                   trajectory="orbit")
    assert status.startswith("✓ Done"), status
    viewer = share.split('href="', 2)[2].split('"', 1)[0].removeprefix("gradio_api/file=")
    folder = Path(viewer).parent.parent
    assert folder.parent == root and (folder / "private.l4d.npz").is_file()
    assert _fetch(url, viewer) == 200, "the owner's own link works (so the refusals below are meaningful)"
    # What session B knows: the file names (they follow the photo's name) and its own and A's session ids.
    assert with_scene.session_hash not in folder.name and len(folder.name) >= 32, "the folder is not the session id"
    names = ["private.l4d.npz", "files/private.ply", "viewer/viewer.html", "private_orbit_1.mp4"]
    other = Client(url, verbose=False)
    try:
        tries = []
        for name in names:
            tries += [
                f"{root}/{name}",
                f"{root}/{with_scene.session_hash}/{name}",  # the folder as it was named before (session id)
                f"{root}/{other.session_hash}/../{with_scene.session_hash}/{name}",
                f"{root}/{other.session_hash}/%2e%2e/{with_scene.session_hash}/{name}",
                f"{root}/anon-{server['process'].pid}-0/{name}",  # the old fallback's pattern
                f"{root}/*/{name}",
                name,
                f"../{name}",
            ]
        tries += [f"{root}", f"{root}/", f"{folder}", f"{folder}/files", str(server["temp"]), f"{REPO}/app.py",
                  f"{REPO}/README.md", f"{REPO}/examples/CREDITS.md", "/etc/passwd", f"{root}/../gradio"]
        served = [path for path in tries if _fetch(url, path) == 200]
        assert not served, served
        # Nor can B hand A's file to the app as its own input: inputs must be uploads of this server.
        event, payload = raw_generate(url, {"path": f"{folder}/private.l4d.npz", "meta": {"_type": "gradio.FileData"}},
                                      other.session_hash)
        assert event == "error", payload
        assert_serves_normally(other, photos)
    finally:
        other.close()
    assert (folder / "private.l4d.npz").is_file(), "A's files are untouched"


UPLOAD_NAMES = {
    "parent-dirs": "../../../evil-parent.jpg",
    "absolute": "/tmp/evil-absolute.jpg",
    "windows": "..\\..\\evil-windows.jpg",
    "nul-byte": "evil\x00nul.jpg",
    "300-chars": "e" * 300 + ".jpg",
    "non-ascii": "風景と湖のパノラマ写真" * 12 + ".jpg",
}


def _all_files(folder: Path) -> set[Path]:
    try:
        return {p for p in folder.rglob("*") if p.is_file()}
    except OSError:
        return set()


def test_uploaded_file_names_never_reach_a_path_unsanitised(server, photos):
    url, root = server["url"], server["root"]
    watched = [Path("/tmp"), root.parent, REPO, Path.home()]
    before = {folder: {p for p in folder.iterdir()} for folder in watched}
    session = "names-" + os.urandom(6).hex()
    for index, (case, name) in enumerate(UPLOAD_NAMES.items()):
        data = io.BytesIO()
        Image.fromarray(_landscape(96, 64, seed=index + 10)).save(data, format="JPEG")  # new bytes: a new scene
        photo = upload(url, name, data.getvalue())
        stored = Path(photo["path"]).resolve()
        assert stored.is_relative_to(server["temp"].resolve()) and stored.is_file(), (case, stored)
        event, payload = raw_generate(url, photo, session)
        assert event == "complete" and payload[0].startswith("✓ Done"), (case, event, payload)
    for folder in watched:
        new = {p for p in folder.iterdir()} - before[folder]
        assert not [p for p in new if "evil" in p.name or "風景" in p.name], new
    assert not Path("/tmp/evil-absolute.jpg").exists() and not Path("/evil-parent.jpg").exists()
    written = _all_files(root / "app")
    allowed = (server["sessions"].resolve(), server["temp"].resolve())
    assert all(p.resolve().is_relative_to(allowed[0]) or p.resolve().is_relative_to(allowed[1]) for p in written)
    # In the session's folder every name made from an upload is plain: letters, digits, '-', '_', ≤ 40 characters.
    scenes = sorted(p.name for p in server["sessions"].glob("*/*.l4d.npz") if "evil" in p.name or "風景" in p.name
                    or p.name.startswith("eeee"))
    stems = [name.removesuffix(".l4d.npz") for name in scenes]
    assert stems and all(len(s) <= 40 and all(c.isalnum() or c in "-_" for c in s) for s in stems), stems
    assert "evil_nul" in stems or "evil_00nul" in stems, stems


def test_allowed_paths_are_the_sessions_and_the_examples_only(server):
    import app

    examples = [str(e.path) for e in app.EXAMPLES] + [str(e.result) for e in app.EXAMPLES if e.result.is_file()]
    assert app.allowed_paths() == [str(app.SESSIONS_ROOT), *examples]
    assert app.launch_options()["allowed_paths"] == app.allowed_paths()
    assert str(REPO) not in app.allowed_paths() and str(REPO / "examples") not in app.allowed_paths()
    assert _fetch(server["url"], str(REPO / "examples" / "china.jpg")) == 200, "an example photo is served"
    for path in (REPO / "examples" / "CREDITS.md", REPO / "app.py", REPO / "landscape4d" / "limits.py"):
        assert _fetch(server["url"], str(path)) != 200, path


def test_session_folders_are_unguessable(monkeypatch, tmp_path):
    import app

    monkeypatch.setattr(app, "SESSIONS_ROOT", tmp_path)
    anonymous = {app._session_dir(None).name for _ in range(3)}
    assert len(anonymous) == 3 and all(len(n) >= 32 for n in anonymous), "no session id: a fresh random name each"
    assert not any(str(os.getpid()) in n or n.startswith("anon") for n in anonymous)

    class Request:
        session_hash = "abc123"

    named = app._session_dir(Request()).name
    assert named == app._session_dir(Request()).name, "one session, one folder"
    assert "abc123" not in named and len(named) == 40 and int(named, 16) >= 0
    assert "anon-" not in (REPO / "app.py").read_text()


def test_stale_sessions_are_swept_without_a_goodbye(monkeypatch, tmp_path):
    """Folders of sessions that never unloaded go after ``STALE_SESSION_S``, with Gradio's copies of their files;
    the clock is driven through the folders' times and the sweep's ``now``, never waited for."""
    import app

    monkeypatch.setattr(app, "SESSIONS_ROOT", tmp_path / "sessions")
    now = time.time()
    stale, fresh = tmp_path / "sessions" / "stale", tmp_path / "sessions" / "fresh"
    for folder in (stale, fresh):
        (folder / "files").mkdir(parents=True)
        (folder / "files" / "scene.ply").write_bytes(b"ply")
    copy = tmp_path / "gradio-cache" / "abc" / "scene.ply"  # a copy Gradio made to serve the stale session's file
    copy.parent.mkdir(parents=True)
    copy.write_bytes(b"ply")
    monkeypatch.setitem(app._CACHE_COPIES, str(stale), {str(copy)})
    old = now - app.STALE_SESSION_S - 60
    os.utime(stale, (old, old))
    assert app._sweep_stale_sessions(now) == [stale]
    assert not stale.exists() and not copy.exists() and not copy.parent.exists() and fresh.is_dir()
    # Gradio's empty upload staging files go after an hour; a recent one (an upload in flight) stays.
    cache = tmp_path / "gradio-cache"
    monkeypatch.setattr(app, "_gradio_cache", lambda: cache)
    staged, in_flight = cache / "tmpold", cache / "tmpnew"
    staged.touch()
    in_flight.touch()
    os.utime(staged, (now - 2 * app.STALE_UPLOAD_STAGING_S,) * 2)
    app._sweep_stale_sessions(now)
    assert not staged.exists() and in_flight.exists()
    # An hour later nothing changes; past the limit the other folder goes too.
    assert app._sweep_stale_sessions(now + 3600) == []
    assert app._sweep_stale_sessions(now + app.STALE_SESSION_S + 60) == [fresh] and not fresh.exists()


def test_a_job_sweeps_stale_sessions_on_the_server(server, client, photos):
    """API clients never load the page: every job sweeps too (a folder 7 h old goes, a fresh one stays)."""
    stale = server["sessions"] / "stale-session-from-yesterday"
    (stale / "files").mkdir(parents=True)
    (stale / "files" / "old.ply").write_bytes(b"ply")
    old = time.time() - 7 * 3600
    os.utime(stale, (old, old))
    status, *_ = generate(client, tiny_photo(photos))
    assert status.startswith("✓"), status
    assert not stale.exists()


# ---------------------------------------------------------------------------------------------------------------
# Part 1 in the browser: a few bad photos dropped on the page


BROWSER_CASES = ["zero-bytes", "svg", "decompression-bomb", "9-to-1"]


@pytest.mark.browser
def test_page_shows_each_bad_photos_message_and_stays_usable(browser, server, photos):  # noqa: F811
    page, errors = open_app_page(browser, server["url"])
    page.get_by_label("orbit").check()  # the visitor's other choices must survive the refusals
    for case in BROWSER_CASES:
        make, words = REFUSED[case]
        page.set_input_files("#photo input[type=file]", str(make(photos)))
        page.wait_for_function(f"document.querySelector('#status').innerText.includes({json.dumps(words[0])})",
                               polling=200)
        status = page.locator("#status").inner_text()
        assert "can't be used" in status and all(w in status for w in words), (case, status)
        assert page.locator("#generate").is_disabled(), case
        page.locator("#photo button[aria-label='Clear']").first.click()
    assert page.get_by_label("orbit").is_checked(), "the camera path chosen before is kept"
    page.set_input_files("#photo input[type=file]", str(tiny_photo(photos, "good.jpg")))
    page.locator("#arrow-pad .l4d-stage img").wait_for()
    page.wait_for_function("document.querySelector('#status').innerText.includes('Photo good')", polling=200)
    assert page.locator("#generate").is_enabled(), "a good photo after the bad ones works"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bad-photos-then-good.png"))
    assert not errors, errors
    page.close()
