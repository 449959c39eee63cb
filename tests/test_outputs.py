"""Outputs never replace what the user has, and recordings survive kills, signals, a full
disk and a change of frame size. Real files, real H.264 read back by OpenCV, real
processes and signals, a real full disk (tests/small_disk.py)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.cli import main
from focuslock.io.recording import RecordingFull, VideoRecorder
from tests.small_disk import SmallDisk, python_argv

ROI = "210,190,60,50"


def _frames_in(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture
def stack(tmp_path, focus_stacks):
    """The real PCB stack as a photographer's PNG export, frame_001.png, ... (half size)."""
    folder = tmp_path / "stack"
    folder.mkdir()
    for number, source in enumerate(sorted((focus_stacks / "pcb").iterdir()), start=1):
        image = cv2.resize(cv2.imread(str(source)), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"frame_{number:03d}.png"), image)
    return folder


def _digests(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------ analyze outputs
def test_a_csv_whose_plot_would_replace_an_input_photo_is_refused(stack, capsys):
    before = _digests(stack)
    first = sorted(stack.iterdir())[0]
    code = main(["analyze", str(stack), "--roi", ROI, "--csv", str(first.with_suffix(".csv"))])
    err = capsys.readouterr().err
    assert code == 1
    assert "is one of the input files; it would be destroyed" in err and err.count("\n") == 1
    assert _digests(stack) == before  # not a byte of the take changed, nothing added


def test_an_overlay_video_named_like_the_input_is_refused_even_with_force(tmp_path, capsys):
    video = tmp_path / "take.mp4"
    recorder = VideoRecorder(video, 10)
    rng = np.random.default_rng(1)
    for _ in range(12):
        recorder.write(cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (0, 0), 1.0))
    recorder.close()
    before = video.read_bytes()
    code = main(["analyze", str(video), "--roi", "100,80,60,50", "--overlay-video", str(video), "--force"])
    assert code == 1
    assert "is one of the input files" in capsys.readouterr().err
    assert video.read_bytes() == before


def test_an_existing_output_is_kept_unless_forced(stack, tmp_path, capsys):
    csv_path = tmp_path / "out" / "take.csv"
    csv_path.parent.mkdir()
    csv_path.write_text("my own notes\n")
    assert main(["analyze", str(stack), "--roi", ROI, "--csv", str(csv_path)]) == 1
    assert "exists (--csv); choose another name, or add --force" in capsys.readouterr().err
    assert csv_path.read_text() == "my own notes\n"
    assert main(["analyze", str(stack), "--roi", ROI, "--csv", str(csv_path), "--force"]) == 0
    assert csv_path.read_text().startswith("index,file,")
    assert csv_path.with_suffix(".png").stat().st_size > 0
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["take.csv", "take.png"]  # no temporary left


def test_an_unwritable_csv_is_one_sentence(stack, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["analyze", str(stack), "--roi", ROI, "--csv", str(blocker / "take.csv")]) == 1
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err and err.count("\n") == 1


def test_the_overlay_video_is_h264_at_the_stacks_pace(stack, tmp_path):
    out = tmp_path / "overlay.mp4"
    assert main(["analyze", str(stack), "--roi", ROI, "--overlay-video", str(out)]) == 0
    capture = cv2.VideoCapture(str(out))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    frames = _frames_in(out)
    assert fourcc.lower() in ("avc1", "h264")
    assert frames == len(list(stack.iterdir()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overlay.mp4", "stack"]


# ------------------------------------------------------------------ the recorder
def test_a_new_frame_size_goes_on_in_a_second_file_and_says_so(tmp_path):
    recorder = VideoRecorder(tmp_path / "rec.mp4", 30)
    rng = np.random.default_rng(2)
    for size in [(240, 321)] * 20 + [(180, 250)] * 15:  # odd sizes too
        recorder.write(rng.integers(0, 255, (*size, 3), dtype=np.uint8))
    files = recorder.close()
    assert [p.name for p in files] == ["rec.mp4", "rec-part2.mp4"]
    assert [_frames_in(p) for p in files] == [20, 15]
    assert recorder.notes == ["The frame size changed from 321×240 to 250×180 at frame 20; the recording goes on in rec-part2.mp4."]


def test_a_size_cap_stops_the_recording_with_a_sentence_and_it_plays(tmp_path):
    recorder = VideoRecorder(tmp_path / "capped.mp4", 30, max_bytes=200_000)
    rng = np.random.default_rng(3)
    with pytest.raises(RecordingFull, match="reached its cap of 0 MB"):
        for _ in range(2000):
            recorder.write(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    recorder.close()
    size = (tmp_path / "capped.mp4").stat().st_size
    assert 200_000 < size < 200_000 + 30 * 240 * 320 * 3  # at most a check interval over
    assert _frames_in(tmp_path / "capped.mp4") == recorder.frames_written


# ------------------------------------------------------------------ headless runs
def test_a_second_headless_run_into_one_folder_keeps_the_first(tmp_path, capsys):
    args = ["demo", "--headless", "--seconds", "1", "--out", str(tmp_path), "--size", "320x212", "--fps", "15"]
    assert main(args) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-2.csv", "demo-2.mp4", "demo.csv", "demo.mp4"]
    assert {name: (tmp_path / name).read_bytes() for name in first} == first
    assert "wrote " + str(tmp_path / "demo-2.mp4") in capsys.readouterr().out


def _start_headless(tmp_path: Path, seconds: float = 60.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "focuslock", "demo", "--headless", "--seconds", str(seconds), "--out", str(tmp_path),
         "--size", "320x212", "--fps", "15"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(csv_path: Path, rows: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if csv_path.exists() and csv_path.read_text().count("\n") > rows:
            return
        time.sleep(0.1)
    raise AssertionError(f"the run wrote fewer than {rows} rows: {process.communicate()}")


def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_a_signal_ends_the_headless_run_cleanly(tmp_path, how):
    process = _start_headless(tmp_path)
    _wait_for_rows(tmp_path / "demo.csv", 30, process)
    process.send_signal(getattr(signal, how))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"Stopped by {how}" in err and "Traceback" not in err
    rows = _csv_rows(tmp_path / "demo.csv")
    assert len(rows) >= 30 and all(row["state"] is not None for row in rows)  # every row whole
    assert _frames_in(tmp_path / "demo.mp4") >= 30


def test_a_killed_headless_run_keeps_a_playable_video_and_whole_rows(tmp_path):
    process = _start_headless(tmp_path)
    _wait_for_rows(tmp_path / "demo.csv", 45, process)
    process.kill()
    process.communicate(timeout=30)
    rows = _csv_rows(tmp_path / "demo.csv")
    assert len(rows) >= 45
    assert all(len(row) == len(rows[0]) and None not in row.values() for row in rows[:-1])
    # Fragments of one second: at most the last second (15 frames) and the frames still in
    # the pipe are lost.
    assert _frames_in(tmp_path / "demo.mp4") >= len(rows) - 20


def test_a_full_disk_stops_the_headless_run_with_one_sentence_keeping_what_was_written(tmp_path):
    disk = SmallDisk(tmp_path / "disk", size_kb=400)
    out = disk.folder
    script = f"""
import contextlib, io, json, sys, csv
import cv2
from focuslock.cli import main
err = io.StringIO()
with contextlib.redirect_stderr(err):
    code = main(["demo", "--headless", "--seconds", "60", "--out", {str(out)!r}, "--size", "640x424", "--fps", "30"])
capture = cv2.VideoCapture({str(out / "demo.mp4")!r}); frames = 0
while capture.read()[0]:
    frames += 1
rows = list(csv.reader(open({str(out / "demo.csv")!r})))
print(json.dumps({{"code": code, "err": err.getvalue(), "frames": frames, "rows": len(rows)}}))
"""
    result = disk.run(python_argv("-c", script), timeout_s=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 1
    assert "Traceback" not in report["err"] and "Traceback" not in result.stderr
    if disk.kind == "tmpfs":
        assert "The disk is full" in report["err"]
    assert report["frames"] >= 10 and report["rows"] >= 10


def test_a_run_folder_is_new_or_empty_and_racing_runs_get_one_each(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from focuslock.io.outputs import OutputError, claim_run_folder

    empty = tmp_path / "empty"
    empty.mkdir()
    assert claim_run_folder(empty) == empty  # an empty folder made beforehand is the user's choice
    (empty / "IMG_0001.JPG").write_bytes(b"x")
    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(claim_run_folder, [empty] * 8))
    assert sorted(p.name for p in claimed) == sorted(f"empty-{n}" for n in range(2, 10))
    assert [p.name for p in empty.iterdir()] == ["IMG_0001.JPG"]
    (tmp_path / "a-file").write_bytes(b"x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        claim_run_folder(tmp_path / "a-file" / "stack")
