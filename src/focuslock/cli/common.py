"""What every command module shares: exit codes, the user's error, JSON output, the
check that a window can open."""

from __future__ import annotations

import math
import os
import sys

from focuslock.core.errors import FocuslockError

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "UserError", "print_json", "require_display"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class UserError(FocuslockError):
    """A problem the user can fix, found by a command; its text is printed as it is."""


def print_json(payload) -> None:
    """One JSON object on stdout; a non-finite number (an infinite far limit) is null,
    never the NaN or Infinity that strict JSON readers refuse."""
    import json

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        return value

    print(json.dumps(clean(payload), allow_nan=False))


def require_display(instead: str) -> None:
    """One sentence, not a Qt abort, where no window can open; ``instead``: what to do."""
    if not _display_available():
        raise UserError(f"There is no display here; {instead} (or under xvfb-run, or with QT_QPA_PLATFORM=offscreen).")
    from focuslock.ui.qt_check import missing_qt_sentence  # imports no Qt

    sentence = missing_qt_sentence(instead)
    if sentence:
        raise UserError(sentence)


def _display_available() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))
