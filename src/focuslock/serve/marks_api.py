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
from focuslock.workflows.marks import (
    DriveCounter,
    Mark,
    MarkError,
    MarkStore,
    check_mark_name,
    default_marks_folder,
    go_to_mark,
)
from focuslock.workflows.stack_shoot import StackShootError, go_to_nearer_mark, plan_slices, shoot_stack

__all__ = ["MAX_SLICES", "mark_go", "stack"]

# The most slices one stack request may plan.
MAX_SLICES = 500

logger = logging.getLogger(__name__)


def _marks(request: Request, names: list[str]) -> tuple[MarkStore, list[Mark], str, int]:
    """The mark store, the marks ``names`` (404 for one not set), the live camera's name
    and the drive count where this server's session started (409 with no camera live)."""
    ctx = context(request)
    store = MarkStore(ctx.marks_folder or default_marks_folder())
    try:
        marks = [store.load(check_mark_name(name)) for name in names]
    except MarkError as error:
        raise ApiError(404, error.user_message or str(error)) from None
    camera_name = ctx.host.camera_name
    if camera_name is None:
        raise ApiError(409, "No camera is live now; go to a mark once live view shows.")
    try:
        # Where the last command left the lens when this session started: the folder's count
        # until the server's first move to a mark writes it.
        base = ctx.drive_bases.setdefault(camera_name, store.drive_position(camera_name))
    except MarkError as error:
        raise ApiError(409, error.user_message or str(error)) from None
    return store, marks, camera_name, base


async def mark_go(request: Request) -> JSONResponse:
    """Drive back to the mark ``name`` and find its best focus again."""
    data = await read_json(request)
    timeout_s = bounded_number(data, "timeout_s", 90.0, 1.0, MAX_TIMEOUT_S)
    store, [mark], camera_name, base = _marks(request, [request.path_params["name"]])
    host = context(request).host
    session = host.session

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


def _too_many(count: int) -> None:
    if count > MAX_SLICES:
        raise ApiError(400, f"That stack has {count} slices; at most {MAX_SLICES} a request (take larger steps).")


async def stack(request: Request) -> JSONResponse:
    """Shoot a focus stack as ``stack-shoot`` does: from ``near_steps`` nearer to
    ``far_steps`` farther than focus now, or from one mark to another (``from_mark``,
    ``to_mark``: the drive goes back to the nearer mark and finds its best focus again
    first), at most ``every_steps`` apart, each slice captured into a new folder under the
    captures folder; a ``stack`` event per slice. Past ``timeout_s`` the stack stops
    between two slices and says so."""
    data = await read_json(request)
    by_marks = "from_mark" in data or "to_mark" in data
    if by_marks and ("near_steps" in data or "far_steps" in data):
        raise ApiError(400, "Give \"from_mark\" and \"to_mark\", or \"near_steps\" and \"far_steps\", not both.")
    if by_marks and not all(isinstance(data.get(key), str) for key in ("from_mark", "to_mark")):
        raise ApiError(400, "\"from_mark\" and \"to_mark\" go together, each a mark's name.")
    every = int(bounded_number(data, "every_steps", None, 1, MAX_DRIVE_STEPS, whole=True))
    timeout_s = bounded_number(data, "timeout_s", MAX_TIMEOUT_S, 1.0, MAX_TIMEOUT_S)
    positions: list[int] = []
    if by_marks:
        store, (first, second), camera_name, base = _marks(request, [data["from_mark"], data["to_mark"]])
        # Counted as the planner will plan it (from the nearer mark to the farther one).
        _too_many(len(plan_slices(0, abs(second.position_steps - first.position_steps), every)))
    else:
        near = int(bounded_number(data, "near_steps", None, 0, MAX_DRIVE_STEPS, whole=True))
        far = int(bounded_number(data, "far_steps", None, 0, MAX_DRIVE_STEPS, whole=True))
        positions = plan_slices(near, far, every)
        _too_many(len(positions))
    ctx = context(request)
    host = ctx.host
    folder = _new_stack_folder(ctx.capture_folder)
    stop = threading.Event()

    def progress(index: int, total: int, files: list) -> None:
        host.announce("stack", slice=index + 1, of=total, files=[str(path) for path in files])

    def command(camera: Camera) -> dict:
        planned = positions
        if by_marks:  # back to the nearer mark's best focus, counted as `mark go` counts
            counter = DriveCounter(camera, base + host.session.drive_position_steps)
            try:
                planned, _ = go_to_nearer_mark(counter, first, second, counter.position_steps, every)
            except StackShootError as error:
                raise MarkError(str(error)) from None
            shot = shoot_stack(counter, planned, folder, progress=progress, should_stop=stop.is_set)
            store.set_drive_position(camera_name, counter.position_steps)
        else:
            shot = shoot_stack(camera, planned, folder, progress=progress, should_stop=stop.is_set)
        return {"folder": str(folder), "planned_slices": len(planned), "slices": len(shot.files),
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
