"""The JSON API's handlers: status, lock, unlock, wait-sharp, drive, capture, product code.

Each handler reads its bounded request (:mod:`focuslock.serve.requests`), changes the
engine only through :class:`~focuslock.serve.host.LiveHost` (settings replaced whole)
or the session's command queue (the camera's one caller), and answers in JSON. A
refused request answers ``{"error": "one sentence"}`` with its status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from focuslock.core.errors import FocuslockError
from focuslock.devices.base import Camera, CameraError
from focuslock.serve.host import LiveHost
from focuslock.serve.hub import Published
from focuslock.serve.requests import MAX_DRIVE_STEPS, MAX_TIMEOUT_S, ApiError, bounded_number, boxes, read_json
from focuslock.serve.status import FocusStatus
from focuslock.workflows.marks import MarkError

__all__ = ["ServeContext", "capture", "command_result", "context", "drive", "lock", "set_sku", "status", "unlock", "wait_sharp"]

logger = logging.getLogger(__name__)

_MAX_SKU_CHARS = 64


@dataclass
class ServeContext:
    """What the handlers share: the live host, where captures go, and the studio
    session's log (``shot_log``, a :class:`~focuslock.workflows.watch.CaptureLog`) if any."""

    host: LiveHost
    capture_folder: Path
    shot_log: Any = None
    marks_folder: Path | None = None
    # Per camera: the marks folder's drive count as the session found it (serve/marks_api.py).
    drive_bases: dict[str, int] = field(default_factory=dict)


def context(request: HTTPConnection) -> ServeContext:
    """The server's shared state, from a request or a WebSocket."""
    return request.app.state.serve


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=error.status)


def sharp_enough(status: FocusStatus, max_coc_share: float, since_s: float) -> bool:
    """The gate's condition on one frame: taken after ``since_s``, fresh, locked, every
    feature SHARP by its lock and its blur at most ``max_coc_share`` of the CoC."""
    if status.frame_time_s is None or status.frame_time_s < since_s or not status.fresh:
        return False
    if not status.every_feature_sharp or status.coc_px is None:
        return False
    return all(f.blur_px is not None and f.blur_px <= max_coc_share * status.coc_px for f in status.features)


async def status(request: Request) -> JSONResponse:
    """The newest frame's verdict, its age as of now, the camera."""
    return JSONResponse(context(request).host.status_now().to_json())


async def _wait_publication(host: LiveHost, predicate, timeout_s: float) -> Published | None:
    return await anyio.to_thread.run_sync(host.wait_for, predicate, timeout_s, abandon_on_cancel=True)


async def lock(request: Request) -> JSONResponse:
    """Follow the boxes given and lock on them in the first frame where all are measured."""
    data = await read_json(request)
    host = context(request).host
    timeout_s = bounded_number(data, "timeout_s", 5.0, 0.1, MAX_TIMEOUT_S)
    current = host.status_now()
    rois = boxes(data, current.frame_size)
    problem = await anyio.to_thread.run_sync(host.lock_on, rois, timeout_s, abandon_on_cancel=True)
    if problem is not None:
        raise ApiError(409, problem)
    return JSONResponse(host.status_now().to_json())


async def unlock(request: Request) -> JSONResponse:
    """Unlock; the features stay followed."""
    await read_json(request)
    host = context(request).host
    unlocked_at = host.set_locked(False)
    await _wait_publication(host, lambda p: not p.status.locked and p.analysis.frame.timestamp_s >= unlocked_at, 2.0)
    return JSONResponse(host.status_now().to_json())


async def wait_sharp(request: Request) -> JSONResponse:
    """True as soon as ``frames`` fresh frames in a row, all taken after the request
    came, had every locked feature SHARP within ``max_coc_share`` of the CoC; false when
    ``timeout_s`` runs out first."""
    data = await read_json(request)
    timeout_s = bounded_number(data, "timeout_s", 10.0, 0.0, MAX_TIMEOUT_S)
    max_share = bounded_number(data, "max_coc_share", 0.5, 0.01, 1.0)
    frames = bounded_number(data, "frames", 2, 1, 100, whole=True)
    host = context(request).host
    started = time.monotonic()
    deadline = started + timeout_s
    subscriber = host.subscribers.add(asyncio.get_running_loop())
    in_a_row, sharp = 0, False
    try:
        while not sharp:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, published = await subscriber.next(left)
            if published is None:
                continue
            in_a_row = in_a_row + 1 if sharp_enough(published.status, max_share, started) else 0
            sharp = in_a_row >= frames
    finally:
        host.subscribers.remove(subscriber)
    now = host.status_now()
    return JSONResponse({"sharp": sharp, "state": now.state, "waited_s": round(time.monotonic() - started, 3),
                         "frames": in_a_row, "status": now.to_json()})


async def command_result(future: Future, timeout_s: float, doing: str) -> Any:
    """A camera command's result, or one sentence: 504 past ``timeout_s``, 409 for the camera's refusal."""
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
    except TimeoutError:
        raise ApiError(504, f"The camera did not finish {doing} within {timeout_s:g} s.") from None
    except (CameraError, MarkError) as error:
        raise ApiError(409, error.user_message or str(error)) from None


async def drive(request: Request) -> JSONResponse:
    """Drive focus by ``steps`` (bounded) on the camera's thread."""
    data = await read_json(request)
    steps = bounded_number(data, "steps", None, -MAX_DRIVE_STEPS, MAX_DRIVE_STEPS, whole=True)
    timeout_s = bounded_number(data, "timeout_s", 30.0, 0.1, MAX_TIMEOUT_S)
    host = context(request).host
    moved = await command_result(host.session.drive_focus(int(steps)), timeout_s, "driving focus")
    logger.info("drove focus %+d steps (moved %+d)", steps, moved)
    return JSONResponse({"steps": steps, "moved_steps": moved})


def _sku(data: dict, required: bool) -> str | None:
    sku = data.get("sku")
    if sku is None and not required:
        return None
    if not isinstance(sku, str) or not sku.strip() or len(sku) > _MAX_SKU_CHARS or not sku.isprintable():
        raise ApiError(400, f"\"sku\" must be the product's code: printable text of 1 to {_MAX_SKU_CHARS} characters.")
    return sku.strip()


async def set_sku(request: Request) -> JSONResponse:
    """The product code that names the next shots of the studio session."""
    data = await read_json(request)
    shot_log = context(request).shot_log
    if shot_log is None:
        raise ApiError(409, "No studio session: start the server with --session DIR --recipe R to name shots by product.")
    shot_log.sku = _sku(data, required=True)
    return JSONResponse({"sku": shot_log.sku})


async def capture(request: Request) -> JSONResponse:
    """Capture, download (verified) and, in a studio session, name, judge and log the
    shot as ``capture --session`` does (the same :class:`CaptureLog`); without a session,
    check the files against the lock as the window does."""
    data = await read_json(request)
    timeout_s = bounded_number(data, "timeout_s", 60.0, 1.0, MAX_TIMEOUT_S)
    ctx = context(request)
    shot_log, folder, host = ctx.shot_log, ctx.capture_folder, ctx.host
    sku = _sku(data, required=False)
    if sku is not None and shot_log is None:
        raise ApiError(409, "\"sku\" names shots in a studio session: start the server with --session DIR --recipe R.")
    now = host.latest()
    focus = now.analysis.result.focus if now is not None and now.analysis.result is not None else None
    reference = focus.lock.reference if focus is not None and focus.lock is not None else None
    roi = focus.roi_px if focus is not None else None
    frame_size = (now.analysis.frame.width_px, now.analysis.frame.height_px) if now is not None else None

    def command(camera: Camera) -> dict:
        from focuslock.session.recipe import settings_of

        paths = camera.capture(folder)
        if shot_log is not None:
            shot = shot_log(paths, camera.name, sku=sku if sku is not None else shot_log.sku,
                            camera_settings=settings_of(camera))
            return {"files": [str(folder / name) for name in [shot["file"], *shot["companions"]]],
                    "shot": {k: v for k, v in shot.items() if k != "text"}, "text": shot["text"]}
        from focuslock.session.checks import check_captured_files

        checks = (check_captured_files(paths, frame_size, roi, reference)
                  if reference is not None and roi and frame_size is not None else [])
        return {"files": [str(p) for p in paths],
                "checks": [{"file": str(c.path), "state": c.state, "blur_px": c.blur_px, "message": c.message}
                           for c in checks]}

    try:
        outcome = await command_result(host.session.submit(command, label="capture"), timeout_s, "the capture")
    except FocuslockError as error:
        raise ApiError(409, error.user_message or str(error)) from None
    host.announce("captured", files=outcome["files"])
    if "shot" in outcome or outcome.get("checks"):
        host.announce("checked", **{k: v for k, v in outcome.items() if k != "files"})
    return JSONResponse(outcome)
