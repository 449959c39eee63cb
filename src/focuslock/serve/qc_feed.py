"""The QC page's feed: the hub's shots as they land, pushed to every open page.

A thread of its own holds a connection that ``LISTEN focuslock_shots`` (the hub's trigger,
``hub/schema.py``) and sleeps in psycopg's ``notifies()`` until PostgreSQL delivers a
notification: the database is never polled for shots. Each notification's shot is read by
its hub id and handed to the server's event loop, which sends it to every page's
WebSocket (a shot set aside — its file judged again — is sent as ``replaced``: the pages
drop its card); then the day's list (``hub/queries.py`` ``day_list``) is read again and sent
after it (on a busy day it takes longer to read: notifications that come meanwhile are
taken together next time).

When the hub goes away (server stopped, crashed, network gone: TCP keepalives notice a
silent one: ``hub/connection.py`` opens every connection with TCP keepalives and a user
timeout) every page is told at once, with the time it went and the first reason; the feed tries again (1 s,
doubling to 15 s) and, back, sends each page the whole picture again (shots may have
landed meanwhile): a page never shows as live what it no longer hears.

A page that does not read its messages is not queued for without end: past
``MAILBOX`` messages its mailbox is emptied and the whole picture put in their place.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import functools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from focuslock.hub.connection import HubError, HubUnreachable, describe_url, open_hub
from focuslock.hub.queries import HubShot, day_shots, shots_since
from focuslock.hub.schema import NOTIFY_CHANNEL
from focuslock.serve.qc_json import StudioDay, read_day, shot_json

if TYPE_CHECKING:
    import psycopg

__all__ = ["HubReader", "HubState", "QcFeed"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
SHOWN = 48  # the newest shots a page holds
MAILBOX = 256  # messages waiting for one page before it is given the whole picture instead
WAKE_S = 1.0  # the feed's thread looks at its stop flag (and the date) this often; the hub is not asked
BACKOFF_S = (1.0, 15.0)
MOST_AT_ONCE = 500  # notifications read before the shots are fetched


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class HubReader:
    """A connection for reading the hub, opened when first needed and dropped when it
    fails (the next read opens another); one reader at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def read(self, query: Callable[[psycopg.Connection], T]) -> T:
        """``query`` run on the connection; :class:`HubUnreachable` when the hub is away."""
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                fresh = self._connection is None or self._connection.closed
                try:
                    if self._connection is None or self._connection.closed:
                        self._connection = open_hub(self.url, autocommit=True, timeout_s=5)
                    return query(self._connection)
                except psycopg.OperationalError as error:
                    self._close()
                    if fresh or attempt == 2:  # an old connection the hub dropped (restarted) is tried once anew
                        raise HubUnreachable(f"The hub {describe_url(self.url)} went away ({_first_line(error)}).") from None
            raise AssertionError("unreachable")

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._close()


@dataclass(frozen=True)
class HubState:
    """Whether the feed hears the hub now, the sentence to show, and since when (UTC)."""

    up: bool
    message: str
    since: _dt.datetime

    def to_json(self) -> dict:
        return {"up": self.up, "message": self.message, "since": self.since.isoformat()}


class QcFeed:
    """The hub's shots for the pages (see the module's text). :meth:`start` on the server's
    event loop; :meth:`subscribe` gives a page its mailbox, the whole picture first."""

    def __init__(self, url: str, shown: int = SHOWN) -> None:
        self.url = url
        self.reader = HubReader(url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Owned by the event loop's thread:
        self.state = HubState(False, f"Reaching the hub {describe_url(url)}…", _dt.datetime.now(_dt.UTC))
        self.shots: deque[HubShot] = deque(maxlen=shown)
        self.day: StudioDay | None = None
        self._mailboxes: set[asyncio.Queue[str]] = set()
        self._away_said = False

    # ------------------------------------------------------------------ the event loop's side
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="focuslock-qc-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
        self.reader.close()

    def subscribe(self) -> asyncio.Queue[str]:
        mailbox: asyncio.Queue[str] = asyncio.Queue()
        mailbox.put_nowait(self.snapshot_text())
        self._mailboxes.add(mailbox)
        return mailbox

    def unsubscribe(self, mailbox: asyncio.Queue[str]) -> None:
        self._mailboxes.discard(mailbox)

    def snapshot_text(self) -> str:
        return json.dumps({"type": "snapshot", "hub": self.state.to_json(), "shots": [shot_json(s) for s in self.shots],
                           "day": None if self.day is None else self.day.to_json()})

    def _send(self, text: str) -> None:
        for mailbox in self._mailboxes:
            if mailbox.qsize() >= MAILBOX:
                while not mailbox.empty():
                    mailbox.get_nowait()
                mailbox.put_nowait(self.snapshot_text())
            else:
                mailbox.put_nowait(text)

    def _up(self, cards: list[HubShot], day: StudioDay) -> None:
        self._away_said = False
        if not self.state.up:
            self.state = HubState(True, f"Live from the hub {describe_url(self.url)}.", _dt.datetime.now(_dt.UTC))
        self.shots.clear()
        self.shots.extend(reversed(cards))  # cards come newest first; the deque keeps newest last
        self.day = day
        self._send(self.snapshot_text())

    def _landed(self, cards: list[HubShot]) -> None:
        shown = {card.id for card in self.shots}
        cards = [card for card in cards if card.id not in shown]  # a shot both in the whole picture and notified
        if cards:
            self.shots.extend(cards)
            self._send(json.dumps({"type": "shots", "shots": [shot_json(c) for c in cards]}))

    def _replaced(self, ids: list[int]) -> None:
        """Shots set aside (their file judged again): every page drops their cards."""
        gone = set(ids)
        kept = [card for card in self.shots if card.id not in gone]
        if len(kept) != len(self.shots):
            self.shots.clear()
            self.shots.extend(kept)
        self._send(json.dumps({"type": "replaced", "ids": sorted(gone)}))

    def _new_day(self, day: StudioDay) -> None:
        self.day = day
        self._send(json.dumps({"type": "day", "day": day.to_json()}))

    def _away(self, message: str) -> None:
        if self._away_said and not self.state.up:
            return  # the first reason stands until the hub is back (tries that fail again say nothing new)
        self._away_said = True
        self.state = HubState(False, message, self.state.since if not self.state.up else _dt.datetime.now(_dt.UTC))
        self._send(json.dumps({"type": "hub", "hub": self.state.to_json()}))

    def _call(self, function: Callable[..., None], *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(function, *args)

    # ------------------------------------------------------------------ the feed's thread
    def _run(self) -> None:
        import psycopg

        wait = BACKOFF_S[0]
        while not self._stop.is_set():
            listening = None
            try:
                listening = open_hub(self.url, autocommit=True, timeout_s=5)
                listening.execute(f"LISTEN {NOTIFY_CHANNEL}")
                # Read after LISTEN: a shot that lands meanwhile is in the picture or notified (or both).
                day = _dt.date.today()
                cards, days = self.reader.read(functools.partial(_whole_picture, limit=self.shots.maxlen or SHOWN, day=day))
                self._call(self._up, cards, days)
                logger.info("QC feed: listening on %s", describe_url(self.url))
                wait = BACKOFF_S[0]
                while not self._stop.is_set():
                    ids, replaced = self._landed_ids(listening)
                    if replaced:
                        self._call(self._replaced, replaced)
                    if ids:  # the shots first: the day's list takes longer to read on a busy day
                        self._call(self._landed, self.reader.read(functools.partial(_landed_shots, ids=ids)))
                    if ids or replaced or _dt.date.today() != day:
                        day = _dt.date.today()
                        self._call(self._new_day, self.reader.read(functools.partial(read_day, day=day)))
            except (HubError, psycopg.Error) as error:
                message = str(error) if isinstance(error, HubError) else \
                    f"The hub {describe_url(self.url)} went away ({_first_line(error)})."
                logger.info("QC feed: %s", message)  # `hub serve` says it once, and once when it is back
                self._call(self._away, message)
                self._stop.wait(wait)
                wait = min(2 * wait, BACKOFF_S[1])
            finally:
                if listening is not None:
                    listening.close()

    def _landed_ids(self, listening: psycopg.Connection) -> tuple[list[int], list[int]]:
        """The hub ids of the shots notified, new and set aside: waits up to ``WAKE_S`` for
        a first notification, then takes those already there."""
        ids: list[int] = []
        replaced: list[int] = []
        for note in listening.notifies(timeout=WAKE_S, stop_after=1):
            _sort_note(note.payload, ids, replaced)
        if ids or replaced:
            for note in listening.notifies(timeout=0.02):
                _sort_note(note.payload, ids, replaced)
                if len(ids) + len(replaced) >= MOST_AT_ONCE:
                    break
        return ids, replaced


def _whole_picture(connection: psycopg.Connection, limit: int, day: _dt.date) -> tuple[list[HubShot], StudioDay]:
    """The day's newest ``limit`` shots, newest first, and the day."""
    return day_shots(connection, day)[-limit:][::-1], read_day(connection, day)


def _landed_shots(connection: psycopg.Connection, ids: list[int]) -> list[HubShot]:
    """The shots notified (and any other committed among them: the page keeps each once).
    Read from the lowest id notified up to every one of them (a batch may commit after higher ids)."""
    landed: list[HubShot] = []
    wanted, after = set(ids), min(ids, default=0) - 1
    while wanted:
        rows = shots_since(connection, after, MOST_AT_ONCE)
        if not rows:
            break  # an id no longer there (not one focuslock deletes)
        landed += rows
        wanted -= {row.id for row in rows}
        after = rows[-1].id
    return landed


def _sort_note(payload: str, landed: list[int], replaced: list[int]) -> None:
    """A notification's shot id into ``landed`` (a new shot) or ``replaced`` (set aside)."""
    try:
        note = json.loads(payload)
        shot_id = note["id"]
    except (ValueError, KeyError, TypeError):
        shot_id = None
    if not isinstance(shot_id, int) or isinstance(shot_id, bool):
        logger.warning("QC feed: a notification on %s that is not a shot's: %.80r", NOTIFY_CHANNEL, payload)
        return
    (replaced if note.get("replaced") is True else landed).append(shot_id)
