"""Who a station is, and what it keeps of the hub between runs.

A station's id is stable: made once (a random hex id) and kept in the config folder
(``core/resources.py``, ``FOCUSLOCK_CONFIG_DIR``) as ``station.sqlite``, or given with
``--station NAME`` (then the name is the id: two programs on one machine can be two
stations). The same small SQLite file keeps, per station id, the number the hub gave it
at registration and its offline SKU counters (``hub/numbers.py``), so a station
restarted with the hub away still numbers in its own block. Every change is one SQLite
transaction: two programs of one machine never hand out the same offline number.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from focuslock.core.resources import user_config_folder
from focuslock.hub.connection import HubError

__all__ = ["Station", "StationBook", "station_identity"]

_FILE = "station.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS identity (id INTEGER PRIMARY KEY CHECK (id = 1), station_id TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS numbers (station_id TEXT PRIMARY KEY, hub_number INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS offline (station_id TEXT NOT NULL, sku TEXT NOT NULL, last INTEGER NOT NULL,
                                    PRIMARY KEY (station_id, sku));
"""


@dataclass(frozen=True)
class Station:
    """A station as the hub knows it: ``id`` (stable) and the ``name`` shown."""

    id: str
    name: str


class StationBook:
    """The station file in the config folder (or ``folder``); one connection per user."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = Path(folder) if folder is not None else user_config_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(folder / _FILE, isolation_level=None, timeout=10, check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise HubError(f"The station's file {folder / _FILE} cannot be used ({error}); check the config "
                           "folder (FOCUSLOCK_CONFIG_DIR).") from None
        self.path = folder / _FILE

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise HubError(f"The station's file {self.path} cannot be written ({error}).") from None

    def identity(self) -> Station:
        """The station of this machine, made the first time it is asked for."""
        with self._transaction() as db:
            row = db.execute("SELECT station_id, name FROM identity WHERE id = 1").fetchone()
            if row is None:
                row = (uuid.uuid4().hex, socket.gethostname() or "station")
                db.execute("INSERT INTO identity (id, station_id, name) VALUES (1, ?, ?)", row)
        return Station(str(row[0]), str(row[1]))

    def hub_number(self, station_id: str) -> int | None:
        """The number the hub gave this station (None: it never reached the hub)."""
        row = self._db.execute("SELECT hub_number FROM numbers WHERE station_id = ?", (station_id,)).fetchone()
        return int(row[0]) if row else None

    def keep_hub_number(self, station_id: str, number: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO numbers (station_id, hub_number) VALUES (?, ?) ON CONFLICT (station_id) DO UPDATE "
                       "SET hub_number = excluded.hub_number", (station_id, number))

    def next_offline(self, station_id: str, sku: str) -> int:
        """The station's next offline count for ``sku`` (1, 2, …), taken in a transaction."""
        with self._transaction() as db:
            row = db.execute("INSERT INTO offline (station_id, sku, last) VALUES (?, ?, 1) ON CONFLICT (station_id, sku) "
                             "DO UPDATE SET last = last + 1 RETURNING last", (station_id, sku)).fetchone()
        return int(row[0])

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def station_identity(name: str | None, book: StationBook) -> Station:
    """``--station NAME`` (its id is the name), else this machine's id from the config folder."""
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise HubError("A station's name (--station) is 1 to 200 printable characters.")
        return Station(name, name)
    return book.identity()
