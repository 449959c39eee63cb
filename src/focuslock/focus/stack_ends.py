"""Does a focus stack reach the ends of its subject? How each part of the picture is judged.

A part sharpest in the first or last frame may have its best focus beyond the stack: its
sharpness is still rising there. Read against that end frame (the verdict's own blur
estimator, :mod:`.defocus`), the frames k steps inside add a blur r_k; with the steps
K_k between them and the end (blur discs add by their second moments) a subject d px (of
blur) beyond the end frame reads r_k² = K_k² + 2·K_k·d, so d = (r_k² − K_k²) / (2·K_k) —
d < 0 when the subject lies inside the stack. The part is covered when d is at most the
CoC; beyond that the stack must be extended by about (d − CoC) / step frames.

That reading needs the steps at the end fixed by parts sharpest *between* frames (a step
told only by parts sharpest in the end frame cannot be told from a subject beyond it) and
a part the estimator can read. Where it cannot tell, the part is UNCERTAIN, with the
reason — never covered by default.

A part whose only contrast is coarse (no fine detail above the noise in any frame) was
never sharp: when its coarse contrast rises towards an end, its subject lies beyond it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from focuslock.focus.defocus import BlurEstimate

__all__ = ["Doubt", "EndReading", "EndReport", "StackEnd", "TileState", "Trend", "farthest_px", "frames_to_add",
           "clearly_below", "judge_end_part", "read_beyond", "sharpness_trend", "summarise_end"]

# How many frames inside an end frame are read against it.
END_READINGS = 3
# A reading this close to the end of the estimator's curve (share of its span) may stop
# growing because the curve ends, not because the reference was blurred.
_SATURATED_SHARE = 0.75
# Readings may put a subject nearer the end frame by up to this share of the CoC (beyond
# their noise) from one frame to the next, or this much farther inside than midway to the
# next frame, without being called compressed: the estimator's own error between blurs (a
# subject inside the bench's full stack read −0.41 and −0.51 CoC; one midway on a tilted
# photograph −0.72, −0.75 and −0.84 for −0.72).
_SHRINK_COC = 0.25
# A part whose distance beyond the end is known to this share of the CoC is judged by it
# even when its ±2σ straddles the CoC; a less precise one is UNCERTAIN there.
_DECIDE_SD_COC = 0.5
# A change in a part's sharpness (band energy) from frame to frame counts when it is this
# many standard deviations of the noise and this share of the energy (JPEG, alignment).
_TREND_SIGMAS = 3.0
_TREND_SHARE = 0.05
# The farthest parts beyond an end: this percentile of their distances (a stray tile
# does not set the number of frames to add), when there are at least _FEW parts.
_FAR_PERCENTILE = 95.0
_FEW = 10


class StackEnd(Enum):
    """One end of the stack."""

    FIRST = "first"
    LAST = "last"


class TileState(Enum):
    """A part's coverage by the stack."""

    COVERED = "covered"  # within the CoC of some frame
    SOFT = "soft"  # between two frames, soft in both: a gap
    BEYOND_FIRST = "beyond the first frame"
    BEYOND_LAST = "beyond the last frame"
    UNCERTAIN = "uncertain"


class Doubt(Enum):
    """Why a part cannot be judged."""

    END_STEP_UNKNOWN = "end step unknown"  # no part sharpest between frames fixes the step at its end
    TOO_FAINT = "too faint"  # too faint or blurred in its end frame to read how far beyond it lies
    IMPRECISE = "imprecise"  # read, but not precisely enough to tell whether within the CoC
    NO_TREND = "no trend"  # contrast whose sharpness neither peaks nor changes across the frames
    IN_GAP = "in a gap"  # peaks between frames a gap apart; too faint to read where


class Trend(Enum):
    """How a part's sharpness changes across the frames."""

    RISES_TO_FIRST = "rises to the first frame"
    RISES_TO_LAST = "rises to the last frame"
    PEAK_INSIDE = "peaks inside the stack"
    FLAT = "flat"


@dataclass(frozen=True)
class EndReading:
    """A part sharpest in an end frame: its subject's blur there, px (negative: it lies
    inside the stack), the standard deviation, and whether it is a lower bound (the
    frames inside were blurred past the estimator's curve)."""

    beyond_px: float
    sd_px: float
    at_least: bool = False


@dataclass(frozen=True)
class EndReport:
    """One end of the stack: the parts with detail beyond it, those that cannot be told,
    how far the farthest lie (their blur in the end frame, px) and how many frames to add
    at ``step_px`` (None where unknown). ``judged``: the step at this end is known from
    parts sharpest between frames; otherwise no part sharpest at this end can be judged."""

    end: StackEnd
    frame: int
    judged: bool
    parts_beyond: int
    parts_uncertain: int
    beyond_px: float | None = None
    at_least: bool = False
    frames_to_add: int | None = None
    step_px: float | None = None

    @property
    def covered(self) -> bool:
        return self.judged and self.parts_beyond == 0 and self.parts_uncertain == 0


def read_beyond(readings: list[tuple[float, BlurEstimate]], coc_px: float, curve_end_px: float) -> EndReading | None:
    """How far beyond its end frame a part's subject lies, from ``readings``: (K, the
    estimate of a frame K px of steps inside, read against the end frame), nearest first.
    None when no reading can be used.

    The estimator reads large blurs low, and against a reference already blurred far too
    low: on the pcb stack without its first two frames the USB socket, 3.3 CoC beyond the
    new first frame, read 1.3, 1.6 and 1.9 CoC in the frames 1.3, 3.1 and 4.4 CoC inside —
    less than any subject inside the stack would give. Where a farther frame reads no more
    than the one before it, or less than a subject no farther inside than half the first
    step allows, or puts the subject clearly nearer the end than the frame before did, the
    readings are compressed: the nearest frame's reading, the least compressed, then only
    says that the subject lies at least that far beyond (``at_least``). Near the end of the
    estimator's curve (``curve_end_px``) readings stop growing for another reason — the
    curve ends — and the frames before count as they are. A frame blurred past the curve's
    end gives only a bound. The standard deviation is the noise's."""
    first_step = readings[0][0] if readings else 0.0
    weights: list[float] = []
    values: list[float] = []
    lower, previous, compressed = None, -math.inf, False
    for steps_px, estimate in readings:
        if not steps_px > 0:
            break
        r = max(estimate.blur_px, 0.0)
        d = (r * r - steps_px * steps_px) / (2.0 * steps_px)
        saturated = estimate.blur_px >= _SATURATED_SHARE * curve_end_px
        if estimate.blur_px <= previous:
            compressed = not saturated
            break
        previous = estimate.blur_px
        if estimate.beyond_range:
            lower = d if lower is None else max(lower, d)
            break
        if not math.isfinite(estimate.blur_sd_px):
            break
        sd = r * estimate.blur_sd_px / steps_px
        if values and (d + 2.0 * sd < -first_step / 2.0 - _SHRINK_COC * coc_px
                       or d < values[-1] - 2.0 * math.hypot(sd, 1.0 / math.sqrt(weights[-1])) - _SHRINK_COC * coc_px):
            # Less blur than any subject inside the stack allows, or a subject nearer the
            # end than the frame before said: the readings shrink as the blur grows.
            compressed = not saturated
            break
        weights.append(1.0 / max(sd, 1e-6) ** 2)
        values.append(d)
    if compressed and values:
        return EndReading(values[0], 1.0 / math.sqrt(weights[0]), at_least=True)
    if values:
        # Unweighted: the nearest frame reads most precisely but, for small blurs, low
        # (the bench's coin read 0.8, 1.1 and 1.3 CoC beyond from the frames 1, 2 and 3
        # steps in, for 1.6).
        beyond = float(np.mean(values))
        sd = math.sqrt(sum(1.0 / w for w in weights)) / len(values)
        # A frame farther inside blurred past the curve says the subject may lie farther
        # (a large blur reads low: the bench's 13 CoC read 9–10 from the next frame).
        return EndReading(beyond, sd, at_least=lower is not None and lower > beyond)
    if lower is not None:
        return EndReading(lower, math.inf, at_least=True)
    return None


def judge_end_part(reading: EndReading | None, end: StackEnd, coc_px: float) -> tuple[TileState, Doubt | None]:
    """Covered, beyond ``end``, or UNCERTAIN (why) for a part sharpest in an end frame. A
    reading that is only a lower bound can say beyond, never covered."""
    beyond = TileState.BEYOND_FIRST if end is StackEnd.FIRST else TileState.BEYOND_LAST
    if reading is None:
        return TileState.UNCERTAIN, Doubt.TOO_FAINT
    sd = reading.sd_px if math.isfinite(reading.sd_px) else 0.0
    if reading.at_least:
        return (beyond, None) if reading.beyond_px - 2.0 * sd > coc_px else (TileState.UNCERTAIN, Doubt.TOO_FAINT)
    if reading.beyond_px - 2.0 * sd > coc_px:
        return beyond, None
    if reading.beyond_px + 2.0 * sd <= coc_px:
        return TileState.COVERED, None
    if sd <= _DECIDE_SD_COC * coc_px:
        return (beyond, None) if reading.beyond_px > coc_px else (TileState.COVERED, None)
    return TileState.UNCERTAIN, Doubt.IMPRECISE


def clearly_below(values: np.ndarray, sds: np.ndarray, top: int, other: int) -> bool:
    """Whether a part's band energy in frame ``other`` is clearly below that in ``top``:
    by more than the noise allows and a share of the energy (JPEG, alignment)."""
    margin = max(_TREND_SIGMAS * math.hypot(float(sds[top]), float(sds[other])), _TREND_SHARE * abs(float(values[top])))
    return float(values[top]) - float(values[other]) > margin


def sharpness_trend(values: np.ndarray, sds: np.ndarray) -> tuple[Trend, int]:
    """How a part's band energy runs across the frames (first to last): rising to an end,
    peaking inside, or flat (no frame clearly below the sharpest). Returns the trend and
    the frame where the energy is largest."""
    best = int(np.argmax(values))
    last = len(values) - 1
    if not any(clearly_below(values, sds, best, f) for f in range(last + 1)):
        return Trend.FLAT, best
    if best == 0:
        return Trend.RISES_TO_FIRST, best
    return (Trend.RISES_TO_LAST if best == last else Trend.PEAK_INSIDE), best


def farthest_px(distances_px: list[float]) -> float | None:
    """How far the farthest parts beyond an end lie (their blur in the end frame, px): a
    high percentile, so that one stray part does not set the frames to add."""
    if not distances_px:
        return None
    return float(np.percentile(distances_px, _FAR_PERCENTILE)) if len(distances_px) >= _FEW else max(distances_px)


def frames_to_add(farthest: float | None, coc_px: float, step_px: float | None) -> int | None:
    """Frames to add at an end, ``step_px`` apart (at most 2 CoC: a step that leaves no
    gap), so that parts ``farthest`` px (of blur) beyond it come within the CoC of a
    frame; at least one. None when the distance or the step is unknown."""
    if farthest is None or step_px is None or not step_px > 0:
        return None
    step = min(step_px, 2.0 * coc_px)
    return max(1, math.ceil((farthest - coc_px) / step - 1e-9))


def summarise_end(end: StackEnd, frame: int, judged: bool, parts: list[tuple[TileState, float | None, bool]],
                  coc_px: float, step_px: float | None) -> EndReport:
    """The report of one end from its parts (state, distance beyond it in px or None,
    whether that is a lower bound). The frames to add count to the farthest parts that
    were read; only where no part was read (only bounds, or beyond by an unknown amount)
    is it "at least". (Bounds are not counted beside readings: against a reference
    already blurred the estimator runs past its curve early — a text photograph 6 CoC
    beyond the first frame gave bounds of 11.7.)"""
    beyond_state = TileState.BEYOND_FIRST if end is StackEnd.FIRST else TileState.BEYOND_LAST
    beyond = [(distance, at_least) for state, distance, at_least in parts if state is beyond_state]
    uncertain = sum(1 for state, _, _ in parts if state is TileState.UNCERTAIN)
    far = farthest_px([distance for distance, at_least in beyond if distance is not None and not at_least])
    at_least = far is None
    if far is None and beyond:
        far = farthest_px([distance for distance, _ in beyond if distance is not None])
    adding = frames_to_add(far, coc_px, step_px) if beyond else None
    if beyond and adding is None and step_px is not None:
        adding, at_least = 1, True  # beyond, but how far is unknown: at least one frame
    return EndReport(end, frame, judged, len(beyond), uncertain, far, at_least, adding,
                     None if step_px is None else min(step_px, 2.0 * coc_px))
