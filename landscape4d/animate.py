"""Seamless looping animation of explicit Gaussians: phase-shifted copies that advect and cross-fade.

Each moving Gaussian travels in a straight line at its velocity ``v`` (world units per loop frame) and is drawn
as two *slots*. The loop of ``N`` frames holds ``cycles`` cross-fade cycles of ``T = N / cycles`` frames; a
Gaussian's cycle phase is ``s = ψ + k / T`` with its own phase offset ψ (low-frequency noise over the photo, so
the cross-fade never happens everywhere at once), and ``u = s mod 1``:

* slot A sits at ``rest + v·T·(u − ψ)`` with weight ``W(u)``,
* slot B sits one cycle behind, at ``rest + v·T·(u − 1 − ψ)``, with weight ``1 − W(u)``,

where ``W`` is a trapezoid: 1 for u ≤ (1 − f)/2, falling linearly to 0 at u = (1 + f)/2 (``fade`` f). When u wraps,
A and B swap roles at the same place, so motion is continuous. With |ψ| ≤ (1 − f)/2 one slot rests at its rest
position with weight 1 at k = 0 (the photo) and, as the state is periodic in k with period T and N = cycles·T,
the frame at k = N equals the frame at k = 0 from every camera. A particle never travels more than ``v·T`` from
its rest position, so a short cycle lets water move fast inside narrow regions.

Opacities are compensated, ``α = 1 − (1 − o)^W``, so two half-faded copies still cover like one opaque Gaussian:
texture keeps its contrast mid-fade and the static backdrop does not show through. ``cycles = 1, fade = 1, ψ = 0``
is the classic symmetric two-population scheme (A forward from rest, B arriving at rest at k = N).
Static Gaussians never move.

Colour anchoring (``Scene4D.colour_shift``): a copy at ``rest + v·T·a`` draws ``colour + Δ(a)`` where Δ(a) is the
change of the photo's *local mean* colour (a blur within the motion region, ``colour_shifts``) between rest and
there, sampled every quarter cycle of travel and linear in between. Texture (ripples, foam streaks) travels while
the low-frequency colour stays where the photo has it, so white foam at the foot of a waterfall does not slide into
the dark pool and pulse back each cycle (the region's mean colour stays put). ``a`` is a function of the copy's
position only, so colours are continuous where slots swap, exact at k = 0 and periodic like the positions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
import torch

from .camera import Camera, project, project_points, sample_bilinear
from .gaussians import GaussianSet
from .scene import Scene4D

DEFAULT_FADE = 0.2  # share of a cycle a cross-fade takes (short: mostly one crisp copy; long: smooth dissolves)
PHASE_NOISE_SCALE = 0.05  # spatial scale of the phase-offset noise, × the photo's long side
BACKDROP_EVERY = 2  # one backdrop Gaussian per this many moving ones
BACKDROP_GROW = 2.0  # its footprint, × the moving Gaussian's: covers the gaps of the sparser set
BACKDROP_BEHIND = 1.04  # how far behind the moving layer it sits (factor on the distance to the photo's camera)
ArrayT = TypeVar("ArrayT", torch.Tensor, np.ndarray)
ANCHOR_SIGMA = 0.01  # local-mean blur of colour anchoring, × the photo's long side (~5 px at 512: ripples still travel)
ANCHOR_SAMPLES = 9  # colour-anchoring samples along each path (every quarter cycle of travel, both ways)


def with_backdrop(
    gaussians: GaussianSet, velocity: torch.Tensor, travel_frames: float = 0.0, camera: Camera | None = None
) -> tuple[GaussianSet, torch.Tensor]:
    """Add a static, opaque, softer copy of the moving content behind it.

    Mid-loop, the cross-fading copies are partly transparent and stretched apart, which would let holes open in
    water and sky; the backdrop keeps every pixel covered while the moving layers on top carry the motion. It is
    static, so the loop's endpoints still match exactly. Each copy sits ``BACKDROP_BEHIND`` behind the farthest
    point of its Gaussian's path (``travel_frames`` each way) and, given the photo's ``camera`` (the world origin,
    identity rotation), behind the moving paths that pass over its pixel there (up to ``BACKDROP_PASSING_MAX``
    farther): water sliding toward the camera at a depth its downstream neighbours' backdrops are in front of would
    otherwise freeze behind them.
    """
    moving = velocity.abs().sum(dim=-1) > 0
    index = torch.nonzero(moving).squeeze(1)[::BACKDROP_EVERY]
    source = gaussians.select(index)
    # The world origin is the photo's camera (identity rotation): distance along the ray scales with z.
    z = source.means[:, 2].clamp_min(1e-9)
    reach = velocity[index, 2].abs() * travel_frames
    farthest = z + reach
    if camera is not None and travel_frames > 0:
        passing = farthest_passing_depth(gaussians.means[moving], velocity[moving], travel_frames, camera)
        uv, _ = project_points(source.means.float(), camera)
        cols, rows = uv[:, 0].floor().long(), uv[:, 1].floor().long()
        seen = (cols >= 0) & (cols < camera.width) & (rows >= 0) & (rows < camera.height)
        depth_there = torch.zeros_like(z)
        depth_there[seen] = torch.from_numpy(passing[rows[seen].numpy(), cols[seen].numpy()]).to(z.dtype)
        farthest = torch.maximum(farthest, torch.minimum(depth_there, farthest * BACKDROP_PASSING_MAX))
    behind = BACKDROP_BEHIND * farthest / z
    backdrop = source.replace(
        means=source.means * behind[:, None],
        scales=source.scales * BACKDROP_GROW * behind[:, None],
        opacities=torch.full_like(source.opacities, 0.99),
    )
    return GaussianSet.concat([gaussians, backdrop]), torch.cat([velocity, torch.zeros_like(backdrop.means)])


PASSING_FOOTPRINT_PX = 2  # a moving Gaussian covers about this many px around its centre
# A passing path pushes a backdrop back by at most this factor: paths that lost some depth change to their
# confinement stay in front, while water that leaves a depth edge (a fall over its pool) passes behind, as water
# falling into a pool does, and the backdrop stays near the content it copies (no static layer between shows).
BACKDROP_PASSING_MAX = 1.3


def farthest_passing_depth(means_world: torch.Tensor, velocity: torch.Tensor, travel_frames: float, camera: Camera) -> np.ndarray:
    """[H,W] on ``camera``'s image: the largest depth any of these Gaussians has while its path (one cycle of
    travel each way, the most any copy strays) passes over each pixel; 0 where none passes. Runs where the
    Gaussians are (a GPU's scatter-max)."""
    height, width = camera.height, camera.width
    if not len(means_world):
        return np.zeros((height, width), np.float32)
    means, velocity = means_world.float(), velocity.float()
    K = torch.as_tensor(camera.K, dtype=torch.float32, device=means.device)
    world_to_camera = torch.as_tensor(camera.world_to_camera, dtype=torch.float32, device=means.device)
    ends = [project(means + sign * travel_frames * velocity, K, world_to_camera)[0] for sign in (-1.0, 1.0)]
    longest_px = float((ends[1] - ends[0]).norm(dim=-1).max())
    samples = int(np.clip(np.ceil(longest_px / PASSING_FOOTPRINT_PX), 1, 64)) + 1
    out = torch.zeros(height * width, dtype=torch.float32, device=means.device)
    for t in np.linspace(-1.0, 1.0, samples):
        uv, depth = project(means + float(t) * travel_frames * velocity, K, world_to_camera)
        cols, rows = uv[:, 0].floor().long(), uv[:, 1].floor().long()
        inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height) & (depth > 0)
        out.scatter_reduce_(0, (rows * width + cols)[inside], depth[inside], reduce="amax")
    size = 2 * PASSING_FOOTPRINT_PX + 1
    return cv2.dilate(out.reshape(height, width).cpu().numpy(), cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))


def phase_offset_map(height: int, width: int, fade: float = DEFAULT_FADE, seed: int = 0, groups: np.ndarray | None = None) -> np.ndarray:
    """[H,W] phase offsets ψ ∈ [−(1 − fade)/2, (1 − fade)/2] over an image plane: smooth noise, rank-transformed
    so the values spread uniformly within each label of ``groups`` [H,W] (the motion regions, each connected part
    on its own; None: the whole image). See ``phase_offsets``."""
    rng = np.random.default_rng(seed)
    sigma = PHASE_NOISE_SCALE * max(height, width)
    noise = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    labels = np.zeros(noise.size, np.int64) if groups is None else np.asarray(groups).reshape(-1).astype(np.int64)
    # Rank within each label: sort by (label, noise); a pixel's rank counts from its label's first pixel.
    order = np.lexsort((noise.reshape(-1), labels))
    counts = np.bincount(labels)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = np.empty(noise.size, np.float64)
    sorted_labels = labels[order]
    ranks[order] = (np.arange(noise.size) - first[sorted_labels] + 0.5) / counts[sorted_labels]
    half = (1.0 - fade) / 2.0
    return ((ranks.reshape(height, width) - 0.5) * 2.0 * half).astype(np.float32)


def motion_groups(*regions: np.ndarray | None) -> np.ndarray:
    """[H,W] int labels for ``phase_offset_map``: each connected part of each region its own label (0 elsewhere)."""
    shape = next(r.shape for r in regions if r is not None)
    out = np.zeros(shape, np.int64)
    taken = np.zeros(shape, bool)
    for region in regions:
        if region is None:
            continue
        count, parts = cv2.connectedComponents((np.asarray(region, bool) & ~taken).astype(np.uint8), connectivity=8)
        inside = parts > 0
        out[inside] = parts[inside] + out.max()
        taken |= inside
    return out


def phase_offsets(
    means_world: torch.Tensor, camera: Camera, fade: float = DEFAULT_FADE, seed: int = 0, groups: np.ndarray | None = None
) -> torch.Tensor:
    """[N] per-Gaussian phase offsets ψ: ``phase_offset_map`` of the source image at each Gaussian's pixel (clamped
    to the image, so the border ring takes its edge's).

    Neighbouring Gaussians share a phase (texture stays coherent) while distant parts of a lake fade at other
    times, so the whole region never blurs at once. Values are spread uniformly within each of ``groups`` (rank
    transform), so even a small region (a waterfall, which spans few noise blobs) fades a part at a time and its
    sharpness and mean colour do not pulse with the cycle.
    """
    return offsets_at(means_world, camera, phase_offset_map(camera.height, camera.width, fade, seed, groups))


def offsets_at(means_world: torch.Tensor, camera: Camera, offset_map: np.ndarray) -> torch.Tensor:
    """[N] values of ``offset_map`` [H,W] (on ``camera``'s image) at each Gaussian's pixel, clamped to the image."""
    height, width = offset_map.shape
    uv, _ = project_points(means_world.float(), camera)
    cols = uv[:, 0].clamp(0, width - 1).long().numpy()
    rows = uv[:, 1].clamp(0, height - 1).long().numpy()
    return torch.from_numpy(offset_map[rows, cols])


def cycle_reach(phase_offset: ArrayT, fade: float) -> tuple[ArrayT, ArrayT]:
    """How far (in cycles of travel v·T) a Gaussian's copies stray from rest: forward (1 + f)/2 − ψ and backward
    (1 + f)/2 + ψ. Slot A is drawn while u < (1 + f)/2 at ``along = u − ψ``, slot B while u > (1 − f)/2 at
    ``u − 1 − ψ``; so a particle never needs room for a whole cycle each way, and its region's taper
    (``flow2d``) and path confinement (``motion3d``) may leave it that much more speed."""
    middle = 0.5 * (1.0 + fade)
    return middle - phase_offset, middle + phase_offset


def anchor_positions(samples: int) -> np.ndarray:
    """Travel positions a_j ∈ [−1, 1] (cycles, upstream to downstream) of the ``samples`` colour-anchoring samples."""
    return np.linspace(-1.0, 1.0, samples)


COARSE_BLUR_PX_PER_SAMPLE = 8  # blurs wider than 2× this (σ, px) run on a copy downsampled to σ/8 px per sample


def masked_local_mean(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """[H,W,3] normalised Gaussian blur (σ px) of ``image`` [H,W,3] over the pixels of ``mask`` [H,W]: static
    content never bleeds in, and outside the mask it extends the mask's own colours."""
    weight = np.asarray(mask, np.float32)
    weighted = np.ascontiguousarray(image, dtype=np.float32) * weight[..., None]
    factor = int(sigma // COARSE_BLUR_PX_PER_SAMPLE)
    if factor >= 2:
        # A wide blur (the sky's anchoring scale) is as smooth at a fraction of the samples: blur a downsampled
        # copy and interpolate back (a 60-px blur at full size cost ~0.5 s per frame of the closed loop).
        height, width = weight.shape
        small = (max(1, round(width / factor)), max(1, round(height / factor)))

        def blur(array: np.ndarray) -> np.ndarray:
            low = cv2.GaussianBlur(cv2.resize(array, small, interpolation=cv2.INTER_AREA), (0, 0), sigma / factor)
            return cv2.resize(low, (width, height), interpolation=cv2.INTER_LINEAR)

        return blur(weighted) / np.maximum(blur(weight), 1e-4)[..., None]
    blurred = cv2.GaussianBlur(weighted, (0, 0), sigma)
    return blurred / np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-4)[..., None]


def colour_shifts(
    means_world: torch.Tensor,
    velocity: torch.Tensor,
    cycle_frames: float,
    camera: Camera,
    image: np.ndarray,
    moving: np.ndarray,
    sigma_px: float | None = None,
    samples: int = ANCHOR_SAMPLES,
    anchored: np.ndarray | None = None,
) -> torch.Tensor:
    """[N,K,3] per-Gaussian colour changes along its path (see the module docstring), zero for static ones and, given
    ``anchored`` [H,W] bool, for copies whose rest position is not on it (``resting_on``; the pipeline leaves the
    sky out: a cloud is its low-frequency colour, and anchoring that in place kept clouds from moving).

    Sample j is L(p(rest + a_j·v·T)) − L(p(rest)) at ``anchor_positions(K)``; the middle one (rest) is 0.
    ``image`` [H,W,3] in [0,1] and ``moving`` [H,W] bool are on ``camera``'s image plane; ``sigma_px`` defaults to
    ``ANCHOR_SIGMA`` × the camera's long side (pass the photo's when the camera is a wider canvas). The local mean L
    is a normalised Gaussian blur of the image inside ``moving`` (static content never bleeds in; outside the
    region it extends the region's own colours). Several samples per path, not one each way: the local mean of a
    waterfall's foot rises and falls within one cycle of travel (white foam, then the dark pool).
    """
    if samples < 3 or samples % 2 == 0:
        raise ValueError(f"samples must be an odd number >= 3, got {samples}")
    out = torch.zeros(len(means_world), samples, 3, dtype=torch.float32)
    is_moving = velocity.abs().sum(dim=-1) > 0
    if not bool(is_moving.any()) or not moving.any():
        return out
    sigma = sigma_px if sigma_px is not None else ANCHOR_SIGMA * max(camera.width, camera.height)
    local_mean = masked_local_mean(image, moving, sigma)
    rest = means_world[is_moving].float()
    travel = velocity[is_moving].float() * cycle_frames

    def sample(points: torch.Tensor) -> np.ndarray:
        uv, _ = project_points(points, camera)
        return sample_bilinear(local_mean, np.nan_to_num(uv.numpy().astype(np.float64))).astype(np.float32)

    here = sample(rest)
    for j, position in enumerate(anchor_positions(samples)):
        if position != 0.0:
            out[is_moving, j] = torch.from_numpy(sample(rest + float(position) * travel) - here)
    if anchored is not None:
        out[~resting_on(means_world, camera, anchored)] = 0.0
    return out


def resting_on(means_world: torch.Tensor, camera: Camera, mask: np.ndarray) -> torch.Tensor:
    """[N] bool: each point's pixel on ``camera``'s image is in ``mask`` [H,W] (points beyond the frame, the border
    ring's, take the nearest edge pixel)."""
    uv, _ = project_points(means_world.float().cpu(), camera)
    uv = torch.nan_to_num(uv)
    height, width = mask.shape
    cols = uv[:, 0].floor().long().clamp(0, width - 1)
    rows = uv[:, 1].floor().long().clamp(0, height - 1)
    return torch.from_numpy(np.asarray(mask, bool))[rows, cols]


ANCHOR_REFINE_SIGMA = 0.02  # scale of the colour errors the closed loop corrects, × the photo's long side
# The sky's anchoring scale, × the long side: a cloud (its low-frequency colour) travels, while the sky's broad
# gradient stays put (a bright cloud sliding behind a ridge would shift the region's mean colour).
SKY_ANCHOR_SIGMA = 0.06
ANCHOR_REFINE_ITERATIONS = 2
ANCHOR_REFINE_PHASES = 8  # phases per cycle the closed loop renders


def refine_colour_shifts(
    scene: Scene4D,
    moving: np.ndarray,
    iterations: int = ANCHOR_REFINE_ITERATIONS,
    phases: int = ANCHOR_REFINE_PHASES,
    sigma_px: float | None = None,
    device: torch.device | str | None = None,
    step: float = 1.0,
    coarse: np.ndarray | None = None,
    coarse_sigma_px: float | None = None,
) -> torch.Tensor:
    """``scene.colour_shift`` [N,K,3] corrected in closed loop on the photo's camera, so the rendered local mean
    colour of the motion region stays at frame 0's through the cycle.

    The open-loop anchoring (``colour_shifts``) predicts each copy's colour from the photo alone. What a frame
    shows also depends on how the copies overlap once they moved: copies that leave the frame, pass behind one
    another or stretch apart where the flow diverges. At a waterfall's foot the region's mean drifted 2 levels
    that way. Each iteration renders ``phases`` instants of one cycle (every state of the loop is one of them, as
    the state is periodic per cycle), takes the error E = L(frame) − L(frame 0) of the local mean L (a blur at
    ``sigma_px``, default ``ANCHOR_REFINE_SIGMA`` × the long side, inside ``moving`` [H,W]) and gives every
    visible copy −E at its pixel, recorded at its travel position along the path (the two nearest samples, by
    the copy's cross-fade weight). A copy's colour depends on its travel position only, so the loop stays exact;
    the rest sample stays 0, so frame 0 stays the fitted photo. The correction is low-frequency: texture still
    travels. Only copies resting on ``moving`` are corrected; copies resting on ``coarse`` [H,W] (the pipeline's
    sky) are corrected the same way from the error at ``coarse_sigma_px`` inside ``coarse``, from the same renders.
    Returns the scene's shift unchanged when it has none or nothing moves.
    """
    from .raster import rasterize_gaussians

    shift = scene.colour_shift
    camera = scene.source_camera
    long_side = max(camera.width, camera.height)
    groups = [(np.asarray(moving, bool), sigma_px if sigma_px is not None else ANCHOR_REFINE_SIGMA * long_side)]
    if coarse is not None:
        groups.append((np.asarray(coarse, bool), coarse_sigma_px if coarse_sigma_px is not None else SKY_ANCHOR_SIGMA * long_side))
    groups = [(mask, sigma) for mask, sigma in groups if mask.any()]
    if shift is None or not bool(scene.moving.any()) or not groups or iterations <= 0:
        return shift

    def local_means(rgb: torch.Tensor) -> list[np.ndarray]:
        image = rgb.clamp(0.0, 1.0).float().cpu().numpy()
        return [masked_local_mean(image, mask, sigma) for mask, sigma in groups]

    samples = shift.shape[1]
    moving_index = torch.nonzero(scene.moving).squeeze(1)
    # Which group corrects each moving copy (-1: none); a copy resting on both takes the first.
    group_of = torch.full((len(moving_index),), -1, dtype=torch.long)
    for g in reversed(range(len(groups))):
        group_of[resting_on(scene.gaussians.means[moving_index], camera, groups[g][0])] = g
    shift = shift.clone()
    with torch.no_grad():
        targets = None  # frame 0 draws every copy at rest, where the shift is 0: the same in every iteration
        for _ in range(iterations):
            # Everything per copy stays where the states are (a GPU's millions of copies); images come to the
            # host only for the blur.
            states = LoopStates(dataclasses.replace(scene, colour_shift=shift), device)
            where = states.base.means.device
            rows = torch.arange(len(moving_index), device=where)
            group = group_of.to(where)
            if targets is None:
                targets = local_means(rasterize_gaussians(states(0.0), camera).rgb)
            total = torch.zeros(len(moving_index), samples, 3, device=where)
            weights = torch.zeros(len(moving_index), samples, device=where)
            cycle = states.n_frames / states.cycles
            a, b = states.n_static, states.n_static + states.n_moving
            for j in range(phases):
                phase = (j + 0.5) * cycle / phases
                drawn = states(phase)
                errors = [torch.from_numpy(mean - target).to(where)
                          for mean, target in zip(local_means(rasterize_gaussians(drawn, camera).rgb), targets)]
                along = torch.remainder(states.offset + states.cycle_position(phase), 1.0) - states.offset
                for part, travel in ((slice(a, b), along), (slice(b, None), along - 1.0)):
                    uv, _ = project_points(drawn.means[part].float(), camera)
                    uv = torch.nan_to_num(uv)
                    seen = (uv[:, 0] >= 0) & (uv[:, 0] < camera.width) & (uv[:, 1] >= 0) & (uv[:, 1] < camera.height)
                    copy_weight = states.weight[part].float() * seen * (group >= 0)
                    correction = torch.zeros(len(uv), 3, device=where)
                    for g, error in enumerate(errors):
                        mine = group == g
                        correction[mine] = -sample_bilinear(error, uv[mine])
                    position = ((travel.float() + 1.0) * (0.5 * (samples - 1))).clamp(0.0, samples - 1.0)
                    low = position.floor().long().clamp(max=samples - 2)
                    t = position - low
                    for index, share in ((low, copy_weight * (1.0 - t)), (low + 1, copy_weight * t)):
                        total.index_put_((rows, index), correction * share[:, None], accumulate=True)
                        weights.index_put_((rows, index), share, accumulate=True)
            update = torch.where((weights > 0.05)[..., None], total / weights.clamp_min(1e-6)[..., None], torch.zeros_like(total))
            update[:, samples // 2] = 0.0
            shift[moving_index] += step * update.cpu().to(shift.dtype)
    return shift


def legacy_colour_shift(shift: torch.Tensor) -> torch.Tensor:
    """Scene files before format 5 stored [N,2,3] (Δ⁺ one cycle downstream, Δ⁻ from one cycle upstream): the
    same anchoring as 3 samples at a = −1, 0, 1."""
    return torch.stack([-shift[:, 1], torch.zeros_like(shift[:, 0]), shift[:, 0]], dim=1)


def anchored_colours(colors: ArrayT, shift: ArrayT, along: ArrayT) -> ArrayT:
    """``colors`` plus the colour change at travel ``along`` (cycles; [M] or [B,M] for a batch of frames), linear
    between the samples of ``shift`` [M,K,3] (``colour_shifts``). Works on torch tensors and NumPy arrays alike
    (the renderer's states and the ``.splatv`` encoder share it)."""
    samples = shift.shape[1]
    position = ((along + 1.0) * (0.5 * (samples - 1))).clip(0.0, samples - 1.0)
    if isinstance(position, torch.Tensor):
        low = position.floor().long().clamp(max=samples - 2)
        rows = torch.arange(shift.shape[0], device=shift.device)
    else:
        low = np.minimum(np.floor(position).astype(np.int64), samples - 2)
        rows = np.arange(shift.shape[0])
    t = (position - low)[..., None]
    rows = rows.reshape((1,) * (low.ndim - 1) + (-1,))
    return colors + shift[rows, low] * (1.0 - t) + shift[rows, low + 1] * t


def fade_weight(u: torch.Tensor, fade: float) -> torch.Tensor:
    """Slot A's trapezoid weight W(u) for cycle positions u ∈ [0, 1) (slot B has 1 − W)."""
    return ((0.5 * (1.0 + fade) - u) / fade).clamp(0.0, 1.0)


def compensated_opacity(opacity: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """1 − (1 − o)^w: copies whose weights sum to one cover like one Gaussian of opacity o; exact at w ∈ {0, 1}."""
    log_clear = torch.log1p(-opacity.clamp(max=1.0 - 1e-6))
    value = -torch.expm1(weight * log_clear)
    return torch.where(weight >= 1.0, opacity, torch.where(weight <= 0.0, torch.zeros_like(value), value))


@dataclass
class LoopState:
    """The Gaussians to draw at one instant, and which of them belong to which slot."""

    gaussians: GaussianSet
    population: torch.Tensor  # [M] int8: 0 static, 1 slot A, 2 slot B
    weight: torch.Tensor  # [M] cross-fade weight of each drawn Gaussian (1 for static ones)


def phase_at(scene: Scene4D, time_s: float) -> float:
    """Continuous loop phase k ∈ [0, loop_frames) of a time in seconds (the clock wraps forward)."""
    k = (time_s * scene.loop_fps) % scene.loop_frames
    return float(k)


class LoopStates:
    """The animation state at any loop phase, with the per-scene work done once.

    The static part and the fixed attributes are laid out once (static, slot A copies, slot B copies); each call
    only rewrites the moving means and opacities (and ``weight``) in place, so the returned set is valid until the
    next call. Selecting and concatenating per frame would cost more than rasterizing on a CPU.
    """

    def __init__(self, scene: Scene4D, device: torch.device | str | None = None) -> None:
        # ``device``: where the states live (a GPU renders them without a per-frame host → device copy).
        moving = scene.moving
        static, base = scene.gaussians.select(~moving), scene.gaussians.select(moving)
        if device is not None:
            static, base = static.to(device), base.to(device)
        self.n_frames = float(scene.loop_frames)
        self.cycles, self.fade = int(scene.cycles), float(scene.fade)
        cycle_frames = self.n_frames / self.cycles
        self.base = base
        where = base.means.device
        self.travel = scene.velocity[moving].to(where, base.means.dtype) * cycle_frames  # v·T: one cycle's travel
        offsets = scene.phase_offset
        self.offset = (offsets[moving] if offsets is not None else torch.zeros(len(base))).to(where, base.means.dtype)
        self.n_static, self.n_moving = len(static), len(base)
        shift = scene.colour_shift
        self.shift = None if shift is None or not bool(shift.any()) else shift[moving].to(where, base.colors.dtype)
        self.gaussians = GaussianSet.concat([static, base, base])
        self.population = torch.cat(
            [torch.full((n,), i, dtype=torch.int8) for i, n in enumerate((self.n_static, self.n_moving, self.n_moving))]
        ).to(where)
        self.weight = torch.ones(len(self.population), dtype=base.means.dtype, device=where)

    def __call__(self, phase_frames: float) -> GaussianSet:
        g = self.gaussians
        # One frame of ``write_frames``, written in place (the [None] views share the set's storage).
        w_a = self.write_frames([phase_frames], g.means[None], g.opacities[None], g.colors[None], static=False)[0]
        a, b = self.n_static, self.n_static + self.n_moving
        self.weight[a:b] = w_a
        self.weight[b:] = 1.0 - w_a
        return g


    def cycle_position(self, phase_frames: float) -> float:
        k = min(max(float(phase_frames), 0.0), self.n_frames)
        # Cycle position from k·cycles mod N: exactly the same at k = 0 and k = N (and one cycle apart).
        return ((k * self.cycles) % self.n_frames) / self.n_frames

    def write_frames(self, phases: list[float], means: torch.Tensor, opacities: torch.Tensor, colors: torch.Tensor,
                     static: bool = True) -> torch.Tensor:
        """The states at ``phases`` into buffers [B,N,3], [B,N], [B,N,3] (B ≥ len(phases)) laid out like
        ``self.gaussians``, with a few whole-batch kernels (a GPU's video frames); returns slot A's cross-fade
        weights [len(phases), M]. ``static=False`` leaves alone what never changes (the static part, and the moving
        copies' colours without colour anchoring): fill it once."""
        b, a, end = len(phases), self.n_static, self.n_static + self.n_moving
        if static:
            means[:b, :a] = self.gaussians.means[:a]
            opacities[:b, :a] = self.gaussians.opacities[:a]
            colors[:b, :a] = self.gaussians.colors[:a]
        offset = self.offset[None]
        cycle_pos = torch.tensor([self.cycle_position(k) for k in phases], dtype=offset.dtype, device=offset.device)
        u = torch.remainder(offset + cycle_pos[:, None], 1.0)  # [B,M]
        w_a = fade_weight(u, self.fade)
        along = u - offset
        base = self.base
        means[:b, a:end] = base.means + self.travel * along[..., None]
        means[:b, end:] = base.means + self.travel * (along - 1.0)[..., None]
        opacities[:b, a:end] = compensated_opacity(base.opacities, w_a)
        opacities[:b, end:] = compensated_opacity(base.opacities, 1.0 - w_a)
        if self.shift is not None:
            colors[:b, a:end] = anchored_colours(base.colors, self.shift, along)
            colors[:b, end:] = anchored_colours(base.colors, self.shift, along - 1.0)
        elif static:
            colors[:b, a:end] = base.colors
            colors[:b, end:] = base.colors
        return w_a


def gaussians_at(scene: Scene4D, phase_frames: float) -> LoopState:
    """The Gaussian set at loop phase ``phase_frames`` (0 ≤ k ≤ loop_frames), as a fresh set."""
    states = LoopStates(scene)
    gaussians = states(phase_frames)
    return LoopState(gaussians, states.population, states.weight.clone())
