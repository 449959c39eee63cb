"""``POST /api/marks/{name}/go``: back to a named focus mark, as ``focuslock mark go`` does;
``POST /api/stack``: a focus stack by drive steps, as ``stack-shoot --near-steps --far-steps``.

The mark is read from the marks folder (``--marks``; default the config folder's
``marks/``, as the command line keeps them); :func:`focuslock.workflows.marks.go_to_mark`
drives to it and finds best focus again from the picture, on the acquisition thread (live
view shows PAUSED meanwhile), its moves counted in the session's drive count. The drive's
count is the marks folder's for this camera as the session found it (where the last
command left the lens), plus the steps the session has moved since; it is kept in the
folder after each go, so that ``focuslock mark`` commands carry on from there.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse

from focuslock.devices.base import Camera
from focuslock.serve.api import command_result, context
from focuslock.serve.requests import MAX_DRIVE_STEPS, MAX_TIMEOUT_S, ApiError, bounded_number, read_json
from focuslock.workflows.marks import DriveCounter, MarkError, MarkStore, check_mark_name, default_marks_folder, go_to_mark
from focuslock.workflows.stack_shoot import plan_slices, shoot_stack

__all__ = ["MAX_SLICES", "mark_go", "stack"]

# The most slices one stack request may plan.
MAX_SLICES = 500

logger = logging.getLogger(__name__)


async def mark_go(request: Request) -> JSONResponse:
    """Drive back to the mark ``name`` and find its best focus again."""
    data = await read_json(request)
    timeout_s = bounded_number(data, "timeout_s", 90.0, 1.0, MAX_TIMEOUT_S)
    ctx = context(request)
    store = MarkStore(ctx.marks_folder or default_marks_folder())
    try:
        mark = store.load(check_mark_name(request.path_params["name"]))
    except MarkError as error:
        raise ApiError(404, error.user_message or str(error)) from None
    host = ctx.host
    camera_name = host.camera_name
    if camera_name is None:
        raise ApiError(409, "No camera is live now; go to a mark once live view shows.")
    session = host.session
    try:
        # Where the last command left the lens when this session started: the folder's count
        # until the server's first go to a mark writes it.
        base = ctx.drive_bases.setdefault(camera_name, store.drive_position(camera_name))
    except MarkError as error:
        raise ApiError(409, error.user_message or str(error)) from None

    def command(camera: Camera) -> dict:
        counter = DriveCounter(camera, base + session.drive_position_steps)  # read on the camera's thread
        result = go_to_mark(counter, mark, counter.position_steps)
        store.set_drive_position(camera_name, counter.position_steps)
        return {"name": mark.name, "position_steps": result.position_steps,
                "moved_from_mark_steps": round(float(result.moved_from_mark_steps), 2)}

    outcome = await command_result(host.session.submit_driving(command, label="mark"), timeout_s, "going to the mark")
    logger.info("at mark %s: %s", mark.name, outcome)
    host.announce("mark", **outcome)
    return JSONResponse(outcome)


async def stack(request: Request) -> JSONResponse:
    """Shoot a focus stack as ``stack-shoot --near-steps N --far-steps M`` does: from N
    steps nearer to M farther than focus now, at most ``every_steps`` apart, each slice
    captured into a new folder under the captures folder; a ``stack`` event per slice.
    Past ``timeout_s`` the stack stops between two slices and says so."""
    data = await read_json(request)
    near = int(bounded_number(data, "near_steps", None, 0, MAX_DRIVE_STEPS, whole=True))
    far = int(bounded_number(data, "far_steps", None, 0, MAX_DRIVE_STEPS, whole=True))
    every = int(bounded_number(data, "every_steps", None, 1, MAX_DRIVE_STEPS, whole=True))
    timeout_s = bounded_number(data, "timeout_s", MAX_TIMEOUT_S, 1.0, MAX_TIMEOUT_S)
    positions = plan_slices(near, far, every)
    if len(positions) > MAX_SLICES:
        raise ApiError(400, f"That stack has {len(positions)} slices; at most {MAX_SLICES} a request (take larger steps).")
    ctx = context(request)
    host = ctx.host
    folder = _new_stack_folder(ctx.capture_folder)
    stop = threading.Event()

    def progress(index: int, total: int, files: list) -> None:
        host.announce("stack", slice=index + 1, of=total, files=[str(path) for path in files])

    def command(camera: Camera) -> dict:
        shot = shoot_stack(camera, positions, folder, progress=progress, should_stop=stop.is_set)
        return {"folder": str(folder), "planned_slices": len(positions), "slices": len(shot.files),
                "files": [str(path) for path in shot.all_files], "stopped": shot.stopped}

    future = host.session.submit_driving(command, label="stack")
    try:
        outcome = await command_result(future, timeout_s, "the stack")
    except ApiError:
        stop.set()  # the stack ends between two slices; what was shot stays in its folder
        raise
    host.announce("stack", done=True, **{k: v for k, v in outcome.items() if k != "files"})
    return JSONResponse(outcome)


def _new_stack_folder(captures: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for number in range(1, 1000):
        folder = captures / (f"stack-{stamp}" if number == 1 else f"stack-{stamp}-{number}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as error:
            raise ApiError(409, f"The stack's folder {folder} could not be made ({error.strerror}).") from None
    raise ApiError(409, f"No new stack folder could be made in {captures}.")
