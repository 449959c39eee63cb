"""What a live session tells its consumers: numbered events, the last few hundred kept."""

from __future__ import annotations

import collections
import itertools
import time
from dataclasses import dataclass

__all__ = ["EVENT_HISTORY", "EventLog", "SessionEvent"]

# How many events are kept for consumers that poll late.
EVENT_HISTORY = 500


@dataclass(frozen=True)
class SessionEvent:
    """Something a user should hear about: a camera error, a skipped frame, a reconnect."""

    number: int
    time_s: float
    kind: str  # "error" | "warning" | "info"
    message: str


class EventLog:
    """The session's events, numbered from 1; any thread may add one or read them."""

    def __init__(self, history: int = EVENT_HISTORY) -> None:
        self._events: collections.deque[SessionEvent] = collections.deque(maxlen=history)
        self._numbers = itertools.count(1)

    def add(self, kind: str, message: str) -> None:
        self._events.append(SessionEvent(next(self._numbers), time.monotonic(), kind, message))

    def after(self, number: int = 0) -> list[SessionEvent]:
        """Events numbered above ``number`` (the last one a consumer saw)."""
        return [event for event in list(self._events) if event.number > number]
