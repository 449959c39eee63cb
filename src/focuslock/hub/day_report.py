"""The studio's day as one report (``focuslock hub report``): a self-contained HTML page
and a CSV with a row per shot, from the hub alone — the session report of
``focuslock report`` (``session/report.py``), studio-wide.

The page: the day, the shots per verdict, the day's list as the QC page and
``hub status`` have it (:func:`focuslock.hub.queries.day_list`: not shot, to reshoot,
short of views, misnamed), each station's day (:func:`focuslock.hub.station_day.station_days`),
then every shot of the day grouped by station and session, with its verdict, reason,
SKU, name, time, worst blur and the hub's thumbnail and crop inlined as ``data:`` URIs.

**Which previews are inlined.** A day of thousands of shots would make a page of
gigabytes, so the previews of at most :data:`PREVIEW_SHOTS` shots and
:data:`PREVIEW_BYTES` of JPEG are inlined: every shot that did not pass first (the ones
the lead looks at), in the page's order, then the passing ones in the same order, until
either limit is reached. Every other shot keeps its row, and says that its previews are
on the hub (the QC page shows them); the page's header says how many were left out.

Everything from the hub is the stations' untrusted text: HTML-escaped where it goes into
the page (the page's Content-Security-Policy runs no script at all:
``session/report_html.py``), every CSV cell through :func:`focuslock.io.csv_safe.safe_row`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuslock.hub.queries import (
    DONE,
    LISTS_SAID,
    MISNAMED_SAID,
    DayList,
    HubFile,
    HubShot,
    day_files,
    day_list,
    day_shots,
    shot_previews,
)
from focuslock.hub.station_day import StationDay, station_days
from focuslock.io.csv_safe import safe_row
from focuslock.session.report_html import badge, files_html, fixed, jpeg_data_uri, report_page
from focuslock.session.verdict import ShotOutcome

if TYPE_CHECKING:
    import psycopg

__all__ = ["CSV_COLUMNS", "PREVIEW_BYTES", "PREVIEW_SHOTS", "DayReport", "render_day_report"]

PREVIEW_SHOTS = 300
PREVIEW_BYTES = 24 * 2**20  # of JPEG, before base64 (a third more on the page)
CSV_COLUMNS = ("station", "session", "sequence", "logged_utc", "name", "sku", "verdict", "reason", "worst_blur_coc",
               "file", "sha256", "companions", "companions_sha256")
_KEY_SEPARATOR = "; "  # between the companions (and their checksums) in one CSV cell


@dataclass(frozen=True)
class DayReport:
    """The day's report: the page, the CSV, how many shots it has and how many with previews inlined."""

    day: _dt.date
    html: str
    csv: str
    shots: int
    inlined: int


def render_day_report(connection: psycopg.Connection, day: _dt.date, hub: str = "the hub") -> DayReport:
    """The studio's ``day`` on the hub ``hub`` (as it may be shown: no password) as a page and a CSV."""
    read = day_shots(connection, day)
    listed = day_list(connection, day, read)  # the day's shots read once
    shots = _in_page_order(read)
    stations = station_days(connection, day)
    files = day_files(connection, day)
    previews = _inlined_previews(connection, shots)
    rows: list[str] = []
    session: tuple[str, str] | None = None
    station: str | None = None
    for shot in shots:
        if shot.station_id != station:
            station, session = shot.station_id, None
            rows.append(f'<tr class="station"><th colspan="5">{html.escape(shot.station_name)}</th></tr>')
        if (shot.station_id, shot.session_key) != session:
            session = (shot.station_id, shot.session_key)
            rows.append(f'<tr class="session"><th colspan="5">session {html.escape(shot.session_name)}</th></tr>')
        rows.append(_shot_row(shot, previews, files.get((shot.station_id, shot.session_key, shot.sequence), ())))
    left_out = sum(1 for s in shots if (s.has_thumbnail or s.has_crop) and s.id not in previews)
    body = _BODY.format(
        day=html.escape(day.isoformat()), hub=html.escape(hub),
        made=html.escape(_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        total=len(shots), counts=_counts(shots), rule=_rule(len(previews), left_out),
        listed=_day_list(listed), stations=_stations(stations),
        rows="\n".join(rows) or '<tr><td colspan="5">No shot reached the hub on this day.</td></tr>')
    return DayReport(day, report_page(f"focuslock studio day {day.isoformat()}", body, _CSS),
                     _csv(shots, files), len(shots), len(previews))


def _in_page_order(shots: list[HubShot]) -> list[HubShot]:
    """By station (name, then id), then session (in the order its first shot reached the hub), then sequence."""
    first: dict[tuple[str, str], int] = {}
    for shot in shots:  # day_shots gives them in the order they reached the hub
        first.setdefault((shot.station_id, shot.session_key), shot.id)
    return sorted(shots, key=lambda s: (s.station_name, s.station_id, first[(s.station_id, s.session_key)], s.sequence))


def _inlined_previews(connection: psycopg.Connection, shots: list[HubShot]) -> dict[int, tuple[bytes | None, bytes | None]]:
    """The previews the page inlines, by shot id: the module's rule (not passed first, then passed)."""
    chosen: dict[int, tuple[bytes | None, bytes | None]] = {}
    spent = 0
    ordered = [s for s in shots if s.verdict != ShotOutcome.PASS] + [s for s in shots if s.verdict == ShotOutcome.PASS]
    for shot in ordered:
        if not (shot.has_thumbnail or shot.has_crop):
            continue
        if len(chosen) >= PREVIEW_SHOTS:
            break
        thumbnail, crop = shot_previews(connection, shot.id)
        size = len(thumbnail or b"") + len(crop or b"")
        if spent + size > PREVIEW_BYTES:
            break
        spent += size
        chosen[shot.id] = (thumbnail, crop)
    return chosen


def _rule(inlined: int, left_out: int) -> str:
    rule = (f"Previews are inlined for at most {PREVIEW_SHOTS} shots and {PREVIEW_BYTES // 2**20} MB of pictures: "
            "the shots that did not pass first, then the passing ones, in the page's order.")
    if left_out:
        rule += f" The previews of {left_out} shots are not inlined here (the QC page shows them)."
    return f'<p class="rule">{inlined} shots with previews inlined. {html.escape(rule)}</p>'


def _counts(shots: list[HubShot]) -> str:
    counts = {v: 0 for v in ShotOutcome}
    for shot in shots:
        if shot.verdict in counts:
            counts[ShotOutcome(shot.verdict)] += 1
    return " ".join(badge(v, f"{counts[v]} {v.upper()}") for v in ShotOutcome)


def _day_list(listed: DayList) -> str:
    if not listed.entries:
        return f"<p>No shot list for {html.escape(listed.day.isoformat())} on the hub (hub import-shotlist).</p>"
    parts = [f"<p>{len(listed.entries)} products on the list: "
             + ", ".join(f"{len(listed.having(state))} {words}" for state, words in LISTS_SAID)
             + f", {len(listed.having(DONE))} done; {len(listed.misnamed)} misnamed shots.</p>"]
    for state, words in LISTS_SAID:
        entries = listed.having(state)
        if entries:
            parts.append(f'<h3>{html.escape(words)} ({len(entries)})</h3><table class="list" data-state="{html.escape(state)}">'
                         "<tr><th>SKU</th><th>name</th><th>shots</th><th>views</th><th>last verdict</th></tr>"
                         + "".join(f"<tr><td>{html.escape(e.sku)}</td><td>{html.escape(e.name)}</td><td>{e.shots}</td>"
                                   f"<td>{html.escape(e.views_said)}</td>"
                                   f"<td>{badge(e.last_verdict) if e.last_verdict else '–'}</td></tr>" for e in entries)
                         + "</table>")
    if listed.misnamed:
        parts.append(f'<h3>{MISNAMED_SAID} ({len(listed.misnamed)})</h3><table class="list" '
                     'data-state="misnamed"><tr><th>station</th><th>session</th><th>#</th><th>name</th><th>verdict</th></tr>'
                     + "".join(f"<tr><td>{html.escape(s.station_name)}</td><td>{html.escape(s.session_name)}</td>"
                               f"<td>{s.sequence}</td><td>{html.escape(s.name)}</td><td>{badge(s.verdict)}</td></tr>"
                               for s in listed.misnamed) + "</table>")
    return "\n".join(parts)


def _stations(stations: tuple[StationDay, ...]) -> str:
    if not stations:
        return "<p>No station has reached the hub.</p>"
    head = "".join(f"<th>{v.upper()}</th>" for v in ShotOutcome)
    rows = "".join(
        f"<tr><td>{html.escape(s.name)}</td><td>{s.sessions}</td><td>{s.shots}</td>"
        + "".join(f"<td>{s.counts.get(v, 0)}</td>" for v in ShotOutcome)
        + f"<td>{'–' if s.last_shot_utc is None else html.escape(s.last_shot_utc.astimezone().strftime('%H:%M:%S %Z'))}</td></tr>"
        for s in stations)
    return f'<table class="list"><tr><th>station</th><th>sessions</th><th>shots</th>{head}<th>last shot</th></tr>{rows}</table>'


def _shot_row(shot: HubShot, previews: dict[int, tuple[bytes | None, bytes | None]], files: tuple[HubFile, ...]) -> str:
    if shot.id in previews:
        thumbnail, crop = previews[shot.id]
        pictures = '<div class="pics">' + "".join(
            f'<img class="{kind}" alt="{kind} of {html.escape(shot.name)}" src="{jpeg_data_uri(data)}">'
            for kind, data in (("thumb", thumbnail), ("crop", crop)) if data) + "</div>"
    elif shot.has_thumbnail or shot.has_crop:
        pictures = '<div class="missing">previews on the hub, not inlined (see the rule above)</div>'
    else:
        pictures = '<div class="missing">no preview on the hub</div>'
    worst = fixed(shot.worst_coc_share, 2)
    listed = (f"SKU {html.escape(shot.sku)}" if shot.sku else "no SKU")
    paths = files_html((f.path, f.sha256) for f in files)
    return (f'<tr class="shot" data-verdict="{html.escape(shot.verdict)}"><td>{shot.sequence}</td>'
            f'<td class="pictures">{pictures}</td>'
            f'<td>{badge(shot.verdict)}<div class="reason">{html.escape(shot.reason or "")}</div>'
            f'<div>worst blur {worst + " CoC" if worst else "–"}</div></td>'
            f'<td><div class="name">{html.escape(shot.name)}</div><div>{listed}</div>'
            f'<div class="time">{html.escape(shot.logged_utc.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"))}</div></td>'
            f'<td class="files">{paths or "no files logged"}</td></tr>')


def _csv(shots: list[HubShot], files: dict[tuple[str, str, int], tuple[HubFile, ...]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for shot in shots:
        mine = files.get((shot.station_id, shot.session_key, shot.sequence), ())
        judged = next((f for f in mine if f.role == "judged"), None)
        companions = [f for f in mine if f.role == "companion"]
        writer.writerow(safe_row([
            shot.station_name, shot.session_name, shot.sequence, shot.logged_utc.isoformat(), shot.name, shot.sku or "",
            shot.verdict, shot.reason or "", fixed(shot.worst_coc_share, 3),
            judged.path if judged else "", judged.sha256 if judged else "",
            _KEY_SEPARATOR.join(f.path for f in companions), _KEY_SEPARATOR.join(f.sha256 for f in companions)]))
    return text.getvalue()


_CSS = """.list th, .list td { text-align: left; padding: 2px 12px 2px 0; font-size: 13px; }
.shots .station th { font-size: 17px; padding-top: 18px; }
.shots .session th { font-size: 14px; color: #555; }
.pics { white-space: nowrap; }
.thumb { max-height: 150px; max-width: 220px; margin-right: 6px; vertical-align: top; }
.crop { max-height: 150px; max-width: 220px; image-rendering: pixelated; border: 1px solid #999; vertical-align: top; }
.name { font-weight: 600; word-break: break-all; max-width: 320px; }
.files { font-size: 12px; word-break: break-all; max-width: 320px; }
.rule { color: #555; font-size: 13px; }
"""
_BODY = """<h1>Studio day {day}</h1>
<div>hub {hub} · made {made} · {total} shots · {counts}</div>
{rule}
<h2>The day's list</h2>
{listed}
<h2>Stations</h2>
{stations}
<h2>Shots</h2>
<table class="shots">
<tr><th>#</th><th>thumbnail and crop</th><th>verdict</th><th>name, SKU, time</th><th>files</th></tr>
{rows}
</table>"""
