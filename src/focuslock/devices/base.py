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

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from focuslock.core.errors import (
    CameraBusyError,
    CameraDisconnectedError,
    CameraError,
    CameraNotFoundError,
    CorruptFrameError,
    DiskError,
    EndOfStream,
    NoLiveViewError,
    NotSupportedError,
    SettingValueError,
    StorageFullError,
)
from focuslock.core.frames import Frame

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
    # offers them has ``set_live_view_zoom(zoom, centre_px)`` (focuslock.devices.zoom).
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

    def capture(self, folder: Path, name: Callable[[str], str] | None = None) -> list[Path]:
        """Take a picture and download every resulting file into ``folder``.

        ``name``: each file's name from the one the camera gave it (None: the camera's),
        so that a file is saved once under its final name. Returns the paths written, each
        complete on disk before it is listed.
        """

    def get_settings(self) -> dict[str, Setting]:
        """Every user-facing setting, by name."""

    def set_setting(self, name: str, value: str) -> None:
        """Change one setting. Raises :class:`SettingValueError` for a refused value."""
