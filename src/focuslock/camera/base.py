"""The Camera protocol every source implements, and the errors a user may meet.

Every source (the simulated bench, a tethered body through libgphoto2, a capture card
or video file, a folder of images) offers the same small surface; what a source cannot
do it declares in :class:`Capabilities` and refuses with :class:`NotSupportedError`.

A camera object has ONE owner: the live session's acquisition thread. Nothing else
calls it while a session runs (libgphoto2 allows one caller at a time).

Every error carries ``user_message``: one sentence that says what happened and what to
do, shown as it is in the window, the status bar and on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from focuslock.frames import Frame

__all__ = [
    "Camera",
    "CameraBusyError",
    "CameraDisconnectedError",
    "CameraError",
    "CameraNotFoundError",
    "Capabilities",
    "CorruptFrameError",
    "DiskError",
    "EndOfStream",
    "NoLiveViewError",
    "NotSupportedError",
    "Setting",
    "SettingValueError",
    "StorageFullError",
]


class CameraError(Exception):
    """Base of every camera failure. ``str(error)`` is the one-sentence user message."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        # Files of the failed operation that were saved, complete and verified, before
        # it failed (a capture's RAW before its JPEG failed): they must still be listed.
        self.saved_paths: list[Path] = []


class CameraNotFoundError(CameraError):
    """No camera or source matched (nothing connected, wrong port, missing file)."""


class CameraBusyError(CameraError):
    """The camera is busy (another program, or an operation still running); try again."""


class CameraDisconnectedError(CameraError):
    """The camera vanished (cable pulled, body asleep, I/O error); reconnecting may help."""


class NotSupportedError(CameraError):
    """This source cannot do what was asked (focus drive on a video file, ...)."""


class NoLiveViewError(NotSupportedError):
    """The source has no live view to read, and nothing was asked to stand in for it:
    no frame will come (the session ends its frames instead of asking again)."""


class SettingValueError(CameraError):
    """A setting was given a value the source does not accept."""


class StorageFullError(CameraError):
    """The card or the camera's memory is full; earlier files are intact."""


class DiskError(CameraError):
    """The computer could not save a file (disk full, folder not writable, read-back
    mismatch); the file stays on the camera and every earlier file is intact."""


class CorruptFrameError(CameraError):
    """One frame could not be decoded; the source goes on with the next one."""

    @property
    def reason(self) -> str:
        """The sentence without what a sequence does about it ("; it was skipped"), for a
        caller that reads one picture (a reference) and stops."""
        return self.user_message.removesuffix("; it was skipped.").rstrip(".") + "."


class EndOfStream(CameraError):
    """A finite source (video file, image folder) has no more frames."""


@dataclass(frozen=True)
class Setting:
    """One camera setting as the user sees it.

    ``value`` is the current value as text, exactly as the source spells it (``"5.6"``,
    ``"1/125"``, ``"400"``); ``choices`` lists the accepted values when the source gives
    a list; ``read_only`` settings are shown but cannot be set.
    """

    name: str
    label: str
    value: str
    choices: tuple[str, ...] = ()
    read_only: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What a source can do; the window and the commands offer only these."""

    live_view: bool = True
    focus_drive: bool = False
    capture: bool = False
    settings: tuple[str, ...] = ()
    # A finite source (file, folder) ends; a camera does not.
    finite: bool = False
    # Nominal live-view rate, when the source knows it.
    frame_rate_hz: float | None = None
    # The live-view zooms the body offers (empty: none from the computer); a camera that
    # offers them has ``set_live_view_zoom(zoom, centre_px)`` (focuslock.camera.zoom).
    live_view_zooms: tuple[float, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class Camera(Protocol):
    """A source of live frames that may also drive focus, capture and change settings."""

    #: Short human name ("Simulated macro bench", "Nikon DSC D750 on usb:001,004").
    name: str

    def open(self) -> None:
        """Connect and start live view. Raises :class:`CameraError`."""

    def close(self) -> None:
        """Stop live view and release the device. Safe to call twice."""

    @property
    def capabilities(self) -> Capabilities: ...

    def read_frame(self) -> Frame:
        """Block until the next live frame and return it.

        Paced sources (the bench, a file played "live") wait for their frame time.
        Raises :class:`EndOfStream` at the end of a finite source,
        :class:`CorruptFrameError` for one bad frame (the next call goes on), other
        :class:`CameraError` subclasses for failures of the source.
        """

    def drive_focus(self, steps: int) -> int:
        """Move focus by ``steps`` (negative = nearer, positive = farther).

        Returns the steps the source reports as moved (fewer at an end stop).
        """

    def capture(self, folder: Path) -> list[Path]:
        """Take a picture and download every resulting file into ``folder``.

        Returns the paths written, each complete on disk before it is listed.
        """

    def get_settings(self) -> dict[str, Setting]:
        """Every user-facing setting, by name."""

    def set_setting(self, name: str, value: str) -> None:
        """Change one setting. Raises :class:`SettingValueError` for a refused value."""
