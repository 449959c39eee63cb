"""A station's sync: its session's outbox sent to the hub, in order, on a thread of its own.

The one place every front end starts it (:func:`attach_hub`: ``capture --session``,
``watch --session``, the window's session and ``serve`` with ``--hub URL``). Local-first:

* each shot enters the outbox in the shot's own SQLite transaction (``session/store.py``),
  so what is logged will be sent, whatever is killed when;
* the thread sends the oldest unsent shots, a batch per PostgreSQL transaction
  (``hub/send.py``: ``ON CONFLICT DO NOTHING`` on the shot's key), and marks them sent
  only after the hub's COMMIT returned: a kill of either side in between sends the batch
  again, and the hub keeps it once;
* when the hub is away the thread waits and tries again (1 s, doubling to 30 s), saying
  so once when the hub goes and once when it is back; a capture never waits for it;
* closing the session gives the thread ``FLUSH_S`` to send what is left while the hub
  answers; what it could not send stays in the outbox for the next run with ``--hub``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from focuslock.core.errors import FocuslockError
from focuslock.hub.connection import HubError, HubUnreachable, describe_url, open_hub
from focuslock.hub.numbers import SkuNumbers, register_station
from focuslock.hub.send import send_batch, send_retractions, send_session
from focuslock.hub.station import Station, StationBook, station_identity
from focuslock.session.database import DATABASE_NAME
from focuslock.session.outbox import Outbox

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

__all__ = ["HubLink", "HubSync", "attach_hub"]

log = logging.getLogger(__name__)

BATCH = 50
IDLE_S = 0.2  # how often an idle sync looks at its own outbox (local SQLite, never the hub)
BACKOFF_S = (1.0, 30.0)
FLUSH_S = 10.0


@dataclass(frozen=True)
class HubLink:
    """What a command's ``--hub URL`` and ``--station NAME`` ask for."""

    url: str
    station: str | None = None


class SessionLog(Protocol):
    """A session's writer (``ShotStore``, or ``NewSessionLog`` before its first shot)."""

    folder: Path

    def start_outbox(self) -> int: ...
    def on_close(self, callback: Callable[[], None]) -> None: ...


class HubSync:
    """The thread that empties a session's outbox into the hub."""

    def __init__(self, folder: Path, link: HubLink, station: Station, book: StationBook, *, away: bool = False) -> None:
        self.folder, self.link, self.station, self.book = Path(folder), link, station, book
        self.where = describe_url(link.url)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._stop = threading.Event()
        self._outbox: Outbox | None = None
        self._connection: psycopg.Connection | None = None
        self._number: int | None = None  # the station's number, registered once per connection
        self._away = away  # the hub did not answer when the session opened (said then)
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="focuslock-hub-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self, flush_s: float = FLUSH_S) -> None:
        """Stop after sending what is left (while the hub answers, at most ``flush_s``)."""
        self._closing.set()
        self._wake.set()
        self._thread.join(flush_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(30)
        self._drop_connection()
        self._say_unsent()
        if self._outbox is not None:
            self._outbox.close()
            self._outbox = None

    def _say_unsent(self) -> None:
        """At the end, what did not reach the hub is said (a closing "Done" must not read
        as "all on the hub"): it waits in the log's outbox for the next run with --hub."""
        try:
            if self._outbox is None and (self.folder / DATABASE_NAME).is_file():
                self._outbox = Outbox(self.folder)
            left = self._outbox.pending_count() if self._outbox is not None else 0
        except FocuslockError:
            return
        if left:
            log.warning("%d shot%s of %s did not reach the hub %s; %s in the session's log and will be sent by the "
                        "next run with --hub.", left, "" if left == 1 else "s", self.folder, self.where,
                        "it waits" if left == 1 else "they wait")

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        backoff = BACKOFF_S[0]
        while not self._stop.is_set():
            try:
                if self._send_some():
                    backoff = BACKOFF_S[0]
                    continue  # more may be waiting
                if self._closing.is_set():
                    return  # nothing left to send
                self._wait(IDLE_S)
            except HubUnreachable as error:
                self._drop_connection()
                if not self._away:
                    self._away = True
                    log.warning("The hub %s went away (%s); this station keeps shooting and will send its shots when "
                                "the hub is back.", self.where, error)
                if self._closing.is_set():
                    return
                self._wait(backoff)
                backoff = min(backoff * 2, BACKOFF_S[1])
            except FocuslockError as error:  # the log or the hub refused: said once per kind, tried again later
                self._drop_connection()
                log.warning("The hub sync of %s is held up: %s", self.folder, error)
                if self._closing.is_set():
                    return
                self._wait(BACKOFF_S[1])

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _send_some(self) -> bool:
        """Send one batch; True when one was sent."""
        import psycopg

        if self._outbox is None:
            if not (self.folder / DATABASE_NAME).is_file():
                return False  # a new session: nothing is written before its first shot
            self._outbox = Outbox(self.folder)
        batch = self._outbox.pending(BATCH)
        retracted = self._outbox.pending_retractions(BATCH)
        if not batch and not retracted:
            return False
        try:
            connection = self._hub()
            with connection.transaction():
                if self._number is None:
                    self._number = register_station(connection, self.station)
                number = self._number
                facts = self._outbox.facts()
                send_session(connection, self.station, facts)
                # A replaced shot is set aside with its replacement, in one transaction.
                send_retractions(connection, self.station, facts.key, retracted)
                new = send_batch(connection, self.station, number, facts.key, batch)
        except psycopg.OperationalError as error:
            raise HubUnreachable(str(error).strip().splitlines()[0] if str(error).strip() else "no answer") from None
        except psycopg.Error as error:
            raise HubError(f"the hub {self.where} refused a shot ({str(error).strip().splitlines()[0]})") from None
        self.book.keep_hub_number(self.station.id, number)
        self._outbox.mark_sent([item.shot.id for item in batch])  # only now: the hub has committed them
        self._outbox.mark_retracted(retracted)
        self.sent += new
        log.info("hub %s: %d shots sent (%d new)", self.where, len(batch), new)
        return True

    def _hub(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            self._connection = open_hub(self.link.url, autocommit=True)
            if self._away:
                self._away = False
                log.warning("The hub %s is back; sending this station's shots.", self.where)
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection, self._number = self._connection, None, None
        if connection is not None:
            connection.close()


def attach_hub(session_log: SessionLog, link: HubLink) -> SkuNumbers:
    """Sync ``session_log`` to the hub from now on (its shots enter the outbox; the
    thread starts; it stops when the log closes) and return the SKU numbers for names.
    A hub that answers but cannot be used (no schema, a newer one) is refused here, in
    one sentence, before anything is shot; a hub that does not answer is synced later."""
    book = StationBook()
    station = station_identity(link.station, book)
    away = False
    try:
        open_hub(link.url).close()
    except HubUnreachable as error:
        away = True
        log.warning("%s This station keeps shooting and will send its shots when the hub is back.", error)
    session_log.start_outbox()
    sync = HubSync(session_log.folder, link, station, book, away=away)
    numbers = SkuNumbers(link.url, station, book)

    def stop() -> None:
        sync.close()
        numbers.close()
        book.close()

    session_log.on_close(stop)
    sync.start()
    return numbers
