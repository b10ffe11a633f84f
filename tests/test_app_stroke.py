"""A brush stroke reaches the big preview (the arrow pad) as soon as the mouse is lifted (issue M, point 6).

The page draws the stroke over the pad's image itself (``space.preview.STROKE_PREVIEW_JS``); the server's recomposed
overlay (``editor.input`` → ``repaint_regions``) replaces it when it arrives. The browser test holds the editor's
uploads (playwright route interception), so the server cannot have the stroke: what the pad shows then is the
page's own drawing. Waits are on page signals and animation frames, never on wall-clock sleeps; the latencies are
printed, not asserted (a loaded 2-core CI machine).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from space import preview
from test_app import ARTIFACTS, PHOTO, _next_frames, _shot, browser, open_app_page, server  # noqa: F401


def test_the_page_script_carries_the_overlays_colours_and_tint():
    js = preview.PAGE_JS
    assert "__PIXI_APP_INIT__" in js and "l4dStrokePreview" in js
    assert f"const TINT = {preview.TINT!r}" in js
    colours = [list(c) for c in (preview.WATER_RGB, preview.SKY_RGB, preview.FREEZE_RGB)]
    assert str(colours) in js, "the layer colours, in LAYERS order"
    assert preview.PHOTO_DROP_JS.strip() in js, "the photo drop still runs"
    assert "canvas.l4d-strokes" in preview.PAD_CSS


def _pad_pixels(page, name: str) -> np.ndarray:
    """The pad's photo as the page shows it (its image with anything drawn over it), as RGB pixels."""
    box = page.locator("#arrow-pad .l4d-stage img").bounding_box()
    data = page.screenshot(clip=box)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(data)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)


def _painted_box(page) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) fractions of the photo that the editor's freeze layer holds (what it will upload)."""
    box = page.evaluate(
        """() => {
            const app = globalThis.__PIXI_APP__;
            const image = app.stage.children.find((b) => b.children.some((c) => c.zIndex === -1));
            const layer = image.children.filter((c) => c.zIndex === 2).pop();
            const { pixels, width, height } = app.renderer.extract.pixels(layer.children[0].texture);
            let x0 = width, y0 = height, x1 = -1, y1 = -1;
            for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (pixels[4 * (y * width + x) + 3] > 0) {
                x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
            return [x0 / width, y0 / height, (x1 + 1) / width, (y1 + 1) / height];
        }"""
    )
    return tuple(box)


def _stroke(page, fraction_y: float) -> None:
    canvas = page.locator("#editor canvas").first
    box = canvas.bounding_box()
    x, y = box["x"] + 0.3 * box["width"], box["y"] + fraction_y * box["height"]
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + 0.035 * box["width"] * step, y)
    page.mouse.up()


@pytest.mark.browser
def test_a_stroke_shows_on_the_preview_when_the_mouse_is_lifted(browser, server):  # noqa: F811
    page, errors = open_app_page(browser, server["url"])
    page.set_input_files("#photo input[type=file]", str(PHOTO))
    pad_image = page.locator("#arrow-pad .l4d-stage img")
    pad_image.wait_for(timeout=180_000)
    page.get_by_text("2 · Paint motion regions").click()
    page.wait_for_selector("#editor .layer-wrap")
    page.locator("#layer-freeze").click()
    page.wait_for_function("document.querySelector('#editor .layer-wrap').innerText.includes('freeze')")
    page.set_viewport_size({"width": 1280, "height": 1500})  # the editor and the pad on screen together
    page.evaluate("window.scrollTo(0, 0)")
    _next_frames(page, 2)
    src = pad_image.get_attribute("src")
    before = _pad_pixels(page, "stroke-0-before")

    # 1 · The editor's uploads are held: the server cannot know the stroke, yet the pad shows it.
    held, hold = [], [True]
    page.route("**/gradio_api/upload*", lambda route: held.append(route) if hold[0] else route.continue_())
    _stroke(page, 0.74)  # across the lower half of the photo (buildings and trees: no automatic region)
    page.wait_for_function("window.l4dStrokePreview.drawn >= 1")
    _next_frames(page, 2)
    held_preview = page.evaluate("window.l4dStrokePreview")
    assert pad_image.get_attribute("src") == src, "the server has not answered (its uploads are held)"
    after = _pad_pixels(page, "stroke-1-page-drawn")
    # The page right after the stroke (README's docs/screenshot-stroke.png with LANDSCAPE4D_DOCS_SCREENSHOTS=1).
    _shot(page, "stroke-page", clip={"x": 0, "y": 0, "width": 1280, "height": 1090}, docs="screenshot-stroke.png")
    x0, y0, x1, y1 = _painted_box(page)
    height, width = after.shape[:2]
    trim = 4  # the outline (solid colour, 2 px at this size) and the round ends of the stroke
    inside = (slice(int(y0 * height) + trim, int(y1 * height) - trim),
              slice(int(x0 * width) + 3 * trim, int(x1 * width) - 3 * trim))
    freeze = np.array(preview.FREEZE_RGB, np.int16)
    expected = (1 - preview.TINT) * before[inside] + preview.TINT * freeze
    assert np.abs(after[inside] - expected).mean() < 12, "the stroke shows in the freeze colour at the overlay's tint"
    changed = np.abs(after - before).sum(axis=-1) > 40
    rows, cols = np.nonzero(changed)
    assert changed.mean() > 0.002, "the stroke is visible on the pad"
    assert rows.min() >= y0 * height - 4 and rows.max() <= y1 * height + 4, "only where the stroke was painted"
    assert cols.min() >= x0 * width - 4 and cols.max() <= x1 * width + 4

    # 1b · A late answer to an earlier event (here: the overlay from before the stroke, shown again) arrives after
    # the editor has read its layers for the stroke's upload: the page keeps drawing the stroke (no flicker).
    page.wait_for_function("window.l4dStrokePreview.read >= 1")
    late = page.evaluate(
        """() => {
            const img = document.querySelector('#arrow-pad .l4d-stage img');
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            c.getContext('2d').drawImage(img, 0, 0);
            const before = window.l4dStrokePreview.late || 0;
            img.src = c.toDataURL('image/png');
            return before;
        }"""
    )
    page.wait_for_function(f"(window.l4dStrokePreview.late || 0) > {late}")
    _next_frames(page, 2)
    assert page.locator("#arrow-pad canvas.l4d-strokes").count() == 1, "the page still draws the stroke"
    assert page.evaluate("window.l4dStrokePreview.synced") == 0
    again = _pad_pixels(page, "stroke-1b-late-answer")
    assert np.abs(again[inside] - after[inside]).mean() < 12, "the stroke did not flicker away"
    page.evaluate(f"document.querySelector('#arrow-pad .l4d-stage img').src = {json.dumps(src)}")
    page.wait_for_function(f"(window.l4dStrokePreview.late || 0) > {late + 1}")

    # 2 · The uploads go through: the server's overlay replaces the page's drawing and shows the same colours.
    hold[0] = False
    assert held, "the editor sent its layers after the stroke"
    for route in held:
        route.continue_()
    page.wait_for_function(f"document.querySelector('#arrow-pad .l4d-stage img').src !== {json.dumps(src)}")
    page.wait_for_function("window.l4dStrokePreview.synced >= 1 && !document.querySelector('#arrow-pad canvas.l4d-strokes')")
    _next_frames(page, 2)
    served = _pad_pixels(page, "stroke-2-server")
    assert np.abs(served[inside] - after[inside]).mean() < 12, "page and server draw the stroke alike"

    # 3 · A stroke with nothing held: the page's drawing first, the server's a round trip later.
    page.evaluate(
        """() => { const t = window.l4dStrokeTimes = {};
            const img = () => document.querySelector('#arrow-pad .l4d-stage img').src, first = img();
            const look = () => { if (img() !== first) t.server = performance.now(); else requestAnimationFrame(look); };
            window.addEventListener('pointerup', (ev) => { t.up = ev.timeStamp; requestAnimationFrame(look); },
                                    { capture: true, once: true }); }"""
    )
    _stroke(page, 0.66)
    page.wait_for_function("window.l4dStrokePreview.drawn >= 2 && window.l4dStrokePreview.frameMs != null")
    page.wait_for_function("window.l4dStrokeTimes.server")
    second = page.evaluate("[window.l4dStrokePreview, window.l4dStrokeTimes]")
    server_ms = second[1]["server"] - second[1]["up"]
    for name, times in (("uploads held", held_preview), ("second stroke", second[0])):
        print(f"pointer-up → stroke on the pad ({name}): drawn {times['ms']:.0f} ms, next frame "
              f"{times['frameMs']:.0f} ms (the editor's own pointer-up work {times['editorMs']:.0f} ms, "
              f"this page script {times['work']:.0f} ms)")
    print(f"pointer-up → the server's overlay (second stroke): {server_ms:.0f} ms")
    assert second[0]["ms"] < server_ms, "the page's drawing comes before the server's round trip"

    # 4 · Erase and Undo show at once too (uploads held again): the erased stroke gives way to the overlay without
    # paint (the hidden image the server sends beside its overlay), and Undo brings the stroke back.
    page.wait_for_function("window.l4dStrokePreview.synced >= 2 && !document.querySelector('#arrow-pad canvas.l4d-strokes')")
    assert page.locator("#arrow-pad img.l4d-unpainted").count() == 1, "the server sends the overlay without paint"
    src = pad_image.get_attribute("src")
    hold[0], held[:] = True, []
    band = (slice(int((y0 + y1) / 2 * height) - 1, int((y0 + y1) / 2 * height) + 2),
            slice(int(x0 * width) + 3 * trim, int(x1 * width) - 3 * trim))  # the first stroke's centre line
    page.locator("#editor button[aria-label='Erase']").click()
    drawn = page.evaluate("window.l4dStrokePreview.drawn")
    _stroke(page, 0.74)
    page.wait_for_function(f"window.l4dStrokePreview.drawn > {drawn}")
    _next_frames(page, 2)
    assert pad_image.get_attribute("src") == src, "the server has not answered (its uploads are held)"
    erased = _pad_pixels(page, "stroke-4-erased")
    assert np.abs(after[band] - before[band]).mean() > 20, "the stroke was visible there (red over a red roof: 28)"
    assert np.abs(erased[band] - before[band]).mean() < 6, "the erased stroke is gone from the pad at once"
    drawn = page.evaluate("window.l4dStrokePreview.drawn")
    page.locator("#editor button[aria-label='Undo']").click()
    page.wait_for_function(f"window.l4dStrokePreview.drawn > {drawn}")
    _next_frames(page, 2)
    assert pad_image.get_attribute("src") == src, "the server has not answered (its uploads are held)"
    undone = _pad_pixels(page, "stroke-5-undo")
    assert np.abs(undone[band] - after[band]).mean() < 12, "Undo brings the stroke back on the pad at once"
    hold[0] = False
    for route in held:
        route.continue_()
    assert not errors, errors
    page.close()
