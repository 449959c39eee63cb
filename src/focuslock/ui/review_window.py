"""A window for the hot folder (``focuslock watch DIR --review``): each shot another tether
program drops in opens at 100 % with the focus mask, the verdict beside it.

The watching runs on a worker thread (the same ``run_watch`` as without a window); each
shot's review crosses to the window's thread by a queued signal. Closing the window stops
the watch after the file in hand (nothing half-logged).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from focuslock.session.review import ShotReview
from focuslock.ui.review_panel import ReviewPanel

__all__ = ["ReviewWindow", "run_review_window"]

logger = logging.getLogger(__name__)

# work(stop, show, say): watches until ``stop`` is set, calling show(review) per shot and
# say(text) for what a user should read; returns the counts (or raises).
Work = Callable[[threading.Event, Callable[[ShotReview], None], Callable[[str], None]], object]


class _Bridge(QtCore.QObject):
    review = QtCore.Signal(object)
    message = QtCore.Signal(str)
    finished = QtCore.Signal(object)


class ReviewWindow(QtWidgets.QMainWindow):
    """The hot folder's window: each shot's verdict as it arrives."""

    def __init__(self, work: Work, title: str = "focuslock — hot folder") -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.panel = ReviewPanel()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        self.setCentralWidget(scroll)
        self.status = QtWidgets.QLabel("starting…")
        self.status.setWordWrap(True)
        self.statusBar().addWidget(self.status, 1)
        self.resize(900, 640)
        self.shots_shown = 0
        self.outcome: object = None
        self.failure: str | None = None
        self._bridge = _Bridge()
        self._bridge.review.connect(self._show)
        self._bridge.message.connect(self.status.setText)
        self._bridge.finished.connect(self._finished)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), name="focuslock-watch", daemon=True)
        self._thread.start()

    def _run(self, work: Work) -> None:
        try:
            outcome = work(self._stop, self._bridge.review.emit, self._bridge.message.emit)
        except Exception as error:  # the window says it; nothing is lost that was logged
            outcome = error
        self._bridge.finished.emit(outcome)

    def _show(self, review: ShotReview) -> None:
        self.shots_shown += 1
        self.panel.show_review(review)

    def _finished(self, outcome: object) -> None:
        if isinstance(outcome, Exception):
            self.failure = str(outcome)
            self.status.setText(f"Stopped: {outcome}")
        else:
            self.outcome = outcome
            self.status.setText(f"Done: {self.shots_shown} shot(s) shown; close the window when you have looked.")

    @property
    def watching(self) -> bool:
        return self._thread.is_alive()

    def closeEvent(self, event) -> None:
        self._stop.set()  # the watch ends after the file in hand
        self._thread.join(30.0)
        super().closeEvent(event)


def run_review_window(work: Work, *, title: str, screenshot: Path | None = None, quit_after_s: float | None = None) -> int:
    """Open the review window, run until it is closed (or ``quit_after_s``)."""
    from focuslock.ui.app import application, close_later

    app = application()
    window = ReviewWindow(work, title)
    window.show()
    close_later(window, quit_after_s, screenshot)
    app.exec()
    if window.failure:
        logger.error("%s", window.failure)
        return 1
    return 0
