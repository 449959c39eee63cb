"""Turntable spins on the simulated bench (it stands in for a body's live view and a
turntable's motor, which no test machine has): the subject off-centre on the table, so
the feature travels across the frame and in and out of focus as it turns. At every
angle the feature must be found, refocused when it is not sharp, judged SHARP (or the
angle says why not) and captured under a name that carries the angle."""

from __future__ import annotations

import json
import sqlite3

import pytest

from focuslock.cli import main
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_stage import SimTurntable
from focuslock.workflows.spin import spin
from focuslock.workflows.stack_shoot import optics_of
from focuslock.workflows.stages import SpinSession

# The engraved "F" on the coin's rim, seen at 2× with live view zoomed 5×.
ROI = (120, 75, 75, 75)


def _bench() -> SimulatedBench:
    config = BenchConfig(magnification=2.0, capture_width_px=300, frame_rate_hz=None, live_view_size_px=(320, 212),
                         motion_margin_px=80).aimed_at("coin-letters")
    bench = SimulatedBench(config)
    bench.open()
    bench.set_live_view_zoom(5.0)
    best = bench.best_focus_position_steps(ROI)  # the user focuses on the feature before the spin
    bench.drive_focus(int(round(best)) - bench.focus_position_steps - 40)
    bench.drive_focus(40)
    return bench


def test_a_24_angle_spin_finds_refocuses_and_sharpens_the_feature_at_every_angle(tmp_path):
    bench = _bench()
    table = SimTurntable(bench, radius_mm=0.85, settle_frames=2)
    try:
        optics, _ = optics_of(bench)
        result = spin(bench, table, ROI, 24, tmp_path / "spin", optics=optics)
        assert result.stopped is None and len(result.angles) == 24
        assert [a.angle_deg for a in result.angles] == pytest.approx([15.0 * i for i in range(24)])
        assert all(a.found for a in result.angles)
        assert [a.verdict for a in result.angles] == ["sharp"] * 24, [(a.angle_deg, a.verdict, a.reason) for a in result.angles]
        # The feature left its first box and was found where it went (0.85 mm off the axis: ±76 px).
        xs = [a.box_px[0] for a in result.angles]
        assert max(xs) - ROI[0] > ROI[2] and ROI[0] - min(xs) > ROI[2] * 0.9
        # The table carried the feature up to 1.7 mm away: most angles needed the lens to follow.
        assert sum(a.refocused for a in result.angles) >= 12
        names = [a.files[0].name for a in result.angles]
        assert names[0] == "spin_001_000.0deg.jpg" and names[7] == "spin_008_105.0deg.jpg"
        assert all(f.exists() for a in result.angles for f in a.files)
    finally:
        bench.close()


def test_an_angle_whose_feature_is_gone_says_so_and_the_spin_goes_on(tmp_path):
    bench = _bench()
    table = SimTurntable(bench, radius_mm=0.85)
    try:
        optics, _ = optics_of(bench)
        table.loss.lose_next(0.0)  # nothing; then the table is knocked: the second turn goes 90° too far
        original = table.move

        def knocked(amount, speed=None):
            if table.position() == 15.0:
                return original(amount + 90.0, speed)
            return original(amount, speed)

        table.move = knocked  # type: ignore[method-assign]
        result = spin(bench, table, ROI, 4, tmp_path / "spin", optics=optics)
        assert len(result.angles) == 4
        assert all(a.verdict in ("sharp", "not found") or a.reason for a in result.angles)
        assert all(a.reason for a in result.angles if a.verdict != "sharp")
    finally:
        bench.close()


def test_spin_with_a_session_logs_every_angle_through_the_capture_session(tmp_path):
    """The session's own log (capture --session's path) records each angle's shot and verdict."""
    bench = _bench()
    table = SimTurntable(bench, radius_mm=0.3)
    try:
        optics, _ = optics_of(bench)
        log = SpinSession(tmp_path / "session", ROI, bench.read_frame(), 300)
        try:
            result = spin(bench, table, ROI, 4, tmp_path / "spin", optics=optics, take=log.take)
        finally:
            log.close()
        assert [a.verdict for a in result.angles] == ["sharp"] * 4
        assert len(log.results) == 4
        # The session's own judge, on the 300 px files, says each verdict with its reason.
        assert all(r["verdict"] == "pass" or r["reason"] for r in log.results)
        assert all("drift" != r["verdict"] for r in log.results)  # a turntable moves the feature by design
        # Named by the angle (the session's pattern, the angle as its code), judged by the session.
        assert "spin_002_090_0deg" in result.angles[1].files[0].name and result.angles[1].files[0].exists()
        assert [r["sku"] for r in log.results] == [f"spin_{i + 1:03d}_{90 * i:05.1f}deg" for i in range(4)]
        database = next(p for p in (tmp_path / "session").iterdir() if p.suffix in (".db", ".sqlite", ".sqlite3"))
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT COUNT(*) FROM shots").fetchone()[0] == 4
    finally:
        bench.close()


def test_the_spin_command_on_the_bench_writes_its_record(tmp_path, capsys):
    code = main(["spin", "--turntable", "sim-turntable", "--steps", "4", "--source", "sim", "--magnification", "0.5",
                 "--capture-width-px", "300", "--radius-mm", "0.85", "--roi", "auto", "--out", str(tmp_path / "spin"),
                 "--json"])
    record = json.loads(capsys.readouterr().out)
    assert record["steps"] == 4 and len(record["angles"]) == 4
    assert (tmp_path / "spin" / "spin.json").exists()
    assert code == (0 if record["sharp"] == 4 else 1)
    assert all(a["verdict"] == "sharp" or a.get("reason") for a in record["angles"])
