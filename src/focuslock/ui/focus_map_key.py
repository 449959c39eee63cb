"""The D key: peaking shows the focus map (which parts of the picture lie within the depth
of field) or goes back to what it showed before.

The map is one of peaking's displays, so the key turns the Peaking panel's "show" choice:
the panel, the window's settings and the key never disagree about what is shown.
"""

from __future__ import annotations

from focuslock.focus.peaking import FOCUS_MAP_DISPLAY

__all__ = ["MAP_ON_MESSAGE", "toggle_focus_map"]

MAP_ON_MESSAGE = ("Focus map: rack focus slowly through the scene, once, to measure each part; "
                  "green lies within half the CoC of its sharpest, amber within the CoC, red beyond. D turns it off.")
# The panel's display before the map, kept on the panel between presses.
_BEFORE = "_display_before_focus_map"


def toggle_focus_map(panel) -> str:
    """Show the focus map on ``panel`` (a :class:`~focuslock.ui.panels.peaking_panel.PeakingPanel`), or
    what it showed before; returns a sentence for the status bar."""
    combo = panel.display
    if combo.currentText() == FOCUS_MAP_DISPLAY:
        combo.setCurrentText(getattr(panel, _BEFORE, "colour"))
        return f"Focus map off: peaking shows {combo.currentText()}."
    setattr(panel, _BEFORE, combo.currentText())
    combo.setCurrentText(FOCUS_MAP_DISPLAY)
    return MAP_ON_MESSAGE
