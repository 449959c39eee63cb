"""``focuslock cameras``, ``capture`` and ``calibrate``: the tethered camera, its files
and its focus drive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_FAILURE, EXIT_OK, UserError, print_json

__all__ = ["CAMERAS_EXIT_STATUS", "add_calibrate", "add_cameras", "add_capture"]

# The rule a script can count on (the README and docs/COMMANDS.md say it too).
CAMERAS_EXIT_STATUS = """exit status:
  0  the connected bodies were listed: none connected is an answer, not an error
     (said on stdout; --json prints []); or the --source given was reported
  1  the --source given is not there or gives no picture (no body connected,
     a folder with no picture it can read, a video it cannot read): one sentence
     on stderr, after the report where there is one (a folder's: which files
     it could not read, and why)"""


def add_cameras(commands) -> None:
    """Add ``cameras`` to the sub-commands ``commands``."""
    cameras = commands.add_parser("cameras", help="list the cameras connected by USB and what each can do for focus: "
                                                  "live view, focus drive, live-view zoom, capture in live view, and why not",
                                  epilog=CAMERAS_EXIT_STATUS)
    cameras.add_argument("--json", action="store_true", help="print a JSON list (each body with its report)")
    cameras.add_argument("--source", help="report this source instead of the connected bodies: sim, video:PATH, "
                                          "folder:DIR, gphoto2[:MODEL_OR_PORT]")
    cameras.set_defaults(run=_cameras)


def add_capture(commands) -> None:
    """Add ``capture`` to the sub-commands ``commands``."""
    capture = commands.add_parser("capture", help="capture with a tethered camera and download every file safely")
    capture.add_argument("--camera", help="model (or part of it) or port, when several are connected")
    capture.add_argument("--out", type=Path, default=Path("captures"), help="folder for the downloaded files (default captures)")
    capture.add_argument("--count", type=int, default=1, help="how many captures (default 1)")
    capture.add_argument("--delete-from-camera", action="store_true",
                         help="delete each file from the camera once its download is verified")
    capture.add_argument("--json", action="store_true", help='print {"files": [...]} of what was downloaded and verified')
    capture.add_argument("--session", type=Path, help="log each capture in this session folder (with --recipe): named, "
                                                       "judged, rated in XMP sidecars")
    capture.add_argument("--recipe", type=Path, help="the recipe the session checks against (its features, CoC, naming)")
    capture.add_argument("--sku", help="the product's code for the names and the log (as a card's barcode gives it)")
    arg.add_hub_options(capture)
    capture.set_defaults(run=_capture)


def add_calibrate(commands) -> None:
    """Add ``calibrate focus-steps`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    calibrate = commands.add_parser("calibrate", help="measure the camera and lens: focus-drive steps")
    what = calibrate.add_subparsers(dest="what", required=True, metavar="WHAT")
    steps = what.add_parser("focus-steps", help="how far one focus-drive step moves focus, and the backlash, from live view")
    steps.add_argument("--source", default="sim", help=SOURCE_HELP)
    steps.add_argument("--roi", type=arg.feature,
                       help="the feature to sweep through focus, in focus now: " + arg.FEATURE_HELP + " (live-view "
                            "pixels; default on the simulated bench: the demo's feature, focused)")
    steps.add_argument("--camera-name", help="the body's name for the record (default: the source's)")
    steps.add_argument("--lens-name", default="", help="the lens's name for the record")
    steps.add_argument("--drive-setting", default="", help="the drive step measured, e.g. Canon 'Near 1'")
    steps.add_argument("--out", type=Path, help="calibration file to add the record to (default: the user's calibration folder)")
    steps.add_argument("--dry-run", action="store_true", help="measure and print; save nothing")
    steps.add_argument("--json", action="store_true", help="print one JSON object")
    calibrate.set_defaults(run=_calibrate)


def _cameras(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.workflows.body_reports import report_connected_bodies, report_of, unusable

    try:
        if args.source:
            report = report_of(args.source)
            if args.json:
                print_json(report.to_json())
            else:
                _print_report(report.name, report.lines())
            problem = unusable(report)
            if problem is not None:  # reported (which files, and why), and no picture at all
                sys.stdout.flush()
                raise UserError(problem)
            return EXIT_OK
        found = report_connected_bodies()
    except CameraError as error:
        raise UserError(error.user_message) from None
    if args.json:
        print_json([body.to_json() for body in found])
    elif not found:
        print("No camera found; check the cable, that the body is on and in PC/tether mode.")
    else:
        for body in found:
            _print_report(f"{body.info.model}  {body.info.port}  (profile {body.info.profile})", body.report.lines())
    return EXIT_OK


def _print_report(title: str, lines: list[str]) -> None:
    print(title)
    for line in lines:
        print(f"  {line}")


def _capture(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.devices.gphoto import GPhotoCamera
    from focuslock.workflows.watch import WatchError

    if args.count < 1:
        raise UserError(f"--count must be 1 or more, got {args.count}.")
    if (args.session is None) != (args.recipe is None):
        raise UserError("--session and --recipe go together: the session checks every capture against the recipe.")
    hub = arg.hub_link(args)
    session = None
    if args.session is not None:
        from focuslock.workflows.capture_session import open_capture_session

        session = open_capture_session(args.session, args.recipe, args.sku, hub)
    out = args.session if session is not None else args.out
    camera = GPhotoCamera(args.camera, download_folder=out, delete_after_download=args.delete_from_camera)
    failure = None
    printed: set[Path] = set()
    shots = []
    try:
        camera.open()
        for _ in range(args.count):
            if session is not None:  # saved once, under the recipe's names
                shot = session.take(camera, out)
                shots.append(shot)
                paths = [out / shot["file"], *(out / c for c in shot["companions"])]
                if not args.json:
                    print(shot["text"], flush=True)
            else:
                paths = camera.capture(out)
            for path in paths:
                if not args.json:
                    # At once: a run cut short (a kill, a pulled cable) has still said
                    # where each finished file is.
                    print(path, flush=True)
                    printed.add(path)
    except CameraError as error:
        failure = error.user_message
    except WatchError as error:  # the shot could not be logged (its files stay where they are)
        failure = str(error)
    finally:
        camera.close()
        if session is not None:
            session.close()
    # Every file that reached the disk, verified, in order: also the first of a RAW+JPEG
    # pair whose second part failed, and files the body announced on its own.
    files = list(camera.downloaded)
    if session is not None:
        # The shots' files (saved under the recipe's names), then any other file saved.
        named = [out / name for shot in shots for name in [shot["file"], *shot["companions"]]]
        files = named + [f for f in files if f.exists() and f not in printed and f not in named]
    if args.json:
        print_json({"files": [str(path) for path in files], **({"shots": [{k: v for k, v in shot.items() if k != "text"}
                                                                           for shot in shots]} if session else {}),
                    **({"error": failure} if failure else {})})
    else:
        # Files the body announced on its own, and those saved by a capture that then
        # failed (a RAW before its JPEG), were not printed yet.
        for path in files:
            if path not in printed:
                print(path)
    if failure:
        print(f"focuslock: {failure}", file=sys.stderr)
        if files:
            print(f"focuslock: the {len(files)} file(s) downloaded before are intact in {args.out}.", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from focuslock.devices.base import Camera, CameraError
    from focuslock.runtime.sources import camera_factory
    from focuslock.workflows.calibrate import calibrate_focus_steps
    from focuslock.workflows.calibration_record import check_record_file, save_record, user_calibration_path
    from focuslock.workflows.choose_feature import ChooseError, resolve_in_camera
    from focuslock.workflows.drive_sweep import CalibrationError

    # The same --roi as every command's (a box at least core/box's size, center:WxH, auto),
    # read before the camera opens; placed in its first frame once it has.
    choice = arg.feature_choices([args.roi])[0] if args.roi is not None else None
    roi = None
    camera: Camera
    if not args.dry_run:
        try:  # before the drive is measured: a file the record cannot go into is said now
            check_record_file(args.out or user_calibration_path())
        except CalibrationError as error:
            raise UserError(str(error)) from None
    try:
        if args.source == "sim":
            # The bench as the demo starts: aimed at its feature and focused on it.
            from focuslock.simulators.bench_config import BenchConfig
            from focuslock.simulators.demo import demo_feature
            from focuslock.simulators.sim import SimulatedBench

            config = BenchConfig()
            feature = demo_feature(config)
            camera = bench = SimulatedBench(config.aimed_at(feature))
            bench.open()
            if choice is None:
                roi = bench.landmark_roi_px(feature)
                bench.drive_focus(int(round(bench.best_focus_position_steps(roi))))
        else:
            camera = camera_factory(args.source, loop=False)()
            camera.open()
    except CameraError as error:
        raise UserError(error.user_message) from None
    try:
        # A line per phase on stderr, on a terminal or not (a log, a pipe): the sweeps take seconds.
        progress = None if args.json else (lambda text: print(f"calibrate: {text}", file=sys.stderr, flush=True))
        if choice is not None:
            # Checked inside (or chosen in) a frame before the drive moves.
            resolved = resolve_in_camera(choice, camera, args.source)
            roi = resolved.box.as_tuple()
            if resolved.said:
                print(f"calibrate: {resolved.said}", file=sys.stderr, flush=True)
        if roi is None:
            raise UserError("Give --roi: the feature to sweep through focus, in focus now (" + arg.FEATURE_HELP + ").")
        result = calibrate_focus_steps(camera, roi, progress=progress)
    except (CalibrationError, CameraError, ChooseError) as error:
        raise UserError(getattr(error, "user_message", None) or str(error)) from None
    finally:
        camera.close()
    record = result.record(args.camera_name or camera.name, args.lens_name, args.drive_setting)
    path = args.out or user_calibration_path()
    if not args.dry_run:
        try:
            save_record(path, record)
        except CalibrationError as error:
            raise UserError(str(error)) from None
    if args.json:
        print_json({**record, "blur_px_per_step": result.blur_px_per_step, "coc_px": result.coc_px,
                    "saved_to": None if args.dry_run else str(path)})
    else:
        print(f"one drive step moves focus by {result.step_um:.2f} µm at the subject; backlash "
              f"{result.backlash_steps:.1f} steps (blur {result.blur_px_per_step:.3f} px per step, CoC {result.coc_px:.2f} px)")
        print("not saved (--dry-run)" if args.dry_run else f"saved to {path}")
    return EXIT_OK
