"""The studio's day, read from the hub: the day's list and the verdicts per station.

One function, :func:`day_list`, for every reader of it (the QC page of ``focuslock hub
serve``, ``focuslock hub status``). A day is a calendar day of the machine that asks, from
its midnight to the next (shots are placed by ``logged_utc``, when the station logged them).

* **not shot**: SKUs on the day's shot list (``shot_list``) with no shot that day;
* **to reshoot**: SKUs on the list that were shot, none of whose shots that day passed
  (each SOFT, UNCERTAIN or DRIFT: the verdict words of ``session/verdict.py``), with the
  newest shot's verdict and reason;
* **misnamed**: shots of the day whose SKU is not on the list (or that carry none) — only
  when a list was imported for the day; without one nothing can be called misnamed, and
  :attr:`DayList.has_list` says so;
* **stations**: per station, the sessions and shots of the day counted per verdict (every
  station the hub knows, an idle one with zeros), as a session report counts its own.

Everything read here is as the stations sent it: names and SKUs are untrusted text, for
the caller to escape where it shows them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuslock.session.verdict import ShotOutcome

if TYPE_CHECKING:
    import psycopg

__all__ = ["MISNAMED_SHOWN", "DayList", "ListedSku", "Misnamed", "SkuToReshoot", "StationDay", "day_bounds", "day_list"]

# At most this many misnamed shots are listed (all are counted).
MISNAMED_SHOWN = 200


def day_bounds(day: _dt.date) -> tuple[_dt.datetime, _dt.datetime]:
    """The day's first instant and the next day's, in this machine's time zone (aware)."""
    start = _dt.datetime.combine(day, _dt.time()).astimezone()
    end = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time()).astimezone()
    return start, end


@dataclass(frozen=True)
class ListedSku:
    """A SKU of the day's list: its code, its name on the list and the views expected."""

    sku: str
    name: str
    views_expected: int

    def to_json(self) -> dict:
        return {"sku": self.sku, "name": self.name, "views_expected": self.views_expected}


@dataclass(frozen=True)
class SkuToReshoot:
    """A listed SKU shot that day with no passing shot: how many shots, the newest one's
    verdict and reason, and its id on the hub (for its previews)."""

    listed: ListedSku
    shots: int
    verdict: ShotOutcome
    reason: str | None
    shot_id: int

    def to_json(self) -> dict:
        return self.listed.to_json() | {"shots": self.shots, "verdict": self.verdict.value, "reason": self.reason,
                                        "shot_id": self.shot_id}


@dataclass(frozen=True)
class Misnamed:
    """A shot of the day whose SKU is not on the day's list (``sku`` None: it carries none)."""

    shot_id: int
    station: str
    name: str
    sku: str | None
    verdict: ShotOutcome

    def to_json(self) -> dict:
        return {"shot_id": self.shot_id, "station": self.station, "name": self.name, "sku": self.sku,
                "verdict": self.verdict.value}


@dataclass(frozen=True)
class StationDay:
    """A station's day: its sessions and shots counted per verdict, its newest shot's time."""

    station_id: str
    name: str
    sessions: int
    counts: dict[ShotOutcome, int]
    last_shot_utc: _dt.datetime | None

    @property
    def shots(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict:
        return {"station": self.station_id, "name": self.name, "sessions": self.sessions, "shots": self.shots,
                "counts": {v.value: self.counts.get(v, 0) for v in ShotOutcome},
                "last_shot_utc": None if self.last_shot_utc is None else self.last_shot_utc.isoformat()}


@dataclass(frozen=True)
class DayList:
    """The studio's day (see the module's text)."""

    day: _dt.date
    has_list: bool
    listed: int
    not_shot: tuple[ListedSku, ...]
    to_reshoot: tuple[SkuToReshoot, ...]
    misnamed: tuple[Misnamed, ...]
    misnamed_count: int
    stations: tuple[StationDay, ...]

    @property
    def counts(self) -> dict[ShotOutcome, int]:
        """The studio's shots of the day per verdict."""
        return {v: sum(s.counts.get(v, 0) for s in self.stations) for v in ShotOutcome}

    def to_json(self) -> dict:
        return {"day": self.day.isoformat(), "has_list": self.has_list, "listed": self.listed,
                "counts": {v.value: n for v, n in self.counts.items()},
                "not_shot": [s.to_json() for s in self.not_shot], "to_reshoot": [s.to_json() for s in self.to_reshoot],
                "misnamed": [m.to_json() for m in self.misnamed], "misnamed_count": self.misnamed_count,
                "stations": [s.to_json() for s in self.stations]}


def day_list(connection: psycopg.Connection, day: _dt.date | None = None) -> DayList:
    """The day's list and the stations' verdicts for ``day`` (default: today on this machine)."""
    day = day or _dt.date.today()
    start, end = day_bounds(day)
    listed = [ListedSku(str(sku), str(name), int(views)) for sku, name, views in connection.execute(
        "SELECT sku, name, views_expected FROM shot_list WHERE list_date = %s ORDER BY sku", (day,)).fetchall()]
    by_sku = {item.sku: item for item in listed}
    shot: dict[str, tuple[int, bool, int, str, str | None]] = {}
    for sku, count, passed, newest_id, newest_verdict, newest_reason in connection.execute(
            "SELECT sku, count(*), bool_or(verdict = 'pass'), (array_agg(id ORDER BY id DESC))[1], "
            "(array_agg(verdict ORDER BY id DESC))[1], (array_agg(reason ORDER BY id DESC))[1] "
            "FROM shots WHERE logged_utc >= %s AND logged_utc < %s AND sku IS NOT NULL GROUP BY sku",
            (start, end)).fetchall():
        shot[str(sku)] = (int(count), bool(passed), int(newest_id), str(newest_verdict), newest_reason)
    not_shot = tuple(item for item in listed if item.sku not in shot)
    to_reshoot = tuple(SkuToReshoot(by_sku[sku], count, ShotOutcome(verdict), reason, newest_id)
                       for sku, (count, passed, newest_id, verdict, reason) in sorted(shot.items())
                       if sku in by_sku and not passed)
    misnamed: tuple[Misnamed, ...] = ()
    misnamed_count = 0
    if listed:
        outside = ("FROM shots s JOIN stations st ON st.id = s.station_id WHERE s.logged_utc >= %s AND s.logged_utc < %s "
                   "AND NOT EXISTS (SELECT 1 FROM shot_list l WHERE l.list_date = %s AND l.sku = s.sku)")
        row = connection.execute("SELECT count(*) " + outside, (start, end, day)).fetchone()
        misnamed_count = int(row[0]) if row else 0
        misnamed = tuple(Misnamed(int(i), str(station), str(name), sku, ShotOutcome(verdict)) for i, station, name, sku, verdict
                         in connection.execute("SELECT s.id, st.name, s.name, s.sku, s.verdict " + outside +
                                               " ORDER BY s.id DESC LIMIT %s", (start, end, day, MISNAMED_SHOWN)).fetchall())
    return DayList(day, bool(listed), len(listed), not_shot, to_reshoot, misnamed, misnamed_count,
                   _stations(connection, start, end))


def _stations(connection: psycopg.Connection, start: _dt.datetime, end: _dt.datetime) -> tuple[StationDay, ...]:
    counts: dict[str, dict[ShotOutcome, int]] = {}
    for station_id, verdict, count in connection.execute(
            "SELECT station_id, verdict, count(*) FROM shots WHERE logged_utc >= %s AND logged_utc < %s "
            "GROUP BY station_id, verdict", (start, end)).fetchall():
        counts.setdefault(str(station_id), {})[ShotOutcome(verdict)] = int(count)
    days = []
    for station_id, name, sessions, last in connection.execute(
            "SELECT st.id, st.name, count(DISTINCT s.session_key), max(s.logged_utc) FROM stations st "
            "LEFT JOIN shots s ON s.station_id = st.id AND s.logged_utc >= %s AND s.logged_utc < %s "
            "GROUP BY st.id, st.name ORDER BY st.name, st.id", (start, end)).fetchall():
        days.append(StationDay(str(station_id), str(name), int(sessions), counts.get(str(station_id), {}), last))
    return tuple(days)
