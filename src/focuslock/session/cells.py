"""A session log's cells read by type: SQLite lets any column hold any type, and a log
edited outside focuslock must cost only the cells edited — never a traceback. (Text
that is not UTF-8 is read with U+FFFD by the connection's text factory, and no cell is
longer than ``schema_check.MAX_CELL_BYTES``.)"""

from __future__ import annotations

import json

from focuslock.core.resources import is_finite_number

__all__ = ["mapping", "real", "text"]


def real(value) -> float | None:
    """A logged number, or None (unknown) for a cell that is not a finite number."""
    return float(value) if is_finite_number(value) else None


def text(value, default: str = "") -> str:
    """A logged text; a number or bytes put there by hand as text, NULL as ``default``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return default if value is None else str(value)


def mapping(value) -> dict:
    """A logged JSON object (camera settings, optics), or {} for anything else."""
    try:
        parsed = json.loads(value) if isinstance(value, (str, bytes)) else None
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}
