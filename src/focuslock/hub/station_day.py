"""Each station's day on the hub, counted per verdict: the studio-wide summary a session
report gives of one session (``session/report.py``: the verdicts counted), for the QC
page of ``focuslock hub serve``. A day as ``hub/queries.py`` has it: the caller's local
day (:func:`~focuslock.hub.queries.day_bounds`), a range on ``logged_utc``."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuslock.hub.queries import day_bounds
from focuslock.session.verdict import ShotOutcome

if TYPE_CHECKING:
    import psycopg

__all__ = ["StationDay", "station_days"]

# The caller's local day, as a range the index on logged_utc serves.
_ON_DAY = "replaced_utc IS NULL AND logged_utc >= %s AND logged_utc < %s"  # a shot set aside is history


@dataclass(frozen=True)
class StationDay:
    """A station's day: its sessions and shots per verdict, its newest shot's time (None: no shot)."""

    station_id: str
    name: str
    sessions: int
    counts: dict[ShotOutcome, int]
    last_shot_utc: _dt.datetime | None

    @property
    def shots(self) -> int:
        return sum(self.counts.values())


def station_days(connection: psycopg.Connection, day: _dt.date) -> tuple[StationDay, ...]:
    """Every station the hub knows (an idle one with zeros), by name, with its shots of ``day`` per verdict."""
    counts: dict[str, dict[ShotOutcome, int]] = {}
    for station_id, verdict, count in connection.execute(
            f"SELECT station_id, verdict, count(*) FROM shots WHERE {_ON_DAY} GROUP BY station_id, verdict",
            day_bounds(day)).fetchall():
        counts.setdefault(str(station_id), {})[ShotOutcome(verdict)] = int(count)
    return tuple(StationDay(str(station_id), str(name), int(sessions), counts.get(str(station_id), {}), last)
                 for station_id, name, sessions, last in connection.execute(
                     "SELECT st.id, st.name, count(DISTINCT s.session_key), max(s.logged_utc) FROM stations st "
                     f"LEFT JOIN shots s ON s.station_id = st.id AND {_ON_DAY.replace('logged_utc', 's.logged_utc')} "
                     "GROUP BY st.id, st.name ORDER BY st.name, st.id", day_bounds(day)).fetchall())
