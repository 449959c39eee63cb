"""``focuslock mark``, ``stack-shoot`` and ``stack-check``: focus marks, shooting a focus
stack with the drive, and checking a stack's coverage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_FAILURE, EXIT_OK, UserError, print_json

__all__ = ["add_mark", "add_stack_check", "add_stack_shoot", "print_stack_result"]


def add_stack_shoot(commands) -> None:
    """Add ``stack-shoot`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    shoot = commands.add_parser("stack-shoot", help="drive and capture a focus stack, then check its coverage")
    shoot.add_argument("--source", default="sim", help=SOURCE_HELP)
    shoot.add_argument("--near-steps", type=int, help="the stack's near end: drive steps nearer than focus now")
    shoot.add_argument("--far-steps", type=int, help="the stack's far end: drive steps farther than focus now")
    shoot.add_argument("--from-mark", metavar="NAME", help="or: from this mark (set by `focuslock mark set`) …")
    shoot.add_argument("--to-mark", metavar="NAME", help="… to this one (the drive goes back to the nearer first)")
    shoot.add_argument("--marks", type=Path, help="the marks' folder (default: the user's)")
    shoot.add_argument("--overlap", type=arg.finite_float, default=0.3,
                       help="overlap between frames as a fraction of the depth of field (default 0.3)")
    drive = shoot.add_mutually_exclusive_group()
    drive.add_argument("--step-um", type=arg.positive_float, help="µm of focus shift per drive step (default: the calibration)")
    drive.add_argument("--calibration", type=Path,
                       help="a focus-drive calibration file (default: the user's, measured by `calibrate focus-steps`)")
    shoot.add_argument("--out", type=Path, default=Path("stack"),
                       help="folder for the frames (default stack; one that holds files gives stack-2, ...)")
    shoot.add_argument("--no-check", action="store_true", help="do not run stack-check on the frames afterwards")
    shoot.add_argument("--magnification", type=arg.positive_float, help="simulated bench only: its magnification")
    shoot.add_argument("--capture-width-px", type=int, help="simulated bench only: the width of its captures")
    shoot.add_argument("--check-steps", action="store_true",
                       help="measure every drive step on live view before its frame; move again when it fell short")
    shoot.add_argument("--rail", help="shoot on this rail (a profile in drivers/rails/ or a .toml path), "
                                      "every step measured before its frame")
    shoot.add_argument("--near-um", type=arg.finite_float, help="with --rail: the stack's near end, µm nearer than focus now")
    shoot.add_argument("--far-um", type=arg.finite_float, help="with --rail: the stack's far end, µm farther than focus now")
    shoot.add_argument("--live-view-zoom", type=arg.positive_float, help="simulated bench only: zoom live view (5 or 10)")
    shoot.add_argument("--json", action="store_true", help="print one JSON object")
    shoot.set_defaults(run=_stack_shoot)


def add_mark(commands) -> None:
    """Add ``mark set|go|drive|list|delete`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    mark = commands.add_parser("mark", help="named focus marks: set one on a feature in focus, go back to it, list them")
    mark_actions = mark.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("set", "mark the feature in --roi, in focus now"), ("go", "drive back to a mark and find its best focus"),
                         ("drive", "move the focus drive by --steps (nearer < 0 < farther)"), ("list", "the marks kept"),
                         ("delete", "forget a mark")):
        sub = mark_actions.add_parser(action, help=text)
        if action in ("set", "go", "delete"):
            sub.add_argument("name", help="the mark's name (A, B, 'label edge', …)")
        if action in ("set", "go", "drive"):
            sub.add_argument("--source", default="sim", help=SOURCE_HELP)
            sub.add_argument("--magnification", type=arg.positive_float, help="simulated bench only: its magnification")
        if action == "set":
            sub.add_argument("--roi", type=arg.feature,
                             help="the feature, in focus now: " + arg.FEATURE_HELP + " (live-view pixels)")
        if action == "drive":
            sub.add_argument("--steps", type=int, required=True, help="drive steps to move")
        sub.add_argument("--marks", type=Path, help="the marks' folder (default: the user's)")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
    mark.set_defaults(run=_mark)


def add_stack_check(commands) -> None:
    """Add ``stack-check`` to the sub-commands ``commands``."""
    check = commands.add_parser("stack-check", help="check a shot focus stack: gaps, frames that did not move, redundant frames")
    check.add_argument("input", help="a folder of the stack's frames, or a glob such as 'stack/*.jpg' (in focus order)")
    check.add_argument("--coc-px", type=arg.positive_float,
                       help="circle of confusion in the frames' pixels (default: the frame's diagonal / 1500)")
    check.add_argument("--step-mm", type=arg.positive_float, help="the focus step between frames, mm: gaps are placed in mm")
    check.add_argument("--map", type=Path, help="write a coverage map (PNG)")
    check.add_argument("--force", action="store_true", help="replace an existing --map file")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(run=_stack_check)


def _mark_store(args: argparse.Namespace):
    from focuslock.workflows.marks import MarkStore, default_marks_folder

    return MarkStore(args.marks or default_marks_folder())


def _open_drive_camera(args: argparse.Namespace, marks=None):
    """The source, opened, its focus drive counted from where ``marks`` last left it. The
    simulated bench's lens stays where the last command left it, as a real lens does."""
    from focuslock.devices.base import Camera, CameraError
    from focuslock.runtime.sources import camera_factory
    from focuslock.workflows.marks import DriveCounter, MarkError

    camera: Camera
    magnification = getattr(args, "magnification", None)
    capture_width_px = getattr(args, "capture_width_px", None)
    try:
        if args.source == "sim":
            from focuslock.simulators.bench_config import BenchConfig
            from focuslock.simulators.demo import demo_feature
            from focuslock.simulators.sim import SimulatedBench

            start = marks.drive_position(SimulatedBench.NAME) if marks is not None else 0
            config = BenchConfig(**({"magnification": magnification} if magnification else {}),
                                 **({"capture_width_px": capture_width_px} if capture_width_px else {}),
                                 focus_start_steps=start)
            camera = SimulatedBench(config.aimed_at(demo_feature(config)))
        else:
            if magnification or capture_width_px:
                raise UserError("--magnification and --capture-width-px set up the simulated bench; this source is a camera.")
            camera = camera_factory(args.source, loop=False)()
        camera.open()
        return DriveCounter(camera, marks.drive_position(camera.name) if marks is not None else 0)
    except (CameraError, MarkError, ValueError) as error:
        raise UserError(getattr(error, "user_message", None) or str(error)) from None


def _close_drive_camera(camera, marks) -> None:
    """Close the camera, keeping the drive's count for the next command."""
    camera.close()
    if marks is not None:
        from focuslock.workflows.marks import MarkError

        try:
            marks.set_drive_position(camera.name, camera.position_steps)
        except MarkError as error:
            print(f"focuslock: {error}", file=sys.stderr)


def _feature_on_camera(args: argparse.Namespace, camera) -> tuple[int, int, int, int]:
    """The --roi box: a given one as it is (take_mark checks it), a centred or automatic
    one chosen in a frame of the open ``camera``, and said."""
    from focuslock.workflows.choose_feature import ChooseError, resolve_in_camera

    choice = arg.feature_choices([args.roi])[0]
    if choice.box is not None:
        return choice.box.as_tuple()
    try:
        resolved = resolve_in_camera(choice, camera, args.source)
    except ChooseError as error:
        raise UserError(str(error)) from None
    if resolved.said and not args.json:
        print(resolved.said)
    return resolved.box.as_tuple()


def _mark(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.workflows.marks import MarkError, go_to_mark, take_mark

    marks = _mark_store(args)
    try:
        if args.action == "list":
            entries = marks.entries()
            if args.json:
                print_json({"folder": str(marks.folder), "marks": entries})
            else:
                for name, entry in entries.items():
                    x, y, w, h = entry["roi_px"]
                    print(f"{name}: box {w}×{h} at {x},{y}, drive step {entry['position_steps']:+d} "
                          f"({entry['camera']}, set {entry['set_at']})")
                if not entries:
                    print(f"no marks in {marks.folder}")
            return EXIT_OK
        if args.action == "delete":
            marks.delete(args.name)
            print(f"mark {args.name} deleted")
            return EXIT_OK
        camera = _open_drive_camera(args, marks)
        try:
            if not camera.capabilities.focus_drive and args.action != "set":
                raise UserError(f"{camera.name} cannot drive focus from the computer.")
            if args.action == "drive":
                camera.drive_focus(args.steps)
                outcome = {"drive_position_steps": camera.position_steps}
                text = f"focus drive at step {camera.position_steps:+d}"
            elif args.action == "set":
                if args.roi is None:
                    raise UserError("Give --roi X,Y,W,H: the feature to mark, in focus now.")
                roi = _feature_on_camera(args, camera)
                mark = take_mark(camera, args.name, roi, camera.position_steps)
                marks.save(mark)
                outcome = {"name": mark.name, "roi_px": list(mark.roi_px), "position_steps": mark.position_steps}
                text = f"mark {mark.name} set on the box {mark.roi_px[2]}×{mark.roi_px[3]} at drive step {mark.position_steps:+d}"
            else:
                mark = marks.load(args.name)
                # A line per phase on stderr, on a terminal or not (a log, a pipe): the search takes seconds.
                progress = None if args.json else (lambda text: print(f"mark go: {text}", file=sys.stderr, flush=True))
                result = go_to_mark(camera, mark, camera.position_steps, progress=progress)
                outcome = {"name": mark.name, "position_steps": result.position_steps,
                           "moved_from_mark_steps": round(float(result.moved_from_mark_steps), 2)}
                text = (f"at mark {mark.name}: best focus found {result.moved_from_mark_steps:+.1f} steps from where it was set "
                        f"(drive step {result.position_steps:+d})")
        finally:
            _close_drive_camera(camera, marks)
    except (MarkError, CameraError) as error:
        raise UserError(getattr(error, "user_message", None) or str(error)) from None
    print_json(outcome) if args.json else print(text)
    return EXIT_OK


def _stack_shoot(args: argparse.Namespace) -> int:
    from focuslock.io.outputs import OutputError, claim_run_folder
    from focuslock.optics.lens_limits import OpticsError
    from focuslock.optics.stack import load_drive_calibration
    from focuslock.workflows.calibration_record import user_calibration_path
    from focuslock.workflows.marks import MarkError
    from focuslock.workflows.stack_shoot import (
        InterruptFlag,
        StackShootError,
        frame_step_steps,
        go_to_nearer_mark,
        optics_of,
        plan_slices,
        shoot_stack,
        step_span,
    )

    if args.rail:
        from focuslock.cli.rail_cmds import stack_with_rail

        return stack_with_rail(args)
    marks = None
    if args.from_mark or args.to_mark:
        if not (args.from_mark and args.to_mark) or args.near_steps is not None or args.far_steps is not None:
            raise UserError("Give --from-mark and --to-mark together, or --near-steps and --far-steps instead.")
        marks = _mark_store(args)
    elif args.near_steps is None or args.far_steps is None:
        raise UserError("Say where the stack runs: --near-steps N --far-steps M, or --from-mark A --to-mark B.")
    camera = _open_drive_camera(args, marks)
    try:
        if not camera.capabilities.focus_drive or not camera.capabilities.capture:
            raise UserError(f"{camera.name} cannot both drive focus and capture from the computer; a stack needs both.")
        step_um = args.step_um
        if step_um is None:
            path = args.calibration or user_calibration_path()
            try:
                step_um = load_drive_calibration(path, camera=camera.name).step_um
            except OpticsError as error:
                raise UserError(f"{error} Measure the drive first: focuslock calibrate focus-steps "
                                "(or give --step-um).") from None
        optics, sensor_width_mm = optics_of(camera)
        from focuslock.cli.rail_cmds import set_zoom_of

        set_zoom_of(args, camera)  # the steps are checked on live view: zoomed, they show
        every = frame_step_steps(optics, step_um, args.overlap)
        if marks is not None:
            first, second = (marks.load(name) for name in (args.from_mark, args.to_mark))
            if not args.json:
                print(f"going back to the nearer of marks {first.name} and {second.name} …", flush=True)
            positions, _ = go_to_nearer_mark(camera, first, second, camera.position_steps, every)
        else:
            near, far = args.near_steps, args.far_steps
            assert near is not None and far is not None  # without marks both are given (checked above)
            positions = plan_slices(near, far, every)
        if not args.json:
            gaps = [b - a for a, b in zip(positions, positions[1:], strict=False)] or [0]
            print(f"{len(positions)} frames, one every {step_span(positions)} steps ("
                  + "–".join(dict.fromkeys(f"{g * step_um:.0f}" for g in (min(gaps), max(gaps))))
                  + f" µm; depth of field {optics.planning_dof_mm() * 1000:.0f} µm per frame, overlap {args.overlap:g})"
                  + ("; each step checked on live view before its frame" if args.check_steps else ""))

        def progress(index, count, files) -> None:
            if not args.json:
                print(f"frame {index + 1}/{count} at {positions[index]:+d} steps: " + ", ".join(str(p) for p in files),
                      flush=True)

        folder = claim_run_folder(args.out)
        if folder != args.out and not args.json:
            print(f"{args.out} holds earlier files; this stack goes into {folder} (stacks are never mixed).",
                  file=sys.stderr, flush=True)
        with InterruptFlag() as stop:
            if args.check_steps:
                from focuslock.workflows.closed_loop import lens_mover, shoot_closed_loop

                shot = shoot_closed_loop(camera, lens_mover(camera, step_um), positions, folder, optics=optics,
                                         sensor_width_mm=sensor_width_mm, progress=progress, should_stop=stop)
            else:
                shot = shoot_stack(camera, positions, folder, progress=progress, should_stop=stop, step_um=step_um,
                                   optics=optics, sensor_width_mm=sensor_width_mm)
    except (StackShootError, MarkError, OutputError) as error:
        raise UserError(str(error)) from None
    finally:
        _close_drive_camera(camera, marks)
    return print_stack_result(args, shot, optics, sensor_width_mm, len(positions))


def print_stack_result(args: argparse.Namespace, shot, optics, sensor_width_mm: float | None, planned: int) -> int:
    """Check a shot stack (unless --no-check) and say how it went: each measured step,
    why it stopped, the coverage."""
    report = None
    if not args.no_check and len(shot.all_files) >= 2:
        from focuslock.workflows.stack_check import StackCheckError, report_json, report_lines
        from focuslock.workflows.stack_shoot import check_shot

        try:
            coverage, warnings = check_shot(shot, optics, sensor_width_mm)
            report = report_json(coverage, warnings) if args.json else report_lines(coverage)
        except StackCheckError as error:
            report = [f"stack-check: {error}"]
    if args.json:
        print_json({**shot.manifest(), "folder": str(shot.folder), "files": [str(p) for p in shot.all_files],
                    "check": report})
    else:
        from focuslock.workflows.closed_loop import check_lines

        for line in check_lines(shot):
            print(line)
        if shot.stopped:
            print(f"focuslock: the stack stopped after {len(shot.files)} of {planned} frames: {shot.stopped.rstrip('.')}. "
                  f"The {len(shot.all_files)} file(s) saved are in {shot.folder}.", file=sys.stderr)
        for line in report or []:
            print(line)
    return EXIT_FAILURE if shot.stopped else EXIT_OK


def _stack_check(args: argparse.Namespace) -> int:
    from focuslock.devices.folder import list_images
    from focuslock.io.outputs import OutputError, check_outputs
    from focuslock.workflows.stack_check import StackCheckError, report_json, report_lines, run_stack_check, write_map

    try:
        if args.map is not None:
            try:
                inputs = list_images(args.input)
            except Exception:  # unreadable input: said below, by the check itself
                inputs = []
            check_outputs({"--map": args.map}, inputs, force=args.force)
        coverage, warnings = run_stack_check(args.input, args.coc_px)
        if args.map is not None:
            write_map(coverage, args.map)
    except (StackCheckError, OutputError) as error:
        raise UserError(str(error)) from None
    if args.json:
        print_json(report_json(coverage, warnings, args.step_mm))
    else:
        for warning in warnings:
            print(f"focuslock: {warning}", file=sys.stderr)
        print("\n".join(report_lines(coverage, args.step_mm)))
        if args.map is not None:
            print(f"coverage map: {args.map}")
    return EXIT_OK
