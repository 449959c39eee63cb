"""``focuslock stack-shoot --rail``, ``spin`` and ``rail``: stacks on a motorised rail,
turntable spins, and a rail's own status, moves and unlock (rails and turntables:
``drivers/rails/*.toml``)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_FAILURE, EXIT_OK, UserError, print_json

__all__ = ["add_rail", "add_spin", "set_zoom_of", "stack_with_rail"]

_PROFILE_HELP = "a rail or turntable profile: a name in drivers/rails/ (sim-rail, grbl-z, stackshot, esp32-http, …) or a .toml path"


def add_spin(commands) -> None:
    """Add ``spin`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    spin = commands.add_parser("spin", help="turn a turntable through N angles, the feature sharp at each before its frame")
    spin.add_argument("--turntable", required=True, help=_PROFILE_HELP)
    spin.add_argument("--steps", type=int, required=True, help="how many equal angles in a turn (24: every 15°)")
    spin.add_argument("--roi", type=arg.feature, required=True,
                      help="the feature, sharp now: " + arg.FEATURE_HELP + " (live-view pixels)")
    spin.add_argument("--source", default="sim", help=SOURCE_HELP)
    spin.add_argument("--out", type=Path, default=Path("spin"), help="folder for the frames (default spin; never mixed)")
    spin.add_argument("--session", type=Path, help="log every angle's shot and verdict in this session folder")
    spin.add_argument("--magnification", type=arg.positive_float, help="simulated bench only: its magnification")
    spin.add_argument("--capture-width-px", type=int, help="simulated bench only: the width of its captures")
    spin.add_argument("--live-view-zoom", type=arg.positive_float, help="simulated bench only: zoom live view (5 or 10)")
    spin.add_argument("--radius-mm", type=arg.positive_float, default=0.85,
                      help="simulated turntable only: the feature's distance from the axis (default 0.85 mm)")
    spin.add_argument("--json", action="store_true", help="print one JSON object")
    spin.set_defaults(run=_spin)


def add_rail(commands) -> None:
    """Add ``rail status|move|unlock`` to the sub-commands ``commands``."""
    rail = commands.add_parser("rail", help="a rail's or turntable's status, a move, or clearing its alarm")
    actions = rail.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("status", "where it is, moving or idle, any alarm"), ("move", "move by --by (µm or degrees)"),
                         ("unlock", "clear a G-code controller's alarm ($X): only after checking the stage")):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--rail", required=True, help=_PROFILE_HELP)
        if action == "move":
            sub.add_argument("--by", type=arg.finite_float, required=True, help="how far: µm (rail) or degrees (turntable)")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
    rail.set_defaults(run=_rail)


def _rail(args: argparse.Namespace) -> int:
    from focuslock.devices.rails.base import MotionError, check_move_length
    from focuslock.devices.rails.profile import find_stage_profile, open_stage

    try:
        profile = find_stage_profile(args.rail)
        if profile.backend == "sim":
            raise UserError(f"{profile.name} lives on the simulated bench; it is moved by stack-shoot or spin with --source sim.")
        if args.action == "move":
            check_move_length(profile.name, profile.axis, profile.limits, args.by)  # before the port is opened
        stage = open_stage(profile)
        try:
            if args.action == "move":
                stage.move(args.by)
            elif args.action == "unlock":
                unlock = getattr(stage.inner, "unlock", None)
                if unlock is None:
                    raise UserError(f"{profile.name} cannot clear an alarm from here (its {profile.backend} controller has "
                                    "no unlock command): check the stage, then clear it on the controller itself (its "
                                    "button or its own page, or power it off and on).")
                unlock()
            status = stage.status()
        finally:
            stage.close()
    except MotionError as error:
        raise UserError(error.user_message) from None
    known = math.isfinite(status.position)  # a controller in alarm may not report where it is
    out = {"rail": profile.name, "moving": status.moving, "position": status.position if known else None,
           "unit": profile.axis.unit, "alarm": status.alarm}
    if args.json:
        print_json(out)
    elif status.alarm:
        at = f"at {status.position:+.1f} {profile.axis.unit}" if known else "its position unknown"
        print(f"ALARM: {profile.name}: {status.alarm}; {at}, nothing moves until the alarm is cleared (check the stage first).")
    else:
        print(f"{profile.name}: {'moving' if status.moving else 'idle'} at {status.position:+.1f} {profile.axis.unit}")
    return EXIT_FAILURE if status.alarm else EXIT_OK


def stack_with_rail(args: argparse.Namespace) -> int:
    """``stack-shoot --rail``: a closed-loop stack from --near-um to --far-um on the rail."""
    from focuslock.cli.marks_cmds import _close_drive_camera, _open_drive_camera, print_stack_result
    from focuslock.devices.rails.base import Axis, MotionError
    from focuslock.io.outputs import OutputError, claim_run_folder
    from focuslock.workflows.closed_loop import check_rail_plan, rail_mover, shoot_closed_loop
    from focuslock.workflows.stack_shoot import (
        InterruptFlag,
        StackShootError,
        frame_step_steps,
        optics_of,
        plan_slices,
        step_span,
    )
    from focuslock.workflows.stages import open_profile_stage

    if args.near_um is None or args.far_um is None:
        raise UserError("A stack on a rail runs from --near-um N to --far-um M (µm nearer and farther than focus now).")
    if args.near_steps is not None or args.far_steps is not None or args.from_mark or args.to_mark:
        raise UserError("With --rail the stack is given in µm (--near-um, --far-um), not in drive steps or marks.")
    camera = _open_drive_camera(args, None)
    stage = None
    try:
        if not camera.capabilities.capture:
            raise UserError(f"{camera.name} cannot capture from the computer; a stack needs it.")
        profile, stage = open_profile_stage(args.rail, camera, Axis.RAIL)
        optics, sensor_width_mm = optics_of(camera)
        set_zoom_of(args, camera)
        every = frame_step_steps(optics, 1.0, args.overlap)
        positions = plan_slices(int(round(args.near_um)), int(round(args.far_um)), every)
        mover = rail_mover(stage, profile.backlash)
        check_rail_plan(stage, mover, positions)
        if not args.json:
            print(f"{len(positions)} frames on {profile.name}, one every {step_span(positions)} µm (depth of field "
                  f"{optics.planning_dof_mm() * 1000:.0f} µm per frame, overlap {args.overlap:g}); each step "
                  "checked on live view before its frame", flush=True)
        folder = claim_run_folder(args.out)

        def progress(index, count, files) -> None:
            if not args.json:
                print(f"frame {index + 1}/{count} at {positions[index]:+d} µm: " + ", ".join(str(p) for p in files),
                      flush=True)

        with InterruptFlag() as stop:
            shot = shoot_closed_loop(camera, mover, positions, folder, optics=optics,
                                     sensor_width_mm=sensor_width_mm, settle_timeout_s=profile.settle_timeout_s,
                                     progress=progress, should_stop=stop)
    except (StackShootError, OutputError, MotionError) as error:
        raise UserError(error.user_message) from None
    finally:
        if stage is not None:
            stage.close()
        _close_drive_camera(camera, None)
    return print_stack_result(args, shot, optics, sensor_width_mm, len(positions))


def set_zoom_of(args: argparse.Namespace, camera) -> None:
    """``--live-view-zoom``: the simulated bench's live view zoomed (a body's is zoomed on the body)."""
    zoom = getattr(args, "live_view_zoom", None)
    if zoom and zoom != 1.0:
        set_zoom = getattr(camera, "set_live_view_zoom", None)
        if set_zoom is None or args.source != "sim":
            raise UserError("--live-view-zoom sets the simulated bench's live view; zoom a body's live view on the body.")
        from focuslock.core.errors import FocuslockError

        try:
            set_zoom(zoom)
        except FocuslockError as error:  # the bench's ZoomError: one sentence
            raise UserError(error.user_message) from None


def _spin(args: argparse.Namespace) -> int:
    from focuslock.cli.marks_cmds import _feature_on_camera, _open_drive_camera
    from focuslock.devices.base import CameraError
    from focuslock.devices.rails.base import Axis, MotionError
    from focuslock.io.outputs import OutputError, claim_run_folder
    from focuslock.workflows.spin import SpinError, spin
    from focuslock.workflows.stack_shoot import InterruptFlag, optics_of
    from focuslock.workflows.stages import SpinSession, open_profile_stage

    camera = _open_drive_camera(args, None)
    stage = log = None
    try:
        profile, stage = open_profile_stage(args.turntable, camera, Axis.TURNTABLE, radius_mm=args.radius_mm)
        optics, _ = optics_of(camera)
        set_zoom_of(args, camera)
        roi = _feature_on_camera(args, camera)
        folder = claim_run_folder(args.out)
        take = None
        if args.session is not None:
            log = SpinSession(args.session, roi, camera.read_frame(),
                              getattr(camera.config, "capture_width_px", None) if args.source == "sim" else None)
            take = log.take

        def said(angle) -> None:
            if not args.json:
                where = f"found at {angle.box_px[0]},{angle.box_px[1]}" if angle.found else "not found"
                print(f"{angle.angle_deg:6.1f}°: {where}, {angle.verdict.upper()}"
                      + (" after refocusing" if angle.refocused else "") + (f" — {angle.reason}" if angle.reason else "")
                      + "".join(f"  {p}" for p in angle.files), flush=True)

        with InterruptFlag() as stop:
            result = spin(camera, stage, roi, args.steps, folder, optics=optics, settle_timeout_s=profile.settle_timeout_s,
                          take=take, progress=said, should_stop=stop)
    except (SpinError, OutputError, MotionError, CameraError) as error:
        raise UserError(error.user_message) from None
    finally:
        if log is not None:
            log.close()
        if stage is not None:
            stage.close()
        camera.close()
    record = {"turntable": profile.name, "steps": args.steps, "folder": str(result.folder), "stopped": result.stopped,
              "sharp": result.sharp, "angles": [a.fields() for a in result.angles]}
    from focuslock.io.outputs import replace_file

    try:
        replace_file(result.folder / "spin.json", json.dumps(record, indent=2).encode("utf-8"))
    except OutputError as error:
        print(f"focuslock: {error}", file=sys.stderr)
    if args.json:
        print_json(record)
    else:
        print(f"{result.sharp} of {len(result.angles)} angles SHARP; frames in {result.folder}")
        if result.stopped:
            print(f"focuslock: the spin stopped after {len(result.angles)} of {args.steps} angles: {result.stopped}.",
                  file=sys.stderr)
    return EXIT_FAILURE if result.stopped or result.sharp < args.steps else EXIT_OK
