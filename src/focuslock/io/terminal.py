r"""Text from elsewhere made safe to print on a terminal.

A file name is whatever another program (or person) gave it: a newline in it would
forge a line of focuslock's output ("#99 forged.jpg: PASS"), an ANSI escape would
recolour or rewrite the terminal, a bidirectional override would show the name
reversed, and bytes that are no UTF-8 (kept by Python as lone surrogates) cannot be
written to a terminal at all. :func:`shown` writes each such character as its escape (``\n``, ``\x1b``,
``\u202e``), so what is printed is one line that says exactly what the name holds.
"""

from __future__ import annotations

import re

__all__ = ["shown"]

# C0 and C1 controls, DEL, the bidirectional marks, embeddings, overrides and isolates, and
# lone surrogates (a file name's bytes that are no UTF-8: no terminal can be sent them).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def shown(text: str) -> str:
    """``text`` with every control or bidirectional character written as its escape."""
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)
