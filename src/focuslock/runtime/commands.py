"""Camera commands queued for the acquisition thread, the only caller of the camera.

Each command runs between two frames and answers through a
``concurrent.futures.Future``; a camera error becomes an event as well as the future's
exception, and a disconnect is passed on to the acquisition loop, which reconnects.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from focuslock.devices.base import Camera, CameraDisconnectedError, CameraError

__all__ = ["CommandQueue"]

T = TypeVar("T")


class CommandQueue:
    """Commands waiting for the camera. ``busy_with`` names the one running (its
    label, e.g. "capture"), None between commands. ``report(kind, message)`` hears of
    the commands that failed."""

    def __init__(self, report: Callable[[str, str], None]) -> None:
        self._queue: queue.Queue[tuple[Callable[[Camera], Any], Future, str | None]] = queue.Queue()
        self._report = report
        self.busy_with: str | None = None

    def put(self, command: Callable[[Camera], T], label: str | None = None) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((command, future, label))
        return future

    def fail_pending(self) -> None:
        """Fail every command still waiting (no camera will run them)."""
        while True:
            try:
                _, future, _ = self._queue.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(CameraError("The live session stopped before the command ran."))

    def run_pending(self, camera: Camera, stop: threading.Event) -> None:
        """Run the waiting commands on ``camera`` (on the acquisition thread); a
        disconnect is raised after its future has it."""
        while not stop.is_set():
            try:
                command, future, label = self._queue.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            self.busy_with = label
            try:
                future.set_result(command(camera))
            except CameraDisconnectedError as error:
                future.set_exception(error)
                raise
            except CameraError as error:
                self._report("error", error.user_message)
                future.set_exception(error)
            except Exception as error:  # a bug must reach the caller, not kill the thread
                self._report("error", f"A camera command failed unexpectedly: {error!r}.")
                future.set_exception(error)
            finally:
                self.busy_with = None
                # A failed command's exception holds its traceback, whose frames hold this
                # frame's locals: the future (which holds the exception) and the camera. Left
                # bound, that cycle keeps a camera replaced after a pulled cable, with its
                # buffers, until Python's rare full collection (an hour's soak rose 4-6 MB a
                # step). Unbound, the future and its camera go when the caller drops them.
                del command, future
