"""The lock state in big letters: the banner above the picture."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.overlay.readouts import PlainVerdict

__all__ = ["StateBanner"]


class StateBanner(QtWidgets.QLabel):
    """The lock state in big letters and its colour: readable from two metres."""

    def __init__(self) -> None:
        super().__init__("NO FEATURE — drag a box around the detail that must be sharp")
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(56)
        # A long reason wraps rather than widening the window past a laptop's screen.
        self.setWordWrap(True)
        self.state: str | None = None
        self.stale = False
        self._shown: tuple[object, ...] | None = None  # what the banner shows now
        self.show_verdict(None)

    def show_stale(self, freshness_text: str, last_verdict: str | None) -> None:
        """No new frame: 'ENDED — verdict from 12 s ago (…)  ·  last IN FOCUS', grey, so
        that an old verdict never reads as a live one."""
        key = ("stale", freshness_text, last_verdict)
        if key == self._shown:
            return
        self._shown = key
        self.stale = True
        text = freshness_text + (f"  ·  last {last_verdict}" if last_verdict else "")
        self._paint(text, STATE_COLOURS_RGB["stale"], (255, 255, 255))

    def show_verdict(self, verdict: PlainVerdict | None, *, following: bool = False, details: bool = False) -> None:
        """The verdict in a photographer's words: 'IN FOCUS', 'OUT OF FOCUS — turn nearer,
        about 0.3 mm', 'CANNOT TELL — measuring the noise — hold still'; the engineer's
        figures (blur in px and CoC, σ) in its tooltip, and in the banner with ``details``.
        None: nothing locked (``following``: a box followed, not locked)."""
        key = (verdict, following, details)
        if key == self._shown:
            return  # a style sheet change re-polishes the widget: only when it changes
        self._shown = key
        self.state = verdict.state if verdict is not None else None
        self.stale = False
        if verdict is None:
            text = "FOLLOWING — press L to lock" if following else "NO FEATURE — drag a box around the detail that must be sharp"
            colour, ink = (60, 60, 60), (255, 255, 255)
            self.setToolTip("")
        else:
            text = verdict.banner()
            if details and verdict.details:
                text += f"  ·  {verdict.details}"
            self.setToolTip(verdict.details or "")
            colour = STATE_COLOURS_RGB.get(verdict.state, (120, 120, 120))
            ink = (0, 0, 0) if verdict.state in ("sharp", "softening") else (255, 255, 255)
        self._paint(text, colour, ink)

    def _paint(self, text: str, colour, ink) -> None:
        self.setText(text)
        style = f"QLabel {{ background: rgb{colour}; color: rgb{ink}; font-size: 26px; font-weight: bold; padding: 6px; }}"
        if style != self.styleSheet():
            self.setStyleSheet(style)
