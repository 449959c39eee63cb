"""Handing each processed frame to the server's clients without ever queueing frames.

The publisher thread (:mod:`focuslock.serve.host`) offers every new status to every
:class:`Subscriber`. A subscriber keeps the **newest** status only (an older one not yet
sent is replaced and counted as skipped) and the last few events (a bounded deque: a
client that stops reading loses the oldest events, the server's memory does not grow).
The asyncio side is woken through ``loop.call_soon_threadsafe`` at most once per wake-up,
so a slow event loop is not flooded with callbacks either.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["EVENTS_KEPT", "Published", "Subscriber", "Subscribers"]

logger = logging.getLogger(__name__)

# Events (alarm, camera, captured …) kept for a client that has not read them yet.
EVENTS_KEPT = 64


@dataclass(frozen=True)
class Published:
    """One processed frame as the server publishes it: the status (a
    :class:`~focuslock.serve.status.FocusStatus`), its ``focus`` message as JSON text
    (made once, sent to every client) and the analysis it came from."""

    status: Any
    text: str
    analysis: Any
    number: int


class Subscriber:
    """One client's mailbox: the newest frame's status and the last :data:`EVENTS_KEPT`
    events. Any thread offers; the client's event loop takes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._latest: Published | None = None
        self._events: collections.deque[str] = collections.deque(maxlen=EVENTS_KEPT)
        self._wake_pending = False
        self.ready = asyncio.Event()
        self.skipped = 0  # statuses replaced before the client took them
        self.closed = False

    def offer(self, published: Published | None = None, event: str | None = None) -> None:
        with self._lock:
            if published is not None:
                if self._latest is not None:
                    self.skipped += 1
                self._latest = published
            if event is not None:
                self._events.append(event)
            if self._wake_pending or self.closed:
                return
            self._wake_pending = True
        try:
            self._loop.call_soon_threadsafe(self.ready.set)
        except RuntimeError:  # the loop has closed: the client is gone
            self.closed = True

    def take(self) -> tuple[list[str], Published | None]:
        """The events and the newest status not taken yet (called on the loop)."""
        with self._lock:
            events, self._events = list(self._events), collections.deque(maxlen=EVENTS_KEPT)
            latest, self._latest = self._latest, None
            self._wake_pending = False
            self.ready.clear()
        return events, latest

    @property
    def held(self) -> int:
        """How many messages wait for this client (at most 1 + :data:`EVENTS_KEPT`)."""
        with self._lock:
            return len(self._events) + (self._latest is not None)

    async def next(self, timeout_s: float | None = None) -> tuple[list[str], Published | None]:
        """Wait (up to ``timeout_s``) for something new, then take it."""
        if timeout_s is None:
            await self.ready.wait()
        else:
            try:
                await asyncio.wait_for(self.ready.wait(), timeout_s)
            except TimeoutError:
                pass
        return self.take()


class Subscribers:
    """The clients listening now; the publisher offers to each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all: list[Subscriber] = []

    def add(self, loop: asyncio.AbstractEventLoop) -> Subscriber:
        subscriber = Subscriber(loop)
        with self._lock:
            self._all.append(subscriber)
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        subscriber.closed = True
        with self._lock:
            if subscriber in self._all:
                self._all.remove(subscriber)

    def offer(self, published: Published | None = None, event: str | None = None) -> None:
        with self._lock:
            listening = list(self._all)
        for subscriber in listening:
            subscriber.offer(published, event)

    def __len__(self) -> int:
        with self._lock:
            return len(self._all)

    def held(self) -> list[int]:
        """Messages waiting per client (for tests and the bench: never more than 1 + 64)."""
        with self._lock:
            listening = list(self._all)
        return [subscriber.held for subscriber in listening]
