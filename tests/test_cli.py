from __future__ import annotations

import csv
import subprocess
import sys

import cv2
import pytest

from focuslock.cli import main
from focuslock.runtime.headless import CSV_COLUMNS
from tests.camera.test_contract import write_folder


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_headless_demo_writes_a_playable_mp4_and_a_csv(tmp_path, capsys):
    code = main(["demo", "--headless", "--seconds", "1.5", "--out", str(tmp_path), "--size", "320x212", "--fps", "20"])
    assert code == 0
    rows = _rows(tmp_path / "demo.csv")
    assert tuple(rows[0]) == CSV_COLUMNS
    # On a loaded machine a frame can be late: the recording then has a row saying the
    # verdict is stale (no sequence, never "LIVE"), the truth rather than a repeat.
    frame_rows = [r for r in rows if r["sequence"]]
    assert all(r["verdict"] != "LIVE" and float(r["frame_age_s"]) > 0 for r in rows if not r["sequence"])
    assert len(frame_rows) >= 3  # how many a 1.5 s run gets depends on the machine's load
    sequences = [int(r["sequence"]) for r in frame_rows]
    assert sequences == sorted(sequences)
    assert all(r["camera_state"] == "live" for r in rows)
    # The demo racks focus: the motor position changes over the run (how many positions
    # a 1.5 s run sees depends on the machine's load; that it moves does not).
    assert len({r["focus_position_steps"] for r in frame_rows}) >= 2
    video = cv2.VideoCapture(str(tmp_path / "demo.mp4"))
    assert video.isOpened()
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == len(rows)
    ok, image = video.read()
    assert ok and image.shape[:2] == (212, 320)
    assert "demo.mp4" in capsys.readouterr().out


def test_demo_opens_the_window_and_saves_a_screenshot(tmp_path):
    import os

    shot = tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "focuslock", "demo", "--size", "512x340", "--screenshot", str(shot),
                             "--quit-after", "3", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[1] >= 800
    assert image.std() > 20  # a window with live view in it, not a blank grab


def test_without_a_display_the_window_says_how_to_run_headless(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "focuslock", "demo", "--out", str(tmp_path)], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == ("focuslock: There is no display here; run with --headless "
                                     "(or under xvfb-run, or with QT_QPA_PLATFORM=offscreen).")


def test_a_screenshot_needs_a_time_to_quit(capsys):
    assert main(["demo", "--screenshot", "x.png"]) == 1
    assert "--quit-after" in capsys.readouterr().err


def test_live_on_a_folder_records_each_image(tmp_path):
    folder = write_folder(tmp_path / "stack", frames=5)
    code = main(["live", "--source", f"folder:{folder}", "--headless", "--seconds", "5", "--out", str(tmp_path / "out")])
    assert code == 0
    rows = _rows(tmp_path / "out" / "live.csv")
    assert [r["sequence"] for r in rows if r["verdict"] == "LIVE"] == ["0", "1", "2", "3", "4"]
    # Once the folder has run out, the recording says so instead of going quiet.
    assert rows[-1]["verdict"] == "ENDED" and rows[-1]["camera_state"] == "ended"


def test_a_bad_source_is_one_sentence_and_a_non_zero_exit(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "focuslock", "live", "--source", f"video:{tmp_path / 'nothing.mp4'}", "--headless"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"focuslock: The video file {tmp_path / 'nothing.mp4'} does not exist."
    assert "Traceback" not in result.stderr


def test_an_unknown_source_kind_names_the_known_ones(capsys):
    assert main(["live", "--source", "webcam", "--headless"]) == 1
    assert "sim | video:" in capsys.readouterr().err


def test_nonsense_bench_values_are_refused(tmp_path, capsys):
    assert main(["demo", "--headless", "--f-number", "0.2", "--out", str(tmp_path)]) == 1
    assert "f-number of 0.2 is not possible" in capsys.readouterr().err


@pytest.mark.parametrize("magnification", [0.1, 2.0, 5.0])  # both ends, and where it once failed
def test_the_demo_keeps_its_feature_in_frame_and_locked_from_0_1_to_5x(tmp_path, magnification):
    out = tmp_path / f"m{magnification}"
    assert main(["demo", "--headless", "--seconds", "4", "--out", str(out), "--size", "512x340", "--fps", "20",
                 "--magnification", str(magnification)]) == 0
    with open(out / "demo.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["roi_x"]]
    assert rows, "the demo never followed its feature"
    for row in rows:
        x, y, w, h = (float(row[k]) for k in ("roi_x", "roi_y", "roi_w", "roi_h"))
        assert x >= 0 and y >= 0 and x + w <= 512 and y + h <= 340, row
    locked = [row["state"] for row in rows if row["state"]]
    assert locked and "lost" not in locked

    capture = cv2.VideoCapture(str(out / "demo.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode().lower() in ("avc1", "h264")
    assert capture.read()[0]


def test_a_missing_qt_x11_library_is_one_sentence_not_an_abort(tmp_path, monkeypatch, capsys):
    """FAKE: the library's absence (it is installed here, and no test may uninstall it):
    the loader's answer for the xcb plugin says libxcb-cursor is not found, as on a minimal
    Debian (tests/ui/test_qt_check.py hides libraries from a real process instead)."""
    from focuslock.ui import qt_check

    monkeypatch.setattr(qt_check, "missing_libraries", lambda files, environ=None: ["libxcb-cursor.so.0"])
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert main(["demo", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == ("focuslock: The window cannot open: Qt's X11 plugin needs the system library libxcb-cursor0; "
                   "install with `sudo apt install libxcb-cursor0` (Debian, Ubuntu), or run with --headless.\n")


def test_a_reader_that_goes_away_gets_no_traceback():
    """`focuslock dof … | head -1`: the pipe closes before the table is written; the
    command stops quietly (as Unix tools do) instead of printing a BrokenPipeError."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before a byte is written
    result = subprocess.run([sys.executable, "-m", "focuslock", "dof", "--focal-length", "100", "--f-number", "8",
                             "--coc", "0.03", "--distance", "1000"], stdout=write_end, stderr=subprocess.PIPE,
                            text=True, timeout=60)
    os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert result.returncode == 1


def test_live_refuses_a_box_outside_the_frames_before_recording(tmp_path, capsys):
    """The frame size is known from the first frame: a box outside it is one sentence at
    once, not a whole recording that ends in "never found"."""
    out = tmp_path / "out"
    code = main(["live", "--source", "sim", "--roi", "2000,2000,50,50", "--lock", "--headless", "--seconds", "30",
                 "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "lies outside the frames of sim, which are" in err and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())
