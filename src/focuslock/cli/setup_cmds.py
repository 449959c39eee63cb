"""``focuslock frame`` and ``focuslock catalog``: what a user needs before the other
commands — one frame of a source with a coordinate grid (to read a feature's box off),
and the catalog's exact names for ``--camera``, ``--lens`` and ``--sensor``."""

from __future__ import annotations

import argparse
from pathlib import Path

from focuslock.cli.common import EXIT_OK, UserError, print_json

__all__ = ["add_catalog", "add_frame"]


def add_frame(commands) -> None:
    """Add ``frame`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    frame = commands.add_parser(
        "frame", help="save one frame of a source as PNG with a coordinate grid, and print its size",
        description="Save one frame of a source as PNG with a coordinate grid (thin lines every 100 px or so, "
                    "labelled), to read a feature's box X,Y,W,H off it for --roi; prints the frame's size.",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # (its examples: cli/examples.py)
    frame.add_argument("source", metavar="SRC", help=f"{SOURCE_HELP}, or the path of a picture, video or folder")
    frame.add_argument("--out", type=Path, required=True, help="the PNG to write (its folder is made when missing)")
    frame.add_argument("--grid", action=argparse.BooleanOptionalAction, default=True,
                       help="draw the coordinate grid (default; --no-grid saves the frame as it is)")
    frame.add_argument("--force", action="store_true", help="replace --out if it exists")
    frame.set_defaults(run=_frame)


def add_catalog(commands) -> None:
    """Add ``catalog bodies|lenses|sensors`` to the sub-commands ``commands``."""
    from focuslock.optics.catalog_listing import CATALOG_KINDS

    catalog = commands.add_parser(
        "catalog", help="list the catalog's bodies, lenses or sensors: the exact names for --camera, --lens, --sensor")
    catalog.add_argument("kind", choices=CATALOG_KINDS,
                         help="bodies (for --camera), lenses (for --lens) or sensors (for --sensor)")
    catalog.add_argument("--json", action="store_true", help="print one JSON object")
    catalog.set_defaults(run=_catalog)


def _frame(args: argparse.Namespace) -> int:
    from focuslock.workflows.choose_feature import ChooseError, frame_of_source, save_frame

    try:
        rgb, origin = frame_of_source(args.source)
        saved = save_frame(rgb, args.out, grid=args.grid, force=args.force, inputs=(origin,) if origin else ())
    except ChooseError as error:
        raise UserError(str(error)) from None
    print(saved.sentence())
    return EXIT_OK


def _catalog(args: argparse.Namespace) -> int:
    from focuslock.optics.catalog import load_catalog
    from focuslock.optics.catalog_listing import catalog_lines, catalog_rows

    catalog = load_catalog()
    if args.json:
        print_json({args.kind: catalog_rows(catalog, args.kind)})
    else:
        print("\n".join(catalog_lines(catalog, args.kind)))
    return EXIT_OK
