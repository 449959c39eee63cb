"""Files off a tethered body's card: a capture's files collected as the body announces
them, each downloaded, verified (its size, or two reads that agree and a whole JPEG),
saved as a new file and only then (if asked) deleted from the card.

The libgphoto2 module and the camera object come from :mod:`.gphoto`, the only module
that imports gphoto2; ``call`` is its retrying, translating call
(:meth:`focuslock.devices.gphoto.GPhotoCamera._call`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from focuslock.devices.base import CameraError, StorageFullError
from focuslock.devices.gphoto_errors import translate
from focuslock.devices.gphoto_values import is_store_full
from focuslock.io.files import save_capture
from focuslock.io.limits import jpeg_cut_short

__all__ = ["CAPTURE_TIMEOUT_S", "QUIET_PERIOD_S", "CardFiles"]

# After CAPTURE_COMPLETE, more files (the JPEG of a RAW+JPEG pair) may still come.
QUIET_PERIOD_S = 0.25
CAPTURE_TIMEOUT_S = 30.0


class CardFiles:
    """The files of one open body's card.

    ``gp`` is the gphoto2 module, ``camera`` the open ``gphoto2.Camera`` (or the named
    fake a test puts at that boundary), ``call(action, doing)`` runs a libgphoto2 call;
    every file saved is appended to ``downloaded``.
    """

    def __init__(self, gp: Any, camera: Any, call: Callable[..., Any], downloaded: list[Path],
                 delete_after_download: bool) -> None:
        self.gp = gp
        self.camera = camera
        self.call = call
        self.downloaded = downloaded
        self.delete_after_download = delete_after_download

    def capture_to_memory(self) -> bytes:
        """A capture's picture as bytes, deleted from the card (a slow "live" frame)."""
        gp, camera = self.gp, self.camera
        path = self.call(lambda: camera.capture(gp.GP_CAPTURE_IMAGE), "capturing a frame")
        try:
            camera_file = self.call(lambda: camera.file_get(path.folder, path.name, gp.GP_FILE_TYPE_NORMAL), "downloading a frame")
            data = bytes(memoryview(camera_file.get_data_and_size()))
        finally:
            # Slow live frames must not fill the card.
            try:
                camera.file_delete(path.folder, path.name)
            except Exception:
                pass
        return data

    def collect_capture(self, folder: Path, written: list[Path], name: Callable[[str], str] | None = None) -> list[Path]:
        """Every file a triggered capture makes, saved in ``folder`` as ``name`` calls it
        (the card's name when None; and in ``written`` as each arrives, so that a failure
        can tell what was saved)."""
        gp, camera = self.gp, self.camera
        complete_at = None
        started = time.monotonic()
        while True:
            now = time.monotonic()
            if complete_at is not None and now - complete_at > QUIET_PERIOD_S:
                break
            if now - started > CAPTURE_TIMEOUT_S:
                if written:
                    break
                raise CameraError("The camera took no picture within 30 s; check the shutter and the focus mode.")
            kind, data = self.call(lambda: camera.wait_for_event(100), "waiting for the capture")
            if kind == gp.GP_EVENT_FILE_ADDED:
                written.append(self.download(data.folder, data.name, folder, name))
            elif kind == gp.GP_EVENT_CAPTURE_COMPLETE:
                complete_at = time.monotonic()
            elif kind == gp.GP_EVENT_UNKNOWN and is_store_full(data):
                raise StorageFullError(
                    "The camera's card is full: it took no picture. Every earlier file is intact"
                    f"{' in ' + str(folder) if written or self.downloaded else ''}; free space on the card and capture again."
                )
            elif kind == gp.GP_EVENT_TIMEOUT and complete_at is None and written and now - started > 2.0:
                complete_at = time.monotonic()  # some bodies never send CAPTURE_COMPLETE
        if not written:
            raise CameraError("The camera reported the capture complete but sent no file.")
        return written

    def download(self, camera_folder: str, camera_name: str, folder: Path,
                 name: Callable[[str], str] | None = None) -> Path:
        """Download one file, verify it, save it as a new file (named ``name(camera_name)``,
        or as on the card), and only then (if asked) delete it from the card."""
        gp, camera = self.gp, self.camera
        info = self.call(lambda: camera.file_get_info(camera_folder, camera_name), f"reading {camera_name}'s size")
        expected = int(info.file.size) if info.file.fields & gp.GP_FILE_INFO_SIZE else None
        data = self.read_camera_file(camera_folder, camera_name)
        if expected is not None and len(data) != expected:
            raise CameraError(f"{camera_name} arrived with {len(data)} of {expected} bytes; it stays on the camera, capture it again.")
        if expected is None:
            # No size to check against: a second read must give the same bytes, and a
            # JPEG must end with its end-of-image marker (a cut transfer does not).
            again = self.read_camera_file(camera_folder, camera_name)
            if again != data:
                raise CameraError(f"{camera_name} read twice from the camera gave different bytes; "
                                  "it stays on the camera, capture it again.")
            if jpeg_cut_short(data):
                raise CameraError(f"{camera_name} arrived cut short ({len(data)} bytes, no end-of-image marker); "
                                  "it stays on the camera, capture it again.")
        path = save_capture(folder, name(camera_name) if name is not None else camera_name, data, stays_on_camera=True)
        self.downloaded.append(path)
        if self.delete_after_download:
            self.call(lambda: camera.file_delete(camera_folder, camera_name), f"deleting {camera_name} from the camera")
        return path

    def read_camera_file(self, camera_folder: str, camera_name: str) -> bytes:
        gp, camera = self.gp, self.camera
        camera_file = self.call(lambda: camera.file_get(camera_folder, camera_name, gp.GP_FILE_TYPE_NORMAL),
                                f"downloading {camera_name}")
        return bytes(memoryview(camera_file.get_data_and_size()))

    def download_announced(self, download_folder: Path | None) -> None:
        """Files the camera announced on its own (its shutter pressed): download them
        into ``download_folder`` (the working folder when None)."""
        gp, camera = self.gp, self.camera
        for _ in range(16):  # drain what is waiting, without stalling live view
            try:
                kind, data = camera.wait_for_event(1)
            except Exception as error:
                raise translate(error, "reading the camera's events") from None
            if kind == gp.GP_EVENT_TIMEOUT:
                return
            if kind == gp.GP_EVENT_FILE_ADDED:
                folder = download_folder or Path.cwd()
                self.download(data.folder, data.name, folder)
