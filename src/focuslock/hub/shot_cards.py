"""A shot as the QC page shows it, read from the hub: who shot it, its name and SKU, its
verdict and why, and whether its two previews are there; and the previews themselves.

Read by the hub's identity ``id`` (the order shots reached the hub, which the
``focuslock_shots`` notification carries). Names are the stations' untrusted text.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuslock.hub.daylist import day_bounds
from focuslock.session.verdict import ShotOutcome

if TYPE_CHECKING:
    import psycopg

__all__ = ["Preview", "ShotCard", "newest_cards", "cards_by_id", "shot_preview"]

_COLUMNS = ("SELECT s.id, s.station_id, st.name, s.session_key, se.name, s.sequence, s.logged_utc, s.name, s.sku, s.view, "
            "s.verdict, s.reason, s.worst_coc_share, s.thumbnail_jpeg IS NOT NULL, s.crop_jpeg IS NOT NULL "
            "FROM shots s JOIN stations st ON st.id = s.station_id "
            "JOIN sessions se ON se.station_id = s.station_id AND se.session_key = s.session_key ")


class Preview(enum.StrEnum):
    """A shot's two previews (``hub/schema.py``: ``thumbnail_jpeg``, ``crop_jpeg``)."""

    THUMBNAIL = "thumbnail"
    CROP = "crop"


@dataclass(frozen=True)
class ShotCard:
    """One shot on the hub, as the QC page shows it."""

    id: int
    station_id: str
    station: str
    session_key: str
    session: str
    sequence: int
    logged_utc: _dt.datetime
    name: str
    sku: str | None
    view: str | None
    verdict: ShotOutcome
    reason: str | None
    worst_coc_share: float | None
    has_thumbnail: bool
    has_crop: bool

    def to_json(self) -> dict:
        return {"id": self.id, "station_id": self.station_id, "station": self.station, "session_key": self.session_key,
                "session": self.session, "sequence": self.sequence, "logged_utc": self.logged_utc.isoformat(),
                "name": self.name, "sku": self.sku, "view": self.view, "verdict": self.verdict.value, "reason": self.reason,
                "worst_coc_share": self.worst_coc_share, "thumbnail": self.has_thumbnail, "crop": self.has_crop}


def _card(row: tuple) -> ShotCard:
    (shot_id, station_id, station, session_key, session, sequence, logged, name, sku, view, verdict, reason, worst,
     thumbnail, crop) = row
    return ShotCard(int(shot_id), str(station_id), str(station), str(session_key), str(session), int(sequence), logged,
                    str(name), sku, view, ShotOutcome(verdict), reason, worst, bool(thumbnail), bool(crop))


def newest_cards(connection: psycopg.Connection, limit: int, day: _dt.date | None = None) -> list[ShotCard]:
    """The ``limit`` shots that reached the hub last among those logged on ``day`` (default
    today on this machine), newest first."""
    start, end = day_bounds(day or _dt.date.today())
    rows = connection.execute(_COLUMNS + "WHERE s.logged_utc >= %s AND s.logged_utc < %s ORDER BY s.id DESC LIMIT %s",
                              (start, end, limit)).fetchall()
    return [_card(row) for row in rows]


def cards_by_id(connection: psycopg.Connection, ids: Sequence[int]) -> list[ShotCard]:
    """The shots of these hub ids, in the order they reached the hub (unknown ids: none)."""
    if not ids:
        return []
    rows = connection.execute(_COLUMNS + "WHERE s.id = ANY(%s) ORDER BY s.id", (list(ids),)).fetchall()
    return [_card(row) for row in rows]


def shot_preview(connection: psycopg.Connection, shot_id: int, which: Preview) -> bytes | None:
    """The JPEG of a shot's preview; None when the shot or that preview is not there."""
    column = {Preview.THUMBNAIL: "thumbnail_jpeg", Preview.CROP: "crop_jpeg"}[which]
    row = connection.execute(f"SELECT {column} FROM shots WHERE id = %s", (shot_id,)).fetchone()
    return None if row is None or row[0] is None else bytes(row[0])
