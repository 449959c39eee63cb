"""A session database is checked to be focuslock's own before anything in it is used.

A session folder copied from another machine may hold a ``focuslock-session.sqlite``
that another program made or changed. SQLite runs what a database's schema says: a
VIEW named like one of our tables is run by every read (a recursive one never ends), a
TRIGGER runs inside focuslock's own transaction (rewriting a checksum, deleting a row),
a CHECK, a DEFAULT or an index on an expression runs on every insert. So, on every
connection and before every shot is written:

* ``PRAGMA trusted_schema = OFF`` (:func:`harden`): functions with side effects never
  run from a schema, whatever slips past the check;
* the schema (``sqlite_master``) must be exactly what focuslock's migrations make for
  the database's ``user_version`` — each of our tables and indexes with the very SQL
  that made it (so its columns, constraints and defaults are ours, none generated);
* a VIEW, a TRIGGER, a virtual table, or an index focuslock did not make, anywhere, is
  refused in one sentence naming it. An extra ordinary table is *allowed*: it is data
  that runs nothing, focuslock never reads or writes it, and a studio may keep its own
  notes in the file with a database tool — refusing would lose a session over nothing.
  Its own automatic indexes (``UNIQUE``, ``PRIMARY KEY``) come with it.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from pathlib import Path

from focuslock.core.errors import FocuslockError

__all__ = ["MAX_CELL_BYTES", "SchemaError", "check_database", "check_schema", "harden"]

log = logging.getLogger(__name__)

# No text or blob read from a session log is larger than this (SQLite refuses the read
# with "string or blob too big"): a log's longest cell is a setup of a few KB.
MAX_CELL_BYTES = 16 * 1024 * 1024
# More schema objects than this is not a session log (ours has 8); read no further.
_MAX_OBJECTS = 1000
_NAME_SHOWN = 80


class SchemaError(FocuslockError):
    """The database is not focuslock's session log; ``str()`` is one sentence."""


def harden(connection: sqlite3.Connection) -> None:
    """What every connection to a session log is set to before it reads anything."""
    connection.execute("PRAGMA trusted_schema = OFF")
    # A text cell that is not UTF-8 is read with U+FFFD, never a traceback.
    connection.text_factory = lambda data: data.decode("utf-8", "replace")
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_CELL_BYTES)


@functools.cache
def _expected(migrations: tuple[str, ...], version: int) -> dict[str, tuple[str, str, str]]:
    """name -> (type, table, normalised SQL) of what ``migrations[:version]`` make."""
    made = sqlite3.connect(":memory:")
    try:
        for script in migrations[:version]:
            made.executescript(script)
        return {name: (kind, table, _normal(sql)) for kind, name, table, sql
                in made.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")}
    finally:
        made.close()


def _normal(sql: str | None) -> str:
    return "" if sql is None else re.sub(r"\s+", " ", sql).strip()


def _shown(name: object) -> str:
    text = name if isinstance(name, str) else repr(name)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= _NAME_SHOWN else text[:_NAME_SHOWN] + "…"


_KINDS = {"view": "a view", "trigger": "a trigger", "index": "an index", "table": "a table"}


def check_schema(connection: sqlite3.Connection, path: Path, migrations: tuple[str, ...], version: int) -> None:
    """Raise :class:`SchemaError` unless the database at ``path`` holds exactly the schema
    ``migrations[:version]`` make (plus, at most, ordinary tables of its own)."""
    expected = _expected(migrations, version)
    every = _expected(migrations, len(migrations))
    rows = connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master LIMIT ?", (_MAX_OBJECTS + 1,)).fetchall()
    if len(rows) > _MAX_OBJECTS:
        raise SchemaError(f"{path} holds over {_MAX_OBJECTS} tables, indexes and views: it is not a focuslock session "
                          "log; focuslock will not read it.")
    extra_tables = {name for kind, name, _, sql in rows
                    if kind == "table" and name not in every and not _normal(sql).upper().startswith("CREATE VIRTUAL")}
    found = set()
    for kind, name, table, sql in rows:
        ours = expected.get(name)
        if ours is not None and ours[0] == kind:
            found.add(name)
            if ours[1:] != (table, _normal(sql)):
                raise SchemaError(f"{path} holds {_KINDS.get(kind, kind)} {_shown(name)} that is not the one focuslock "
                                  "makes: it is not a focuslock session log, or it was changed elsewhere; focuslock will "
                                  "not use it.")
            continue
        if kind == "table" and name in extra_tables:
            log.warning("%s holds a table %s that focuslock did not make; it is left as it is.", path, _shown(name))
            continue
        if kind == "index" and sql is None and table in extra_tables:
            continue  # the automatic index of an extra table's UNIQUE or PRIMARY KEY
        what = "a virtual table" if kind == "table" else _KINDS.get(kind, f"an object ({_shown(kind)})")
        raise SchemaError(f"{path} holds {what} ({_shown(name)}) that focuslock did not make: it is not a focuslock "
                          "session log, or it was changed elsewhere; focuslock will not run it.")
    missing = sorted(set(expected) - found)
    if missing:
        raise SchemaError(f"{path} lacks {_KINDS.get(expected[missing[0]][0], 'the object')} {missing[0]} that focuslock "
                          "makes: it is not a focuslock session log, or it was changed elsewhere; focuslock will not use it.")


def check_database(connection: sqlite3.Connection, path: Path, migrations: tuple[str, ...]) -> None:
    """:func:`check_schema` for the database's own ``user_version``; a version newer than
    ``migrations`` is left to the caller (its sentence says to update focuslock)."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version < 0:
        raise SchemaError(f"{path} is not a focuslock session log (its schema version is {version}); focuslock will "
                          "not use it.")
    if version <= len(migrations):
        check_schema(connection, path, migrations, version)
