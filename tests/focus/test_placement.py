"""Placing several locked features in depth from a rack through them (focus/placement.py).

The readings are made here from the physics the placement relies on: each feature's
fine-band energy falls off as a Gaussian of its defocus, its blur grows linearly (a V)
against its locked reference, with noise; the truth is where each peak was put.
"""

from __future__ import annotations

import numpy as np
import pytest

from focuslock.focus.placement import DepthPlacement

COC_PX = 2.0
SLOPE_PX_PER_STEP = 0.1  # one CoC of blur every 20 steps


def _readings(position, peaks, locked_at, rng):
    energies, blurs = [], []
    for peak in peaks:
        energies.append(30.0 * np.exp(-0.5 * ((position - peak) / 25.0) ** 2) * (1 + rng.normal(0, 0.03)) + 0.5)
        # Against a reference locked at ``locked_at``: 0 there, negative towards the peak.
        blurs.append(SLOPE_PX_PER_STEP * (abs(position - peak) - abs(locked_at - peak)) + rng.normal(0, 0.05))
    return energies, blurs


def _sweep(placement, positions, peaks, locked_at, rng, frames=2):
    shown = None
    for position in positions:
        for _ in range(frames):
            shown = placement.observe(float(position), *_readings(position, peaks, locked_at, rng))
    return shown


def test_three_features_are_placed_within_a_step_and_the_plane_between_them():
    rng = np.random.default_rng(1)
    peaks = (10.0, 43.0, 81.0)
    placement = DepthPlacement(3, COC_PX)
    shown = _sweep(placement, range(-60, 160, 4), peaks, 10.0, rng)
    assert shown.complete
    assert [p.position_steps for p in shown.peaks] == pytest.approx(peaks, abs=1.0)
    assert shown.span_steps == pytest.approx(71.0, abs=1.5)
    assert shown.order() == [0, 1, 2]
    assert shown.blur_px_per_step == pytest.approx(SLOPE_PX_PER_STEP, rel=0.15)
    # Back to the middle feature, the same way (from below): the plane is 46 % of the way.
    _sweep(placement, range(-60, 0, 4), peaks, 10.0, rng)  # turning back starts a new sweep
    shown = _sweep(placement, range(0, 44, 1), peaks, 10.0, rng)
    assert shown.plane_share() == pytest.approx((43 - 10) / 71, abs=0.03)


def test_a_feature_not_yet_passed_through_is_not_placed():
    rng = np.random.default_rng(2)
    placement = DepthPlacement(2, COC_PX)
    shown = _sweep(placement, range(-60, 60, 4), (0.0, 90.0), 0.0, rng)
    assert shown.peaks[0] is not None and shown.peaks[1] is None
    assert not shown.complete and shown.span_steps is None and shown.plane_share() is None


def test_turning_back_keeps_the_last_placement_and_counts_the_backlash():
    rng = np.random.default_rng(3)
    placement = DepthPlacement(2, COC_PX, backlash_steps=6.0)
    _sweep(placement, range(-60, 150, 4), (0.0, 50.0), 0.0, rng)
    # Down again: the drive's count says 20, the lens lags it by the backlash.
    shown = _sweep(placement, (100, 60, 20), (0.0, 50.0), 0.0, rng)
    assert shown.complete and shown.direction == 1
    assert shown.position_steps == pytest.approx(26.0)
    assert [p.position_steps for p in shown.peaks] == pytest.approx((0.0, 50.0), abs=1.0)


def test_a_feature_locked_out_of_focus_is_flagged_and_one_locked_sharp_is_not():
    rng = np.random.default_rng(4)
    placement = DepthPlacement(2, COC_PX)
    # Locked at 0 (feature 1 sharp there); feature 2 is sharpest 60 steps on: 3 CoC out.
    shown = _sweep(placement, [0] + list(range(-60, 150, 4)), (0.0, 60.0), 0.0, rng)
    assert shown.locked_soft == (False, True)
    # Locked half-way between two features 8 steps apart: both within 0.2 CoC.
    placement = DepthPlacement(2, COC_PX)
    shown = _sweep(placement, [4] + list(range(-80, 100, 4)), (0.0, 8.0), 4.0, rng)
    assert shown.complete and shown.locked_soft == (False, False)


def test_a_lens_left_still_for_an_hour_keeps_the_placement_small_and_placed():
    """Live at 30 fps a still lens gives one reading a frame at one position: an hour of
    them must neither pile up (memory) nor lose the placement a rack made before."""
    rng = np.random.default_rng(5)
    peaks = (10.0, 43.0, 81.0)
    placement = DepthPlacement(3, COC_PX)
    placed = _sweep(placement, range(-60, 160, 4), peaks, 10.0, rng)
    kept_before = sum(len(r) for slot in placement._readings.values() for r in slot)
    for _ in range(20_000):  # ~11 minutes at 30 fps, at the rack's last position
        shown = placement.observe(156.0, *_readings(156.0, peaks, 10.0, rng))
    kept_after = sum(len(r) for slot in placement._readings.values() for r in slot)
    assert kept_after - kept_before <= 3 * 32
    assert shown is not None and [round(p.position_steps) for p in shown.peaks] == [round(p.position_steps) for p in placed.peaks]
