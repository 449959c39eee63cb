"""Where several locked features lie in depth, from racking focus through them.

No body reports where its focus is, and a blur estimate does not say on which side of
focus a feature lies. What does tell is a rack: as the drive moves, each feature's fine-
band energy rises to its peak and falls again, and the drive's count at the peak is where
that feature is sharpest. The energy is used, not the blur against the lock's reference:
a feature locked out of focus has a soft reference, whose blur curve saturates before the
feature gets sharp. The distance between the peaks, in drive steps, times the depth one
step moves focus (the drive's calibration, or the blur V's slope through the optics,
:mod:`focuslock.focus.through_focus`) is the depth between the features.

Once a feature is placed, the lock knows how far from its best focus it was locked: a
feature locked more than half a CoC out of focus is flagged (``locked_soft``), since its
SHARP would only mean "as soft as when locked".

Only readings of one sweep direction are fitted together: turning back costs the drive
its backlash, which would shift one feature against another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from focuslock.focus.through_focus import ThroughFocusError, fit_through_focus

__all__ = ["DepthPlacement", "FeaturePeak", "Placement"]

# A feature is placed once its energy has fallen below this share of its peak on both
# sides, at this many drive positions or more on each side.
_FALLEN_TO = 0.7
_SIDE_POSITIONS = 2
# Blur readings beyond this (CoC) are past the estimator's curve (it saturates): left out
# of the slope's fit.
_MAX_BLUR_COC = 4.0
# A feature locked farther than this from its best focus (as blur, in CoC) is flagged.
_LOCKED_SOFT_COC = 0.5
# Readings kept per drive position and feature: their median is what a position says, and
# a lens left still for an hour would otherwise add one reading a frame (~100 000).
_READINGS_PER_POSITION = 32


@dataclass(frozen=True)
class FeaturePeak:
    """Where along the drive one feature is sharpest (``position_steps``, in the sweep's
    count) and how fast its blur grows away from it (``blur_px_per_step``; None when its
    blur readings do not show a V within the estimator's range)."""

    position_steps: float
    blur_px_per_step: float | None


@dataclass(frozen=True)
class Placement:
    """The features' peaks from one sweep (None for a feature not passed through yet),
    the sweep's ``direction`` (+1: the drive's count rising) and ``position_steps``, the
    drive's count now in the sweep's terms (backlash taken out when it turned back)."""

    peaks: tuple[FeaturePeak | None, ...]
    direction: int
    position_steps: float | None
    # Per feature: locked more than half a CoC from its best focus (known once placed).
    locked_soft: tuple[bool, ...] = ()

    @property
    def complete(self) -> bool:
        return len(self.peaks) >= 2 and all(peak is not None for peak in self.peaks)

    @property
    def span_steps(self) -> float | None:
        """Drive steps between the nearest and the farthest feature's peak."""
        if not self.complete:
            return None
        positions = [peak.position_steps for peak in self.peaks if peak is not None]
        return max(positions) - min(positions)

    @property
    def blur_px_per_step(self) -> float | None:
        """The V's slope, the median over the features (one lens, one aperture)."""
        slopes = [peak.blur_px_per_step for peak in self.peaks if peak is not None and peak.blur_px_per_step]
        return float(np.median(slopes)) if slopes else None

    def plane_share(self) -> float | None:
        """Where the plane of focus sits between the first and the last feature along the
        drive: 0 at the one met first by a rising count, 1 at the other; below 0 or above
        1 outside them. None until every feature is placed."""
        if not self.complete or self.position_steps is None or not self.span_steps:
            return None
        low = min(peak.position_steps for peak in self.peaks if peak is not None)
        return (self.position_steps - low) / self.span_steps

    def order(self) -> list[int]:
        """The features' indices in order of their peaks along a rising drive count."""
        placed = [(peak.position_steps, index) for index, peak in enumerate(self.peaks) if peak is not None]
        return [index for _, index in sorted(placed)]


class DepthPlacement:
    """Collects each feature's fine energy and blur against the drive's count, one sweep
    direction at a time, and finds each feature's peak. One thread owns it (the focus
    engine's)."""

    def __init__(self, feature_count: int, coc_px: float, backlash_steps: float = 0.0) -> None:
        self.feature_count = feature_count
        self.coc_px = coc_px
        self.backlash_steps = backlash_steps
        self._direction = 0
        self._last_position: float | None = None
        self._lock_position: float | None = None  # the drive's count when the features were locked
        self._readings: dict[float, list[list[tuple[float, float | None]]]] = {}
        self._latest: Placement | None = None  # the last sweep that placed every feature
        self._current: Placement | None = None

    def observe(self, position_steps: float | None, energies: list[float | None],
                blurs_px: list[float | None]) -> Placement | None:
        """One frame: the drive's count, each feature's fine energy and blur (None where it
        could not be read). Returns the placement to show: the current sweep's when it
        has placed every feature, else the last sweep's that did, else the current one."""
        if position_steps is None or len(energies) != self.feature_count:
            return self._shown(position_steps)
        if self._lock_position is None:
            self._lock_position = position_steps
        if self._last_position is not None and position_steps != self._last_position:
            direction = 1 if position_steps > self._last_position else -1
            if self._direction and direction != self._direction:
                self._readings = {}  # turned back: a new sweep (the backlash would shift it)
            self._direction = direction
            self._current = self._fit()
            if self._current.complete:
                self._latest = self._current
        self._last_position = position_steps
        slot = self._readings.setdefault(position_steps, [[] for _ in range(self.feature_count)])
        for index, (energy, blur) in enumerate(zip(energies, blurs_px, strict=False)):
            if energy is not None and math.isfinite(energy):
                usable_blur = blur if blur is not None and math.isfinite(blur) and abs(blur) < _MAX_BLUR_COC * self.coc_px else None
                slot[index].append((energy, usable_blur))
                if len(slot[index]) > _READINGS_PER_POSITION:
                    del slot[index][0]
        return self._shown(position_steps)

    def _shown(self, position_steps: float | None) -> Placement | None:
        shown = self._current if self._current is not None and self._current.complete else (self._latest or self._current)
        if shown is None:
            return None
        now = self._in_sweep_terms(position_steps, shown.direction) if position_steps is not None else None
        return Placement(shown.peaks, shown.direction, now, self._locked_soft(shown))

    def _locked_soft(self, placement: Placement) -> tuple[bool, ...]:
        """Features whose best focus lies more than half a CoC of blur from where they
        were locked (the slope: the feature's own, else the median of the others')."""
        if self._lock_position is None:
            return (False,) * len(placement.peaks)
        typical = placement.blur_px_per_step
        flags = []
        for peak in placement.peaks:
            slope = (peak.blur_px_per_step or typical) if peak is not None else None
            flags.append(bool(slope and peak is not None
                              and abs(peak.position_steps - self._lock_position) * slope > _LOCKED_SOFT_COC * self.coc_px))
        return tuple(flags)

    def _in_sweep_terms(self, position_steps: float, sweep_direction: int) -> float:
        """The drive's count as the sweep counted it: after turning back, the lens lags
        the count by the backlash."""
        if self._direction and self._direction != sweep_direction:
            return position_steps - self._direction * self.backlash_steps
        return position_steps

    def _fit(self) -> Placement:
        positions = sorted(self._readings)
        peaks = []
        for index in range(self.feature_count):
            x = [p for p in positions if self._readings[p][index]]
            energy = [float(np.median([r[0] for r in self._readings[p][index]])) for p in x]
            peaks.append(self._peak(x, energy, [[r[1] for r in self._readings[p][index]] for p in x]))
        return Placement(tuple(peaks), self._direction, None)

    def _peak(self, x: list[float], energy: list[float], blurs: list[list[float | None]]) -> FeaturePeak | None:
        if len(x) < 2 * _SIDE_POSITIONS + 1:
            return None
        top = int(np.argmax(energy))
        peak_energy = energy[top]
        if not peak_energy > 0:
            return None
        fallen = _FALLEN_TO * peak_energy
        left = sum(1 for i in range(top) if energy[i] <= fallen)
        right = sum(1 for i in range(top + 1, len(x)) if energy[i] <= fallen)
        if left < _SIDE_POSITIONS or right < _SIDE_POSITIONS:
            return None  # not passed through yet
        # The peak's centre: a parabola through the log energy of the positions above the
        # half (a blurred feature's energy falls off like a Gaussian of the defocus).
        near = [i for i in range(len(x)) if energy[i] > fallen and energy[i] > 0]
        centre = float(x[top])
        if len(near) >= 3:
            a, b, _ = np.polyfit(np.array([x[i] for i in near], float), np.log([energy[i] for i in near]), 2)
            if a < 0 and min(x[i] for i in near) <= -b / (2 * a) <= max(x[i] for i in near):
                centre = float(-b / (2 * a))
        return FeaturePeak(centre, self._slope(x, blurs))

    def _slope(self, x: list[float], blurs: list[list[float | None]]) -> float | None:
        """The blur V's slope (px per step) from the readings within the estimator's range,
        measured from their least (a feature locked out of focus reads negative there)."""
        pairs = [(p, float(np.median(b))) for p, readings in zip(x, blurs, strict=True)
                 if (b := [v for v in readings if v is not None])]
        if len(pairs) < 5:
            return None
        least = min(e for _, e in pairs)
        try:
            slope, _ = fit_through_focus([p for p, _ in pairs], [e - least for _, e in pairs], self.coc_px)
        except ThroughFocusError:
            return None
        return float(slope) if slope > 0 and math.isfinite(slope) else None
