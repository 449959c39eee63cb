"""Focus-drive calibration from live view, on the simulated bench (the only part that can
say how far its drive really moves focus: a real body's drive is measured the same way,
through its live view).

What a user relies on: the step (µm of focus shift at the subject) and the backlash come
out within 10 % of the truth at three magnifications; the lens is left at the feature's
best focus; the record lands in the user's calibration file in the documented format and
`stack-plan --calibration` reads it; bad situations get one sentence.
"""

from __future__ import annotations

import pytest

from focuslock.cli import main
from focuslock.core.resources import read_toml
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_scene import SceneSpec
from focuslock.workflows.calibrate import calibrate_focus_steps
from focuslock.workflows.calibration_record import save_record
from focuslock.workflows.drive_sweep import CalibrationError


def _bench(magnification: float, step_um: float, backlash_steps: int) -> tuple[SimulatedBench, tuple]:
    # The target square to the camera: the star lies at one depth.
    config = BenchConfig(magnification=magnification, focus_step_um=step_um, backlash_steps=backlash_steps,
                         frame_rate_hz=None, scene=SceneSpec(tilt_deg=0.0)).aimed_at("star")
    bench = SimulatedBench(config)
    bench.open()
    roi = bench.landmark_roi_px("star")
    bench.drive_focus(int(round(bench.best_focus_position_steps(roi))))
    return bench, roi


@pytest.mark.parametrize("magnification", [1.0, 3.0])
def test_step_and_backlash_come_out_within_a_tenth_of_the_truth(magnification):
    step_um, backlash = 5.0, 12
    bench, roi = _bench(magnification, step_um, backlash)
    try:
        best = bench.best_focus_position_steps(roi)
        result = calibrate_focus_steps(bench, roi)
        assert result.step_um == pytest.approx(step_um, rel=0.10)
        assert result.backlash_steps == pytest.approx(backlash, rel=0.10)
        # Left at best focus, approached from below: the glass within a tenth of the
        # depth of field of where the feature is sharpest.
        dof_steps = result.coc_px / result.blur_px_per_step * 2.0
        glass_steps = bench.position_for_distance(bench.focus_distance_mm)
        assert abs(glass_steps - best) < 0.1 * dof_steps, (glass_steps, best, dof_steps)
    finally:
        bench.close()


def test_a_box_deeper_than_the_depth_of_field_is_calibrated_by_its_parts():
    # The bench as it stands (the coin's face tilted 35°) at 2×, f/5.6: a box over the
    # top of the numeral 1.3 mm deep, five depths of field. Read whole, its sharpest
    # detail walks across it as focus moves and the step came out 27 % too large (a
    # stack planned from it leaves gaps); read by parts, each spans a fifth as much.
    config = BenchConfig(magnification=2.0, focus_step_um=20.0, backlash_steps=5, frame_rate_hz=None).aimed_at("coin-numeral")
    bench = SimulatedBench(config)
    bench.open()
    try:
        roi = (400, 250, 220, 110)
        depth = bench.truth_depth_map_mm()[250:360, 400:620]
        assert depth.max() - depth.min() > 1.2
        best = int(round(bench.best_focus_position_steps(roi)))
        bench.drive_focus(best - 40)
        bench.drive_focus(40)
        result = calibrate_focus_steps(bench, roi)
        assert result.step_um == pytest.approx(20.0, rel=0.10)
        assert result.backlash_steps == pytest.approx(5.0, abs=1.0)
    finally:
        bench.close()


def test_the_command_saves_a_record_that_stack_plan_reads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(tmp_path / "config"))
    assert main(["calibrate", "focus-steps", "--lens-name", "bench 100 mm", "--drive-setting", "fine"]) == 0
    out = capsys.readouterr().out
    assert "one drive step moves focus by" in out
    path = tmp_path / "config" / "calibration" / "focus-drive.toml"
    records = read_toml(path)["focus_drive"]
    assert len(records) == 1
    record = records[0]
    assert record["camera"] == "Simulated macro bench" and record["lens"] == "bench 100 mm"
    # The default bench moves focus 25 µm a step.
    assert record["step_um"] == pytest.approx(25.0, rel=0.10)
    # Measured again (the record the command writes, with another figure): replaced,
    # not repeated; another lens adds one.
    save_record(path, {**record, "step_um": 26.0})
    save_record(path, {"camera": "Simulated macro bench", "lens": "other", "drive_setting": "", "step_um": 3.0})
    records = read_toml(path)["focus_drive"]
    assert [(r["lens"], r["step_um"]) for r in records] == [("bench 100 mm", 26.0), ("other", 3.0)]
    assert main(["stack-plan", "--calibration", str(path), "--focal-length", "100",
                 "--f-number", "5.6", "--sensor", "full-frame", "--magnification", "0.5", "--depth", "5"]) == 0
    assert "at 26 µm a step" in capsys.readouterr().out


def test_a_source_without_a_focus_drive_or_a_broken_record_file_gets_one_sentence(tmp_path, capsys):
    from tests.camera.test_contract import write_folder

    folder = write_folder(tmp_path / "frames", 3)
    assert main(["calibrate", "focus-steps", "--source", f"folder:{folder}", "--roi", "10,10,40,40", "--dry-run"]) != 0
    assert "cannot drive focus" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[[focus_drive]\ncamera = ")
    with pytest.raises(CalibrationError, match="broken.toml"):
        save_record(broken, {"camera": "x", "lens": "y", "drive_setting": "", "step_um": 1.0})
    assert broken.read_text() == "[[focus_drive]\ncamera = "  # left as it was
