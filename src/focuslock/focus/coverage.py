"""Does a focus stack cover its subject? Gaps, redundant frames and frames that did not move.

A stack is sharp everywhere when every part of the subject lies within the depth of field
of at least one frame. Measured from the frames alone, in the verdict's own unit:

1. The frames are aligned to the middle one (a lens that refocuses breathes: its scale
   changes a little from frame to frame) by ECC on smoothed copies, composing the
   transforms of neighbouring frames, which look alike.
2. The picture is cut into tiles; a tile with detail above the noise (the one noise
   model) in some frame is judged, a plain one is not.
3. Between neighbouring frames i and i+1, the **step blur**: how much blur (disc
   diameter, px, :mod:`.defocus`) one frame adds to the other, read on the tiles that
   are sharpest in one of the two — the tiles whose subject sits at a frame show the
   whole step. A point midway between two frames is blurred by half a step in both: the
   stack covers it while half a step is at most the CoC.
4. A tile is covered when its sharpest frame is blurred by at most the CoC there: its
   own blur follows from the step and how much its neighbour reads against it.

A step of less than a tenth of the CoC means that the focus did not move (a lost drive
step, a frame taken twice); frames whose neighbours are less than two CoC apart can be
dropped (chosen together, from the first frame on; with a margin for the steps' error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from focuslock.focus.defocus import BlurReference, band_energies, curve_diameters_px
from focuslock.focus.noise import single_frame_noise_sigma

__all__ = ["StackCoverage", "StepReport", "TileCoverage", "align_stack", "check_coverage"]

TILE_PX = 48
_MARGIN_PX = 12  # context around a tile for the coarse band and the blur's spread
# A tile is judged when its fine band holds this many standard deviations of its noise
# in its sharpest frame.
_DETAIL_SIGMAS = 12.0
# And at least this fine-band energy (grey levels²: differences of about one level): a
# JPEG's flat areas hold a little of its own blocking and rounding, and the noise model,
# which JPEG fools there, would take it for detail.
_MIN_FINE_ENERGY = 2.0
# A tile's readings count towards the steps only where they tell a blur of one CoC (a
# step of a planned stack) with a standard deviation of at most this share of the CoC.
# Fainter tiles (a smooth surface whose fine band is mostly the JPEG's rounding) read
# steps several times too large — the coin's face at 2× read 3–6 px for steps of 0.9 —
# and a row of them at one depth outvoted the few precise tiles.
_READING_SD_COC = 0.15
# A step below this share of the CoC is no step: the focus did not move.
NOT_MOVED_COC = 0.1
# The percentile of a step's tile readings that sets it: the tiles sitting at a frame
# show the whole step, the others less (a high percentile, robust to a few odd tiles).
_STEP_PERCENTILE = 90.0
# A frame is called redundant only when its neighbours stay within this share of the CoC
# of each other at their midpoint: small steps may read a quarter low (the bench's coin
# at 2×: 0.86 px for steps of 1.0 at f/8; two neighbouring steps of 1.3 CoC read 0.65
# and 0.68 at f/5.6), and a frame dropped on our word that was needed leaves a gap the
# shooter finds too late.
_REDUNDANT_COC = 0.6
# A tile sharpest in the first or last frame may show a subject beyond the stack: it reads
# the end step or more (r² = s² + 2·s·d for a subject d beyond). Where only such tiles
# tell the end step, a low percentile of their readings sets it — those at the end
# frame's own depth (the mark the stack ends on) read the step itself. The 90th read
# 2.6 CoC for a step of 1.2 on the bench: a false gap at the end of every stack.
_END_PERCENTILE = 10.0
# The steps' fit pulls each step towards the typical one with the weight of this many
# typical tiles.
_PRIOR_TILES = 0.02
# The steps' fit counts a tile fully up to this many standard deviations off (Huber).
_HUBER_SIGMAS = 2.0


@dataclass(frozen=True)
class StepReport:
    """Between frames ``index`` and ``index + 1``: the blur one adds to the other (px),
    how many tiles showed it, and what that means."""

    index: int
    blur_px: float | None
    tiles: int
    gap: bool
    not_moved: bool
    beyond_range: bool = False  # the blur ran past the end of the curves: at least ``blur_px``


@dataclass(frozen=True)
class TileCoverage:
    box_px: tuple[int, int, int, int]
    sharpest_frame: int
    position_frames: float  # where the subject sits, in frames (fractional)
    blur_at_nearest_px: float
    covered: bool


@dataclass
class StackCoverage:
    names: list[str]
    coc_px: float
    scale: float  # analysis pixels per frame pixel
    breathing: float  # scale of the last frame against the first, minus 1
    steps: list[StepReport]
    tiles: list[TileCoverage]
    redundant: list[int]
    aligned_grey: list[np.ndarray] = field(repr=False, default_factory=list)
    sharpest_map: np.ndarray | None = field(repr=False, default=None)
    warnings: list[str] = field(default_factory=list)

    @property
    def gaps(self) -> list[StepReport]:
        return [s for s in self.steps if s.gap]

    @property
    def not_moved(self) -> list[StepReport]:
        return [s for s in self.steps if s.not_moved]


def _smoothed(grey: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(grey, (0, 0), 2.0)


def align_stack(greys: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Affine transforms that bring every frame onto the middle one, the aligned frames,
    and warnings for neighbours that could not be aligned (left as they were)."""
    count = len(greys)
    middle = count // 2
    warnings: list[str] = []
    small = [_smoothed(cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)) for g in greys]
    pair = [np.eye(2, 3, dtype=np.float32) for _ in range(count)]  # frame i onto its neighbour towards the middle
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    for i in range(count):
        if i == middle:
            continue
        target = i + 1 if i < middle else i - 1
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(small[target], small[i], warp, cv2.MOTION_AFFINE, criteria, None, 5)
        except cv2.error:
            warnings.append(f"Frame {i + 1} could not be aligned with frame {target + 1}; it is compared as it is.")
            warp = np.eye(2, 3, dtype=np.float32)
        warp[:, 2] *= 2.0  # half-size translation back to full size
        pair[i] = warp
    # Compose towards the middle: maps from the middle frame's coordinates into frame i.
    transforms = [np.eye(2, 3, dtype=np.float64) for _ in range(count)]

    def as3(m):
        return np.vstack([m, [0.0, 0.0, 1.0]])

    for i in range(middle - 1, -1, -1):
        transforms[i] = (as3(transforms[i + 1]) @ as3(pair[i].astype(np.float64)))[:2]
    for i in range(middle + 1, count):
        transforms[i] = (as3(transforms[i - 1]) @ as3(pair[i].astype(np.float64)))[:2]
    height, width = greys[middle].shape
    aligned = [cv2.warpAffine(g, t.astype(np.float32), (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT) for g, t in zip(greys, transforms)]
    return transforms, aligned, warnings


def _fit_steps(relative: dict[int, dict[int, float]], sharpest: dict[int, int], weights: dict[int, float],
               first: list[float | None], coc_px: float, curve_end_px: float) -> list[float | None]:
    """Every step at once from the tiles between two neighbours.

    A tile sharpest in frame p, its subject d px (of blur) from p towards p + 1, reads
    r₋² = s₋² + 2·s₋·d in frame p − 1 and r₊² = s₊² − 2·s₊·d in frame p + 1 (blur discs add
    by their second moments; s₋, s₊ the steps on either side). Eliminating d leaves one
    equation in the two steps, whatever the side the subject lies on:
    (s₊·r₋² + s₋·r₊²) / (s₋ + s₊) = s₋·s₊. All tiles together fix all steps: Gauss–Newton,
    each tile weighted by its readings' precision (a faint texture, which a JPEG also
    makes over-read, counts little), then with Huber's down-weighting of tiles off by
    more than their precision allows. On
    a photograph on a tilted plane stacked in known steps this reads the steps within
    a few per cent where the first estimate (a percentile of one-sided readings) read
    some of them at a fifth — missing gaps. Steps no tile lies between keep the first
    estimate."""
    equations = [(sharpest[b] - 1, sharpest[b], r[sharpest[b] - 1], r[sharpest[b] + 1], weights[b])
                 for b, r in relative.items()]
    if not equations:
        return first
    floor = 1e-3 * coc_px
    # Every step starts at the typical first estimate (a planned stack moves evenly): a
    # first estimate of nought beside a large one started the fit in a false valley.
    typical = [v for v in first if v is not None and v > floor]
    s = np.full(len(first), float(np.median(typical)) if typical else coc_px)
    used = sorted({e[0] for e in equations} | {e[1] for e in equations})
    left = np.array([e[0] for e in equations])
    right = np.array([e[1] for e in equations])
    rm2 = np.array([e[2] ** 2 for e in equations])
    rp2 = np.array([e[3] ** 2 for e in equations])
    root_w = np.sqrt(np.array([e[4] for e in equations]))
    def weighted(s: np.ndarray, robust: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Residuals, their derivatives by s₋ and s₊, and the rows' weights at ``s``."""
        sm, sp = s[left], s[right]
        total = sm + sp
        mixed = sp * rm2 + sm * rp2
        residual = (mixed / total - sm * sp) * root_w
        d_sm = ((rp2 * total - mixed) / total**2 - sp) * root_w
        d_sp = ((rm2 * total - mixed) / total**2 - sm) * root_w
        rows_weight = np.ones(len(equations))
        if robust:
            # A residual in px² of a reading r with standard deviation σ has about 2·s·σ
            # of spread; beyond _HUBER_SIGMAS of them a tile counts less.
            standard = np.abs(residual) / (2.0 * np.maximum(0.5 * total, floor))
            rows_weight = np.sqrt(np.minimum(1.0, _HUBER_SIGMAS / np.maximum(standard, 1e-12)))
        return residual, d_sm, d_sp, rows_weight

    # A weak pull of every step towards the typical one, worth half a typical tile: where
    # the tiles cannot tell how a blur splits between the steps on either side of their
    # frame (no tile sits in the next frame), the fit otherwise slid along that valley to
    # one step of nought beside one of several CoC — a false gap.
    typical_step = float(s[0])
    prior_root = math.sqrt(_PRIOR_TILES * float(np.median(root_w**2))) * 2.0 * typical_step
    used_index = np.array(used)

    def system(s: np.ndarray, robust: bool, rows_weight: np.ndarray | None = None):
        residual, d_sm, d_sp, weight = weighted(s, robust)
        if rows_weight is not None:
            weight = rows_weight
        jacobian = np.zeros((len(equations) + len(used), len(s)))
        rows = np.arange(len(equations))
        jacobian[rows, left] += d_sm * weight
        jacobian[rows, right] += d_sp * weight
        jacobian[len(equations) + np.arange(len(used)), used_index] = prior_root
        full = np.concatenate([residual * weight, prior_root * (s[used_index] - typical_step)])
        return full, jacobian, weight

    def solve(s: np.ndarray, robust: bool) -> np.ndarray:
        for _ in range(40):
            residual, jacobian, weight = system(s, robust)
            cost = float(np.sum(residual**2))
            delta = np.zeros(len(s))
            delta[used], *_ = np.linalg.lstsq(jacobian[:, used], -residual, rcond=None)
            # Halve the step until the fit improves: a full Gauss–Newton step from far
            # off can overshoot to the bounds and stay there.
            for _ in range(12):
                trial = np.clip(s + delta, floor, curve_end_px)
                if float(np.sum(system(trial, robust, weight)[0] ** 2)) <= cost:
                    break
                delta *= 0.5
            else:
                break
            s = trial
            if float(np.max(np.abs(delta))) < 1e-4 * coc_px:
                break
        return s

    # First by the tiles' precision alone — the precise tiles lead — then with Huber's
    # down-weighting of tiles that disagree by more than their noise allows (a faint
    # texture after JPEG: its finest detail is rounded away in a blurred frame and it
    # reads several times the step). A scale taken from the residuals themselves (their
    # median) was set by the many faint tiles: it cast out the few precise ones instead.
    s = solve(solve(s, robust=False), robust=True)
    return [float(s[i]) if i in used else first[i] for i in range(len(first))]


def _scale_of(transform: np.ndarray) -> float:
    return math.sqrt(abs(float(np.linalg.det(transform[:, :2]))))


def check_coverage(greys: list[np.ndarray], names: list[str], coc_px: float, scale: float = 1.0) -> StackCoverage:
    """The coverage of a stack of grey frames (float32, analysis size, in focus order).
    ``coc_px``: the circle of confusion in analysis pixels."""
    if len(greys) < 2:
        raise ValueError("A focus stack needs at least two frames to check.")
    shape = greys[0].shape
    if any(g.shape != shape for g in greys):
        raise ValueError("The frames of a stack must all have the same size.")
    transforms, aligned, warnings = align_stack(greys)
    breathing = _scale_of(transforms[-1]) / _scale_of(transforms[0]) - 1.0
    sigmas = [single_frame_noise_sigma(np.clip(g, 0, 255).astype(np.uint8)) for g in aligned]
    height, width = shape
    m = _MARGIN_PX
    boxes = [(x, y, TILE_PX, TILE_PX) for y in range(m, height - TILE_PX - m + 1, TILE_PX)
             for x in range(m, width - TILE_PX - m + 1, TILE_PX)]
    count = len(aligned)

    def view(frame: int, box) -> np.ndarray:
        x, y, w, h = box
        return aligned[frame][y - m : y + h + m, x - m : x + w + m]

    fine = np.zeros((len(boxes), count))
    detailed = np.zeros(len(boxes), bool)
    for b, box in enumerate(boxes):
        for f in range(count):
            e = band_energies(view(f, box), sigmas[f], margin_px=m)
            fine[b, f] = e.fine
            if e.fine >= max(_DETAIL_SIGMAS * e.fine_sd, _MIN_FINE_ENERGY) and e.coarse_resolved:
                detailed[b] = True
    sharpest = np.argmax(fine, axis=1)

    # Step blur between neighbours, from the tiles sharpest in one of the two; and each
    # tile's blur in its neighbours relative to its sharpest frame.
    # A tile counts towards the step on the side its subject lies: there it reads
    # between 0 (midway) and the whole step (at frame p); on the other side it would read
    # more than the step and inflate it. The side is first the neighbour that reads less
    # blur, then (twice) the one the steps so found explain. A tile at either end of the
    # stack (one neighbour; its subject may lie beyond the stack) counts only where no
    # tile between two frames does.
    relative: dict[int, dict[int, float]] = {}
    for b in np.flatnonzero(detailed):
        p = int(sharpest[b])
        reference = BlurReference([view(p, boxes[b])], sigmas[p], coc_px, m)
        relative[b] = {}
        if not reference.predicted_sd(coc_px, sigmas[p]) <= _READING_SD_COC * coc_px:
            # Too little detail for the noise to tell a step: its fine band would vanish
            # into the noise and read as "blurred past the curve".
            continue
        for other in (p - 1, p + 1):
            if 0 <= other < count:
                estimate = reference.estimate(view(other, boxes[b]), sigmas[other])
                if math.isfinite(estimate.blur_sd_px) or estimate.no_detail:
                    relative[b][other] = max(estimate.blur_px, 0.0)
    curve_end_px = float(curve_diameters_px(coc_px)[-1])

    def estimate_steps(side_of) -> list[float | None]:
        step_blurs: list[list[float]] = [[] for _ in range(count - 1)]
        end_blurs: list[list[float]] = [[] for _ in range(count - 1)]
        for b, readings in relative.items():
            if readings:
                other = side_of(b)
                (step_blurs if len(readings) == 2 else end_blurs)[min(int(sharpest[b]), other)].append(readings[other])
        counts[:] = [len(blurs or ends) for blurs, ends in zip(step_blurs, end_blurs)]
        return [_step_of(blurs) if blurs else _step_of(ends, _END_PERCENTILE) for blurs, ends in zip(step_blurs, end_blurs)]

    def _step_of(readings: list[float], percentile: float = _STEP_PERCENTILE) -> float | None:
        # Readings past the curve's end come from tiles whose content changed between the
        # frames (an occluding edge defocused over its background) as well as from real
        # large steps: they set the step only when they are most of its readings.
        if not readings:
            return None
        within = [r for r in readings if r < curve_end_px - 1e-6]
        if len(within) * 2 <= len(readings):
            return curve_end_px
        return float(np.percentile(within, percentile))


    def nearer_by_reading(b: int) -> int:
        return min((r, o) for o, r in relative[b].items())[1]

    def nearer_by_model(b: int) -> int:
        # With steps s known, a subject x px (of blur) from frame p towards a neighbour
        # reads r² = s² − 2·s·x there and s'² + 2·s'·x on the other side: the side where
        # (s² − r²) / 2s is larger holds it. Next to a gap (one large step) the reading
        # alone picks the wrong side for subjects in the gap.
        p = int(sharpest[b])
        if len(relative[b]) < 2:
            return next(iter(relative[b]))
        best = None
        for other, r in relative[b].items():
            step = first_steps[min(p, other)]
            if not step:
                return nearer_by_reading(b)
            x = (step * step - r * r) / (2.0 * step)
            if best is None or x > best[0]:
                best = (x, other)
        return best[1]

    counts: list[int] = [0] * (count - 1)
    first_steps = estimate_steps(nearer_by_reading)
    for _ in range(2):
        first_steps = estimate_steps(nearer_by_model)
    weights = {}
    for b in relative:
        if len(relative[b]) == 2:
            p = int(sharpest[b])
            reference = BlurReference([view(p, boxes[b])], sigmas[p], coc_px, m)
            weights[b] = 1.0 / max(reference.predicted_sd(coc_px, sigmas[p]), 1e-3 * coc_px) ** 2
    first_steps = _fit_steps({b: relative[b] for b in weights}, {b: int(sharpest[b]) for b in weights}, weights,
                             first_steps, coc_px, curve_end_px)
    steps = []
    for i, blur in enumerate(first_steps):
        steps.append(StepReport(i, blur, counts[i], gap=blur is not None and blur / 2.0 > coc_px,
                                not_moved=blur is not None and blur < NOT_MOVED_COC * coc_px,
                                beyond_range=blur is not None and blur >= curve_end_px - 1e-6))

    tiles = []
    for b in np.flatnonzero(detailed):
        p = int(sharpest[b])
        # The tile's own blur in its sharpest frame: with its subject d px (of blur) from
        # frame p towards a neighbour a step of s px away, the neighbour is blurred by
        # s − d and reads sqrt((s − d)² − d²) against frame p (blur discs add by their
        # second moments), so d = (s² − r²) / 2s for the reading r. The nearer side is the
        # neighbour that reads less blur.
        own_blur, position = 0.0, float(p)
        sides = [(r, other) for other, r in relative[b].items() if steps[min(p, other)].blur_px]
        if sides:
            r, other = min(sides)
            step = steps[min(p, other)].blur_px
            own_blur = float(np.clip((step * step - r * r) / (2.0 * step), 0.0, step / 2.0))
            position = p + math.copysign(own_blur / step, other - p)
        tiles.append(TileCoverage(boxes[b], p, position, own_blur, own_blur <= coc_px))

    # Frames that can be dropped together: walking from the first frame, a frame goes
    # when the last frame kept and the next one stay within 2 CoC of each other (blur
    # along the depth adds up step by step).
    redundant = []
    since_kept = 0.0
    for j in range(1, count - 1):
        before, after = steps[j - 1].blur_px, steps[j].blur_px
        if before is None or after is None:
            since_kept = 0.0
            continue
        since_kept += before
        if (since_kept + after) / 2.0 <= _REDUNDANT_COC * coc_px:
            redundant.append(j)
        else:
            since_kept = 0.0
    return StackCoverage(list(names), coc_px, scale, breathing, steps, tiles, redundant, aligned, None, warnings)
