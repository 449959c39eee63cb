"""A StackShot controller on a pseudo-terminal, for tests and scripts: it stands in for a
Cognisys StackShot no test machine has, speaking the framing
:mod:`focuslock.devices.rails.stackshot` assumes (and documents): requests
``0x55 cmd(2, big-endian) action len payload 0x00``, answers ``0x55 cmd result len
payload 0x00``, positions as big-endian floats in motor steps."""

from __future__ import annotations

import os
import select
import struct
import threading
import tty
from dataclasses import dataclass, field

from focuslock.devices.rails.stackshot import SYNC, StackShotCommand

__all__ = ["StackShotResponder"]

_OK, _BAD_PARAM, _UNSUPPORTED = 2, 3, 5


@dataclass
class StackShotResponder:
    """A StackShot on a pty; ``start()`` returns the slave's path."""

    moving_reports: int = 2
    position_steps: float = 0.0
    moves: list[tuple[int, float]] = field(default_factory=list)  # (direction, steps)
    abort_on_move: int | None = None  # its button pressed during this move (1-based)

    def __post_init__(self) -> None:
        self._master = self._slave = -1
        self._moving = 0
        self._aborted = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        self._thread = threading.Thread(target=self._serve, name="stackshot-responder", daemon=True)
        self._thread.start()
        return os.ttyname(self._slave)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self._master, 4096)
            except OSError:
                return
            while len(buffer) >= 5:
                if buffer[0] != SYNC:
                    buffer = buffer[1:]
                    continue
                command, action, length = struct.unpack(">HBB", buffer[1:5])
                if len(buffer) < 5 + length + 1:
                    break
                payload, buffer = buffer[5 : 5 + length], buffer[5 + length + 1 :]
                self._answer(command, action, payload)

    def _reply(self, command: int, result: int, payload: bytes = b"") -> None:
        os.write(self._master, bytes([SYNC]) + struct.pack(">HBB", command, result, len(payload)) + payload + b"\x00")

    def _answer(self, command: int, action: int, payload: bytes) -> None:
        if command == StackShotCommand.MOVE:
            if len(payload) != 7:
                self._reply(command, _BAD_PARAM)
                return
            direction, steps = payload[0], struct.unpack(">f", payload[3:7])[0]
            self.moves.append((direction, steps))
            self.position_steps += steps if direction == 0 else -steps
            self._moving = self.moving_reports
            self._aborted = self.abort_on_move == len(self.moves)
            self._reply(command, _OK)
        elif command == StackShotCommand.STATUS:
            status = 0x01 if self._moving > 0 else 0x00
            if self._moving > 0:
                self._moving -= 1
            self._reply(command, _OK, bytes([status | (0x04 if self._aborted and not status else 0)]))
        elif command == StackShotCommand.POSITION_CURRENT:
            self._reply(command, _OK, payload[:1] + struct.pack(">f", self.position_steps))
        elif command in (StackShotCommand.STOP, StackShotCommand.POSITION_ZERO):
            self._moving = 0
            self._reply(command, _OK)
        else:
            self._reply(command, _UNSUPPORTED)
