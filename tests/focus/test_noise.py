"""The one noise model on real photographs with a known noise.

What a user relies on: the σ that every verdict subtracts is the noise's, not the
picture's; it does not drift as focus softens the frame (a drifting σ once made soft
frames read as sharp); it says how well it is known; and an ISO change is noticed.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.noise import NoiseModel, first_difference_energy, noise_sigma_sd, single_frame_noise_sigma
from focuslock.testing.synthetic import degrade, lens_defocus

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"
BOX = (100, 75, 200, 150)  # x, y, w, h: the middle of a 400×300 crop


def _crop(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / f"{name}.jpg")), cv2.COLOR_BGR2RGB)


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _true_sigma(rgb: np.ndarray, blur_px: float, noise_sd: float, seed: int) -> float:
    """The white-equivalent σ of the noise that one degraded frame carries over the
    continuous picture, in the band the blur estimate reads (first differences)."""
    clean = cv2.cvtColor(lens_defocus(rgb.astype(np.float32), blur_px), cv2.COLOR_RGB2GRAY)
    noisy = _grey(degrade(rgb, blur_px, noise_sd, seed=seed)).astype(np.float32)
    return math.sqrt(first_difference_energy(noisy - clean) / 4.0)


@pytest.mark.parametrize("crop", ["barcode", "header_pins", "text_sw1", "switch_corner"])
@pytest.mark.parametrize("noise_sd", [0.5, 2.0, 6.0])
def test_a_single_frame_estimate_is_never_low_beyond_its_stated_uncertainty(crop, noise_sd):
    """Low is the dangerous side (noise left in the fine band reads as detail a blur has
    removed); high is texture read as noise, bounded, and gone at higher noise."""
    for scale in (1, 2):
        rgb = _crop(crop)
        if scale != 1:
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        for blur_px in (0.0, 4.0):
            truth = _true_sigma(rgb, blur_px, noise_sd, seed=3)
            estimate = single_frame_noise_sigma(_grey(degrade(rgb, blur_px, noise_sd, seed=3)))
            assert estimate >= truth - 2.0 * noise_sigma_sd(estimate), (scale, blur_px, estimate, truth)
            assert estimate <= 2.2 * truth, (scale, blur_px, estimate, truth)
            if truth >= 3.0:
                assert estimate == pytest.approx(truth, rel=0.1)


def _feed(frames: list[np.ndarray], model: NoiseModel, paired):
    """The noise model as the live engine feeds it: a single-frame estimate per frame and,
    where ``paired(index)``, a temporal pair of this and the previous view of the still
    feature (live: while the lock calibrates). Yields the index after each frame."""
    x, y, w, h = BOX
    previous = None
    for index, frame in enumerate(frames):
        grey = _grey(frame)
        model.observe_frame(grey)
        view = grey[y : y + h, x : x + w]
        if previous is not None and paired(index):
            model.observe_views(previous, view)
        previous = view
        yield index


def _follow(frames: list[np.ndarray]) -> list[tuple[str, float, float]]:
    """(source, σ, its sd) after each frame, pairs on the first six frames."""
    model = NoiseModel()
    return [(model.source, model.sigma, model.sigma_sd) for _ in _feed(frames, model, lambda index: index < 6)]


@pytest.mark.parametrize("crop", ["barcode", "header_pins"])
def test_the_measured_noise_does_not_drift_as_focus_softens_the_frame(crop):
    # Low noise on a detailed feature: the single-frame estimate reads its texture as
    # noise and falls by up to half as the frame goes soft, while the noise stays the same.
    rgb, noise_sd = _crop(crop), 0.5
    blurs = [0.0] * 6 + list(np.linspace(0.5, 10.0, 10))
    frames = [degrade(rgb, b, noise_sd, seed=i) for i, b in enumerate(blurs)]
    seen = _follow(frames)
    truth = _true_sigma(rgb, 0.0, noise_sd, seed=0)
    sources = [s for s, _, _ in seen]
    assert sources[0] == "single-frame" and set(sources[1:]) == {"temporal"}
    for _, sigma, sd in seen[1:]:
        assert sigma == pytest.approx(truth, rel=0.03)
        assert sd == pytest.approx(noise_sigma_sd(sigma, temporal=True))
    # The single-frame estimate alone would have drifted (what the held σ guards against).
    assert single_frame_noise_sigma(_grey(frames[-1])) < 0.75 * single_frame_noise_sigma(_grey(frames[0]))


def test_a_new_iso_makes_the_held_noise_stale_until_new_pairs_measure_it():
    rgb = _crop("switch_corner")
    frames = [degrade(rgb, 0.0, 1.0, seed=i) for i in range(6)] + [degrade(rgb, 0.0, 6.0, seed=10 + i) for i in range(8)]
    model = NoiseModel(smoothing=1.0)  # every frame's estimate at once, to see the switch
    for index in _feed(frames, model, lambda index: index != 6):
        if index == 5:
            held = model.sigma
            assert model.source == "temporal"
        if index == 6:
            # Six times the noise (a jump of five stops): the held temporal σ is stale; the
            # single-frame estimate answers, with its larger uncertainty.
            assert model.source == "single-frame"
            assert model.sigma == pytest.approx(_true_sigma(rgb, 0.0, 6.0, seed=10), rel=0.1)
            assert model.sigma_sd == pytest.approx(noise_sigma_sd(model.sigma))
        if index >= 7:
            # New pairs: measured again, from the pairs since the change only.
            assert model.source == "temporal"
            assert model.sigma == pytest.approx(_true_sigma(rgb, 0.0, 6.0, seed=10 + index - 6), rel=0.05)
            assert model.sigma > 4.0 * held


def test_a_held_model_keeps_its_estimator_s_uncertainty():
    model = NoiseModel()
    grey = _grey(degrade(_crop("text_sw1"), 0.0, 2.0, seed=1))
    model.observe_frame(grey)
    model.hold()
    assert model.source == "fixed"
    assert model.sigma_sd == pytest.approx(noise_sigma_sd(model.sigma, temporal=False))
    assert noise_sigma_sd(2.0, temporal=True) < 0.5 * noise_sigma_sd(2.0)
