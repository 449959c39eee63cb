"""``stack-shoot`` on the simulated bench (its drive and captures are real parts of focuslock;
a body's live view and drive are driven the same way) and through libgphoto2's virtual
camera (its capture path is real; it has no focus drive, so the drive there is counted
by the test — the one thing faked, said here).

What a macro shooter relies on: frames a depth of field × (1 − overlap) apart from the
optics and the calibration, the drive always moving the same way, every frame captured
in order and listed; stopping or a failure between slices keeps every file; a full disk
mid-stack says so in one sentence with the saved frames intact.
"""

from __future__ import annotations

import json

import cv2
import pytest

from focuslock.cli import main
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.demo import demo_feature
from focuslock.simulators.sim import SimulatedBench
from focuslock.workflows.stack_shoot import frame_step_steps, optics_of, plan_slices, shoot_stack
from tests.small_disk import SmallDisk, python_argv


class _LoggedBench(SimulatedBench):
    """The bench, noting each drive command and where the glass was at each capture."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.moves: list[int] = []
        self.glass_at_capture: list[float] = []

    def drive_focus(self, steps: int) -> int:
        self.moves.append(int(steps))
        return super().drive_focus(steps)

    def capture(self, folder):
        self.glass_at_capture.append(self.position_for_distance(self.focus_distance_mm))
        return super().capture(folder)


def _bench(**overrides) -> _LoggedBench:
    config = BenchConfig(magnification=2.0, capture_width_px=400, frame_rate_hz=None, **overrides)
    bench = _LoggedBench(config.aimed_at(demo_feature(config)))
    bench.open()
    return bench


def test_a_stack_is_planned_from_the_optics_and_shot_in_order_from_one_side(tmp_path):
    bench = _bench(focus_step_um=25.0, backlash_steps=4)
    try:
        optics, _ = optics_of(bench)
        every = frame_step_steps(optics, 25.0, 0.3)
        # One depth of field × 0.7 in 25 µm steps (2×, f/5.6: about 0.24 mm).
        assert every == int(optics.planning_dof_mm() * 1000 * 0.7 // 25)
        positions = plan_slices(30, 30, every)
        assert positions[0] == -30 and positions[-1] == 30
        assert all(0 < b - a <= every for a, b in zip(positions, positions[1:]))
        start_glass = bench.position_for_distance(bench.focus_distance_mm)
        shot = shoot_stack(bench, positions, tmp_path / "stack")
        assert shot.stopped is None
        assert [len(files) for files in shot.files] == [1] * len(positions)
        assert [p.name for p in shot.all_files] == sorted(p.name for p in shot.all_files)
        # After the first move (past the near end, to take up the backlash), every move
        # is upwards, so the glass sits exactly at each planned position (the 4 steps of
        # backlash taken out once).
        assert all(step > 0 for step in bench.moves[1:])
        offsets = [glass - start_glass for glass in bench.glass_at_capture]
        assert offsets == pytest.approx([p - 4 for p in positions], abs=1e-6)
        manifest = json.loads((tmp_path / "stack" / "stack.json").read_text())
        assert [s["position_steps"] for s in manifest["slices"]] == positions
        assert all(cv2.imread(str(p)) is not None for p in shot.all_files)
    finally:
        bench.close()


def test_stopping_between_slices_keeps_every_frame_shot(tmp_path):
    bench = _bench()
    try:
        shot = shoot_stack(bench, plan_slices(20, 20, 5), tmp_path / "stack",
                           should_stop=lambda: len(bench.glass_at_capture) >= 3)
    finally:
        bench.close()
    assert shot.stopped == "stopped by the user"
    assert len(shot.all_files) == 3 and all(cv2.imread(str(p)) is not None for p in shot.all_files)
    assert json.loads((tmp_path / "stack" / "stack.json").read_text())["stopped"] == "stopped by the user"


def test_a_paused_stack_waits_with_the_drive_still_and_then_finishes(tmp_path):
    bench = _bench()
    moves_seen_while_paused = []

    def paused() -> bool:
        # Paused after the second frame for five looks, then resumed.
        if len(bench.glass_at_capture) == 2 and len(moves_seen_while_paused) < 5:
            moves_seen_while_paused.append(len(bench.moves))
            return True
        return False

    try:
        positions = plan_slices(10, 10, 5)
        shot = shoot_stack(bench, positions, tmp_path / "stack", should_pause=paused)
    finally:
        bench.close()
    assert len(moves_seen_while_paused) == 5 and len(set(moves_seen_while_paused)) == 1  # nothing moved
    assert shot.stopped is None and len(shot.all_files) == len(positions)


def test_the_command_shoots_and_checks_the_stack(tmp_path, capsys):
    out = tmp_path / "stack"
    assert main(["stack-shoot", "--magnification", "2", "--capture-width-px", "400", "--near-steps", "24",
                 "--far-steps", "24", "--step-um", "25", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["files"]) == report["planned_slices"] >= 5
    assert report["check"]["frames"] == [p.split("/")[-1] for p in report["files"]]
    # Without a calibration there is no plan: one sentence pointing at the measurement.
    assert main(["stack-shoot", "--near-steps", "5", "--far-steps", "5", "--calibration", str(tmp_path / "none.toml"),
                 "--out", str(tmp_path / "other")]) != 0
    assert "calibrate focus-steps" in capsys.readouterr().err


def test_a_second_stack_into_the_same_folder_goes_into_a_new_one_and_the_first_stays_whole(tmp_path, capsys):
    out = tmp_path / "stack"
    argv = ["stack-shoot", "--magnification", "2", "--capture-width-px", "400", "--near-steps", "12",
            "--far-steps", "12", "--step-um", "25", "--out", str(out)]
    assert main(argv + ["--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    first_folder = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert f"this stack goes into {tmp_path / 'stack-2'}" in said
    # The first stack is untouched: the same files, its manifest still its own.
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first_folder
    manifest = json.loads((out / "stack.json").read_text())
    assert [name for slice_ in manifest["slices"] for name in slice_["files"]] == [p.split("/")[-1] for p in first["files"]]
    second = sorted(p.name for p in (tmp_path / "stack-2").iterdir())
    assert "stack.json" in second and len(second) == len(first["files"]) + 1


def test_a_full_disk_mid_stack_keeps_the_frames_saved(tmp_path):
    disk = SmallDisk(tmp_path / "disk", size_kb=120)
    script = f"""
import json, sys, io, contextlib, cv2
from focuslock.cli import main
out = io.StringIO(); err = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = main(["stack-shoot", "--magnification", "2", "--capture-width-px", "400", "--near-steps", "40",
                 "--far-steps", "40", "--step-um", "25", "--out", {str(disk.folder)!r}, "--json"])
report = json.loads(out.getvalue())
print(json.dumps({{"code": code, "files": report["files"], "stopped": report["stopped"],
                  "whole": [cv2.imread(p) is not None for p in report["files"]], "planned": report["planned_slices"]}}))
"""
    result = disk.run(python_argv("-c", script))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 1
    assert 0 < len(outcome["files"]) < outcome["planned"]
    assert all(outcome["whole"])
    assert outcome["stopped"] and "\n" not in outcome["stopped"]


def test_the_capture_path_runs_on_libgphoto2s_virtual_camera(tmp_path):
    import gc

    pytest.importorskip("gphoto2")
    from focuslock.devices.gphoto import GPhotoCamera
    from tests.conftest import VIRTUAL_CAMERA_JPEG

    class CountedDrive:
        """The virtual camera with a drive that only counts (it has none: faked here)."""

        def __init__(self, camera) -> None:
            self.camera, self.moves = camera, []

        def drive_focus(self, steps: int) -> int:
            self.moves.append(steps)
            return steps

        def capture(self, folder):
            return self.camera.capture(folder)

    gc.collect()
    camera = GPhotoCamera(download_folder=tmp_path / "announced")
    camera.open()
    try:
        wrapped = CountedDrive(camera)
        shot = shoot_stack(wrapped, plan_slices(6, 6, 4), tmp_path / "stack")
    finally:
        camera.close()
        gc.collect()
    assert shot.stopped is None and len(shot.files) == 4
    names = [p.name for p in shot.all_files]
    assert len(set(names)) == len(names)  # never two files with one name
    assert all(p.read_bytes() == VIRTUAL_CAMERA_JPEG.read_bytes() for p in shot.all_files)
    assert sum(wrapped.moves) == 6 and all(step > 0 for step in wrapped.moves[1:])
