"""A station's registration on the hub and the SKU numbers of the names (``{seq}``).

The rule (docs/HUB.md, DESIGN-NOTES "The hub"):

* With the hub reachable, a SKU's next number comes from the hub, in one transaction
  (``sku_sequences`` advanced, the number recorded in ``sku_numbers``): 1 to 99 999,
  unique across every station.
* With the hub away, a station numbers alone in its own block: station number *n*
  (given by the hub the first time the station reached it, 1 to 9 999) numbers
  ``n × 100 000 + k``, ``k`` = 1, 2, … per SKU, counted in the station's file
  (``hub/station.py``). The blocks never meet each other nor the hub's range, and the
  name says where the number came from: ``A123_0007`` from the hub, ``A123_300002`` the
  second offline shot of station 3. When the shot reaches the hub, its number enters
  ``sku_numbers`` (source ``offline``).
* A station that never reached the hub has no block: its names keep the session's own
  shot number, and its shots carry no SKU number (nothing claims to be unique).

A hub that does not answer costs a capture at most ``NUMBER_TIMEOUT_S``; after that the
station numbers offline for ``RETRY_AFTER_S`` before it asks the hub again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from focuslock.hub.connection import HubError, HubUnreachable, describe_url, open_hub
from focuslock.hub.station import Station, StationBook

if TYPE_CHECKING:
    import psycopg

__all__ = ["BLOCK", "HUB_MAX", "SkuNumbers", "offline_number", "register_station"]

log = logging.getLogger(__name__)

BLOCK = 100_000  # station n's offline numbers: n * BLOCK + 1 … n * BLOCK + HUB_MAX
HUB_MAX = BLOCK - 1
NUMBER_TIMEOUT_S = 3.0
RETRY_AFTER_S = 20.0
_REGISTRATION_LOCK = 0x666F63757369


def register_station(connection: psycopg.Connection, station: Station) -> int:
    """Register ``station`` (or mark it seen) in the caller's transaction; its number."""
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (_REGISTRATION_LOCK,))
    row = connection.execute(
        "INSERT INTO stations (id, name, number) VALUES (%s, %s, (SELECT COALESCE(MAX(number), 0) + 1 FROM stations)) "
        "ON CONFLICT (id) DO UPDATE SET last_seen_utc = now(), name = EXCLUDED.name RETURNING number",
        (station.id, station.name)).fetchone()
    assert row is not None  # INSERT … RETURNING always returns the row
    return int(row[0])


def offline_number(station_number: int, count: int) -> int:
    """The ``count``-th offline number of station ``station_number`` (in its own block)."""
    if not 1 <= count <= HUB_MAX:
        raise HubError(f"This station has numbered {HUB_MAX} shots of one SKU offline; reach the hub to go on.")
    return station_number * BLOCK + count


def hub_next_number(connection: psycopg.Connection, sku: str, station_id: str) -> int:
    """The SKU's next number from the hub, in the caller's transaction."""
    row = connection.execute(
        "INSERT INTO sku_sequences (sku, last_number) VALUES (%s, 1) ON CONFLICT (sku) DO UPDATE "
        "SET last_number = sku_sequences.last_number + 1 RETURNING last_number", (sku,)).fetchone()
    assert row is not None
    number = int(row[0])
    if number > HUB_MAX:
        raise HubError(f"The hub has numbered {HUB_MAX} shots of {sku}; use another SKU.")
    connection.execute("INSERT INTO sku_numbers (sku, number, station_id, source) VALUES (%s, %s, %s, 'hub')",
                       (sku, number, station_id))
    return number


class SkuNumbers:
    """``numbers(sku)``: the SKU's next number for a name, from the hub or offline."""

    def __init__(self, url: str, station: Station, book: StationBook) -> None:
        self.url, self.station, self.book = url, station, book
        self._connection: psycopg.Connection | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, sku: str) -> int | None:
        with self._lock:
            if time.monotonic() >= self._retry_at:
                try:
                    return self._from_hub(sku)
                except HubUnreachable as error:
                    self._drop_connection()
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                    log.warning("The hub %s is away (%s); this station numbers %s alone in its own block.",
                                describe_url(self.url), error, sku)
            number = self.book.hub_number(self.station.id)
            if number is None:
                return None  # never registered: no block of its own, the session's number stays
            return offline_number(number, self.book.next_offline(self.station.id, sku))

    def _from_hub(self, sku: str) -> int:
        import psycopg

        try:
            if self._connection is None or self._connection.closed:
                self._connection = open_hub(self.url, timeout_s=NUMBER_TIMEOUT_S)
                self._connection.execute(f"SET statement_timeout = {int(NUMBER_TIMEOUT_S * 1000)}")
                self._connection.commit()
            connection = self._connection
            with connection.transaction():
                station_number = register_station(connection, self.station)
                number = hub_next_number(connection, sku, self.station.id)
            connection.commit()
        except psycopg.OperationalError as error:
            raise HubUnreachable(str(error).strip().splitlines()[0] if str(error).strip() else "no answer") from None
        self.book.keep_hub_number(self.station.id, station_number)
        return number

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
