"""The simulated bench's USB cable (:class:`BenchLink`)."""

from __future__ import annotations

import threading

from focuslock.devices.base import CameraBusyError, CameraDisconnectedError, CameraNotFoundError

__all__ = ["BenchLink"]


class BenchLink:
    """The simulated USB cable, shared by every bench object made for one bench.

    Lets a demo or a test do to the simulated body what happens on set: pull the cable
    (reads fail as a vanished camera does, and opening fails until it is plugged in
    again) or keep the body busy for a number of reads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connected = True
        self._busy_reads = 0

    def unplug(self) -> None:
        self.connected = False

    def plug(self) -> None:
        self.connected = True

    def make_busy(self, reads: int) -> None:
        with self._lock:
            self._busy_reads = int(reads)

    def check(self, opening: bool = False) -> None:
        if not self.connected:
            if opening:
                raise CameraNotFoundError("No camera answers: the simulated bench's cable is unplugged; plug it in again.")
            raise CameraDisconnectedError("The camera stopped answering (cable pulled or body asleep); reconnecting.")
        with self._lock:
            if self._busy_reads > 0:
                self._busy_reads -= 1
                raise CameraBusyError("The camera is busy; trying again.")
