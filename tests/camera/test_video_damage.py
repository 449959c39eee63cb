"""Damaged video files are read straight through with true frame numbers: never a loop,
never a repeated frame, the lost stretch named. Real files: H.264 from focuslock's own
recorder and MPEG-4 Part 2 from OpenCV, each with a stretch of its bytes overwritten."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.cli import main
from focuslock.devices.base import CorruptFrameError, EndOfStream
from focuslock.devices.video import VideoCamera
from focuslock.io.recording import VideoRecorder

FRAMES = 90
BAR_STEP_PX = 3


def _picture(index: int) -> np.ndarray:
    """Frame ``index`` carries its own number: a white bar at x = 3·index."""
    image = np.full((120, 320, 3), 30, np.uint8)
    image[:, BAR_STEP_PX * index : BAR_STEP_PX * index + 2] = 255
    return image


def _number_in(rgb: np.ndarray) -> int:
    column = rgb[:, :, 1].astype(np.float32).mean(axis=0)
    return int(round(float(np.argmax(column)) / BAR_STEP_PX))


def _write(path: Path, codec: str) -> Path:
    if codec == "h264":
        recorder = VideoRecorder(path, 30)
        for index in range(FRAMES):
            recorder.write(_picture(index))
        recorder.close()
    else:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (320, 120))
        for index in range(FRAMES):
            writer.write(cv2.cvtColor(_picture(index), cv2.COLOR_RGB2BGR))
        writer.release()
    return path


def _damage(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    start, length = int(len(data) * 0.4), int(len(data) * 0.15)
    data[start : start + length] = np.random.default_rng(5).integers(0, 256, length, dtype=np.uint8).tobytes()
    damaged = path.with_name(path.stem + "-damaged.mp4")
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.fixture(params=["h264", "mp4v"])
def damaged_video(request, tmp_path) -> Path:
    return _damage(_write(tmp_path / f"take-{request.param}.mp4", request.param))


def test_live_playback_goes_straight_through_a_damaged_file_and_ends(damaged_video):
    camera = VideoCamera(damaged_video, paced=False)
    camera.open()
    numbers, errors = [], []
    try:
        for _ in range(FRAMES * 3):  # bounded: a loop would never reach EndOfStream
            try:
                frame = camera.read_frame()
            except CorruptFrameError as error:
                errors.append(error.user_message)
                continue
            except EndOfStream:
                break
            else:
                assert _number_in(frame.image) == frame.metadata["frame_index"]
                numbers.append(frame.metadata["frame_index"])
        else:
            raise AssertionError("the damaged file never ended")
    finally:
        camera.close()
    assert numbers == sorted(set(numbers))  # no frame twice, none out of order
    assert numbers[0] == 0 and len(numbers) < FRAMES
    assert errors and all("could not be" in e or "damaged" in e for e in errors)


def test_analyze_numbers_every_frame_truly_and_names_the_lost_ones(damaged_video):
    from focuslock.workflows.analyze import analyze
    from focuslock.workflows.take_input import iter_input

    frames, _ = iter_input(str(damaged_video))
    seen = []
    for item in frames:
        if item.rgb is not None:
            assert _number_in(item.rgb) == item.index  # the picture is the frame it says
        seen.append(item.index)
    assert seen == sorted(set(seen))
    report = analyze(str(damaged_video), (20, 20, 200, 80), lock_frame=0, track=False)
    assert [record.index for record in report.frames] == seen
    lost = [record for record in report.frames if record.error]
    assert lost and all(record.reading is None for record in lost)
    assert all("could not be" in r.error or "damaged" in r.error for r in lost)


def test_a_video_declaring_a_huge_frame_is_refused_before_decoding(tmp_path, capsys):
    # A raw YUV4MPEG2 file: 60 bytes that declare 20000×12000 pixels a frame.
    path = tmp_path / "huge.y4m"
    path.write_bytes(b"YUV4MPEG2 W20000 H12000 F1:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(64))
    code = main(["analyze", str(path), "--roi", "10,10,50,50"])
    err = capsys.readouterr().err
    assert code == 1 and "declares 20000×12000 pixels" in err and "Traceback" not in err
    assert err.count("\n") == 1
