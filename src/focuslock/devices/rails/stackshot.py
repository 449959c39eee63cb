"""Cognisys StackShot (and StackShot 3X) over its FTDI serial port, 38400 baud.

**What is assumed.** Cognisys documents the command set (move, position, status, stop,
move at speed, units, backlash, settle) to developers; the framing below was not read from
Cognisys's own document (none was found) but from a third-party driver that talks to the
controller (a Java FTD2XX helper: command codes, actions, status bits, baud rate). Where
that driver leaves a detail open, this module chooses, and says so:

* a request is ``0x55, command (2 bytes), action (1 byte), length (1 byte), payload,
  0x00``; **the command's two bytes big-endian** (assumed);
* an answer is five bytes ``0x55, command (2), result, length`` then the payload and a
  closing byte; result 2 is OK, 3 a bad parameter, 4/5 unsupported, 6 failed, 8 busy;
* numbers in payloads are IEEE-754 single floats, **big-endian** (assumed);
* ``RAIL_MOVE`` (0x1000, write) takes ``direction (0 forward, 1 back), units (2 =
  steps), backlash compensation (1 = on), float distance``; ``RAIL_STATUS`` (0x1005,
  read) answers a byte: 0 idle, bit 1 moving, bit 2 shutter, bit 4 aborted by its button;
  ``RAIL_POSITION_CURRENT`` (0x1002, read, payload the units) answers ``units, float``;
  ``RAIL_STOP`` (0x1006, write).

Moves are sent in motor steps (µm ÷ the profile's µm per step; degrees ÷ degrees per
step on a rotary table), so the controller's own unit setting does not matter.
Anything the controller answers that does not fit this framing is reported in one
sentence, never guessed around.
"""

from __future__ import annotations

import logging
import struct
import time

from focuslock.devices.rails.base import Axis, MotionError, StageAlarm, StageStatus
from focuslock.devices.rails.serial_line import SerialLine

__all__ = ["STACKSHOT_BAUD", "StackShotCommand", "StackShotStage", "frame_request"]

logger = logging.getLogger(__name__)

STACKSHOT_BAUD = 38400
SYNC = 0x55


class StackShotCommand:
    """The command codes used here (from the third-party driver's table)."""

    MOVE = 0x1000
    POSITION_CURRENT = 0x1002
    POSITION_ZERO = 0x1003
    STATUS = 0x1005
    STOP = 0x1006


READ, WRITE, RSP_OK = 0, 1, 2
UNITS_STEPS = 2
STATUS_MOVING, STATUS_ABORTED = 0x01, 0x04
_RESULTS = {3: "a bad parameter", 4: "an unsupported action", 5: "an unsupported command", 6: "a failure", 8: "busy"}


def frame_request(command: int, action: int, payload: bytes = b"") -> bytes:
    """One request as it goes on the wire."""
    return bytes([SYNC]) + struct.pack(">HBB", command, action, len(payload)) + payload + b"\x00"


class StackShotStage:
    """A StackShot rail (moves in µm) or rotary table (degrees), in motor steps."""

    def __init__(self, port: str, *, unit_per_step: float, name: str = "StackShot", axis: Axis = Axis.RAIL,
                 baud: int = STACKSHOT_BAUD, move_timeout_s: float = 60.0) -> None:
        if not unit_per_step > 0:
            raise MotionError(f"{name}: the profile must say how far one motor step moves (µm or degrees per step).")
        self.name, self.axis = name, axis
        self._per_step = float(unit_per_step)
        self._move_timeout_s = move_timeout_s
        self._line = SerialLine(port, baud, name)
        self._origin = 0.0
        try:
            self._steps()  # it answers; its position is the controller's own (kept between runs)
        except MotionError:
            self._line.close()
            raise

    def _ask(self, command: int, action: int, payload: bytes = b"") -> bytes:
        self._line.write(frame_request(command, action, payload))
        head = self._line.read_exact(5, 2.0)
        sync, answered, result, length = head[0], struct.unpack(">H", head[1:3])[0], head[3], head[4]
        body = self._line.read_exact(length + 1, 2.0)
        if sync != SYNC or answered != command:
            raise MotionError(f"{self.name} answered out of step (sync {sync:#04x}, command {answered:#06x} for "
                              f"{command:#06x}); unplug it and plug it in again.")
        if result != RSP_OK:
            raise MotionError(f"{self.name} refused command {command:#06x}: {_RESULTS.get(result, f'result {result}')}.")
        return body[:length]

    def _steps(self) -> float:
        payload = self._ask(StackShotCommand.POSITION_CURRENT, READ, bytes([UNITS_STEPS]))
        if len(payload) < 5:
            raise MotionError(f"{self.name} sent a position of {len(payload)} bytes, not 5.")
        return float(struct.unpack(">f", payload[1:5])[0])

    def _status_byte(self) -> int:
        payload = self._ask(StackShotCommand.STATUS, READ)
        if not payload:
            raise MotionError(f"{self.name} sent an empty status.")
        return payload[0]

    def move(self, amount: float, speed: float | None = None) -> float:
        steps = round(abs(amount) / self._per_step)
        if steps:
            direction = 0 if amount > 0 else 1
            self._ask(StackShotCommand.MOVE, WRITE, bytes([direction, UNITS_STEPS, 1]) + struct.pack(">f", float(steps)))
        deadline = time.monotonic() + self._move_timeout_s
        while (status := self._status_byte()) & STATUS_MOVING:
            if time.monotonic() > deadline:
                self.stop()
                raise MotionError(f"{self.name} was still moving after {self._move_timeout_s:g} s; it was stopped.")
            time.sleep(0.01)
        if status & STATUS_ABORTED:
            raise StageAlarm(f"{self.name}: the move was stopped by a button on the controller.")
        return self.position()

    def position(self) -> float:
        return (self._steps() - self._origin) * self._per_step

    def status(self) -> StageStatus:
        status = self._status_byte()
        return StageStatus(bool(status & STATUS_MOVING), self.position(),
                           "stopped by its button" if status & STATUS_ABORTED else None)

    def stop(self) -> None:
        self._ask(StackShotCommand.STOP, WRITE)

    def home(self) -> float:
        self._origin = self._steps()
        return 0.0

    def close(self) -> None:
        self._line.close()
