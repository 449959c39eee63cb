"""The verdict on one reading: SHARP, SOFTENING, SOFT or UNCERTAIN, and why.

The verdict quantity is the feature's added defocus blur ``d`` (disc diameter, live-view
pixels) against its locked reference (:mod:`.defocus`), compared with the permissible
circle of confusion ``c`` in live-view pixels:

* SHARP below ½ c, SOFTENING from ½ c to c, SOFT beyond c;
* UNCERTAIN when the reading cannot resolve the CoC — too little detail for the noise,
  clipped highlights, the tracker unsure of where the feature is — with the reason. A
  feature confidently blurred past the CoC is SOFT even when the rest is uncertain (also
  where the box cannot resolve the CoC at all: :func:`plainly_soft`), except with clipping
  (then the blur itself cannot be trusted).

Never SHARP by default: SHARP needs an estimate below ½ c whose noise is small enough
that a blur of c would have been seen. Every path that judges focus — the live lock
(:mod:`.lock`, which adds hysteresis over frames), ``analyze``, the capture check, the
studio shot check and the focus map — asks this module.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from focuslock.focus.defocus import BlurEstimate
from focuslock.focus.gross_blur import overrule
from focuslock.focus.parts import PART_REASON, FeatureEstimate, confident_blur_px
from focuslock.optics.coc import MAX_COC_PX  # the one plausibility limit of a CoC in pixels

__all__ = ["CANNOT_RULE_OUT_REASON", "MAX_COC_PX", "NO_DETAIL_AT_LOCK_REASON", "NO_DETAIL_LEFT_REASON",
           "SHARPER_THAN_LOCK_REASON", "UNRESOLVED_SOFT_REASON", "FocusState", "LockSettings", "Verdict", "describe_blur",
           "judge_estimate", "judge_feature", "plainly_soft", "sharper_than_lock"]


class FocusState(str, enum.Enum):  # noqa: UP042 - a StrEnum would change how str() and format() spell a state
    """The lock's verdict on a feature."""

    SHARP = "sharp"
    SOFTENING = "softening"
    SOFT = "soft"
    UNCERTAIN = "uncertain"
    LOST = "lost"


_RANK = {FocusState.SHARP: 0, FocusState.SOFTENING: 1, FocusState.SOFT: 2}


@dataclass(frozen=True)
class LockSettings:
    """``coc_px``: permissible blur circle in live-view pixels (from the optics: see
    :func:`focuslock.optics.dof.coc_in_live_view`). SOFTENING starts at
    ``softening_fraction`` of it.

    ``take_mode``: the frames are a take or a stack, not a continuous live view: no
    calibration over following frames, one reading past a threshold decides.
    ``ranking_only`` (in a take): the lock only ranks the frames by their detail, no
    verdict — each frame reads UNCERTAIN (``lock.RANKING_REASON``) with its fine-band
    energy (``LockStatus.fine_energy``), as judging would read it: how the first pass of
    ``analyze --lock-best`` finds the sharpest frame.
    """

    coc_px: float = 2.0
    softening_fraction: float = 0.5
    confirm_frames: int = 2
    take_mode: bool = False
    calibration_frames: int = 6
    # At lock time: the estimate's noise (1σ) at half the CoC above which the feature
    # cannot tell SHARP from SOFT at all.
    resolvable_sd_fraction: float = 0.25
    # Per frame: the estimate's noise (1σ) above which a reading says nothing (±1σ wider
    # than the CoC).
    reading_sd_fraction: float = 0.5
    min_track_confidence: float = 0.6
    # Share of the feature's pixels with a clipped channel that makes the reading unsure
    # (beyond what was clipped at lock time).
    clipped_share: float = 0.02
    ranking_only: bool = False

    def __post_init__(self) -> None:
        if not (self.coc_px > 0 and math.isfinite(self.coc_px)):
            raise ValueError(f"The permissible circle of confusion must be a positive number of pixels, got {self.coc_px}.")
        if self.coc_px > MAX_COC_PX:
            raise ValueError(f"A circle of confusion of {self.coc_px:g} live-view pixels is not plausible; "
                             f"give at most {MAX_COC_PX:g}.")
        if not 0 < self.softening_fraction < 1:
            raise ValueError("SOFTENING must start at a fraction of the circle of confusion between 0 and 1.")


def _confidently_soft(estimate: BlurEstimate, coc_px: float) -> bool:
    return estimate.no_detail or estimate.blur_px - 2.0 * estimate.blur_sd_px >= coc_px


def plainly_soft(estimate: BlurEstimate, coc_px: float) -> bool:
    """The reading's lower bound (blur less two of its standard deviations) is past the
    CoC: soft, whatever the box can or cannot resolve at the CoC itself. A feature without
    detail above the noise at all does not count here (it may never have had any)."""
    return (not estimate.no_detail and math.isfinite(estimate.blur_sd_px)
            and estimate.blur_px - 2.0 * estimate.blur_sd_px >= coc_px)


# The reasons a reading gives, in a photographer's words: no px, CoC or σ (the figures
# stay in the reading: blur_px, blur_sd_px, coc_px in --json, the window's details).
# The box could not resolve the CoC at lock time (too little detail for the noise).
NO_DETAIL_AT_LOCK_REASON = ("too little fine detail in the box to tell at this noise — pick a box with more texture "
                            "or lower the ISO")
# This reading's noise is too large for the CoC (or the detail is gone).
NO_DETAIL_LEFT_REASON = ("too little fine detail left in the box to tell at this noise — add light or lower the ISO, "
                         "or pick a box with more texture")
# Near zero blur the reading cannot rule out a blur of the CoC.
CANNOT_RULE_OUT_REASON = ("looks in focus, but the box has too little fine detail to be sure — pick a box with more "
                          "texture or lower the ISO")
# SOFT where the box cannot resolve the CoC: plainly blurred, the fine judgement unavailable.
UNRESOLVED_SOFT_REASON = ("clearly out of focus; the box has too little fine detail to tell in focus from softening "
                          "— pick a box with more texture or lower the ISO")


# UNCERTAIN's reason when the feature reads sharper than it was at lock time.
SHARPER_THAN_LOCK_REASON = "sharper than when it was locked — lock again here"
# How much sharper than at lock (share of the CoC) a feature must read for that.
SHARPER_SHARE_OF_COC = 0.25


def sharper_than_lock(estimate: BlurEstimate, coc_px: float) -> bool:
    """The feature reads sharper than at lock by more than a quarter CoC even at two of its
    standard deviations:
    the lock was not taken at best focus, and SHARP would only mean "no softer than then"."""
    return (math.isfinite(estimate.blur_sd_px)
            and estimate.blur_px + 2.0 * estimate.blur_sd_px < -SHARPER_SHARE_OF_COC * coc_px)


def judge_estimate(estimate: BlurEstimate, settings: LockSettings, resolvable: bool = True) -> tuple[FocusState, str | None]:
    """The verdict on one blur estimate, before hysteresis: SOFT when confidently past the
    CoC — also where the box cannot resolve the CoC, once the reading's lower bound is past
    it (then with the reason); UNCERTAIN (with the reason) when the noise cannot resolve
    the CoC; otherwise by the thresholds. ``resolvable``: whether the reference could
    resolve the CoC at all."""
    coc = settings.coc_px
    if resolvable and _confidently_soft(estimate, coc):
        return FocusState.SOFT, None
    if not resolvable:
        if plainly_soft(estimate, coc):
            return FocusState.SOFT, UNRESOLVED_SOFT_REASON
        return FocusState.UNCERTAIN, NO_DETAIL_AT_LOCK_REASON
    if estimate.no_detail or estimate.blur_sd_px > settings.reading_sd_fraction * coc:
        return FocusState.UNCERTAIN, NO_DETAIL_LEFT_REASON
    blur = estimate.blur_px
    if blur < settings.softening_fraction * coc:
        # SHARP only when the reading rules out a blur of the CoC: near zero blur the
        # through-focus curve is flat, and noise there hides what lies under it.
        if estimate.blur_high_px >= coc:
            return FocusState.UNCERTAIN, CANNOT_RULE_OUT_REASON
        return FocusState.SHARP, None
    return (FocusState.SOFTENING if blur < coc else FocusState.SOFT), None


@dataclass(frozen=True)
class Verdict:
    """One reading judged, before hysteresis: the state, why (UNCERTAIN's reason, or the
    part of the box that set it), the estimate it rests on (the whole box's, or the
    part's), and the blur (px) that the thresholds compared."""

    state: FocusState
    reason: str | None
    shown: BlurEstimate
    judged_blur_px: float


def judge_feature(estimate: FeatureEstimate, settings: LockSettings, resolvable: bool = True,
                  part_blurs_px: list[float] | None = None, unsure: str | None = None) -> Verdict:
    """The verdict on the whole box and its parts (:mod:`.parts`).

    A part sets the verdict when it is confidently worse than the whole: its blur less
    two standard deviations (``part_blurs_px``, by default from this reading alone; the
    lock confirms them over two readings) past the SOFTENING or SOFT threshold; a part
    past SOFTENING's whose own reading lies past the CoC cannot rule out SOFT, and makes
    the verdict UNCERTAIN (unless the whole is SOFT). ``unsure``: a reason (an unsure
    track) that makes the verdict UNCERTAIN unless the feature is confidently soft."""
    coc = settings.coc_px
    whole = estimate.whole
    if part_blurs_px is None:
        part_blurs_px = [confident_blur_px(p) if p is not None else -math.inf for p in estimate.parts]
    # The worst part's verdict, when it is past a threshold (a part past one was read).
    part_verdict: Verdict | None = None
    if resolvable and part_blurs_px:
        part = _first_largest(part_blurs_px)
        floor = part_blurs_px[part]
        part_state = (FocusState.SOFT if floor >= coc else
                      FocusState.SOFTENING if floor >= settings.softening_fraction * coc else None)
        part_estimate = estimate.parts[part]
        if part_state == FocusState.SOFTENING and part_estimate is not None and part_estimate.blur_px >= coc:
            # At least softening, and read past the CoC: it cannot rule out SOFT.
            part_state = FocusState.UNCERTAIN
        if part_state is not None and part_estimate is not None:
            part_verdict = Verdict(part_state, PART_REASON, part_estimate, floor)
    # A blur far past the CoC, which the fine reading cannot see (:mod:`.gross_blur`). Not
    # SOFT where the feature may not be there (an unsure track) or its highlights are
    # flattened (clipping): UNCERTAIN with that reason, but its floor shown, not a fine
    # reading the gross one contradicts.
    overruled = overrule(whole, estimate.gross, coc)
    if unsure is None:
        whole = overruled
    if resolvable and _confidently_soft(whole, coc):
        return Verdict(FocusState.SOFT, None, whole, whole.blur_px)
    if not resolvable and plainly_soft(whole, coc):
        return Verdict(FocusState.SOFT, UNRESOLVED_SOFT_REASON, whole, whole.blur_px)
    if part_verdict is not None and part_verdict.state == FocusState.SOFT:
        return part_verdict
    if unsure is not None:
        return Verdict(FocusState.UNCERTAIN, unsure, overruled, overruled.blur_px)
    state, reason = judge_estimate(whole, settings, resolvable)
    if part_verdict is not None and part_verdict.state == FocusState.UNCERTAIN:
        return part_verdict if state != FocusState.SOFT else Verdict(state, reason, whole, whole.blur_px)
    if part_verdict is not None and (reason is not None or _RANK[part_verdict.state] > _RANK[state]
                                     or (_RANK[part_verdict.state] == _RANK[state] and _diverging(estimate))):
        # The part is confidently worse than the whole reads: it sets the verdict and the
        # blur shown (the whole's would understate what the user sees in that part).
        # Where the whole already says as much, only while the parts diverge (one
        # sharper than at lock, as when the plane of focus crosses the box): a part of
        # little contrast also reads more blur than the whole after a JPEG round trip
        # (its fine detail quantised away first), and there the whole is the truer figure.
        return part_verdict
    return Verdict(state, reason, whole, whole.blur_px)


def _first_largest(values: list[float]) -> int:
    """The index ``np.argmax`` gives a few numbers (the first NaN, else the first of the
    largest), without making an array of them every frame."""
    for index, value in enumerate(values):
        if value != value:
            return index
    best = 0
    for index in range(1, len(values)):
        if values[index] > values[best]:
            best = index
    return best


def _diverging(estimate: FeatureEstimate) -> bool:
    """Some part of the box reads confidently sharper than at lock."""
    return any(p is not None and math.isfinite(p.blur_sd_px) and p.blur_px + 2.0 * p.blur_sd_px < 0
               for p in estimate.parts)


def describe_blur(blur_px: float, coc_px: float, beyond_range: bool = False) -> str:
    """'blur +0.42 px (0.21 CoC)'; '≥' when the blur ran past the reference's curve. A
    negative blur (sharper than the reference) is said in pixels only: it is no share of
    the depth of field."""
    if blur_px < 0:
        more = "more than " if beyond_range else ""
        return f"sharper than the reference by {more}{-blur_px:.2f} px"
    more = "≥" if beyond_range else ""
    return f"blur {more}{blur_px:+.2f} px ({more}{blur_px / coc_px:.2f} CoC)"
