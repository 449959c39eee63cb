"""Build a camera from a ``--source`` string: ``sim``, ``video:PATH_OR_INDEX``,
``folder:DIR_OR_GLOB`` (and, with the tethering issue, ``gphoto2[:MODEL_OR_PORT]``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from focuslock.devices.base import Camera, CameraNotFoundError

__all__ = ["SOURCE_HELP", "camera_factory"]

SOURCE_HELP = "sim | video:PATH_OR_INDEX | folder:DIR_OR_GLOB | gphoto2[:MODEL_OR_PORT]"


def camera_factory(source: str, *, loop: bool = True, folder_rate_hz: float = 10.0,
                   download_folder: Path | None = None, captures_as_live_view: bool = False) -> Callable[[], Camera]:
    """A factory that makes a NEW camera object for ``source`` on each call.

    The live session calls it again to reconnect; a tethered body must never be reused
    once closed. Raises :class:`CameraNotFoundError` for a source it cannot parse.
    """
    kind, _, argument = source.partition(":")
    kind = kind.strip().lower()
    if kind == "sim":
        from focuslock.simulators.sim import SimulatedBench

        return SimulatedBench
    if kind == "video" and argument:
        from focuslock.devices.video import VideoCamera

        return lambda: VideoCamera(argument, paced=True, loop=loop)
    if kind == "folder" and argument:
        from focuslock.devices.folder import FolderCamera

        return lambda: FolderCamera(argument, rate_hz=folder_rate_hz, loop=loop)
    if kind == "gphoto2":
        from focuslock.devices.gphoto import GPhotoCamera

        # A new object on every call: libgphoto2 must never see a closed camera again.
        return lambda: GPhotoCamera(argument or None, download_folder=download_folder,
                                    captures_as_live_view=captures_as_live_view)
    raise CameraNotFoundError(f"{source!r} is not a source focuslock knows; use {SOURCE_HELP}.")
