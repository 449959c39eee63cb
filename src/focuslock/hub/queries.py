"""What the hub says about the studio: the day's list, the stations, the shots as they
land. One function per question, used by ``focuslock hub status`` and by the QC page
(``hub serve``) alike, so that both say the same thing:

* :func:`day_list` — the day's list against the day's shots: SKUs not shot, shot but
  without a passing shot (SOFT, DRIFT or UNCERTAIN only), short of the views expected,
  done; and the misnamed shots (no SKU of the list in them);
* :func:`studio_status` — stations (last seen, shots), sessions, shots per verdict, the
  day's list;
* :func:`shots_since` — the shots that reached the hub after a cursor (``shots.id``),
  for a page that was told of new ones by ``LISTEN focuslock_shots``;
* :func:`shot_previews` — one shot's thumbnail and crop JPEGs;
* :func:`day_files` — the files (paths and checksums) of the day's shots, for the day's report.

A shot's SKU is the one its station logged; a shot without one (``watch`` on another
program's files) takes the list's SKU that is a whole part of its file name, the parts
split at ``_``, ``.`` and spaces (``A123-B_0007.jpg``: ``A123-B``), else at hyphens too
(``A300-back.jpg``: ``A300``), in any case (``a200.jpg``: ``A200``); a shot counts for
each SKU of the list in the name (``E1_E2.jpg`` counts for E1 and E2; ``sku`` is the first).

A SKU listed with view names (``front;back``) is done only when every view has a passing
shot; a shot's view is a view name found among its name's parts (split at ``_``, ``.``,
``-`` and spaces, any case: ``A300_Front_2.jpg`` is the front). A SKU listed with a count
of views only is done with that many passing shots, which cannot tell a view shot twice
from two views (the entry says so: ``views_told_apart``).

A day is the CALLER's local day (this machine's time zone, :func:`day_bounds`), given to
every query as a range on ``logged_utc`` — never the date in the hub server's time zone,
which may be another day.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

__all__ = ["LISTS_SAID", "MISNAMED_SAID", "DayList", "HubFile", "HubShot", "ListedEntry", "SessionRow", "StationRow",
           "StudioStatus", "day_bounds", "day_files", "day_list", "day_shots", "name_parts",
           "shot_previews", "shots_since", "studio_status"]

NOT_SHOT, NOT_SHARP, SHORT, DONE = "not shot", "soft or uncertain", "short of views", "done"
# The day's lists as ``hub status`` and ``hub report`` say them, in that order, and the misnamed shots'.
LISTS_SAID = ((NOT_SHOT, "not shot"), (NOT_SHARP, "shot but SOFT or UNCERTAIN"), (SHORT, "short of views"))
MISNAMED_SAID = "misnamed (no SKU of the list)"


@dataclass(frozen=True)
class HubShot:
    """A shot on the hub (without its previews: :func:`shot_previews`)."""

    id: int
    station_id: str
    station_name: str
    session_key: str
    session_name: str
    sequence: int
    logged_utc: _dt.datetime
    name: str
    sku: str | None  # as the station logged it, or the list's SKU found in its name
    verdict: str
    reason: str | None
    worst_coc_share: float | None
    has_thumbnail: bool
    has_crop: bool
    also_skus: tuple[str, ...] = ()  # the list's other SKUs in the name of a shot without a logged one (E1_E2.jpg)


@dataclass(frozen=True)
class HubFile:
    """A shot's file as its station logged it: the path (relative to the session folder when
    inside it), its SHA-256, ``role`` ``judged`` or ``companion``."""

    path: str
    sha256: str
    role: str


@dataclass(frozen=True)
class ListedEntry:
    """A SKU of the day's list and how far it is: ``state`` is one of ``not shot``,
    ``soft or uncertain`` (shot, none passed), ``short of views`` (fewer passing shots
    than views expected), ``done``."""

    sku: str
    name: str
    views_expected: int
    shots: int
    passed: int
    state: str
    last_verdict: str | None
    view_names: tuple[str, ...] = ()
    missing_views: tuple[str, ...] = ()  # the named views without a passing shot

    @property
    def views_told_apart(self) -> bool:
        """Whether the list named the views (else passes are counted, one view shot twice counting twice)."""
        return bool(self.view_names) or self.views_expected <= 1

    @property
    def views_said(self) -> str:
        """Its views as ``hub status``, ``hub report`` and the QC page say them."""
        if self.missing_views:
            return "missing " + ", ".join(self.missing_views)
        said = f"{self.passed} of {self.views_expected} views"
        return said if self.views_told_apart else said + " (views not told apart)"


@dataclass(frozen=True)
class DayList:
    """The day's list against the day's shots."""

    day: _dt.date
    entries: tuple[ListedEntry, ...]
    misnamed: tuple[HubShot, ...]  # the day's shots with no SKU of the list

    def having(self, state: str) -> tuple[ListedEntry, ...]:
        return tuple(e for e in self.entries if e.state == state)


@dataclass(frozen=True)
class StationRow:
    """A station: its number on the hub, when it was first and last seen, its shots."""

    id: str
    name: str
    number: int
    first_seen_utc: _dt.datetime
    last_seen_utc: _dt.datetime
    shots: int  # all days
    shots_on_day: int = 0


@dataclass(frozen=True)
class SessionRow:
    """A station's session on the hub and its shots."""

    station_id: str
    session_key: str
    name: str
    created_utc: _dt.datetime
    recipe_name: str | None
    shots: int  # all days


@dataclass(frozen=True)
class StudioStatus:
    """What ``focuslock hub status`` says."""

    stations: tuple[StationRow, ...]
    sessions: tuple[SessionRow, ...]  # the sessions with a shot on the day
    verdicts: dict[str, int]  # the day's shots per verdict
    day: DayList
    has_list: bool  # whether a list was imported for the day


_SHOT_COLUMNS = """s.id, s.station_id, st.name, s.session_key, se.name, s.sequence, s.logged_utc, s.name, s.sku,
    s.verdict, s.reason, -- a tiny negative share is rounding noise: shown as 0
    CASE WHEN s.worst_coc_share < 0 AND s.worst_coc_share > -1e-6 THEN 0 ELSE s.worst_coc_share END,
    s.thumbnail_jpeg IS NOT NULL, s.crop_jpeg IS NOT NULL"""
# A shot set aside (its file judged again: the replacement is a new shot) is history, never counted.
_SHOT_FROM = """FROM shots s JOIN stations st ON st.id = s.station_id AND s.replaced_utc IS NULL
    JOIN sessions se ON se.station_id = s.station_id AND se.session_key = s.session_key"""
_SKU_PARTS = re.compile(r"[_.\s]+")
_PARTS = re.compile(r"[-_.\s]+")


def day_bounds(day: _dt.date) -> tuple[_dt.datetime, _dt.datetime]:
    """``day`` as this machine's local day: its first instant and the next day's, aware (a
    day of 23 or 25 hours where the clocks change)."""
    start = _dt.datetime.combine(day, _dt.time.min).astimezone()
    return start, _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time.min).astimezone()


def name_parts(name: str) -> list[str]:
    """A file name's parts, split at ``_``, ``.``, ``-`` and spaces, lower case (views are found among them)."""
    return [part for part in _PARTS.split(name.lower()) if part]


def _listed_skus(name: str, skus: dict[str, str]) -> tuple[str, ...]:
    """The list's SKUs found in ``name`` (``skus``: by upper case), in order: split at ``_ . space``
    first (a SKU may hold a hyphen), then at hyphens too."""
    found = [skus[part.upper()] for pattern in (_SKU_PARTS, _PARTS) for part in pattern.split(name) if part.upper() in skus]
    return tuple(dict.fromkeys(found))


def _has_view(parts: list[str], view: str) -> bool:
    wanted = name_parts(view)
    return bool(wanted) and any(parts[i:i + len(wanted)] == wanted for i in range(len(parts) - len(wanted) + 1))


def _day_skus(connection: psycopg.Connection, day: _dt.date) -> dict[str, str]:
    skus: dict[str, str] = {}
    for (sku,) in connection.execute("SELECT sku FROM shot_list WHERE list_date = %s ORDER BY sku", (day,)):
        skus.setdefault(sku.upper(), sku)
    return skus


def _shots(connection: psycopg.Connection, rows: Iterable[tuple]) -> list[HubShot]:
    """The rows as shots, each without a logged SKU given the one its local day's list has in its name."""
    shots = [HubShot(*row) for row in rows]
    lists: dict[_dt.date, dict[str, str]] = {}
    named = []
    for shot in shots:
        if shot.sku is None:
            day = shot.logged_utc.astimezone().date()
            if day not in lists:
                lists[day] = _day_skus(connection, day)
            found = _listed_skus(shot.name, lists[day])
            shot = replace(shot, sku=found[0] if found else None, also_skus=found[1:])
        named.append(shot)
    return named


def day_shots(connection: psycopg.Connection, day: _dt.date) -> list[HubShot]:
    """Every shot logged on ``day`` (this machine's local day), in the order they reached the hub."""
    return _shots(connection, connection.execute(
        f"SELECT {_SHOT_COLUMNS} {_SHOT_FROM} WHERE s.logged_utc >= %s AND s.logged_utc < %s ORDER BY s.id",
        day_bounds(day)).fetchall())


def _entry(sku: str, name: str, views: int, view_names: list[str], mine: list[HubShot]) -> ListedEntry:
    passing = [s for s in mine if s.verdict == "pass"]
    if view_names:
        parts = [name_parts(s.name) for s in passing]
        missing = tuple(v for v in view_names if not any(_has_view(p, v) for p in parts))
        short = bool(missing)
    else:
        missing, short = (), len(passing) < views
    state = NOT_SHOT if not mine else NOT_SHARP if not passing else SHORT if short else DONE
    return ListedEntry(sku, name, views, len(mine), len(passing), state, mine[-1].verdict if mine else None,
                       tuple(view_names), missing)


def day_list(connection: psycopg.Connection, day: _dt.date, shots: list[HubShot] | None = None) -> DayList:
    """The day's list against the day's shots (the QC page's, ``hub status``'s and ``hub report``'s);
    ``shots``: the day's shots when the caller has read them already (``day_shots``, in its order)."""
    shots = day_shots(connection, day) if shots is None else shots
    listed = connection.execute("SELECT sku, name, views_expected, view_names FROM shot_list WHERE list_date = %s "
                                "ORDER BY sku", (day,)).fetchall()
    skus = {row[0] for row in listed}
    by_sku: dict[str | None, list[HubShot]] = {}
    for shot in shots:  # once over the day's shots, not once per listed SKU
        for sku in (shot.sku, *shot.also_skus):  # a shot of two listed products counts for each
            by_sku.setdefault(sku, []).append(shot)
    entries = tuple(_entry(sku, name, views, list(names or ()), by_sku.get(sku, [])) for sku, name, views, names in listed)
    misnamed = tuple(s for s in shots if s.sku not in skus) if listed else ()
    return DayList(day, entries, misnamed)


def studio_status(connection: psycopg.Connection, day: _dt.date) -> StudioStatus:
    """Every station (its shots of all days and of ``day``), the sessions with a shot on ``day``,
    ``day``'s shots per verdict, and ``day``'s list."""
    shots = day_shots(connection, day)
    on_day: dict[str, int] = {}
    verdicts = dict.fromkeys(("pass", "soft", "drift", "uncertain"), 0)
    for shot in shots:
        on_day[shot.station_id] = on_day.get(shot.station_id, 0) + 1
        verdicts[shot.verdict] = verdicts.get(shot.verdict, 0) + 1
    stations = tuple(StationRow(sid, name, number, first, last, int(shots), on_day.get(sid, 0))
                     for sid, name, number, first, last, shots in connection.execute(
        "SELECT st.id, st.name, st.number, st.first_seen_utc, st.last_seen_utc, "
        "(SELECT COUNT(*) FROM shots s WHERE s.station_id = st.id AND s.replaced_utc IS NULL) FROM stations st "
        "ORDER BY st.number"))
    keys = {(s.station_id, s.session_key) for s in shots}
    sessions = tuple(SessionRow(*row) for row in connection.execute(
        "SELECT se.station_id, se.session_key, se.name, se.created_utc, se.recipe_name, "
        "(SELECT COUNT(*) FROM shots s WHERE s.station_id = se.station_id AND s.session_key = se.session_key "
        "AND s.replaced_utc IS NULL) "
        "FROM sessions se ORDER BY se.created_utc") if (row[0], row[1]) in keys)
    has_list = connection.execute("SELECT EXISTS (SELECT 1 FROM shot_list WHERE list_date = %s)", (day,)).fetchone()
    return StudioStatus(stations, sessions, verdicts, day_list(connection, day, shots), bool(has_list and has_list[0]))


def shots_since(connection: psycopg.Connection, after_id: int = 0, limit: int = 200) -> list[HubShot]:
    """The shots with ``id`` above ``after_id`` (the order they reached the hub), at most ``limit``."""
    return _shots(connection, connection.execute(
        f"SELECT {_SHOT_COLUMNS} {_SHOT_FROM} WHERE s.id > %s ORDER BY s.id LIMIT %s", (after_id, limit)).fetchall())


def shot_previews(connection: psycopg.Connection, shot_id: int) -> tuple[bytes | None, bytes | None]:
    """The shot's thumbnail and crop JPEGs (None where it has none, or no such shot)."""
    row = connection.execute("SELECT thumbnail_jpeg, crop_jpeg FROM shots WHERE id = %s", (shot_id,)).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def day_files(connection: psycopg.Connection, day: _dt.date) -> dict[tuple[str, str, int], tuple[HubFile, ...]]:
    """The files of every shot logged on ``day``, by (station, session, sequence): the judged
    picture first, then its companions by path."""
    files: dict[tuple[str, str, int], list[HubFile]] = {}
    for station_id, session_key, sequence, path, sha256, role in connection.execute(
            "SELECT f.station_id, f.session_key, f.sequence, f.path, f.sha256, f.role FROM shot_files f "
            "JOIN shots s USING (station_id, session_key, sequence) "
            "WHERE s.replaced_utc IS NULL AND s.logged_utc >= %s AND s.logged_utc < %s "
            "ORDER BY f.station_id, f.session_key, f.sequence, f.role <> 'judged', f.path", day_bounds(day)):
        files.setdefault((station_id, session_key, sequence), []).append(HubFile(path, sha256, role))
    return {key: tuple(found) for key, found in files.items()}
