"""``focuslock hub``: the studio's hub on PostgreSQL — ``init`` (create or migrate its
schema), ``import-shotlist`` (the day's list from a CSV) and ``status`` (stations,
sessions, verdicts and the day's list). docs/HUB.md has the schema."""

from __future__ import annotations

import argparse

from focuslock.cli.common import EXIT_OK

__all__ = ["add_hub"]

URL_HELP = "the hub's PostgreSQL URL, postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


def add_hub(commands) -> None:
    """Add ``hub init|import-shotlist|status`` to the sub-commands ``commands``."""
    hub = commands.add_parser("hub", help="the studio's hub on PostgreSQL: set it up, give it the day's shot list, "
                                          "see every station's shots")
    hub_commands = hub.add_subparsers(dest="hub_command", required=True, metavar="init")
    init = hub_commands.add_parser("init", help="create the hub's tables in a PostgreSQL database, or bring them up to date")
    init.add_argument("url", help=URL_HELP)
    init.set_defaults(run=_init)


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
