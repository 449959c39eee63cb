"""Does a focus stack cover its subject? Gaps, its ends, redundant frames and frames that
did not move.

A stack is sharp everywhere when every part of the subject lies within the depth of field
of at least one frame. Measured from the frames alone, in the verdict's own unit:

1. The frames are aligned to the middle one (a lens that refocuses breathes: its scale
   changes a little from frame to frame) by ECC on smoothed copies, composing the
   transforms of neighbouring frames, which look alike.
2. The picture is cut into tiles; a tile with contrast above the noise (the one noise
   model) in some frame is judged — fine detail, or only coarse contrast (a subject
   blurred in every frame) — and a plain one is not.
3. Between neighbouring frames i and i+1, the **step blur**: how much blur (disc
   diameter, px, :mod:`.defocus`) one frame adds to the other, read on the tiles that
   are sharpest in one of the two — the tiles whose subject sits at a frame show the
   whole step (:mod:`.step_fit`). A point midway between two frames is blurred by half a
   step in both: the stack covers it while half a step is at most the CoC.
4. A tile sharpest between two frames is covered when its own blur there is at most the
   CoC. A tile sharpest in the first or last frame may lie beyond the stack: how far is
   read from how its blur grows into the stack (:mod:`.stack_ends`). A tile that cannot
   be told is UNCERTAIN, never covered by default.

A step of less than a tenth of the CoC means that the focus did not move (a lost drive
step, a frame taken twice); frames whose neighbours are less than two CoC apart can be
dropped (chosen together, from the first frame on; with a margin for the steps' error).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from focuslock.focus.coverage_values import StackCoverage, StepReport, TileCoverage
from focuslock.focus.defocus import BlurEstimate, BlurReference, band_energies, curve_diameters_px, fine_energy_sd
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.stack_align import align_stack, scale_of
from focuslock.focus.stack_ends import (
    END_READINGS,
    Doubt,
    StackEnd,
    TileState,
    Trend,
    clearly_below,
    judge_end_part,
    read_beyond,
    sharpness_trend,
    summarise_end,
)
from focuslock.focus.step_fit import measure_steps

__all__ = ["StackCoverage", "StepReport", "TileCoverage", "align_stack", "check_coverage"]

# A tile's box in the aligned frames: x, y, width, height (px).
Box = tuple[int, int, int, int]

TILE_PX = 48
_MARGIN_PX = 12  # context around a tile for the coarse band and the blur's spread
# A tile has fine detail when its fine band holds this many standard deviations of its
# noise in its sharpest frame.
_DETAIL_SIGMAS = 12.0
# And at least this band energy (grey levels²: differences of about one level): a JPEG's
# flat areas hold a little of its own blocking and rounding, and the noise model, which
# JPEG fools there, would take it for detail. The same floor holds for coarse contrast.
_MIN_FINE_ENERGY = 2.0
# The coarse band's neighbouring differences are correlated over about this many pixels
# (its Gaussian of σ = 2 px): fewer independent samples than the fine band.
_COARSE_CORRELATED_PX = 12.0
# A tile's readings count towards the steps only where they tell a blur of one CoC (a
# step of a planned stack) with a standard deviation of at most this share of the CoC.
# Fainter tiles (a smooth surface whose fine band is mostly the JPEG's rounding) read
# steps several times too large — the coin's face at 2× read 3–6 px for steps of 0.9 —
# and a row of them at one depth outvoted the few precise tiles.
_READING_SD_COC = 0.15
# A tile sharpest beside an end frame whose energy does not clearly fall towards that end
# lies midway between them when its reading of the end frame is this precise (share of
# the CoC); otherwise it cannot be told from a subject far beyond the end.
_MIDWAY_SD_COC = 0.5
# A step below this share of the CoC is no step: the focus did not move.
NOT_MOVED_COC = 0.1
# A frame is called redundant only when its neighbours stay within this share of the CoC
# of each other at their midpoint: small steps may read a quarter low (the bench's coin
# at 2×: 0.86 px for steps of 1.0 at f/8; two neighbouring steps of 1.3 CoC read 0.65
# and 0.68 at f/5.6), and a frame dropped on our word that was needed leaves a gap the
# shooter finds too late.
_REDUNDANT_COC = 0.6


@dataclass
class _Energies:
    """Band energies of every tile in every frame, with their noise's standard deviation."""

    fine: np.ndarray
    fine_sd: np.ndarray
    coarse: np.ndarray
    coarse_sd: np.ndarray
    detailed: np.ndarray  # fine detail above the noise in some frame
    contrast: np.ndarray  # coarse contrast above the noise in some frame


def _energies(view: Callable[[int, Box], np.ndarray], boxes: Sequence[Box], count: int, sigmas: list[float]) -> _Energies:
    shape = (len(boxes), count)
    fine, fine_sd, coarse, coarse_sd = (np.zeros(shape) for _ in range(4))
    detailed, contrast = np.zeros(len(boxes), bool), np.zeros(len(boxes), bool)
    for b, box in enumerate(boxes):
        for f in range(count):
            e = band_energies(view(f, box), sigmas[f], margin_px=_MARGIN_PX)
            fine[b, f], fine_sd[b, f], coarse[b, f] = e.fine, e.fine_sd, e.coarse
            coarse_sd[b, f] = fine_energy_sd(e.coarse, e.coarse_noise, int(e.pixels * 2 / _COARSE_CORRELATED_PX))
            if e.coarse_resolved:
                detailed[b] |= e.fine >= max(_DETAIL_SIGMAS * e.fine_sd, _MIN_FINE_ENERGY)
                contrast[b] |= e.coarse >= _MIN_FINE_ENERGY
    return _Energies(fine, fine_sd, coarse, coarse_sd, detailed, contrast)


def _usable(estimate: BlurEstimate) -> bool:
    return math.isfinite(estimate.blur_sd_px) or estimate.no_detail


def check_coverage(greys: list[np.ndarray], names: list[str], coc_px: float, scale: float = 1.0) -> StackCoverage:
    """The coverage of a stack of grey frames (float32, analysis size, in focus order).
    ``coc_px``: the circle of confusion in analysis pixels."""
    if len(greys) < 2:
        raise ValueError("A focus stack needs at least two frames to check.")
    shape = greys[0].shape
    if any(g.shape != shape for g in greys):
        raise ValueError("The frames of a stack must all have the same size.")
    transforms, aligned, warnings = align_stack(greys)
    breathing = scale_of(transforms[-1]) / scale_of(transforms[0]) - 1.0
    sigmas = [single_frame_noise_sigma(np.clip(g, 0, 255).astype(np.uint8)) for g in aligned]
    height, width = shape
    m = _MARGIN_PX
    boxes = [(x, y, TILE_PX, TILE_PX) for y in range(m, height - TILE_PX - m + 1, TILE_PX)
             for x in range(m, width - TILE_PX - m + 1, TILE_PX)]
    count = len(aligned)
    last = count - 1

    def view(frame: int, box: Box) -> np.ndarray:
        x, y, w, h = box
        return aligned[frame][y - m : y + h + m, x - m : x + w + m]

    energy = _energies(view, boxes, count, sigmas)
    sharpest = np.argmax(energy.fine, axis=1)

    # Each tile with detail read against its sharpest frame: its neighbours, and at an end
    # the frames up to END_READINGS inside. Only precise tiles tell the steps.
    readings: dict[int, dict[int, BlurEstimate]] = {}
    relative: dict[int, dict[int, float]] = {}
    weights: dict[int, float] = {}
    for b in np.flatnonzero(energy.detailed).tolist():
        p = int(sharpest[b])
        reference = BlurReference([view(p, boxes[b])], sigmas[p], coc_px, m)
        others = [p - 1, p + 1] if 0 < p < last else [p + k if p == 0 else p - k for k in range(1, END_READINGS + 1)]
        readings[b] = {o: reference.estimate(view(o, boxes[b]), sigmas[o]) for o in others if 0 <= o <= last}
        predicted_sd = reference.predicted_sd(coc_px, sigmas[p])
        if predicted_sd <= _READING_SD_COC * coc_px:
            # (A fainter tile's fine band would vanish into the noise and read as "blurred
            # past the curve".)
            relative[b] = {o: max(e.blur_px, 0.0) for o, e in readings[b].items() if abs(o - p) == 1 and _usable(e)}
            if len(relative[b]) == 2:
                weights[b] = 1.0 / max(predicted_sd, 1e-3 * coc_px) ** 2
    curve_end_px = float(curve_diameters_px(coc_px)[-1])
    blurs, counts, fitted = measure_steps(relative, {b: int(sharpest[b]) for b in relative}, weights, count, coc_px,
                                          curve_end_px)
    steps = [StepReport(i, blur, counts[i], gap=blur is not None and blur / 2.0 > coc_px,
                        not_moved=blur is not None and blur < NOT_MOVED_COC * coc_px,
                        beyond_range=blur is not None and blur >= curve_end_px - 1e-6, fitted=i in fitted)
             for i, blur in enumerate(blurs)]

    tiles = []
    for b in np.flatnonzero(energy.detailed | energy.contrast).tolist():
        if energy.detailed[b]:
            p = int(sharpest[b])
            if 0 < p < last:
                tiles.append(_judge_inside(boxes[b], p, readings[b], steps, energy, b, coc_px))
            else:
                tiles.append(_judge_end(boxes[b], p, readings[b], steps, energy, b, coc_px, curve_end_px))
        else:
            tiles.append(_judge_coarse(boxes[b], steps, energy, b))
    moved = [s.blur_px for s in steps if s.blur_px is not None and not s.not_moved]
    typical = float(np.median(moved)) if moved else None
    ends = []
    for end, frame, step in ((StackEnd.FIRST, 0, steps[0]), (StackEnd.LAST, last, steps[-1])):
        beyond = TileState.BEYOND_FIRST if end is StackEnd.FIRST else TileState.BEYOND_LAST
        parts = [(t.state, t.blur_at_nearest_px, t.at_least) for t in tiles
                 if t.state is beyond or (t.sharpest_frame == frame and t.state is TileState.UNCERTAIN)]
        ends.append(summarise_end(end, frame, step.fitted and step.blur_px is not None, parts, coc_px, typical))
    return StackCoverage(list(names), coc_px, scale, breathing, steps, tiles, _redundant(steps, coc_px), aligned, None,
                         warnings, ends)


def _falls(energy: _Energies, b: int, p: int, side: range, estimate: BlurEstimate | None) -> bool:
    """Whether tile ``b`` is clearly less sharp somewhere on ``side`` than in frame ``p``:
    by its band energy, or by the blur its neighbour there reads against ``p``."""
    if estimate is not None and (estimate.no_detail or estimate.blur_px - 2.0 * estimate.blur_sd_px > 0):
        return True
    return any(clearly_below(energy.fine[b], energy.fine_sd[b], p, f) for f in side)


def _steep(energy: _Energies, b: int, p: int, towards: int) -> bool:
    """Whether tile ``b`` is clearly less sharp one or two frames from ``p`` towards
    ``towards``."""
    step = 1 if towards > p else -1
    count = energy.fine.shape[1]
    return any(clearly_below(energy.fine[b], energy.fine_sd[b], p, f) for f in (p + step, p + 2 * step) if 0 <= f < count)


def _judge_inside(box: Box, p: int, readings: dict[int, BlurEstimate], steps: list[StepReport], energy: _Energies, b: int,
                  coc_px: float) -> TileCoverage:
    """A tile sharpest between the ends: its subject lies between its neighbours' planes when
    it is less sharp on both sides; its own blur follows from the step to the nearer one."""
    count = energy.fine.shape[1]
    for side, neighbour, away in ((range(p), p - 1, p + 1), (range(p + 1, count), p + 1, p - 1)):
        estimate = readings.get(neighbour)
        if _falls(energy, b, p, side, estimate):
            continue
        if len(side) == 1 and ((_steep(energy, b, p, away) and energy.coarse[b][neighbour] <= energy.coarse[b][p])
                               or (estimate is not None and estimate.blur_sd_px <= _MIDWAY_SD_COC * coc_px)):
            # Beside an end frame and no sharper there: midway between them, for a subject
            # beyond the end would be sharper in it (its sharpness falls steeply the other
            # way and its coarse contrast does not rise to the end — a faint texture's fine
            # band is the JPEG's as much as the subject's — or the end frame reads no blur
            # against it, precisely).
            continue
        # As sharp all the way to an end: a subject far beyond it reads so too.
        return TileCoverage(box, p, float(p), None, TileState.UNCERTAIN, Doubt.NO_TREND)
    # With its subject d px (of blur) from frame p towards a neighbour a step of s px
    # away, the neighbour is blurred by s − d and reads sqrt((s − d)² − d²) against frame p
    # (blur discs add by their second moments), so d = (s² − r²) / 2s for the reading r.
    # The nearer side is the neighbour that reads less blur.
    sides = [(max(e.blur_px, 0.0), o) for o, e in readings.items() if _usable(e) and steps[min(p, o)].blur_px]
    gap_beside = steps[p - 1].gap or steps[p].gap
    if not sides:
        if gap_beside:
            return TileCoverage(box, p, float(p), None, TileState.UNCERTAIN, Doubt.IN_GAP)
        return TileCoverage(box, p, float(p), None, TileState.COVERED)
    r, other = min(sides)
    if gap_beside and not readings[other].blur_sd_px <= _MIDWAY_SD_COC * coc_px:
        return TileCoverage(box, p, float(p), None, TileState.UNCERTAIN, Doubt.IN_GAP)
    step = steps[min(p, other)].blur_px
    assert step is not None  # sides holds only neighbours a known step away
    own_blur = float(np.clip((step * step - r * r) / (2.0 * step), 0.0, step / 2.0))
    position = p + math.copysign(own_blur / step, other - p)
    return TileCoverage(box, p, position, own_blur, TileState.COVERED if own_blur <= coc_px else TileState.SOFT)


def _judge_end(box: Box, p: int, readings: dict[int, BlurEstimate], steps: list[StepReport], energy: _Energies, b: int,
               coc_px: float, curve_end_px: float) -> TileCoverage:
    """A tile sharpest in the first or last frame: how far beyond it its subject lies."""
    end = StackEnd.FIRST if p == 0 else StackEnd.LAST
    inward = 1 if p == 0 else -1
    step_index = 0 if p == 0 else p - 1
    if not steps[step_index].fitted or steps[step_index].blur_px is None:
        return TileCoverage(box, p, float(p), None, TileState.UNCERTAIN, Doubt.END_STEP_UNKNOWN)
    pairs, total = [], 0.0
    for k in range(1, END_READINGS + 1):
        other = p + inward * k
        if other not in readings:  # the stack ends (a short stack has fewer readings than END_READINGS)
            break
        step = steps[min(other, other - inward)].blur_px
        if step is None:
            break
        total += step
        pairs.append((total, readings[other]))
    reading = read_beyond(pairs, coc_px, curve_end_px)
    state, doubt = judge_end_part(reading, end, coc_px)
    if state is TileState.COVERED and sharpness_trend(energy.fine[b], energy.fine_sd[b])[0] is Trend.FLAT:
        # Read as near its end frame, yet no sharper there than anywhere in the stack.
        state, doubt = TileState.UNCERTAIN, Doubt.NO_TREND
    if reading is None:
        return TileCoverage(box, p, float(p), None, state, doubt)
    beyond, step = reading.beyond_px, steps[step_index].blur_px
    assert step is not None  # checked on entry
    # Inside the stack, no farther from the end frame than half the step (else the next
    # frame would be the sharper).
    own = beyond if beyond >= 0 else min(-beyond, step / 2.0)
    position = p - inward * (beyond if beyond >= 0 else -own) / step
    return TileCoverage(box, p, position, own, state, doubt, reading.at_least)


def _judge_coarse(box: Box, steps: list[StepReport], energy: _Energies, b: int) -> TileCoverage:
    """A tile with coarse contrast but no fine detail in any frame was never sharp there:
    beyond the end frame whose contrast is clearly the highest; inside the stack (a smooth
    surface) covered unless a gap is beside it; flat, UNCERTAIN."""
    values, sds = energy.coarse[b], energy.coarse_sd[b]
    trend, best = sharpness_trend(values, sds)
    last = len(values) - 1
    if trend in (Trend.RISES_TO_FIRST, Trend.RISES_TO_LAST):
        if not clearly_below(values, sds, best, 1 if best == 0 else last - 1):
            return TileCoverage(box, best, float(best), None, TileState.UNCERTAIN, Doubt.TOO_FAINT)
        state = TileState.BEYOND_FIRST if trend is Trend.RISES_TO_FIRST else TileState.BEYOND_LAST
        return TileCoverage(box, best, float(best), None, state, at_least=True)
    if trend is Trend.PEAK_INSIDE and not (steps[best - 1].gap or steps[best].gap):
        return TileCoverage(box, best, float(best), None, TileState.COVERED)
    return TileCoverage(box, best, float(best), None, TileState.UNCERTAIN,
                        Doubt.IN_GAP if trend is Trend.PEAK_INSIDE else Doubt.NO_TREND)


def _redundant(steps: list[StepReport], coc_px: float) -> list[int]:
    """Frames that can be dropped together: walking from the first frame, a frame goes
    when the last frame kept and the next one stay within 2 CoC of each other (blur along
    the depth adds up step by step)."""
    redundant = []
    since_kept = 0.0
    for j in range(1, len(steps)):
        before, after = steps[j - 1].blur_px, steps[j].blur_px
        if before is None or after is None:
            since_kept = 0.0
            continue
        since_kept += before
        if (since_kept + after) / 2.0 <= _REDUNDANT_COC * coc_px:
            redundant.append(j)
        else:
            since_kept = 0.0
    return redundant
