"""``focuslock analyze``: a feature's focus frame by frame in a take, a stack or a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_OK, UserError, print_json

__all__ = ["add_analyze"]


def add_analyze(commands) -> None:
    """Add ``analyze`` to the sub-commands ``commands``."""
    from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES

    analyze = commands.add_parser("analyze", help="check the focus of a feature frame by frame in a take, a stack or a folder")
    analyze.add_argument("input", help="a video file, a folder of images, or a glob such as 'stack/*.jpg'")
    analyze.add_argument("--roi", type=arg.feature, required=True,
                         help="the feature: " + arg.FEATURE_HELP + "; in pixels of frame 0 (of --lock-frame K when given); "
                              "auto on a stack or folder chooses in its frame with the most detail, and locks there")
    which = analyze.add_mutually_exclusive_group()
    which.add_argument("--lock-frame", type=int, default=None,
                       help="frame whose sharpness is the reference (default: frame 0 of a video, the sharpest frame of a "
                            "stack or folder)")
    which.add_argument("--lock-best", action="store_true", help="use the sharpest frame as the reference")
    analyze.add_argument("--no-track", action="store_true", help="measure the same box in every frame")
    analyze.add_argument("--measure", choices=MEASURES, default=DEFAULT_MEASURE, help=f"focus measure (default {DEFAULT_MEASURE})")
    coc = analyze.add_argument_group("circle of confusion (SOFT beyond it, SOFTENING beyond half)")
    coc.add_argument("--coc-px", type=arg.lock_coc_px,
                     help="in pixels of the input (default 2, or from --camera / --sensor-width-mm)")
    coc.add_argument("--coc-um", type=arg.positive_float, help="in µm on the sensor (needs --camera or --sensor-width-mm)")
    coc.add_argument("--camera", help="the body the take was shot with, from the catalog (its sensor and CoC)")
    coc.add_argument("--sensor-width-mm", type=arg.sensor_width_mm, help="the sensor's width, when the body is not in the catalog")
    depth = analyze.add_argument_group("depth (each blur as µm of defocus at the subject; needs the sensor above)")
    depth.add_argument("--f-number", type=arg.positive_float, help="the aperture set on the lens")
    depth.add_argument("--magnification", type=arg.positive_float, help="the magnification (1 = life size)")
    depth.add_argument("--focal-length", type=arg.positive_float, default=100.0,
                       help="in mm (default 100; matters little at macro magnifications)")
    analyze.add_argument("--csv", type=Path, help="write one row per frame here, and the plot next to it as PNG")
    analyze.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    analyze.add_argument("--overlay-video", type=Path, help="write the take with peaking and the feature's box as MP4")
    analyze.add_argument("--overlay", choices=("peaking", "focus-map"), default="peaking",
                         help="what --overlay-video paints: peaking, or the focus map (the parts within the depth of field)")
    analyze.add_argument("--force", action="store_true",
                         help="replace --csv, its plot and --overlay-video if they exist (an input is never replaced)")
    analyze.set_defaults(run=_analyze)


def _take_aperture_of(args: argparse.Namespace, sensor):
    """The aperture and magnification behind ``analyze``'s defocus at the subject."""
    from focuslock.optics.lens_setup import take_aperture

    return take_aperture(f_number=args.f_number, magnification=args.magnification, focal_length_mm=args.focal_length,
                         sensor=sensor)


def _feature_in_take(args: argparse.Namespace) -> tuple[int, int, int, int]:
    """The --roi box; a centred one chosen in frame 0 (or --lock-frame K), an automatic
    one there too in a video and in a stack's or folder's frame with the most detail
    (which becomes the lock frame), before any analysis, and said (on stderr beside --json)."""
    from focuslock.workflows.analyze import is_stack
    from focuslock.workflows.choose_feature import ChooseError, auto_in_stack, resolve_in_take

    choice = arg.feature_choices([args.roi])[0]
    if choice.box is not None:
        return choice.box.as_tuple()  # checked by the analysis in its lock frame, before any other
    try:
        if choice.kind == "auto" and args.lock_frame is None and is_stack(args.input):
            resolved, args.lock_frame = auto_in_stack(args.input)
            args.lock_best = False  # the box is where the feature is in that frame: the lock is taken there
        else:
            resolved = resolve_in_take(choice, args.input, args.lock_frame or 0)
    except ChooseError as error:
        raise UserError(str(error)) from None
    if resolved.said:
        print(resolved.said, file=sys.stderr if args.json else sys.stdout, flush=True)
    return resolved.box.as_tuple()


def _show_progress(step) -> None:
    """A pass's progress (focuslock.workflows.take_pass.PassProgress) as one line on stderr, redrawn."""
    if step.finished:
        sys.stderr.write("\n")
    elif step.total:
        filled = int(30 * step.done / step.total)
        sys.stderr.write(f"\r{step.label} [{'#' * filled}{'.' * (30 - filled)}] {step.done}/{step.total} frames, "
                         f"{step.fps:5.1f} fps")
    else:
        sys.stderr.write(f"\r{step.label} {step.done} frames, {step.fps:5.1f} fps")
    sys.stderr.flush()


def _analyze(args: argparse.Namespace) -> int:
    from focuslock.focus.lock import LockSettings
    from focuslock.io.outputs import OutputError, check_outputs
    from focuslock.optics.coc import ASSUMED_COC_PX
    from focuslock.workflows.analyze import analyze
    from focuslock.workflows.take_input import AnalysisError, input_paths
    from focuslock.workflows.take_outputs import plot_path_for, summary_lines, write_csv

    if args.lock_frame is not None and args.lock_frame < 0:
        raise UserError(f"--lock-frame must be 0 or more, got {args.lock_frame}.")
    outputs = {}
    if args.csv is not None:
        outputs["--csv"] = args.csv
        outputs["the plot beside --csv"] = plot_path_for(args.csv)
    if args.overlay_video is not None:
        outputs["--overlay-video"] = args.overlay_video
    try:
        # Before any work: an output must never replace an input, nor an existing file
        # unless --force.
        check_outputs(outputs, input_paths(args.input), force=args.force)
    except OutputError as error:
        raise UserError(str(error)) from None
    sensor = arg.sensor_of(args)
    aperture = _take_aperture_of(args, sensor)
    roi = _feature_in_take(args)
    try:
        report = analyze(
            args.input, roi, lock_frame=args.lock_frame, lock_best=args.lock_best, track=not args.no_track,
            measure=args.measure, lock_settings=LockSettings(coc_px=args.coc_px or ASSUMED_COC_PX),
            overlay_video=args.overlay_video, progress=_show_progress if sys.stderr.isatty() and not args.json else None,
            sensor=sensor, lens=aperture,
            overlay=args.overlay,
        )
        if args.csv is not None:
            write_csv(report, args.csv)
    except AnalysisError as error:
        raise UserError(str(error)) from None
    for record in report.frames:
        if record.error:
            print(f"focuslock: {record.error}", file=sys.stderr)
    if args.json:
        print_json(report.to_json())
    else:
        print("\n".join(summary_lines(report)))
    return EXIT_OK
