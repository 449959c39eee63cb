"""Focus measures: literature definitions, exposure normalisation, noise estimates."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES, measure_roi
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench


def _patch(focus_stacks):
    """The SMD capacitor of pcb_004.jpg, which is in focus in that frame."""
    grey = cv2.cvtColor(cv2.imread(str(focus_stacks / "pcb" / "pcb_004.jpg")), cv2.COLOR_BGR2GRAY)
    return grey[800:880, 440:590]


@pytest.mark.parametrize("measure", MEASURES)
def test_every_measure_falls_as_a_real_photograph_is_blurred(measure, focus_stacks):
    patch = _patch(focus_stacks)
    scores = []
    for sigma in (0.0, 1.0, 2.0, 4.0):
        blurred = patch if sigma == 0 else cv2.GaussianBlur(patch, (0, 0), sigma)
        scores.append(measure_roi(blurred, measure).score)
    assert all(a > b for a, b in zip(scores, scores[1:])), scores


def test_literature_definitions():
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 255, (40, 50)).astype(np.uint8)
    g = grey.astype(np.float64)
    laplacian = cv2.Laplacian(grey, cv2.CV_64F, ksize=1)
    assert measure_roi(grey, "LAPV").score == pytest.approx(laplacian.var() + laplacian.mean() ** 2, rel=1e-6)
    assert measure_roi(grey, "GLVA").score == pytest.approx(g.std(), rel=1e-6)
    gx = cv2.Sobel(g, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_64F, 0, 1, ksize=3)
    assert measure_roi(grey, "TENG").score == pytest.approx((gx**2 + gy**2).mean(), rel=1e-4)
    kernel = np.array([[-1.0, 2.0, -1.0]])
    lapm = np.abs(cv2.filter2D(g, -1, kernel)) + np.abs(cv2.filter2D(g, -1, kernel.T))
    assert measure_roi(grey, "LAPM").score == pytest.approx(lapm.mean(), rel=1e-4)


def test_a_one_stop_exposure_change_does_not_read_as_a_focus_change():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None, f_number=8.0))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    x, y, w, h = roi
    readings = {}
    for shutter in ("1/60", "1/30"):  # one stop apart, both unclipped
        bench.set_setting("shutterspeed", shutter)
        grey = cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2GRAY)
        readings[shutter] = {m: measure_roi(grey[y : y + h, x : x + w], m).score for m in ("NLAPV", "LAPV")}
    default_change = readings["1/30"][DEFAULT_MEASURE] / readings["1/60"][DEFAULT_MEASURE]
    raw_change = readings["1/30"]["LAPV"] / readings["1/60"]["LAPV"]
    assert default_change == pytest.approx(1.0, abs=0.05)
    assert raw_change > 3.0  # twice the light: four times the Laplacian energy


def test_the_noise_estimate_matches_the_frame_to_frame_scatter():
    """At ISO 3200 on a still scene, the reading's noise_sd predicts the real scatter."""
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None, iso=3200, exposure_s=1 / 2000))
    bench.open()
    x, y, w, h = bench.landmark_roi_px("coin-numeral")
    readings = []
    for _ in range(60):
        grey = cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2GRAY)
        readings.append(measure_roi(grey[y : y + h, x : x + w], noise_sigma=single_frame_noise_sigma(grey)))
    scores = np.array([r.score for r in readings])
    predicted = float(np.median([r.noise_sd for r in readings]))
    measured = float(scores.std())
    assert predicted / 2.5 < measured < predicted * 2.5, (predicted, measured)


def test_noise_correction_reads_pure_noise_as_nearly_nothing():
    noise = np.clip(128 + np.random.default_rng(2).normal(0, 6, (80, 80)), 0, 255).astype(np.uint8)
    pixel_noise = single_frame_noise_sigma(noise)
    corrected = measure_roi(noise, "NLAPV", noise_sigma=pixel_noise)
    raw = measure_roi(noise, "LAPV", noise_sigma=pixel_noise)
    assert corrected.score < 0.25 * math.sqrt(raw.score) / corrected.mean_level
    assert raw.noise_floor == pytest.approx(20.0 * pixel_noise**2)


def test_bad_regions_and_names_are_refused():
    with pytest.raises(ValueError, match="at least 3×3"):
        measure_roi(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="Unknown focus measure"):
        measure_roi(np.zeros((9, 9), np.uint8), "BREN")
