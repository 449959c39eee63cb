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
split at ``_``, ``.`` and spaces (``A123-B_0007.jpg``: ``A123-B``). A day is the date of
``logged_utc`` in the hub server's time zone (PostgreSQL's ``TimeZone`` setting).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

__all__ = ["LISTS_SAID", "MISNAMED_SAID", "DayList", "HubFile", "HubShot", "ListedEntry", "SessionRow", "StationRow",
           "StudioStatus", "day_files", "day_list", "shot_previews", "shots_since", "studio_status"]

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
    shots: int


@dataclass(frozen=True)
class SessionRow:
    """A station's session on the hub and its shots."""

    station_id: str
    session_key: str
    name: str
    created_utc: _dt.datetime
    recipe_name: str | None
    shots: int


@dataclass(frozen=True)
class StudioStatus:
    """What ``focuslock hub status`` says."""

    stations: tuple[StationRow, ...]
    sessions: tuple[SessionRow, ...]
    verdicts: dict[str, int]
    day: DayList


_SHOT_COLUMNS = """s.id, s.station_id, st.name, s.session_key, se.name, s.sequence, s.logged_utc, s.name,
    COALESCE(s.sku, (SELECT l.sku FROM shot_list l WHERE l.list_date = s.logged_utc::date
                     AND l.sku = ANY(regexp_split_to_array(s.name, '[_.[:space:]]+')) LIMIT 1)) AS listed_sku,
    s.verdict, s.reason, s.worst_coc_share, s.thumbnail_jpeg IS NOT NULL, s.crop_jpeg IS NOT NULL"""
# A shot set aside (its file judged again: the replacement is a new shot) is history, never counted.
_SHOT_FROM = """FROM shots s JOIN stations st ON st.id = s.station_id AND s.replaced_utc IS NULL
    JOIN sessions se ON se.station_id = s.station_id AND se.session_key = s.session_key"""


def _shot(row) -> HubShot:
    return HubShot(*row)


def day_shots(connection: psycopg.Connection, day: _dt.date) -> list[HubShot]:
    """Every shot logged on ``day``, in the order they reached the hub."""
    return [_shot(r) for r in connection.execute(
        # A range the index on logged_utc serves (a cast of the column to a date would read every shot);
        # the day's bounds in the hub's time zone, as the cast was.
        f"SELECT {_SHOT_COLUMNS} {_SHOT_FROM} WHERE s.logged_utc >= %s::date AND s.logged_utc < %s::date + 1 "
        "ORDER BY s.id", (day, day))]


def day_list(connection: psycopg.Connection, day: _dt.date, shots: list[HubShot] | None = None) -> DayList:
    """The day's list against the day's shots (the QC page's and ``hub status``'s); ``shots``: the
    day's shots when the caller has read them already (``day_shots``, in its order)."""
    shots = day_shots(connection, day) if shots is None else shots
    listed = connection.execute("SELECT sku, name, views_expected FROM shot_list WHERE list_date = %s ORDER BY sku",
                                (day,)).fetchall()
    skus = {row[0] for row in listed}
    by_sku: dict[str | None, list[HubShot]] = {}
    for shot in shots:  # once over the day's shots, not once per listed SKU
        by_sku.setdefault(shot.sku, []).append(shot)
    entries = []
    for sku, name, views in listed:
        mine = by_sku.get(sku, [])
        passed = sum(s.verdict == "pass" for s in mine)
        state = NOT_SHOT if not mine else NOT_SHARP if not passed else SHORT if passed < views else DONE
        entries.append(ListedEntry(sku, name, views, len(mine), passed, state, mine[-1].verdict if mine else None))
    misnamed = tuple(s for s in shots if s.sku not in skus) if listed else ()
    return DayList(day, tuple(entries), misnamed)


def studio_status(connection: psycopg.Connection, day: _dt.date) -> StudioStatus:
    """Stations, sessions, shots per verdict, and ``day``'s list."""
    stations = tuple(StationRow(*row) for row in connection.execute(
        "SELECT st.id, st.name, st.number, st.first_seen_utc, st.last_seen_utc, "
        "(SELECT COUNT(*) FROM shots s WHERE s.station_id = st.id) FROM stations st ORDER BY st.number"))
    sessions = tuple(SessionRow(*row) for row in connection.execute(
        "SELECT se.station_id, se.session_key, se.name, se.created_utc, se.recipe_name, "
        "(SELECT COUNT(*) FROM shots s WHERE s.station_id = se.station_id AND s.session_key = se.session_key) "
        "FROM sessions se ORDER BY se.created_utc"))
    verdicts = dict.fromkeys(("pass", "soft", "drift", "uncertain"), 0)
    verdicts.update({v: int(n) for v, n in connection.execute("SELECT verdict, COUNT(*) FROM shots GROUP BY verdict")})
    return StudioStatus(stations, sessions, verdicts, day_list(connection, day))


def shots_since(connection: psycopg.Connection, after_id: int = 0, limit: int = 200) -> list[HubShot]:
    """The shots with ``id`` above ``after_id`` (the order they reached the hub), at most ``limit``."""
    return [_shot(r) for r in connection.execute(
        f"SELECT {_SHOT_COLUMNS} {_SHOT_FROM} WHERE s.id > %s ORDER BY s.id LIMIT %s", (after_id, limit))]


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
            "WHERE s.logged_utc >= %s::date AND s.logged_utc < %s::date + 1 "
            "ORDER BY f.station_id, f.session_key, f.sequence, f.role <> 'judged', f.path", (day, day)):
        files.setdefault((station_id, session_key, sequence), []).append(HubFile(path, sha256, role))
    return {key: tuple(found) for key, found in files.items()}
