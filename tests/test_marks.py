"""Named marks on the simulated bench: set a mark where the feature is sharp, wander the
drive about, go back — best focus found again from the picture, within one drive step
(the bench is the only part that knows where its glass really is; a real body's drive is
driven the same way).
"""

from __future__ import annotations

import random

import pytest

from focuslock.camera.sim import BenchConfig, SimulatedBench
from focuslock.camera.sim_scene import SceneSpec
from focuslock.marks import MarkError, go_to_mark, take_mark


def _bench(magnification: float, step_um: float, backlash_steps: int):
    config = BenchConfig(magnification=magnification, focus_step_um=step_um, backlash_steps=backlash_steps,
                         frame_rate_hz=None, scene=SceneSpec(tilt_deg=0.0)).aimed_at("star")
    bench = SimulatedBench(config)
    bench.open()
    roi = bench.landmark_roi_px("star")
    best = bench.best_focus_position_steps(roi)
    bench.drive_focus(int(round(best)))
    return bench, roi, best


def _glass_steps(bench: SimulatedBench) -> float:
    """Where the glass really is, in motor steps (the backlash makes it differ from the count)."""
    return bench.position_for_distance(bench.focus_distance_mm)


@pytest.mark.parametrize(("magnification", "step_um", "backlash", "seed"),
                         [(0.5, 25.0, 2, 1), (1.0, 5.0, 12, 2), (2.0, 10.0, 6, 3)])
def test_go_to_mark_finds_best_focus_within_one_step_after_a_random_walk(magnification, step_um, backlash, seed):
    bench, roi, best = _bench(magnification, step_um, backlash)
    try:
        counter = int(round(best))
        mark = take_mark(bench, "A", roi, counter)
        rng = random.Random(seed)
        for _ in range(20):
            counter += bench.drive_focus(rng.randint(-150, 150))
        assert abs(_glass_steps(bench) - best) > 1  # it did wander off
        result = go_to_mark(bench, mark, counter)
        assert abs(_glass_steps(bench) - best) <= 1.0, (_glass_steps(bench), best, result)
        # Its count of the drive's position follows the drive (the count started equal).
        assert result.position_steps == bench.focus_position_steps
    finally:
        bench.close()


def test_a_mark_whose_feature_no_longer_fits_the_frame_says_so():
    bench, roi, best = _bench(0.5, 25.0, 2)
    try:
        mark = take_mark(bench, "B", roi, int(round(best)))
    finally:
        bench.close()
    # The same bench with a small live view (another body, or live view resized): the
    # mark's box lies outside it.
    small = SimulatedBench(BenchConfig(live_view_size_px=(320, 212), frame_rate_hz=None,
                                       scene=SceneSpec(tilt_deg=0.0)).aimed_at("star"))
    small.open()
    try:
        with pytest.raises(MarkError, match="Mark B"):
            go_to_mark(small, mark, int(round(best)))
    finally:
        small.close()
