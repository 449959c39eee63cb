"""Where the data that ships with focuslock lives (``drivers/``, ``calibration/``).

In an installed wheel the folders sit inside the package (hatch force-include); in a
source checkout (an editable install) they sit at the repository's root. This module
imports nothing from focuslock, so any part may use it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_folder"]

_PACKAGE = Path(__file__).resolve().parent


def data_folder(name: str) -> Path:
    """The folder ``name`` (``"drivers"`` or ``"calibration"``) of the installed package."""
    for candidate in (_PACKAGE / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"focuslock's {name}/ folder is missing from this installation; reinstall focuslock.")
