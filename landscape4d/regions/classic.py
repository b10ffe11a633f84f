"""Weight-free sky and water masks from colour, texture and layout.

Sky: pixels that are smooth (or bright and only softly textured, like clouds), not vegetation, and connected to the
top border seed a colour model; GrabCut (GMM colour model + graph cut) grows and trims that seed along real edges;
the result is kept only where it stays connected to the seeds, small enclosed holes (cloud texture) are filled, and
the boundary is refined at full resolution with a guided filter, then each pixel near it, where it runs along a
real edge, goes to the side whose local colour it clearly has (``_snap_to_colour``, sky and water alike); where it lies on a strong edge (a roof's, a
tree's, a ridge's outline) its outermost pixel goes to the object, so the outline does not drift. A photo whose top
is foliage or rock has no seed and so no sky; a clouds-only photo is seed almost everywhere and becomes all sky.
When the seeds run across a strong straight horizon (a pale sea under a pale sky), or a softer one that is a far
shore (a thin darker or textured band between two pale areas, in a photo with ground at the bottom), the sky stops
at that line, and the sky-like pixels cut off below it are scored as water (a reflection of the sky); the smooth
ones that touch the sky and do not turn out to be water go back to the sky (a low bank of cloud is no far shore).

Water: superpixels below the sky line are scored by cues that hold for water in general — ripples and reflections
make its texture mostly horizontal, its colour is blue/cyan/teal, grey, or the sky's own colour, and it is smooth
to moderately textured — and vegetation or earth colours veto it. White, unsaturated, textured foam (rapids,
waterfalls, surf) counts when it touches other water or is large and low in the frame, but not when it touches the
sky (cloud, mist, snow); falling foam (a tall, vertically streaked column) continues down its own columns through
pale, vertically streaked segments (the same fall in shade), and the white churn at its foot next to the pool joins
too. Water above a lake's straight far shore is cut off (hazy hills), segments crossed by very high-contrast
straight lines, or lying between two such parallel lines close together, are vetoed (railings, quays, a bundle of
pipes seen side-on), segments enclosed by calm water yet clearly darker and twice as textured as it are land
(islands, rocks, boats), and connected regions that are small (< 2 % of the photo), thin, high in the frame, or
meet the sky along a ridge are dropped. "Foam" darker than the water it touches is not foam (sunlit foliage on a
bright lake's shore). Water whose hue jumps from pixel to pixel (a mosaic of pigments: a tower's painted eaves
among its tiles) is dropped unless it mirrors the shore: water's hue is uniform at that scale. A calm piece of a
confident lake cut off by something in front of it (a tower, a tree) joins it when it lies at the lake's rows and
shares its hue, however small. The rules prefer missing some water over moving a meadow.

Each connected sky or water region then gets a confidence in [0, 1] and a note of its evidence (``RegionMasks.
regions``); only regions at ``ACCEPT_CONFIDENCE`` or above move, the rest are suggestions the app offers:
- sky: daylight-bright (or deep blue, or brighter than the land: a dusk sky), touching the top edge, mostly smooth
  or cloud-like; bright vertical streaks reaching the top are falling water, not sky. Blue gaps between clouds
  that the crisp cloud edges cut off are added; textured rows along the horizon (far hills in the haze) are
  peeled off.
- water: the mean per-pixel water score, raised by mirror symmetry about a waterline (``evidence``: calm water
  mirrors the shore, whatever its colour; nothing above that waterline is water, and segments across it are cut
  in two there, so a dark forest and its dark reflection are judged apart), lowered to a suggestion when
  the region is only grey without ripples (asphalt, gravel, rock, concrete) or lies in a road wedge (straight
  edges converging toward the horizon). The sea ends at its level horizon; water reaching up to the sky loses
  its textured top band (the far shore: rows textured across most of their width, not just beside an island).
  Near-black teal is shade; foam must be streaked (not blossom, snow or gravel) and must not lie along strong
  straight lines (pipes, railings). Pale vertical streaks reaching the water are suggested as a waterfall.

An underexposed photo (its brightest 0.5 % of pixels below ``UNDEREXPOSED_LUMA``) is brightened first, as a camera's
auto-exposure would: the rules' brightness thresholds (a daylight sky, foam) are for a normally exposed photo. A
night photo with lights in it keeps its exposure.

Everything runs on a copy at most ``work_long_side`` px long (~0.3–0.5 s at the default) and is deterministic
(GrabCut's k-means seeding uses OpenCV's RNG, which is re-seeded before each call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..imageops import HorizontalLine, find_horizontal_lines, guided_filter, resize_long_side
from .evidence import find_mirror_axes, mirror_maps, reflection_symmetry, road_wedges

if TYPE_CHECKING:
    from . import RegionMasks

GRABCUT_SEED = 0x5EED


@dataclass
class _Features:
    """Per-pixel cues at the working size of the classifier."""

    rgb: np.ndarray  # [h,w,3] float32 in [0,1]
    gray: np.ndarray  # [h,w] float32, lightly blurred
    lab: np.ndarray  # [h,w,3] float32, L in [0,100]
    edge: np.ndarray  # [h,w] gradient magnitude (per pixel, for cutting connections at edges)
    texture: np.ndarray  # [h,w] local mean gradient magnitude
    gxx: np.ndarray  # [h,w] local mean of horizontal-gradient energy (vertical structures)
    gyy: np.ndarray  # [h,w] local mean of vertical-gradient energy (horizontal structures: ripples)
    saturation: np.ndarray  # [h,w] (max − min) / max
    value: np.ndarray  # [h,w] max channel
    vegetation: np.ndarray  # [h,w] in [0,1]: how much green dominates red and blue


class ClassicRegions:
    """Weight-free sky/water estimator (see module docstring)."""

    def __init__(self, work_long_side: int = 256, min_sky_fraction: float = 0.01, min_water_fraction: float = 0.02):
        self.work_long_side = work_long_side
        self.min_sky_fraction = min_sky_fraction
        self.min_water_fraction = min_water_fraction

    def __call__(self, image: np.ndarray) -> RegionMasks:
        from . import Region, RegionMasks  # at call time: the package imports this module first

        image = _as_float_rgb(image)
        height, width = image.shape[:2]
        small = normalise_exposure(resize_long_side(image, self.work_long_side))
        features = _features(small)
        sky_soft, below_horizon = _sky_and_cut(features, self.min_sky_fraction)
        sky_small = _peel_textured_bottom(features, _add_sky_gaps(features, sky_soft > 0.5))
        details: dict = {}
        water_small = water_mask(features, sky_small, self.min_water_fraction, sky_like=below_horizon, details=details)
        sky_small = _return_dry_cut(features, sky_small, below_horizon & ~water_small)
        water_small = _cut_above_sea_horizon(water_small, sky_small)
        water_small = _trim_far_shore_band(features, water_small, sky_small)
        found = _scored_components(features, sky_small, water_small, details, self.min_water_fraction)
        regions = []
        taken = np.zeros((height, width), bool)
        # The working mask's outline is uncertain by about 1.5 working pixels: that many full-size pixels get snapped.
        band = max(2, round(1.5 * max(height, width) / max(small.shape[:2])))
        for kind, mask_small, confidence, evidence in found:  # sky first: one pixel has one role
            mask = _refine_to(mask_small.astype(np.float32), image, (height, width)) & ~taken
            mask = _snap_to_colour(mask, image, band) & ~taken
            if kind == "sky":
                mask = _off_object_edges(mask, image)
            mask = _drop_small(mask, 0.25 * (self.min_sky_fraction if kind == "sky" else self.min_water_fraction))
            if mask.any():
                regions.append(Region(kind, mask, confidence, evidence))
                taken |= mask if kind == "sky" else np.zeros_like(mask)
        regions.sort(key=lambda r: (-r.confidence, -r.share))
        sky = np.zeros((height, width), bool)
        water = np.zeros((height, width), bool)
        for region in regions:
            if region.accepted:
                (sky if region.kind == "sky" else water)[region.mask] = True
        return RegionMasks(sky=sky, water=water & ~sky, regions=regions)


# ---------------------------------------------------------------------------------------------------------------
# Features


UNDEREXPOSED_LUMA = 0.45  # below this 99.5th-percentile luma a photo counts as underexposed
EXPOSED_LUMA = 0.85  # ... and is brightened so that percentile lands here
MAX_EXPOSURE_GAIN = 6.0


def normalise_exposure(rgb: np.ndarray) -> np.ndarray:
    """[H,W,3] in [0,1]: ``rgb`` brightened (one gain, clipped) when it is underexposed (see module docstring)."""
    luma = cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2GRAY)  # the weights _features uses
    top = float(np.percentile(luma, 99.5))
    if top >= UNDEREXPOSED_LUMA or top <= 0.0:
        return rgb
    return np.clip(rgb * min(EXPOSED_LUMA / top, MAX_EXPOSURE_GAIN), 0.0, 1.0).astype(np.float32)


def _as_float_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H,W,3] RGB, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def _features(rgb: np.ndarray) -> _Features:
    gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
    # Sobel 3×3 sums 4 weighted differences; /4 makes it a per-pixel intensity step.
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 4.0
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 4.0
    edge = np.sqrt(gx * gx + gy * gy)
    texture = cv2.blur(edge, (5, 5))
    gxx = cv2.blur(gx * gx, (7, 7))
    gyy = cv2.blur(gy * gy, (7, 7))
    value = rgb.max(axis=2)
    saturation = (value - rgb.min(axis=2)) / np.maximum(value, 1e-3)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Teal water has green ≈ blue; foliage and grass have green clearly above both red and blue.
    vegetation = np.clip(((green - np.maximum(red, blue)) / np.maximum(value, 1e-3) - 0.1) / 0.12, 0.0, 1.0)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return _Features(rgb, gray, lab, edge, texture, gxx, gyy, saturation, value, vegetation)


# ---------------------------------------------------------------------------------------------------------------
# Sky


def _sky_and_cut(features: _Features, min_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Sky mask [h,w] (0/1 float) and the sky-like seeds cut off below a sea horizon or far shore [h,w] bool
    (water candidates: a pale lake under a pale sky)."""
    height, width = features.gray.shape
    area = height * width
    candidate = _sky_candidates(features)
    seeds = _connected_to_top(candidate, 0.25 * min_fraction)
    cut = _sea_horizon(features, seeds)
    cut_off = np.zeros((height, width), bool)
    if cut is not None:  # the sea below a straight horizon looks like sky: the sky stops at the line
        cut_off = seeds & cut.below((height, width), margin=1.0)
        above = ~cut.below((height, width), margin=-1.0)
        seeds = _connected_to_top(candidate & above, 0.25 * min_fraction)
    if seeds.sum() < min_fraction * area:
        return np.zeros((height, width), np.float32), cut_off
    sky = _grow_sky(features, seeds, cut, min_fraction)
    return sky, cut_off & ~(sky > 0.5)


def _return_dry_cut(features: _Features, sky: np.ndarray, dry: np.ndarray) -> np.ndarray:
    """The sky plus the smooth sky-like pixels a far-shore line cut off that turned out not to be water (``dry``):
    a bank of cloud low in the sky looks like a far shore, and the open sky below it is still sky. Only smooth
    parts that touch the sky come back (haze over distant land, the far shore itself, is textured)."""
    smooth = dry & (features.texture < 0.035) & (features.vegetation < 0.2)
    if not smooth.any():
        return sky
    near_sky = cv2.dilate(sky.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    count, labels = cv2.connectedComponents(smooth.astype(np.uint8), connectivity=4)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[smooth & near_sky])] = True
    keep[0] = False
    return sky | keep[labels]


def _grow_sky(features: _Features, seeds: np.ndarray, cut: HorizontalLine | None, min_fraction: float) -> np.ndarray:
    height, width = features.gray.shape
    area = height * width
    # Hard background: strongly textured or clearly green pixels never are sky.
    background = ((features.texture > 0.14) | (features.vegetation > 0.5)) & ~seeds
    if cut is not None:
        background |= cut.below((height, width), margin=1.0)
    if background.sum() < 0.02 * area or (~seeds).sum() < 0.02 * area:
        # Nothing that is clearly not sky (clouds-only photo): the seeds, with holes filled, are the sky.
        return _fill_small_holes(seeds, 1.0).astype(np.float32)
    core = cv2.erode(seeds.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & (features.texture < 0.04)
    mask = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    mask[seeds] = cv2.GC_PR_FGD
    mask[core] = cv2.GC_FGD
    mask[background] = cv2.GC_BGD
    if not (mask == cv2.GC_FGD).any():
        mask[seeds] = cv2.GC_FGD
    image8 = np.clip(features.rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    cv2.setRNGSeed(GRABCUT_SEED)  # GrabCut seeds its GMMs with k-means++ from OpenCV's RNG
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(image8, mask, None, bgd_model, fgd_model, 4, cv2.GC_INIT_WITH_MASK)
        sky = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    except cv2.error:  # degenerate colour statistics (e.g. a flat image): fall back to the seeds
        sky = seeds
    sky = _keep_touching(sky, seeds)
    sky = _fill_small_holes(sky, 0.005)
    sky = _drop_small(sky, min_fraction)
    return sky.astype(np.float32)


def _sky_candidates(features: _Features) -> np.ndarray:
    """Pixels that may be sky: smooth, or cloud-like (bright, greyish, softly textured); not green, not dark."""
    smooth = features.texture < 0.035
    cloudy = (features.texture < 0.12) & (features.value > 0.5) & (features.saturation < 0.3)
    candidate = (smooth | cloudy) & (features.vegetation < 0.2) & (features.value > 0.15)
    return candidate & (features.edge < 0.06)  # crisp edges (skylines, ridges) break the connection


def _lab_unit(features: _Features) -> np.ndarray:
    """Lab with all three channels on a comparable ~[0,1] scale (ΔE 100 ≈ 1)."""
    return cv2.GaussianBlur(features.lab, (0, 0), 1.0) / 100.0


def _connected_to_top(candidate: np.ndarray, min_fraction: float) -> np.ndarray:
    """Components of ``candidate`` (4-connected) that reach the top rows and are not tiny."""
    height, width = candidate.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=4)
    top_rows = max(2, height // 40)  # a thin frame or scanner border must not hide the sky
    keep = np.zeros(count, bool)
    keep[np.unique(labels[:top_rows][candidate[:top_rows]])] = True
    keep &= stats[:, cv2.CC_STAT_AREA] >= min_fraction * height * width
    keep[0] = False
    return keep[labels]


def _sea_horizon(features: _Features, seeds: np.ndarray) -> HorizontalLine | None:
    """The straight horizon that sky seeds leak across (sea or haze below it), if there is one.

    A line qualifies when seeds lie on both sides and less of the seed area is below it than above it (a
    straight edge near the top of the sky, like a contrail, does not cut the sky in two).
    """
    height, width = seeds.shape
    best: HorizontalLine | None = None
    # Only columns where the seeds are: the horizon may show only between two mountains.
    support = cv2.dilate(seeds.astype(np.uint8), np.ones((5, 5), np.uint8))
    # A softer line qualifies too when it is a far shore: a thin band of darker or textured content (distant
    # trees, city, islands, boats) between two pale areas, in a photo whose bottom is ground, not more sky.
    has_ground = seeds[int(0.9 * height) :].mean() < 0.5
    min_strength = WEAK_HORIZON_STRENGTH if has_ground else STRONG_HORIZON_STRENGTH
    for line in find_horizontal_lines(_lab_unit(features), min_strength=min_strength, weight=support):
        below = line.below((height, width), margin=1.0)
        seeds_below = float((seeds & below).sum())
        seeds_above = float((seeds & ~below).sum())
        if not 0.005 * seeds.size < seeds_below < 0.5 * seeds_above:
            continue
        if line.strength < STRONG_HORIZON_STRENGTH and _shore_band_fraction(features, seeds, line) < 0.4:
            continue
        if best is None or line.strength > best.strength:
            best = line
    return best


SURF_BRIGHTER = 3.0  # surf is at least this much lighter (Lab L) than the water it touches
SURF_REACH = 31  # px at the working size: the open water a surf segment is compared with lies this close
FOAM_MIN_TEXTURE = 0.04  # foam is textured (mean gradient at the working size)
FOAM_RINGS = 4  # foam-like components that may join through foam already joined, one neighbour at a time
SURF_RINGS = 6  # rings of surf segments that may join the water, one ring of neighbours at a time
STRONG_HORIZON_STRENGTH = 0.08  # a straight Lab step this strong is a horizon on its own
WEAK_HORIZON_STRENGTH = 0.045  # a softer one needs a far-shore band along it


def _shore_band_fraction(features: _Features, seeds: np.ndarray, line: HorizontalLine) -> float:
    """Of the columns with sky seeds both just above and just below ``line``, the fraction where the line is a
    thin band darker than both sides or textured (a distant shore) rather than a soft step between two hazes."""
    height, width = seeds.shape
    near, far, half = max(3, height // 50), max(8, height // 16), max(2, height // 80)
    centre = np.round(line.rows(width)).astype(int)
    columns = np.arange(width)

    def rows_of(start: int, stop: int) -> np.ndarray:
        return np.clip(centre[None, :] + np.arange(start, stop)[:, None], 0, height - 1)

    lightness = features.lab[..., 0]
    above_rows, below_rows, band_rows = rows_of(-far, -near), rows_of(near + 1, far + 1), rows_of(-half, half + 1)
    seeded = seeds[above_rows, columns].any(axis=0) & seeds[below_rows, columns].any(axis=0)
    if seeded.sum() < 0.1 * width:
        return 0.0
    above = np.median(lightness[above_rows, columns], axis=0)
    below = np.median(lightness[below_rows, columns], axis=0)
    band = lightness[band_rows, columns].min(axis=0)
    textured = features.texture[band_rows, columns].max(axis=0) > 0.04
    shore = (np.minimum(above, below) - band > 3.0) | textured
    return float(shore[seeded].mean())


# ---------------------------------------------------------------------------------------------------------------
# Water


def water_mask(
    features: _Features,
    sky: np.ndarray,
    min_fraction: float = 0.02,
    sky_like: np.ndarray | None = None,
    details: dict | None = None,
) -> np.ndarray:
    """Water [h,w] bool at the feature size (see module docstring).

    ``sky_like`` [h,w] bool marks pale, smooth pixels that looked like sky but lie below the horizon (cut off
    by the sky detector): below the horizon the sky's look means a reflecting water surface. ``details``, when
    given, receives the per-pixel water score (``score``, [h,w] in [0,1]) and foam (``foam``, [h,w] bool).
    """
    from skimage.segmentation import felzenszwalb

    height, width = features.gray.shape
    area = height * width
    horizon = _sky_line(sky)
    rows = np.arange(height)[:, None]
    below = rows > horizon[None, :]  # strictly below the lowest sky pixel of each column
    if not below.any():
        return np.zeros((height, width), bool)

    segments = felzenszwalb(features.rgb, scale=80, sigma=0.6, min_size=max(10, area // 2000))
    # Calm water mirrors the shore above it (whatever its colour: a forest's reflection is green).
    mirror_axes, mirror_maps = _mirror_evidence(features, horizon)
    if mirror_axes:
        segments = _split_at_waterline(segments, min(mirror_axes))
    count = int(segments.max()) + 1
    flat = segments.ravel()
    size = np.bincount(flat, minlength=count).astype(np.float64)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=values.ravel().astype(np.float64), minlength=count) / np.maximum(size, 1)

    red, green, blue = (mean(features.rgb[..., c]) for c in range(3))
    value = np.maximum(np.maximum(red, green), blue)
    saturation = (value - np.minimum(np.minimum(red, green), blue)) / np.maximum(value, 1e-3)
    texture = mean(features.texture)
    horizontal = mean(features.gyy) / np.maximum(mean(features.gxx) + mean(features.gyy), 1e-8)
    below_fraction = mean(below.astype(np.float32))
    vegetation = mean(features.vegetation)

    # Colour cues: blue/cyan/teal water, dark-to-mid grey water, the sky's own colour (reflections). Bright
    # greys count only through the sky colour or as textured foam: smooth bright grey is concrete or metal.
    lightness = mean(features.lab[..., 0])
    bluish = (
        np.clip(((blue - red) / np.maximum(value, 1e-3) + 0.02) / 0.15, 0, 1)
        * np.clip((blue / np.maximum(green, 1e-3) - 0.7) / 0.2, 0, 1)
        * np.clip((saturation - 0.08) / 0.1, 0, 1)  # a faint blue cast on white (clouds, snow) is not water
        * np.clip((lightness - 15.0) / 15.0, 0, 1)  # near-black teal is a shaded slope, not open water
    )
    greyish = np.clip((0.22 - saturation) / 0.12, 0, 1) * np.clip((0.7 - value) / 0.1, 0, 1)
    colour = np.maximum(bluish, greyish)
    sky_colour = np.zeros_like(colour)
    if sky.any():
        # A reflection has the sky's hue but is darker than the sky (water reflects well below 100 %); clouds
        # and snow that only look like the sky are as bright as it.
        sky_lab = features.lab[sky].mean(axis=0)
        seg_lab = np.stack([mean(features.lab[..., c]) for c in range(3)], axis=1)
        chroma_delta = np.linalg.norm(seg_lab[:, 1:] - sky_lab[1:], axis=1)
        darker = np.clip((sky_lab[0] + 3.0 - seg_lab[:, 0]) / 10.0, 0, 1)
        sky_colour = np.clip((15.0 - chroma_delta) / 8.0, 0, 1) * darker
        colour = np.maximum(colour, sky_colour)
    # Grey alone (no blue, not the sky's colour) is as much asphalt, gravel, rock or concrete as water.
    grey_only = greyish > np.maximum(bluish, sky_colour) + 0.2
    earthy = np.clip(((red - blue) / np.maximum(value, 1e-3) - 0.15) / 0.15, 0, 1) * (saturation > 0.2)
    colour *= (1.0 - np.clip(vegetation / 0.4, 0, 1)) * (1.0 - earthy)

    # Long high-contrast straight lines inside a segment mean railings, walls or quays, not water: natural
    # shorelines are as straight but lie on a segment's border, and haze softens distant horizons.
    man_made = np.zeros((height, width), bool)
    near_line = np.zeros((height, width), bool)  # bands around those lines: pipes, railings, kerbs are thin
    strong_lines = find_horizontal_lines(features.gray, max_tilt_deg=8.0, min_strength=0.2, max_lines=8)
    for line in strong_lines:
        rows_at = line.rows(width)[None, :]
        man_made |= np.abs(rows - rows_at) <= 1.5
        near_line |= np.abs(rows - rows_at) <= max(3.0, 0.025 * height)
    bands = _straight_bands(strong_lines, (height, width))
    man_made |= bands
    near_line |= bands
    lined = mean(man_made.astype(np.float32)) > 0.35

    ripples = np.clip((horizontal - 0.55) / 0.2, 0, 1)
    smooth = np.clip((0.25 - texture) / 0.15, 0, 1)
    score = colour * (0.6 * ripples + 0.4 * smooth)
    if sky_like is not None and sky_like.any():
        # Sky-looking and smooth (or rippled) below the horizon: a reflection of that sky, i.e. water.
        mirror = np.clip((mean(sky_like.astype(np.float32)) - 0.3) / 0.3, 0, 1) * (1.0 - np.clip(vegetation / 0.4, 0, 1))
        score = np.maximum(score, mirror * np.maximum(ripples, smooth))
    mirror = np.max([mean(m) for m in mirror_maps] or [np.zeros(count)], axis=0)
    score = np.maximum(score, np.clip((mirror - 0.25) / 0.3, 0, 1))
    water_seg = (score > 0.45) & (below_fraction > 0.8) & ~lined
    if mirror_axes:  # what a calm lake mirrors stands above its waterline: nothing there is water
        below_fraction = np.minimum(below_fraction, mean(np.broadcast_to(rows > min(mirror_axes), (height, width)).astype(np.float32)))
        water_seg &= below_fraction > 0.8

    # Foam is streaked: falling water vertically, surf and rapids along the flow; blossom, snow and gravel are not.
    streaked = np.abs(horizontal - 0.5) > 0.12
    # Bright smooth metal or stone along strong straight lines (pipes, railings) is not foam either.
    foam_like = ((value > 0.7) & (saturation < 0.15) & (below_fraction > 0.8) & ~lined & streaked
                 & (mean(near_line.astype(np.float32)) < 0.5))
    foam_seg = foam_like & (texture > FOAM_MIN_TEXTURE)
    water = water_seg[segments]
    if mirror_axes:
        water &= rows > min(mirror_axes)
    foam = foam_seg[segments]
    water = _drop_small(water, 0.5 * min_fraction)
    water = _cut_above_far_shore(features, water)
    weak_foam = (foam_like & (texture > 0.5 * FOAM_MIN_TEXTURE))[segments] & ~foam
    joined = _foam_that_joins(features.lab[..., 0], foam, weak_foam, water, sky, min_fraction)
    foam = foam | (joined & weak_foam)
    water |= joined
    # Surf under coloured light (golden hour tints foam, so it fails the white-foam test): bright, moderately
    # unsaturated, textured, horizontally streaked segments well below the horizon that touch the water join it,
    # a ring at a time (a sandy beach is smooth or saturated, rocks are dark, pipes and quays lie along lines).
    # Surf breaks on the near side and is lighter than its water: only below the water's middle row (a hazy far
    # shore looks the same) and lighter than the water (a hazy wooded shore is darker).
    surf_seg = ((value > 0.6) & (saturation < 0.35) & (texture > 0.04) & (horizontal > 0.55) & (below_fraction > 0.95)
                & ~lined & (vegetation < 0.1) & (mean(near_line.astype(np.float32)) < 0.5))
    if water.any():
        surf_seg &= mean(np.broadcast_to(rows, (height, width)).astype(np.float32)) > np.median(np.nonzero(water)[0])
    if surf_seg.any() and water.any():
        open_water = water.copy()  # surf is compared with the water it breaks on (or the water beside it)
        for _ in range(SURF_RINGS):
            touching = np.unique(segments[cv2.dilate(water.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~water])
            grow = np.zeros(count, bool)
            for label in touching[surf_seg[touching]]:
                inside = segments == label
                near = cv2.dilate(inside.astype(np.uint8), np.ones((SURF_REACH, SURF_REACH), np.uint8)).astype(bool) & open_water
                ring = cv2.dilate(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & water
                reference = min(features.lab[..., 0][near if near.any() else open_water].mean(),
                                features.lab[..., 0][ring].mean() if ring.any() else np.inf)
                grow[label] = lightness[label] > reference + SURF_BRIGHTER
            if not grow.any():
                break
            water |= grow[segments]
            surf_seg &= ~grow
    fall_seg = ((value > FALL_MIN_VALUE) & (saturation < 0.15) & (1.0 - horizontal > FALL_MIN_VERTICAL)
                & (texture > 0.01) & (below_fraction > 0.8) & ~lined & (vegetation < 0.1))
    falling = _falling_water(features, foam & water)
    fall = _continue_falling_water(segments, fall_seg, falling)
    churn_seg = ((value > 0.6) & (saturation < 0.2) & (texture > 0.03) & (below_fraction > 0.8) & ~lined
                 & (vegetation < 0.1) & (mean(near_line.astype(np.float32)) < 0.5))
    water |= fall | _churn_at_the_foot(segments, churn_seg, fall, water)
    water = _fill_small_holes(water, 0.003)
    # Deep water's own colour is a saturated blue or teal; distant land in the haze is greyed.
    water_coloured = (saturation > 0.25) & (blue > red)
    water &= ~_islands(features, segments, water, foam, (mirror > 0.35) | water_coloured)
    pixel_score = np.where(foam, np.maximum(score[segments], 0.6), score[segments]).astype(np.float32)
    water = _plausible_water_bodies(water, sky, min_fraction)
    # A mosaic of pigments (painted eaves among tiles) is no water, nor a reference for the pieces of one below.
    mirrored = mirror[segments] > 0.35
    water &= ~_mottled(features, water, mirrored)
    # Calm water that lacks only ripples: water-coloured, smooth, neither grey alone nor green, off straight lines.
    calm_seg = (score >= CALM_MIN_SCORE) & (below_fraction > 0.8) & ~lined & ~grey_only & (vegetation < 0.1)
    pieces, inherited = _pieces_of_the_same_water(
        features, calm_seg[segments] & ~water, water, pixel_score, min_fraction
    )
    pieces &= ~_mottled(features, pieces, mirrored)
    water |= pieces
    if details is not None:
        details["score"] = np.where(pieces, inherited, pixel_score).astype(np.float32)
        details["foam"] = foam & water
        details["grey_only"] = grey_only[segments] & ~foam
        details["ripples"] = ripples[segments].astype(np.float32)
        details["mirror"] = mirror[segments].astype(np.float32)
        details["same_water"] = pieces
    return water


CALM_MIN_SCORE = 0.35  # a segment's water score without ripples tops out at 0.4 (colour × smoothness)
SAME_WATER_HUE = 3.0  # a*b*: the least hue range a surface is granted (a just-visible step)…
SAME_WATER_LIGHTNESS = 15.0  # …while its lightness varies with what it mirrors and the angle it is seen at
CONFIDENT_WATER_SCORE = 0.6  # the mean score at which a body is water on its own evidence (confidence 1)


def _hue_reach(lab: np.ndarray, centre: np.ndarray) -> float:
    """How far (a*b*) the hues of ``lab`` [n,3] spread around ``centre``: the 95th percentile, at least
    ``SAME_WATER_HUE``."""
    return max(SAME_WATER_HUE, float(np.percentile(np.linalg.norm(lab[:, 1:] - centre[1:], axis=1), 95)))


def _pieces_of_the_same_water(
    features: _Features, calm: np.ndarray, water: np.ndarray, score: np.ndarray, min_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of a found water body that a foreground object cuts off from it ([h,w] bool), and the score
    each inherits from its body ([h,w]).

    A tower, a tree or a pillar in front of a lake splits it into pieces, and a piece cut off that way can be too
    small to count as water and, when calm, too smooth to show ripples. The surface is one horizontal plane, so
    the pieces lie at the rows of the body and not above its far shore, and under one sky they share its hue
    though their lightness may differ with what they mirror (``SAME_WATER_LIGHTNESS``).
    A connected patch of ``calm`` pixels (smooth and water-coloured, not grey alone, off straight lines) that is
    at least a quarter of the minimum water size (the final size floor: the body it continues is large enough),
    does not touch the water (something stands between them; a patch beside the water, or an island in it, was
    judged on its own), starts at the rows of a body found with confident evidence (mean score ≥
    ``CONFIDENT_WATER_SCORE``), no higher than its top, and has its colour there (the hue ranges of both
    overlap: each its median ± the 95th percentile of its pixels' distances from it), joins as water with the
    body's score, grown over the adjacent pixels that look like it (``_grow_alike``). Hazy hills beyond a lake
    lie above its far shore; roofs and walls beside it differ in hue or lightness or lie on straight lines; and
    nothing joins without a confident body.
    """
    height, width = water.shape
    pieces = np.zeros((height, width), bool)
    inherited = np.zeros((height, width), np.float32)
    if not water.any() or not calm.any():
        return pieces, inherited
    count, bodies = cv2.connectedComponents(water.astype(np.uint8), connectivity=8)
    confident = []
    for body in range(1, count):
        part = bodies == body
        body_score = float(score[part].mean())
        if body_score >= CONFIDENT_WATER_SCORE:
            rows = np.nonzero(part.any(axis=1))[0]
            confident.append((part, body_score, rows[0], rows[-1]))
    if not confident:
        return pieces, inherited
    lab = features.lab
    count, labels, stats, _ = cv2.connectedComponentsWithStats(calm.astype(np.uint8), connectivity=4)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < 0.25 * min_fraction * water.size:
            continue
        part = labels == label
        outline = cv2.dilate(part.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~part
        if outline[water].any():
            continue  # it touches the water: nothing stands between them, and on its own it was not water
        top = stats[label, cv2.CC_STAT_TOP]
        bottom = top + stats[label, cv2.CC_STAT_HEIGHT] - 1
        colour = np.median(lab[part], axis=0)
        for body, body_score, body_top, body_bottom in confident:
            if top < body_top or top > body_bottom:
                continue
            beside = body.copy()
            beside[: top] = False
            beside[bottom + 1 :] = False
            if beside.sum() < 20:
                continue
            body_colour = np.median(lab[beside], axis=0)
            hue = float(np.linalg.norm(colour[1:] - body_colour[1:]))
            lightness = abs(float(colour[0] - body_colour[0]))
            # One surface: the hue ranges of the piece and of the body overlap.
            reach = _hue_reach(lab[beside], body_colour) + _hue_reach(lab[part], colour)
            if hue <= reach and lightness <= SAME_WATER_LIGHTNESS:
                part = _grow_alike(features, part, ~water & ~pieces & (np.arange(height)[:, None] >= body_top))
                pieces |= part
                inherited[part] = body_score
                break
    return pieces, inherited


def _grow_alike(features: _Features, part: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """``part`` grown (4-connected) through ``allowed`` pixels that look like it: Lab colour like its own (as
    ``_snap_to_colour`` judges "like": within ``SNAP_LIKE`` of its spread about its median, noise included) and
    no sharper edge than its own 95th percentile. A smooth surface's segment often stops short of its real edge,
    where the segmentation gave its last rows to the neighbour (a hazy shore); those rows look like it."""
    lab = features.lab
    colour = np.median(lab[part], axis=0)
    spread = np.sqrt(float(np.mean(np.sum((lab[part] - colour) ** 2, axis=-1))) + SNAP_NOISE**2)
    alike = np.linalg.norm(lab - colour, axis=-1) <= SNAP_LIKE * spread
    alike &= features.edge <= float(np.percentile(features.edge[part], 95))
    grown = (alike & allowed) | part
    count, labels = cv2.connectedComponents(grown.astype(np.uint8), connectivity=4)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[part])] = True
    keep[0] = False
    return keep[labels]


HUE_MOTTLE = 3.5  # ΔH*ab: 1.5 just-noticeable steps (2.3), the larger of two neighbours' differences


def _hue_steps(lab: np.ndarray, reach: int = 2) -> np.ndarray:
    """[h,w] the hue difference (CIE ΔH*ab, chroma-weighted: 2·√(C₁C₂)·sin(Δh/2)) between each pixel and the
    pixel ``reach`` px to its right or below it, the larger of the two. A change of lightness, and of chroma
    with it (shade, ripples, foam), is no hue difference."""
    a, b = lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    out = np.zeros(a.shape, np.float32)
    for axis in (0, 1):
        here = [slice(None), slice(None)]
        there = [slice(None), slice(None)]
        here[axis], there[axis] = slice(0, -reach), slice(reach, None)  # no wrap-around at the far border
        h, t = tuple(here), tuple(there)
        squared = (a[h] - a[t]) ** 2 + (b[h] - b[t]) ** 2 - (chroma[h] - chroma[t]) ** 2
        out[h] = np.maximum(out[h], np.sqrt(np.maximum(squared, 0.0)))
    return out


def _mottled(features: _Features, water: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """[h,w] bool: the connected parts of ``water`` whose hue is mottled: the median of their pixels' hue steps
    to a pixel 2 px away (``_hue_steps``) is above ``HUE_MOTTLE``.

    Water is one material lit by one sky: what it mirrors and its own colour change gradually across it, and
    ripples, troughs and foam change its lightness (sky, shade, white) and with it its chroma, not its hue, so at
    a few pixels' scale its hue is uniform. A painted or tiled structure juxtaposes pigments instead (teal beams
    beside orange tiles and red columns on a tower's eaves) and its hue jumps from pixel to pixel: its colour
    alone can pass for grey or teal water, and its tile rows for ripples. A part that mostly mirrors the shore
    (``mirrored`` [h,w] bool) stays: a colourful shore's reflection carries the shore's mosaic.
    """
    out = np.zeros(water.shape, bool)
    if not water.any():
        return out
    steps = _hue_steps(features.lab)
    count, labels = cv2.connectedComponents(water.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        part = labels == label
        if mirrored[part].mean() < 0.5 and float(np.median(steps[part])) > HUE_MOTTLE:
            out |= part
    return out


def _foam_that_joins(lightness: np.ndarray, foam: np.ndarray, weak: np.ndarray, water: np.ndarray, sky: np.ndarray,
                     min_fraction: float) -> np.ndarray:
    """[h,w] bool: the foam that is water. ``foam`` [h,w]: foam-like pixels (pale, unsaturated, streaked) textured
    above ``FOAM_MIN_TEXTURE``; ``weak``: foam-like pixels up to half as textured.

    Foam joins when it touches water and is not darker than it, or when it is large and in the lower half (a
    waterfall with no pool); white that touches the sky is cloud, mist or snow. Then foam continues foam
    (hysteresis, as an edge detector follows a strong edge through weaker pixels): candidates join when they
    touch foam that joined, ``FOAM_RINGS`` times, so a fall's lit column is not cut off from the churn at its
    foot where the working size smooths its streaks a hair below the foam threshold. Weak foam joins only so:
    alone it is as much pale rock or haze as water.
    """
    height, width = foam.shape
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(foam.astype(np.uint8), connectivity=8)
    grown_water = cv2.dilate(water.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[grown_water & foam])] = True
    darker = _darker_than_its_water(lightness, labels, count, water)
    keep &= ~darker
    keep |= (stats[:, cv2.CC_STAT_AREA] > 2 * min_fraction * height * width) & (centroids[:, 1] > 0.5 * height)
    sky_rim = cv2.dilate(sky.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cloudy = np.zeros(count, bool)
    cloudy[np.unique(labels[sky_rim & foam])] = True
    keep &= ~cloudy
    keep[0] = False
    weak_count, weak_labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    weak_ok = ~_darker_than_its_water(lightness, weak_labels, weak_count, water)
    weak_ok[np.unique(weak_labels[sky_rim & weak])] = False
    weak_ok[0] = False
    joined = keep[labels]
    candidates = (foam & ~(darker | cloudy)[labels]) | weak_ok[weak_labels]
    _, candidate_labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    for _ in range(FOAM_RINGS):
        near = cv2.dilate(joined.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & candidates & ~joined
        if not near.any():
            break
        joined |= np.isin(candidate_labels, np.unique(candidate_labels[near])) & candidates
    return joined


def _darker_than_its_water(lightness: np.ndarray, labels: np.ndarray, count: int, water: np.ndarray) -> np.ndarray:
    """[count] bool: the labelled patches that are darker (mean L*) than the water just around them (a ring 1–3 px
    out; False where no water is near).

    Foam is air whipped into water: it scatters all light and is the lightest thing on the water it floats on or
    falls into. A pale, greyish, textured patch that touches water but is darker than it (sunlit foliage on the
    shore of a bright lake, pale rock by a river) is not foam.
    """
    out = np.zeros(count, bool)
    for label in range(1, count):
        part = labels == label
        ring = cv2.dilate(part.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~part & water
        if ring.sum() >= 3:
            out[label] = float(lightness[part].mean()) < float(np.median(lightness[ring]))
    return out


BAND_MAX_SLOPE_DIFFERENCE = 0.02  # two straight edges this close in slope (~1°) are parallel
BAND_MAX_WIDTH = 0.1  # of the height: a band between parallel strong edges at most this wide is one object


def _straight_bands(lines: list[HorizontalLine], shape: tuple[int, int]) -> np.ndarray:
    """[h,w] bool: the strips between pairs of strong straight edges that run parallel and close together.

    Two long, very high-contrast, straight parallel edges a short way apart bound one man-made object seen
    side-on (a bundle of pipes, a railing, a kerb, a quay wall), whatever lies between them: bright metal
    there passes for foam, its dark underside for grey water. Water's own edges (shorelines, surf lines) are
    softer or curved, and rarely come in such pairs.
    """
    height, width = shape
    rows = np.arange(height)[:, None]
    out = np.zeros(shape, bool)
    for index, a in enumerate(lines):
        for b in lines[index + 1 :]:
            if abs(a.slope - b.slope) > BAND_MAX_SLOPE_DIFFERENCE:
                continue
            if abs(a.row_at_centre - b.row_at_centre) > BAND_MAX_WIDTH * height:
                continue
            top, bottom = np.minimum(a.rows(width), b.rows(width)), np.maximum(a.rows(width), b.rows(width))
            out |= (rows >= top[None, :]) & (rows <= bottom[None, :])
    return out


ISLAND_DARKER = 5.0  # L*: an island is at least this much darker than the water around it
ISLAND_TEXTURE = 2.0  # and at least this many times as textured


def _islands(
    features: _Features, segments: np.ndarray, water: np.ndarray, foam: np.ndarray, looks_water: np.ndarray
) -> np.ndarray:
    """[h,w] bool: segments of ``water`` that are land or boats inside it (islands, rocks, hulls).

    A calm water surface is uniform: a segment with water all around it (≥ 80 % of its outline) that is clearly
    darker and much more textured than the open water a few pixels around it (trees, rock, a hazy island) stands
    on or in it. "Open water" leaves out the segments darker than their water body's median (the island's other
    pieces where the segmentation splits it). Rippled water has darker, rougher troughs, but they are not twice as
    textured as the ripples around them, and among ``foam`` (surf, rapids) the water between the white is darker
    and rougher than it: only calm water around a segment can show it is land. Segments with their own evidence
    of water (``looks_water``, per segment: they mirror the shore, or have deep water's saturated colour) stay;
    a reflection also hangs from the shore, so its outline is not all water.
    """
    lightness, texture = features.lab[..., 0], features.texture
    labels = looks_water.size
    size = np.maximum(np.bincount(segments.ravel(), minlength=labels), 1)
    in_water = np.bincount(segments[water].ravel(), minlength=labels) / size
    seg_lightness = np.bincount(segments.ravel(), weights=lightness.ravel().astype(np.float64), minlength=labels) / size
    count, bodies = cv2.connectedComponents(water.astype(np.uint8), connectivity=8)
    body_lightness = np.zeros(count)
    for body in range(1, count):
        body_lightness[body] = np.median(lightness[bodies == body])
    body_of = np.zeros(labels, np.int64)
    body_of[segments[water]] = bodies[water]
    dark = (in_water > 0.9) & (seg_lightness < body_lightness[body_of] - ISLAND_DARKER)
    open_water = water & ~dark[segments]
    out = np.zeros(water.shape, bool)
    for label in np.nonzero(dark & ~looks_water)[0]:
        part = segments == label
        near = cv2.dilate(part.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if water[near & ~part].mean() < 0.8:
            continue
        # Judged 4–7 px out: nearer, the island's own edge blurs into the water's texture.
        grown = [cv2.dilate(part.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool) for k in (9, 15)]
        around = grown[1] & ~grown[0] & open_water
        if around.sum() < 10 or foam[around].mean() > 0.5:
            continue
        # Medians: the water's typical look, not the edge-textured slivers along the island's rim.
        darker = float(np.median(lightness[around])) - seg_lightness[label]
        textured = texture[part].mean() > ISLAND_TEXTURE * float(np.median(texture[around])) + 0.005
        if darker > ISLAND_DARKER and textured:
            out |= part
    return out


FALL_MIN_VALUE = 0.45  # falling water is pale (white in light, grey in shade)
FALL_MIN_VERTICAL = 0.7  # share of the gradient energy across the fall (vertical streaks)
FALL_RINGS = 12  # rings of segments a fall may continue through, one ring of neighbours at a time
FALL_MIN_HEIGHT = 0.05  # of the height: a falling column at least this tall
FALL_MIN_AREA = 0.002  # of the photo: and at least this large


def _falling_water(features: _Features, foam: np.ndarray) -> np.ndarray:
    """[h,w] bool: the foam that falls: whose streaks are vertical, in columns at least ``FALL_MIN_HEIGHT`` of
    the height tall, taller than wide and covering ``FALL_MIN_AREA`` of the photo (a waterfall's lit column, not
    a few streaked pixels in the surf or along a tree trunk)."""
    gxx, gyy = cv2.blur(features.gxx, (9, 9)), cv2.blur(features.gyy, (9, 9))
    falling = foam & (gxx / np.maximum(gxx + gyy, 1e-8) > FALL_MIN_VERTICAL)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(falling.astype(np.uint8), connectivity=8)
    tall = stats[:, cv2.CC_STAT_HEIGHT]
    keep = ((tall >= FALL_MIN_HEIGHT * falling.shape[0]) & (tall >= stats[:, cv2.CC_STAT_WIDTH])
            & (stats[:, cv2.CC_STAT_AREA] >= FALL_MIN_AREA * falling.size))
    keep[0] = False
    return keep[labels]


def _continue_falling_water(segments: np.ndarray, fall_seg: np.ndarray, falling: np.ndarray) -> np.ndarray:
    """[h,w] bool: the segments through which detected falling water continues down its own column.

    Water falls straight down: below and beside a lit, vertically streaked column the same fall goes on in
    shade or with softer streaks (too dim or smooth to pass as foam). Segments that are pale, unsaturated and
    vertically streaked (``fall_seg`` per segment) join when they touch the fall, a ring at a time, and lie
    mostly (≥ 70 %) in the columns the fall already occupies and below its top. Pale rock with vertical cracks
    beside a waterfall lies outside its columns; on its own it is only suggested (``_falling_water_suggestions``).
    """
    fall = falling.copy()
    if fall.sum() < 10:
        return fall
    rows = np.nonzero(fall.any(axis=1))[0]
    top = rows[0]
    in_columns = np.broadcast_to(fall.sum(axis=0) >= 3, fall.shape)
    for _ in range(FALL_RINGS):
        touching = _touching_segments(segments, fall)
        grow = np.zeros(fall_seg.size, bool)
        for label in touching[fall_seg[touching]]:
            inside = segments == label
            grow[label] = in_columns[inside].mean() >= 0.7 and np.nonzero(inside)[0].mean() > top
        if not grow.any():
            break
        fall |= grow[segments]
        fall_seg = fall_seg & ~grow
    return fall


CHURN_RINGS = 3  # rings of segments the splash at a waterfall's foot spreads over
CHURN_ZONE = 0.08  # of the height: the foot of a fall, above and below its lowest row


def _churn_at_the_foot(segments: np.ndarray, churn_seg: np.ndarray, fall: np.ndarray, water: np.ndarray) -> np.ndarray:
    """[h,w] bool: the white churn where a detected fall plunges into its pool.

    Below a waterfall the water is whipped into spray and foam that is bright and unsaturated but neither
    streaked like the fall nor always textured enough to pass as foam. Segments that look so (``churn_seg``, per
    segment) join when they touch the fall (or churn already joined), a ring at a time, and lie at the fall's
    foot (within ``CHURN_ZONE`` of the height of its lowest row) next to other water: only where falling water
    was found, so pale rock or snow elsewhere is never taken for churn.
    """
    out = np.zeros(fall.shape, bool)
    if fall.sum() < 10:
        return out
    height = fall.shape[0]
    foot = np.nonzero(fall.any(axis=1))[0][-1]
    rows = np.arange(height)[:, None]
    zone = np.broadcast_to(np.abs(rows - foot) <= CHURN_ZONE * height, fall.shape)
    pool = water & ~fall
    grown = fall.copy()
    for _ in range(CHURN_RINGS):
        touching = _touching_segments(segments, grown)
        grow = np.zeros(churn_seg.size, bool)
        for label in touching[churn_seg[touching]]:
            inside = segments == label
            beside_pool = (cv2.dilate(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & pool).any()
            grow[label] = zone[inside].mean() >= 0.7 and beside_pool
        if not grow.any():
            break
        out |= grow[segments]
        grown |= grow[segments]
        churn_seg = churn_seg & ~grow
    return out


def _touching_segments(segments: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Labels of the segments with a pixel just outside ``mask`` (8-neighbours)."""
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~mask
    return np.unique(segments[ring])


def _split_at_waterline(segments: np.ndarray, waterline: int) -> np.ndarray:
    """``segments`` with every segment that straddles the ``waterline`` row cut in two along it.

    A dark forest on the shore and its dark reflection look alike, so the segmentation often joins them across
    the waterline; each half must be judged on its own (the reflection is water, the forest is not).
    """
    rows = np.arange(segments.shape[0])[:, None]
    split = np.where(rows > waterline, segments + int(segments.max()) + 1, segments)
    return np.unique(split, return_inverse=True)[1].reshape(segments.shape)


def _mirror_evidence(features: _Features, horizon: np.ndarray) -> tuple[list[int], list[np.ndarray]]:
    """Waterline rows and their ``evidence.mirror_maps``: about the photo's waterlines: rows below the sky line about which the photo is
    clearly mirror-symmetric (``evidence.find_mirror_axes``); none in most photos."""
    height, width = features.gray.shape
    sky_row = int(np.median(horizon)) if (horizon >= 0).any() else 0
    axes = find_mirror_axes(features.gray, sky_row, min_ncc=MIRROR_AXIS_NCC)
    rows = [row for row, _ in axes]
    return rows, (mirror_maps(features.gray, [np.full(width, float(row)) for row in rows]) if rows else [])


MIRROR_AXIS_NCC = 0.55  # a waterline needs this much mirror symmetry across the whole width (calm water)


def _cut_above_far_shore(features: _Features, water: np.ndarray) -> np.ndarray:
    """Remove water above a lake's far shore.

    A lake or sea ends at a straight far shore; hazy blue hills and mist above it look like water but are
    narrower than the water just below the line, and smaller than the lake. Waterfalls (foam) are added after
    this cut.
    """
    height, width = water.shape
    support = cv2.dilate(water.astype(np.uint8), np.ones((5, 5), np.uint8))
    band = max(2, height // 60)
    lines = find_horizontal_lines(_lab_unit(features), min_strength=0.05, max_lines=3, weight=support, min_support=0.3)
    for line in lines:
        row = int(round(line.row_at_centre))
        if row - band < 0 or row + band + 1 > height:
            continue
        # Compare the water's extent just above and just below the (level-corrected) line.
        offsets = np.round(line.rows(width) - line.row_at_centre).astype(int)
        columns = np.arange(width)

        def coverage(start: int, stop: int) -> float:
            hits = np.zeros(width, bool)
            for delta in range(start, stop):
                rows = np.clip(row + offsets + delta, 0, height - 1)
                hits |= water[rows, columns]
            return float(hits.mean())

        above, below = coverage(-band - 1, -1), coverage(2, band + 2)
        kept = water & line.below((height, width), margin=0.0)
        if below > 0.5 and above < 0.6 * below and (water & ~kept).sum() < kept.sum():
            return kept
    return water


def _plausible_water_bodies(water: np.ndarray, sky: np.ndarray, min_fraction: float) -> np.ndarray:
    """Keep water components that are large, reach the lower half, and meet the sky only along a level line.

    Water is a horizontal surface: it lies low in the frame, and where it meets the sky the boundary is a sea
    horizon, not a ridge or a cloud edge. Thin level strips (under 4 % of the height) are dropped too: at the
    horizon they are far haze more often than water, and distant water barely moves anyway.
    """
    height, width = water.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(water.astype(np.uint8), connectivity=8)
    sky_rim = cv2.dilate(sky.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~sky
    keep = np.zeros(count, bool)
    for label in range(1, count):
        top, box_height = stats[label, cv2.CC_STAT_TOP], stats[label, cv2.CC_STAT_HEIGHT]
        if stats[label, cv2.CC_STAT_AREA] < min_fraction * water.size or top + box_height < 0.5 * height:
            continue
        if box_height < 0.04 * height:
            continue
        contact_rows = np.nonzero(sky_rim & (labels == label))[0]
        if contact_rows.size > 0.05 * width and np.std(contact_rows) > 0.02 * height:
            continue
        keep[label] = True
    return keep[labels]


def _sky_line(sky: np.ndarray) -> np.ndarray:
    """Per column, the row of the lowest sky pixel (−1 where a column has none; smoothed across columns)."""
    height, width = sky.shape
    has_sky = sky.any(axis=0)
    if not has_sky.any():
        return np.full(width, -1, np.int64)
    lowest = np.where(has_sky, height - 1 - np.argmax(sky[::-1], axis=0), -1)
    # Columns without sky (a tree reaching the top) take the global sky line so water still needs to be below it.
    fallback = int(np.percentile(lowest[has_sky], 90))
    return np.where(has_sky, lowest, fallback)


# ---------------------------------------------------------------------------------------------------------------
# Regions and their confidence


def _add_sky_gaps(features: _Features, sky: np.ndarray) -> np.ndarray:
    """The sky plus the open patches the cloud edges cut off from it: smooth or cloud-like areas mostly
    surrounded by sky (their outline is ≥ 50 % sky), in the sky's upper part, blue-sky or cloud coloured."""
    if not sky.any():
        return sky
    height, width = sky.shape
    candidate = _sky_candidates(features) & ~sky
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=4)
    lowest_sky = np.percentile(np.nonzero(sky)[0], 98)
    grown = sky.copy()
    near, far = np.ones((3, 3), np.uint8), np.ones((11, 11), np.uint8)
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        if area < 0.001 * sky.size:
            continue
        part = labels == label
        if stats[label, cv2.CC_STAT_TOP] + stats[label, cv2.CC_STAT_HEIGHT] > lowest_sky:
            continue
        # The ring a few pixels out (cloud edges are crisp, so the sky does not reach the patch itself).
        ring = cv2.dilate(part.astype(np.uint8), far).astype(bool) & ~cv2.dilate(part.astype(np.uint8), near).astype(bool)
        if sky[ring].mean() < 0.5:
            continue
        lab = features.lab[part].mean(axis=0)
        blue_sky = lab[2] < -12 and lab[0] > 40
        cloud = features.value[part].mean() > 0.55 and features.saturation[part].mean() < 0.3
        if (blue_sky or cloud) and features.vegetation[part].mean() < 0.1:
            grown |= part
    return grown


def _peel_textured_bottom(features: _Features, sky: np.ndarray, max_share: float = 0.05) -> np.ndarray:
    """The sky without the textured rows at the bottom of each column (far hills, a town or trees in the haze that
    the colour model took for sky): up to ``max_share`` of the height is peeled off while the texture there is
    well above the sky's own."""
    if not sky.any():
        return sky
    height, width = sky.shape
    level = max(0.03, 3.0 * float(np.median(features.texture[sky])))
    textured = features.texture > level
    out = sky.copy()
    has_sky = sky.any(axis=0)
    lowest = height - 1 - np.argmax(sky[::-1], axis=0)
    # Only along the horizon: where the sky ends on a roof, a tree or a ridge its edge is already an edge.
    has_sky &= lowest >= np.percentile(lowest[has_sky], 90) - 0.03 * height
    for _ in range(max(1, int(max_share * height))):
        rows = np.clip(lowest, 0, height - 1)
        columns = np.nonzero(has_sky & (lowest >= 0) & textured[rows, np.arange(width)] & out[rows, np.arange(width)])[0]
        if columns.size == 0:
            break
        out[lowest[columns], columns] = False
        lowest[columns] -= 1
    return out


def _cut_above_sea_horizon(water: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Water meeting the sky along a level line (a sea horizon) ends there: nothing above that line is water."""
    height, width = water.shape
    count, labels = cv2.connectedComponents(water.astype(np.uint8), connectivity=8)
    sky_rim = cv2.dilate(sky.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~sky
    rows = np.arange(height)[:, None]
    out = water.copy()
    for label in range(1, count):
        part = labels == label
        contact = np.nonzero(sky_rim & part)[0]
        if contact.size > 0.05 * width and np.std(contact) <= 0.02 * height:
            out &= ~(part & (rows < np.median(contact) - 1))
    return out


def _trim_far_shore_band(features: _Features, water: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Water that reaches up to the sky loses its textured top rows: the far shore (distant land, town, haze)
    seen as a band between the sky and the lake. Rows are removed from the top down to the last row whose texture is
    well above the water's own (the median over the lower 60 % of its rows), stopping at three smooth rows in a
    row and at 30 % of its height."""
    height, width = water.shape
    count, labels = cv2.connectedComponents(water.astype(np.uint8), connectivity=8)
    reach = max(2, int(0.03 * height))  # "up to the sky": within 3 % of the height below it
    sky_rim = cv2.dilate(sky.astype(np.uint8), np.ones((2 * reach + 1, 5), np.uint8)).astype(bool)
    out = water.copy()
    for label in range(1, count):
        part = labels == label
        rows = np.nonzero(part.any(axis=1))[0]
        if rows.size < 8 or not (sky_rim & part)[rows[0] : rows[0] + 3].any():
            continue
        texture = np.array([features.texture[r][part[r]].mean() for r in rows])
        level = float(np.median(texture[int(0.4 * rows.size) :]))
        threshold = 1.6 * level + 0.005  # "well above the water's own texture"
        # A far shore runs across the water's whole width; an island or boats below it texture only part of a row.
        # The width is the band's widest row: an island is a hole in the rows beside it, which would otherwise
        # count its textured shores across a narrowed row.
        band_width = max(int(part[rows[: max(1, int(0.3 * rows.size))]].sum(axis=1).max()), 1)
        across = np.array([(features.texture[r][part[r]] > threshold).sum() for r in rows]) / band_width
        cut, smooth_run = 0, 0
        for index in range(int(0.3 * rows.size)):  # the band may have a smoother row or two inside it
            if texture[index] > threshold and across[index] >= 0.5:
                cut, smooth_run = index + 1, 0
            else:
                smooth_run += 1
                if smooth_run >= 3:
                    break
        if cut:
            band = part & (np.arange(height)[:, None] < rows[cut])
            # Rows go whole, but open water reaching up between the shore's textured pieces (right of an island,
            # up to a smooth stretch of the far shore) is no shore: smooth band pixels joined to the water below
            # through smooth pixels stay.
            smooth = band & (features.texture <= threshold)
            _, labels_below = cv2.connectedComponents((smooth | (part & ~band)).astype(np.uint8), connectivity=4)
            below = np.unique(labels_below[part & ~band])
            out &= ~(band & ~(smooth & np.isin(labels_below, below[below > 0])))
    return out


def _scored_components(
    features: _Features, sky: np.ndarray, water: np.ndarray, details: dict, min_water_fraction: float
) -> list[tuple[str, np.ndarray, float, str]]:
    """(kind, mask at the feature size, confidence, evidence) of each connected sky and water region.

    Sky: brighter than the rest of the photo (a dark cliff or a shadowed slope that reaches the top border is
    not sky), touching the top border, mostly smooth or cloud-like. Water: the mean per-pixel water score,
    raised by reflection symmetry (calm water mirrors the shore), lowered where the region lies in a road
    wedge (straight edges converging toward the horizon) without mirroring anything.
    """
    height, width = sky.shape
    out: list[tuple[str, np.ndarray, float, str]] = []
    lightness = features.lab[..., 0]
    rest = ~(sky | water)
    rest_lightness = float(np.median(lightness[rest])) if rest.sum() > 0.02 * sky.size else None
    candidates = _sky_candidates(features)
    top_rows = max(2, height // 40)
    count, labels = cv2.connectedComponents(sky.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        part = labels == label
        part_lightness = float(lightness[part].mean())
        brighter = 20.0 if rest_lightness is None else part_lightness - rest_lightness
        # Daylight sky is bright, or at least brighter than the land (a dusk sky over dark silhouettes).
        blue = float(np.clip((-features.lab[..., 2][part].mean() - 10.0) / 10.0, 0, 1)) * (part_lightness > 25.0)
        bright = max(float(np.clip((part_lightness - 40.0) / 20.0, 0, 1)), float(np.clip((brighter + 4.0) / 12.0, 0, 1)), blue)
        contact = float(part[:top_rows].any(axis=0).mean())
        smooth = float(candidates[part].mean())
        confidence = bright * (0.5 + 0.5 * min(1.0, contact / 0.15)) * (0.5 + 0.5 * min(1.0, smooth / 0.5))
        evidence = (f"{'brighter' if brighter >= 0 else 'darker'} than the land by {abs(brighter):.0f} L*, "
                    f"touches {contact:.0%} of the top edge, {smooth:.0%} smooth or cloud-like")
        # Bright vertical streaks are falling water (a waterfall reaching the top edge), never sky.
        textured = part & (features.texture > 0.03)
        if textured.sum() > 0.3 * part.sum():
            vertical = float(features.gxx[textured].sum() / max(features.gxx[textured].sum() + features.gyy[textured].sum(), 1e-8))
            if vertical > 0.72:
                white = features.value[part].mean() > 0.6 and features.saturation[part].mean() < 0.2
                out.append(("water", part, 0.6 if white else 0.3, f"bright vertical streaks ({vertical:.0%} vertical): falling water"))
                continue
        out.append(("sky", part, confidence, evidence))

    if water.any():
        line = _sky_line(sky)
        ground = np.arange(height)[:, None] > line[None, :] + 1
        wedges = road_wedges(features.gray, ground, horizon=line if sky.any() else None)
        score = details.get("score", np.full((height, width), 0.5, np.float32))
        foam = details.get("foam", np.zeros((height, width), bool))
        count, labels = cv2.connectedComponents(water.astype(np.uint8), connectivity=8)
        for label in range(1, count):
            part = labels == label
            mean_score = float(score[part].mean())
            mirror = reflection_symmetry(features.gray, part)
            if "mirror" in details:  # mirror symmetry about a waterline, found segment by segment
                mirror = max(mirror, float(details["mirror"][part].mean()))
            road = float(wedges[part].mean())
            foam_share = float(foam[part].mean())
            by_score = float(np.clip((mean_score - 0.3) / 0.3, 0, 1))
            by_mirror = float(np.clip((mirror - 0.35) / 0.3, 0, 1))
            confidence = max(by_score, by_mirror)
            grey = float(details["grey_only"][part].mean()) if "grey_only" in details else 0.0
            ripples = float(details["ripples"][part].mean()) if "ripples" in details else 1.0
            if grey > 0.5 and ripples < 0.6 and by_mirror < 0.5:
                confidence = min(confidence, 0.45)  # only grey and smooth: suggest it, do not move it
            confidence *= 1.0 - float(np.clip((road - 0.2) / 0.4, 0, 1)) * (1.0 - by_mirror)
            notes = [f"water look {mean_score:.2f}"]
            if mirror > 0.35:
                notes.append(f"mirrors the shore ({mirror:.2f})")
            if foam_share > 0.2:
                notes.append(f"{foam_share:.0%} foam")
            if grey > 0.5:
                notes.append("grey" + ("" if ripples >= 0.6 else ", no ripples"))
            if road > 0.2:
                notes.append(f"{road:.0%} inside converging straight edges (a road?)")
            out.append(("water", part, confidence, ", ".join(notes)))
        out += _falling_water_suggestions(features, sky, water)
    return out


def _falling_water_suggestions(features: _Features, sky: np.ndarray, water: np.ndarray) -> list:
    """Pale, unsaturated, vertically streaked areas that reach down to the water: a waterfall or cascade the
    segment rules missed (often grey in shade). Light rock with vertical cracks looks the same to these cues, so
    they are suggested (confidence 0.45), never moved without the user's click."""
    height, width = water.shape
    gxx, gyy = cv2.blur(features.gxx, (9, 9)), cv2.blur(features.gyy, (9, 9))
    vertical = gxx / np.maximum(gxx + gyy, 1e-8)
    streaks = (vertical > 0.7) & (features.value > 0.45) & (features.saturation < 0.15) & (features.texture > 0.04)
    streaks &= ~water & ~sky
    streaks = cv2.morphologyEx(streaks.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(streaks.astype(np.uint8), connectivity=8)
    below_water = cv2.dilate(water.astype(np.uint8), np.ones((7, 3), np.uint8), anchor=(1, 0)).astype(bool)
    found = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < 0.003 * water.size:
            continue
        part = labels == label
        if stats[label, cv2.CC_STAT_HEIGHT] < 1.5 * stats[label, cv2.CC_STAT_WIDTH] and not (part & below_water).any():
            continue
        if not (part & cv2.dilate(water.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)).any():
            continue  # a waterfall ends in water
        found.append(("water", part, 0.45, f"pale vertical streaks reaching the water ({float(vertical[part].mean()):.0%} "
                                           "vertical): a waterfall? (or rock)"))
    return found


# ---------------------------------------------------------------------------------------------------------------
# Mask utilities


def _keep_touching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[mask & seeds])] = True
    keep[0] = False
    return keep[labels]


def _fill_small_holes(mask: np.ndarray, max_fraction: float) -> np.ndarray:
    """Fill holes (background not connected to the border) smaller than ``max_fraction`` of the image."""
    holes = ~mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    fill = stats[:, cv2.CC_STAT_AREA] <= max_fraction * mask.size
    fill[border] = False
    fill[0] = False
    return mask | (fill[labels] & holes)


def _drop_small(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_fraction * mask.size
    keep[0] = False
    return keep[labels] & mask


EDGE_STEP = 0.05  # a full-resolution intensity step this large (per pixel) is an object's outline


def _off_object_edges(mask: np.ndarray, image: np.ndarray, width: int = 1) -> np.ndarray:
    """``mask`` without its outermost ``width`` px where they sit on or beside a strong intensity edge (the mean
    step over the pixel's 3×3 neighbourhood): a pixel on the outline of a roof, a tree or a rock is part of it, and
    so is the pixel next to it, which carries the outline's blur and the photo's sharpening halo; moving either
    drags the object's edge, so the moving region stops just inside the outline."""
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    rim = mask & ~cv2.erode(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    return mask & ~(rim & (cv2.blur(_edge_step(image), (3, 3)) > EDGE_STEP))


def _edge_step(image: np.ndarray) -> np.ndarray:
    """[H,W] intensity step per pixel (Sobel magnitude ÷ 4, image in [0, 1])."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)) / 4.0


SNAP_NOISE = 2.0  # Lab units: the spread a perfectly flat surface still shows (noise, JPEG), ~ a just-noticeable step
SNAP_LIKE = 2.5  # a pixel is "like" one side when within this many of that side's local spreads of its colour


def _snap_to_colour(mask: np.ndarray, image: np.ndarray, band: int) -> np.ndarray:
    """``mask`` with each pixel within ``band`` px of its outline given to the side whose colour it has.

    The mask comes from a half-resolution estimate, so its outline can sit a pixel or two (``band`` px here)
    off the real one: short of a pagoda's eaves in the sky, or over the pale rim of a tree on the shore. At
    full resolution each side's colour near the outline is known: the mean and spread (Lab) of the pixels
    that are surely inside (more than ``band`` px in) and surely outside, in a window around each pixel. A
    pixel in the band changes sides only when it is like the other side (within ``SNAP_LIKE`` of that side's
    spreads) and closer to it than to its own side, both measured in spreads: a leaf as pale as the water is
    still as close to the varied canopy as to the flat water, and stays outside. A pixel like neither side (a
    thin line of surf along a beach, a mixed pixel on the outline) keeps the estimate. Added pixels must touch
    the mask.
    """
    lab = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2Lab)
    kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    inner = cv2.erode(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    outer = cv2.erode((~mask).astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    # Only where the outline is a real edge: across a soft ramp (haze over a far ridge, a gradient sky) every
    # pixel is "like" one side or the other by a hair, and snapping there only makes the outline ragged.
    ring = ~inner & ~outer & cv2.dilate((_edge_step(image) > EDGE_STEP).astype(np.uint8), kernel).astype(bool)
    if not ring.any():
        return mask
    window = (4 * band + 1, 4 * band + 1)

    def distance(side: np.ndarray) -> np.ndarray:
        """Colour distance of every pixel to the nearby pixels of ``side``, in their spreads (inf: none near)."""
        weight = cv2.blur(side.astype(np.float32), window)
        share = np.maximum(weight, 1e-6)
        mean = np.stack([cv2.blur(lab[..., c] * side, window) for c in range(3)], axis=-1) / share[..., None]
        power = sum(cv2.blur(lab[..., c] ** 2 * side, window) for c in range(3)) / share
        spread = np.sqrt(np.maximum(power - (mean**2).sum(axis=-1), 0.0) + SNAP_NOISE**2)
        return np.where(weight > 1e-3, np.linalg.norm(lab - mean, axis=-1) / spread, np.inf)

    to_inside, to_outside = distance(inner), distance(outer)
    add = ring & ~mask & (to_inside < SNAP_LIKE) & (to_inside < to_outside)
    remove = ring & mask & (to_outside < SNAP_LIKE) & (to_outside < to_inside)
    out = (mask & ~remove) | add
    return _keep_touching(out, out & mask)


def _refine_to(soft: np.ndarray, image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Upsample a soft mask and snap its boundary to the full-resolution image edges (guided filter)."""
    height, width = shape
    if not soft.any():
        return np.zeros(shape, bool)
    up = cv2.resize(soft.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(max(height, width) / 128))
    refined = guided_filter(image, up, radius=radius, eps=1e-3)
    return refined > 0.5
