"""Real viewers in a real browser: gsplat.js (the npm package, bundled in exporters/viewer), viewer.html and
gr.Model3D, in headless Debian Chromium (software WebGL), compared with the project's own renders.

Needs ``/usr/bin/chromium`` (``.ci/run`` installs Debian's ``chromium``) and pip ``playwright``; skipped otherwise.
Screenshots are kept under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from exporters import export_scene
from exporters.testing import example_scene
from exporters.viewer_html import GSPLAT_BUNDLE
from landscape4d.animate import gaussians_at

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
WIDTH, HEIGHT = 320, 240
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

if not CHROMIUM.exists():
    pytest.skip("needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs pip playwright")

# A harness page: the bundled gsplat.js used exactly as its README shows, plus an optional pinned clock for .splatv
# (every value written to the `time` uniform is replaced by ?t=...) so frames can be compared with our renders.
PROBE_HTML = """<!doctype html><html><head><meta charset="utf-8">
<style>html,body{margin:0;background:#000}canvas{display:block}</style></head>
<body><canvas id="c" style="width:%(w)dpx;height:%(h)dpx"></canvas>
<script type="module">
import * as SPLAT from "./gsplat.es.js";
const q = new URLSearchParams(location.search);
const file = q.get("file");
const canvas = document.getElementById("c");
if (q.has("t")) {
  const gl = canvas.getContext("webgl2", {antialias: false});
  const pinned = parseFloat(q.get("t")), locations = new Set();
  const getLocation = gl.getUniformLocation.bind(gl), set1f = gl.uniform1f.bind(gl);
  gl.getUniformLocation = (p, n) => { const l = getLocation(p, n); if (n === "time") locations.add(l); return l; };
  gl.uniform1f = (l, v) => set1f(l, locations.has(l) ? pinned : v);
}
const renderer = new SPLAT.WebGLRenderer(canvas, []);
const scene = new SPLAT.Scene();
const camera = new SPLAT.Camera();
camera.data.fx = %(fx)f; camera.data.fy = %(fy)f; camera.data.near = 0.01; camera.data.far = 1000;
window.frames = 0; window.errors = [];
try {
  if (file.endsWith(".splatv")) {
    renderer.addProgram(new SPLAT.VideoRenderProgram(renderer));
    await SPLAT.SplatvLoader.LoadAsync(file, scene, q.get("cam") === "file" ? camera : null, null);
  } else if (file.endsWith(".ply")) {
    await SPLAT.PLYLoader.LoadAsync(file, scene, null);
  } else {
    await SPLAT.Loader.LoadAsync(file, scene, null);
  }
} catch (e) { window.errors.push(String(e)); }
if (q.get("cam") !== "file") { camera.position = new SPLAT.Vector3(0, 0, 0); camera.rotation = new SPLAT.Quaternion(); }
window.loaded = true;
const frame = () => { renderer.render(scene, camera); window.frames++; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
</script></body></html>
"""


# --------------------------------------------------------------------------------------------- fixtures


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def scene():
    return example_scene(n=3000, seed=1, width=WIDTH, height=HEIGHT, loop_frames=60, loop_fps=30.0)


@pytest.fixture(scope="module")
def site(tmp_path_factory, scene):
    """A folder with the bundle, the probe page and every export, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("site")
    shutil.copy(GSPLAT_BUNDLE, root / "gsplat.es.js")
    K = scene.source_camera.K
    (root / "probe.html").write_text(PROBE_HTML % {"w": WIDTH, "h": HEIGHT, "fx": float(K[0, 0]), "fy": float(K[1, 1])})
    export_scene(scene, "ply", root / "scene.ply")
    export_scene(scene, "splat", root / "scene.splat")
    export_scene(scene, "splatv", root / "scene.splatv")  # also scene_viewer.zip with viewer.html (embedded)
    export_scene(scene, "splatv", root / "fetch" / "scene.splatv", embed=False)
    for folder, archive in ((root / "viewer", root / "scene_viewer.zip"), (root / "fetch", root / "fetch" / "scene_viewer.zip")):
        shutil.unpack_archive(archive, folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture(scope="module")
def reference(scene):
    """The project's own renders at viewer time t (loop phase t · N), RGB in [0, 1] on black."""
    raster = pytest.importorskip("landscape4d.raster", reason="the project's rasterizer is not available")
    cache: dict[float, np.ndarray] = {}

    def render(t: float) -> np.ndarray:
        if t not in cache:
            state = gaussians_at(scene, t * scene.loop_frames)
            out = raster.rasterize_gaussians(state.gaussians, scene.source_camera, background=torch.zeros(3))
            cache[t] = out.rgb.clamp(0, 1).numpy().astype(np.float64)
            save(cache[t], f"reference_t{t:.2f}.png")
        return cache[t]

    return render


@pytest.fixture(scope="module")
def moving_region(reference):
    """[H,W] bool: pixels that change during the loop in our renders, grown by 4 px."""
    base = reference(0.0)
    changed = np.zeros(base.shape[:2], dtype=bool)
    for t in (0.2, 0.4, 0.6, 0.8):
        changed |= np.abs(reference(t) - base).max(axis=-1) > 4 / 255
    grown = Image.fromarray(changed.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(9))
    region = np.asarray(grown) > 0
    assert 0.05 < region.mean() < 0.7  # the example scene's water is a band at the bottom
    return region


# ---------------------------------------------------------------------------------------------- helpers


def save(image: np.ndarray, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(ARTIFACTS / name)


def png_to_array(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    if image.mode == "RGBA":  # a canvas read back un-premultiplied: composite over black
        rgba = np.asarray(image).astype(np.float64) / 255.0
        return rgba[..., :3] * rgba[..., 3:]
    return np.asarray(image.convert("RGB")).astype(np.float64) / 255.0


def wait_stable(grab, name: str, settle: float = 0.6, timeout: float = 60.0) -> np.ndarray:
    """Grab images until two in a row are identical (data uploaded, workers sorted), then save and return it."""
    deadline = time.monotonic() + timeout
    previous = grab()
    while True:
        time.sleep(settle)
        current = grab()
        if np.array_equal(current, previous) and current.max() > 0:
            save(current, name)
            return current
        if time.monotonic() > deadline:
            save(current, name)
            raise AssertionError(f"{name}: the canvas never settled within {timeout:.0f} s")
        previous = current


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean absolute difference, correlation) after a 1-px blur that forgives sub-pixel differences."""

    def blur(x: np.ndarray) -> np.ndarray:
        image = Image.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
        return np.asarray(image).astype(np.float64) / 255.0

    a, b = blur(a), blur(b)
    return float(np.abs(a - b).mean()), float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def assert_looks_like(shot: np.ndarray, ref: np.ndarray, label: str, mad: float = 0.025, corr: float = 0.98) -> None:
    background = shot.max(axis=-1) < 2 / 255
    assert (~background).mean() > 0.5, f"{label}: the canvas is mostly background"
    d, c = similarity(shot, ref)
    assert d < mad and c > corr, f"{label}: mean |diff| {d:.4f} (limit {mad}), correlation {c:.4f} (limit {corr})"


def assert_moves_only_in(a: np.ndarray, b: np.ndarray, region: np.ndarray, label: str) -> None:
    changed = np.abs(a - b).max(axis=-1) > 8 / 255
    inside, outside = changed[region].mean(), changed[~region].mean()
    assert inside > 0.05, f"{label}: only {inside:.1%} of the moving region changed"
    assert outside < 0.003, f"{label}: {outside:.2%} of the static region changed"


def open_probe(page, base: str, query: str) -> None:
    page.goto(f"{base}/probe.html?{query}")
    page.wait_for_function("window.loaded && window.frames > 10", timeout=90_000)
    assert page.evaluate("window.errors") == [] and page.errors == []


def probe_shot(page):
    return lambda: png_to_array(page.locator("#c").screenshot())


# ---------------------------------------------------------------------------------------------- gsplat.js


@pytest.mark.parametrize("name", ["scene.ply", "scene.splat"])
def test_static_formats_in_gsplat_js(page, site, reference, name):
    _, base = site
    open_probe(page, base, f"file={name}")
    shot = wait_stable(probe_shot(page), f"gsplat_{name}.png")
    assert_looks_like(shot, reference(0.0), name)


def test_splatv_in_gsplat_js_matches_the_loop(page, site, reference):
    _, base = site
    for t in (0.0, 0.5):
        # cam=file: the viewpoint comes from the camera stored in the .splatv header.
        open_probe(page, base, f"file=scene.splatv&cam=file&t={t}")
        shot = wait_stable(probe_shot(page), f"gsplat_splatv_t{t:.2f}.png")
        assert_looks_like(shot, reference(t), f"splatv at t={t}")
        if t > 0:  # the frame is the one of its own time, not another
            assert similarity(shot, reference(t))[0] < similarity(shot, reference(0.0))[0] - 0.005


def test_splatv_stock_clock_moves_only_where_the_scene_moves(page, site, moving_region):
    """gsplat.js's own (ping-pong) clock: frames differ in the water band and nowhere else."""
    _, base = site
    open_probe(page, base, "file=scene.splatv&cam=file")
    time.sleep(3.0)  # data upload and first depth sort
    grab = probe_shot(page)
    shots = []
    for _ in range(3):
        shots.append(grab())
        time.sleep(1.2)  # of three shots 1.2 s apart, two always differ under sin(now)
    for i, shot in enumerate(shots):
        save(shot, f"gsplat_splatv_stock_{i}.png")
    pairs = [(a, b) for i, a in enumerate(shots) for b in shots[i + 1 :]]
    a, b = max(pairs, key=lambda p: np.abs(p[0] - p[1]).mean())
    assert_moves_only_in(a, b, moving_region, "stock clock")


# ---------------------------------------------------------------------------------------------- viewer.html


def viewer_grab(page):
    def grab() -> np.ndarray:
        url = page.evaluate("document.getElementById('canvas').toDataURL('image/png')")
        return png_to_array(base64.b64decode(url.split(",", 1)[1]))

    return grab


def open_viewer(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.landscape4d && (window.landscape4d.ready || window.landscape4d.error)", timeout=90_000)
    assert page.evaluate("window.landscape4d.error") is None and page.errors == []
    page.wait_for_function("window.landscape4d.frames > 5", timeout=60_000)


def frames_after(page, count: int = 3) -> None:
    start = page.evaluate("window.landscape4d.frames")
    page.wait_for_function(f"window.landscape4d.frames >= {start + count}", timeout=60_000)


def test_viewer_html_offline_from_disk(page, site, scene, reference, moving_region):
    root, _ = site
    html = root / "viewer" / "viewer.html"
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    open_viewer(page, html.as_uri() + "?paused=1&t=0")
    assert all(url.startswith(("file:", "blob:", "data:")) for url in requests), requests  # no network
    grab = viewer_grab(page)

    # Starts at the photo's viewpoint, showing the loop at the pinned phase.
    assert_looks_like(wait_stable(grab, "viewer_t0.00.png"), reference(0.0), "viewer t=0")
    page.evaluate("window.landscape4d.setPhase(0.5)")
    frames_after(page)
    assert_looks_like(wait_stable(grab, "viewer_t0.50.png"), reference(0.5), "viewer t=0.5")

    # Paused: nothing changes.
    before = grab()
    time.sleep(0.8)
    frames_after(page)
    assert page.evaluate("window.landscape4d.phase()") == 0.5
    np.testing.assert_array_equal(grab(), before)

    # Play (the button): the clock runs forward and wraps at the loop period.
    page.click("#play")
    assert page.evaluate("window.landscape4d.playing()")
    samples = []
    for _ in range(8):
        samples.append((time.monotonic(), page.evaluate("window.landscape4d.phase()")))
        time.sleep(0.35)
    steps = [((p1 - p0) % 1.0, t1 - t0) for (t0, p0), (t1, p1) in zip(samples, samples[1:])]
    assert all(0 < dp < 0.5 for dp, _ in steps), steps  # always forwards, never a backwards jump
    rate = sum(dp for dp, _ in steps) / sum(dt for _, dt in steps)
    assert rate == pytest.approx(1 / scene.period_s, rel=0.35)
    wrapped = any(p1 < p0 for (_, p0), (_, p1) in zip(samples, samples[1:]))
    assert wrapped  # 2.8 s of a 2 s loop

    # Consecutive frames while playing differ where the water is and nowhere else ...
    first = grab()
    time.sleep(0.5)
    frames_after(page)
    second = grab()
    save(first, "viewer_playing_a.png")
    save(second, "viewer_playing_b.png")
    assert_moves_only_in(first, second, moving_region, "viewer.html playing")
    # ... and so do two frames at chosen phases.
    page.evaluate("window.landscape4d.pause(); window.landscape4d.setPhase(0.1)")
    frames_after(page)
    a = wait_stable(grab, "viewer_play_a.png")
    page.evaluate("window.landscape4d.setPhase(0.35)")
    frames_after(page)
    b = wait_stable(grab, "viewer_play_b.png")
    assert_moves_only_in(a, b, moving_region, "viewer.html")

    # Speed slider: half speed halves the clock rate.
    page.locator("#speed").fill("0.5")
    assert page.evaluate("window.landscape4d.playing()") is False
    page.click("#play")
    p0, t0 = page.evaluate("window.landscape4d.phase()"), time.monotonic()
    time.sleep(1.0)
    p1, t1 = page.evaluate("window.landscape4d.phase()"), time.monotonic()
    assert ((p1 - p0) % 1.0) / (t1 - t0) == pytest.approx(0.5 / scene.period_s, rel=0.4)
    assert page.locator("#speed-label").inner_text() == "0.50×"

    # Mouse orbit and zoom move the camera: the static part of the picture changes too.
    page.evaluate("window.landscape4d.pause()")
    frames_after(page)
    still = wait_stable(grab, "viewer_before_orbit.png")
    page.mouse.move(160, 100)
    page.mouse.down()
    page.mouse.move(220, 110, steps=5)
    page.mouse.up()
    page.mouse.wheel(0, 300)
    time.sleep(1.0)
    moved = wait_stable(grab, "viewer_after_orbit.png")
    assert (np.abs(moved - still).max(axis=-1)[~moving_region] > 8 / 255).mean() > 0.2


def test_viewer_html_fetches_the_splatv_beside_it(page, site, reference):
    root, base = site
    open_viewer(page, f"{base}/fetch/viewer.html?paused=1&t=0")
    assert_looks_like(wait_stable(viewer_grab(page), "viewer_fetch.png"), reference(0.0), "viewer fetch")


def test_viewer_html_opened_from_disk_without_embedding_offers_a_file_picker(page, site):
    root, _ = site
    page.goto((root / "fetch" / "viewer.html").as_uri() + "?paused=1")
    page.wait_for_function("window.landscape4d && window.landscape4d.error", timeout=60_000)
    assert page.locator("#picker").is_visible()
    page.set_input_files("#file", str(root / "fetch" / "scene.splatv"))
    page.wait_for_function("window.landscape4d.ready", timeout=60_000)
    page.wait_for_function("window.landscape4d.frames > 5", timeout=60_000)
    assert wait_stable(viewer_grab(page), "viewer_picked.png").max() > 0


# --------------------------------------------------------------------------------------------- gr.Model3D


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gradio_model3d_shows_ply_and_splat(browser, site):
    for key, value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1")):
        os.environ.setdefault(key, value)
    gr = pytest.importorskip("gradio")
    root, _ = site
    with gr.Blocks() as demo:
        gr.Model3D(value=str(root / "scene.ply"), label="ply", elem_id="model-ply", height=300)
        gr.Model3D(value=str(root / "scene.splat"), label="splat", elem_id="model-splat", height=300)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, allowed_paths=[str(root)])
    context = browser.new_context(viewport={"width": 900, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
        for key in ("ply", "splat"):
            canvas = page.locator(f"#model-{key} canvas").first
            canvas.wait_for(state="visible", timeout=90_000)
            deadline = time.monotonic() + 60
            while True:
                time.sleep(1.0)
                shot = png_to_array(canvas.screenshot())
                colours, counts = np.unique((shot * 255).round().reshape(-1, 3), axis=0, return_counts=True)
                background = colours[counts.argmax()]
                content = (np.abs(shot * 255 - background).max(axis=-1) > 12).mean()
                if content > 0.05 or time.monotonic() > deadline:
                    break
            save(shot, f"gradio_model3d_{key}.png")
            assert content > 0.05, f"gr.Model3D {key}: only {content:.1%} of the canvas differs from its background"
    finally:
        context.close()
        demo.close()
