"""The gross reading: a feature blurred far past its CoC, read four times coarser.

The blur estimate (:mod:`.defocus`) reads the ratio of the fine band (first differences)
to the coarse band (after a Gaussian of σ 2 px). That ratio resolves blurs up to a few
CoC; past that both bands hold little of the picture's own detail and what is left in
the fine band is mostly what no blur removes — residual noise, JPEG's 8×8 blocking, its
ringing. Then the ratio stops falling and even rises again, and a picture blurred ten
times past the CoC read as blurred by one CoC, or SHARP (measured on the switch stack,
noise sd 3, JPEG quality 88, CoC 3 px: a Gaussian blur of σ 12 px read 0.24 CoC, SHARP;
uncompressed, σ 8 px read 1.5 ± 1.7 CoC, UNCERTAIN).

The same ratio read on the view reduced four times holds its meaning four times farther:
there the bands sit at 4× the scale and noise and blocking are smoothed away. The view
is reduced by sampling its coarse band (already made for the fine reading; its Gaussian
of σ 2 px is the reduction's low-pass filter) every fourth pixel. The reference blurred by discs of up to 16 CoC gives
that ratio's own through-focus curve (made once, when first read). A reading's lower
bound — the curve read at its ratio plus ``LOG_TOLERANCE`` and two sd of its noise — is
the least blur the picture can have. It decides only one thing: when that bound passes
the CoC and the fine reading's own lower bound says less, the feature is SOFT "at least"
that far (:func:`overrule`). It never makes a feature sharper or less sure, and it is
silent about blurs under the CoC, where the fine reading is the better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from focuslock.focus.bands import COARSE_SIGMA_PX, band_energies, coarse_band
from focuslock.focus.blur_curve import BlurEstimate, defocus

__all__ = ["GrossCurve", "GrossReading", "LOG_TOLERANCE", "REDUCTION", "overrule"]

# How much coarser the gross reading is read.
REDUCTION = 4
# The blurs (multiples of the CoC) its curve is sampled at; no larger than the box.
_CURVE_COC_MULTIPLES = (0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
# What the ratio's log may differ from the curve by without any added blur: texture that
# changes, a lens's disc that is not the curve's, light. Chosen on evidence
# (docs/FOCUS-TRUTH.md, "Far past the CoC").
LOG_TOLERANCE = 0.05
# White noise's sd left after the coarse band's Gaussian: 1 / (2·σ·√π).
_NOISE_LEFT = 1.0 / (2.0 * COARSE_SIGMA_PX * math.sqrt(math.pi))
# The reduced box must hold at least this many pixels along each side.
_MIN_REDUCED_PX = 6


@dataclass(frozen=True)
class GrossReading:
    """The reduced view's blur: ``blur_px`` read through the curve and ``low_px``, the
    least the reading allows (both in the view's own pixels; ``low_px`` at the curve's end
    when the view reads past it)."""

    blur_px: float
    low_px: float


class GrossCurve:
    """The reduced view's through-focus curve for one feature (``view``: at lock time,
    with ``margin_px`` of context on every side; ``coc_px`` in the view's pixels)."""

    def __init__(self, view: np.ndarray, coc_px: float, margin_px: int) -> None:
        self.margin_px = int(margin_px)
        inner = min(view.shape[0], view.shape[1]) - 2 * self.margin_px
        usable = min(view.shape[0], view.shape[1]) // REDUCTION - 2 * (self.margin_px // REDUCTION) >= _MIN_REDUCED_PX
        self.diameters_px = [coc_px * m for m in _CURVE_COC_MULTIPLES if coc_px * m <= max(inner, coc_px)]
        self._log_ratio: list[float] = []
        # The reduced view (its own array: the caller's view may be a buffer it reuses).
        self._small = _reduced(coarse_band(view)) if usable else None

    def _curve(self) -> list[float]:
        """The curve's log ratios, made when first asked for, forced to fall with blur. The
        reduced view is blurred by discs a quarter as wide (blurring and sampling a smooth
        picture commute): a disc of 16 CoC at full size took seconds to make, stalling a
        live view for as long on the first frame after a lock."""
        if not self._log_ratio and self._small is not None:
            small = self._small
            values = [self._log_ratio_of(defocus(small, d / REDUCTION) if d else small, 0.0)[0] for d in self.diameters_px]
            self._log_ratio = [float(v) for v in np.minimum.accumulate(values)]
            self._small = None
        return self._log_ratio

    def _log_ratio_of(self, small: np.ndarray, noise_sigma: float) -> tuple[float, float]:
        """log(fine / coarse) of the reduced view ``small``, and that log's sd from the noise."""
        energies = band_energies(small, noise_sigma * _NOISE_LEFT, margin_px=self.margin_px // REDUCTION)
        if energies.fine <= 0 or energies.coarse <= 0:
            return -math.inf, math.inf
        return math.log(energies.fine / energies.coarse), energies.fine_sd / energies.fine

    def read(self, view: np.ndarray, noise_sigma: float, coarse: np.ndarray | None = None) -> GrossReading | None:
        """The gross reading of ``view`` (same size and margin as the lock's; ``coarse``:
        its :func:`.bands.coarse_band` when already made); None for a box too small to be
        read reduced."""
        curve = self._curve()
        if not curve:
            return None
        value, relative_sd = self._log_ratio_of(_reduced(coarse_band(view) if coarse is None else coarse), noise_sigma)
        if not math.isfinite(relative_sd):
            return GrossReading(self.diameters_px[-1], self.diameters_px[-1])
        return GrossReading(self._blur_at(value), self._blur_at(value + math.hypot(LOG_TOLERANCE, 2.0 * relative_sd)))

    def _blur_at(self, log_value: float) -> float:
        """The blur whose curve value is ``log_value`` (0 above the curve's start, its
        last diameter past its end)."""
        curve, diameters = self._log_ratio, self.diameters_px
        if log_value >= curve[0]:
            return 0.0
        for i in range(1, len(curve)):
            if log_value >= curve[i]:
                span = curve[i - 1] - curve[i]
                share = (curve[i - 1] - log_value) / span if span > 0 else 1.0
                return diameters[i - 1] + share * (diameters[i] - diameters[i - 1])
        return diameters[-1]


def _reduced(coarse: np.ndarray) -> np.ndarray:
    """A view's coarse band (smooth enough to be sampled so) every REDUCTION pixels."""
    return np.ascontiguousarray(coarse[::REDUCTION, ::REDUCTION])


def overrule(estimate: BlurEstimate, reading: GrossReading | None, coc_px: float) -> BlurEstimate:
    """``estimate`` as it stands, unless the gross reading's lower bound passes the CoC and
    either the fine reading cannot say SOFT itself (its blur less two sd short of the CoC;
    no sd; no fine detail left above the noise) or the fine reading is contradicted (its
    blur plus two sd short of the gross bound; the blur itself for a reading past its
    curve's end): then a floor at that bound, beyond the fine curve's range, sure of that
    much (sd 0). A fine reading too noisy to tell SOFT from SOFTENING is so settled, and
    one that the blocking and the noise turned sharp, or held at a few CoC, is corrected."""
    if reading is not None and estimate.no_detail and reading.low_px < coc_px:
        # No fine detail above the noise: SOFT (:mod:`.judge`), but past the fine curve's
        # end is an assumption the gross reading does not bear out: at least the CoC.
        return replace(estimate, blur_px=min(estimate.blur_px, coc_px))
    if reading is None or reading.low_px < coc_px:
        return estimate
    if estimate.no_detail or not math.isfinite(estimate.blur_sd_px):
        lower = upper = -math.inf  # (no measurement to weigh)
    elif estimate.beyond_range:
        lower = upper = estimate.blur_px
    else:
        lower = estimate.blur_px - 2.0 * estimate.blur_sd_px
        upper = estimate.blur_px + 2.0 * estimate.blur_sd_px
    if lower >= coc_px and reading.low_px <= upper:
        return estimate
    return replace(estimate, blur_px=reading.low_px, blur_sd_px=0.0, beyond_range=True, no_detail=False,
                   blur_high_px=math.inf, gross_floor=True)
