"""The ``focuslock`` command: one sub-command per user task.

Each command group has its module, which declares its commands' options, calls a
workflow and prints: ``live_cmds`` (demo, live), ``analyze_cmd``, ``camera_cmds``
(cameras, capture, calibrate), ``optics_cmds`` (dof, stack-plan), ``marks_cmds`` (mark,
stack-shoot, stack-check), ``studio_cmds`` (watch, recipe, report); ``parser`` puts them
together, ``arguments`` holds the argument types they share.

Every failure a user can cause ends as one sentence on stderr and a non-zero exit,
never a traceback: each is a :class:`focuslock.core.errors.FocuslockError`, caught here
once and printed as its ``user_message``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from focuslock.cli.common import EXIT_FAILURE, EXIT_USAGE
from focuslock.cli.parser import build_parser
from focuslock.core.errors import FocuslockError
from focuslock.runtime.allocator import tune_allocator

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``focuslock`` with ``argv`` (default: the command line); the exit code."""
    # FFmpeg and OpenCV print their own diagnostics on stderr ("moov atom not found");
    # the user gets our one sentence instead. Set before OpenCV opens anything.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    tune_allocator()  # glibc: a long live session hands large buffers back (runtime/allocator.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    with _logging_to_stderr(verbose=args.verbose):
        try:
            return args.run(args)
        except FocuslockError as error:
            print(f"focuslock: {error.user_message or error}", file=sys.stderr)
            return EXIT_FAILURE
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            # The reader went away (`focuslock dof … | head`): stop quietly as Unix tools
            # do, and keep Python from reporting the pipe once more when it flushes at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_FAILURE


class _StderrHandler(logging.StreamHandler):
    """Writes to the ``sys.stderr`` of the moment (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _logging_to_stderr:
    """The package's log on stderr for one command: WARNING and above, INFO too with
    ``--verbose``. Library modules only log (``logging.getLogger(__name__)``); this is the
    one place that says where it goes, and ``main`` run in a process twice (tests) leaves
    the logger as it found it."""

    def __init__(self, *, verbose: bool) -> None:
        self.verbose = verbose
        self.logger = logging.getLogger("focuslock")
        self.handler = _StderrHandler()
        self.handler.setFormatter(logging.Formatter("focuslock [%(name)s] %(message)s" if verbose
                                                    else "focuslock: %(message)s"))

    def __enter__(self) -> None:
        self.level = self.logger.level
        self.logger.setLevel(logging.INFO if self.verbose else logging.WARNING)
        self.logger.addHandler(self.handler)

    def __exit__(self, *_exc) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
