from __future__ import annotations

import csv
import subprocess
import sys

import cv2

from focuslock.cli import main
from focuslock.headless import CSV_COLUMNS
from tests.camera.test_contract import write_folder


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_headless_demo_writes_a_playable_mp4_and_a_csv(tmp_path, capsys):
    code = main(["demo", "--headless", "--seconds", "1.5", "--out", str(tmp_path), "--size", "320x212", "--fps", "20"])
    assert code == 0
    rows = _rows(tmp_path / "demo.csv")
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) >= 10
    sequences = [int(r["sequence"]) for r in rows]
    assert sequences == sorted(sequences)
    assert all(r["camera_state"] == "live" for r in rows)
    # The demo racks focus: the motor position changes over the run.
    assert len({r["focus_position_steps"] for r in rows}) > 3
    video = cv2.VideoCapture(str(tmp_path / "demo.mp4"))
    assert video.isOpened()
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == len(rows)
    ok, image = video.read()
    assert ok and image.shape[:2] == (212, 320)
    assert "demo.mp4" in capsys.readouterr().out


def test_demo_without_headless_says_the_window_comes_later(capsys):
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "later" in err and "--headless" in err


def test_live_on_a_folder_records_each_image(tmp_path):
    folder = write_folder(tmp_path / "stack", frames=5)
    code = main(["live", "--source", f"folder:{folder}", "--headless", "--seconds", "5", "--out", str(tmp_path / "out")])
    assert code == 0
    rows = _rows(tmp_path / "out" / "live.csv")
    assert [r["sequence"] for r in rows][-1] == "4"


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
