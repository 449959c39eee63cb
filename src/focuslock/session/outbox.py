"""The station's side of the hub's outbox: a second connection to the session's log,
held by the sync thread (``hub/sync.py``), that reads the shots waiting for the hub in
their order and marks them sent once the hub has committed them.

The outbox row enters in the shot's own transaction (``ShotStore.record_shot``), so a
shot in the log is a shot in the outbox whatever moment a kill hits; ``sent_utc`` is set
only after the hub's COMMIT returned, so a kill between the two sends the shot again and
the hub keeps it once (its key is the station, the session and the shot's sequence).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from focuslock.session.database import DATABASE_NAME, connect, session_error
from focuslock.session.records import LoggedShot, ShotPreviews
from focuslock.session.store import ShotStore, now_utc

__all__ = ["Outbox", "OutboxShot", "SessionFacts"]


@dataclass(frozen=True)
class OutboxShot:
    """A logged shot waiting for the hub, with its previews."""

    shot: LoggedShot
    previews: ShotPreviews


@dataclass(frozen=True)
class SessionFacts:
    """What the hub keeps of a session: its key, name, start and setup."""

    key: str
    name: str
    created_utc: str
    setup: dict


class Outbox:
    """The outbox of the session in ``folder``, on a connection of its own (one thread)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._db = connect(self.folder / DATABASE_NAME, read_only=False)
        self._store = ShotStore(self._db, self.folder)  # reads the shots on the same connection

    def facts(self) -> SessionFacts:
        store = self._store
        return SessionFacts(store.session_key(), store.name(), store.created_utc(), store.setup())

    def pending(self, limit: int) -> list[OutboxShot]:
        """Up to ``limit`` shots not yet on the hub, in their sequence order."""
        try:
            rows = self._db.execute(
                "SELECT o.shot_id, o.thumbnail_jpeg, o.crop_jpeg FROM hub_outbox o JOIN shots s ON s.id = o.shot_id"
                " WHERE o.sent_utc IS NULL ORDER BY s.sequence, s.id LIMIT ?", (limit,)).fetchall()
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None
        previews = {row[0]: ShotPreviews(_blob(row[1]), _blob(row[2])) for row in rows}
        return [OutboxShot(shot, previews[shot.id]) for shot in self._store.shots_with_ids([row[0] for row in rows])]

    def pending_count(self) -> int:
        try:
            return int(self._db.execute("SELECT COUNT(*) FROM hub_outbox WHERE sent_utc IS NULL").fetchone()[0])
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None

    def mark_sent(self, shot_ids: list[int]) -> None:
        """The hub has committed these shots: they leave the outbox's queue (their previews
        are dropped: the hub has them)."""
        if not shot_ids:
            return
        marks = ", ".join("?" * len(shot_ids))
        try:
            with self._db:  # one transaction (committed on leaving the block)
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(f"UPDATE hub_outbox SET sent_utc = ?, thumbnail_jpeg = NULL, crop_jpeg = NULL"
                                        f" WHERE shot_id IN ({marks})", (now_utc(), *shot_ids))
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None

    def pending_retractions(self, limit: int) -> list[int]:
        """The sequences of shots replaced in the log (a file judged again) that the hub
        has not been told of yet, oldest first."""
        try:
            rows = self._db.execute("SELECT sequence FROM hub_retractions WHERE sent_utc IS NULL ORDER BY sequence LIMIT ?",
                                    (limit,)).fetchall()
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None
        return [int(row[0]) for row in rows]

    def mark_retracted(self, sequences: list[int]) -> None:
        """The hub has set these shots aside (after its COMMIT)."""
        if not sequences:
            return
        marks = ", ".join("?" * len(sequences))
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(f"UPDATE hub_retractions SET sent_utc = ? WHERE sequence IN ({marks})",
                                 (now_utc(), *sequences))
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None

    def close(self) -> None:
        self._store.close()


def _blob(cell: object) -> bytes | None:
    return bytes(cell) if isinstance(cell, (bytes, bytearray, memoryview)) else None
