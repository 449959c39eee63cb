"""A rail or turntable behind a small JSON-over-HTTP API (an ESP32 or any board on the
studio's network). The API is defined in ``docs/RAIL-HTTP.md``:

* ``GET  /status`` -> ``{"state": "idle"|"moving"|"alarm", "position": float, "unit": "um"|"deg", "alarm": str|null}``
* ``POST /move``   ``{"by": float, "speed": float}`` -> 202 ``{"state": "moving"}``; 409 in alarm, 400 out of bounds
* ``POST /stop``   -> 200; ``POST /zero`` -> 200 (the present position becomes 0)

Errors come as ``{"error": "one sentence"}``. With a token (the profile names the
environment variable that holds it) every request carries ``Authorization: Bearer …``.
"""

from __future__ import annotations

import json
import logging
import math
import time
import urllib.error
import urllib.request
from typing import Any

from focuslock.devices.rails.base import Axis, MotionError, StageAlarm, StageStatus

__all__ = ["HttpStage"]

logger = logging.getLogger(__name__)

_MAX_ANSWER_BYTES = 64 * 1024


class HttpStage:
    """A stage at ``url`` (``http://rail.local:80``) speaking the API above."""

    def __init__(self, url: str, *, name: str = "HTTP rail", axis: Axis = Axis.RAIL, token: str | None = None,
                 timeout_s: float = 3.0, move_timeout_s: float = 60.0, token_env: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise MotionError(f"{name}: the rail's address must start with http:// or https://, got {url!r}.")
        self.name, self.axis, self.url = name, axis, url.rstrip("/")
        self._token, self._timeout_s, self._move_timeout_s = token, timeout_s, move_timeout_s
        self._token_env = token_env  # the environment variable the profile reads the token from
        unit = self._get_status().get("unit")
        expected = "um" if axis is Axis.RAIL else "deg"
        if unit != expected:
            raise MotionError(f"{name} says it moves in {unit!r}; a {axis.value} here moves in {expected!r}.")

    def _request(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw = response.read(_MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            sentence = _error_sentence(error.read(_MAX_ANSWER_BYTES))
            if error.code == 409:
                raise StageAlarm(f"{self.name} is in alarm: {sentence}") from None
            if error.code in (401, 403):
                raise MotionError(self._token_sentence()) from None
            raise MotionError(f"{self.name} refused {method} {path} ({error.code}): {sentence}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise MotionError(f"{self.name} at {self.url} could not be reached ({reason}).") from None
        if len(raw) > _MAX_ANSWER_BYTES:
            raise MotionError(f"{self.name} sent an answer over {_MAX_ANSWER_BYTES} bytes; it is not a rail.")
        try:
            answer = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise MotionError(f"{self.name} answered {method} {path} with something other than JSON.") from None
        if not isinstance(answer, dict):
            raise MotionError(f"{self.name} answered {method} {path} with JSON that is not an object.")
        return answer

    def _token_sentence(self) -> str:
        where = f"${self._token_env}" if self._token_env else "the variable the profile's token_env names"
        if not self._token:
            if not self._token_env:
                return (f"{self.name} asks for a token and none was sent: add token_env to the rail's profile, naming "
                        "the environment variable that holds it, and set that variable.")
            return f"{self.name} asks for a token and none was sent: {where} is not set; set it to the board's token."
        return f"{self.name} refused the token in {where}: it is not the board's; set it to the board's token."

    def _get_status(self) -> dict[str, Any]:
        return self._request("GET", "/status")

    def status(self) -> StageStatus:
        answer = self._get_status()
        position = answer.get("position")
        if isinstance(position, bool) or not isinstance(position, (int, float)) or not math.isfinite(position):
            raise MotionError(f"{self.name} reported no position.")
        state = answer.get("state")
        alarm = answer.get("alarm") if state == "alarm" else None
        return StageStatus(state == "moving", float(position), str(alarm or "in alarm") if state == "alarm" else None)

    def move(self, amount: float, speed: float | None = None) -> float:
        body: dict[str, float] = {"by": float(amount)}
        if speed is not None:
            body["speed"] = float(speed)
        self._request("POST", "/move", body)
        deadline = time.monotonic() + self._move_timeout_s
        while True:
            status = self.status()
            if status.alarm:
                raise StageAlarm(f"{self.name} stopped: {status.alarm}.")
            if not status.moving:
                return status.position
            if time.monotonic() > deadline:
                self.stop()
                raise MotionError(f"{self.name} was still moving after {self._move_timeout_s:g} s; it was stopped.")
            time.sleep(0.01)

    def position(self) -> float:
        return self.status().position

    def stop(self) -> None:
        self._request("POST", "/stop", {})

    def home(self) -> float:
        self._request("POST", "/zero", {})
        return 0.0

    def close(self) -> None:
        pass


def _error_sentence(raw: bytes) -> str:
    try:
        text = json.loads(raw.decode("utf-8")).get("error")
    except (UnicodeDecodeError, ValueError, AttributeError):
        text = None
    return str(text)[:200] if text else "no reason given"
