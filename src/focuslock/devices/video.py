"""Video files (through :mod:`.video_file`) and UVC/HDMI capture cards (through OpenCV's
VideoCapture)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from focuslock.core.frames import Frame
from focuslock.devices.base import (
    CameraDisconnectedError,
    CameraError,
    CameraNotFoundError,
    Capabilities,
    CorruptFrameError,
    EndOfStream,
)
from focuslock.devices.body_report import BodyFacts, SourceKind
from focuslock.devices.playback import FramePacer, PlaybackCamera
from focuslock.io.video_file import DecodedFrame, VideoFileReader

__all__ = ["VideoCamera"]

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

    def __init__(self, target: str | int | os.PathLike[str], paced: bool = True, loop: bool = False) -> None:
        super().__init__()
        self.is_device = isinstance(target, int) or (isinstance(target, str) and target.isdigit())
        self.target: str | int = str(target) if isinstance(target, os.PathLike) or not self.is_device else int(target)
        self.loop = loop
        self._paced = paced and not self.is_device
        self._capture: cv2.VideoCapture | None = None
        self._reader: VideoFileReader | None = None
        self._frames: Iterator[DecodedFrame] | None = None
        self._delivered_any = False
        self._pacer = FramePacer(None)
        self._sequence = 0
        self.frame_rate_hz: float | None = None
        self.frame_count: int | None = None
        self.name = f"Capture device {self.target}" if self.is_device else f"Video file {Path(str(target)).name}"

    def body_facts(self) -> BodyFacts:
        """What this source is, for focuslock.devices.body_report (it cannot drive focus)."""
        return BodyFacts(SourceKind.CAPTURE_CARD if self.is_device else SourceKind.VIDEO_FILE)

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
        if self._capture is not None or self._reader is not None:
            return
        if not self.is_device:
            self._open_file()
            return
        capture = cv2.VideoCapture(self.target)
        if not capture.isOpened():
            capture.release()
            raise CameraNotFoundError(
                f"No capture device answers at index {self.target}; check the cable and that no other program uses it."
            )
        self._capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.frame_rate_hz = float(fps) if fps and 0 < fps < 1000 else None
        self.frame_count = None
        self._pacer = FramePacer(None)

    def _open_file(self) -> None:
        # Files through the one video-file reader (numbered from timestamps, straight
        # through damage); capture devices stay with OpenCV's VideoCapture (V4L2).
        self._reader = VideoFileReader(str(self.target), pixel_format="rgb24")
        self._frames = self._reader.frames()
        self.frame_rate_hz = self._reader.frame_rate_hz
        self.frame_count = self._reader.frame_count
        self._pacer = FramePacer(self.frame_rate_hz if self._paced else None)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        if self._reader is not None:
            self._reader.close()
            self._reader, self._frames = None, None

    def read_frame(self) -> Frame:
        if self._capture is None and self._reader is None:
            raise CameraError(f"{self.name} is not open.")
        self._pacer.wait()
        if self._reader is not None:
            return self._read_file_frame()
        assert self._capture is not None  # a device, when not a file
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            raise CameraDisconnectedError(f"{self.name} stopped sending frames; check the cable and the HDMI source.")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB if bgr.ndim == 2 else cv2.COLOR_BGR2RGB)
        return self._deliver(rgb, {"frame_index": self._sequence, "source_kind": "device"}, source=None)

    def _read_file_frame(self) -> Frame:
        assert self._frames is not None  # opened with the reader
        item = next(self._frames, None)
        if item is None:
            if self.loop and self._delivered_any:
                self.close()
                self._open_file()
                item = next(self._frames, None)
            if item is None:
                raise EndOfStream(f"{self.name} has ended.")
        if item.image is None:
            self._sequence += 1
            raise CorruptFrameError(item.error or f"A frame of {self.name} could not be decoded and was skipped.")
        metadata = {"frame_index": item.index, "source_kind": "video", "video_time_s": item.time_s}
        return self._deliver(item.image, metadata, source=str(self.target))

    def _deliver(self, rgb: np.ndarray, metadata: dict[str, Any], source: str | None) -> Frame:
        frame = Frame(sequence=self._sequence, timestamp_s=time.monotonic(), image=rgb, metadata=metadata, source=source)
        self._sequence += 1
        self._delivered_any = True
        return self._remember(frame)
