"""Real viewers in a real browser: gsplat.js (the npm package, bundled in exporters/viewer), viewer.html and
gr.Model3D, in headless Debian Chromium (software WebGL), compared with the project's own renders.

Needs ``/usr/bin/chromium`` (``.ci/run`` installs Debian's ``chromium``) and pip ``playwright``; skipped otherwise.
Screenshots are kept under ``test-artifacts/browser/``.

Nothing here sleeps to wait for a picture. Every page of these tests runs under HARNESS_JS (an init script): a clock
that only the test moves (``Date.now``, ``performance.now`` and requestAnimationFrame timestamps all read it), and
gsplat.js's web workers instrumented so that the page knows when the depth sort it last asked for has come back.
A test waits for that (``__harness.settled()``) and then for frames the page has drawn since (its own frame counter),
and reads the pixels of a drawn frame; the probe page hands over the frame it has just rendered (``capture()``).
"""

from __future__ import annotations

import contextlib

import base64
import functools
import http.server
import io
import math
import os
import shutil
import socket
import threading
import json
import time
import zipfile
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

# Installed in every page of the gsplat.js probe and viewer.html tests before the page's own scripts run.
#
# The clock: one number of milliseconds, moved only by the test (setClock / advance). Date.now (gsplat.js's stock
# .splatv clock), performance.now and the timestamps requestAnimationFrame callbacks get (viewer.html's clock) read it.
#
# The depth sort: gsplat.js sorts splats in a web worker that answers a `sortData` message (new splats) or a changed
# `viewProj` (a moved camera) with a `depthIndex`, asynchronously. Each worker is started from its own source with a
# prologue that stamps every message it sends with the number of messages it had received by then; the page keeps,
# per worker, the number of the last message that asked for a new sort (mirroring the worker's own test for a
# changed camera). settled() is true once every worker that has splats has answered its last request and no splat
# packing is pending: from the next drawn frame on, the canvas shows the final sort.
HARNESS_JS = r"""
(() => {
  if (window.__harness) return;
  let now = 1000;
  const workers = new Set();
  let marks = 0;
  const harness = window.__harness = {
    errors: [],
    dataPending: 0,
    now: () => now,
    setClock: (ms) => { now = Number(ms); return now; },
    advance: (ms) => { now += Number(ms); return now; },
    settled: () => {
      if (harness.dataPending !== 0) return false;
      const sorting = [...workers].filter((w) => w.hasSplats);
      return sorting.length > 0 && sorting.every((w) => w.answered >= w.asked);
    },
    // For a camera still creeping: mark() notes each worker's last request; sortedSince(mark) is true once those
    // (not necessarily later ones) have been answered.
    mark: () => { marks++; workers.forEach((w) => { w.marks[marks] = w.asked; }); return marks; },
    sortedSince: (mark) => {
      if (harness.dataPending !== 0) return false;
      const sorting = [...workers].filter((w) => w.hasSplats);
      return sorting.length > 0 && sorting.every((w) => w.answered >= (w.marks[mark] ?? w.asked));
    },
    describe: () => JSON.stringify({
      now, dataPending: harness.dataPending, errors: harness.errors,
      workers: [...workers].map(({hasSplats, posted, asked, answered}) => ({hasSplats, posted, asked, answered})),
    }),
  };
  Date.now = () => now;
  performance.now = () => now;
  const requestFrame = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => requestFrame(() => callback(now));

  const PROLOGUE = "{ let received = 0; self.addEventListener('message', () => { received++; });" +
    " const post = self.postMessage.bind(self); self.postMessage = (message, transfer) => {" +
    " if (message && typeof message === 'object') message.__received = received; return post(message, transfer); }; }\n";
  const utf8 = new TextEncoder(), text = new TextDecoder();
  function sourceOf(url) {
    if (url.startsWith("data:")) {
      const comma = url.indexOf(","), meta = url.slice(5, comma), body = url.slice(comma + 1);
      if (!meta.endsWith(";base64")) return decodeURIComponent(body);
      return text.decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0)));
    }
    const request = new XMLHttpRequest();  // a blob: URL the page made: read back synchronously
    request.open("GET", url, false);
    request.send();
    return request.responseText;
  }
  function instrumented(url) {
    const source = PROLOGUE + sourceOf(url);
    if (!url.startsWith("data:")) return URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
    const bytes = utf8.encode(source);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return "data:text/javascript;base64," + btoa(binary);
  }
  const NativeWorker = window.Worker;
  const HarnessWorker = function (url, options) {
    url = String(url);
    let worker;
    try {
      worker = new NativeWorker(instrumented(url), options);
    } catch (error) {
      harness.errors.push("could not instrument a worker: " + error);
      return new NativeWorker(url, options);
    }
    const tracked = {worker, hasSplats: false, posted: 0, asked: 0, answered: -1, camera: [], marks: {}};
    workers.add(tracked);
    const post = worker.postMessage.bind(worker), terminate = worker.terminate.bind(worker);
    worker.postMessage = (message, transfer) => {
      tracked.posted++;
      if (message && message.sortData) { tracked.hasSplats = true; tracked.asked = tracked.posted; }
      if (message && message.viewProj) {
        const camera = Array.from(message.viewProj);  // the worker re-sorts when this test fails
        if (!camera.every((v) => tracked.camera.includes(v))) { tracked.camera = camera; tracked.asked = tracked.posted; }
      }
      if (message && message.splat) harness.dataPending++;
      return post(message, transfer);
    };
    worker.terminate = () => { workers.delete(tracked); return terminate(); };
    worker.addEventListener("message", (event) => {
      const data = event.data;
      if (!data || typeof data !== "object") return;
      if (data.depthIndex) tracked.answered = Math.max(tracked.answered, data.__received);
      if (data.response) harness.dataPending--;
    });
    return worker;
  };
  HarnessWorker.prototype = NativeWorker.prototype;
  window.Worker = HarnessWorker;
})();
"""

# A harness page: the bundled gsplat.js used exactly as its README shows, plus an optional pinned clock for .splatv
# (every value written to the `time` uniform is replaced by ?t=...) so frames can be compared with our renders.
# window.drawn counts rendered frames; capture() resolves with the pixels of the next frame right after it is drawn.
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
const gl = canvas.getContext("webgl2");  // the renderer's own context
const scene = new SPLAT.Scene();
const camera = new SPLAT.Camera();
camera.data.fx = %(fx)f; camera.data.fy = %(fy)f; camera.data.near = 0.01; camera.data.far = 1000;
window.drawn = 0; window.errors = [];
const captures = [];
window.capture = () => new Promise((resolve) => captures.push(resolve));
function readFrame() {
  // The drawing buffer of the frame just rendered (premultiplied RGBA, bottom row first), as base64.
  const width = canvas.width, height = canvas.height, pixels = new Uint8Array(width * height * 4);
  gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  let binary = "";
  for (let i = 0; i < pixels.length; i += 0x8000) binary += String.fromCharCode(...pixels.subarray(i, i + 0x8000));
  return {width, height, frame: window.drawn, rgba: btoa(binary)};
}
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
const frame = () => {
  renderer.render(scene, camera);
  window.drawn++;
  if (captures.length) { const shot = readFrame(); captures.splice(0).forEach((resolve) => resolve(shot)); }
  requestAnimationFrame(frame);
};
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


@contextlib.contextmanager
def harnessed_page(browser, width: int, height: int):
    """A page of ``width``×``height`` CSS px with the test harness (pinned clock, frame counters) and its errors."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    context.add_init_script(HARNESS_JS)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser):
    with harnessed_page(browser, WIDTH, HEIGHT) as page:
        yield page


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


PROBE_FRAMES = "window.drawn"  # frames the probe page has rendered
VIEWER_FRAMES = "window.landscape4d.frames"  # frames viewer.html has rendered


def wait_frames(page, counter: str, count: int = 2) -> None:
    """Wait until the page has drawn ``count`` more frames (its own counter, incremented after each render)."""
    start = page.evaluate(counter)
    page.wait_for_function(f"{counter} >= {start + count}", timeout=60_000)


def wait_settled(page, timeout: float) -> None:
    """Wait until the last depth sort the page asked gsplat.js for has come back (see HARNESS_JS)."""
    try:
        page.wait_for_function("window.__harness.settled()", timeout=max(timeout, 1.0) * 1000)
    except sync_api.TimeoutError:
        raise AssertionError(f"the depth sort never settled: {page.evaluate('window.__harness.describe()')}") from None


def settled_grab(page, grab, counter: str, name: str, timeout: float = 90.0) -> np.ndarray:
    """The picture once the page has settled: every depth sort it asked for applied, then frames drawn after that.

    Confirms it: two grabs, two drawn frames apart and each after a settled sort, must be identical (and not blank);
    grabs again (frame by frame, no sleeping) until they are, or fails after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    previous = None
    while True:
        wait_settled(page, deadline - time.monotonic())
        wait_frames(page, counter, 2)
        current = grab()
        if previous is not None and np.array_equal(current, previous) and current.max() > 0:
            save(current, name)
            assert page.evaluate("window.__harness.errors") == []
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
    page.wait_for_function(f"window.loaded && {PROBE_FRAMES} > 0", timeout=90_000)
    assert page.evaluate("window.errors") == [] and page.errors == []


def probe_grab(page):
    """The pixels of the next frame the probe page draws, read back right after drawing it (composited on black)."""

    def grab() -> np.ndarray:
        shot = page.evaluate("window.capture()")
        rgba = np.frombuffer(base64.b64decode(shot["rgba"]), dtype=np.uint8).reshape(shot["height"], shot["width"], 4)
        return rgba[::-1, :, :3].astype(np.float64) / 255.0  # premultiplied: the RGB shown over black

    return grab


def stock_clock_ms(t: float, falling: bool = False) -> float:
    """A Date.now() (ms) at which gsplat.js's stock .splatv clock, sin(now / 1000) / 2 + 1 / 2, reads t."""
    angle = math.asin(2 * t - 1)
    return 1000 * (math.pi - angle if falling else angle)


# ---------------------------------------------------------------------------------------------- gsplat.js


@pytest.mark.parametrize("name", ["scene.ply", "scene.splat"])
def test_static_formats_in_gsplat_js(page, site, reference, name):
    _, base = site
    open_probe(page, base, f"file={name}")
    shot = settled_grab(page, probe_grab(page), PROBE_FRAMES, f"gsplat_{name}.png")
    assert_looks_like(shot, reference(0.0), name)


def test_splatv_in_gsplat_js_matches_the_loop(page, site, reference):
    _, base = site
    for t in (0.0, 0.5):
        # cam=file: the viewpoint comes from the camera stored in the .splatv header.
        open_probe(page, base, f"file=scene.splatv&cam=file&t={t}")
        shot = settled_grab(page, probe_grab(page), PROBE_FRAMES, f"gsplat_splatv_t{t:.2f}.png")
        assert_looks_like(shot, reference(t), f"splatv at t={t}")
        if t > 0:  # the frame is the one of its own time, not another
            assert similarity(shot, reference(t))[0] < similarity(shot, reference(0.0))[0] - 0.005


def test_splatv_stock_clock_moves_only_where_the_scene_moves(page, site, reference, moving_region):
    """gsplat.js's own (ping-pong) clock, driven through Date.now: frames differ in the water band and nowhere else,
    show the loop at the clock's phase, and come back to the same picture on the way back."""
    _, base = site
    open_probe(page, base, "file=scene.splatv&cam=file")
    grab = probe_grab(page)
    shots = {}
    for label, ms in (("t0.00", stock_clock_ms(0.0)), ("t0.50", stock_clock_ms(0.5)),
                      ("t0.50_back", stock_clock_ms(0.5, falling=True))):
        page.evaluate("ms => window.__harness.setClock(ms)", ms)
        shots[label] = settled_grab(page, grab, PROBE_FRAMES, f"gsplat_splatv_stock_{label}.png")
    assert_moves_only_in(shots["t0.00"], shots["t0.50"], moving_region, "stock clock")
    assert_looks_like(shots["t0.00"], reference(0.0), "stock clock at t=0")
    assert_looks_like(shots["t0.50"], reference(0.5), "stock clock at t=0.5")
    np.testing.assert_array_equal(shots["t0.50_back"], shots["t0.50"])  # ping-pong: the same phase, the same frame


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
    page.wait_for_function(f"{VIEWER_FRAMES} > 5", timeout=60_000)


def frames_after(page, count: int = 3) -> None:
    wait_frames(page, VIEWER_FRAMES, count)


def advance_clock(page, ms: float) -> None:
    """Move the page's clock forward by ``ms`` and wait for a frame drawn after that (the viewer read the clock)."""
    start = page.evaluate(f"ms => {{ window.__harness.advance(ms); return {VIEWER_FRAMES}; }}", ms)
    page.wait_for_function(f"{VIEWER_FRAMES} > {start}", timeout=60_000)


def phase(page) -> float:
    return page.evaluate("window.landscape4d.phase()")


def wait_camera_still(page, atol: float = 1e-3, timeout: float = 180.0) -> None:
    """Wait (frame by frame) until the orbit controls' damped camera moves less than ``atol`` in 5 frames.

    The damping (12 % of the way each frame) only reaches a float fixpoint after a few hundred frames; 1e-3 is about
    a third of a pixel here.
    """
    deadline = time.monotonic() + timeout
    before = page.evaluate("window.landscape4d.camera()")
    while True:
        frames_after(page, 5)
        after = page.evaluate("window.landscape4d.camera()")
        flat = [np.concatenate([c["position"], c["rotation"]]) for c in (before, after)]
        if np.allclose(*flat, rtol=0, atol=atol):
            return
        assert time.monotonic() < deadline, f"the camera never came to rest: {before} → {after}"
        before = after


def test_viewer_html_offline_from_disk(page, site, scene, reference, moving_region):
    root, _ = site
    html = root / "viewer" / "viewer.html"
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    open_viewer(page, html.as_uri() + "?paused=1&t=0")
    assert all(url.startswith(("file:", "blob:", "data:")) for url in requests), requests  # no network
    grab = viewer_grab(page)
    period = scene.period_s

    # Starts at the photo's viewpoint, showing the loop at the pinned phase.
    assert_looks_like(settled_grab(page, grab, VIEWER_FRAMES, "viewer_t0.00.png"), reference(0.0), "viewer t=0")
    page.evaluate("window.landscape4d.setPhase(0.5)")
    frames_after(page)
    assert_looks_like(settled_grab(page, grab, VIEWER_FRAMES, "viewer_t0.50.png"), reference(0.5), "viewer t=0.5")

    # Paused: the clock runs on, the picture does not change.
    before = grab()
    advance_clock(page, 800)
    frames_after(page)
    assert phase(page) == 0.5
    np.testing.assert_array_equal(grab(), before)

    # Play (the button): the phase follows the clock forwards at 1 / period and wraps at the loop period.
    page.click("#play")
    assert page.evaluate("window.landscape4d.playing()")
    phases = [phase(page)]
    for _ in range(8):  # 8 × 0.35 s = 2.8 s of a 2 s loop
        advance_clock(page, 350)
        phases.append(phase(page))
    steps = [(p1 - p0) % 1.0 for p0, p1 in zip(phases, phases[1:])]
    assert steps == pytest.approx([0.35 / period] * 8, rel=1e-6), phases  # always forwards, at the loop's rate
    assert all(0 <= p < 1 for p in phases) and any(p1 < p0 for p0, p1 in zip(phases, phases[1:])), phases  # wraps

    # Consecutive frames while playing differ where the water is and nowhere else ...
    first = grab()
    advance_clock(page, 500)
    second = grab()
    save(first, "viewer_playing_a.png")
    save(second, "viewer_playing_b.png")
    assert_moves_only_in(first, second, moving_region, "viewer.html playing")
    # ... and so do two frames at chosen phases.
    page.evaluate("window.landscape4d.pause(); window.landscape4d.setPhase(0.1)")
    frames_after(page)
    a = settled_grab(page, grab, VIEWER_FRAMES, "viewer_play_a.png")
    page.evaluate("window.landscape4d.setPhase(0.35)")
    frames_after(page)
    b = settled_grab(page, grab, VIEWER_FRAMES, "viewer_play_b.png")
    assert_moves_only_in(a, b, moving_region, "viewer.html")

    # Speed slider: half speed halves the clock rate.
    page.locator("#speed").fill("0.5")
    assert page.evaluate("window.landscape4d.playing()") is False
    page.click("#play")
    p0 = phase(page)
    advance_clock(page, 800)
    p1 = phase(page)
    assert (p1 - p0) % 1.0 == pytest.approx(0.5 * 0.8 / period, rel=1e-6)
    assert page.locator("#speed-label").inner_text() == "0.50×"

    # Mouse orbit and zoom move the camera: the static part of the picture changes too.
    page.evaluate("window.landscape4d.pause()")
    frames_after(page)
    still = settled_grab(page, grab, VIEWER_FRAMES, "viewer_before_orbit.png")
    page.evaluate("window.__wheels = 0; window.addEventListener('wheel', () => window.__wheels++, {capture: true})")
    page.mouse.move(160, 100)
    page.mouse.down()
    page.mouse.move(220, 110, steps=5)
    page.mouse.up()
    page.mouse.wheel(0, 300)
    page.wait_for_function("window.__wheels > 0", timeout=60_000)
    wait_camera_still(page)
    mark = page.evaluate("window.__harness.mark()")  # the sort for the camera as it is now, then frames drawn after
    page.wait_for_function(f"window.__harness.sortedSince({mark})", timeout=60_000)
    frames_after(page, 2)
    moved = grab()
    save(moved, "viewer_after_orbit.png")
    assert (np.abs(moved - still).max(axis=-1)[~moving_region] > 8 / 255).mean() > 0.2


def test_viewer_html_fetches_the_splatv_beside_it(page, site, reference):
    root, base = site
    open_viewer(page, f"{base}/fetch/viewer.html?paused=1&t=0")
    shot = settled_grab(page, viewer_grab(page), VIEWER_FRAMES, "viewer_fetch.png")
    assert_looks_like(shot, reference(0.0), "viewer fetch")


def test_viewer_html_opened_from_disk_without_embedding_offers_a_file_picker(page, site):
    root, _ = site
    page.goto((root / "fetch" / "viewer.html").as_uri() + "?paused=1")
    page.wait_for_function("window.landscape4d && window.landscape4d.error", timeout=60_000)
    assert page.locator("#picker").is_visible()
    page.set_input_files("#file", str(root / "fetch" / "scene.splatv"))
    page.wait_for_function("window.landscape4d.ready", timeout=60_000)
    page.wait_for_function(f"{VIEWER_FRAMES} > 5", timeout=60_000)
    assert settled_grab(page, viewer_grab(page), VIEWER_FRAMES, "viewer_picked.png").max() > 0


# --------------------------------------------------------------------------------------------- gr.Model3D


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def next_frames(page, count: int) -> None:
    """Wait for ``count`` animation frames of the page (requestAnimationFrame fires once per frame it draws)."""
    page.evaluate(
        "count => new Promise(done => { const step = n => n ? requestAnimationFrame(() => step(n - 1)) : done(); step(count); })",
        count,
    )


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
            deadline = time.monotonic() + 180  # a bound on a failing run, not a wait
            while True:
                next_frames(page, 3)  # drawn frames, not wall-clock time, between looks
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


# ------------------------------------------------------------------------------ 1920×1080, default viewer settings
#
# A real scene (examples/china.jpg built at 128 px: photo, border ring, inpainted layers, moving water) seen at
# 1920×1080 from its source camera, 15× its working resolution: the scene's own splats break into dots there; the
# exports' footprints (exporters/footprint.py) must render gap-free. Each viewer runs with its default settings and
# is compared with our own render (the CPU rasterizer) of the same camera and the same splats:
# PSNR ≥ 28 dB and ≤ 0.5 % page-coloured (gap) pixels. The page is black in every viewer here, so a gap pixel is
# one where the viewer shows less than half of what our render shows there (see gap_share).
#
# Spark (@sparkjsdev/spark + three, from node_modules: `npm ci`) draws on demand: the page renders when the test
# asks and counts Spark's onDirty calls (a finished depth sort); a picture is taken once two renders, with every
# sort applied, are identical. Software WebGL takes about 2 s a 1920×1080 frame here.

HD_W, HD_H = 1920, 1080
NODE_MODULES = REPO / "node_modules"
PSNR_MIN_DB, GAP_MAX = 28.0, 0.005

SPARK_HTML = """<!doctype html><html><head><meta charset="utf-8">
<style>html,body{margin:0;background:#000}canvas{display:block}</style>
<script type="importmap">{"imports":{"three":"./node_modules/three/build/three.module.js",
"three/addons/":"./node_modules/three/examples/jsm/","@sparkjsdev/spark":"./node_modules/@sparkjsdev/spark/dist/spark.module.js"}}</script>
</head><body><canvas id="c"></canvas>
<script type="module">
import * as THREE from "three";
import { SparkRenderer, SplatMesh } from "@sparkjsdev/spark";
const q = new URLSearchParams(location.search);
const W = +q.get("w"), H = +q.get("h"), fy = +q.get("fy");
const canvas = document.getElementById("c");
window.errors = []; window.dirty = 0; window.drawn = 0;
const renderer = new THREE.WebGLRenderer({canvas, antialias: false, preserveDrawingBuffer: true});
renderer.setPixelRatio(1); renderer.setSize(W, H, false);
const scene = new THREE.Scene();
scene.add(new SparkRenderer({renderer, onDirty: () => { window.dirty++; }}));  // default rendering settings
const camera = new THREE.PerspectiveCamera(2 * Math.atan(H / 2 / fy) * 180 / Math.PI, W / H, 0.01, 1000);
if (q.has("pose")) {  // camera-to-world, column-major, in three.js axes (see spark_pose)
  new THREE.Matrix4().fromArray(q.get("pose").split(",").map(Number)).decompose(camera.position, camera.quaternion, new THREE.Vector3());
}
try {
  const mesh = new SplatMesh({url: q.get("file")});
  await mesh.initialized;
  // .ply/.splat hold OpenCV axes (y down, z forward): the usual flip, 180° about x. .spz holds RUB: as stored.
  if (q.get("flip") === "1") mesh.quaternion.set(1, 0, 0, 0);
  scene.add(mesh);
  window.count = mesh.packedSplats.numSplats;
} catch (e) { window.errors.push(String(e)); }
const gl = renderer.getContext();
window.draw = () => {
  renderer.render(scene, camera);
  window.drawn++;
  const pixels = new Uint8Array(W * H * 4);
  gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  let binary = "";
  for (let i = 0; i < pixels.length; i += 0x8000) binary += String.fromCharCode(...pixels.subarray(i, i + 0x8000));
  return {dirty: window.dirty, rgba: btoa(binary)};
};
window.loaded = true;
</script></body></html>
"""


@pytest.fixture(scope="module")
def hd():
    """The 128-px scene, its export-ready form (what the files hold) and a served folder with every export."""
    if not (NODE_MODULES / "@sparkjsdev" / "spark").exists() or not (NODE_MODULES / "three").exists():
        pytest.skip("needs the project's npm packages (run `npm ci` in the repository root; .ci/run does)")
    from landscape4d import Settings, build
    from exporters.footprint import export_ready, window_camera

    scene = build(REPO / "examples" / "china.jpg", Settings(long_side=128, device="cpu")).scene
    ready = export_ready(scene)
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="hd-site-"))
    (root / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    shutil.copy(GSPLAT_BUNDLE, root / "gsplat.es.js")
    (root / "spark.html").write_text(SPARK_HTML)
    cover = window_camera(scene.source_camera, HD_W, HD_H)
    contain = window_camera(scene.source_camera, HD_W, HD_H, cover=False)
    (root / "probe.html").write_text(PROBE_HTML % {"w": HD_W, "h": HD_H, "fx": float(cover.K[0, 0]), "fy": float(cover.K[1, 1])})
    (root / "settings.json").write_text(json.dumps(supersplat_settings(cover)))
    stats = {}
    for fmt in ("ply", "compressed_ply", "splat", "spz", "splatv", "sequence"):
        stats[fmt] = export_scene(scene, fmt, root).stats
    shutil.unpack_archive(root / "scene_viewer.zip", root / "viewer")
    with zipfile.ZipFile(root / "scene.zip") as archive:
        (root / "frame0001.compressed.ply").write_bytes(archive.read("frame0001.compressed.ply"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"scene": scene, "ready": ready, "root": root, "base": f"http://127.0.0.1:{server.server_address[1]}",
           "cover": cover, "contain": contain, "stats": stats}
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def hd_page(browser):
    with harnessed_page(browser, HD_W, HD_H) as page:
        yield page


def our_render(ready, camera, phase: float = 0.0) -> np.ndarray:
    """Our CPU rasterizer: the export-ready scene at loop phase ``phase`` (frames), RGB on black."""
    from landscape4d.raster import rasterize_gaussians

    state = gaussians_at(ready, phase).gaussians
    return rasterize_gaussians(state, camera, background=torch.zeros(3)).rgb.clamp(0, 1).numpy().astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(float(((a - b) ** 2).mean()), 1e-12)))


def gap_share(shot: np.ndarray, ref: np.ndarray) -> float:
    """Share of the pixels where our render shows smooth content that the viewer leaves mostly page-coloured.

    On the black page a pixel shows c · ref, c the projection of the viewer's colour on ours; a gap is c < 0.5.
    Counted where our render shows content (max channel > 0.2) and is locally smooth (luminance spread < 0.25 in
    9×9 px): along depth edges each viewer orders overlapping splats its own way (Spark sorts radially), which
    changes colours there without any hole. The scene's own footprints leave 3.8 % gap pixels by this measure."""
    content = ref.max(axis=-1) > 0.2
    luminance = Image.fromarray((ref.mean(axis=-1) * 255).round().astype(np.uint8))
    spread = np.asarray(luminance.filter(ImageFilter.MaxFilter(9)), dtype=np.float64) - np.asarray(
        luminance.filter(ImageFilter.MinFilter(9)), dtype=np.float64)
    region = content & (spread < 0.25 * 255)
    c = (shot * ref).sum(axis=-1) / np.maximum((ref * ref).sum(axis=-1), 1e-9)
    return float((c[region] < 0.5).mean())


def assert_hd_matches(shot: np.ndarray, ref: np.ndarray, label: str) -> None:
    save(shot, f"hd_{label}.png")
    save(ref, f"hd_{label}_ours.png")
    value, gaps = psnr(shot, ref), gap_share(shot, ref)
    print(f"{label}: PSNR {value:.2f} dB, gaps {gaps:.3%}")
    assert gaps <= GAP_MAX, f"{label}: {gaps:.2%} of the picture is page-coloured (gaps), limit {GAP_MAX:.1%}"
    assert value >= PSNR_MIN_DB, f"{label}: PSNR {value:.2f} dB against our render, limit {PSNR_MIN_DB} dB"


def spark_picture(page, timeout: float = 240.0) -> np.ndarray:
    """Render on demand until every depth sort Spark asked for has come back (onDirty) and two renders after the
    last one are identical."""
    deadline = time.monotonic() + timeout
    previous, previous_dirty = None, -1
    while True:
        shot = page.evaluate("window.draw()")
        rgba = np.frombuffer(base64.b64decode(shot["rgba"]), dtype=np.uint8).reshape(HD_H, HD_W, 4)
        current = rgba[::-1, :, :3].astype(np.float64) / 255.0
        if previous is not None and shot["dirty"] == previous_dirty and shot["dirty"] > 0 and np.array_equal(current, previous):
            return current
        assert time.monotonic() < deadline, "Spark's picture never settled"
        previous, previous_dirty = current, shot["dirty"]


@pytest.mark.parametrize(
    "name, phase",
    [("scene.ply", None), ("scene.compressed.ply", None), ("scene.splat", None), ("scene.spz", None),
     ("frame0001.compressed.ply", "sequence")],
)
def test_spark_at_1920x1080_default_settings(hd_page, hd, name, phase):
    flip = 0 if name.endswith(".spz") else 1
    fy = float(hd["cover"].K[1, 1])
    hd_page.goto(f"{hd['base']}/spark.html?file={name}&flip={flip}&w={HD_W}&h={HD_H}&fy={fy}")
    hd_page.wait_for_function("window.loaded", timeout=120_000)
    assert hd_page.evaluate("window.errors") == [] and hd_page.errors == []
    k = 0.0 if phase is None else float(hd["stats"]["sequence"]["stride"])  # frame 1 of the sequence: loop phase = stride
    ref = our_render(hd["ready"], hd["cover"], k)
    if phase is None:
        assert hd_page.evaluate("window.count") == len(hd["ready"].gaussians)
    assert_hd_matches(spark_picture(hd_page), ref, f"spark_{name}")


@pytest.mark.parametrize("name", ["scene.ply", "scene.splat", "scene.splatv"])
def test_gsplat_js_at_1920x1080(hd_page, hd, name):
    query = f"file={name}" + ("&cam=file&t=0" if name.endswith(".splatv") else "")
    open_probe(hd_page, hd["base"], query)
    shot = settled_grab(hd_page, probe_grab(hd_page), PROBE_FRAMES, f"hd_gsplat_{name}_raw.png", timeout=240)
    assert_hd_matches(shot, our_render(hd["ready"], hd["cover"]), f"gsplat_{name}")


def test_viewer_html_at_1920x1080(hd_page, hd):
    hd_page.goto(f"{hd['base']}/viewer/viewer.html?paused=1&t=0")
    hd_page.wait_for_function("window.landscape4d && (window.landscape4d.ready || window.landscape4d.error)", timeout=120_000)
    assert hd_page.evaluate("window.landscape4d.error") is None and hd_page.errors == []
    status = hd_page.locator("#status").inner_text() if hd_page.locator("#status").count() else ""
    splats = hd["stats"]["splatv"]["splats"]
    if status:
        assert f"{splats:,}" in status  # the file's splats, not the texture's padded rows
    shot = settled_grab(hd_page, viewer_grab(hd_page), VIEWER_FRAMES, "hd_viewer_raw.png", timeout=240)
    assert_hd_matches(shot, our_render(hd["ready"], hd["contain"]), "viewer_html")


# The SuperSplat viewer (@playcanvas/supersplat-viewer, its own standalone page from node_modules, WebGL, no UI).
# The scene's settings.json is the one in the viewer's documentation (no tone mapping, post effects off, black
# background) with our source camera as the initial camera (its `fov` is horizontal). The viewer's orbit camera
# drifts with time, so the page's clock is pinned: Date.now, performance.now and requestAnimationFrame timestamps
# read a number only the test could move (it never does), and the page counts the frames it draws. A picture is
# taken once two screenshots, frames apart, are identical (PlayCanvas sorts the splats in a worker).
CLOCK_JS = """(() => { const now = 1000; window.__frames = 0;
  Date.now = () => now; performance.now = () => now;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf(() => { window.__frames++; cb(now); }); })();"""


def supersplat_settings(camera) -> dict:
    fov = 2 * math.degrees(math.atan(camera.width / 2 / float(camera.K[0, 0])))
    return {
        "version": 2, "tonemapping": "none", "highPrecisionRendering": False, "background": {"color": [0, 0, 0]},
        "postEffectSettings": {
            "sharpness": {"enabled": False, "amount": 0}, "bloom": {"enabled": False, "intensity": 0.1, "blurLevel": 2},
            "grading": {"enabled": False, "brightness": 1, "contrast": 1, "saturation": 1, "tint": [1, 1, 1]},
            "vignette": {"enabled": False, "intensity": 0.5, "inner": 0.3, "outer": 0.75, "curvature": 1},
            "fringing": {"enabled": False, "intensity": 0.5},
        },
        "animTracks": [],
        # Our world is the photo's camera frame (OpenCV axes); the viewer shows INRIA-convention .ply upright
        # from a camera at the origin looking down +z.
        "cameras": [{"initial": {"position": [0, 0, 0], "target": [0, 0, 1], "fov": fov}}],
        "annotations": [], "startMode": "default",
    }


@pytest.mark.parametrize("name, phase", [("scene.ply", None), ("scene.compressed.ply", None), ("frame0001.compressed.ply", "sequence")])
def test_supersplat_viewer_at_1920x1080(browser, hd, name, phase):
    viewer = NODE_MODULES / "@playcanvas" / "supersplat-viewer" / "public" / "index.html"
    if not viewer.exists():
        pytest.skip("needs @playcanvas/supersplat-viewer (run `npm ci`)")
    context = browser.new_context(viewport={"width": HD_W, "height": HD_H}, device_scale_factor=1)
    context.add_init_script(CLOCK_JS)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        base = hd["base"]
        page.goto(f"{base}/node_modules/@playcanvas/supersplat-viewer/public/index.html"
                  f"?content={base}/{name}&settings={base}/settings.json&webgl&noui")
        page.wait_for_function("window.app && window.__frames > 5", timeout=120_000)
        deadline = time.monotonic() + 240
        previous = None
        while True:
            start = page.evaluate("window.__frames")
            page.wait_for_function(f"window.__frames > {start + 3}", timeout=60_000)
            current = png_to_array(page.screenshot())
            if previous is not None and np.array_equal(current, previous) and current.max() > 0:
                break
            assert time.monotonic() < deadline, "the SuperSplat viewer's picture never settled"
            previous = current
        assert errors == []
        k = 0.0 if phase is None else float(hd["stats"]["sequence"]["stride"])
        assert_hd_matches(current, our_render(hd["ready"], hd["cover"], k), f"supersplat_{name}")
    finally:
        context.close()


def spark_pose(camera) -> str:
    """Our camera's pose as Spark's page takes it: camera-to-world in three.js axes, column-major. Our world seen
    through the mesh's flip (180° about x) and the camera's own axes (OpenCV → OpenGL) are both F = diag(1, −1, −1)."""
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    pose = flip @ camera.camera_to_world.double().numpy() @ flip
    return ",".join(f"{v:.9g}" for v in pose.T.ravel())


@pytest.mark.parametrize("preset", ["orbit"])
def test_spark_along_a_preset_at_1920x1080(hd_page, hd, preset):
    """Away from the source camera, where a path looks past the photo's frame and behind its depth edges: the
    .ply in Spark from the preset's frame farthest from the source camera against our render from there."""
    from exporters.footprint import window_camera
    from landscape4d.render import trajectory_for

    scene = hd["scene"]
    cameras = trajectory_for(scene, preset, 24)
    far = max(cameras, key=lambda c: float((c.position_world - scene.source_camera.position_world).norm()))
    assert float((far.position_world - scene.source_camera.position_world).norm()) > 0.01 * scene.depth_near
    camera = window_camera(far, HD_W, HD_H)
    fy = float(camera.K[1, 1])
    hd_page.goto(f"{hd['base']}/spark.html?file=scene.ply&flip=1&w={HD_W}&h={HD_H}&fy={fy}&pose={spark_pose(camera)}")
    hd_page.wait_for_function("window.loaded", timeout=120_000)
    assert hd_page.evaluate("window.errors") == [] and hd_page.errors == []
    assert_hd_matches(spark_picture(hd_page), our_render(hd["ready"], camera), f"spark_{preset}")
