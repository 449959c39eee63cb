"""Focus lock: once locked, every frame says SHARP, SOFTENING, SOFT, UNCERTAIN or LOST.

Each reading is judged by :mod:`.judge` (the thresholds, UNCERTAIN and its reasons, SOFT
where it is plainly soft); the lock keeps what lies between frames:

* the feature's reference, calibrated on its first still frames live (LOST when the
  tracker lost the feature);
* hysteresis from the noise **at lock time**: a worse state needs ``confirm_frames``
  readings past its threshold (one reading far past it suffices); a better state needs
  the blur back below the threshold by ``h`` = max(2 σ_lock, 5 % of c);
* "sharper than at lock" when the lock was not taken at best focus;
* hints (sharper / softer / passed the peak) from the blur's own trend (:mod:`.hints`), so
  they work when focus is racked by hand or on a rail, and count drive steps when a drive
  reports its position.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from focuslock.focus.defocus import BlurEstimate, view_margin_px
from focuslock.focus.hints import FocusTrend, PeakSearch, PeakStatus
from focuslock.focus.jpeg_noise import FeatureScaleMemory
from focuslock.focus.judge import (
    _RANK,
    MAX_COC_PX,
    SHARPER_SHARE_OF_COC,
    SHARPER_THAN_LOCK_REASON,
    FocusState,
    LockSettings,
    Verdict,
    describe_blur,
    judge_estimate,
    judge_feature,
    plainly_soft,
    sharper_than_lock,
)
from focuslock.focus.parts import FeatureEstimate, FeatureReference, confident_blur_px

__all__ = ["CALIBRATING_REASON", "CLIPPED_LIVE_REASON", "LOST_REASON", "TAKE_LOST_REASON", "MAX_COC_PX", "NO_DETAIL_WARNING",
           "RANKING_REASON",
           "SHARPER_THAN_LOCK_REASON", "UNSURE_TRACK_REASON", "FocusLock", "FocusState", "LockSettings", "LockStatus",
           "PeakSearch", "PeakStatus", "Verdict", "describe_blur", "judge_estimate", "judge_feature", "plainly_soft",
           "sharper_than_lock"]

# The lock's reasons and warnings in a photographer's words: no px, CoC or σ (the figures
# stay in the status: blur_px, blur_sd_px, coc_px in --json, the window's details).
# UNCERTAIN's reason while a live lock measures the noise on its first still frames.
CALIBRATING_REASON = "measuring the noise — hold still"
# LOST's reason live, and in a take (a recording cannot be framed again).
LOST_REASON = "the feature is out of sight — frame it again, or box it again"
TAKE_LOST_REASON = "the feature could not be followed in this frame (blurred past recognition, or out of the frame)"
# UNCERTAIN's reason on every frame of a lock that only ranks frames (LockSettings.ranking_only).
RANKING_REASON = "only ranked by its detail (finding the sharpest frame), not judged"
# UNCERTAIN's reason when the tracker's confidence is low.
UNSURE_TRACK_REASON = "the detail moved or changed too much to follow — hold still, or box it again"
# UNCERTAIN's reason when more of the box is clipped than at lock ({percent}: its share).
CLIPPED_LIVE_REASON = "highlights clipped in {percent:.0f} % of the box — lower the exposure"
# The lock's warning when the box cannot resolve the CoC at this noise.
NO_DETAIL_WARNING = ("Too little fine detail in the box to judge focus at this noise: pick a box with more "
                     "texture or a larger box, add light or lower the ISO, or zoom live view.")

# Past this share of the CoC (box or any part, the last reading) every part is read every
# frame; below it, still and sharp, one part a frame in turn (FocusLock._read).
MOVING_SHARE_OF_COC = 0.25


@dataclass(frozen=True)
class LockStatus:
    """The verdict on one frame.

    ``blur_px`` the added blur (disc diameter, live-view px; negative: sharper than the
    lock) and ``blur_sd_px`` its noise; ``coc_px`` the circle of confusion it is judged
    against; ``reason`` why the state is UNCERTAIN or LOST; ``warning`` what the lock
    said when it was taken (too little detail, clipping), for as long as it holds.
    """

    state: FocusState
    blur_px: float | None
    blur_sd_px: float | None
    coc_px: float
    reason: str | None = None
    hint: str | None = None
    peak: PeakStatus | None = None
    warning: str | None = None
    calibrating: bool = False
    beyond_range: bool = False
    # The feature's noise-corrected fine-band energy: larger is sharper and it never
    # saturates, so it ranks the frames of a stack (one exposure) even where the blur
    # estimate runs off its curve or a box spans several depths.
    fine_energy: float | None = None
    # The whole box's blur (px), also when a part set the verdict and ``blur_px`` is the
    # part's: what a sweep through focus reads (one quantity from frame to frame).
    whole_blur_px: float | None = None
    # The locked reference (replaced whole, never changed: safe to read on any thread),
    # for the capture check to judge a capture with the same estimator.
    reference: FeatureReference | None = field(default=None, repr=False, compare=False)

    @property
    def coc_share(self) -> float | None:
        """The blur as a share of the CoC: how much of the depth of field is used
        (0 = in the plane of the lock, 1 = at the edge of the depth of field); None
        without a blur or when the feature reads sharper than at lock."""
        if self.blur_px is None or self.blur_px < 0:
            return None  # sharper than at lock: no share of the depth of field
        return self.blur_px / self.coc_px

    def describe(self) -> str:
        """One line for a banner, a HUD or a log: state, blur in px and in CoC."""
        text = self.state.value.upper()
        if self.blur_px is not None and self.state != FocusState.LOST:
            text += "  " + describe_blur(self.blur_px, self.coc_px, self.beyond_range)
        if self.reason:
            text += f" — {self.reason}"
        return text


class FocusLock:
    """The state machine for one locked feature.

    ``view``: the feature at lock time, whole-pixel, with ``view_margin_px`` of context on
    every side; ``noise_sigma`` the noise model's σ then, known to ``noise_sd`` (default:
    a single-frame estimate's, :func:`focuslock.focus.noise.noise_sigma_sd`).
    """

    def __init__(self, view: np.ndarray, noise_sigma: float, settings: LockSettings | None = None,
                 clipped_share_at_lock: float = 0.0, noise_sd: float | None = None) -> None:
        self.settings = settings or LockSettings()
        self.margin_px = view_margin_px(self.settings.coc_px)
        self._view_shape = view.shape
        self._calibration_closed = False
        self.noise_sigma_at_lock = float(noise_sigma)
        self.noise_sd_at_lock = noise_sd
        self.clipped_share_at_lock = clipped_share_at_lock
        # Sized here before any status publishes it; from then on replaced whole, never
        # changed (add_calibration_view copies on write).
        self.reference = FeatureReference(view, self.noise_sigma_at_lock, self.settings.coc_px, self.margin_px)
        self._reset_parts()
        self._size_thresholds(self.reference)
        self.state: FocusState = FocusState.SHARP if self.resolvable else FocusState.UNCERTAIN
        self._pending: FocusState | None = None
        self._pending_count = 0
        self._previous_position: float | None = None
        self._sharper_count = 0
        self.trend = FocusTrend(self.settings.coc_px)
        self.peak: PeakSearch = self.trend.peak

    # ------------------------------------------------------------------ calibration
    def _size_thresholds(self, reference: FeatureReference) -> None:
        """The lock's thresholds from ``reference``, and which of its parts are read
        (``reference`` is sized in place: never one a status has published)."""
        settings = self.settings
        # How well the lock can tell blur at the SOFTENING threshold, from the noise now:
        # the estimate's noise where the feature is blurred by half the CoC.
        half = settings.softening_fraction * settings.coc_px
        whole = reference.whole
        self.lock_sd_px = whole.predicted_sd(half, self.noise_sigma_at_lock, self.noise_sd_at_lock)
        self.hysteresis_px = max(2.0 * self.lock_sd_px, 0.05 * settings.coc_px)
        max_sd_px = settings.resolvable_sd_fraction * settings.coc_px
        self.resolvable = self.lock_sd_px <= max_sd_px and whole.reference.coarse_resolved
        # The parts that can tell SHARP from SOFT on their own are read every frame.
        reference.size_parts(half, max_sd_px, self.noise_sd_at_lock)
        self.warning: str | None = None
        if not self.resolvable:
            self.warning = NO_DETAIL_WARNING
        elif self.clipped_share_at_lock > settings.clipped_share:
            self.warning = ("Highlights in the feature are clipped: lower the exposure for a trustworthy verdict.")

    @property
    def calibrating(self) -> bool:
        return (not (self.settings.take_mode or self._calibration_closed)
                and self.reference.view_count < self.settings.calibration_frames)

    @property
    def shown_warning(self) -> str | None:
        """The lock's warning, once it is final: while a live lock calibrates, "too little
        detail" may rest on the first frame's single-frame noise estimate alone."""
        if self.calibrating and not self.resolvable:
            return None
        return self.warning

    def add_calibration_view(self, view: np.ndarray, noise_sigma: float, noise_sd: float | None = None) -> None:
        """Another whole-pixel view of the still feature: the curve is averaged over the
        views (their noise averages out) and corrected for the noise model as it settles
        (its first σ is a single-frame estimate, later ones temporal).

        Copy on write: the reference the last status published (``LockStatus.reference``,
        which the window's capture check reads on the acquisition thread) is never
        changed; the view is added to a copy, the copy sized, and the new reference
        published with one assignment, so a reader holds either the old one or the new."""
        if not self.calibrating or view.shape != self._view_shape:
            return
        self.noise_sigma_at_lock = float(noise_sigma)
        self.noise_sd_at_lock = noise_sd
        reference = copy.deepcopy(self.reference)
        reference.add_view(view, self.noise_sigma_at_lock)
        self._size_thresholds(reference)
        self.reference = reference
        self._scale_memory = FeatureScaleMemory()  # the noise model moved with the view

    def finish_calibration(self) -> None:
        """Stop calibrating (focus started to move: later views would no longer show the
        feature as it was locked)."""
        self._calibration_closed = True

    # ------------------------------------------------------------------ per frame
    def update(self, view: np.ndarray | None, noise_sigma: float | None, *, lost: bool = False, track_confidence: float = 1.0,
               clipped_share: float = 0.0, position_steps: float | None = None,
               noise_sd: float | None = None) -> LockStatus:
        """Judge this frame's ``view`` of the feature, with the noise model's σ now
        (``noise_sd``: how well it is known; default a single-frame estimate's)."""
        settings = self.settings
        coc = settings.coc_px
        if lost or view is None or noise_sigma is None:
            self._pending, self._pending_count = None, 0
            self._reset_parts()
            self.state = FocusState.LOST
            return LockStatus(FocusState.LOST, None, None, coc, TAKE_LOST_REASON if settings.take_mode else LOST_REASON,
                              warning=self.shown_warning)
        if settings.ranking_only and settings.take_mode:
            return LockStatus(FocusState.UNCERTAIN, None, None, coc, RANKING_REASON, warning=self.shown_warning,
                              fine_energy=self.reference.fine_energy(view, noise_sigma), reference=self.reference)
        moving = position_steps is not None and self._previous_position is not None and position_steps != self._previous_position
        if moving and self.calibrating:
            self.finish_calibration()
        estimate = self._read(view, noise_sigma, noise_sd)
        state, reason, shown = self._judge(estimate, track_confidence, clipped_share)
        self.state = state
        hint, peak = self._hint(estimate.whole, moving, position_steps)
        self._previous_position = position_steps
        return LockStatus(state, shown.blur_px, shown.blur_sd_px, coc, reason, hint, peak, self.shown_warning,
                          self.calibrating, shown.beyond_range, estimate.whole.energies.fine, estimate.whole.blur_px,
                          self.reference)

    def _judge(self, estimate: FeatureEstimate, track_confidence: float,
               clipped_share: float) -> tuple[FocusState, str | None, BlurEstimate]:
        settings = self.settings
        # A part counts by its two latest readings (live; a take's single reading decides).
        confirmed = self._part_blurs_now if settings.take_mode else [
            min(now, before) for now, before in zip(self._part_blurs_now, self._part_blurs_before, strict=False)]
        clipped = clipped_share > max(settings.clipped_share, self.clipped_share_at_lock + settings.clipped_share)
        if clipped:
            return (*self._uncertain(CLIPPED_LIVE_REASON.format(percent=clipped_share * 100)), estimate.whole)
        if not self.resolvable and self.calibrating:
            # Live, the lock frame's noise is a single-frame estimate (the least certain);
            # the still frames that follow measure it from their differences. Whether the
            # feature can be judged is known only then: not SHARP, not yet a warning.
            return (*self._uncertain(CALIBRATING_REASON), estimate.whole)
        # A defocused feature also matches its template less well: an unsure track may be
        # the blur itself. Saying SOFT there is never false reassurance (judge_feature).
        unsure = UNSURE_TRACK_REASON if track_confidence < settings.min_track_confidence else None
        verdict = judge_feature(estimate, settings, self.resolvable, confirmed, unsure)
        whole = estimate.whole
        # (Not where the gross reading found it far past the CoC: the fine one is wrong there.)
        sharper = (verdict.state != FocusState.SOFT and not verdict.shown.gross_floor
                   and sharper_than_lock(whole, settings.coc_px))
        self._sharper_count = self._sharper_count + 1 if sharper else 0
        far = sharper and whole.blur_px + 2.0 * whole.blur_sd_px < -SHARPER_SHARE_OF_COC * settings.coc_px - 2.0 * self.hysteresis_px
        if sharper and (settings.take_mode or far or self._sharper_count >= settings.confirm_frames):
            # SHARP means "no blur added since the lock": a lock taken before best focus
            # would read SHARP with a negative blur once focus passes it. Live, two
            # readings in a row (as for any worse state: one noisy frame is not a rack),
            # or one far past the line.
            return (*self._uncertain(SHARPER_THAN_LOCK_REASON), estimate.whole)
        if verdict.state == FocusState.UNCERTAIN:
            return (*self._uncertain(verdict.reason), verdict.shown)
        state = self._step(verdict.state, verdict.judged_blur_px)
        # A part that set the verdict is named (and its blur shown) unless the state is
        # still SHARP, waiting for the worse reading to be confirmed.
        if state == FocusState.SHARP:
            return state, None, estimate.whole
        return state, verdict.reason, verdict.shown

    def _reset_parts(self) -> None:
        """Forget the parts' readings (a new lock, or the feature lost from sight)."""
        count = len(self.reference.parts)
        self._part_latest: list[BlurEstimate | None] = [None] * count
        self._part_blurs_now = [-math.inf] * count
        self._part_blurs_before = [-math.inf] * count
        self._next_part = 0
        self._whole_blur_px: float | None = None
        # The JPEG noise share each reference last worked out (live only: a take reads
        # every frame afresh).
        self._scale_memory = FeatureScaleMemory()

    def _read(self, view: np.ndarray, noise_sigma: float, noise_sd: float | None) -> FeatureEstimate:
        """The whole box every frame; its parts all at once in a take, one a frame in turn
        live (a part then counts by its two latest readings, a few frames apart: one noisy
        reading of a small part never sets the verdict)."""
        readable = self.reference.readable_parts
        if self.settings.take_mode or not readable or self._focus_moving():
            # Every part, every frame, once focus has moved off the lock: a part read only
            # every fourth frame and confirmed by two readings lagged a fast rack by up to
            # eight frames (a box 3 DoF deep read SHARP at 1.1 CoC; FOCUS-TRUTH, tilted).
            wanted = readable
        else:
            wanted = [readable[self._next_part % len(readable)]]
            self._next_part += 1
        estimate = self.reference.estimate(view, noise_sigma, wanted, noise_sd,
                                           None if self.settings.take_mode else self._scale_memory)
        self._whole_blur_px = estimate.whole.blur_px
        for index in wanted:
            part = estimate.parts[index]
            assert part is not None  # every part asked for is read
            self._part_latest[index] = part
            self._part_blurs_before[index] = self._part_blurs_now[index]
            self._part_blurs_now[index] = confident_blur_px(part)
        return FeatureEstimate(estimate.whole, tuple(self._part_latest))

    def _focus_moving(self) -> bool:
        """True once the last reading of the box, or of any part, is a quarter CoC off the
        lock: the still, sharp case is the only one read a part at a time."""
        limit = MOVING_SHARE_OF_COC * self.settings.coc_px
        parts = [p.blur_px for p in self._part_latest if p is not None and math.isfinite(p.blur_px)]
        return (self._whole_blur_px is not None and math.isfinite(self._whole_blur_px)
                and abs(self._whole_blur_px) >= limit) or any(abs(b) >= limit for b in parts)

    def _uncertain(self, reason: str | None) -> tuple[FocusState, str | None]:
        self._pending, self._pending_count = None, 0
        return FocusState.UNCERTAIN, reason

    def _threshold(self, state: FocusState) -> float:
        coc = self.settings.coc_px
        return {FocusState.SHARP: -math.inf, FocusState.SOFTENING: self.settings.softening_fraction * coc,
                FocusState.SOFT: coc}[state]

    def _step(self, raw: FocusState, blur: float) -> FocusState:
        """The next state from the raw one, with hysteresis sized at lock time."""
        current = self.state
        if current not in _RANK:
            # From UNCERTAIN or LOST: take the reading as it is, but a SHARP reading must
            # be clear of the SOFTENING threshold by the hysteresis.
            self._pending, self._pending_count = None, 0
            if raw == FocusState.SHARP and blur >= self._threshold(FocusState.SOFTENING) - self.hysteresis_px:
                return FocusState.SOFTENING
            return raw
        if _RANK[raw] > _RANK[current]:
            confirm = 1 if self.settings.take_mode else self.settings.confirm_frames
            if blur >= self._threshold(raw) + 2.0 * self.hysteresis_px:
                confirm = 1
            self._pending_count = self._pending_count + 1 if self._pending is not None else 1
            self._pending = raw if self._pending is None or _RANK[raw] < _RANK[self._pending] else self._pending
            if self._pending_count >= confirm:
                state, self._pending, self._pending_count = raw, None, 0
                return state
            return current
        self._pending, self._pending_count = None, 0
        if _RANK[raw] < _RANK[current]:
            # Back to a better state only when clearly below the worse state's threshold.
            better = raw
            while _RANK[better] < _RANK[current] and blur >= self._threshold(_next_worse(better)) - self.hysteresis_px:
                better = _next_worse(better)
            return better
        return current

    def _hint(self, estimate: BlurEstimate, moving: bool, position_steps: float | None) -> tuple[str | None, PeakStatus | None]:
        """sharper / softer / passed the peak, from the blur's own trend when it is larger
        than the readings' noise (:mod:`.hints`); a drive's position, when known, counts
        steps."""
        margin = max(3.0 * self.lock_sd_px, 0.15 * self.settings.coc_px)
        hint, peak = self.trend.update(estimate.blur_px, estimate.blur_sd_px, moving, position_steps, margin)
        self.peak = self.trend.peak
        return hint, peak


def _next_worse(state: FocusState) -> FocusState:
    return {FocusState.SHARP: FocusState.SOFTENING, FocusState.SOFTENING: FocusState.SOFT, FocusState.SOFT: FocusState.SOFT}[state]
