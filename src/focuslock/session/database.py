"""Opening a session's database and its one-writer lock: never through a link, nor as a
pipe, device or folder (:mod:`.own_files`); SQLite hardened before it reads the file,
write-ahead logged with ``synchronous=FULL`` for the writer; SQLite's errors as one
sentence (:class:`SessionError`)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.session.migrations import MIGRATIONS
from focuslock.session.own_files import SessionFileError, check_own_file, open_own_file
from focuslock.session.read_only import ReadOnlyError, connect_read_only
from focuslock.session.schema_check import SchemaError, check_database, harden

__all__ = ["DATABASE_NAME", "LOCK_NAME", "SessionError", "connect", "session_error", "take_writer_lock"]

DATABASE_NAME = "focuslock-session.sqlite"
LOCK_NAME = "focuslock-session.lock"


class SessionError(FocuslockError):
    """The session's database cannot be used; ``str()`` is one sentence for the user."""


def _own_database(path: Path, read_only: bool) -> int:
    """A descriptor held on the database itself while SQLite opens it: the database and
    its companions (``-wal``, ``-shm``, ``-journal``) regular files of the folder, never
    links or pipes (:mod:`.own_files`)."""
    try:
        for companion in ("-wal", "-shm", "-journal"):
            check_own_file(path.with_name(path.name + companion), "database")
        return open_own_file(path, "database", write=not read_only, create=not read_only)
    except SessionFileError as error:
        raise SessionError(str(error)) from None
    except OSError as error:
        raise SessionError(f"The session's database in {path.parent} cannot be opened ({error.strerror or error}).") from None


def connect(path: Path, read_only: bool) -> sqlite3.Connection:
    """The database at ``path`` opened (for writing unless ``read_only``), refused when the
    name no longer names the file checked once SQLite has opened it."""
    own = _own_database(path, read_only)
    try:
        ours = os.fstat(own)
        connection = _connect_sqlite(path, read_only)
        try:  # the name still names the file checked, now that SQLite has opened it
            now = os.lstat(path)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (ours.st_dev, ours.st_ino):
            connection.close()
            raise SessionError(f"{path} was replaced while focuslock opened it; remove what replaced it, then start "
                               "the session again.")
        return connection
    finally:
        os.close(own)


def _connect_sqlite(path: Path, read_only: bool) -> sqlite3.Connection:
    try:
        if read_only:
            connection = connect_read_only(path)  # immutable when its folder cannot be written
        else:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        harden(connection)  # before anything in the file is read: trusted_schema off, cells bounded
        connection.execute("PRAGMA busy_timeout = 5000")
        check_database(connection, path, MIGRATIONS)  # our tables and indexes only: no view, no trigger
        if not read_only:
            if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise SessionError(f"The session's database {path} cannot keep a write-ahead log here; "
                                   "put the session on a local disk.")
            connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        # Reading the schema proves that the file is a database at all.
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return connection
    except (SchemaError, ReadOnlyError) as error:
        raise SessionError(str(error)) from None
    except sqlite3.Error as error:
        raise session_error(error, path.parent) from None


def session_error(error: sqlite3.Error, folder: Path) -> SessionError:
    """An SQLite error on the session in ``folder`` as one sentence the user can act on."""
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return SessionError(f"The session's database in {folder} is damaged ({text}); keep a copy and start a new session "
                            "folder — the captures themselves are untouched.")
    if "disk" in text and "full" in text:
        return SessionError(f"The disk holding the session {folder} is full; free space, then go on — nothing logged was lost.")
    if "readonly" in text or "unable to open" in text:
        return SessionError(f"The session's database in {folder} cannot be written ({text}); check the folder's permissions.")
    if "locked" in text or "busy" in text:
        return SessionError(f"The session's database in {folder} is busy in another program; close it and try again.")
    return SessionError(f"The session's database in {folder} failed: {text}.")


def take_writer_lock(folder: Path):
    """The session's one-writer lock (``flock``: the kernel drops it when the holder
    dies, so a killed writer never leaves a stale lock behind)."""
    path = folder / LOCK_NAME
    try:  # never through a planted link, never a pipe, never truncated (nothing is written in it)
        handle = os.fdopen(open_own_file(path, "lock file", write=True, create=True), "rb+", buffering=0)
    except SessionFileError as error:
        raise SessionError(str(error)) from None
    except OSError as error:
        raise SessionError(f"The session folder {folder} cannot be written ({error.strerror or error}).") from None
    try:
        import fcntl
    except ImportError:  # Windows: SQLite's own locking is the only guard there
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SessionError(f"The session {folder} is open in another focuslock; close that one first "
                           "(one program writes a session at a time).") from None
    return handle
