"""Named marks on the simulated bench: set a mark where the feature is sharp, wander the
drive about, go back — best focus found again from the picture, within one drive step
(the bench is the only part that knows where its glass really is; a real body's drive is
driven the same way).
"""

from __future__ import annotations

import random

import pytest

from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_scene import SceneSpec
from focuslock.workflows.marks import MarkError, go_to_mark, take_mark


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
        # Live view zoomed since: the mark's box is in other pixels.
        bench.set_live_view_zoom(5.0)
        with pytest.raises(MarkError, match="zoom live view to 1×"):
            go_to_mark(bench, mark, int(round(best)))
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


def test_a_mark_kept_on_disk_is_read_back_and_still_finds_best_focus(tmp_path):
    from focuslock.workflows.marks import MarkStore

    bench, roi, best = _bench(0.5, 25.0, 2)
    try:
        counter = int(round(best))
        store = MarkStore(tmp_path / "marks")
        store.save(take_mark(bench, "label edge", roi, counter))
        store.set_drive_position(bench.name, counter)
        # Another session: only the files are left.
        again = MarkStore(tmp_path / "marks")
        assert again.names() == ["label edge"] and again.drive_position(bench.name) == counter
        mark = again.load("label edge")
        assert mark.roi_px == tuple(roi) and mark.position_steps == counter
        for steps in (90, -40, 130):
            counter += bench.drive_focus(steps)
        go_to_mark(bench, mark, counter)
        assert abs(_glass_steps(bench) - best) <= 1.0
    finally:
        bench.close()
    # A damaged file, an unknown name, a name that is not one: one sentence each.
    (tmp_path / "marks" / "mark-label_edge.npz").write_bytes(b"not a mark")
    with pytest.raises(MarkError, match="damaged"):
        again.load("label edge")
    with pytest.raises(MarkError, match="no mark 'C'.*label edge"):
        again.load("C")
    from focuslock.workflows.marks import check_mark_name

    for bad in ("", "../x", "a/b", "x" * 41, ".hidden"):
        with pytest.raises(MarkError, match="name"):
            check_mark_name(bad)
    again.delete("label edge")
    assert again.names() == [] and not (tmp_path / "marks" / "mark-label_edge.npz").exists()


def test_the_mark_commands_set_marks_and_stack_shoot_runs_between_them(tmp_path, capsys):
    """The commands one after another, as a user types them: each opens the bench afresh
    and the drive's count (and the bench's lens) carry on from where the last one left
    them. Near mark on the top of the numeral, far mark on the letters above it."""
    import json

    from focuslock.cli import main

    marks = ["--marks", str(tmp_path / "marks")]
    common = ["--magnification", "2", *marks]

    def run(*argv, bench: bool = True) -> dict:
        assert main([*argv, *(common if bench else marks), "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    assert run("mark", "drive", "--steps", "-81")["drive_position_steps"] == -81
    assert run("mark", "set", "A", "--roi", "400,270,220,70")["position_steps"] == -81
    run("mark", "drive", "--steps", "123")
    assert run("mark", "set", "B", "--roi", "480,25,240,80")["position_steps"] == 42
    run("mark", "drive", "--steps", "-200")
    listed = run("mark", "list", bench=False)["marks"]
    assert {name: entry["position_steps"] for name, entry in listed.items()} == {"A": -81, "B": 42}
    report = run("stack-shoot", "--from-mark", "B", "--to-mark", "A", "--step-um", "25", "--capture-width-px", "400",
                 "--no-check", "--out", str(tmp_path / "stack"))
    # From A's best focus (found again: within a few steps of where it was set) up to B.
    positions = [s["position_steps"] for s in report["slices"]]
    assert positions[0] == 0 and 118 <= positions[-1] <= 128
    assert len(report["files"]) == report["planned_slices"] == len(positions)
    # The stack ended at B: the drive's count says so for the next command.
    assert 40 <= run("mark", "drive", "--steps", "0")["drive_position_steps"] <= 44
    # Bad requests: one sentence.
    assert main(["stack-shoot", "--from-mark", "A", "--step-um", "25", *common]) != 0
    assert "together" in capsys.readouterr().err
    assert main(["mark", "go", "Z", *common]) != 0
    assert "no mark 'Z'" in capsys.readouterr().err
