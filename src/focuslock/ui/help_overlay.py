"""The keys' help, shown over live view (F1 or ?)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["SHORTCUTS", "HelpOverlay"]

SHORTCUTS = (
    ("drag", "choose the feature that must be sharp"),
    ("Ctrl+drag", "add a feature (up to four, locked together, each with its state)"),
    ("C", "clear the added features (keep the first)"),
    ("L", "lock on the feature / unlock"),
    ("[  ]", "drive focus one fine step near / far"),
    ("{  }", "drive focus one coarse step near / far"),
    ("Space", "capture (downloaded and checked)"),
    ("P", "peaking on / off"),
    ("D", "focus map: green within the depth of field, amber at its edge, red beyond (rack focus through once)"),
    ("G", "grid and centre mark"),
    ("Z", "zebras on clipped highlights"),
    ("H", "histogram: off, luma, RGB"),
    ("M", "loupe: off, 2×, 4×, 8×  (Shift+M: under the pointer)"),
    ("V", "the camera's live-view zoom on the box: 1×, 5×, 10× (the CoC grows with it; lock again)"),
    ("R", "take the current frame as the reference"),
    ("B", "reference ghost: off, blend, difference, split, blink"),
    ("S", "sound on SOFT"),
    ("I", "details: the engineer's figures (CoC, σ, px) in the banner and the whole HUD / the three plain lines"),
    ("F1 or ?", "this help"),
)


class HelpOverlay(QtWidgets.QLabel):
    """The table of keys, centred over its parent (the live view) until closed."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        rows = "".join(f"<tr><td style='padding-right:18px'><b>{key}</b></td><td>{what}</td></tr>" for key, what in SHORTCUTS)
        super().__init__(f"<h2>focuslock — keys</h2><table>{rows}</table><p>F1 or Esc closes this.</p>", parent)
        self.setStyleSheet("QLabel { background: rgba(0,0,0,210); color: white; font-size: 15px; padding: 18px; }")
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.hide()

    def toggle(self) -> None:
        """Show the help centred over the view, or hide it."""
        if self.isVisible():
            self.hide()
            return
        self.adjustSize()
        view = self.parentWidget()
        if view is not None:
            self.move(max(0, (view.width() - self.width()) // 2), max(0, (view.height() - self.height()) // 2))
        self.show()
        self.raise_()
