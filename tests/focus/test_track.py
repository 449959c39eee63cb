"""Following the feature: the simulated bench knows where it truly is."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from focuslock.focus.track import FeatureTracker
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_truth import SimTruth


def _grey(frame) -> np.ndarray:
    return cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize("drift", [(0.0, 0.0), (3.3, -1.7), (12.5, 6.25), (20.0, 0.0), (0.0, -20.0), (14.1, 14.1)])
def test_tracking_error_stays_under_half_a_pixel_for_drift_up_to_20_px_per_frame(drift):
    bench = SimulatedBench(BenchConfig(frame_rate_hz=None, drift_px_per_frame=drift, motion_margin_px=160, iso=800,
                                       f_number=8.0, exposure_s=1 / 250))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    first = bench.read_frame()
    start = SimTruth.of(first).subject_offset_px
    tracker = FeatureTracker(_grey(first), roi)
    errors = []
    for _ in range(40):  # long enough to bounce at the edge of the bench's travel
        frame = bench.read_frame()
        result = tracker.update(_grey(frame))
        offset = SimTruth.of(frame).subject_offset_px
        expected = (roi[0] + offset[0] - start[0], roi[1] + offset[1] - start[1])
        assert not result.lost
        errors.append(math.hypot(result.roi_px[0] - expected[0], result.roi_px[1] - expected[1]))
    assert max(errors) < 0.5, max(errors)


def test_tracking_holds_through_a_focus_rack():
    """Blur changes, the feature does not move: the box must not wander."""
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    tracker = FeatureTracker(_grey(bench.read_frame()), roi)
    for _ in range(30):
        bench.drive_focus(6)
        result = tracker.update(_grey(bench.read_frame()))
        assert not result.lost
        assert math.hypot(result.roi_px[0] - roi[0], result.roi_px[1] - roi[1]) < 0.5


def test_a_covered_feature_is_lost_and_found_again():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None))
    bench.open()
    x, y, w, h = bench.landmark_roi_px("coin-numeral")
    tracker = FeatureTracker(_grey(bench.read_frame()), (x, y, w, h))
    covered = _grey(bench.read_frame()).copy()
    covered[y - 30 : y + h + 30, x - 30 : x + w + 30] = 90  # a hand over the coin
    result = tracker.update(covered)
    assert result.lost and result.confidence < 0.45
    result = tracker.update(_grey(bench.read_frame()))
    assert not result.lost
    assert math.hypot(result.roi_px[0] - x, result.roi_px[1] - y) < 0.5


def test_a_feature_that_leaves_the_frame_is_lost():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None))
    bench.open()
    grey = _grey(bench.read_frame())
    x, y, w, h = bench.landmark_roi_px("coin-numeral")
    tracker = FeatureTracker(grey, (x, y, w, h))
    # The scene slides right by 250 px: the coin's numeral is now past the edge. (Text
    # repeats on the target; the coin is one of a kind, as a locked feature should be.)
    shifted = np.zeros_like(grey)
    shifted[:, 250:] = grey[:, :-250]
    for _ in range(4):
        result = tracker.update(shifted)
        assert result.lost
    # Back in view: found again where it was.
    result = tracker.update(grey)
    assert not result.lost and abs(result.roi_px[0] - x) < 0.5


def test_tracking_follows_focus_breathing_through_a_real_stack(focus_stacks):
    """Through pcb_001..007 the focus racks and the scale breathes; the SMD capacitor is
    followed to where it really is (checked by correlating its sharpest view)."""
    paths = [focus_stacks / "pcb" / f"pcb_00{i}.jpg" for i in range(1, 8)]
    greys = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY) for p in paths]
    roi = (440, 800, 150, 80)
    tracker = FeatureTracker(greys[3], roi)  # frame 4: the capacitor is sharp
    positions = {3: (440.0, 800.0)}
    for index in (4, 5, 6):
        result = tracker.update(greys[index])
        assert not result.lost
        positions[index] = result.roi_px[:2]
    # Breathing moves the capacitor down and right by a few pixels per frame, smoothly.
    steps = [positions[i + 1][1] - positions[i][1] for i in (3, 4, 5)]
    assert all(0 < s < 12 for s in steps), steps


def test_a_box_outside_the_frame_is_refused():
    with pytest.raises(ValueError, match="not inside"):
        FeatureTracker(np.zeros((100, 100), np.uint8), (90, 90, 20, 20))
    with pytest.raises(ValueError, match="at least 8×8 pixels"):
        FeatureTracker(np.zeros((100, 100), np.uint8), (10, 10, 4, 4))


def test_lines_that_all_look_alike_do_not_make_the_box_slide_along_them():
    """Vertical bars give no fix vertically (the aperture problem): moving sideways, the
    box follows in x and keeps its height."""
    bars = np.zeros((200, 300), np.uint8)
    for x in range(0, 300, 7):
        bars[:, x : x + 3] = 220
    bars = cv2.GaussianBlur(bars, (0, 0), 1.0)
    tracker = FeatureTracker(bars, (100, 60, 60, 50))
    for shift in range(1, 4):
        moved = np.roll(bars, shift, axis=1)
        result = tracker.update(moved)
    assert result.roi_px[1] == pytest.approx(60.0, abs=0.05)
    assert result.roi_px[0] == pytest.approx(103.0, abs=0.1)
