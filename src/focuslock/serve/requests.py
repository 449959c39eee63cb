"""Reading a request's JSON body, bounded, and checking each value: one sentence per mistake.

A body is read up to :data:`MAX_BODY_BYTES` (a longer one is refused while it arrives,
not after); it must be a JSON object sent as ``application/json`` (a browser on another
site cannot send that without a CORS pre-flight, which the server never grants). Every
number a request gives is bounded here: drive steps, timeouts, shares of the CoC.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from focuslock.core.box import BoxError, feature_box
from focuslock.focus.engine import MAX_FEATURES

__all__ = ["MAX_BODY_BYTES", "MAX_DRIVE_STEPS", "MAX_TIMEOUT_S", "ApiError", "boxes", "bounded_number", "read_json"]

MAX_BODY_BYTES = 16 * 1024
# One drive request moves at most this many steps (a bench's whole travel is 2400).
MAX_DRIVE_STEPS = 5000
# The longest a request may wait (wait-sharp, lock, drive, capture).
MAX_TIMEOUT_S = 120.0


class ApiError(Exception):
    """A request the server refuses: the HTTP status and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_json(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object (``{}`` when empty)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    if not body.strip():
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "Send the request body as JSON with Content-Type: application/json.")
    try:
        data = json.loads(bytes(body).decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, f"The request body is not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object, such as {\"steps\": 10}.")
    return data


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def bounded_number(data: dict[str, Any], name: str, default: float | None, low: float, high: float,
                   whole: bool = False) -> float:
    """``data[name]`` (or ``default``) when it is a number from ``low`` to ``high``."""
    value = data.get(name, default)
    if value is None:
        raise ApiError(400, f"Give \"{name}\": a number from {low:g} to {high:g}.")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"\"{name}\" must be a number from {low:g} to {high:g}, not {json.dumps(value)[:40]}.")
    if whole and value != int(value):
        raise ApiError(400, f"\"{name}\" must be a whole number, not {value}.")
    if not low <= value <= high:
        raise ApiError(400, f"\"{name}\" must be from {low:g} to {high:g}, not {value:g}.")
    return int(value) if whole else float(value)


def boxes(data: dict[str, Any], frame_size: tuple[int, int] | None) -> list[tuple[int, int, int, int]]:
    """The features' boxes of a lock request: ``"roi": [x, y, w, h]`` or ``"rois"``, a
    list of up to four, each inside the live view (``frame_size``: its width and height)."""
    if ("roi" in data) == ("rois" in data):
        raise ApiError(400, "Give the feature as \"roi\": [x, y, w, h] or several as \"rois\": [[x, y, w, h], …].")
    given = [data["roi"]] if "roi" in data else data["rois"]
    if not isinstance(given, list) or not 1 <= len(given) <= MAX_FEATURES:
        raise ApiError(400, f"\"rois\" must be a list of 1 to {MAX_FEATURES} boxes [x, y, w, h].")
    if frame_size is None:
        raise ApiError(409, "No frame has arrived from the camera yet; lock once live view shows.")
    found = []
    for values in given:
        if not isinstance(values, list) or len(values) != 4 or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise ApiError(400, f"A box is four numbers [x, y, w, h] in live-view pixels, not {json.dumps(values)[:60]}.")
        try:
            box = feature_box(values).check_inside(*frame_size, picture="live view")
        except BoxError as error:
            raise ApiError(400, error.user_message) from None
        found.append(box.as_tuple())
    return found
