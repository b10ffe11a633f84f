"""The project's own example landscapes, painted procedurally (NumPy + OpenCV, no model weights, no photos).

    python examples/make_example_scenes.py            # writes lake.jpg, sea.jpg, waterfall.jpg, clouds.jpg,
                                                      # city-river.jpg beside this file and their reference
                                                      # fluid masks masks/<name>_fluid_mask.png
    python examples/make_example_scenes.py lake sea   # only these

Each scene is seeded, so the same code paints the same pixels (``paint(name)`` returns the RGB array; the JPEGs are
that array at quality 90). What makes them read as photos: spectral (1/f) noise for every texture, perspective for
the water and cloud planes (ripples and clouds get finer toward the horizon), aerial perspective (far ridges fade
into the haze), mirrored and rippled reflections, soft light from a sun, a little depth blur, a vignette and sensor
grain. They are the project's own work, under the project's licence (see CREDITS.md).

Reference masks: beside every blend each painter tracks which share of each pixel is sky (clouds included) or water
(lake, river, sea and its foam, the waterfall's falling column, foam and pool); thresholded at 0.5 that is the exact
fluid mask of the picture (``paint_fluid_mask(name)``, 255 = fluid), written as ``masks/<name>_fluid_mask.png`` for
the region metric (``python -m landscape4d.eval.regions``). Tracking it draws no random numbers: the pictures are the
same pixels as without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
MASKS = HERE / "masks"  # reference fluid masks for the region metric (python -m landscape4d.eval.regions)
MASK_SUFFIX = "_fluid_mask.png"
SIZES = {  # name → (width, height)
    "lake": (960, 640),
    "sea": (960, 640),
    "waterfall": (720, 960),
    "clouds": (1152, 640),
    "city-river": (960, 640),
}
# Seeds: any give a plausible picture; the clouds' was picked among a few so that the automatic (weight-free) sky
# covers every cloud (with some seeds the brightest cumulus is cut out of the sky and would stand still).
SEEDS = {"lake": 11, "sea": 23, "waterfall": 37, "clouds": 47, "city-river": 53}
JPEG_QUALITY = 90

# ---------------------------------------------------------------------------------------------------------------
# Building blocks (float32 RGB in [0, 1], rows top to bottom)


def smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def mix(a, b, t):
    t = np.asarray(t, np.float32)
    if t.ndim == 2:
        t = t[..., None]
    return np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t


def spectral_noise(rng: np.random.Generator, h: int, w: int, beta: float = 2.0, stretch: tuple[float, float] = (1, 1),
                   low: float = 1.0, high: float | None = None) -> np.ndarray:
    """Tileable 1/f^beta noise, zero mean, unit std. ``stretch`` (sx, sy) > 1 makes features longer along that axis;
    ``low``/``high`` bound the frequencies (cycles per image)."""
    size = max(h, w)  # frequencies in cycles per long side, the same per pixel along both axes
    fy = np.fft.fftfreq(h)[:, None] * size
    fx = np.fft.rfftfreq(w)[None, :] * size
    k = np.sqrt((fx * stretch[0]) ** 2 + (fy * stretch[1]) ** 2)
    amp = np.where(k >= low, np.maximum(k, 1e-6) ** (-beta / 2 - 0.5), 0.0)
    if high is not None:
        amp *= np.exp(-((k / high) ** 2))
    phase = rng.random(amp.shape) * 2 * np.pi
    spectrum = amp * rng.standard_normal(amp.shape) * np.exp(1j * phase)
    out = np.fft.irfft2(spectrum, s=(h, w)).astype(np.float32)
    return (out - out.mean()) / (out.std() + 1e-8)


def noise1d(rng: np.random.Generator, n: int, beta: float = 2.0, low: float = 1.0, high: float | None = None):
    return spectral_noise(rng, 1, n, beta, low=low, high=high)[0]


def plane_lookup(texture: np.ndarray, w: int, rows: np.ndarray, horizon: float, scale: float, squash: float = 1.0,
                 centre: float | None = None, shift: tuple[float, float] = (0, 0)) -> np.ndarray:
    """Sample a tileable texture on a horizontal plane seen in perspective: for image rows ``rows`` (all on one side
    of ``horizon``) the plane's depth is 1/|row − horizon|, so the texture gets finer toward the horizon. Far rows
    read a blurred copy (no aliasing)."""
    th, tw = texture.shape[:2]
    d = np.abs(rows.astype(np.float32) - horizon) + 0.5
    z = 1.0 / d  # depth, up to a constant
    scale = (scale, scale * w * squash)  # focal length ≈ the image width; squash < 1: flatter than true
    xs = np.arange(w, dtype=np.float32) - (w / 2 if centre is None else centre)
    map_x = (xs[None, :] * z[:, None] * scale[0] + shift[0]) % tw
    map_y = np.repeat((z * scale[1] + shift[1])[:, None] % th, w, axis=1)
    sharp = cv2.remap(texture, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_WRAP)
    soft = cv2.remap(cv2.GaussianBlur(texture, (0, 0), 3), map_x.astype(np.float32), map_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    step = z * scale[1] / d  # texture pixels per image row
    t = smoothstep(1.0, 6.0, step)[:, None]
    if texture.ndim == 3:
        t = t[..., None]
    return sharp * (1 - t) + soft * t


def sky_gradient(h: int, w: int, horizon: float, zenith, near_horizon, sun: tuple[float, float] | None = None,
                 sun_colour=(1.0, 0.93, 0.8), glow: float = 0.35, glow_size: float = 0.35) -> np.ndarray:
    y = np.arange(h, dtype=np.float32)[:, None, None]
    t = np.clip(y / max(horizon, 1), 0, 1) ** 1.6
    sky = mix(zenith, near_horizon, t) * np.ones((1, w, 1), np.float32)
    if sun is not None:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        dist = np.hypot(xx - sun[0], (yy - sun[1]) * 1.2) / max(h, w)
        halo = glow * np.exp(-dist / glow_size) + 0.6 * glow * np.exp(-dist / 0.03)
        sky = sky + halo[..., None] * np.asarray(sun_colour, np.float32)
    return sky


def shade_clouds(density: np.ndarray, light_dir: tuple[float, float], steps: int = 8, step_px: float = 4.0,
                 absorb: float = 0.35) -> np.ndarray:
    """How much light reaches each point of a cloud density field: optical depth marched toward the light."""
    h, w = density.shape
    depth = np.zeros_like(density)
    for i in range(1, steps + 1):
        m = np.float32([[1, 0, light_dir[0] * step_px * i], [0, 1, light_dir[1] * step_px * i]])
        depth += cv2.warpAffine(density, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return np.exp(-absorb * depth)


def cloud_layer(sky: np.ndarray, density: np.ndarray, light: np.ndarray, lit, shadow, opacity: float = 1.0):
    alpha = np.clip(density, 0, 1) * opacity
    colour = mix(shadow, lit, np.clip(light, 0, 1))
    # Thin edges glow (the silver lining): light scattered forward through little cloud.
    rim = np.clip(1 - density * 2.5, 0, 1) * (density > 0.02)
    colour = colour + 0.12 * rim[..., None]
    return mix(sky, colour, alpha)


def ridge(rng: np.random.Generator, w: int, base: float, amplitude: float, beta: float = 2.2, low: float = 1.0,
          peaks: float = 0.0) -> np.ndarray:
    """A mountain skyline: y per column (smaller = higher)."""
    line = noise1d(rng, w, beta, low)
    if peaks:
        line = line + peaks * np.abs(noise1d(rng, w, 1.6, 2.0))  # sharper crests
    line = (line - line.min()) / (np.ptp(line) + 1e-6)
    return base - amplitude * line


def fill_below(line: np.ndarray, h: int, soft: float = 1.0) -> np.ndarray:
    y = np.arange(h, dtype=np.float32)[:, None]
    return np.clip((y - line[None, :]) / soft + 0.5, 0, 1)


def mountain_colour(rng, h, w, line, rock, dark, light_from: float = -1.0, detail: float = 0.5) -> np.ndarray:
    """Rock/forest texture lit from one side: slope of the textured height decides light or shade."""
    height = spectral_noise(rng, h, w, 2.2, (1.0, 1.6), low=3)
    gully = spectral_noise(rng, h, w, 1.8, (0.5, 1.0), low=6)  # gullies running down the slopes
    surface = height + 0.35 * gully
    slope = np.gradient(cv2.GaussianBlur(surface, (0, 0), 2), axis=1) * light_from
    lit = np.clip(0.55 + 6.0 * slope + detail * 0.15 * spectral_noise(rng, h, w, 1.0, low=40), 0, 1)
    y = np.arange(h, dtype=np.float32)[:, None]
    below = np.clip((y - line[None, :]) / 120.0, 0, 1)  # lower slopes darker (more forest, less sky light)
    return mix(mix(dark, rock, lit), dark, 0.35 * below)


def water_reflection(scene: np.ndarray, waterline: int, ripple: np.ndarray, displace: float = 6.0,
                     smear: int = 5) -> np.ndarray:
    """The scene above ``waterline`` mirrored below it, each row shifted by the ripple field (more toward the viewer)
    and smeared vertically as ripples do."""
    h, w = scene.shape[:2]
    ys = np.arange(waterline, h, dtype=np.float32)
    near = (ys - waterline + 1)[:, None] / (h - waterline)
    map_y = (2 * waterline - 1 - ys)[:, None] + ripple[waterline:] * displace * 0.4 * near
    map_x = np.arange(w, dtype=np.float32)[None, :] + ripple[waterline:] * displace * (0.2 + near)
    mirrored = cv2.remap(scene, map_x.astype(np.float32), np.clip(map_y, 0, waterline - 1).astype(np.float32),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if smear > 1:
        mirrored = cv2.blur(mirrored, (1, smear))
    return mirrored


def rippled_mirror(scene: np.ndarray, rows: np.ndarray, top: int, texture: np.ndarray, horizon: float, scale: float,
                   displace: float, smear: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Water from row ``top`` down: ``texture`` laid on the water plane in perspective (``plane_lookup``, horizon row
    ``horizon``) as ripples, and the scene above mirrored through them (``water_reflection``). Returns the rows
    below the waterline [H] bool, the ripple field [H,W], the reflection [H−top,W,3] and each water row's nearness
    [H−top,1,1] (0 at the waterline, → 1 at the bottom)."""
    h, w = scene.shape[:2]
    below = rows >= top
    ripple = np.zeros((h, w), np.float32)
    ripple[below] = plane_lookup(texture, w, rows[below], horizon, scale)
    reflection = water_reflection(scene, top, ripple, displace=displace, smear=smear)
    near = np.clip((rows[below] - top) / (h - top), 0, 1)[:, None, None]
    return below, ripple, reflection, near


def cover(fluid: np.ndarray, weight, fluid_on_top: bool) -> np.ndarray:
    """The fluid share [H,W] of each pixel after ``mix(scene, layer, weight)``: ``layer`` is sky or water
    (``fluid_on_top``) or not. Tracked beside every blend, it is the exact reference mask once thresholded at 0.5."""
    weight = np.asarray(weight, np.float32)
    if weight.ndim == 3:
        weight = weight[..., 0]
    return fluid * (1 - weight) + np.float32(fluid_on_top) * weight


def fluid_mask(fluid: np.ndarray) -> np.ndarray:
    """Thresholded fluid share (after the same lens softness as ``finish``): bool [H,W]."""
    return cv2.GaussianBlur(fluid.astype(np.float32), (0, 0), 0.6) >= 0.5


def finish(image: np.ndarray, rng: np.random.Generator, grain: float = 0.012, vignette: float = 0.18,
           contrast: float = 0.12) -> np.ndarray:
    """Camera look: a gentle S-curve, a vignette, a touch of lens softness and luminance/chroma grain."""
    h, w = image.shape[:2]
    image = np.clip(image, 0, 1)
    image = image + contrast * (image - 0.5) * (1 - np.abs(2 * image - 1))  # soft S-curve
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)) / np.sqrt(2)
    image = image * (1 - vignette * r[..., None] ** 2.2)
    image = cv2.GaussianBlur(image, (0, 0), 0.6)
    luma = rng.standard_normal((h, w)).astype(np.float32) * grain
    chroma = rng.standard_normal((h, w, 3)).astype(np.float32) * grain * 0.35
    image = image + luma[..., None] + cv2.GaussianBlur(chroma, (0, 0), 0.8)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# The scenes


def paint_lake(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    waterline = int(h * 0.58)
    sun = (w * 0.22, h * 0.08)
    sky = sky_gradient(h, w, waterline, (0.24, 0.45, 0.78), (0.78, 0.86, 0.93), sun, glow=0.22)
    # Soft clouds on a plane high above: finer and flatter toward the horizon.
    tex = spectral_noise(rng, 512, 512, 2.6, (2.2, 1.0), low=2)
    rows = np.arange(h, dtype=np.float32)
    above = rows < waterline
    clouds = np.zeros((h, w), np.float32)
    clouds[above] = plane_lookup(tex, w, rows[above], waterline, 180.0)
    density = smoothstep(0.25, 1.8, clouds) * smoothstep(0.0, h * 0.35, waterline - rows)[:, None]
    light = shade_clouds(density, (-0.7, -0.7), steps=6, step_px=3)
    scene = cloud_layer(sky, density, light, (1.0, 0.99, 0.96), (0.62, 0.67, 0.75), 0.9)
    fluid = np.ones((h, w), np.float32)  # sky (clouds included) and water: 1; land: 0

    haze = np.float32([0.7, 0.76, 0.82])
    layers = [  # base row, height, beta, haze, rock, dark, peaks
        (waterline - h * 0.10, h * 0.3, 2.3, 0.42, (0.62, 0.56, 0.5), (0.26, 0.25, 0.27), 0.5),
        (waterline - h * 0.04, h * 0.18, 2.1, 0.25, (0.46, 0.46, 0.34), (0.16, 0.2, 0.14), 0.4),
        (waterline - h * 0.005, h * 0.11, 2.2, 0.08, (0.3, 0.38, 0.2), (0.08, 0.14, 0.08), 0.2),
    ]
    for i, (base, amp, beta, fade, rock, dark, peaks) in enumerate(layers):
        line = ridge(rng, w, base, amp, beta, 1.5, peaks)
        if i == 0:  # one massif rises above the rest of the range
            xs = np.arange(w, dtype=np.float32)
            line = base - (base - line) * (0.45 + 0.75 * np.exp(-(((xs - w * 0.62) / (w * 0.2)) ** 2)))
        colour = mountain_colour(rng, h, w, line, rock, dark)
        if i == 0:  # snow on the far peaks
            y = np.arange(h, dtype=np.float32)[:, None]
            snowline = line.min() + amp * 0.45 + 8 * noise1d(rng, w, 1.2, 4)[None, :]
            patches = spectral_noise(rng, h, w, 1.8, (0.5, 1.5), 6)
            snow = smoothstep(4, -4, y - snowline) * smoothstep(-0.3, 0.6, patches)
            colour = mix(colour, (0.93, 0.95, 0.98), 0.85 * snow)
        if i == 2:  # conifer forest: vertical fine texture
            trees = spectral_noise(rng, h, w, 0.8, (0.15, 1.0), low=60)
            colour = colour * (0.85 + 0.15 * np.clip(trees, -2, 2)[..., None] / 2)
        colour = mix(colour, haze, fade)
        mask = fill_below(line, h)
        mask[waterline:] = 0
        blur = 1.2 * (2 - i)
        if blur > 0:
            colour = cv2.GaussianBlur(colour, (0, 0), blur * 0.6)
        scene = mix(scene, colour, mask)
        fluid = cover(fluid, mask, False)

    # Shoreline: a thin strip of pale stones and grass at the water's edge.
    shore = np.clip(noise1d(rng, w, 1.4, 6) * 1.2 + 2.5, 1, 5)
    y = np.arange(h, dtype=np.float32)[:, None]
    band = ((y >= waterline - shore[None, :]) & (y < waterline)).astype(np.float32)
    pebbles = spectral_noise(rng, h, w, 0.5, low=80)
    stones = mix((0.42, 0.4, 0.33), (0.72, 0.68, 0.58), np.clip(0.5 + 0.3 * pebbles, 0, 1))
    scene = mix(scene, stones, band)
    fluid = cover(fluid, band, False)

    # The lake: a rippled, darkened mirror of everything above, tinted by the water, brighter toward the horizon.
    rip_tex = spectral_noise(rng, 512, 512, 2.8, (3.0, 1.0), low=3)
    below, ripple, reflection, near = rippled_mirror(scene, rows, waterline, rip_tex, waterline - 2, 400.0, 3.0, 3)
    tint = np.float32([0.1, 0.22, 0.28])
    fresnel = 0.85 - 0.35 * near
    water = reflection * fresnel * 0.9 + tint * (1 - fresnel)
    glints = np.clip(ripple[below], 0, None)[..., None] * (0.03 + 0.04 * (1 - near))
    water = water + glints - 0.05 * np.clip(-ripple[below], 0, None)[..., None]
    # Wind streaks: calm and rough bands that read as a lake surface.
    streak = plane_lookup(spectral_noise(rng, 256, 256, 2.0, (12.0, 1.0), low=1), w, rows[below], waterline - 2, 60.0)
    water = water * (1 + 0.06 * np.clip(streak, -2, 2)[..., None])
    scene[waterline:] = water
    fluid[waterline:] = 1

    # Foreground: a grassy bank with rocks in the lower left corner.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = h * 0.86 + (xx / w) ** 1.5 * h * 0.5 + 10 * noise1d(rng, w, 1.6, 3)[None, :]
    bank = smoothstep(-1.5, 1.5, yy - edge)
    grass_tex = spectral_noise(rng, h, w, 0.9, (0.3, 1.0), low=20)
    grass = mix((0.16, 0.22, 0.08), (0.42, 0.48, 0.2), np.clip(0.5 + 0.25 * grass_tex, 0, 1))
    scene = mix(scene, grass, bank)
    fluid = cover(fluid, bank, False)
    return finish(scene, rng, grain=0.012), fluid_mask(fluid)


def paint_sea(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    horizon = int(h * 0.47)
    sun = (w * 0.7, h * 0.12)
    sky = sky_gradient(h, w, horizon, (0.18, 0.38, 0.72), (0.75, 0.84, 0.93), sun, glow=0.28, glow_size=0.3)
    rows = np.arange(h, dtype=np.float32)
    above = rows < horizon
    tex = spectral_noise(rng, 512, 512, 2.8, (1.8, 1.0), low=2)
    clouds = np.zeros((h, w), np.float32)
    clouds[above] = plane_lookup(tex, w, rows[above], horizon, 160.0)
    density = smoothstep(0.35, 1.6, clouds) * smoothstep(0, h * 0.12, horizon - rows)[:, None]
    light = shade_clouds(density, (0.6, -0.8), steps=6, step_px=3)
    scene = cloud_layer(sky, density, light, (1.0, 0.98, 0.94), (0.55, 0.6, 0.7), 0.95)
    # A low haze bank on the horizon and a faint far headland on the left.
    haze = smoothstep(h * 0.06, 0, np.abs(rows - horizon))[:, None, None]
    scene = mix(scene, (0.8, 0.85, 0.9), 0.5 * haze[..., 0])
    line = ridge(rng, w, horizon, h * 0.05, 2.2, 1.5) + np.clip((np.arange(w) - w * 0.32) * 0.4, 0, None)
    land = fill_below(line, h)
    land[horizon:] = 0
    scene = mix(scene, (0.52, 0.58, 0.66), land * 0.85)
    fluid = cover(np.ones((h, w), np.float32), land * 0.85, False)  # the haze bank is sky, the headland not

    # Open sea: wave heights on a plane in perspective; slopes facing us reflect the pale low sky, others the deep.
    waves = (spectral_noise(rng, 1024, 1024, 3.0, (1.8, 1.0), low=3)
             + 0.25 * spectral_noise(rng, 1024, 1024, 2.0, (1.3, 1.0), low=30))
    below = rows >= horizon
    hgt = plane_lookup(waves, w, rows[below], horizon - 0.5, 160.0)
    slope = np.gradient(hgt, axis=0) * (rows[below] - horizon + 1)[:, None] ** 0.5 * 0.6
    near = np.clip((rows[below] - horizon) / (h - horizon), 0, 1)[:, None]
    deep = np.float32([0.03, 0.17, 0.3])
    pale = np.float32([0.62, 0.74, 0.84])
    fresnel = np.clip(0.7 * np.exp(-near * 5) + 0.12 - 0.5 * slope, 0, 1)
    sea = mix(deep, pale, fresnel)
    sea = sea + np.float32([0.0, 0.05, 0.05]) * np.clip(hgt, 0, None)[..., None] * near[..., None]  # lit crests
    # Sun glitter: a column of sparkles under the sun, sharpest on slopes tilted toward it.
    xs = np.arange(w, dtype=np.float32)[None, :]
    column = np.exp(-(((xs - sun[0]) / (w * (0.05 + 0.12 * near))) ** 2))
    sparkle = smoothstep(0.9, 2.2, hgt + 0.7 * spectral_noise(rng, h - horizon, w, 0.3, low=100)) * column
    sea = sea + sparkle[..., None] * np.float32([1.0, 0.95, 0.85]) * 0.8
    scene[horizon:] = sea
    scene[horizon] = mix(scene[horizon - 1], scene[horizon + 1], 0.5)
    fluid[horizon + 1:] = 1
    fluid[horizon] = 0.5 * (fluid[horizon - 1] + 1)

    # Dark rocks in the lower right with surf breaking around them.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shape = smoothstep(w * 0.55, w * 0.95, xx) * smoothstep(h * 0.62, h * 0.98, yy)
    rock_field = shape * 1.6 + 0.25 * spectral_noise(rng, h, w, 2.6, low=3)
    rock = ((rock_field > 0.7) & (shape > 0.2)).astype(np.uint8)
    rock = cv2.morphologyEx(rock, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    rock_mask = cv2.GaussianBlur(rock.astype(np.float32), (0, 0), 0.8)
    rock_tex = spectral_noise(rng, h, w, 1.6, low=10)
    # Rounded boulders lit from the upper right: height grows with the distance from the rock's outline.
    dome = np.sqrt(np.clip(cv2.distanceTransform(rock, cv2.DIST_L2, 5), 0, 60)) + 0.5 * rock_tex
    gy, gx = np.gradient(cv2.GaussianBlur(dome, (0, 0), 2.0))
    grit = spectral_noise(rng, h, w, 1.0, low=40)
    rock_light = np.clip(0.3 + 0.9 * (gx - gy) + 0.1 * rock_tex + 0.12 * grit, 0, 1)
    rocks = mix((0.07, 0.05, 0.035), (0.58, 0.44, 0.3), rock_light)  # warm, sunlit stone
    # Foam: where the sea meets the rock, streaked along the swell, thinning out over the water.
    dist = cv2.distanceTransform(1 - rock, cv2.DIST_L2, 5)
    foam_tex = spectral_noise(rng, h, w, 1.2, (4.0, 1.0), low=10)
    foam = np.clip(np.exp(-dist / 22) * 1.4 + 0.35 * foam_tex - 0.55, 0, 1) * (yy > horizon + 25)
    foam = np.clip(foam * 1.6, 0, 1)
    # Breaking lines of surf rolling in toward the rocks.
    for k, y0 in enumerate((0.7, 0.8, 0.91)):
        crest = h * y0 + 6 * noise1d(rng, w, 1.8, 3)[None, :]
        band = np.exp(-(((yy - crest) / (2.5 + 2 * k)) ** 2)) * smoothstep(w * (0.3 - 0.1 * k), w * 0.7, xx)
        foam = np.maximum(foam, np.clip(band * (0.8 + 0.5 * foam_tex), 0, 1) * 0.9)
    foam_colour = mix((0.72, 0.78, 0.82), (0.97, 0.98, 0.98), np.clip(0.6 + 0.3 * foam_tex, 0, 1))
    scene = mix(scene, foam_colour, foam * (yy >= horizon))
    fluid = cover(fluid, foam * (yy >= horizon), True)  # foam is water
    scene = mix(scene, rocks, rock_mask)
    fluid = cover(fluid, rock_mask, False)
    return finish(scene, rng, grain=0.011), fluid_mask(fluid)


def paint_waterfall(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rows = np.arange(h, dtype=np.float32)
    # A strip of bright overcast sky above the cliff's wooded rim.
    sky = sky_gradient(h, w, h * 0.16, (0.56, 0.67, 0.8), (0.86, 0.9, 0.93))
    rim = ridge(rng, w, h * 0.12, h * 0.05, 1.8, 2.0)
    # Cliff: sedimentary layers (horizontal strata bent by noise), lit from the upper left, wet beside the fall.
    warp = spectral_noise(rng, h, w, 2.4, low=2)
    strata = np.sin((yy + 14 * warp) / 9.0) + 0.6 * np.sin((yy + 20 * warp) / 3.7)
    cracks = spectral_noise(rng, h, w, 1.4, (0.4, 1.0), low=12)
    bumps = spectral_noise(rng, h, w, 2.0, low=4)
    tint = spectral_noise(rng, h, w, 2.6, low=2)
    light = np.clip(0.5 + 0.2 * strata - 3 * np.gradient(cv2.GaussianBlur(bumps, (0, 0), 3), axis=1)
                    + 0.1 * cracks, 0, 1)
    rock_lit = mix((0.52, 0.5, 0.46), (0.6, 0.51, 0.39), np.clip(0.5 + 0.25 * tint, 0, 1))
    cliff = mix((0.1, 0.09, 0.08), rock_lit, light)
    wet = smoothstep(70, 0, np.abs(xx - w * 0.5) - 60)
    cliff = cliff * (1 - 0.4 * wet[..., None])
    scene = mix(sky, cliff, fill_below(rim, h, 1.5))
    fluid = cover(np.ones((h, w), np.float32), fill_below(rim, h, 1.5), False)

    # Vegetation: the wooded rim, moss on the ledges, ferns and bushes down both sides.
    leaves = spectral_noise(rng, h, w, 1.0, low=40)
    clumps = spectral_noise(rng, h, w, 2.0, low=6)
    foliage = mix((0.05, 0.12, 0.04), (0.34, 0.48, 0.14), np.clip(0.45 + 0.22 * leaves + 0.15 * clumps, 0, 1))
    canopy_top = rim - 18 - 22 * np.abs(noise1d(rng, w, 1.0, 25))
    canopy = fill_below(canopy_top, h, 1.5) * (1 - fill_below(rim + 24 + 10 * noise1d(rng, w, 1.5, 8), h, 4))
    ledge = smoothstep(0.75, 0.95, np.sin((yy + 14 * warp) / 18.0) * 0.5 + 0.5) * smoothstep(0.3, 1.2, clumps)
    side = np.abs(xx - w * 0.5) / (w * 0.5)
    sides = smoothstep(0.78, 0.9, side + 0.12 * clumps) * (yy > h * 0.3)
    veg = np.clip(canopy + 0.8 * ledge * smoothstep(0.3, 0.5, side) + sides, 0, 1)
    veg = veg * smoothstep(-0.6, 0.2, leaves + clumps * 0.5) + canopy * 0.3
    scene = mix(scene, foliage, np.clip(veg, 0, 1))
    fluid = cover(fluid, np.clip(veg, 0, 1), False)

    # The fall: a bright column with vertical streaks, spreading as it drops, translucent at its edges.
    top, foot = float(rim[w // 2] + 6), h * 0.66
    t = np.clip((yy - top) / (foot - top), 0, 1)
    centre = w * 0.5 + 8 * np.sin(t * 2.0) + 3 * noise1d(rng, h, 1.5, 3)[:, None]
    half = w * 0.07 + w * 0.05 * t ** 1.3
    across = np.abs(xx - centre) / half
    streaks = spectral_noise(rng, h, w, 1.1, (0.05, 1.0), low=6)
    body = smoothstep(1.05, 0.6, across + 0.15 * streaks) * (yy < foot + 20)
    lip = smoothstep(top - 3, top + 5, yy)
    fall_colour = mix((0.6, 0.68, 0.7), (0.97, 0.98, 0.99), np.clip(0.62 + 0.22 * streaks, 0, 1))
    scene = mix(scene, fall_colour, np.clip(body * lip * (0.88 + 0.12 * streaks), 0, 1))
    fluid = cover(fluid, np.clip(body * lip * (0.88 + 0.12 * streaks), 0, 1), True)  # falling water

    # The pool: green-blue water with ripples in perspective and the fall's pale, broken reflection.
    pool_top = int(foot)
    rip_tex = spectral_noise(rng, 512, 512, 2.4, (6.0, 1.0), low=3)
    below, ripple, reflection, near = rippled_mirror(scene, rows, pool_top, rip_tex, pool_top - 30, 300.0, 6.0, 15)
    rip = ripple[below]
    water = 0.3 * reflection + 0.7 * mix((0.16, 0.38, 0.42), (0.08, 0.26, 0.3), near)
    water = water + 0.08 * np.clip(rip, 0, None)[..., None] - 0.05 * np.clip(-rip, 0, None)[..., None]
    scene[pool_top:] = water
    fluid[pool_top:] = 1
    # Foam at the foot, rafts of foam drifting out across the pool.
    foam_tex = spectral_noise(rng, h, w, 1.3, (3.0, 1.0), low=8)
    dx = (xx - w * 0.5) / (w * 0.26)
    dy = (yy - foot) / (h * 0.07)
    foam = np.clip(np.exp(-(dx ** 2 + dy ** 2) * 1.2) * 1.7 + 0.55 * foam_tex * np.exp(-(dx ** 2 + dy ** 2) * 0.2)
                   - 0.5, 0, 1) * smoothstep(foot - 30, foot - 5, yy)
    scene = mix(scene, mix((0.78, 0.84, 0.85), (0.98, 0.99, 0.99), np.clip(foam_tex * 0.3 + 0.6, 0, 1)),
                np.clip(foam * 1.3, 0, 1))
    fluid = cover(fluid, np.clip(foam * 1.3, 0, 1), True)  # white water
    # Boulders in the bottom corners, rounded and lit from the upper left, moss on their tops.
    lumps = np.zeros((h, w), np.float32)
    for _ in range(9):
        side_x = rng.choice([-1, 1])
        bx = w * 0.5 + side_x * w * rng.uniform(0.38, 0.6)
        by = rng.uniform(pool_top + 80, h + 30)
        rx, ry = rng.uniform(40, 110), rng.uniform(25, 60)
        lumps = np.maximum(lumps, 1.0 - ((xx - bx) / rx) ** 2 - ((yy - by) / ry) ** 2 - 0.2 * bumps)
    boulder = (lumps > 0).astype(np.uint8)
    dome = np.sqrt(np.clip(cv2.distanceTransform(boulder, cv2.DIST_L2, 5), 0, 50)) + 0.4 * cracks
    gy, gx = np.gradient(cv2.GaussianBlur(dome, (0, 0), 2.0))
    stone_light = np.clip(0.3 + 0.9 * (-gx - gy) + 0.1 * cracks, 0, 1)
    stone = mix((0.05, 0.045, 0.04), (0.52, 0.47, 0.4), stone_light)
    moss = smoothstep(0.2, 0.9, -gy * 3 + 0.4 * clumps) * smoothstep(0.2, 1.0, leaves + 0.8)
    stone = mix(stone, foliage * (0.6 + 0.5 * stone_light[..., None]), 0.8 * moss)
    scene = mix(scene, stone, cv2.GaussianBlur(boulder.astype(np.float32), (0, 0), 0.8))
    fluid = cover(fluid, cv2.GaussianBlur(boulder.astype(np.float32), (0, 0), 0.8), False)
    # Spray: a soft bright haze rising from the foot.
    mist = np.exp(-(((xx - w / 2) / (w * 0.3)) ** 2 + ((yy - foot) / (h * 0.09)) ** 2))
    mist = mist * (0.35 + 0.1 * spectral_noise(rng, h, w, 2.5, low=3))
    scene = mix(scene, (0.93, 0.95, 0.96), np.clip(mist, 0, 0.45))  # a veil (≤ 0.45): the mask keeps what is behind
    return finish(scene, rng, grain=0.013, vignette=0.22), fluid_mask(fluid)


def paint_clouds(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = h * 0.93
    sun = (w * 0.16, h * 0.06)
    sky = sky_gradient(h, w, horizon, (0.16, 0.36, 0.72), (0.64, 0.77, 0.9), sun, glow=0.25, glow_size=0.3)
    # Cumulus: heaps of puffs with flat bases, smaller and flatter toward the horizon.
    density = np.zeros((h, w), np.float32)
    detail = spectral_noise(rng, h, w, 1.7, low=6)
    billow = np.abs(spectral_noise(rng, h, w, 2.0, low=10))
    for _ in range(26):
        base = rng.uniform(h * 0.25, h * 0.85)
        scale = 0.35 + 0.75 * (1 - base / h) ** 0.8  # nearer clouds (higher up) are bigger
        cx = rng.uniform(-0.05, 1.05) * w
        width = rng.uniform(90, 230) * scale * 1.6
        height = width * rng.uniform(0.45, 0.75)
        heap = np.zeros((h, w), np.float32)
        for _ in range(9):  # puffs stacked on the base
            px = cx + rng.normal(0, width * 0.35)
            r = width * rng.uniform(0.18, 0.32) * (1 - abs(px - cx) / (width * 1.4))
            py = base - r * rng.uniform(0.2, 1.0) - height * 0.4 * np.exp(-((px - cx) / width) ** 2)
            heap = np.maximum(heap, 1 - ((xx - px) ** 2 + ((yy - py) * 1.1) ** 2) / max(r, 4) ** 2)
        flat = smoothstep(base + 4, base - 10 * scale, yy)
        density = np.maximum(density, np.clip(heap, 0, 1) * flat)
    density = np.clip(density * 1.8 + (0.35 * detail - 0.2 * billow) * smoothstep(0.0, 0.2, density), 0, None)
    density = cv2.GaussianBlur(smoothstep(0.0, 0.9, density), (0, 0), 2.0)  # soft, wispy edges
    # A thin, high veil of cirrus across the top.
    cirrus = smoothstep(0.6, 2.2, spectral_noise(rng, h, w, 2.4, (5.0, 1.0), low=2)) * smoothstep(h * 0.5, 0, yy)
    sky = mix(sky, (0.95, 0.96, 0.98), 0.45 * cirrus)
    light = shade_clouds(density, (-0.45, -0.9), steps=10, step_px=5, absorb=0.2)
    light = np.clip(light * 1.05 + 0.08 * detail + 0.05, 0, 0.9)
    scene = cloud_layer(sky, density, light, (1.02, 1.0, 0.97), (0.52, 0.57, 0.68), 1.0)
    # Far clouds fade toward the horizon haze.
    scene = mix(scene, (0.74, 0.82, 0.9), 0.5 * smoothstep(h * 0.55, horizon, yy))
    # A low dark line of hills along the bottom edge.
    hills = ridge(rng, w, horizon + h * 0.03, h * 0.07, 2.2, 1.0)
    land = fill_below(hills, h, 1.2)
    trees = spectral_noise(rng, h, w, 0.9, (0.3, 1.0), low=60)
    land_colour = mix((0.1, 0.14, 0.12), (0.24, 0.3, 0.24), np.clip(0.5 + 0.2 * trees, 0, 1))
    scene = mix(scene, land_colour, land)
    fluid = cover(np.ones((h, w), np.float32), land, False)  # everything above the hills is sky
    return finish(scene, rng, grain=0.01, vignette=0.16), fluid_mask(fluid)


def paint_city_river(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(h, dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    waterline = int(h * 0.6)
    sun = (w * 0.82, h * 0.5)
    sky = sky_gradient(h, w, waterline, (0.2, 0.32, 0.58), (1.0, 0.78, 0.55), sun, sun_colour=(1.0, 0.75, 0.45),
                       glow=0.3, glow_size=0.25)
    tex = spectral_noise(rng, 512, 512, 2.6, (3.0, 1.0), low=2)
    above = rows < waterline
    clouds = np.zeros((h, w), np.float32)
    clouds[above] = plane_lookup(tex, w, rows[above], waterline, 150.0)
    density = smoothstep(0.6, 1.9, clouds) * smoothstep(0, h * 0.25, waterline - rows)[:, None]
    light = shade_clouds(density, (0.8, 0.5), steps=5, step_px=3)
    scene = cloud_layer(sky, density, light, (1.0, 0.78, 0.62), (0.36, 0.33, 0.45), 0.85)
    fluid = np.ones((h, w), np.float32)

    # Skyline: two rows of buildings, the far one hazier, each with rows of windows (some lit).
    quay = waterline - int(h * 0.045)
    for row, (haze, top_range, width_range, lit_share) in enumerate(
            [(0.3, (0.16, 0.36), (40, 90), 0.25), (0.12, (0.3, 0.5), (50, 120), 0.35)]):
        x = -rng.uniform(0, 40)
        while x < w:
            bw = rng.uniform(*width_range)
            top = h * rng.uniform(*top_range)
            if rng.random() < 0.12 and row == 0:
                top = h * 0.09  # a tower
                bw *= 0.6
            x0, x1 = max(0, int(x)), int(min(w, x + bw))
            tone = rng.uniform(0.12, 0.26)
            facade = np.float32([tone * 1.0, tone * 0.95, tone * 1.0])
            block = np.ones((quay - int(top), x1 - x0, 3), np.float32) * facade
            bh, bw_px = block.shape[:2]
            # Sunlit edge on the right side, shade on the left.
            ramp = np.linspace(-0.06, 0.1, bw_px, dtype=np.float32)[None, :, None]
            block = block + ramp
            # Windows.
            wx, wy = rng.integers(7, 12), rng.integers(9, 14)
            gx = (np.arange(bw_px) % wx) < wx * 0.55
            gy = (np.arange(bh) % wy) < wy * 0.55
            grid = gy[:, None] & gx[None, :]
            grid[:4] = False
            cells = rng.random((bh // wy + 1, bw_px // wx + 1))
            lit = (cells < lit_share)[np.arange(bh) // wy][:, np.arange(bw_px) // wx] & grid
            glass = grid & ~lit
            block[glass] = block[glass] * 0.6 + np.float32([0.25, 0.28, 0.36]) * 0.4
            block[lit] = np.float32([1.0, 0.8, 0.45]) * rng.uniform(0.75, 1.0)
            if row == 0 and rng.random() < 0.4:  # a spire or antenna
                cx = (x0 + x1) // 2
                scene[int(top) - 30:int(top), cx - 1:cx + 1] = mix(facade * 0.8, (0.75, 0.8, 0.9), haze)
                fluid[int(top) - 30:int(top), cx - 1:cx + 1] = 0
            scene[int(top):quay, x0:x1] = mix(block, (0.4, 0.38, 0.44), haze)
            fluid[int(top):quay, x0:x1] = 0
            x += bw + rng.uniform(-6, 10)
        if row == 0:
            scene = cv2.GaussianBlur(scene, (0, 0), 0.8)
            fluid = cv2.GaussianBlur(fluid, (0, 0), 0.8)
    # Embankment: a stone quay with a line of trees and lamps, then the river.
    stones = spectral_noise(rng, h, w, 0.8, low=60)
    wall = mix((0.32, 0.28, 0.26), (0.52, 0.46, 0.4), np.clip(0.5 + 0.2 * stones, 0, 1))
    courses = (np.arange(h) % 7 == 0)[:, None, None]
    wall = wall * np.where(courses, 0.8, 1.0)
    scene[quay:waterline] = wall[quay:waterline]
    fluid[quay:waterline] = 0
    for lx in np.arange(30, w, 110) + rng.uniform(-10, 10):
        lx = int(lx)
        scene[quay - 26:quay, lx:lx + 2] = 0.12
        cv2.circle(scene, (lx + 1, quay - 27), 3, (1.0, 0.86, 0.6), -1, cv2.LINE_AA)
        fluid[quay - 26:quay, lx:lx + 2] = 0
        lamp = np.zeros((h, w), np.float32)
        cv2.circle(lamp, (lx + 1, quay - 27), 3, 1.0, -1, cv2.LINE_AA)
        fluid = cover(fluid, lamp, False)
    trees = spectral_noise(rng, h, w, 1.2, low=20)
    crowns = (smoothstep(0.0, 0.9, trees + 0.6 * np.sin(xx / 55.0)) * (yy > quay - 46) * (yy < quay)
              * smoothstep(quay - 46, quay - 32, yy + 10 * trees))
    scene = mix(scene, mix((0.08, 0.12, 0.06), (0.24, 0.3, 0.12), np.clip(0.5 + 0.3 * trees, 0, 1)), crowns * 0.95)
    fluid = cover(fluid, crowns * 0.95, False)

    # A stone arch bridge crossing in the middle distance on the left.
    deck_top, deck_bottom = waterline - int(h * 0.13), waterline - int(h * 0.1)
    bx0, bx1 = 0, int(w * 0.62)
    bridge = np.zeros((h, w), np.float32)
    bridge[deck_top:waterline, bx0:bx1] = 1
    span = (bx1 - bx0) / 4
    for i in range(4):
        cx = bx0 + span * (i + 0.5)
        arch = ((xx - cx) / (span * 0.4)) ** 2 + ((yy - waterline) / (waterline - deck_bottom - 6)) ** 2 < 1
        bridge[arch] = 0
    bridge = cv2.GaussianBlur(bridge, (0, 0), 0.6)
    bridge_colour = mix((0.42, 0.36, 0.32), (0.66, 0.56, 0.46), np.clip(0.5 + 0.2 * stones, 0, 1))
    bridge_colour[deck_top:deck_top + 3] *= 1.15  # parapet catches the light
    scene = mix(scene, bridge_colour, bridge)
    fluid = cover(fluid, bridge, False)

    # The river: the city mirrored, rippled into vertical streaks of light, greener and darker toward us.
    rip_tex = spectral_noise(rng, 512, 512, 2.0, (8.0, 1.0), low=4)
    below, ripple, reflection, near = rippled_mirror(scene, rows, waterline, rip_tex, waterline - 3, 300.0, 4.0, 11)
    rip = ripple[below]
    water = reflection * (0.72 - 0.25 * near) + np.float32([0.05, 0.14, 0.22]) * (0.45 + 0.5 * near)
    water = water * (1 + 0.12 * np.clip(rip, -2, 2)[..., None])
    scene[waterline:] = water
    fluid[waterline:] = 1
    # A shadow line where the quay meets the water.
    scene[waterline:waterline + 2] *= 0.6
    return finish(scene, rng, grain=0.013, vignette=0.2), fluid_mask(fluid)


PAINTERS = {"lake": paint_lake, "sea": paint_sea, "waterfall": paint_waterfall, "clouds": paint_clouds,
            "city-river": paint_city_river}


def paint_with_mask(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The scene ``name`` as an RGB uint8 array [H,W,3] and its exact fluid mask, uint8 [H,W] (255 = sky, clouds
    included, or water: lake, river, sea with its foam, the waterfall's pool and falling column; 0 = land, rocks,
    buildings, trees, shore, quay). Same seed → same pixels."""
    w, h = SIZES[name]
    rng = np.random.default_rng(SEEDS[name])
    image, fluid = PAINTERS[name](rng, w, h)
    assert image.shape == (h, w, 3) and image.dtype == np.uint8
    assert fluid.shape == (h, w) and fluid.dtype == bool
    return image, fluid.astype(np.uint8) * 255


def paint(name: str) -> np.ndarray:
    """The scene ``name`` as an RGB uint8 array [H,W,3] (same seed → same pixels)."""
    return paint_with_mask(name)[0]


def paint_fluid_mask(name: str) -> np.ndarray:
    """The reference fluid mask of the scene ``name``: uint8 [H,W], 0 or 255 (see ``paint_with_mask``)."""
    return paint_with_mask(name)[1]


def save(name: str, folder: Path = HERE, mask_folder: Path | None = MASKS) -> Path:
    """Write ``<name>.jpg`` into ``folder`` and, unless ``mask_folder`` is None, ``<name>_fluid_mask.png`` into it."""
    image, mask = paint_with_mask(name)
    path = folder / f"{name}.jpg"
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    assert ok
    path.write_bytes(data.tobytes())
    if mask_folder is not None:
        mask_folder.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(".png", mask, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        assert ok
        (mask_folder / f"{name}{MASK_SUFFIX}").write_bytes(data.tobytes())
    return path


def main(names: list[str]) -> None:
    for name in names or list(PAINTERS):
        path = save(name)
        print(f"{path.name}: {SIZES[name][0]}×{SIZES[name][1]}, {path.stat().st_size / 1e3:.0f} kB; "
              f"masks/{name}{MASK_SUFFIX}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
