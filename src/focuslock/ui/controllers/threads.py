"""Futures finished on the camera's (or a worker's) thread, handled on the window's."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

from PySide6 import QtCore, QtWidgets

__all__ = ["UiThread", "wait_while_events_run"]


class UiThread(QtCore.QObject):
    """Carries callbacks into the thread this object was made on (the window's): a queued
    signal, so that no per-frame or per-command work waits on a lock."""

    _call = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(lambda callback: callback())

    def call(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the window's thread (from any thread)."""
        self._call.emit(callback)

    def when_done(self, future: Future, callback: Callable[[Future], None]) -> None:
        """Call ``callback(future)`` on the window's thread once ``future`` is done."""
        future.add_done_callback(lambda f: self._call.emit(lambda: callback(f)))


def wait_while_events_run(future: Future, timeout_s: float) -> bool:
    """Wait for ``future`` (at most ``timeout_s``) while the window keeps painting and
    handling the futures that finish meanwhile; whether it is done."""
    deadline = time.monotonic() + timeout_s
    while not future.done() and time.monotonic() < deadline:
        QtWidgets.QApplication.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.02)
    return future.done()
