"""What ``focuslock hub serve`` sends: the hub's answers (``hub/queries.py``,
``hub/station_day.py``) as JSON for the QC page, its WebSocket and ``GET /api/day``
(the OpenAPI schema, ``serve/qc_openapi.py``, describes the same)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuslock.hub.queries import NOT_SHARP, NOT_SHOT, SHORT, DayList, HubShot, ListedEntry, day_list
from focuslock.hub.station_day import StationDay, station_days
from focuslock.session.verdict import ShotOutcome

if TYPE_CHECKING:
    import psycopg

__all__ = ["LIST_SHOWN", "MISNAMED_SHOWN", "StudioDay", "read_day", "shot_json"]

# At most this many entries of each of the day's lists are sent (all are counted): a list of
# thousands of SKUs is not sent to every page at every shot.
LIST_SHOWN = 300
MISNAMED_SHOWN = 200


@dataclass(frozen=True)
class StudioDay:
    """The day's list and every station's verdicts of the day, read together."""

    listed: DayList
    stations: tuple[StationDay, ...]

    def to_json(self) -> dict:
        counts = {v.value: sum(s.counts.get(v, 0) for s in self.stations) for v in ShotOutcome}
        lists = {"not_shot": self.listed.having(NOT_SHOT), "to_reshoot": self.listed.having(NOT_SHARP),
                 "short_of_views": self.listed.having(SHORT)}
        return {"day": self.listed.day.isoformat(), "has_list": bool(self.listed.entries),
                "listed": len(self.listed.entries), "counts": counts,
                **{name: [_entry(e) for e in entries[:LIST_SHOWN]] for name, entries in lists.items()},
                "misnamed": [shot_json(s) for s in self.listed.misnamed[-MISNAMED_SHOWN:][::-1]],
                "sizes": {name: len(entries) for name, entries in lists.items()} | {"misnamed": len(self.listed.misnamed)},
                "stations": [_station(s) for s in self.stations]}


def read_day(connection: psycopg.Connection, day: _dt.date | None = None) -> StudioDay:
    """The studio's ``day`` (default: today on this machine)."""
    day = day or _dt.date.today()
    return StudioDay(day_list(connection, day), station_days(connection, day))


def shot_json(shot: HubShot) -> dict:
    """A shot as the page and ``GET /api/shots`` have it."""
    return {"id": shot.id, "station_id": shot.station_id, "station": shot.station_name, "session_key": shot.session_key,
            "session": shot.session_name, "sequence": shot.sequence, "logged_utc": shot.logged_utc.isoformat(),
            "name": shot.name, "sku": shot.sku, "verdict": shot.verdict, "reason": shot.reason,
            "worst_coc_share": shot.worst_coc_share, "thumbnail": shot.has_thumbnail, "crop": shot.has_crop}


def _entry(entry: ListedEntry) -> dict:
    return {"sku": entry.sku, "name": entry.name, "views_expected": entry.views_expected, "shots": entry.shots,
            "passed": entry.passed, "state": entry.state, "last_verdict": entry.last_verdict,
            "view_names": list(entry.view_names), "missing_views": list(entry.missing_views),
            "views_told_apart": entry.views_told_apart, "views_said": entry.views_said}


def _station(station: StationDay) -> dict:
    return {"station": station.station_id, "name": station.name, "sessions": station.sessions, "shots": station.shots,
            "counts": {v.value: station.counts.get(v, 0) for v in ShotOutcome},
            "last_shot_utc": None if station.last_shot_utc is None else station.last_shot_utc.isoformat()}
