"""Where focuslock's data files live, and reading them so that one bad file or entry
costs only itself.

* ``drivers/`` and ``calibration/`` ship with focuslock: in an installed wheel they sit
  inside the package (hatch force-include), in a source checkout at the repository's
  root. Users add their own bodies and lenses in the same form under the user config
  folder (``~/.config/focuslock/drivers/*.toml``, ``~/.config/focuslock/calibration/
  lenses.toml`` and ``sensors.toml`` on Linux; platformdirs elsewhere); they load beside
  the shipped ones.
* :func:`read_user_file` is how every file a user names or edits is read: a regular
  file only (a named pipe or a device is refused, never read or waited on), bounded in
  size, each refusal one sentence.
* :func:`read_toml` reads one file and fails with :class:`DataFileError`, a sentence
  that names the file and, where it can, the line (bad TOML, bytes that are not UTF-8, a
  folder named ``*.toml``, a file that cannot be opened); :func:`line_of` finds the line
  of a field for errors found after parsing. Loaders skip what fails, warn
  (:func:`warn`), and keep the rest working.
* :func:`is_finite_number` and :func:`is_box` check a value read from a file a user
  may edit (TOML, JSON, a SQLite cell) by type: a boolean is not a number, NaN and
  infinity are not numbers either.

This module imports nothing from focuslock, so any part may use it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, TypeGuard

from focuslock.core.errors import FocuslockError
from focuslock.core.file_kinds import NotRegularFile, open_regular

__all__ = ["MAX_USER_FILE_BYTES", "DataFileError", "data_folder", "data_folders", "is_box", "is_finite_number", "line_of",
           "read_toml", "read_user_file", "user_config_folder", "warn"]

logger = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parents[1]


class DataFileError(FocuslockError):
    """A data file (or one entry in it) that cannot be used; ``str()`` says which and where."""


def data_folder(name: str) -> Path:
    """The folder ``name`` (``"drivers"`` or ``"calibration"``) of the installed package."""
    for candidate in (_PACKAGE / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"focuslock's {name}/ folder is missing from this installation; reinstall focuslock.")


def user_config_folder() -> Path:
    """The user's focuslock config folder (``FOCUSLOCK_CONFIG_DIR`` overrides it)."""
    override = os.environ.get("FOCUSLOCK_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_path("focuslock"))


def data_folders(name: str) -> tuple[Path, ...]:
    """The shipped folder ``name``, then the user's own one when it exists."""
    user = user_config_folder() / name
    return (data_folder(name),) + ((user,) if user.is_dir() else ())


# The largest file a user edits that focuslock reads whole (a recipe, a calibration, a
# driver or lens file, the marks' index): far above any real one, far below a memory scare.
MAX_USER_FILE_BYTES = 16 << 20


def read_user_file(path: Path | str, what: str = "file", max_bytes: int = MAX_USER_FILE_BYTES) -> bytes:
    """The bytes of the file a user names or edits, read safely, or :class:`DataFileError`
    in one sentence naming it: a regular file only (opened without blocking, so a named
    pipe or a device is refused, never read), at most ``max_bytes``; ``what`` names it
    in the sentence ("recipe", "TOML file")."""
    path = Path(path)
    try:
        with open_regular(path) as (fd, info):
            if info.st_size > max_bytes:
                raise DataFileError(f"{path} is {info.st_size / 1e6:.0f} MB, too large for a {what} "
                                    f"(at most {max_bytes / 1e6:.0f} MB).")
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read(max_bytes + 1)
    except NotRegularFile as error:
        if error.kind == "a folder":
            raise DataFileError(f"{path} is a folder, not a {what}.") from None
        raise DataFileError(f"{path} is {error.kind}, not a {what}; focuslock reads only regular files.") from None
    except OSError as error:
        raise DataFileError(f"{path} cannot be read ({error.strerror or error}).") from None
    if len(data) > max_bytes:
        raise DataFileError(f"{path} grew past {max_bytes / 1e6:.0f} MB while it was read, too large for a {what}.")
    return data


def read_toml(path: Path) -> dict[str, Any]:
    """One TOML file as a dict, or :class:`DataFileError` naming the file and line."""
    path = Path(path)
    raw = read_user_file(path, "TOML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataFileError(f"{path}, line {line}: byte 0x{raw[error.start]:02x} is not UTF-8 text; save the file as UTF-8.") from None
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib descends once per nested array or table
        raise DataFileError(f"{path}: its values are nested too deeply (not a TOML file focuslock reads).") from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        where = f", line {found.group(1)}" if found else ""
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
        raise DataFileError(f"{path}{where}: {reason[0].lower() + reason[1:]} (not valid TOML).") from None


def is_finite_number(value: object) -> bool:
    """An int or float that is finite, and not a boolean (TOML's and JSON's ``true`` is
    Python's 1)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_box(value: object) -> TypeGuard[list[Any]]:
    """``[x, y, width, height]``: a list of four finite numbers, width and height above 0."""
    return isinstance(value, list) and len(value) == 4 and all(is_finite_number(v) for v in value) \
        and value[2] > 0 and value[3] > 0


def line_of(path: Path, field: str, value: str | None = None) -> int | None:
    """The first line of ``path`` that sets ``field`` (``field =``), or that holds
    ``value`` when given; for errors found after parsing."""
    try:
        lines = read_user_file(path).decode("utf-8").splitlines()
    except (DataFileError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*\"?{re.escape(field)}\"?\s*=")
    for number, line in enumerate(lines, start=1):
        if value is not None and value in line:
            return number
        if value is None and pattern.match(line):
            return number
    return None


def warn(message: str) -> None:
    """A data problem the user should fix while the rest goes on: logged as a warning (the
    command line shows it on stderr as ``focuslock: …``; once per load: the loaders are
    cached)."""
    logger.warning("%s", message)
