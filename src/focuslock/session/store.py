"""The shot log: one SQLite database per session folder, recording every capture.

Why SQLite (standard library) and how it is kept whole:

* WAL journal, ``synchronous=FULL``: a transaction that returned from COMMIT survives a
  killed process and a power cut; a process killed inside a transaction leaves the
  database as it was before it (the log is replayed or discarded when next opened).
* One transaction per shot: its row, its files (with SHA-256) and each feature's verdict
  land together or not at all, so a killed writer never leaves half a shot.
* One writer: an exclusive lock on ``focuslock-session.lock`` (``flock``, released by
  the kernel when the process dies, so a killed writer never leaves a stale lock). A
  second writer is refused in one sentence; readers (the report) need no lock. The lock
  and the database are never opened through a link, nor as a pipe, device or folder
  (:mod:`.own_files`): the session folder may be a hot folder other programs write in.
* A file is logged once: its path is unique, so re-checking a folder after a crash only
  adds what was missing.
* Versioned schema: ``PRAGMA user_version`` counts the migrations applied; each runs in
  its own transaction with the version bump; a database from a newer focuslock is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from focuslock.session.cells import mapping as _mapping
from focuslock.session.cells import real as _real
from focuslock.session.cells import text as _text
from focuslock.session.database import DATABASE_NAME, SessionError, connect, session_error, take_writer_lock
from focuslock.session.migrations import MIGRATIONS, SCHEMA_VERSION, statements
from focuslock.session.records import FeatureVerdict, LoggedShot, ShotFile, ShotPreviews, ShotRecord
from focuslock.session.schema_check import SchemaError, check_database
from focuslock.session.verdict import ShotOutcome

# The values (records.py), the schema (migrations.py) and the opening (database.py) have
# their own modules.
__all__ = ["now_utc", "ShotStore", "VERDICTS", "log_text", "relative_to_folder"]

# The overall verdicts of a shot, worst first for the report's summary.
VERDICTS = (ShotOutcome.SOFT, ShotOutcome.DRIFT, ShotOutcome.UNCERTAIN, ShotOutcome.PASS)


def _outcome(cell: object) -> Any:
    """A logged verdict as its ShotOutcome; a cell edited into anything else as it is
    (a record's verdict is whatever the log holds)."""
    return ShotOutcome(cell) if isinstance(cell, str) and cell in VERDICTS else cell


def _size_of(file: ShotFile) -> int:
    """The size a saved file is logged with (every saved file has one)."""
    if file.size_bytes is None:
        raise ValueError(f"{file.path} has no size to log.")
    return int(file.size_bytes)


def _storable(shot: ShotRecord) -> ShotRecord:
    """``shot`` with every text as the log can hold it (:func:`log_text`): a file name that
    is no UTF-8 costs nothing but its own spelling."""
    files = tuple(dataclasses.replace(f, path=log_text(f.path)) for f in shot.files)
    features = tuple(dataclasses.replace(v, reason=None if v.reason is None else log_text(v.reason)) for v in shot.features)
    return dataclasses.replace(shot, name=log_text(shot.name), reason=None if shot.reason is None else log_text(shot.reason),
                               sku=None if shot.sku is None else log_text(shot.sku), files=files, features=features)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class ShotStore:
    """The shot log of one session folder. Open it with :meth:`open` (the one writer) or
    :meth:`read` (read-only, for the report); close it, or use it as a context manager."""

    def __init__(self, connection: sqlite3.Connection, folder: Path, lock_handle=None) -> None:
        self._db = connection
        self.folder = folder
        self._lock_handle = lock_handle
        # With a hub (hub/sync.py): each shot also enters the outbox, in its own transaction.
        self.outbox = False
        self._on_close: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, folder: Path, *, name: str | None = None, setup: dict | None = None) -> ShotStore:
        """Open (creating the folder and the database when new) as the session's writer."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SessionError(f"The session folder {folder} cannot be created ({error.strerror or error}).") from None
        if not folder.is_dir():
            raise SessionError(f"The session {folder} is not a folder.")
        lock_handle = take_writer_lock(folder)
        try:
            connection = connect(folder / DATABASE_NAME, read_only=False)
            store = cls(connection, folder, lock_handle)
            store._migrate()
            store._ensure_session_row(name or folder.name, setup or {})
            return store
        except BaseException:
            lock_handle.close()
            raise

    @classmethod
    def read(cls, folder: Path) -> ShotStore:
        """Open an existing session read-only (another process may be writing it)."""
        folder = Path(folder)
        path = folder / DATABASE_NAME
        if not path.is_file():
            raise SessionError(f"{folder} is not a focuslock session (it has no {DATABASE_NAME}).")
        store = cls(connect(path, read_only=True), folder)
        version = store._version()
        if version > SCHEMA_VERSION:
            store.close()
            raise SessionError(f"The session {folder} was written by a newer focuslock (schema {version}); "
                               "update focuslock to read it.")
        if version < SCHEMA_VERSION:
            store.close()
            raise SessionError(f"The session {folder} was written by an older focuslock; open it once for writing "
                               "(focuslock watch --session … --once) to bring it up to date.")
        return store

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` first when the store closes (the hub's sync stops with the session)."""
        self._on_close.append(callback)

    def close(self) -> None:
        callbacks, self._on_close = self._on_close, []
        for callback in reversed(callbacks):
            callback()
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> ShotStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _version(self) -> int:
        return int(self._execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            raise SessionError(f"The session {self.folder} was written by a newer focuslock (schema {version}); "
                               "update focuslock to use it.")
        for number in range(version, SCHEMA_VERSION):
            with self._transaction():
                for statement in statements(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    def _ensure_session_row(self, name: str, setup: dict) -> None:
        with self._transaction():
            row = self._db.execute("SELECT setup_json FROM session WHERE id = 1").fetchone()
            if row is None:
                self._db.execute("INSERT INTO session (id, created_utc, name, setup_json, session_key) VALUES (1, ?, ?, ?, ?)",
                                 (now_utc(), name, json.dumps(setup, sort_keys=True), uuid.uuid4().hex))
            elif setup:
                self._db.execute("UPDATE session SET setup_json = ? WHERE id = 1", (json.dumps(setup, sort_keys=True),))
            # A session from before the hub gets its key the first time it is opened for writing.
            self._db.execute("UPDATE session SET session_key = ? WHERE id = 1 AND session_key IS NULL", (uuid.uuid4().hex,))

    def save_setup(self, setup: dict) -> None:
        """Keep what the session's shots are judged against (its reference, features, CoC)."""
        self._ensure_session_row(self.folder.name, setup)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise session_error(error, self.folder) from None

    def relative_path(self, path: Path | str) -> str:
        return relative_to_folder(self.folder, path)

    def record_shot(self, shot: ShotRecord, *, replaces: str | None = None) -> LoggedShot:
        """Log one shot in one transaction; the next sequence number is its own. A file
        already logged is refused (:class:`SessionError`): one capture, one row.
        ``replaces``: the logged path of a file judged again because its content changed
        (``check-archive``): the shot that holds it leaves the log in the same transaction."""
        shot = _storable(shot)
        try:
            with self._transaction():
                self._check_schema()  # under the write lock: nothing can add a trigger before the commit
                if replaces is not None:  # its files and feature verdicts go with it (ON DELETE CASCADE)
                    self._retract(replaces)
                sequence = self._next_sequence()
                logged = now_utc()
                cursor = self._db.execute(
                    "INSERT INTO shots (sequence, logged_utc, name, verdict, reason, drift_px, drift_share, camera_json,"
                    " optics_json, sku, sku_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sequence, logged, shot.name, shot.verdict, shot.reason, _finite(shot.drift_px), _finite(shot.drift_share),
                     json.dumps(shot.camera, sort_keys=True), json.dumps(shot.optics, sort_keys=True), shot.sku,
                     shot.sku_number))
                assert cursor.lastrowid is not None  # an INSERT sets it
                shot_id = int(cursor.lastrowid)
                self._db.executemany(
                    "INSERT INTO shot_files (shot_id, path, sha256, size_bytes, role) VALUES (?, ?, ?, ?, ?)",
                    [(shot_id, f.path, f.sha256, _size_of(f), f.role) for f in shot.files])
                self._db.executemany(
                    "INSERT INTO feature_verdicts (shot_id, feature, state, reason, blur_px, blur_sd_px, blur_um, coc_share,"
                    " found_x_px, found_y_px, drift_px) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(shot_id, v.feature, v.state, v.reason, _finite(v.blur_px), _finite(v.blur_sd_px), _finite(v.blur_um),
                      _finite(v.coc_share), None if v.found_px is None else _finite(v.found_px[0]),
                      None if v.found_px is None else _finite(v.found_px[1]), _finite(v.drift_px))
                     for v in shot.features])
                if self.outbox:
                    previews = shot.previews or ShotPreviews()
                    self._db.execute("INSERT INTO hub_outbox (shot_id, queued_utc, thumbnail_jpeg, crop_jpeg) VALUES (?, ?, ?, ?)",
                                     (shot_id, logged, previews.thumbnail_jpeg, previews.crop_jpeg))
        except sqlite3.IntegrityError as error:
            # The unique path (the transaction rolled back whole): the file is logged already.
            if "shot_files.path" in str(error):
                raise SessionError(f"A file of {shot.name} is already in the session's log.") from None
            raise SessionError(f"The shot {shot.name} could not be logged: {error}.") from None
        return LoggedShot(shot_id, sequence, logged, shot)

    def _retract(self, path: str) -> None:
        """The shot holding ``path`` leaves the log (its files and verdicts with it); its
        number is kept in ``hub_retractions``, so that it is never given again and the
        studio's hub sets that shot aside (hub/sync.py) instead of keeping its old verdict."""
        gone = [row[0] for row in self._db.execute(
            "SELECT sequence FROM shots WHERE typeof(sequence) = 'integer' AND id IN "
            "(SELECT shot_id FROM shot_files WHERE path = ?)", (path,))]
        self._db.execute("DELETE FROM shots WHERE id IN (SELECT shot_id FROM shot_files WHERE path = ?)", (path,))
        self._db.executemany("INSERT OR IGNORE INTO hub_retractions (sequence, queued_utc) VALUES (?, ?)",
                             [(sequence, now_utc()) for sequence in gone])

    def _check_schema(self) -> None:
        try:
            check_database(self._db, self.folder / DATABASE_NAME, MIGRATIONS)
        except SchemaError as error:
            raise SessionError(str(error)) from None

    def _next_sequence(self) -> int:  # whole numbers only: a cell edited into text or 1e999 is none
        # A number once given is never given again, not even after its shot was replaced.
        last = self._db.execute("SELECT MAX(n) FROM (SELECT MAX(sequence) AS n FROM shots WHERE typeof(sequence) = "
                                "'integer' UNION ALL SELECT MAX(sequence) FROM hub_retractions)").fetchone()[0]
        if last is not None and last >= 2**62:
            raise SessionError(f"A shot in {self.folder / DATABASE_NAME} is numbered {last}, changed outside focuslock; "
                               "start a new session folder — the captures themselves are untouched.")
        return 1 if last is None or last < 0 else last + 1

    # ------------------------------------------------------------------ reading
    def _execute(self, sql: str, parameters: tuple = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, parameters)
        except sqlite3.Error as error:
            raise session_error(error, self.folder) from None

    def name(self) -> str:
        row = self._execute("SELECT name FROM session WHERE id = 1").fetchone()
        return _text(row[0], self.folder.name) if row else self.folder.name

    def setup(self) -> dict:
        """What the session's shots are judged against; SessionError when that was
        damaged (without it no shot can be judged or shown against its features)."""
        row = self._execute("SELECT setup_json, created_utc FROM session WHERE id = 1").fetchone()
        if row is None:
            return {}
        try:
            setup = json.loads(row[0]) if isinstance(row[0], (str, bytes)) else None
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            setup = None
        if not isinstance(setup, dict):
            raise SessionError(f"The session's setup in {self.folder / DATABASE_NAME} was changed outside focuslock and "
                               "cannot be read; start a new session folder — the captures themselves are untouched.")
        return setup

    def session_key(self) -> str:
        """The session's key on the studio's hub (made when the session was first written)."""
        row = self._execute("SELECT session_key FROM session WHERE id = 1").fetchone()
        return _text(row[0]) if row and row[0] else ""

    def start_outbox(self) -> int:
        """From now on every shot also enters the hub's outbox; the shots logged before
        (a session started without a hub) enter it now. Returns how many did."""
        with self._transaction():
            added = self._db.execute("INSERT INTO hub_outbox (shot_id, queued_utc) SELECT id, ? FROM shots"
                                     " WHERE id NOT IN (SELECT shot_id FROM hub_outbox)", (now_utc(),)).rowcount
        self.outbox = True
        return int(added)

    def created_utc(self) -> str:
        row = self._execute("SELECT created_utc FROM session WHERE id = 1").fetchone()
        return _text(row[0]) if row else ""

    def is_logged(self, path: str) -> bool:
        return self._execute("SELECT 1 FROM shot_files WHERE path = ?", (path,)).fetchone() is not None

    def shot_id_of(self, path: str) -> int | None:
        """The id of the shot a logged file (``path`` as logged) belongs to; None: not logged."""
        row = self._execute("SELECT shot_id FROM shot_files WHERE path = ?", (path,)).fetchone()
        return None if row is None else int(row[0])

    def logged_paths(self) -> set[str]:
        return {_text(row[0]) for row in self._execute("SELECT path FROM shot_files")}

    def logged_checksums(self, role: str = "judged") -> dict[str, str]:
        """Each logged file of ``role`` (the judged pictures by default): its path as
        logged -> its SHA-256 then."""
        return {_text(row[0]): _text(row[1]) for row in self._execute("SELECT path, sha256 FROM shot_files WHERE role = ?",
                                                                       (role,))}

    def shot_count(self) -> int:
        return int(self._execute("SELECT COUNT(*) FROM shots").fetchone()[0])

    def verdict_counts(self) -> dict[str, int]:
        """Shots by verdict; any other (edited outside focuslock) counted once as ``other``."""
        counts = dict.fromkeys(VERDICTS, 0)
        marks = ", ".join("?" * len(VERDICTS))
        for verdict, count in self._execute(f"SELECT verdict, COUNT(*) FROM shots WHERE verdict IN ({marks})"
                                            " GROUP BY verdict", VERDICTS):
            counts[verdict] = int(count)
        other = int(self._execute(f"SELECT COUNT(*) FROM shots WHERE verdict IS NULL OR verdict NOT IN ({marks})",
                                  VERDICTS).fetchone()[0])
        return counts | ({"other": other} if other else {})

    def shots(self, batch: int = 200) -> Iterator[LoggedShot]:
        """Every shot in sequence order, read in batches so that thousands of shots never
        sit in memory at once."""
        # Paged by id, never by a cell's value (text not UTF-8 reads back changed: an endless page).
        ids = [row[0] for row in self._execute("SELECT id FROM shots ORDER BY sequence, id")]
        for start in range(0, len(ids), batch):
            yield from self.shots_with_ids(ids[start:start + batch])

    def shots_with_ids(self, page: list[int]) -> list[LoggedShot]:
        """The shots of these row ids, in the order given (the hub's outbox reads its page so)."""
        rows = {row[0]: row for row in self._execute(
            "SELECT id, sequence, logged_utc, name, verdict, reason, drift_px, drift_share, camera_json, optics_json, sku,"
            f" sku_number FROM shots WHERE id IN ({', '.join('?' * len(page))})", tuple(page))}
        return [self._logged(rows[shot_id]) for shot_id in page if shot_id in rows]

    def _logged(self, row) -> LoggedShot:
        # Every cell read through _real / _text / _mapping: SQLite lets any column hold
        # any type, and a log edited outside focuslock must cost only the cells edited.
        shot_id = row[0]
        files = tuple(ShotFile(_text(f[0]), _text(f[1]), f[2] if type(f[2]) is int else None, _text(f[3]))
                      for f in self._execute("SELECT path, sha256, size_bytes, role FROM shot_files WHERE shot_id = ?"
                                             " ORDER BY id", (shot_id,)))
        features = []
        for f in self._execute("SELECT feature, state, reason, blur_px, blur_sd_px, blur_um, coc_share, found_x_px,"
                               " found_y_px, drift_px FROM feature_verdicts WHERE shot_id = ? ORDER BY feature", (shot_id,)):
            found_x, found_y = _real(f[7]), _real(f[8])
            found = (found_x, found_y) if found_x is not None and found_y is not None else None
            features.append(FeatureVerdict(f[0], _text(f[1], "unknown"), _text(f[2]) or None, _real(f[3]), _real(f[4]),
                                           _real(f[5]), _real(f[6]), found, _real(f[9])))
        record = ShotRecord(_text(row[3]), files, _outcome(row[4]), _text(row[5]) or None, tuple(features), _real(row[6]),
                            _real(row[7]), _mapping(row[8]), _mapping(row[9]), _text(row[10]) or None,
                            row[11] if type(row[11]) is int else None)
        return LoggedShot(shot_id, row[1], _text(row[2]), record)

    def integrity_problems(self) -> list[str]:
        """What SQLite's own check finds wrong (empty when the database is whole)."""
        problems = [row[0] for row in self._execute("PRAGMA integrity_check")]
        problems += [f"foreign key broken in {row[0]}" for row in self._execute("PRAGMA foreign_key_check")]
        return [p for p in problems if p != "ok"]


def relative_to_folder(folder: Path, path: Path | str) -> str:
    """How a file is named in a session's log: relative to the session folder when inside
    it (the session can be moved whole), otherwise absolute; as :func:`log_text`."""
    path = Path(path).absolute()
    try:
        return log_text(path.relative_to(Path(folder).absolute()).as_posix())
    except ValueError:
        return log_text(str(path))


def log_text(text: str) -> str:
    r"""``text`` as the log (UTF-8) can hold it: a file name that is no valid UTF-8 (bytes
    from another system, which Python keeps as lone surrogates) has each such byte written
    as ``\xNN``; any other text is itself."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")


def now_utc() -> str:
    """Now, in UTC, to the millisecond (ISO 8601): the log's timestamps."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
