"""Focus lock: once locked, every frame says SHARP, SOFTENING, SOFT or LOST.

Thresholds come from the feature itself and the permissible circle of confusion. At
lock time the locked patch is blurred by the CoC (and by half of it) and measured:
blur adds in quadrature, so those scores are what the feature will read when its
defocus blur reaches half the CoC (SOFTENING) and the CoC (SOFT), whatever its texture.
The score is the noise-corrected measure relative to the reference.

Noise-aware hysteresis keeps a still scene at high ISO from flickering:
* a worse state needs two frames in a row beyond its threshold (or one frame far
  beyond it), so one noisy reading cannot trip the alarm;
* thresholds never sit within ``still_guard_sigmas`` noise deviations of the reference
  (at extreme noise SOFTENING becomes less sensitive rather than flickering);
* a better state needs the score back above its threshold by a margin.

A :class:`PeakSearch` watches a rack (by hand or by focus drive): it remembers the best
score and says when the peak was passed, and by how many steps when the drive's
position is known.
"""

from __future__ import annotations

import enum
import functools
import math
import statistics
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.focus.measure import DEFAULT_MEASURE, MAD_TO_SIGMA, FocusReading, measure_roi

__all__ = ["FocusLock", "FocusState", "LockSettings", "LockStatus", "PeakSearch", "PeakStatus"]


class FocusState(str, enum.Enum):
    SHARP = "sharp"
    SOFTENING = "softening"
    SOFT = "soft"
    LOST = "lost"


_RANK = {FocusState.SHARP: 0, FocusState.SOFTENING: 1, FocusState.SOFT: 2}


@dataclass(frozen=True)
class LockSettings:
    """``coc_px``: permissible blur circle in live-view pixels (the optics give it from
    the CoC in µm and the live-view pixel pitch). SOFTENING starts at
    ``softening_fraction`` of it."""

    coc_px: float = 2.0
    softening_fraction: float = 0.5
    confirm_frames: int = 2
    instant_sigmas: float = 2.0
    still_guard_sigmas: float = 4.5
    recovery_sigmas: float = 1.5
    recovery_margin: float = 0.02
    # Learn the score's noise from the frames themselves (live view). Off for frames
    # that are not a continuous take, such as the frames of a focus stack.
    learn_jitter: bool = True
    # After locking, the feature's patch is averaged over this many frames and the
    # thresholds calibrated again on the average: at high ISO a single frame's grain
    # would otherwise pass for detail that blur removes.
    calibration_frames: int = 8

    def __post_init__(self) -> None:
        if not (self.coc_px > 0 and math.isfinite(self.coc_px)):
            raise ValueError(f"The permissible circle of confusion must be a positive number of pixels, got {self.coc_px}.")
        if not 0 < self.softening_fraction < 1:
            raise ValueError("SOFTENING must start at a fraction of the circle of confusion between 0 and 1.")


@dataclass(frozen=True)
class LockStatus:
    state: FocusState
    relative: float | None  # score / reference score
    relative_noise: float  # the relative score's frame-to-frame noise (1σ)
    softening_below: float
    soft_below: float
    hint: str | None  # "sharper", "softer", "passed the peak", or None
    peak: "PeakStatus | None"
    reference_score: float | None = None


@dataclass(frozen=True)
class PeakStatus:
    best_relative: float
    best_position_steps: float | None
    best_frame: int
    passed: bool
    passed_by_steps: float | None
    passed_by_frames: int


class PeakSearch:
    """Remembers the best score of a rack and says when it has been passed."""

    def __init__(self, drop_sigmas: float = 3.0, drop_fraction: float = 0.03) -> None:
        self.drop_sigmas = drop_sigmas
        self.drop_fraction = drop_fraction
        self.best: float | None = None
        self.best_position: float | None = None
        self.best_frame = 0
        self.frame = -1

    def update(self, relative: float, noise: float, position_steps: float | None) -> PeakStatus:
        self.frame += 1
        if self.best is None or relative > self.best:
            self.best, self.best_position, self.best_frame = relative, position_steps, self.frame
        drop = self.best - relative
        passed = drop > max(self.drop_sigmas * noise, self.drop_fraction * self.best) and self.frame > self.best_frame
        by_steps = None
        if passed and position_steps is not None and self.best_position is not None:
            by_steps = abs(position_steps - self.best_position)
        return PeakStatus(self.best, self.best_position, self.best_frame, passed, by_steps,
                          self.frame - self.best_frame if passed else 0)


def calibrate_thresholds(patch: np.ndarray, settings: LockSettings, measure: str, laplacian_noise: float | None
                         ) -> tuple[FocusReading, float, float]:
    """The reference reading of a locked patch and the relative scores at which it
    reaches SOFTENING and SOFT (its reading when blurred by those fractions of the CoC)."""
    reference = measure_roi(patch, measure, laplacian_noise=laplacian_noise)
    ratios = []
    for fraction in (settings.softening_fraction, 1.0):
        # Equal second moment: a blur disk of diameter d has σ = d/4.
        sigma_px = fraction * settings.coc_px / 4.0
        blurred = cv2.GaussianBlur(patch.astype(np.float32), (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
        if patch.dtype == np.uint8:
            blurred = np.clip(blurred + 0.5, 0, 255).astype(np.uint8)
        reading = measure_roi(blurred, measure, laplacian_noise=_blurred_noise(laplacian_noise, sigma_px))
        ratios.append(reading.score / reference.score if reference.score > 0 else 0.0)
    softening, soft = ratios
    # A patch so plain that blur hardly changes it still needs usable, ordered bands.
    softening = min(softening, 0.97)
    soft = min(soft, softening - 0.02)
    return reference, softening, soft


def _blurred_noise(laplacian_noise: float | None, sigma_px: float) -> float | None:
    """Noise σ of the Laplacian once the noise is blurred by a further ``sigma_px``."""
    if laplacian_noise is None:
        return None
    return laplacian_noise * _white_noise_laplacian_gain(round(sigma_px, 2))


@functools.lru_cache(maxsize=64)
def _white_noise_laplacian_gain(sigma_px: float) -> float:
    """How much a Gaussian blur of ``sigma_px`` shrinks the Laplacian of white noise,
    measured once on a noise field (camera noise is a little correlated, so this
    subtracts slightly too little noise from the blurred patch: SOFT trips early,
    never late)."""
    noise = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    before = cv2.Laplacian(noise, cv2.CV_32F, ksize=1)[8:-8, 8:-8].std()
    blurred = cv2.GaussianBlur(noise, (0, 0), sigma_px) if sigma_px > 0 else noise
    after = cv2.Laplacian(blurred, cv2.CV_32F, ksize=1)[8:-8, 8:-8].std()
    return float(after / before)


class FocusLock:
    """The state machine for one locked feature."""

    def __init__(self, patch: np.ndarray, settings: LockSettings | None = None, measure: str = DEFAULT_MEASURE,
                 laplacian_noise: float | None = None) -> None:
        self.settings = settings or LockSettings()
        self.measure = measure
        self.reference, self.softening_below, self.soft_below = calibrate_thresholds(patch, self.settings, measure, laplacian_noise)
        self._patch_sum = patch.astype(np.float64)
        self._patch_count = 1
        self._laplacian_sum = np.zeros(patch.shape, np.float64)
        self._laplacian_square_sum = np.zeros(patch.shape, np.float64)
        self._add_laplacian(patch.astype(np.float32))
        # The feature's own Laplacian noise, measured over the calibration frames (the
        # frame-wide estimate counts texture as noise and ignores that a dark feature is
        # less noisy than bright paper), and the frame-wide estimate it goes with.
        self.roi_laplacian_noise: float | None = None
        self.frame_laplacian_noise: float | None = laplacian_noise
        self.state = FocusState.SHARP
        self._pending: FocusState | None = None
        self._pending_count = 0
        self._previous_relative: float | None = None
        self._previous_position: float | None = None
        self.peak = PeakSearch()
        self._drive_direction = 0
        self._jitter_var: float | None = None
        self._history: deque[float] = deque(maxlen=3)
        self._second_differences: deque[float] = deque(maxlen=24)

    @property
    def calibrating(self) -> bool:
        return self._patch_count < self.settings.calibration_frames

    def add_calibration_patch(self, patch: np.ndarray) -> None:
        """Another view of the locked feature (aligned to the first); once there are
        ``calibration_frames`` of them, the thresholds are calibrated on their average."""
        if not self.calibrating or patch.shape != self._patch_sum.shape:
            return
        self._patch_sum += patch
        self._patch_count += 1
        self._add_laplacian(patch.astype(np.float32))
        if not self.calibrating:
            self._calibrate_on_average()

    def finish_calibration(self) -> None:
        """Calibrate on the views gathered so far (focus started to move: later views
        would no longer show the feature as it was locked)."""
        if self.calibrating:
            if self._patch_count >= 2:
                self._calibrate_on_average()
            self._patch_count = max(self._patch_count, self.settings.calibration_frames)

    def _add_laplacian(self, patch: np.ndarray) -> None:
        laplacian = cv2.Laplacian(patch, cv2.CV_32F, ksize=1).astype(np.float64)
        self._laplacian_sum += laplacian
        self._laplacian_square_sum += laplacian * laplacian

    def noise_for_frame(self, frame_laplacian_noise: float | None) -> float | None:
        """The feature's Laplacian noise for a frame whose frame-wide estimate is given:
        the feature's measured noise, scaled as the frame's noise changed since (an ISO
        or exposure change); the frame-wide estimate until it has been measured."""
        if self.roi_laplacian_noise is None or not frame_laplacian_noise or not self.frame_laplacian_noise:
            return frame_laplacian_noise
        return self.roi_laplacian_noise * frame_laplacian_noise / self.frame_laplacian_noise

    def _calibrate_on_average(self) -> None:
        count = self._patch_count
        average = (self._patch_sum / count).astype(np.float32)
        # Temporal variance of each pixel's Laplacian over the still frames: the noise.
        mean = self._laplacian_sum / count
        variance = (self._laplacian_square_sum / count - mean * mean) * count / (count - 1)
        self.roi_laplacian_noise = float(np.sqrt(max(variance[1:-1, 1:-1].mean(), 1e-6)))
        noise = self.roi_laplacian_noise / math.sqrt(count)
        self.reference, self.softening_below, self.soft_below = calibrate_thresholds(average, self.settings, self.measure, noise)

    def relative_noise(self, reading: FocusReading) -> float:
        """The relative score's noise: the reading's own estimate, or the frame-to-frame
        jitter seen while nothing moves, whichever is larger."""
        model = reading.noise_sd / self.reference.score if self.reference.score > 0 else 1.0
        jitter = math.sqrt(self._jitter_var) if self._jitter_var is not None else 0.0
        return max(model, jitter, 1e-4)

    def update(self, reading: FocusReading | None, lost: bool = False, position_steps: float | None = None) -> LockStatus:
        if lost or reading is None:
            self._pending, self._pending_count = None, 0
            return LockStatus(FocusState.LOST, None, 0.0, self.softening_below, self.soft_below, None, None, self.reference.score)
        relative = reading.score / self.reference.score if self.reference.score > 0 else 0.0
        moving = position_steps is not None and self._previous_position is not None and position_steps != self._previous_position
        if moving:
            self.finish_calibration()
        if self.settings.learn_jitter:
            self._learn_jitter(relative)
        noise = self.relative_noise(reading)
        if moving:
            direction = 1 if position_steps > self._previous_position else -1
            if direction != self._drive_direction:
                # A rack the other way is a new search for the peak.
                self.peak = PeakSearch()
                self._drive_direction = direction
        self.state = self._next_state(relative, noise)
        peak = self.peak.update(relative, noise, position_steps)
        hint = self._hint(relative, noise, moving, peak)
        self._previous_position = position_steps
        self._previous_relative = relative
        return LockStatus(self.state, relative, noise, self._softening_threshold(noise), self._soft_threshold(noise), hint, peak,
                          self.reference.score)

    def _learn_jitter(self, relative: float) -> None:
        """The score's frame-to-frame noise from second differences of recent readings:
        a steady rack (a straight trend) cancels out, noise does not. A median over the
        last two dozen keeps a sudden change from counting as noise."""
        self._history.append(relative)
        if len(self._history) < 3:
            return
        a, b, c = self._history
        self._second_differences.append(abs(a - 2.0 * b + c))
        if len(self._second_differences) >= 6:
            # For white noise, a − 2b + c has variance 6σ².
            # statistics.median sorts two dozen floats in Python: a tenth of np.median's
            # cost on a deque, on the hot path of every frame.
            median = statistics.median(self._second_differences)
            self._jitter_var = (median * MAD_TO_SIGMA) ** 2 / 6.0

    def _softening_threshold(self, noise: float) -> float:
        return min(self.softening_below, 1.0 - self.settings.still_guard_sigmas * noise)

    def _soft_threshold(self, noise: float) -> float:
        return min(self.soft_below, self._softening_threshold(noise) - noise)

    def _raw_state(self, relative: float, noise: float) -> FocusState:
        if relative < self._soft_threshold(noise):
            return FocusState.SOFT
        if relative < self._softening_threshold(noise):
            return FocusState.SOFTENING
        return FocusState.SHARP

    def _next_state(self, relative: float, noise: float) -> FocusState:
        settings = self.settings
        current = self.state  # never LOST: a lost feature is reported, not remembered
        raw = self._raw_state(relative, noise)
        if _RANK[raw] > _RANK[current]:
            threshold = self._soft_threshold(noise) if raw == FocusState.SOFT else self._softening_threshold(noise)
            if relative < threshold - settings.instant_sigmas * noise:
                self._pending, self._pending_count = None, 0
                return raw
            self._pending_count = self._pending_count + 1 if self._pending is not None else 1
            self._pending = raw if self._pending is None or _RANK[raw] < _RANK[self._pending] else self._pending
            if self._pending_count >= settings.confirm_frames:
                state, self._pending, self._pending_count = self._pending, None, 0
                return state
            return current
        self._pending, self._pending_count = None, 0
        if _RANK[raw] < _RANK[current]:
            # Back to a better state only when clearly above that state's threshold.
            margin = max(settings.recovery_margin, settings.recovery_sigmas * noise)
            better = self._raw_state(relative - margin, noise)
            return better if _RANK[better] < _RANK[current] else current
        return current

    def _hint(self, relative: float, noise: float, moving: bool, peak: PeakStatus) -> str | None:
        if not moving or self._previous_relative is None:
            return None
        if peak.passed:
            return "passed the peak"
        change = relative - self._previous_relative
        if change > noise:
            return "sharper"
        if change < -noise:
            return "softer"
        return None
