"""Start the window on a live session: ``focuslock demo`` and ``focuslock live``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from PySide6 import QtCore, QtWidgets

from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.ui.main_window import MainWindow

__all__ = ["application", "close_later", "quiet_platform_noise", "run_window"]


def quiet_platform_noise(kind, context, message: str) -> None:
    """Qt's message handler: Qt's messages on stderr, less the platform's noise."""
    # The offscreen and Xvfb platforms complain about window-manager hints no user can
    # act on; everything else goes to stderr as Qt would print it.
    if "propagateSizeHints" in message:
        return
    sys.stderr.write(message + "\n")


def application() -> QtWidgets.QApplication:
    """The process's Qt application (made once), quiet about hints no user can act on."""
    QtCore.qInstallMessageHandler(quiet_platform_noise)
    # (instance() is typed as the core application; in this process it is the widgets' one.)
    app = cast(QtWidgets.QApplication, QtWidgets.QApplication.instance()) or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("focuslock")
    return app


def close_later(window: QtWidgets.QWidget, quit_after_s: float | None, screenshot: Path | None) -> None:
    """``--quit-after``: close ``window`` after that many seconds, saving what it shows as
    PNG at ``screenshot`` just before."""
    if quit_after_s is None:
        return

    def finish() -> None:
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(screenshot), "PNG")
        window.close()

    QtCore.QTimer.singleShot(int(quit_after_s * 1000), finish)


def run_window(session: LiveSession, settings: PipelineSettings, *, title: str, capture_folder: Path,
               screenshot: Path | None = None, quit_after_s: float | None = None, setup=None, shot_log=None,
               recipe=None) -> int:
    """Open the window, run until it is closed (or ``quit_after_s``), stop the session.

    ``screenshot``: save what the window shows as PNG just before quitting.
    ``setup``: called with the window once it is shown (the demo uses it to choose and
    lock a feature so that a screenshot shows the lock at work).
    ``shot_log``, ``recipe``: a studio session's capture log and its recipe (see MainWindow).
    """
    app = application()
    session.set_settings(settings)
    session.start()
    # A screenshot run is scripted: it neither takes nor leaves the user's window layout.
    window = MainWindow(session, settings, title=title, capture_folder=capture_folder, shot_log=shot_log, recipe=recipe,
                        remember_layout=screenshot is None)
    window.show()
    if setup is not None:
        setup(window)
    close_later(window, quit_after_s, screenshot)
    try:
        code = app.exec()
    finally:
        session.stop()
    return int(code)
