"""Closed-loop stacks on the simulated bench (it stands in for a body's live view and a
rail's motor, which no test machine has) and on a GRBL board on a pseudo-terminal (it
stands in for a rail's controller): every step is measured on live view before the
shutter fires; a lost step is moved again, never shot twice; stack-check on the result
finds no frame that did not move and no gap; an alarm mid-stack stops with every frame
kept and listed."""

from __future__ import annotations

import json

import pytest

from focuslock.devices.rails.base import BoundedStage, Limits
from focuslock.devices.rails.gcode import GcodeStage
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_stage import SimRail
from focuslock.testing.grbl_responder import GrblResponder
from focuslock.workflows.closed_loop import check_lines, lens_mover, rail_mover, shoot_closed_loop
from focuslock.workflows.stack_shoot import check_shot, frame_step_steps, optics_of, plan_slices


def _bench(**overrides) -> SimulatedBench:
    """2×, f/8, live view zoomed 5× on the printed ruler (fine detail across depths)."""
    config = BenchConfig(magnification=2.0, f_number=8.0, capture_width_px=1024, frame_rate_hz=None,
                         live_view_size_px=(480, 318), **overrides).aimed_at("ruler")
    bench = SimulatedBench(config)
    bench.open()
    return bench


def _no_moved_frame_missing_and_no_gap(shot, optics, sensor_width_mm) -> None:
    coverage, _ = check_shot(shot, optics, sensor_width_mm)
    assert coverage.not_moved == [], [s.blur_px for s in coverage.steps]
    assert coverage.gaps == [], [s.blur_px for s in coverage.steps]


def test_a_rail_that_loses_a_step_is_moved_again_before_the_shutter(tmp_path):
    bench = _bench()
    rail = SimRail(bench, settle_frames=3)  # the picture keeps changing for 3 frames after each move
    try:
        optics, sensor_width_mm = optics_of(bench)
        bench.set_live_view_zoom(5.0)
        every = frame_step_steps(optics, 1.0, 0.3)  # µm
        positions = plan_slices(0, 5 * every, every)

        def lose(index, count, files) -> None:
            if index == 2:
                rail.loss.lose_next(0.0)  # the rail reports the next move; it does not make it

        shot = shoot_closed_loop(bench, rail_mover(rail, 40.0), positions, tmp_path / "stack", optics=optics,
                                 sensor_width_mm=sensor_width_mm, progress=lose)
        assert shot.stopped is None and len(shot.files) == len(positions)
        assert rail.loss.lost == 1
        manifest = json.loads((tmp_path / "stack" / "stack.json").read_text())
        slices = manifest["slices"]
        assert [s["retakes"] for s in slices] == [0, 0, 0, 1, 0, 0]
        # Settling was waited for on the picture: the rail rings for 3 frames after each move,
        # then two still frames; no fixed sleep.
        assert all(s["settle_frames"] >= 4 for s in slices[1:]), [s["settle_frames"] for s in slices]
        assert all(s["planned_shift_um"] == every for s in slices[1:])
        assert slices[3]["step"] == "moved as planned" and slices[3]["measured_shift_um"] > 0
        assert manifest["drive"].startswith("rail")
        # The rail really stands where the plan says (plus the guard's backlash taken up).
        assert rail.actual_um == pytest.approx(positions[-1], abs=1.0)
        _no_moved_frame_missing_and_no_gap(shot, optics, sensor_width_mm)
    finally:
        bench.close()


def test_a_lens_drive_that_loses_steps_is_driven_again(tmp_path):
    bench = _bench(focus_step_um=20.0, backlash_steps=3)
    try:
        optics, sensor_width_mm = optics_of(bench)
        bench.set_live_view_zoom(5.0)
        every = frame_step_steps(optics, 20.0, 0.3)
        positions = plan_slices(0, 5 * every, every)

        def lose(index, count, files) -> None:
            if index == 1:
                bench.drive_loss.lose_next(0.0)  # the body reports the steps; the glass stays

        start = bench.position_for_distance(bench.focus_distance_mm)
        shot = shoot_closed_loop(bench, lens_mover(bench, 20.0), positions, tmp_path / "stack", optics=optics,
                                 sensor_width_mm=sensor_width_mm, progress=lose)
        assert shot.stopped is None and len(shot.files) == len(positions)
        assert bench.drive_loss.lost == 1
        # The lens does not ring: two or three frames and the picture stands still.
        assert all(c.settle_frames <= 3 for c in shot.checks), [c.settle_frames for c in shot.checks]
        checks = [c.retakes for c in shot.checks]
        assert checks[2] == 1 and sum(checks) == 1
        glass = bench.position_for_distance(bench.focus_distance_mm) - start
        # The glass where the plan says (the 3 steps of backlash taken out once, by the guard).
        assert glass == pytest.approx(positions[-1] - 3, abs=0.5)
        _no_moved_frame_missing_and_no_gap(shot, optics, sensor_width_mm)
    finally:
        bench.close()


class _FollowsGrbl:
    """The bench's picture follows the GRBL responder's Z (the board's motor moves the camera)."""

    def __init__(self, bench: SimulatedBench, responder: GrblResponder) -> None:
        self.responder = responder
        self.focus_shift_mm = 0.0
        bench.stages.append(self)

    def on_frame(self) -> None:
        self.focus_shift_mm = self.responder.position[2]


def _grbl_rail(responder: GrblResponder) -> BoundedStage:
    return BoundedStage(GcodeStage(responder.start(), name="GRBL rail"), Limits(-20000.0, 20000.0, 5000.0, 1000.0),
                        backlash=20.0)


def test_a_30_frame_stack_at_50_um_on_grbl_ends_where_the_plan_says(tmp_path):
    """Stands in for a GRBL rail board (pseudo-terminal) and a body's live view (the bench)."""
    responder = GrblResponder(travel_mm=(-50.0, 50.0))
    bench = SimulatedBench(BenchConfig(magnification=1.0, capture_width_px=200, frame_rate_hz=None,
                                       live_view_size_px=(160, 106)))
    bench.open()
    _FollowsGrbl(bench, responder)
    stage = _grbl_rail(responder)
    try:
        optics, sensor_width_mm = optics_of(bench)
        positions = [50 * i for i in range(30)]  # µm: 30 frames 0.05 mm apart
        shot = shoot_closed_loop(bench, rail_mover(stage, 20.0), positions, tmp_path / "stack", optics=optics,
                                 sensor_width_mm=sensor_width_mm)
        assert shot.stopped is None and len(shot.all_files) == 30
        # The board's Z: where the plan's last frame is (the first approached from below).
        assert responder.position[2] == pytest.approx(positions[-1] / 1000.0, abs=1e-6)
        assert stage.position() == pytest.approx(positions[-1], abs=0.5)
        manifest = json.loads((tmp_path / "stack" / "stack.json").read_text())
        assert [s["position_steps"] for s in manifest["slices"]] == positions
        # 50 µm at 1× changes the blur by far less than a live-view pixel: said, not passed.
        assert all(s["step"] == "cannot tell" and "too little to measure" in s["step_reason"]
                   for s in manifest["slices"][1:])
        assert responder.unlocks == 0
    finally:
        stage.close()
        responder.close()
        bench.close()


def test_an_alarm_mid_stack_stops_with_every_frame_so_far_kept(tmp_path):
    """Stands in for a GRBL rail board whose limit switch trips on the 12th move."""
    responder = GrblResponder(travel_mm=(-50.0, 50.0), alarm_on_move=12)
    bench = SimulatedBench(BenchConfig(magnification=1.0, capture_width_px=200, frame_rate_hz=None,
                                       live_view_size_px=(160, 106)))
    bench.open()
    _FollowsGrbl(bench, responder)
    stage = _grbl_rail(responder)
    try:
        optics, sensor_width_mm = optics_of(bench)
        positions = [50 * i for i in range(30)]
        shot = shoot_closed_loop(bench, rail_mover(stage, 20.0), positions, tmp_path / "stack", optics=optics,
                                 sensor_width_mm=sensor_width_mm)
        # Three moves bring the rail to the first frame (back past it by the guard, which the
        # backlash makes two, then up); move 12 is the one to frame 10: nine frames are shot.
        assert len(shot.files) == 9
        assert shot.stopped is not None and "alarm 1: a limit switch was hit" in shot.stopped
        manifest = json.loads((tmp_path / "stack" / "stack.json").read_text())
        assert manifest["stopped"] == shot.stopped
        listed = [name for s in manifest["slices"] for name in s["files"]]
        assert listed == [p.name for p in shot.all_files] and all(p.exists() for p in shot.all_files)
        assert responder.unlocks == 0  # $X is the user's to send
    finally:
        stage.close()
        responder.close()
        bench.close()


def test_a_half_made_step_is_never_recorded_as_moved(tmp_path):
    """The rail makes half of one move and reports all of it. The step's reading shows it
    short; where it is read only from parts sharpest in one frame (too loose to move the
    rail again on: whole steps read from a third to twice the plan so) it is recorded as
    "cannot tell" with the measured shift — never as moved as planned."""
    bench = _bench()
    rail = SimRail(bench)
    try:
        optics, sensor_width_mm = optics_of(bench)
        bench.set_live_view_zoom(5.0)
        every = frame_step_steps(optics, 1.0, 0.3)
        positions = plan_slices(0, 5 * every, every)

        def half(index, count, files) -> None:
            if index == 2:
                rail.loss.lose_next(0.5)

        shot = shoot_closed_loop(bench, rail_mover(rail, 40.0), positions, tmp_path / "stack", optics=optics,
                                 sensor_width_mm=sensor_width_mm, progress=half)
        step = json.loads((tmp_path / "stack" / "stack.json").read_text())["slices"][3]
        assert step["step"] != "moved as planned"
        assert step["retakes"] > 0 or (step["measured_shift_um"] is not None and step["measured_shift_um"] < 0.6 * every)
        if step["step"] == "cannot tell":  # the command's summary says so, and what to do, after the steps
            assert "could not be told from live view (to frame 4" in check_lines(shot)[-1]
        coverage, _ = check_shot(shot, optics, sensor_width_mm)
        assert coverage.gaps == [] and coverage.not_moved == []
    finally:
        bench.close()
