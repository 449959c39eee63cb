"""Opening a session's database for reading only (the report), wherever it lies.

A reader opens it ``mode=ro``. A session in a folder focuslock may not write (a copy on
read-only media, an archive, another user's folder) cannot get the shared-memory file a
WAL reader needs; it is then opened ``immutable=1`` — exact when no write-ahead log is
there, since everything committed is then in the database itself. A log still holding
shots the database lacks cannot be read that way: one sentence says so.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from focuslock.core.errors import FocuslockError

__all__ = ["ReadOnlyError", "connect_read_only"]

log = logging.getLogger(__name__)


class ReadOnlyError(FocuslockError):
    """The database cannot be read where it is; ``str()`` is one sentence."""


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes the database or its folder (sqlite3.Error for a
    file that is no database at all, left to the caller's sentence)."""
    uri = path.absolute().as_uri()
    connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.Error as error:
        connection.close()
        if "readonly" not in str(error) and "unable to open" not in str(error):
            raise
    wal = path.with_name(path.name + "-wal")
    try:
        pending = wal.lstat().st_size > 0
    except FileNotFoundError:
        pending = False
    except OSError as error:
        raise ReadOnlyError(f"The session's database in {path.parent} cannot be read ({error.strerror or error}).") from None
    if pending:
        raise ReadOnlyError(f"The session's database in {path.parent} cannot be read here: its folder cannot be written "
                            "and its write-ahead log holds shots not yet in the database; copy the session folder "
                            "somewhere writable and report the copy.")
    log.info("The session's database in %s is read as immutable (its folder cannot be written).", path.parent)
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)
