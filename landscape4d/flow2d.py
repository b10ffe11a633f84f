"""2D Eulerian motion field (pixels per loop frame) from motion regions and sparse arrows.

Regions: sky (clouds drift sideways), water (flows down the image, i.e. toward the camera on a lake or down a
waterfall) and user "moves" regions, minus user "freeze" regions. Arrows are assigned to the region their start
point lies in and interpolated inside it with normalised Gaussian RBF weights (as in 3D-Cinemagraphy /
Holynski et al.); a region without arrows gets its automatic default. Near a region's border the speed is
tapered so that no particle leaves its region over its travel (at most one cross-fade cycle, ``travel_frames``,
each way; less by its phase offset, see ``animate.cycle_reach``): pixels outside the motion regions never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

ARROW_PX_PER_FRAME = 1.0 / 50.0  # arrow length (working px) → speed (px/frame), as in 3D-MOM's code
DEFAULT_SKY_SPEED = 0.12 / 100  # fraction of the image width per frame: slow cloud drift
DEFAULT_WATER_SPEED = 0.25 / 100
MAX_HALF_CYCLE_TRAVEL = 0.12  # fraction of the image width a particle may travel in half a cross-fade cycle
TAPER_MARGIN_PX = 2.0  # keep particles this far from their region's border (a Gaussian's footprint)


REGION_STATIC, REGION_SKY, REGION_WATER, REGION_USER = 0, 1, 2, 3  # Flow2D.region_id codes (user regions move like water)


@dataclass(frozen=True)
class Arrow:
    """A motion hint from (x0, y0) to (x1, y1), in pixels of the image it was drawn on."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def length(self) -> float:
        return float(np.hypot(self.x1 - self.x0, self.y1 - self.y0))

    def scaled(self, sx: float, sy: float) -> "Arrow":
        return Arrow(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy)

    def shifted(self, dx: float, dy: float) -> "Arrow":
        return Arrow(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    @staticmethod
    def parse(text: str) -> "Arrow":
        """Parse ``"x0,y0,x1,y1"`` (the CLI form)."""
        parts = text.replace(" ", "").split(",")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4 or not all(np.isfinite(values)):
            raise ValueError(f"an arrow is four numbers x0,y0,x1,y1 in photo pixels, got {text!r}")
        arrow = Arrow(*values)
        if arrow.length < 1e-6:
            raise ValueError(f"arrow {text!r} has zero length: give a start and a different end point")
        return arrow


@dataclass
class Flow2D:
    flow_px_per_frame: np.ndarray  # [H,W,2] (du, dv) in working-image pixels per loop frame
    moving: np.ndarray  # [H,W] bool: pixels whose content moves
    region_id: np.ndarray  # [H,W] int: REGION_STATIC, REGION_SKY, REGION_WATER or REGION_USER
    travel_frames: float = 90.0  # how long one particle copy travels (the cross-fade cycle) this field was tapered for
    # [H,W,2] how far a copy starting at each pixel travels forward / backward, in cycles (``animate.cycle_reach``:
    # it depends on the particle's phase offset); None = one whole cycle each way (the conservative bound)
    reach: np.ndarray | None = None
    # (x, y) unit direction of the water's default motion (where no arrow steers it); views of the scene reuse it
    water_direction: tuple[float, float] = (0.0, 1.0)

    def reach_at(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(forward, backward) reach in cycles of particles at pixels (rows, cols)."""
        if self.reach is None:
            ones = np.ones(len(rows), np.float64)
            return ones, ones
        picked = self.reach[rows, cols].astype(np.float64)
        return picked[:, 0], picked[:, 1]


def _rbf_field(arrows: list[Arrow], height: int, width: int) -> np.ndarray:
    """Dense [H,W,2] field: normalised Gaussian-RBF blend of arrow vectors (σ = 1.25·H/n)."""
    sigma = 1.25 * height / max(1, len(arrows))
    v, u = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    weights, vectors = [], []
    for arrow in arrows:
        d2 = (u - arrow.x0) ** 2 + (v - arrow.y0) ** 2
        weights.append(np.exp(-d2 / (2 * sigma**2)) + 1e-12)
        vectors.append(np.array([arrow.x1 - arrow.x0, arrow.y1 - arrow.y0], np.float32) * ARROW_PX_PER_FRAME)
    w = np.stack(weights)  # [n,H,W]
    return np.einsum("nhw,nc->hwc", w, np.stack(vectors)) / w.sum(0)[..., None]


def distance_inside(region: np.ndarray) -> np.ndarray:
    """[H,W] distance (px) from each region pixel to the nearest pixel outside it; image borders count as outside.

    Nothing flows in from outside the photo, so without this the population advected away from an upstream
    border would leave a gap covered only by the fading other one.
    """
    pad = 1
    padded = cv2.copyMakeBorder(region.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 5)[pad:-pad, pad:-pad]


def distance_along(region: np.ndarray, direction: np.ndarray, max_px: float) -> tuple[np.ndarray, np.ndarray]:
    """[H,W] ×2: how far (px, up to ``max_px``) a straight path from each pixel can go forward and backward along
    ``direction`` [H,W,2] (unit vectors) without leaving ``region``.

    Motion only needs room along its own direction: a narrow lake can carry fast sideways ripples, and a river
    flows along its banks however close they are. Image borders count as outside.
    """
    height, width = region.shape
    rows, cols = (axis.astype(np.float32) for axis in np.nonzero(region))
    along_x, along_y = direction[..., 0][region], direction[..., 1][region]
    out = []
    for sign in (1.0, -1.0):
        # Only the pixels whose path is still inside are stepped on (most paths end long before max_px).
        reach = np.full(rows.shape, float(max_px), np.float32)
        alive = np.arange(rows.size)
        for step in range(1, int(np.ceil(max_px)) + 1):
            if not alive.size:
                break
            x = np.floor(cols[alive] + 0.5 + sign * step * along_x[alive]).astype(np.int64)
            y = np.floor(rows[alive] + 0.5 + sign * step * along_y[alive]).astype(np.int64)
            inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            inside[inside] = region[y[inside], x[inside]]
            reach[alive[~inside]] = step - 0.5
            alive = alive[inside]
        room = np.zeros((height, width), np.float32)  # outside the region there is no room
        room[region] = reach
        out.append(room)
    return out[0], out[1]


def _taper(flow: np.ndarray, region: np.ndarray, travel_frames: float, reach: np.ndarray | None = None) -> np.ndarray:
    """Scale speed so travel over one cross-fade cycle stays inside the region: ``reach`` [H,W,2] cycles forward
    and backward along the flow (None: one cycle each way)."""
    speed = np.linalg.norm(flow, axis=-1)
    direction = flow / np.maximum(speed, 1e-9)[..., None]
    longest = float(speed.max(initial=0.0)) * travel_frames
    forward, backward = distance_along(region, direction, longest + TAPER_MARGIN_PX + 1)
    # Sideways, the Gaussian's footprint needs a little room too (the blurred field turns near borders).
    sideways = distance_inside(region) + longest
    allowed = np.full(speed.shape, np.inf, np.float32)
    for index, room_px in enumerate((forward, backward)):
        cycles = 1.0 if reach is None else np.maximum(reach[..., index], 1e-3)
        room_px = np.minimum(room_px, sideways)
        allowed = np.minimum(allowed, np.clip(room_px - TAPER_MARGIN_PX, 0.0, None) / (travel_frames * cycles))
    factor = np.where(speed > 1e-9, np.minimum(1.0, allowed / np.maximum(speed, 1e-9)), 0.0)
    return flow * factor[..., None]


SEED_RADIUS = 0.015  # × long side: the patch around an arrow's start whose colours define "the same stuff"
GROW_THRESHOLDS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
TEXTURE_BLUR = 0.01  # × long side: colours are compared after this blur, so ripples and foam average out  # colour distances (in seed standard deviations) tried in turn
SETTLE_THRESHOLD = 2.0  # grow at least to this tolerance (the whole river, not just enough room) unless it spills
LEAK_JUMP = 4.0  # growing the tolerance one step may enlarge the region at most this much (else it leaked)
MAX_GROWN_SHARE = 0.35  # a region grown over more of the photo than this is cut to a disc around the arrow


def region_around(image: np.ndarray, x: float, y: float, room_px: float = 0.0) -> np.ndarray:
    """[H,W] bool: the area around (x, y) that looks like the stuff there, for an arrow drawn where no region was
    found, so a user can point at a river or a sea the automatic masks missed.

    Water is textured (ripples, glitter, foam), so a flood fill on colour alone stops after a few pixels. Instead
    the colours of a patch around the start (Lab, lightly blurred) define the stuff by their mean and spread;
    pixels within a few spreads of it, connected to the start, form the region. The tolerance grows (unless the
    region spills: a sudden jump in size) until the start has ``room_px`` of room inside the region (what the
    arrow's speed needs over one cycle), so the arrow moves its water at the speed it asks for.
    """
    height, width = image.shape[:2]
    long_side = max(height, width)
    lab = cv2.cvtColor(np.clip(np.ascontiguousarray(image, np.float32), 0, 1), cv2.COLOR_RGB2Lab)
    lab = cv2.GaussianBlur(lab, (0, 0), max(1.0, TEXTURE_BLUR * long_side))  # average ripples out
    yy, xx = np.mgrid[0:height, 0:width]
    seed_radius = max(3.0, SEED_RADIUS * long_side)
    seed = (xx - x) ** 2 + (yy - y) ** 2 <= seed_radius**2
    patch = lab[seed]
    mean = np.median(patch, axis=0)  # robust: a bit of rock or foam in the patch does not define the stuff
    spread = 1.4826 * np.median(np.abs(patch - mean), axis=0)
    spread = np.maximum(spread, np.array([3.0, 2.5, 2.5], np.float32))  # L, a, b floors
    distance = np.sqrt((((lab - mean) / spread) ** 2).sum(axis=-1) / 3.0)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    start = (min(height - 1, max(0, int(y))), min(width - 1, max(0, int(x))))
    region = seed
    for threshold in GROW_THRESHOLDS:
        similar = cv2.morphologyEx((distance < threshold).astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0
        similar |= seed
        _, labels = cv2.connectedComponents(similar.astype(np.uint8), connectivity=8)
        grown = labels == labels[start]
        # A sudden jump in size, or most of the photo, means the tolerance let the region spill into its
        # surroundings: keep the last region before that.
        jumped = threshold > SETTLE_THRESHOLD and grown.sum() > LEAK_JUMP * region.sum() and grown.mean() > 0.05
        spilled = grown.mean() > MAX_GROWN_SHARE or jumped
        if spilled and region is not seed:
            break
        region = grown
        if spilled or (threshold >= SETTLE_THRESHOLD and distance_inside(region)[start] >= room_px):
            break
    # A region that leaks over most of the photo is not what the user pointed at: keep a disc around the arrow.
    if region.mean() > MAX_GROWN_SHARE:
        region &= (xx - x) ** 2 + (yy - y) ** 2 <= (max(room_px * 1.5, 0.25 * long_side)) ** 2
    return region


def motion_field(
    shape: tuple[int, int],
    sky: np.ndarray,
    water: np.ndarray,
    travel_frames: float,
    moves: np.ndarray | None = None,
    freeze: np.ndarray | None = None,
    arrows: list[Arrow] | None = None,
    speed: float = 1.0,
    image: np.ndarray | None = None,
    reference_width: int | None = None,
    reach: np.ndarray | None = None,
    water_direction: tuple[float, float] | None = None,
) -> Flow2D:
    """The Eulerian field of a photo of ``shape`` (H, W); arrows are in working-image pixels.

    An arrow that starts outside every region (and outside ``freeze``) grows a user region around its start
    from ``image`` when given, so a hint is never silently ignored. ``reference_width`` is the photo's width when
    ``shape`` is a larger canvas around it (default speeds are fractions of the photo's width). ``reach`` [H,W,2]:
    how many cycles a particle at each pixel travels forward and backward (``animate.cycle_reach``; None: one
    each way), so the taper leaves the speed a particle's own cross-fade timing allows. ``water_direction``: the
    water's default direction (x, y); None chooses it (``default_water_direction``).
    """
    height, width = shape
    reference_width = reference_width or width
    region_id = np.zeros(shape, np.int32)
    region_id[sky] = REGION_SKY
    region_id[water] = REGION_WATER
    if moves is not None:
        region_id[moves & (region_id == REGION_STATIC)] = REGION_USER
    arrows = [a for a in (arrows or []) if a.length > 0]
    for arrow in arrows:
        if not (0 <= arrow.x0 < width and 0 <= arrow.y0 < height):
            raise ValueError(f"arrow start ({arrow.x0:.0f}, {arrow.y0:.0f}) lies outside the photo")
        start = (int(arrow.y0), int(arrow.x0))
        if region_id[start] == 0 and image is not None and not (freeze is not None and freeze[start]):
            room = arrow.length * ARROW_PX_PER_FRAME * speed * travel_frames + TAPER_MARGIN_PX + 1
            region_id[region_around(image, arrow.x0, arrow.y0, room) & (region_id == REGION_STATIC)] = REGION_USER
    if freeze is not None:
        region_id[freeze] = REGION_STATIC

    if water_direction is None:
        water_direction = default_water_direction(region_id == REGION_WATER, DEFAULT_WATER_SPEED * reference_width * speed,
                                                  travel_frames, reach)
    defaults = {
        1: np.array([DEFAULT_SKY_SPEED * reference_width, 0.0], np.float32),
        2: np.array(water_direction, np.float32) * DEFAULT_WATER_SPEED * reference_width,
        3: np.array([0.0, DEFAULT_WATER_SPEED * reference_width], np.float32),
    }
    flow = np.zeros((height, width, 2), np.float32)
    max_speed = MAX_HALF_CYCLE_TRAVEL * reference_width / (travel_frames / 2)
    for rid in (1, 2, 3):
        region = region_id == rid
        if not region.any():
            continue
        own = [a for a in arrows if region_id[int(a.y0), int(a.x0)] == rid]
        field = _rbf_field(own, height, width) if own else np.broadcast_to(defaults[rid], flow.shape)
        field = field * speed
        magnitude = np.linalg.norm(field, axis=-1, keepdims=True)
        field = np.where(magnitude > max_speed, field * (max_speed / np.maximum(magnitude, 1e-9)), field)
        flow[region] = field[region]
    # The 3D-MOM code box-blurs the field; blur inside regions only so static pixels stay exactly still.
    moving = region_id > 0
    for rid in (1, 2, 3):
        region = region_id == rid
        if region.any():
            weight = cv2.blur(region.astype(np.float32), (15, 15))
            smoothed = cv2.blur(np.where(region[..., None], flow, 0), (15, 15)) / np.maximum(weight, 1e-6)[..., None]
            flow[region] = _taper(smoothed, region, travel_frames, reach)[region]
    flow[~moving] = 0.0
    return Flow2D(flow, moving & (np.linalg.norm(flow, axis=-1) > 0), region_id, float(travel_frames), reach,
                  (float(water_direction[0]), float(water_direction[1])))


WATER_SIDEWAYS_GAIN = 2.0  # water drifts sideways by default only where that leaves it this much more speed


def default_water_direction(water: np.ndarray, speed_px: float, travel_frames: float,
                            reach: np.ndarray | None = None) -> tuple[float, float]:
    """The water's default direction: down the picture (towards the viewer, as rivers and falls run), unless the
    water has little room that way and much more sideways: a shallow band of lake seen across, whose downward
    motion the taper would cut to a crawl, drifts to the right instead (the median tapered speed over the water
    is ``WATER_SIDEWAYS_GAIN`` times higher). Only the default: arrows steer the water wherever the user asks."""
    if not water.any() or speed_px <= 0:
        return (0.0, 1.0)
    medians = []
    for direction in ((0.0, 1.0), (1.0, 0.0)):
        field = np.zeros(water.shape + (2,), np.float32)
        field[water] = np.array(direction, np.float32) * speed_px
        tapered = _taper(field, water, travel_frames, reach)
        medians.append(float(np.median(np.linalg.norm(tapered[water], axis=-1))))
    return (1.0, 0.0) if medians[1] >= WATER_SIDEWAYS_GAIN * medians[0] else (0.0, 1.0)


def crop_flow(flow: Flow2D, top: int, left: int, height: int, width: int) -> Flow2D:
    """The part of a canvas field that lies on the photo (the canvas holds the photo at (top, left))."""
    window = (slice(top, top + height), slice(left, left + width))
    reach = None if flow.reach is None else flow.reach[window].copy()
    return Flow2D(flow.flow_px_per_frame[window].copy(), flow.moving[window].copy(), flow.region_id[window].copy(), flow.travel_frames,
                  reach, flow.water_direction)
