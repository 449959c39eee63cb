"""The ``focuslock`` parser: the global options, then each command from the module of its
group, in the order ``focuslock --help`` lists them. Each command's parser sets ``run``,
the function :func:`focuslock.cli.main` calls with the parsed arguments; its examples are
in :mod:`focuslock.cli.examples`."""

from __future__ import annotations

import argparse

from focuslock import __version__
from focuslock.cli import (
    analyze_cmd,
    archive_cmd,
    camera_cmds,
    hub_cmds,
    live_cmds,
    marks_cmds,
    optics_cmds,
    rail_cmds,
    serve_cmd,
    setup_cmds,
    studio_cmds,
)
from focuslock.cli.examples import add_examples

__all__ = ["build_parser"]

# In the order of `focuslock --help`.
_COMMANDS = (
    live_cmds.add_demo, live_cmds.add_live, analyze_cmd.add_analyze, camera_cmds.add_cameras, camera_cmds.add_capture,
    optics_cmds.add_dof, optics_cmds.add_stack_plan, camera_cmds.add_calibrate, marks_cmds.add_stack_shoot,
    marks_cmds.add_mark, marks_cmds.add_stack_check, rail_cmds.add_spin, rail_cmds.add_rail,
    studio_cmds.add_watch, studio_cmds.add_recipe, studio_cmds.add_report,
    archive_cmd.add_check_archive, setup_cmds.add_frame, setup_cmds.add_catalog, serve_cmd.add_serve, hub_cmds.add_hub,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``focuslock`` parser, every command in it."""
    parser = argparse.ArgumentParser(prog="focuslock",
                                     description="Critical-focus assistant for macro and long-lens tethered shooting.")
    parser.add_argument("--version", action="version", version=f"focuslock {__version__}")
    parser.add_argument("--verbose", action="store_true", help="say what focuslock does on stderr (log level INFO; default WARNING)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(commands)
    add_examples(parser)  # every command's --help ends with its examples
    return parser
