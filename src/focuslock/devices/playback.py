"""What every source without a lens to drive shares: frame pacing and frame grabs.

Video files, capture cards and image folders deliver frames but cannot drive focus or
change exposure. Their "capture" is a frame grab: the last frame, saved losslessly as
PNG into the capture folder (what a focus puller on an HDMI feed expects).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.frames import Frame
from focuslock.devices.base import (
    CameraError,
    NotSupportedError,
    Setting,
    SettingValueError,
)
from focuslock.io.files import save_capture

__all__ = ["FramePacer", "PlaybackCamera", "encode_png"]


class FramePacer:
    """Sleeps so that frames come out at ``rate_hz``, like a camera's live view.

    A late frame (a slow decode) is made up by the next one coming sooner, so that the
    rate holds on average; a caller more than two frames behind does not burst to catch
    up: the schedule restarts from now (a real live view drops frames, never speeds up).
    """

    def __init__(self, rate_hz: float | None) -> None:
        if rate_hz is not None and rate_hz <= 0:
            raise ValueError(f"A frame rate must be positive, got {rate_hz}.")
        self.interval_s = None if rate_hz is None else 1.0 / rate_hz
        self._next_s: float | None = None

    def wait(self) -> None:
        if self.interval_s is None:
            return
        now = time.monotonic()
        if self._next_s is None or now - self._next_s > 2 * self.interval_s:
            self._next_s = now
        elif now < self._next_s:
            time.sleep(self._next_s - now)
        self._next_s += self.interval_s


def encode_png(rgb: np.ndarray) -> bytes:
    """An RGB frame as the bytes of a PNG file."""
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CameraError("The frame could not be encoded as PNG.")
    return buffer.tobytes()


class PlaybackCamera:
    """Base for sources that only deliver frames (video, capture card, folder)."""

    name = "playback"

    def __init__(self) -> None:
        self._last_frame: Frame | None = None

    def _remember(self, frame: Frame) -> Frame:
        self._last_frame = frame
        return frame

    def drive_focus(self, steps: int) -> int:
        raise NotSupportedError(f"{self.name} cannot drive focus; use a tethered camera or the simulated bench.")

    def capture(self, folder: Path, name: Callable[[str], str] | None = None) -> list[Path]:
        if self._last_frame is None:
            raise CameraError("There is no frame to save yet; wait for live view to start.")
        frame = self._last_frame
        grab = f"grab_{frame.sequence:06d}.png"
        return [save_capture(Path(folder), name(grab) if name is not None else grab, encode_png(frame.image))]

    def get_settings(self) -> dict[str, Setting]:
        return {}

    def set_setting(self, name: str, value: str) -> None:
        raise SettingValueError(f"{self.name} has no setting called {name!r}.")
