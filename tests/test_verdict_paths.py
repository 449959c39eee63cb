"""One engine for every path: a headless live session with a lock and `analyze` judge the
same real frames (a photograph defocused by a known disc, with sensor noise, saved as
JPEG at quality 90 as a camera's live view or a tether program delivers them) the same way."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pytest

from focuslock.cli import main
from focuslock.testing.synthetic import degrade

# One worker builds this module's shared fixture once (pytest -n --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_verdict_paths")

TEXT_CROP = Path(__file__).parent / "data" / "focus-stacks" / "text_sw1.jpg"
ROI = (140, 90, 120, 100)
COC_PX = 2.0
STILL_FRAMES = 10
RAMP_FRAMES = 30
RAMP_TO_COC = 2.5


def _ramp_folder(folder: Path) -> list[float]:
    """Still frames of the text crop, then defocused from 0 to 2.5 CoC (disc, known),
    noise sd 2 (new noise every frame), as JPEG files. Returns each frame's true added
    blur in px."""
    rgb = cv2.cvtColor(cv2.imread(str(TEXT_CROP)), cv2.COLOR_BGR2RGB)
    blurs = [0.0] * STILL_FRAMES + [RAMP_TO_COC * COC_PX * (i + 1) / RAMP_FRAMES for i in range(RAMP_FRAMES)]
    for index, blur in enumerate(blurs):
        cv2.imwrite(str(folder / f"frame_{index:03d}.jpg"), cv2.cvtColor(degrade(rgb, blur, 2.0, seed=index), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
    return blurs


@pytest.fixture(scope="module")
def ramp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ramp")
    return folder, _ramp_folder(folder)


def test_headless_live_locks_on_the_feature_and_records_state_blur_and_age(ramp, tmp_path, capsys):
    video, blurs = ramp
    code = main(["live", "--source", f"folder:{video}", "--headless", "--roi", ",".join(map(str, ROI)), "--lock",
                 "--coc-px", str(COC_PX), "--seconds", "20", "--out", str(tmp_path)])
    assert code == 0
    with open(tmp_path / "live.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    judged = [r for r in rows if r["verdict"] == "LIVE" and r["state"]]
    # Locked on the first frame where the feature was found: among the still frames.
    assert int(judged[0]["sequence"]) < STILL_FRAMES and judged[0]["state"] == "sharp"
    assert all(float(r["coc_px"]) == COC_PX and float(r["frame_age_s"]) < 5 for r in judged)
    by_sequence = {int(r["sequence"]): r for r in judged}
    # The true blur: SHARP below ¼ CoC, SOFT beyond 1.4 CoC.
    for sequence, row in by_sequence.items():
        if blurs[sequence] < 0.25 * COC_PX:
            assert row["state"] == "sharp", (sequence, row)
        if blurs[sequence] > 1.4 * COC_PX:
            assert row["state"] == "soft", (sequence, row)
            assert float(row["blur_px"]) > COC_PX
    # When the video has ended the recording says so; the last verdict is never repeated as live.
    assert rows[-1]["verdict"] == "ENDED" and rows[-1]["state"] == "stale"
    assert "last: soft" in rows[-1]["reason"]


def test_live_and_analyze_give_the_same_states_on_the_same_frames(ramp, tmp_path, capsys):
    video, blurs = ramp
    assert main(["live", "--source", f"folder:{video}", "--headless", "--roi", ",".join(map(str, ROI)), "--lock",
                 "--coc-px", str(COC_PX), "--seconds", "20", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "live.csv", newline="") as handle:
        live = {int(r["sequence"]): r["state"] for r in csv.DictReader(handle) if r["verdict"] == "LIVE" and r["state"]}
    capsys.readouterr()
    assert main(["analyze", str(video), "--roi", ",".join(map(str, ROI)), "--coc-px", str(COC_PX), "--json"]) == 0
    analysed = [frame["state"] for frame in json.loads(capsys.readouterr().out)["frames"]]
    assert len(analysed) == len(blurs)
    assert len(live) >= 0.8 * len(blurs)  # a paced source may drop a frame or two
    for sequence, state in live.items():
        nearby = analysed[max(0, sequence - 1) : sequence + 2]
        assert state in nearby, f"frame {sequence}: live says {state}, analyze says {nearby}"


def test_lock_without_a_box_is_one_sentence(capsys):
    assert main(["live", "--source", "sim", "--headless", "--lock"]) == 1
    assert capsys.readouterr().err.strip() == "focuslock: --lock needs the feature's box: add --roi X,Y,W,H."


def test_analyze_gives_each_frames_depth_from_the_plane_of_focus(ramp, capsys):
    """With the sensor, the aperture and the magnification, `analyze` turns each blur into
    µm of defocus at the subject: the known disc's depth (½ DoF per CoC of blur), within
    a fifth, from half the CoC on. A sensor 3.6 mm wide over these 400 px: 9 µm a pixel,
    so a CoC of 18 µm is the 2 px used above."""
    from focuslock.optics.dof import depth_of_field

    folder, blurs = ramp
    # Locked on the ramp's first frame, whose blur the truth counts from (a folder would
    # otherwise lock on its sharpest frame: any of the still ones).
    assert main(["analyze", str(folder), "--roi", ",".join(map(str, ROI)), "--sensor-width-mm", "3.6", "--coc-um", "18",
                 "--f-number", "8", "--magnification", "1", "--lock-frame", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    dof_mm = depth_of_field(100.0, 8, 0.018, magnification=1.0).total_mm
    assert report["dof_mm"] == pytest.approx(dof_mm, rel=1e-3)
    checked = 0
    for frame, blur in zip(report["frames"], blurs):
        if blur >= 0.5 * COC_PX:
            truth_um = 0.5 * dof_mm * 1000.0 * blur / COC_PX
            assert frame["defocus_um"] == pytest.approx(truth_um, rel=0.2), (frame["file"], blur)
            checked += 1
    assert checked >= 20
    assert main(["analyze", str(folder), "--roi", ",".join(map(str, ROI)), "--sensor-width-mm", "3.6", "--coc-um", "18",
                 "--f-number", "8", "--magnification", "1"]) == 0
    summary = capsys.readouterr().out
    assert f"DoF {dof_mm * 1000:.0f} µm at f/8 and 1×" in summary and "farthest from the lock frame's plane of focus" in summary


@pytest.mark.parametrize("options, message", [
    (["--f-number", "8"], "needs both --f-number and --magnification"),
    (["--f-number", "8", "--magnification", "1"], "needs the sensor too"),
    (["--coc-px", "inf"], "finite number"),
    (["--roi", "inf,0,10,10"], "is not a box"),
])
def test_depth_options_without_what_they_need_are_one_sentence(ramp, capsys, options, message):
    folder, _ = ramp
    args = ["analyze", str(folder), "--roi", ",".join(map(str, ROI)), *options]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse refuses a bad value itself
        code = exit_.code
    assert code in (1, 2)  # 1: our sentence; 2: argparse's
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv, words", [
    (["demo", "--headless", "--fps", "inf"], "argument --fps: inf must be a finite number more than 0"),
    (["demo", "--headless", "--fps", "1e-9"], "is outside 0.1–240"),
    (["demo", "--headless", "--size", "30000x30000"], "is larger than 7680x4320"),
    (["stack-plan", "--focal-length", "100", "--f-number", "8", "--near", "nan", "--depth", "5", "--coc", "0.03"],
     "argument --near: nan is not a finite number"),
    # A sensor's width scales the CoC: 1e300 mm was taken and judged as if plausible.
    (["analyze", "take.mp4", "--roi", "1,1,9,9", "--sensor-width-mm", "1e300"], "is not a camera's"),
    (["watch", "hot", "--roi", "1,1,9,9", "--sensor-width-mm", "0.001"], "is not a camera's"),
])
def test_hostile_options_are_refused_by_the_parser_in_one_sentence(capsys, argv, words):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err


def test_hostile_values_past_the_parser_are_one_sentence(tmp_path, capsys):
    import shutil

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    stack = tmp_path / "stack"
    stack.mkdir()
    for name in ("barcode", "text_sw1"):
        shutil.copy(Path(__file__).parent / "data" / "focus-stacks" / f"{name}.jpg", stack)
    cases = [
        (["demo", "--headless", "--seconds", "1", "--out", str(a_file)], "is a file, not a folder; give --out a folder"),
        (["demo", "--headless", "--seconds", "1", "--out", str(tmp_path), "--magnification", "50"],
         "goes up to 5× magnification"),
        (["stack-plan", "--focal-length", "100", "--f-number", "8", "--near", "500", "--depth", "5", "--coc", "0.03",
          "--calibration", str(tmp_path)], "is a folder, not a TOML file"),
        (["dof", "--focal-length", "1e308", "--f-number", "1", "--distance", "1000", "--coc", "0.03"],
         "is beyond any lens"),
        (["dof", "--focal-length", "100", "--f-number", "8", "--magnification", "1", "--coc", "0.03",
          "--wavelength-nm", "5"], "is not light a camera records"),
        (["dof", "--focal-length", "65", "--f-number", "8", "--magnification", "1000", "--coc", "0.03"],
         "A magnification of 1000× is outside what this model covers"),
        # A disc of 1e300 px was allocated, then refused by OpenCV in its own words.
        (["stack-check", str(stack), "--coc-px", "1e300"],
         "is not plausible; give at most 200; the convention gives 0.3 px for 400×300 frames"),
        # The parser took a 6 px box and the tracker refused it with a traceback (issue 29.6).
        (["analyze", str(stack), "--roi", "10,10,6,6", "--lock-frame", "1"],
         "The feature box 10,10,6×6 is too small to follow: choose one at least 8×8 pixels."),
        (["analyze", str(stack), "--roi", "390,290,40,40", "--lock-frame", "1"],
         "The feature box 390,290,40×40 is not inside the 400×300 frames."),
    ]
    for argv, words in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and err.count("\n") == 1, (argv, err)
