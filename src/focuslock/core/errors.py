"""The errors a user may meet, with one root: :class:`FocuslockError`.

Every error carries ``user_message``: one sentence that says what happened and what to
do, shown as it is in the window, the status bar and on the command line. Each layer
derives its own family from the root, so a command catches ``FocuslockError`` once and
prints the sentence; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CameraBusyError",
    "CameraDisconnectedError",
    "CameraError",
    "CameraNotFoundError",
    "CorruptFrameError",
    "DiskError",
    "EndOfStream",
    "FocuslockError",
    "NoLiveViewError",
    "NotSupportedError",
    "SettingValueError",
    "StorageFullError",
]


class FocuslockError(Exception):
    """Root of every error focuslock reports to a user; ``user_message`` is its sentence."""

    def __init__(self, user_message: str = "", *args: object) -> None:
        super().__init__(user_message, *args)
        self.user_message = user_message


class CameraError(FocuslockError):
    """Base of every camera failure. ``str(error)`` is the one-sentence user message."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
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
    """The source cannot do what was asked (focus drive on a video file, ...)."""


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
