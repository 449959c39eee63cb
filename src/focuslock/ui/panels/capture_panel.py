"""The capture button and the focus check of what was captured."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from focuslock.overlay.focus_layer import STATE_COLOURS_RGB

__all__ = ["CapturePanel"]


class CapturePanel(QtWidgets.QGroupBox):
    """Capture with automatic download, and the focus check of what was captured."""

    capture = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__("Capture")
        layout = QtWidgets.QVBoxLayout(self)
        self.button = QtWidgets.QPushButton("Capture  (Space)")
        self.button.setMinimumHeight(40)
        self.button.clicked.connect(self.capture.emit)
        self.result = QtWidgets.QLabel("—")
        self.result.setWordWrap(True)
        layout.addWidget(self.button)
        self._available = True
        layout.addWidget(self.result)

    def set_available(self, available: bool, reason: str = "") -> None:
        """Whether the button captures; ``reason`` on it when it does not (or may not)."""
        self._available = available
        self.button.setEnabled(available)
        self.button.setToolTip(reason or "Capture, download and check the picture against the lock")
        if not available and reason:
            self.result.setText(reason)

    def busy(self) -> None:
        self.button.setEnabled(False)
        self.result.setText("capturing…")

    def done(self, text: str, state: str | None = None) -> None:
        self.button.setEnabled(self._available)
        colour = STATE_COLOURS_RGB.get(state, (220, 220, 220))
        self.result.setStyleSheet(f"QLabel {{ color: rgb{colour}; }}")
        self.result.setText(text)
