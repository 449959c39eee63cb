"""Signals that ask a run to stop cleanly instead of killing it mid-write: the one place they are caught.

A recording, a stack or a hot folder keeps its files whole when ``kill``, a closed
terminal or Ctrl-C ends it: the signal only sets a flag the run reads between two units
of work (a frame, a slice, a file). Python delivers signals to the main thread only, so
elsewhere nothing is installed and the run relies on its own kill-safety. The handlers
that were there before are always put back.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

__all__ = ["STOP_SIGNALS", "StopSignals"]

# A closed terminal, ``kill``, a service manager: the signals a run is asked to end by.
STOP_SIGNALS = tuple(name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopSignals:
    """While entered, each of ``names`` sets :attr:`requested` (the first signal's name)
    and calls ``on_signal`` instead of ending the process.

    ``second_passes_through``: a second signal goes to the handler that was there before
    (a second Ctrl-C stops a stack at once, as the user means it). Truthy once a signal
    came; calling it answers the same (a ``should_stop`` callable).
    """

    def __init__(self, names: tuple[str, ...] = STOP_SIGNALS, *, on_signal: Callable[[str], None] | None = None,
                 second_passes_through: bool = False) -> None:
        self.requested: str | None = None
        self._numbers = tuple(getattr(signal, name) for name in names if hasattr(signal, name))
        self._on_signal = on_signal
        self._second_passes_through = second_passes_through
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def _handle(self, number: int, frame: FrameType | None) -> None:
        previous = self._previous.get(number)
        if self.requested is not None and self._second_passes_through and callable(previous):
            previous(number, frame)
            return
        if self.requested is None:
            self.requested = signal.Signals(number).name
        if self._on_signal is not None:
            self._on_signal(signal.Signals(number).name)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in self._numbers:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def __bool__(self) -> bool:
        return self.requested is not None

    def __call__(self) -> bool:
        return self.requested is not None
