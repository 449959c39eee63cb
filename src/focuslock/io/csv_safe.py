"""CSV cells that a spreadsheet never runs as a formula (CSV injection, OWASP).

Excel, LibreOffice Calc and Google Sheets read a cell that begins with ``=``, ``+``,
``-`` or ``@`` as a formula — ``=HYPERLINK("http://…","open me")`` from a file name, or
``=cmd|' /C calc'!A0`` from a typed product code — and some also after a leading tab or
carriage return. Every CSV focuslock writes from text it did not make itself (file
names, SKUs, reasons, a session log edited elsewhere) passes each cell through
:func:`safe_cell`, which puts a single quote before such a text (OWASP's advice: the
spreadsheet then shows the text as it is, quote included, and runs nothing).

A plain number is left as it is: ``-0.25`` or ``+1.30`` (a signed blur, an exposure in
stops) is a number to every spreadsheet, never a formula, and must stay one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row"]

# What a spreadsheet may take as the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell no spreadsheet runs: a text starting like a formula gets a
    leading ``'``; numbers, plain numeric texts and ``None`` pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    """Every cell of ``row`` through :func:`safe_cell`."""
    return [safe_cell(value) for value in row]
