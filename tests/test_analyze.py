"""focuslock analyze on real photographs (the shared focus stacks) and on real videos."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from focuslock.cli import main
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_scene import SceneSpec
from focuslock.workflows.analyze import analyze
from focuslock.workflows.take_outputs import write_csv

# Regions of the real stacks and the frame where each is visibly sharpest (checked by
# eye on crops of every frame; see docs/DESIGN-NOTES.md).
PCB_REGIONS = {
    "socket shell (front)": ((420, 1000, 420, 100), 0),  # pcb_001
    "SMD capacitor": ((440, 800, 150, 80), 3),  # pcb_004
    "barcode (back)": ((500, 60, 900, 200), 6),  # pcb_007
}
SWITCH_REGIONS = {
    "switch body corner": ((600, 500, 320, 240), 4),  # pcb_004.JPG
    "solder pad edge": ((440, 320, 200, 200), 3),  # pcb_003.JPG
}


@pytest.mark.parametrize("name", list(PCB_REGIONS))
def test_analyze_finds_each_pcb_region_sharpest_where_it_is_sharp(name, focus_stacks):
    roi, sharpest = PCB_REGIONS[name]
    report = analyze(str(focus_stacks / "pcb"), roi, lock_best=True)
    assert report.best_frame == sharpest
    assert report.frames[sharpest].state == "sharp"
    # Re-found by the tracker, the lock frame reads its own reference within a tenth of
    # the CoC (2 px): near zero blur the through-focus curve is flat, so the noise of a
    # view one pixel off shows as a tenth of a pixel or so.
    assert report.frames[sharpest].blur_px == pytest.approx(0.0, abs=0.2)


@pytest.mark.parametrize("name", list(SWITCH_REGIONS))
def test_analyze_finds_each_switch_region_sharpest_where_it_is_sharp(name, focus_stacks):
    roi, sharpest = SWITCH_REGIONS[name]
    report = analyze(str(focus_stacks / "switch" / "*.JPG"), roi, lock_best=True)
    assert report.best_frame == sharpest


def test_analyze_json_follows_the_documented_shape(focus_stacks, capsys):
    assert main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input"] == str(focus_stacks / "pcb")
    # A stack is judged against its sharpest frame by default (frame 0 is its softest).
    assert report["lock_frame"] == 3 and report["best_frame"] == 3
    assert len(report["frames"]) == 7
    first = report["frames"][0]
    assert set(first) >= {"index", "source", "file", "time_s", "blur_px", "blur_sd_px", "coc_share", "state", "roi"}
    assert first["file"] == "pcb_001.jpg" and first["state"] == "soft"
    assert report["frames"][3]["blur_px"] == pytest.approx(0.0, abs=0.2)
    assert all(f["state"] in ("sharp", "softening", "soft", "uncertain", "lost") for f in report["frames"])
    # Tracking follows the capacitor as focus breathing moves it down the frame.
    assert report["frames"][6]["roi"][1] > report["frames"][0]["roi"][1] + 5


def test_lock_frame_makes_that_frame_the_reference(focus_stacks):
    report = analyze(str(focus_stacks / "pcb"), (440, 800, 150, 80), lock_frame=3)
    assert report.lock_frame == 3
    assert report.frames[3].blur_px == pytest.approx(0.0, abs=1e-6)
    assert report.frames[0].state == "soft"  # pcb_001 is focused on the front


def test_csv_and_plot_are_written(tmp_path, focus_stacks):
    report = analyze(str(focus_stacks / "pcb"), (440, 800, 150, 80), lock_best=True)
    write_csv(report, tmp_path / "out" / "pcb.csv")
    lines = (tmp_path / "out" / "pcb.csv").read_text().splitlines()
    assert lines[0].startswith("index,file,time_s,blur_px,blur_sd_px,blur_um,coc_share,defocus_um,state,reason")
    assert len(lines) == 8
    plot = cv2.imread(str(tmp_path / "out" / "pcb.png"))
    assert plot is not None and plot.shape[1] >= 800 and plot.std() > 10


def _sweep_video(path, frames: int = 21, step_um: float = 1000.0):
    """A focus sweep on the bench, written as a real MJPG video: the focus motor moves
    one 1 mm step per frame through the coin's numeral (at f/2.8 the depth of field
    within which blur stays under a live-view pixel is about 1.2 mm, so a step is
    under half of it, as in a focus stack)."""
    bench = SimulatedBench(BenchConfig(frame_rate_hz=None, focus_step_um=step_um, f_number=2.8, exposure_s=1 / 250,
                                       backlash_steps=0, scene=SceneSpec(tilt_deg=3.0)))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    true_best = bench.best_focus_position_steps(roi)
    start = int(round(true_best)) - frames // 2 + 2  # the peak off-centre, on purpose
    bench.drive_focus(start)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (1024, 680))
    for _ in range(frames):
        writer.write(cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2BGR))
        bench.drive_focus(1)
    writer.release()
    return roi, true_best - start


def test_best_frame_of_a_sweep_is_within_one_step_of_true_focus(tmp_path):
    roi, true_best_index = _sweep_video(tmp_path / "sweep.avi")
    report = analyze(str(tmp_path / "sweep.avi"), roi, lock_best=True)
    assert abs(report.best_frame - true_best_index) <= 1, (report.best_frame, true_best_index)
    assert report.frames[0].time_s == 0.0 and report.frames[1].time_s == pytest.approx(0.1)


def test_a_corrupt_frame_in_a_sequence_is_reported_marked_and_skipped(tmp_path, focus_stacks, capsys):
    for path in sorted((focus_stacks / "pcb").iterdir()):
        if path.suffix == ".jpg":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "pcb_003.jpg").write_bytes(b"\xff\xd8\xff truncated by a pulled card")
    assert main(["analyze", str(tmp_path), "--roi", "440,800,150,80", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    bad = report["frames"][2]
    assert bad["sharpness"] is None and bad["state"] == "lost" and "pcb_003.jpg" in bad["error"]
    assert report["frames"][3]["sharpness"] is not None
    assert "pcb_003.jpg arrived cut short (a JPEG without its end marker); it was skipped." in captured.err


def test_unreadable_input_exits_non_zero_with_one_sentence(tmp_path):
    junk = tmp_path / "take.mp4"
    junk.write_bytes(b"not a video" * 100)
    for target, message in ((junk, "is not a video file that can be read."), (tmp_path / "nothing", "does not exist.")):
        result = subprocess.run([sys.executable, "-m", "focuslock", "analyze", str(target), "--roi", "1,1,10,10"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert result.stderr.strip().endswith(message) and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr


def test_a_box_outside_the_frames_is_refused(focus_stacks):
    from focuslock.core.box import BoxError

    with pytest.raises(BoxError, match="not inside the 2048×1536 frames"):
        analyze(str(focus_stacks / "pcb"), (2000, 1500, 100, 100))


def test_no_track_measures_the_same_box_and_overlay_video_is_written(tmp_path, focus_stacks):
    report = analyze(str(focus_stacks / "pcb"), (440, 800, 150, 80), track=False, overlay_video=tmp_path / "o.mp4")
    assert {r.roi_px for r in report.frames} == {(440.0, 800.0, 150.0, 80.0)}
    video = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 7
    ok, first = video.read()
    assert ok and first.shape[:2] == (1536, 2048)


def test_measure_choice_is_used(focus_stacks):
    report = analyze(str(focus_stacks / "pcb"), (440, 800, 150, 80), measure="TENG", lock_best=True)
    assert report.measure == "TENG" and report.frames[3].reading.measure == "TENG"
    assert report.best_frame == 3
    assert np.isfinite([r.reading.score for r in report.frames]).all()


def test_the_coc_comes_from_the_body_and_blurs_are_given_in_microns(focus_stacks, capsys):
    # The stack's frames are 2048 px wide; a full-frame body's CoC (28.8 µm) over
    # 36 mm / 2048 px = 17.6 µm per pixel is 1.64 px.
    assert main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--camera", "Canon EOS R5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["coc_px"] == pytest.approx(28.844 / (36000 / 2048), abs=0.001)
    assert report["coc_um"] == pytest.approx(28.844, abs=0.001)
    for frame in report["frames"]:
        if frame["blur_px"] is not None:
            assert frame["blur_um"] == pytest.approx(frame["blur_px"] * 36000 / 2048, abs=0.01)
            if frame["blur_px"] >= 0:
                assert frame["coc_share"] == pytest.approx(frame["blur_px"] / report["coc_px"], abs=1e-3)
            else:  # sharper than the lock frame: no share of the depth of field
                assert frame["coc_share"] is None
    # --coc-um with a sensor width gives the same pixels as the body with its own CoC.
    assert main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--coc-um", "28.844",
                 "--sensor-width-mm", "36", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coc_px"] == pytest.approx(report["coc_px"], abs=1e-3)


def test_a_coc_in_microns_without_a_sensor_is_one_sentence(focus_stacks, capsys):
    assert main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--coc-um", "20"]) == 1
    assert capsys.readouterr().err.strip() == ("focuslock: --coc-um needs the sensor: add --camera NAME (see the catalog) "
                                                "or --sensor-width-mm MM.")
    assert main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--coc-px", "2", "--camera", "Canon EOS R5"]) == 1
    assert "not both" in capsys.readouterr().err


def test_a_coc_no_lock_can_use_is_one_sentence_before_the_run(focus_stacks, capsys):
    """A CoC over 200 px of the take (given, or from the optics) was a traceback from the
    lock's settings in analyze, and an error on every frame in live."""
    with pytest.raises(SystemExit):
        main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--coc-px", "300"])
    assert "--coc-px: a circle of confusion of 300 px is not plausible; give at most 200." in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["live", "--headless", "--seconds", "1", "--coc-px", "300"])
    assert "give at most 200" in capsys.readouterr().err
    assert main(["analyze", str(focus_stacks / "pcb"), "--roi", "440,800,150,80", "--sensor-width-mm", "1",
                 "--coc-um", "900"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("focuslock: The CoC comes out at") and "check --coc-um and the sensor." in err
    assert "Traceback" not in err and err.count("\n") == 1


def _take_of_real_photographs(path, pan_px_per_frame: int, frames: int = 40, best: int = 24):
    """A take (MPEG-4) of the real photographs in tests/data: the camera drifts or pans
    by ``pan_px_per_frame`` while focus racks through the switch's screw head, sharpest
    at frame ``best``. Returns the screw head's box in frame 0."""
    from focuslock.testing.synthetic import degrade
    from tests.focus.test_verdict_truth import DATA

    tiles = [cv2.cvtColor(cv2.imread(str(DATA / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
             for name in ("text_sw1", "barcode", "header_pins", "switch_corner")]
    scene = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])  # 800×600
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (480, 360))
    for index in range(frames):
        x = 200 + (pan_px_per_frame * index if pan_px_per_frame >= 1 else index // 3)
        frame = degrade(scene[200:560, x : x + 480], 0.3 * abs(index - best), 2.0, seed=index)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return 360, 245, 90, 70


@pytest.mark.parametrize("case", ["drifting take", "panning take", "pcb stack with a cut and a small frame"])
def test_lock_best_reads_exactly_as_decoding_the_take_twice(case, tmp_path, focus_stacks, monkeypatch):
    """--lock-best's second pass replays the first pass's crops of each frame instead of
    decoding again; where its tracker reaches beyond them (a pan: the feature 60 px from
    where it was in frame 0 when the lock moves to the sharpest frame) it must notice
    and decode — never read the stale rest of the replay buffer. Every number of the
    report equals the one from decoding the take twice."""
    import focuslock.workflows.take_replay as take_replay
    from focuslock.workflows.take_outputs import report_json

    if case.startswith("pcb stack"):
        for path in sorted((focus_stacks / "pcb").iterdir()):
            (tmp_path / path.name).write_bytes(path.read_bytes())
        (tmp_path / "pcb_002.jpg").write_bytes(b"\xff\xd8\xff cut short")  # reported, replayed as such
        small = cv2.imread(str(tmp_path / "pcb_006.jpg"))
        cv2.imwrite(str(tmp_path / "pcb_006.jpg"), cv2.resize(small, (1024, 768)))
        target, roi, replays = str(tmp_path), (440, 800, 150, 80), True
    else:
        target = str(tmp_path / "take.mp4")
        roi = _take_of_real_photographs(target, 0 if case == "drifting take" else 3)
        replays = case == "drifting take"
    replayed = analyze(target, roi, lock_best=True)
    monkeypatch.setattr(take_replay, "REPLAY_LIMIT_BYTES", 0)  # nothing kept: the take decoded twice
    decoded = analyze(target, roi, lock_best=True)
    assert (replayed.replayed, decoded.replayed) == (replays, False)
    assert report_json(replayed) == report_json(decoded)
    assert decoded.lock_frame not in (None, 0)  # the lock moved to the sharpest frame, away from frame 0
    if case.startswith("pcb stack"):
        assert [bool(frame.error) for frame in replayed.frames] == [False, True, False, False, False, True, False]


def test_lock_best_shows_the_progress_of_both_passes(focus_stacks, capsys):
    """The first pass (which decodes the take) is most of a --lock-best run: it showed
    nothing, and the bar appeared only for the replayed second pass. Library code tells a
    callback and never writes to the terminal; the command line draws the bar."""
    from focuslock.cli.analyze_cmd import _show_progress

    told = []
    analyze(str(focus_stacks / "pcb"), (440, 800, 150, 80), lock_best=True, progress=told.append)
    assert capsys.readouterr().err == ""
    first = [p for p in told if p.label == "analyze, finding the sharpest frame"]
    second = [p for p in told if p.label == "analyze, against the sharpest frame"]
    assert [p.done for p in first] == [1, 2, 3, 4, 5, 6, 7, 7] and first[-1].finished and first[0].total == 7
    assert second and second[-1].finished and not any(p.finished for p in second[:-1])
    for step in told:
        _show_progress(step)
    err = capsys.readouterr().err
    assert "analyze, finding the sharpest frame [" in err and "7/7 frames" in err
    assert "analyze, against the sharpest frame [" in err and err.count("\n") == 2
