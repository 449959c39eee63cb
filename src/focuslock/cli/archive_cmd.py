"""``focuslock check-archive``: every picture under a folder judged against a recipe, on Dask."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_FAILURE, EXIT_OK, UserError

__all__ = ["add_check_archive"]

# How often a progress line is written when stderr is not a terminal (seconds).
_PROGRESS_EVERY_S = 10.0


def add_check_archive(commands) -> None:
    """Add ``check-archive`` to the sub-commands ``commands``."""
    check = commands.add_parser(
        "check-archive", help="judge every picture under a folder against a recipe, on a Dask cluster; resumable",
        description="Every picture under FOLDER (sub-folders too) judged as `watch` judges it, against the recipe, "
                    "into a session log. A picture already judged (same path, same checksum) is not judged again. "
                    "Runs on a local Dask cluster, or on a studio's Dask scheduler whose workers see the files at the "
                    "same paths.")
    check.add_argument("folder", type=Path, help="the archive: a folder of pictures, searched with its sub-folders")
    check.add_argument("--recipe", type=Path, required=True, help="the recipe the pictures are judged against")
    check.add_argument("--session", type=Path, required=True,
                       help="the session folder that keeps the check's log (outside the archive: nothing is written "
                            "beside the pictures)")
    check.add_argument("--scheduler", help="a Dask scheduler's address (tcp://HOST:8786); default: a local cluster")
    check.add_argument("--workers", type=arg.positive_int, help="the local cluster's worker processes (default: the cores)")
    arg.add_hub_options(check)
    check.add_argument("--json", action="store_true", help="one JSON object per picture judged, a line each, then the "
                                                         "summary as the last line")
    check.set_defaults(run=_check_archive)


def _check_archive(args: argparse.Namespace) -> int:
    import threading

    from focuslock.core.signals import STOP_SIGNALS, StopSignals
    from focuslock.workflows.archive import ArchiveError, check_archive, open_session_sink
    from focuslock.workflows.archive_dask import DaskError

    if args.scheduler is not None and args.workers is not None:
        raise UserError("--workers sizes the local cluster; a studio's scheduler (--scheduler) has its own workers.")
    if not args.folder.is_dir():
        raise UserError(f"The archive folder {args.folder} does not exist or is not a folder.")
    if not os.access(args.folder, os.R_OK | os.X_OK):
        raise UserError(f"The archive folder {args.folder} cannot be read (no permission).")
    link = arg.hub_link(args)
    out = sys.stderr if args.json else sys.stdout
    progress = _Progress()
    stop = threading.Event()
    try:
        sink = open_session_sink(args.session, args.recipe)
    except ArchiveError as error:
        raise UserError(str(error)) from None
    if link is not None:
        from focuslock.hub.sync import attach_hub

        try:
            attach_hub(sink.store, link)  # each result also sent to the studio's hub, from the session's outbox
        except BaseException:
            sink.close()
            raise

    def on_shot(result: dict) -> None:
        progress.clear()
        if args.json and not result.get("gone"):
            print(json.dumps({k: v for k, v in result.items() if k != "text"}), flush=True)
        print(result["text"], file=out, flush=True)

    try:
        # Ctrl-C, SIGTERM and SIGHUP end the run after the picture being logged: what was
        # judged stays logged, the rest waits for the next run (core/signals.py).
        with StopSignals(("SIGINT", *STOP_SIGNALS), on_signal=lambda _name: stop.set()):
            summary = check_archive(args.folder, sink, sink.judge, scheduler=args.scheduler, workers=args.workers,
                                    stop=stop, skip={sink.reference_copy}, on_shot=on_shot, on_progress=progress)
    except (ArchiveError, DaskError) as error:
        raise UserError(str(error)) from None
    finally:
        progress.clear()
        sink.close()
    counts = ", ".join(f"{count} {name}" for name, count in summary.counts.items() if count) or "none judged"
    lines = [f"{'Stopped' if summary.stopped else 'Done'}: {summary.total} pictures under {args.folder}; {counts}; "
             f"{summary.skipped} skipped as judged before" + (f"; {summary.changed} judged again as changed"
                                                              if summary.changed else "")
             + (f"; {summary.gone} gone before they were logged" if summary.gone else "") + ".",
             f"{summary.rate:.1f} pictures/s on {summary.workers} worker(s) in {summary.elapsed_s:.1f} s."]
    if summary.stopped:
        lines.append("What was judged is logged; run the same command again to judge the rest.")
    for line in lines:
        print(line, file=out, flush=True)
    if args.json:
        print(json.dumps({"summary": summary.to_json()}), flush=True)
    # A run stopped before every picture was judged is not done: a script must not go on as if it were.
    return EXIT_FAILURE if summary.stopped else EXIT_OK


class _Progress:
    """The progress line on stderr: redrawn in place on a terminal, else a line every
    ``_PROGRESS_EVERY_S``."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False
        self.last = 0.0

    def __call__(self, step) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < _PROGRESS_EVERY_S and step.done < step.total:
            return
        self.last = now
        left = "" if step.left_s is None else f", about {_duration(step.left_s)} left"
        text = f"{step.done}/{step.total} pictures ({step.skipped} judged before), {step.rate:.1f} pictures/s{left}"
        if self.tty:
            sys.stderr.write(f"\r{text}\x1b[K")
            self.shown = True
        else:
            sys.stderr.write(f"{text}\n")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
