"""Video files and UVC/HDMI capture cards through OpenCV's VideoCapture."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2

from focuslock.camera.base import (
    Capabilities,
    CameraDisconnectedError,
    CameraError,
    CameraNotFoundError,
    CorruptFrameError,
    EndOfStream,
)
from focuslock.camera.playback import FramePacer, PlaybackCamera
from focuslock.frames import Frame

__all__ = ["VideoCamera"]

# A file whose frames keep failing to decode is treated as ended after this many in a
# row, so that a truncated file cannot spin forever.
_MAX_CONSECUTIVE_BAD_FRAMES = 25


class VideoCamera(PlaybackCamera):
    """Frames from a video file or from a capture device given by its index.

    Parameters
    ----------
    target:
        A path to a video file, or an integer device index (``0`` = first UVC device).
    paced:
        Deliver a file's frames at its own frame rate, as live view would. ``None``
        means paced for files played live; a capture device paces itself.
    loop:
        Start a file again from the beginning at its end instead of ending.
    """

    def __init__(self, target: str | int | os.PathLike, paced: bool = True, loop: bool = False) -> None:
        super().__init__()
        self.is_device = isinstance(target, int) or (isinstance(target, str) and target.isdigit())
        self.target: str | int = int(target) if self.is_device else str(target)
        self.loop = loop
        self._paced = paced and not self.is_device
        self._capture: cv2.VideoCapture | None = None
        self._pacer = FramePacer(None)
        self._sequence = 0
        self._bad_in_a_row = 0
        self.frame_rate_hz: float | None = None
        self.frame_count: int | None = None
        self.name = f"Capture device {self.target}" if self.is_device else f"Video file {Path(str(target)).name}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            live_view=True,
            focus_drive=False,
            capture=True,
            finite=not self.is_device and not self.loop,
            frame_rate_hz=self.frame_rate_hz,
            notes=("Capture saves the current frame as PNG.",),
        )

    def open(self) -> None:
        if self._capture is not None:
            return
        if not self.is_device and not Path(str(self.target)).is_file():
            raise CameraNotFoundError(f"The video file {self.target} does not exist.")
        capture = cv2.VideoCapture(self.target)
        if not capture.isOpened():
            capture.release()
            if self.is_device:
                raise CameraNotFoundError(
                    f"No capture device answers at index {self.target}; check the cable and that no other program uses it."
                )
            raise CameraNotFoundError(f"{self.target} is not a video file OpenCV can read.")
        self._capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.frame_rate_hz = float(fps) if fps and 0 < fps < 1000 else None
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 and not self.is_device else None
        self._pacer = FramePacer(self.frame_rate_hz if self._paced else None)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def read_frame(self) -> Frame:
        if self._capture is None:
            raise CameraError(f"{self.name} is not open.")
        self._pacer.wait()
        capture = self._capture
        index = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
        ok, bgr = capture.read()
        # After a read, the position is the timestamp of the frame just read.
        position_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        if not ok or bgr is None:
            if self.is_device:
                raise CameraDisconnectedError(f"{self.name} stopped sending frames; check the cable and the HDMI source.")
            return self._handle_failed_read(index)
        self._bad_in_a_row = 0
        if bgr.ndim == 2:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        else:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        metadata = {"frame_index": index, "source_kind": "device" if self.is_device else "video"}
        if not self.is_device:
            metadata["video_time_s"] = (position_ms / 1000.0) if position_ms >= 0 else None
        frame = Frame(
            sequence=self._sequence,
            timestamp_s=time.monotonic(),
            image=rgb,
            metadata=metadata,
            source=None if self.is_device else str(self.target),
        )
        self._sequence += 1
        return self._remember(frame)

    def _handle_failed_read(self, index: int) -> Frame:
        capture = self._capture
        assert capture is not None
        at_end = self.frame_count is None or index >= self.frame_count - 1
        if at_end or self._bad_in_a_row >= _MAX_CONSECUTIVE_BAD_FRAMES:
            if self.loop and self._sequence > 0:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._bad_in_a_row = 0
                return self.read_frame()
            raise EndOfStream(f"{self.name} has ended.")
        # A frame in the middle failed to decode: report it and move past it.
        self._bad_in_a_row += 1
        capture.set(cv2.CAP_PROP_POS_FRAMES, index + 1)
        self._sequence += 1
        raise CorruptFrameError(f"Frame {index} of {self.name} could not be decoded and was skipped.")
