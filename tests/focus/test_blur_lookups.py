"""A blur reference works out once what every reading looks up — the ends of its
through-focus curve (again whenever the noise model moves the curve) and the noise gain
at the CoC — instead of on every reading. A reading must come out as working them out
afresh gives it: at, below and above the CoC, sharper than the lock, past the curve's
end, and after the curve moved with the noise."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.blur_curve import view_margin_px
from focuslock.focus.feature import extract_view
from focuslock.focus.parts import FeatureReference
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"
ROI = (100, 75, 200, 150)
COC_PX = 2.0


def _reference(noise_sd: float) -> FeatureReference:
    crop = cv2.cvtColor(cv2.imread(str(DATA / "text_sw1.jpg")), cv2.COLOR_BGR2RGB)
    views = []
    for seed in range(3):
        grey = cv2.cvtColor(degrade(crop, 0.0, noise_sd, seed=seed), cv2.COLOR_RGB2GRAY)
        view = extract_view(grey, ROI, view_margin_px(COC_PX))
        assert view is not None
        views.append(view.astype(np.float32))
    return FeatureReference.from_views(views, noise_sd, COC_PX, view_margin_px(COC_PX))


def _blur_afresh(curve, ratio: float) -> tuple[float, bool]:
    """The blur for ``ratio`` read from the curve as it stands (mirrored past the lock)."""
    log_curve, diameters = curve._log_ratio, curve.diameters_px
    if ratio <= 0:
        return float(diameters[-1]), True
    value, sign = math.log(ratio), 1.0
    if value > log_curve[0]:
        value, sign = 2.0 * log_curve[0] - value, -1.0
    if value < log_curve[-1]:
        return sign * float(diameters[-1]), True
    return sign * float(np.interp(value, log_curve[::-1], diameters[::-1])), False


def _bias_afresh(curve, noise_sigma: float, noise_sd: float, blur_px: float) -> float:
    gains = curve._gains[:, 0]
    gain = float(np.interp(max(blur_px, curve.coc_px), curve.diameters_px, gains))
    return 2.0 * noise_sigma * noise_sd * max(float(gains[0]) - gain, 0.0)


def _ratios(curve) -> list[float]:
    """Ratios across the whole curve, sharper than the lock, and past both ends."""
    log_curve = curve._log_ratio
    inside = np.linspace(float(log_curve[-1]), float(log_curve[0]), 9)
    return [0.0, math.exp(float(log_curve[-1]) - 0.5), *np.exp(inside).tolist(), math.exp(float(log_curve[0]) + 0.05),
            math.exp(2.0 * float(log_curve[0]) - float(log_curve[-1]) + 0.5)]


def test_what_a_reference_works_out_once_reads_as_working_it_out_every_time():
    reference = _reference(noise_sd=2.0)
    for noise_sigma in (2.0, 5.0, 0.8):  # the first as the views were taken; then the noise model moves
        reference.add_view(reference.whole._first_view, noise_sigma)
        for curve in (reference.whole, *reference.parts):
            for ratio in _ratios(curve):
                blur, beyond = curve.blur_for_ratio(ratio)
                expected, expected_beyond = _blur_afresh(curve, ratio)
                assert beyond == expected_beyond and blur == pytest.approx(expected, abs=1e-9), (noise_sigma, ratio)
            for blur_px in (-1.0, 0.0, 0.5 * COC_PX, COC_PX, 1.5 * COC_PX, 4.0 * COC_PX):
                assert curve.noise_bias_sd(noise_sigma, 0.3, blur_px) == _bias_afresh(curve, noise_sigma, 0.3, blur_px)
