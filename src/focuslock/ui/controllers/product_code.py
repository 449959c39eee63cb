"""Product codes (a barcode or QR card held before the lens) read off live view."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import cv2
from PySide6 import QtCore

from focuslock.core.frames import Analysis
from focuslock.session.naming import read_product_code
from focuslock.ui.controllers.threads import UiThread

__all__ = ["CODE_READ_EVERY_S", "ProductCodeController"]

# How often live view is searched for a product code (in a session named by {sku}).
CODE_READ_EVERY_S = 0.4


class ProductCodeController(QtCore.QObject):
    """In a studio session named by {sku} (``shot_log.wants_code``), looks for a code in
    live view a few times a second, one read at a time, on a worker thread (a QR search
    costs tens of ms: never on the window's thread). A code read is offered
    (``offered``); only one the user confirms (:meth:`use`) names the next shots."""

    # A code read off live view, and what it was read from ("QR code", "barcode (EAN13)").
    offered = QtCore.Signal(str, str)
    # One sentence for the status line.
    said = QtCore.Signal(str)

    def __init__(self, shot_log, ui: UiThread, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.shot_log = shot_log
        self.ui = ui
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="focuslock-code") \
            if shot_log is not None and shot_log.wants_code else None
        self._in_flight = False
        self._last_read_s = 0.0

    @property
    def active(self) -> bool:
        """The session names its shots by product code: live view is searched for one."""
        return self._reader is not None

    @property
    def code(self) -> str | None:
        """The code the next shots are named with."""
        return self.shot_log.sku if self.shot_log is not None else None

    def look(self, analysis: Analysis | None, now: float) -> None:
        """Look for a barcode or QR card in ``analysis``'s frame, if a look is due."""
        if self._reader is None or self._in_flight or analysis is None or now - self._last_read_s < CODE_READ_EVERY_S:
            return
        self._last_read_s = now
        self._in_flight = True
        rgb = analysis.frame.image
        self.ui.when_done(self._reader.submit(lambda: read_product_code(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))), self._read)

    def use(self, code: str) -> None:
        """Name the next shots with this product code (confirmed or typed by the user)."""
        if self.shot_log is None:
            return
        self.shot_log.sku = code or None
        self.said.emit(f"Next shots are named with {code}." if code else "Next shots carry no product code.")

    def close(self) -> None:
        """End the reader (one read of one frame at most is waited for)."""
        if self._reader is not None:
            self._reader.shutdown(wait=True)

    def _read(self, future: Future) -> None:
        self._in_flight = False
        try:
            code = future.result()
        except Exception:  # a failed read is no code; the next look tries again
            return
        if code is not None:
            self.offered.emit(code.text, "QR code" if code.kind == "QR" else f"barcode ({code.kind})")
