from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from focuslock.devices.base import CameraNotFoundError, EndOfStream
from focuslock.devices.video import VideoCamera
from tests.camera.test_contract import _textured, write_video


def test_frames_match_what_was_recorded(tmp_path):
    path = write_video(tmp_path / "take.avi", frames=5)
    camera = VideoCamera(path, paced=False)
    camera.open()
    recorded = [cv2.cvtColor(_textured(i), cv2.COLOR_BGR2RGB).astype(np.int16) for i in range(5)]
    for index in range(5):
        frame = camera.read_frame()
        # MJPG is lossy: the right frame differs by a few levels, a wrong one by dozens.
        differences = [np.abs(frame.image.astype(np.int16) - expected).mean() for expected in recorded]
        assert int(np.argmin(differences)) == index
        assert differences[index] < 12
        assert frame.metadata["frame_index"] == index
        assert frame.source == str(path)
    with pytest.raises(EndOfStream):
        camera.read_frame()
    camera.close()


def test_a_looping_file_starts_again(tmp_path):
    camera = VideoCamera(write_video(tmp_path / "take.avi", frames=3), paced=False, loop=True)
    camera.open()
    indices = [camera.read_frame().metadata["frame_index"] for _ in range(7)]
    camera.close()
    assert indices == [0, 1, 2, 0, 1, 2, 0]
    assert not camera.capabilities.finite


def test_paced_playback_is_no_faster_than_the_file_rate(tmp_path):
    camera = VideoCamera(write_video(tmp_path / "take.avi", frames=8, fps=50.0), paced=True)
    camera.open()
    started = time.monotonic()
    for _ in range(6):
        camera.read_frame()
    camera.close()
    assert time.monotonic() - started >= 5 / 50.0 * 0.9


def test_missing_file_is_one_clear_sentence(tmp_path):
    with pytest.raises(CameraNotFoundError, match="does not exist"):
        VideoCamera(tmp_path / "nope.mp4").open()
    # A folder given as the video is not "missing": said so, with the source it may mean.
    with pytest.raises(CameraNotFoundError, match="is a folder, not a video file \\(a folder of pictures: folder:"):
        VideoCamera(tmp_path).open()


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_bytes(b"this is not a video at all" * 50)
    with pytest.raises(CameraNotFoundError, match="not a video file"):
        VideoCamera(junk).open()


def test_a_capture_device_that_is_absent_is_reported():
    with pytest.raises(CameraNotFoundError, match="No capture device"):
        VideoCamera(97).open()
