"""Hints while focus moves: "sharper", "softer", "passed the peak".

A hint is a claim that focus is moving, so it must rest on a trend larger than the
readings' own scatter — never on noise while nothing moves. :class:`FocusTrend` fits a
straight line to the latest readings of the blur and calls a trend only when its slope
is many times its own standard error, the error taken from the larger of the scatter
the readings actually show about the line and the scatter their reported standard
deviations promise (a reported σ that is too small cannot make a still scene look like
a rack), and the change over the window also clears a tenth of the CoC. A drive that
reports its position moving lowers the bar (the motion is known; only its sign is read
from the picture), never to nothing.

:class:`PeakSearch` remembers the least blur of a rack and says when it has been passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["FocusTrend", "PeakSearch", "PeakStatus"]

# Readings the trend is fitted over (about a fifth of a second of live view).
TREND_WINDOW = 6
# The slope must be this many standard errors from zero: with 6 readings (4 degrees of
# freedom) a still scene passes 8 standard errors about once in 10 000 frames.
_STILL_T = 8.0
# With the drive reported moving, the sign of the trend is all that is asked.
_MOVING_T = 3.0
# A trend smaller than this share of the CoC over the window is not worth a word.
_MIN_CHANGE_COC = 0.1


@dataclass(frozen=True)
class PeakStatus:
    """The sharpest the feature has been so far in a sweep, and whether the drive has passed it."""

    best_blur_px: float
    best_position_steps: float | None
    best_frame: int
    passed: bool
    passed_by_steps: float | None
    passed_by_frames: int


class PeakSearch:
    """Remembers the least blur of a rack and says when it has been passed."""

    def __init__(self) -> None:
        self.best: float | None = None
        self.best_position: float | None = None
        self.best_frame = 0
        self.frame = -1

    def update(self, blur_px: float, margin_px: float, position_steps: float | None) -> PeakStatus:
        self.frame += 1
        if self.best is None or blur_px < self.best:
            self.best, self.best_position, self.best_frame = blur_px, position_steps, self.frame
        passed = blur_px - self.best > margin_px and self.frame > self.best_frame
        by_steps = None
        if passed and position_steps is not None and self.best_position is not None:
            by_steps = abs(position_steps - self.best_position)
        return PeakStatus(self.best, self.best_position, self.best_frame, passed, by_steps,
                          self.frame - self.best_frame if passed else 0)


def _slope_and_error(values: list[float], sds: list[float]) -> tuple[float, float]:
    """Least-squares slope per reading of ``values`` and its standard error, from the
    larger of the residual scatter and the readings' reported σ."""
    n = len(values)
    mean_x = (n - 1) / 2.0
    # Σ(i − mean)² in closed form: every term and partial sum is a multiple of ¼, so the
    # sum is exact and equals this.
    sxx = n * (n * n - 1) / 12.0
    mean_y = sum(values) / n
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values)) / sxx
    intercept = mean_y - slope * mean_x
    residual_var = sum((v - (intercept + slope * i)) ** 2 for i, v in enumerate(values)) / max(n - 2, 1)
    reported_var = sum(s * s for s in sds) / n
    return slope, math.sqrt(max(residual_var, reported_var) / sxx)


class FocusTrend:
    """The blur's trend over the latest readings, and the hint it supports."""

    def __init__(self, coc_px: float) -> None:
        self.coc_px = coc_px
        self._values: list[float] = []
        self._sds: list[float] = []
        self._direction = 0
        self._seen_sharpening = False
        self.peak = PeakSearch()

    def forget(self) -> None:
        """The readings no longer continue one another (the feature was lost)."""
        self._values, self._sds = [], []

    def direction(self, moving: bool) -> int:
        """−1 sharpening, +1 softening, 0 no trend larger than the readings' noise."""
        if len(self._values) < TREND_WINDOW:
            return 0
        slope, error = _slope_and_error(self._values, self._sds)
        change = abs(slope) * (len(self._values) - 1)
        needed = _MOVING_T if moving else _STILL_T
        if change < _MIN_CHANGE_COC * self.coc_px or abs(slope) < needed * error:
            return 0
        return 1 if slope > 0 else -1

    def update(self, blur_px: float, blur_sd_px: float, moving: bool, position_steps: float | None,
               peak_margin_px: float) -> tuple[str | None, PeakStatus | None]:
        """Add a reading; the hint it supports (None: none) and the peak search."""
        if not (math.isfinite(blur_px) and math.isfinite(blur_sd_px)):
            return None, None
        self._values = (self._values + [blur_px])[-TREND_WINDOW:]
        self._sds = (self._sds + [blur_sd_px])[-TREND_WINDOW:]
        direction = self.direction(moving)
        if direction < 0 and self._direction > 0:
            self.peak = PeakSearch()  # turned back towards focus: a new search
        if direction < 0:
            self._seen_sharpening = True  # a peak can only be passed on the way through it
        if direction:
            self._direction = direction
        peak = self.peak.update(blur_px, peak_margin_px, position_steps)
        if not direction:
            return None, peak
        if peak.passed and direction > 0 and self._seen_sharpening:
            return "passed the peak", peak
        return ("sharper" if direction < 0 else "softer"), peak
