"""libgphoto2's error codes, and each as the :class:`CameraError` a user can act on."""

from __future__ import annotations

from focuslock.devices.base import (
    CameraBusyError,
    CameraDisconnectedError,
    CameraError,
    NotSupportedError,
    StorageFullError,
)

__all__ = ["DISCONNECT_CODES", "FREE_COMMAND", "GP_ERROR_CAMERA_BUSY", "error_code", "translate"]

# libgphoto2 error codes (gphoto2/gphoto2-result.h, gphoto2-port-result.h).
GP_ERROR = -1
GP_ERROR_BAD_PARAMETERS = -2
GP_ERROR_NO_MEMORY = -3
GP_ERROR_NOT_SUPPORTED = -6
GP_ERROR_IO = -7
GP_ERROR_TIMEOUT = -10
GP_ERROR_IO_USB_FIND = -52
GP_ERROR_IO_USB_CLAIM = -53
GP_ERROR_MODEL_NOT_FOUND = -105
GP_ERROR_CAMERA_BUSY = -110
GP_ERROR_NO_SPACE = -115
GP_ERROR_CAMERA_ERROR = -113
DISCONNECT_CODES = {GP_ERROR_IO, -8, -11, -34, -35, -36, -37, -51, GP_ERROR_IO_USB_FIND, GP_ERROR_MODEL_NOT_FOUND}

FREE_COMMAND = "gio mount -s gphoto2"


def error_code(error: Exception) -> int | None:
    """The libgphoto2 error code an exception carries (None: not a libgphoto2 error)."""
    return getattr(error, "code", None)


def translate(error: Exception, doing: str) -> CameraError:
    """A libgphoto2 error as the CameraError a user can act on."""
    code = error_code(error)
    text = str(error).strip()
    if code == GP_ERROR_IO_USB_CLAIM:
        return CameraBusyError(
            "The camera is held by another program (the desktop's photo import service). "
            f"Run `{FREE_COMMAND}` (or stop gvfs-gphoto2-volume-monitor) and try again."
        )
    if code == GP_ERROR_CAMERA_BUSY:
        return CameraBusyError(f"The camera stayed busy while {doing}; wait for it and try again.")
    if code in (GP_ERROR_NO_MEMORY, GP_ERROR_NO_SPACE):
        return StorageFullError("The camera's card (or its memory) is full; free space on it and capture again.")
    if code == GP_ERROR_NOT_SUPPORTED:
        return NotSupportedError(f"This camera does not support {doing}.")
    if code in DISCONNECT_CODES or "PTP" in text and code == GP_ERROR:
        return CameraDisconnectedError(f"The camera stopped answering while {doing} (cable pulled or body asleep); reconnecting.")
    return CameraError(f"The camera reported an error while {doing}: {text or code}.")
