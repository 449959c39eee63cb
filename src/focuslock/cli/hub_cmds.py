"""``focuslock hub``: the studio's hub on PostgreSQL — ``init`` (create or migrate its
schema), ``import-shotlist`` (the day's list from a CSV), ``status`` (stations,
sessions, verdicts and the day's list), ``report`` (the studio's day as an HTML page and
a CSV) and ``serve`` (the studio's QC page, live).
docs/HUB.md has the schema and the page's routes."""

from __future__ import annotations

import argparse
import datetime
import threading
from pathlib import Path

from focuslock.cli.common import EXIT_OK, UserError, print_json

__all__ = ["add_hub", "add_hub_report", "add_hub_serve"]

URL_HELP = "the hub's PostgreSQL URL, postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


def add_hub(commands) -> None:
    """Add ``hub init|import-shotlist|status|serve`` to the sub-commands ``commands``."""
    hub = commands.add_parser("hub", help="the studio's hub on PostgreSQL: set it up, give it the day's shot list, "
                                          "see every station's shots")
    hub_commands = hub.add_subparsers(dest="hub_command", required=True, metavar="init|import-shotlist|status|report|serve")
    init = hub_commands.add_parser("init", help="create the hub's tables in a PostgreSQL database, or bring them up to date")
    init.add_argument("url", help=URL_HELP)
    init.set_defaults(run=_init)
    shotlist = hub_commands.add_parser("import-shotlist", help="make a CSV (sku, name, views) the day's shot list on the hub")
    shotlist.add_argument("url", help=URL_HELP)
    shotlist.add_argument("file", type=Path, help="the CSV: a header line naming sku (required), name and views")
    shotlist.add_argument("--date", type=_day, help="the list's day, YYYY-MM-DD (default: today)")
    shotlist.set_defaults(run=_import_shotlist)
    status = hub_commands.add_parser("status", help="stations, sessions, shots per verdict and the day's list")
    status.add_argument("url", help=URL_HELP)
    status.add_argument("--date", type=_day, help="the day whose list is checked, YYYY-MM-DD (default: today)")
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts and checks")
    status.set_defaults(run=_status)
    add_hub_report(hub_commands)
    add_hub_serve(hub_commands)


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a day is YYYY-MM-DD, not {text!r}") from None


def _init(args: argparse.Namespace) -> int:
    from focuslock.hub.connection import describe_url, migrate

    before, now = migrate(args.url)
    where = describe_url(args.url)
    if before == now:
        print(f"hub {where}: schema version {now}, already up to date")
    elif before == 0:
        print(f"hub {where}: created, schema version {now}")
    else:
        print(f"hub {where}: migrated from schema version {before} to {now}")
    return EXIT_OK


def _import_shotlist(args: argparse.Namespace) -> int:
    from focuslock.hub.shotlist import import_shot_list
    from focuslock.io.terminal import shown

    day = args.date or datetime.date.today()
    done = import_shot_list(args.url, args.file, day)
    print(f"shot list of {day.isoformat()}: {_products(done.count)} ({done.new} new, {done.count - done.new} already listed)")
    if done.dropped:
        shown_skus = ", ".join(done.dropped[:20]) + (f" and {len(done.dropped) - 20} more" if len(done.dropped) > 20 else "")
        print(shown(f"  dropped from the day's list (in the list imported before, not in this file): {shown_skus}"))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from focuslock.hub.connection import open_hub, reading
    from focuslock.hub.queries import DONE, LISTS_SAID, MISNAMED_SAID, SHORT, studio_status
    from focuslock.io.terminal import shown

    day = args.date or datetime.date.today()
    connection = open_hub(args.url)
    try:
        with reading(args.url):
            status = studio_status(connection, day)
    finally:
        connection.close()
    if args.json:
        print_json(_as_json(status))
        return EXIT_OK
    on_day = sum(status.verdicts.values())
    print(f"{day.isoformat()} (this machine's day, {_local(datetime.datetime.combine(day, datetime.time()), '%Z')}): "
          f"{_many(on_day, 'shot')}, " + ", ".join(f"{n} {v}" for v, n in status.verdicts.items())
          + f"; {_many(len(status.sessions), 'session')} shot that day; {_many(len(status.stations), 'station')} (all days)")
    for station in status.stations:
        print(shown(f"  station {station.number} {station.name}: {_many(station.shots_on_day, 'shot')} that day "
                    f"({station.shots} all days), last seen {_local(station.last_seen_utc)}"))
    names = {station.id: station.name for station in status.stations}
    for session in status.sessions:
        recipe = f", recipe {session.recipe_name}" if session.recipe_name else ""
        print(shown(f"  session {session.name} on {names.get(session.station_id, session.station_id)}: "
                    f"{_many(session.shots, 'shot')} (all days){recipe}, started {_local(session.created_utc)}"))
    listed = status.day
    if not status.has_list:
        print(f"no shot list was imported for {day.isoformat()} (hub import-shotlist): nothing is called not shot or misnamed")
        return EXIT_OK
    print(f"the list of {day.isoformat()}: {_products(len(listed.entries))}")
    for state, words in LISTS_SAID:
        entries = listed.having(state)
        if entries:
            print(shown(f"  {words}: " + ", ".join(e.sku if state != SHORT else f"{e.sku} ({e.views_said})"
                                                    for e in entries)))
    counted = [e.sku for e in listed.having(DONE) if not e.views_told_apart]
    if counted:
        print(shown("  done by a count of passes, views not told apart (list view names to check each): "
                    + ", ".join(counted)))
    if listed.misnamed:
        print(shown(f"  {MISNAMED_SAID}: " + ", ".join(s.name for s in listed.misnamed)))
    return EXIT_OK


def _clock(when: datetime.datetime) -> str:
    return _local(when, "%H:%M:%S %Z")


def _local(when: datetime.datetime, form: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A time in this machine's zone, its zone named (the hub's zone may be another)."""
    return when.astimezone().strftime(form)


def _many(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _products(count: int) -> str:
    return _many(count, "product")


def _as_json(status) -> dict:
    day = status.day
    return {"stations": [{"id": s.id, "name": s.name, "number": s.number, "first_seen_utc": s.first_seen_utc.isoformat(),
                          "last_seen_utc": s.last_seen_utc.isoformat(), "shots": s.shots, "shots_on_day": s.shots_on_day}
                         for s in status.stations],
            "sessions": [{"station": s.station_id, "key": s.session_key, "name": s.name,
                          "created_utc": s.created_utc.isoformat(), "recipe": s.recipe_name, "shots": s.shots}
                         for s in status.sessions],
            "verdicts": status.verdicts,
            "day": {"date": day.day.isoformat(), "has_list": status.has_list,
                    "list": [{"sku": e.sku, "name": e.name, "views_expected": e.views_expected, "shots": e.shots,
                              "passed": e.passed, "state": e.state, "last_verdict": e.last_verdict,
                              "view_names": list(e.view_names), "missing_views": list(e.missing_views),
                              "views_told_apart": e.views_told_apart} for e in day.entries],
                    "misnamed": [{"station": s.station_id, "session": s.session_key, "sequence": s.sequence,
                                  "name": s.name, "sku": s.sku, "verdict": s.verdict} for s in day.misnamed]}}


def add_hub_report(hub_commands) -> None:
    """Add ``hub report`` (the studio's day as an HTML page and a CSV) to ``hub``'s sub-commands."""
    report = hub_commands.add_parser("report", help="the studio's day as one report: an HTML page (every shot with its "
                                                    "verdict and previews, the day's list, the stations) and a CSV")
    report.add_argument("url", help=URL_HELP)
    report.add_argument("--date", type=_day, help="the day, YYYY-MM-DD (default: today)")
    report.add_argument("--out", type=Path,
                        help="the HTML file (default: hub-report-YYYY-MM-DD.html in the current folder); the CSV beside it")
    report.add_argument("--force", action="store_true", help="replace an existing --out file and its CSV")
    report.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from focuslock.hub.connection import describe_url, open_hub, reading
    from focuslock.hub.day_report import render_day_report
    from focuslock.io.outputs import check_outputs, replace_file

    day = args.date or datetime.date.today()
    html_path = args.out if args.out is not None else Path(f"hub-report-{day.isoformat()}.html")
    csv_path = html_path.with_suffix(".csv")
    check_outputs({"--out": html_path, "the CSV beside --out": csv_path}, [], force=args.force)
    connection = open_hub(args.url)
    try:
        with reading(args.url):
            report = render_day_report(connection, day, describe_url(args.url))
    finally:
        connection.close()
    replace_file(csv_path, report.csv.encode("utf-8"))
    replace_file(html_path, report.html.encode("utf-8"))
    print(f"the studio's day {day.isoformat()}: {report.shots} shots, previews inlined for {report.inlined}\n"
          f"report: {html_path}\ntable: {csv_path}")
    return EXIT_OK


def add_hub_serve(hub_commands) -> None:
    """Add ``hub serve`` (the QC page) to ``hub``'s sub-commands."""
    serve = hub_commands.add_parser("serve", help="the studio's QC page, live: every station's shots as they land, "
                                                  "the day's list, the verdicts per station (read-only)")
    serve.add_argument("url", help=URL_HELP)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; any other needs the token, as serve's)")
    serve.add_argument("--port", type=int, default=8766, help="port (default 8766; 0 picks a free one)")
    serve.add_argument("--token-file", type=Path,
                       help="the token's file (made with mode 0600 if missing; default: serve-token in the config folder)")
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from focuslock.cli.serve_cmd import say_addresses, say_token
    from focuslock.core.signals import StopSignals
    from focuslock.hub.connection import HubUnreachable, describe_url, open_hub
    from focuslock.serve.auth import TokenError
    from focuslock.serve.qc_server import start_qc_server
    from focuslock.serve.server import ServeError

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be from 0 to 65535, not {args.port}.")
    try:  # a wrong URL or a hub never initialised: one sentence now; a hub away is waited for (said below)
        open_hub(args.url, timeout_s=5).close()
    except HubUnreachable:
        pass
    try:
        running = start_qc_server(args.url, host=args.host, port=args.port, token_file=args.token_file)
    except (ServeError, TokenError) as error:
        raise UserError(str(error)) from None
    print(f"QC page of the hub {describe_url(args.url)} on {running.url}  (API: {running.url}openapi.json)", flush=True)
    say_addresses(running, args.host)
    say_token(running)
    stopped = threading.Event()
    up: bool | None = None  # the hub as last said: once away, once back (not at every try)
    away_since = datetime.datetime.now(datetime.UTC)
    try:
        with StopSignals(on_signal=lambda name: stopped.set()):
            while not stopped.wait(0.5) and running.running:
                state = running.feed.state
                if state.up and up is False:
                    print(f"the hub {describe_url(args.url)} is back (away since {_clock(away_since)}); "
                          "the page is live again", flush=True)
                if state.up:
                    up = True
                elif up is not False and not state.message.startswith("Reaching"):
                    print(f"focuslock: {state.message} The page says so and shows the shots once it answers.",
                          flush=True)
                    up, away_since = False, state.since
    finally:
        running.stop()
    return EXIT_OK
