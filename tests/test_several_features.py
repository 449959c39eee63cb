"""Several features locked at once on the simulated bench (issue 12, part 3): each with
its own state; a rack through them places them in depth, says where the plane of focus
sits between them and which aperture covers both.

The bench at 1×, f/8: the top of the coin's numeral and the engraved letters above it,
about 4 mm farther (the coin's face is tilted). The drive is racked as a user would from
the window, the drive's count in each frame as the live session gives it; the bench knows
where each feature is sharpest (the truth).
"""

from __future__ import annotations

import dataclasses

import pytest

from focuslock.focus.engine import MAX_FEATURES, FocusSettings
from focuslock.optics.dof import aperture_covering
from focuslock.overlay.placement_text import describe_placement
from focuslock.runtime.pipeline import FramePipeline, FrameResult, PipelineSettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench

# One worker builds this module's shared fixture once (pytest -n --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_several_features")

STEP_UM = 20.0


class _Rig:
    def __init__(self) -> None:
        config = BenchConfig(magnification=1.0, f_number=8.0, frame_rate_hz=None, focus_step_um=STEP_UM,
                             backlash_steps=5).aimed_at("coin-numeral")
        self.bench = SimulatedBench(config)
        self.bench.open()
        self.position = 0
        self.pipeline = FramePipeline()
        self.settings = PipelineSettings()

    def go(self, target: float) -> None:
        self.position += self.bench.drive_focus(int(round(target)) - self.position)

    def frame(self) -> FrameResult:
        frame = self.bench.read_frame()
        frame = dataclasses.replace(frame, metadata={**frame.metadata, "drive_position_steps": self.position})
        return self.pipeline(frame, self.settings)


@pytest.fixture(scope="module")
def racked():
    rig = _Rig()
    near, far = rig.bench.landmark_roi_px("coin-numeral"), rig.bench.landmark_roi_px("coin-letters")
    near_best, far_best = rig.bench.best_focus_position_steps(near), rig.bench.best_focus_position_steps(far)
    try:
        # The user focuses on the numeral (from below), draws both boxes and locks.
        rig.go(near_best - 40)
        rig.go(near_best)
        rig.settings = dataclasses.replace(rig.settings, focus=rig.settings.focus.follow(near).add_feature(far).with_lock())
        at_lock = [rig.frame() for _ in range(12)][-1]
        # Then racks through both, one direction, and back to the numeral from below.
        low, high = min(near_best, far_best) - 110, max(near_best, far_best) + 110
        rig.go(low - 30)
        racked = []
        for position in range(int(low), int(high), 6):
            rig.go(position)
            racked += [rig.frame(), rig.frame()]
        rig.go(low - 30)
        for position in range(int(low), int(near_best) + 1, 6):
            rig.go(position)
            back = rig.frame()
        rig.go(near_best)
        back = [rig.frame() for _ in range(3)][-1]
        yield {"rig": rig, "at_lock": at_lock, "racked": racked, "back": back, "near_best": near_best, "far_best": far_best}
    finally:
        rig.bench.close()


def test_each_locked_feature_has_its_own_state(racked):
    focus = racked["at_lock"].focus
    assert len(focus.features) == 2 and focus.features[0].lock is not None and focus.features[1].lock is not None
    # The numeral in focus is sharp; the letters 4 mm off are not called sharp.
    assert focus.features[0].state == "sharp"
    assert focus.features[1].state != "sharp"


def test_a_rack_places_both_features_within_a_few_steps(racked):
    placement = racked["racked"][-1].focus.placement
    truth_steps = abs(racked["far_best"] - racked["near_best"])
    assert placement is not None and placement.complete
    assert placement.span_steps == pytest.approx(truth_steps, rel=0.05)
    # Along the drive: the numeral's peak comes first when the count rises (the bench's truth).
    assert placement.order() == ([0, 1] if racked["near_best"] < racked["far_best"] else [1, 0])


def test_the_window_says_where_the_plane_sits_and_which_aperture_covers_both(racked):
    result = racked["back"]
    placement, optics = result.focus.placement, result.optics
    # Back on the numeral: the plane of focus sits at it, 0 % of the way to the letters.
    assert placement.plane_share() == pytest.approx(0.0, abs=0.05)
    lines = describe_placement(placement, optics, result.coc, step_um=STEP_UM)
    text = " ".join(lines)
    covering, wider = aperture_covering(abs(racked["far_best"] - racked["near_best"]) * STEP_UM / 1000.0, optics)
    assert f"f/{covering.f_number:g} covers both" in text and f"f/{wider.f_number:g} does not" in text
    assert "0 % of the way from 1 to 2" in text
    # Without a drive calibration the step comes from the rack's own blur slope, in µm.
    assert "from this rack" in " ".join(describe_placement(placement, optics, result.coc))


def test_the_rack_flags_the_feature_locked_far_out_of_focus(racked):
    placement = racked["racked"][-1].focus.placement
    assert placement.locked_soft == (False, True)
    during = [r.focus.features[1] for r in racked["racked"] if r.focus.placement.complete]
    assert during and all(feature.state != "sharp" for feature in during)
    # The numeral, locked at its best, is sharp again back there.
    assert racked["back"].focus.features[0].state == "sharp"


def test_a_feature_locked_a_little_out_of_focus_is_not_called_sharp_at_its_best():
    # Locked with the plane 35 steps (about one CoC of blur) past the numeral: its
    # reference is soft but readable. At its own best focus it reads sharper than locked,
    # which alone would say SHARP; once the rack has shown where its best focus is, the
    # verdict says it cannot tell, and why.
    rig = _Rig()
    x, y, _, _ = rig.bench.landmark_roi_px("coin-numeral")
    near = (x + 40, y + 60, 90, 40)  # the middle of the numeral: a box one depth deep
    far = rig.bench.landmark_roi_px("coin-letters")
    near_best, far_best = rig.bench.best_focus_position_steps(near), rig.bench.best_focus_position_steps(far)
    try:
        rig.go(near_best + 35 - 40)
        rig.go(near_best + 35)
        rig.settings = dataclasses.replace(rig.settings, focus=rig.settings.focus.follow(near).add_feature(far).with_lock())
        at_lock = [rig.frame() for _ in range(12)][-1].focus
        assert at_lock.features[0].state == "sharp"  # as when locked: all the lock can know yet
        low, high = min(near_best, far_best) - 110, max(near_best, far_best) + 110
        rig.go(low - 30)
        for position in range(int(low), int(high), 6):
            rig.go(position)
            rig.frame()
            last = rig.frame()
        assert last.focus.placement.locked_soft[0]
        rig.go(low - 30)
        rig.go(near_best)
        at_best = [rig.frame() for _ in range(3)][-1].focus.features[0]
    finally:
        rig.bench.close()
    assert at_best.lock.blur_px < 0  # sharper than the soft reference
    assert at_best.state == "uncertain" and "locked out of focus" in at_best.lock.reason


def test_at_most_four_features_and_a_new_first_feature_drops_the_others():
    settings = FocusSettings().follow((10, 10, 40, 40))
    for index in range(MAX_FEATURES - 1):
        settings = settings.add_feature((60 + 50 * index, 10, 40, 40))
    with pytest.raises(ValueError, match="At most 4 features"):
        settings.add_feature((10, 200, 40, 40))
    assert settings.follow((5, 5, 30, 30)).more_roi_px == ()
    with pytest.raises(ValueError, match="first feature"):
        FocusSettings().add_feature((10, 10, 40, 40))
