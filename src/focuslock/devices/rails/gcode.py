"""A G-code stage over a serial port: GRBL 1.1 (and Marlin, which answers ``ok`` too but
has no ``?`` report: it is asked ``M400`` — wait for moves — and ``M114`` instead).

GRBL's documented protocol, as used here:

* every line sent is answered ``ok`` or ``error:N`` (``ok`` means buffered, not done);
* ``?`` (a real-time byte, no line end) is answered ``<State|MPos:x,y,z|…>`` (or ``WPos``),
  ``State`` one of Idle, Run, Hold, Jog, Alarm, Door, Check, Home, Sleep;
* ``ALARM:N`` arrives on its own when a limit switch or a soft limit stops motion; every
  G-code line then gets ``error:9`` until ``$X`` unlocks — sent only by
  :meth:`GcodeStage.unlock`, on the user's word, never by a stack;
* ``!`` holds the feed (stops at once, position kept).

Moves are relative (``G91``) in mm (``G21``): ``G1 Z0.0500 F6.0``; a turntable's axis
(``A``) takes degrees.
"""

from __future__ import annotations

import logging
import re
import time

from focuslock.devices.rails.base import Axis, MotionError, StageAlarm, StageStatus
from focuslock.devices.rails.serial_line import SerialLine

__all__ = ["GRBL_ALARMS", "GRBL_ERRORS", "GcodeStage", "parse_status"]

logger = logging.getLogger(__name__)

# GRBL 1.1's alarm codes (its documentation, "Alarm Codes"), in a photographer's words.
GRBL_ALARMS = {
    1: "a limit switch was hit (hard limit)",
    2: "the move would leave the machine's travel (soft limit)",
    3: "the controller was reset while moving; the position may be lost",
    4: "the probe was not in its expected state",
    5: "the probe did not touch",
    6: "homing was reset",
    7: "the safety door opened while homing",
    8: "homing could not pull off the limit switch",
    9: "homing did not find the limit switch",
    10: "a limit switch triggered on both sides while homing",
}
# GRBL 1.1's error codes that a rail may meet.
GRBL_ERRORS = {
    1: "a G-code word had no letter", 2: "a number was malformed", 3: "a '$' command was not understood",
    9: "G-code is locked out while the controller is in alarm", 15: "the jog would leave the machine's travel",
    20: "an unsupported G-code command", 22: "no feed rate was set", 33: "the move's target is invalid",
}
_AXES = "XYZA"
_STATUS = re.compile(r"<(?P<state>[A-Za-z]+)(?::\d)?\|(?P<kind>MPos|WPos):(?P<pos>[-0-9.,]+)")
_ANSWER_S = 3.0


def parse_status(line: str) -> tuple[str, tuple[float, ...]] | None:
    """``<Idle|MPos:0.000,0.000,1.250|FS:0,0>`` -> ("Idle", (0.0, 0.0, 1.25)); None otherwise."""
    match = _STATUS.match(line)
    if match is None:
        return None
    try:
        return match["state"], tuple(float(v) for v in match["pos"].split(","))
    except ValueError:
        return None


class GcodeStage:
    """A rail (mm axis, moves in µm) or turntable (degrees) on a GRBL or Marlin controller."""

    def __init__(self, port: str, *, baud: int = 115200, name: str = "G-code stage", axis: Axis = Axis.RAIL,
                 letter: str = "Z", flavour: str = "grbl", move_timeout_s: float = 60.0) -> None:
        letter = letter.upper()
        if letter not in _AXES:
            raise MotionError(f"{name}: the G-code axis is one of {', '.join(_AXES)}, not {letter!r}.")
        if flavour not in ("grbl", "marlin"):
            raise MotionError(f"{name}: the G-code flavour is grbl or marlin, not {flavour!r}.")
        self.name, self.axis, self.letter, self.flavour = name, axis, letter, flavour
        self._scale = 1000.0 if axis is Axis.RAIL else 1.0  # the axis's unit per G-code unit
        self._move_timeout_s = move_timeout_s
        self._line = SerialLine(port, baud, name)
        self._origin = 0.0
        try:
            self._command("G21")
            self._command("G91")
            self._machine_position()  # it answers; its position is the board's own (kept between runs)
        except MotionError:
            self._line.close()
            raise

    # ------------------------------------------------------------------ the wire
    def _command(self, text: str) -> None:
        """Send one line; wait for ``ok``. ``error:N`` and ``ALARM:N`` become one sentence."""
        logger.debug("%s <- %s", self.name, text)
        self._line.write(text.encode("ascii") + b"\n")
        deadline = time.monotonic() + _ANSWER_S
        while True:
            answer = self._line.read_line(max(0.05, deadline - time.monotonic()))
            logger.debug("%s -> %s", self.name, answer)
            if answer == "ok":
                return
            self._raise_on(answer, text)

    def _raise_on(self, answer: str, sent: str) -> None:
        if answer.startswith("error:"):
            code = _code(answer)
            raise MotionError(f"{self.name} refused {sent!r}: error {code} "
                              f"({GRBL_ERRORS.get(code, 'see the controller manual')}).")
        if answer.startswith(("Error:", "!!")):  # Marlin: "Error:…" (a halt is an alarm: it stops everything)
            text = answer.split(":", 1)[-1].strip()[:120] or "halted"
            kind = StageAlarm if "halt" in answer.lower() or answer.startswith("!!") else MotionError
            raise kind(f"{self.name} refused {sent!r}: {text}.")
        if answer.startswith("ALARM:"):
            code = _code(answer)
            raise StageAlarm(f"{self.name} stopped with alarm {code}: {GRBL_ALARMS.get(code, 'see the controller manual')}; "
                       "nothing moves until you clear it (focuslock rail unlock, after checking the stage).")

    def _report(self) -> tuple[str, float]:
        """The state and the axis's machine position, from ``?`` (GRBL) or ``M114`` (Marlin)."""
        if self.flavour == "marlin":
            self._line.write(b"M114\n")
            deadline = time.monotonic() + _ANSWER_S
            position = None
            while True:
                answer = self._line.read_line(max(0.05, deadline - time.monotonic()))
                match = re.search(rf"\b{self.letter}:(-?[0-9.]+)", answer)
                if match and position is None:
                    position = float(match.group(1))
                if answer == "ok" and position is not None:
                    return "Idle", position
                self._raise_on(answer, "M114")
        self._line.write(b"?")
        deadline = time.monotonic() + _ANSWER_S
        while True:
            answer = self._line.read_line(max(0.05, deadline - time.monotonic()))
            parsed = parse_status(answer)
            if parsed is not None:
                state, values = parsed
                index = _AXES.index(self.letter)
                if index >= len(values):
                    raise MotionError(f"{self.name} reports {len(values)} axes; it has no {self.letter} axis.")
                return state, values[index]
            self._raise_on(answer, "?")  # an alarm may come instead of (or before) the report

    def _machine_position(self) -> float:
        return self._report()[1]

    # ------------------------------------------------------------- Stage protocol
    def move(self, amount: float, speed: float | None = None) -> float:
        distance = amount / self._scale
        feed = (speed or 1000.0) / self._scale * 60.0  # per minute
        self._command(f"G1 {self.letter}{distance:.4f} F{feed:.1f}")
        if self.flavour == "marlin":
            self._command("M400")
            return self.position()
        deadline = time.monotonic() + self._move_timeout_s
        while True:
            state, position = self._report()
            if state == "Idle":
                return (position - self._origin) * self._scale
            if state == "Alarm":
                raise StageAlarm(f"{self.name} is in alarm; motion stopped (focuslock rail unlock, after checking the stage).")
            if time.monotonic() > deadline:
                self.stop()
                raise MotionError(f"{self.name} was still {state.lower()} after {self._move_timeout_s:g} s; it was stopped.")
            time.sleep(0.01)

    def position(self) -> float:
        return (self._machine_position() - self._origin) * self._scale

    def status(self) -> StageStatus:
        try:
            state, position = self._report()
        except StageAlarm as alarm:
            return StageStatus(False, float("nan"), alarm.user_message)
        return StageStatus(state not in ("Idle", "Alarm"), (position - self._origin) * self._scale,
                           "in alarm" if state == "Alarm" else None)

    def stop(self) -> None:
        self._line.write(b"!")

    def home(self) -> float:
        self._origin = self._machine_position()
        return 0.0

    def unlock(self) -> None:
        """``$X``: clear an alarm. Only on the user's explicit word, after they checked the stage."""
        self._command("$X")

    def close(self) -> None:
        self._line.close()


def _code(answer: str) -> int:
    try:
        return int(answer.split(":", 1)[1].strip())
    except ValueError:
        return -1
