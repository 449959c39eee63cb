"""The lock state in big letters: the banner above the picture."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from focuslock.overlay.focus_layer import STATE_COLOURS_RGB

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
        self.show_state(None, None, None)

    def show_stale(self, freshness_text: str, last_verdict: str | None) -> None:
        """No new frame: 'ENDED — verdict from 12 s ago (…)  ·  last SHARP 0.12 CoC', grey,
        so that an old verdict never reads as a live one."""
        key = ("stale", freshness_text, last_verdict)
        if key == self._shown:
            return
        self._shown = key
        self.stale = True
        text = freshness_text + (f"  ·  last {last_verdict}" if last_verdict else "")
        self._paint(text, STATE_COLOURS_RGB["stale"], (255, 255, 255))

    def show_state(self, state: str | None, coc_share: float | None, hint: str | None, following: bool = False,
                   reason: str | None = None) -> None:
        key = (state, None if coc_share is None else round(coc_share * 100), hint, following, reason)
        if key == self._shown:
            return  # a style sheet change re-polishes the widget: only when it changes
        self._shown = key
        self.state = state
        self.stale = False
        if state is None:
            text = "FOLLOWING — press L to lock" if following else "NO FEATURE — drag a box around the detail that must be sharp"
            colour, ink = (60, 60, 60), (255, 255, 255)
        else:
            text = state.upper()
            if coc_share is not None and state != "lost":
                text += f"  {coc_share:.2f} CoC"
            if reason and state in ("uncertain", "lost"):
                text += f"  —  {reason}"
            elif reason:
                # A verdict set by part of the box: say so (its first clause; the whole
                # sentence, with what to do, is in the HUD and the log).
                text += f"  —  {reason.split(':')[0]}"
            if hint:
                text += f"  —  {hint}"
            colour = STATE_COLOURS_RGB.get(state, (120, 120, 120))
            ink = (0, 0, 0) if state in ("sharp", "softening") else (255, 255, 255)
        self._paint(text, colour, ink)

    def _paint(self, text: str, colour, ink) -> None:
        self.setText(text)
        style = f"QLabel {{ background: rgb{colour}; color: rgb{ink}; font-size: 26px; font-weight: bold; padding: 6px; }}"
        if style != self.styleSheet():
            self.setStyleSheet(style)
