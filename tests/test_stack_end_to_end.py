"""A macro shooter's whole stack on the simulated bench, end to end, as issue 12 asks:
calibrate the drive, mark the near and the far end of a subject 3 mm deep at 2×, wander
off, shoot the stack from mark to mark, and check its coverage — no gap between the
frames, and the coin beyond the marks reported not covered (issue 27); then take a frame
out of the middle (the gap is reported where it was) and take one twice (reported as not
moved).

The subject is the bench as it stands: the coin's face tilted 35° to the lens, so each row
of the picture lies at its own depth. The near mark is the top of the numeral, the far one
the engraved letters above it, 2.95 mm farther. Everything here is focuslock's own code
driving the bench's drive and captures (a real body is driven the same way); the one thing
the test does for the user is turning the focus until each mark's feature is sharp (the
bench knows where that is).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.workflows.calibrate import calibrate_focus_steps
from focuslock.workflows.marks import take_mark
from focuslock.workflows.stack_check import run_stack_check
from focuslock.workflows.stack_shoot import optics_of, shoot_between_marks

# One worker builds this module's shared fixture once (pytest -n --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_stack_end_to_end")

NEAR_ROI = (400, 270, 220, 70)  # the top of the numeral "5"
FAR_ROI = (480, 25, 240, 80)  # "O C" of the letters around the rim
STEP_UM, BACKLASH_STEPS = 20.0, 5


class _Bench(SimulatedBench):
    """The bench, noting where the glass was (drive steps, the truth) at each capture."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.glass_at_capture: list[float] = []

    def capture(self, folder):
        self.glass_at_capture.append(self.position_for_distance(self.focus_distance_mm))
        return super().capture(folder)


@pytest.fixture(scope="module")
def shot_stack(tmp_path_factory):
    config = BenchConfig(magnification=2.0, f_number=8.0, capture_width_px=1024, frame_rate_hz=None,
                         focus_step_um=STEP_UM, backlash_steps=BACKLASH_STEPS).aimed_at("coin-numeral")
    bench = _Bench(config)
    bench.open()
    position = 0  # the drive's count, as the window keeps it

    def focus_by_hand_on(roi) -> None:
        # The user turns the focus until the feature is sharp (from below, as one does).
        nonlocal position
        best = int(round(bench.best_focus_position_steps(roi)))
        position += bench.drive_focus(best - 40 - position)
        position += bench.drive_focus(best - position)

    try:
        depth = bench.truth_depth_map_mm()
        near_depth = float(np.median(depth[270:340, 400:620]))
        far_depth = float(np.median(depth[25:105, 480:720]))
        focus_by_hand_on(NEAR_ROI)
        start = position
        calibration = calibrate_focus_steps(bench, NEAR_ROI)
        position = start + int(round(calibration.best_position_steps))
        near = take_mark(bench, "A", NEAR_ROI, position)
        focus_by_hand_on(FAR_ROI)
        far = take_mark(bench, "B", FAR_ROI, position)
        position += bench.drive_focus(-123)  # wander off: the drive somewhere else
        folder = tmp_path_factory.mktemp("stack") / "frames"
        shot, arrived = shoot_between_marks(bench, far, near, position, calibration.step_um, folder,
                                            blur_px_per_step=calibration.blur_px_per_step)
        optics, sensor_width_mm = optics_of(bench)
        coc_px = optics.coc_mm / sensor_width_mm * config.capture_width_px
        yield {"bench": bench, "calibration": calibration, "shot": shot, "arrived": arrived, "coc_px": coc_px,
               "depth_mm": far_depth - near_depth, "near_best": bench.position_for_distance(near_depth),
               "far_best": bench.position_for_distance(far_depth), "optics": optics, "folder": folder}
    finally:
        bench.close()


def test_the_stack_from_mark_to_mark_covers_the_subject_with_no_gap(shot_stack):
    calibration, shot = shot_stack["calibration"], shot_stack["shot"]
    assert shot_stack["depth_mm"] == pytest.approx(3.0, abs=0.1)
    assert calibration.step_um == pytest.approx(STEP_UM, rel=0.10)
    assert calibration.backlash_steps == pytest.approx(BACKLASH_STEPS, abs=1.0)
    assert shot.stopped is None
    glass = shot_stack["bench"].glass_at_capture
    # The first frame at the near mark's feature, the last at the far one's; the frames
    # evenly apart, no more than the depth of field × 0.7 (the overlap) from each other.
    dof_steps = shot_stack["optics"].planning_dof_mm() * 1000.0 / STEP_UM
    assert abs(glass[0] - shot_stack["near_best"]) <= 0.1 * dof_steps
    assert abs(glass[-1] - shot_stack["far_best"]) <= 0.25 * dof_steps
    moves = np.diff(glass)
    assert np.all(moves > 0) and np.all(moves <= 0.7 * dof_steps * 1.1)
    coverage, _ = run_stack_check(shot_stack["folder"], shot_stack["coc_px"])
    assert coverage.gaps == [] and coverage.not_moved == []


def test_the_coin_beyond_the_marks_is_reported_not_covered_and_only_it(shot_stack):
    """The picture holds more of the coin than the marks span: its lower half lies nearer
    than mark A, the rim above the letters farther than mark B. Against the bench's truth
    (where each part's detail is sharpest): every part called beyond the first frame lies
    nearer than it, every part beyond the last farther, every part called sharp within a
    depth of field of the stack; the report says which way to extend (stack.json lists
    the frames from the nearer mark), and never "No gap"."""
    from focuslock.focus.stack_ends import TileState
    from focuslock.workflows.stack_check import report_lines

    bench, glass = shot_stack["bench"], shot_stack["bench"].glass_at_capture
    coverage, _ = run_stack_check(shot_stack["folder"])
    assert coverage.coc_from == "stack.json" and coverage.first_is_nearest is True
    assert coverage.coc_px == pytest.approx(shot_stack["coc_px"], rel=1e-3)
    dof_steps = shot_stack["optics"].planning_dof_mm() * 1000.0 / STEP_UM
    depth = bench.truth_depth_map_mm()
    nearer = farther = 0
    for tile in coverage.tiles:
        x, y, w, h = tile.box_px
        if float(np.ptp(depth[y : y + h, x : x + w])) > 1.0:
            continue  # the coin's edge over the card: two depths in one part
        best = bench.best_focus_position_steps(tile.box_px)
        if tile.state is TileState.BEYOND_FIRST:
            assert best < glass[0], (tile, best)
            nearer += 1
        elif tile.state is TileState.BEYOND_LAST:
            assert best > glass[-1], (tile, best)
            farther += 1
        elif tile.covered:
            assert glass[0] - dof_steps <= best <= glass[-1] + dof_steps, (tile, best)
    assert nearer >= 10 and farther >= 5
    lines = report_lines(coverage)
    assert any(line.startswith("Not covered:") and "extend the stack nearer by" in line for line in lines)
    assert any(line.startswith("Not covered:") and "extend the stack farther by" in line for line in lines)
    assert not any(line.startswith("No gap") for line in lines)


def test_a_frame_taken_out_of_the_middle_is_reported_as_a_gap_where_it_was(shot_stack, tmp_path):
    files = shot_stack["shot"].all_files
    middle = len(files) // 2
    folder = tmp_path / "one-out"
    folder.mkdir()
    for path in files[:middle] + files[middle + 1:]:
        shutil.copy(path, folder / path.name)
    coverage, _ = run_stack_check(folder, shot_stack["coc_px"])
    # Between the frames that were its neighbours (now middle − 1 and middle), and only there.
    assert [step.index for step in coverage.gaps] == [middle - 1]


def test_a_frame_taken_twice_is_reported_as_not_moved(shot_stack, tmp_path):
    files = shot_stack["shot"].all_files
    twice = len(files) // 2
    folder = tmp_path / "twice"
    folder.mkdir()
    sequence = files[: twice + 1] + [files[twice]] + files[twice + 1:]
    for number, path in enumerate(sequence):
        shutil.copy(path, folder / f"frame_{number:03d}.jpg")
    coverage, _ = run_stack_check(folder, shot_stack["coc_px"])
    assert [step.index for step in coverage.not_moved] == [twice]
    assert coverage.gaps == []
