"""The reference's through-focus curve: the blurs it is sampled at, the views blurred by them, and what an estimate says.

:class:`BlurEstimate` is the blur estimate's value (:mod:`.defocus` reads it); the
curve's diameters depend on the CoC only (finer where the verdict's thresholds lie), and
a view carries the context the largest of them and the coarse band need
(:func:`view_margin_px`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.focus.bands import COARSE_SIGMA_PX, BandEnergies, coarse_band, disc_kernel

__all__ = ["BlurEstimate", "curve_diameters_px", "curve_views", "defocus", "view_margin_px"]

# Diameters (as multiples of the CoC) at which the reference's through-focus curve is
# sampled; finer where the verdict's thresholds lie. Extended to at least 6 px absolute.
_CURVE_COC_MULTIPLES = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
_MIN_CURVE_SPAN_PX = 6.0


def view_margin_px(coc_px: float) -> int:
    """Context around the feature's box that a view carries: enough for the largest
    blur on the reference's curve and the coarse band's smoothing."""
    return int(math.ceil(max(_MIN_CURVE_SPAN_PX, 4.0 * coc_px) / 2.0)) + int(math.ceil(3 * COARSE_SIGMA_PX)) + 1


def defocus(patch: np.ndarray, diameter_px: float) -> np.ndarray:
    """``patch`` blurred by a disc of ``diameter_px`` (float32)."""
    return cv2.filter2D(patch.astype(np.float32, copy=False), cv2.CV_32F, disc_kernel(diameter_px),
                        borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class BlurEstimate:
    """The feature's added blur against its reference.

    ``blur_px``: disc diameter in live-view pixels (negative: sharper than the lock);
    ``blur_sd_px``: its standard deviation from noise; ``beyond_range``: blurred past the
    end of the reference's curve (``blur_px`` is then a lower bound); ``no_detail``: the
    fine band holds no signal above the noise at all; ``blur_high_px``: the largest blur
    the reading allows at two standard deviations.
    """

    blur_px: float
    blur_sd_px: float
    energies: BandEnergies
    beyond_range: bool = False
    no_detail: bool = False
    # The most blur the reading allows (ratio 2σ towards softer, through the curve).
    blur_high_px: float = math.inf
    # ``blur_px`` is the gross reading's floor (:mod:`.gross_blur`), not the fine curve's.
    gross_floor: bool = False


def curve_diameters_px(coc_px: float) -> np.ndarray:
    """The blur diameters (px) at which a reference's through-focus curve is sampled."""
    span = max(_MIN_CURVE_SPAN_PX, 4.0 * coc_px)
    return np.array(sorted({round(coc_px * m, 4) for m in _CURVE_COC_MULTIPLES if coc_px * m <= span} | {round(span, 4)}),
                    np.float64)


def curve_views(view: np.ndarray, coc_px: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``view`` blurred by each of the curve's diameters, with its coarse band: the
    expensive half of a through-focus curve, shared by the references of every region
    read from one view (the whole box and its parts)."""
    out = []
    for d in curve_diameters_px(coc_px):
        blurred = defocus(view, float(d))
        out.append((blurred, coarse_band(blurred)))
    return out
