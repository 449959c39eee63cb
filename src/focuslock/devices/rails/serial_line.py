"""A serial port opened as a terminal (``/dev/ttyUSB0``, ``/dev/ttyACM0``, a
pseudo-terminal): raw mode, the baud rate, reads with a deadline. The standard library's
``termios`` only — no driver beyond the kernel's."""

from __future__ import annotations

import logging
import os
import select
import termios
import time
import tty

from focuslock.devices.rails.base import MotionError

__all__ = ["SerialLine"]

logger = logging.getLogger(__name__)

_BAUDS = {9600: termios.B9600, 19200: termios.B19200, 38400: termios.B38400, 57600: termios.B57600,
          115200: termios.B115200, 230400: termios.B230400}


class SerialLine:
    """One open serial port. ``read_line`` and ``read_exact`` wait at most ``timeout_s``."""

    def __init__(self, path: str, baud: int, name: str) -> None:
        if baud not in _BAUDS:
            raise MotionError(f"{name}: a baud rate of {baud} is not one of {', '.join(map(str, _BAUDS))}.")
        self.name = name
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as error:
            raise MotionError(f"{name}: the serial port {path} could not be opened ({error.strerror}); is the "
                              "controller plugged in and the port yours (the dialout group)?") from None
        try:
            tty.setraw(self._fd)
            attrs = termios.tcgetattr(self._fd)
            attrs[4] = attrs[5] = _BAUDS[baud]
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
            termios.tcflush(self._fd, termios.TCIOFLUSH)
        except termios.error:
            os.close(self._fd)
            raise MotionError(f"{name}: {path} is not a serial port.") from None
        self._buffer = b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 2.0
        while view:
            try:
                sent = os.write(self._fd, view)
            except BlockingIOError:
                sent = 0
            except OSError as error:
                raise MotionError(f"{self.name}: writing to {self.path} failed ({error.strerror}); the cable may be out.") from None
            view = view[sent:]
            if view and time.monotonic() > deadline:
                raise MotionError(f"{self.name}: {self.path} takes no more bytes; the controller is not reading.")
            if view:
                select.select([], [self._fd], [], 0.05)

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([self._fd], [], [], remaining)
        if not ready:
            return False
        try:
            chunk = os.read(self._fd, 4096)
        except BlockingIOError:
            return True
        except OSError as error:
            raise MotionError(f"{self.name}: reading {self.path} failed ({error.strerror}); the cable may be out.") from None
        if not chunk:
            raise MotionError(f"{self.name}: {self.path} was closed by the other end.")
        self._buffer += chunk
        return True

    def read_line(self, timeout_s: float) -> str:
        """The next line (without its end), or :class:`MotionError` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            if not self._fill(deadline) and time.monotonic() >= deadline:
                raise MotionError(f"{self.name}: no answer on {self.path} within {timeout_s:g} s.")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    def read_exact(self, count: int, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while len(self._buffer) < count:
            if not self._fill(deadline) and time.monotonic() >= deadline:
                raise MotionError(f"{self.name}: no answer on {self.path} within {timeout_s:g} s.")
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
