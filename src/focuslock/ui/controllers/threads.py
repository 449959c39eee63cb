"""Futures finished on the camera's (or a worker's) thread, handled on the window's."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

from PySide6 import QtCore, QtWidgets

__all__ = ["UiThread", "wait_before_closing"]


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


def wait_before_closing(future: Future | None, what: str, timeout_s: float, say: Callable[[str], None]) -> str | None:
    """A capture still downloading (or a stack stopping after its frame: ``what``) is
    waited for, at most ``timeout_s``, with a visible message (``say``) while the window
    keeps painting, so that closing never abandons a file half-way. What happened, in
    a sentence; None when nothing was running."""
    if future is None or future.done():
        return None
    say(f"Waiting for {what} to finish downloading before closing…")
    deadline = time.monotonic() + timeout_s
    while not future.done() and time.monotonic() < deadline:
        QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)
    if not future.done():
        return (f"Closed after waiting {timeout_s:.0f} s for {what}, which did not finish; "
                "files it had saved are in the capture folder, the rest stays on the camera.")
    error = future.exception()
    if error is None:
        return f"{what.capitalize()} finished before closing."
    return f"{what.capitalize()} running at closing failed: {getattr(error, 'user_message', error)}"
