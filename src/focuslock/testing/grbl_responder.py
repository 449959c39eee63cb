"""A GRBL 1.1 controller on a pseudo-terminal, for tests and scripts: it stands in for a
rail's board that no test machine has. The code under test opens the slave side's path
as it opens ``/dev/ttyUSB0``.

It speaks GRBL's documented protocol: every line answered ``ok`` or ``error:N``; ``?``
(real-time, no line end) answered ``<Idle|MPos:x,y,z,a|FS:f,0>`` (``Run`` for a few
reports after a move); with ``marlin`` Marlin's way instead (``M114`` answers
``X:… Y:… Z:… E:…``, ``M400`` waits for moves, a soft-limit stop is ``Error:Printer halted``);
``G90``/``G91``/``G21``; ``G0``/``G1`` with X/Y/Z/A and F; soft
limits (a move leaving ``travel_mm`` raises ``ALARM:2`` before moving); ``ALARM:N``
injected on the n-th move (``alarm_on_move``), after which every G-code line gets
``error:9`` until ``$X``; ``!`` feed hold.
"""

from __future__ import annotations

import os
import re
import select
import threading
import tty
from dataclasses import dataclass, field

__all__ = ["GrblResponder"]

_AXES = "XYZA"
_WORD = re.compile(r"([A-Z])(-?\d+(?:\.\d*)?|-?\.\d+)")


@dataclass
class GrblResponder:
    """A GRBL board on a pty. ``start()`` returns the slave's path; ``close()`` ends it."""

    travel_mm: tuple[float, float] = (-100.0, 100.0)  # soft limits of every axis (machine mm)
    run_reports: int = 2  # how many ``?`` reports say Run after a move
    alarm_on_move: int | None = None  # raise ALARM:1 (a limit switch) on this move (1-based)
    alarm_code: int = 1
    position: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    lines: list[str] = field(default_factory=list)  # every line received
    moves: int = 0
    unlocks: int = 0
    marlin: bool = False  # answer as Marlin: M114 reports the position, M400 waits, no '?' report

    def __post_init__(self) -> None:
        self._relative = False
        self._alarm = False
        self._running = 0
        self._master = -1
        self._slave = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        path = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="grbl-responder", daemon=True)
        self._thread.start()
        return path

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def _send(self, text: str) -> None:
        os.write(self._master, (text + "\r\n").encode("ascii"))

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            for byte in chunk:
                char = bytes([byte])
                if char == b"?" and not self.marlin:
                    self._status()
                elif char == b"!":
                    self._running = 0
                elif char == b"\x18":
                    self._send("Grbl 1.1h ['$' for help]")
                elif char in b"\r\n":
                    if buffer.strip():
                        self._line(buffer.decode("ascii", "replace").strip().upper())
                    buffer = b""
                else:
                    buffer += char

    def _status(self) -> None:
        state = "Alarm" if self._alarm else ("Run" if self._running > 0 else "Idle")
        if self._running > 0:
            self._running -= 1
        coordinates = ",".join(f"{v:.3f}" for v in self.position)
        self._send(f"<{state}|MPos:{coordinates}|FS:0,0>")

    def _line(self, line: str) -> None:
        self.lines.append(line)
        if line == "$X":
            self._alarm = False
            self.unlocks += 1
            self._send("[MSG:Caution: Unlocked]")
            self._send("ok")
            return
        if self._alarm:
            self._send("error:9")
            return
        if self.marlin and line in ("M114", "M400"):
            if line == "M114":
                x, y, z = self.position[:3]
                self._send(f"X:{x:.2f} Y:{y:.2f} Z:{z:.2f} E:0.00 Count X:0 Y:0 Z:0")
            self._running = 0
            self._send("ok")
            return
        words = _WORD.findall(line.replace(" ", ""))
        if not words:
            self._send("error:1")
            return
        codes = {(letter, value) for letter, value in words if letter in "GM"}
        if ("G", "91") in codes:
            self._relative = True
        if ("G", "90") in codes:
            self._relative = False
        if ("G", "1") in codes or ("G", "0") in codes:
            self._move({letter: float(value) for letter, value in words if letter in _AXES})
            return
        if any(letter not in "GMF" for letter, _ in words):
            self._send("error:20")
            return
        self._send("ok")

    def _move(self, targets: dict[str, float]) -> None:
        self.moves += 1
        after = list(self.position)
        for letter, value in targets.items():
            index = _AXES.index(letter)
            after[index] = after[index] + value if self._relative else value
        low, high = self.travel_mm
        if any(not low - 1e-9 <= v <= high + 1e-9 for v in after):
            self._send("ok")  # GRBL checks soft limits as the block is planned: ok, then the alarm
            self._alarm = True
            self._send("Error:Printer halted. kill() called!" if self.marlin else "ALARM:2")
            return
        self._send("ok")
        if self.alarm_on_move is not None and self.moves == self.alarm_on_move:
            # A limit switch hit halfway: motion stops where it is.
            self.position = [p + (a - p) / 2 for p, a in zip(self.position, after, strict=True)]
            self._alarm = True
            self._send(f"ALARM:{self.alarm_code}")
            return
        self.position = after
        self._running = self.run_reports
