"""``POST /api/marks/{name}/go``: back to a named focus mark, as ``focuslock mark go`` does.

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

from starlette.requests import Request
from starlette.responses import JSONResponse

from focuslock.devices.base import Camera
from focuslock.serve.api import command_result, context
from focuslock.serve.requests import MAX_TIMEOUT_S, ApiError, bounded_number, read_json
from focuslock.workflows.marks import DriveCounter, MarkError, MarkStore, check_mark_name, default_marks_folder, go_to_mark

__all__ = ["mark_go"]

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
