"""The through-focus curve of one feature: its blur against the drive's position.

A blur disc grows linearly with defocus on both sides of best focus, so the blur read
against the locked reference, plotted against drive steps, is a V. Its slope (blur px
per step) is what the drive's step size is calibrated from; its centre is where the
feature is sharpest. One fit serves the drive calibration, going to a mark and placing
several locked features in depth.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from focuslock.core.errors import FocuslockError

__all__ = ["ARM_FROM_COC", "ThroughFocusError", "fit_through_focus"]

# Readings this many CoC past the least blur lie on the V's straight arms (nearer the
# bottom a disc no longer dominates the reference's own blur).
ARM_FROM_COC = 1.0


class ThroughFocusError(FocuslockError, ValueError):
    """The readings do not show a focus curve that can be fitted (one sentence)."""


def fit_through_focus(positions_steps: npt.ArrayLike, blurs_px: npt.ArrayLike, coc_px: float) -> tuple[float, float]:
    """(g px per step, x₀ steps) from one sweep's readings.

    The arms — readings past :data:`ARM_FROM_COC` CoC on each side of the least blur —
    are straight lines of slope ±g that meet at best focus; fitted as lines, they hold
    also for a feature deeper than the depth of field (its sharpest part leads the
    reading, which flattens the bottom of the V, not its arms). With too few readings on
    an arm, the parabola of sign·reading² (exact for a flat feature) is fitted instead."""
    x = np.asarray(positions_steps, float)
    e = np.asarray(blurs_px, float)
    if len(x) < 5:
        raise ThroughFocusError("Too few readings in the sweep to fit the feature's focus curve.")
    lowest = x[int(np.argmin(e))]
    left = (x < lowest) & (e >= ARM_FROM_COC * coc_px)
    right = (x > lowest) & (e >= ARM_FROM_COC * coc_px)
    if left.sum() >= 3 and right.sum() >= 3:
        slope_left, offset_left = np.polyfit(x[left], e[left], 1)
        slope_right, offset_right = np.polyfit(x[right], e[right], 1)
        if slope_left < 0 < slope_right:
            return 0.5 * (slope_right - slope_left), (offset_left - offset_right) / (slope_right - slope_left)
    y = np.copysign(e**2, e)
    a, b, _ = np.polyfit(x, y, 2)
    if not a > 0:
        raise ThroughFocusError("The feature's blur did not grow on both sides of focus: the sweep missed best focus.")
    return math.sqrt(a), -b / (2.0 * a)
