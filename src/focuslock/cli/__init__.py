"""The ``focuslock`` command: one sub-command per user task.

Every failure a user can cause ends as one sentence on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Sequence

from focuslock import __version__
from focuslock.runtime.allocator import tune_allocator

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


# The simulated bench's limits: 8K live view, 0.1–240 frames a second.
MAX_SIZE_PX = (7680, 4320)
MIN_FPS, MAX_FPS = 0.1, 240.0


class UserError(Exception):
    """A problem the user can fix; its text is printed as it is."""


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1024x680.") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"{text} is too small for live view.")
    if width > MAX_SIZE_PX[0] or height > MAX_SIZE_PX[1]:
        raise argparse.ArgumentTypeError(f"{text} is larger than {MAX_SIZE_PX[0]}x{MAX_SIZE_PX[1]}, the largest live view simulated.")
    return width, height


def _finite_float(text: str) -> float:
    """Any finite number: "nan" and "inf" are refused here, not printed into results."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number.")
    return value


def _frame_rate(text: str) -> float:
    value = _positive_float(text)
    if not (MIN_FPS <= value <= MAX_FPS):
        raise argparse.ArgumentTypeError(f"{text} frames a second is outside {MIN_FPS:g}–{MAX_FPS:g}.")
    return value


def _print_json(payload) -> None:
    """One JSON object on stdout; a non-finite number (an infinite far limit) is null,
    never the NaN or Infinity that strict JSON readers refuse."""
    import json

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        return value

    print(json.dumps(clean(payload), allow_nan=False))


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number more than 0.")
    return value


def _lock_coc_px(text: str) -> float:
    """A CoC in live-view or take pixels for the lock: positive, and at most MAX_COC_PX
    (said before the run, not by every frame's processing)."""
    from focuslock.focus.lock import MAX_COC_PX

    value = _positive_float(text)
    if value > MAX_COC_PX:
        raise argparse.ArgumentTypeError(f"a circle of confusion of {text} px is not plausible; give at most {MAX_COC_PX:g}.")
    return value


def _sensor_width_mm(text: str) -> float:
    """A sensor's width: from a phone's (about 5 mm) to large format's (254 mm) and some."""
    value = _positive_float(text)
    if not 1.0 <= value <= 1000.0:
        raise argparse.ArgumentTypeError(f"a sensor {text} mm wide is not a camera's; give its width in mm (1 to 1000).")
    return value


def _roi(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(round(float(part))) for part in text.split(","))
    except (ValueError, OverflowError):  # OverflowError: "inf"
        raise argparse.ArgumentTypeError(f"{text!r} is not a box X,Y,W,H such as 600,300,80,60.") from None
    if w < 3 or h < 3 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a usable box: X and Y at least 0, W and H at least 3.")
    return x, y, w, h


def _add_headless_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="run without a window and record an MP4 and a CSV")
    parser.add_argument("--screenshot", type=Path, help="save what the window shows as PNG (with --quit-after)")
    parser.add_argument("--quit-after", type=_positive_float, help="close the window after this many seconds")
    parser.add_argument("--seconds", type=_positive_float, default=10.0, help="how long a headless run lasts (default 10)")
    parser.add_argument("--out", type=Path, default=Path("focuslock-out"),
                        help="folder for the MP4 and CSV (default focuslock-out; a second run adds NAME-2.*, never replaces)")
    parser.add_argument("--max-mb", type=_positive_float, help="stop recording once the video reaches this many megabytes")
    studio = parser.add_argument_group("studio session (in the window)")
    studio.add_argument("--session", type=Path, help="log each capture in this session folder (with --recipe): named, "
                                                     "judged, rated and shown at 100 %%")
    studio.add_argument("--recipe", type=Path, help="the recipe the session checks against (its features, CoC, naming)")
    studio.add_argument("--sku", help="the product's code for the first shots' names (a card's barcode read in the "
                                      "window replaces it once confirmed)")


def _add_bench_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("simulated bench")
    group.add_argument("--size", type=_size, default=(1024, 680), help="live-view size WxH (default 1024x680)")
    group.add_argument("--fps", type=_frame_rate, default=30.0, help="live-view frame rate (default 30)")
    group.add_argument("--f-number", type=_finite_float, default=5.6, help="aperture (default 5.6)")
    group.add_argument("--iso", type=int, default=100, help="ISO (default 100)")
    group.add_argument("--magnification", type=_positive_float, default=0.5, help="magnification at the centre (default 0.5)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="focuslock", description="Critical-focus assistant for macro and long-lens tethered shooting.")
    parser.add_argument("--version", action="version", version=f"focuslock {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the simulated macro bench (no camera needed)")
    _add_headless_options(demo)
    _add_bench_options(demo)
    demo.add_argument("--no-sweep", action="store_true", help="keep focus still instead of racking through the scene")

    from focuslock.runtime.sources import SOURCE_HELP

    live = commands.add_parser("live", help="run the live session on a camera or another source")
    live.add_argument("--source", default="sim", help=SOURCE_HELP)
    live.add_argument("--roi", type=_roi, help="follow the feature in this box X,Y,W,H (live-view pixels)")
    live.add_argument("--lock", action="store_true", help="lock on the --roi feature in the first frame where it is found")
    live.add_argument("--captures-as-live-view", action="store_true",
                      help="on a body without USB live view, show a capture about once a second "
                           "(each is a shutter actuation: about 3,600 an hour)")
    live.add_argument("--coc-px", type=_lock_coc_px,
                      help="circle of confusion in live-view pixels (default: from the camera's sensor and live-view size)")
    _add_headless_options(live)

    analyze = commands.add_parser("analyze", help="check the focus of a feature frame by frame in a take, a stack or a folder")
    analyze.add_argument("input", help="a video file, a folder of images, or a glob such as 'stack/*.jpg'")
    analyze.add_argument("--roi", type=_roi, required=True, help="the feature's box X,Y,W,H in pixels of the lock frame")
    which = analyze.add_mutually_exclusive_group()
    which.add_argument("--lock-frame", type=int, default=None,
                       help="frame whose sharpness is the reference (default: frame 0 of a video, the sharpest frame of a stack or folder)")
    which.add_argument("--lock-best", action="store_true", help="use the sharpest frame as the reference")
    analyze.add_argument("--no-track", action="store_true", help="measure the same box in every frame")
    from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES

    analyze.add_argument("--measure", choices=MEASURES, default=DEFAULT_MEASURE, help=f"focus measure (default {DEFAULT_MEASURE})")
    coc = analyze.add_argument_group("circle of confusion (SOFT beyond it, SOFTENING beyond half)")
    coc.add_argument("--coc-px", type=_lock_coc_px,
                     help="in pixels of the input (default 2, or from --camera / --sensor-width-mm)")
    coc.add_argument("--coc-um", type=_positive_float, help="in µm on the sensor (needs --camera or --sensor-width-mm)")
    coc.add_argument("--camera", help="the body the take was shot with, from the catalog (its sensor and CoC)")
    coc.add_argument("--sensor-width-mm", type=_sensor_width_mm, help="the sensor's width, when the body is not in the catalog")
    depth = analyze.add_argument_group("depth (each blur as µm of defocus at the subject; needs the sensor above)")
    depth.add_argument("--f-number", type=_positive_float, help="the aperture set on the lens")
    depth.add_argument("--magnification", type=_positive_float, help="the magnification (1 = life size)")
    depth.add_argument("--focal-length", type=_positive_float, default=100.0,
                       help="in mm (default 100; matters little at macro magnifications)")
    analyze.add_argument("--csv", type=Path, help="write one row per frame here, and the plot next to it as PNG")
    analyze.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    analyze.add_argument("--overlay-video", type=Path, help="write the take with peaking and the feature's box as MP4")
    analyze.add_argument("--overlay", choices=("peaking", "focus-map"), default="peaking",
                         help="what --overlay-video paints: peaking, or the focus map (the parts within the depth of field)")
    analyze.add_argument("--force", action="store_true",
                         help="replace --csv, its plot and --overlay-video if they exist (an input is never replaced)")

    cameras = commands.add_parser("cameras", help="list the cameras connected by USB")
    cameras.add_argument("--json", action="store_true", help="print a JSON list")

    capture = commands.add_parser("capture", help="capture with a tethered camera and download every file safely")
    capture.add_argument("--camera", help="model (or part of it) or port, when several are connected")
    capture.add_argument("--out", type=Path, default=Path("captures"), help="folder for the downloaded files (default captures)")
    capture.add_argument("--count", type=int, default=1, help="how many captures (default 1)")
    capture.add_argument("--delete-from-camera", action="store_true", help="delete each file from the camera once its download is verified")
    capture.add_argument("--json", action="store_true", help='print {"files": [...]} of what was downloaded and verified')
    capture.add_argument("--session", type=Path, help="log each capture in this session folder (with --recipe): named, "
                                                       "judged, rated in XMP sidecars")
    capture.add_argument("--recipe", type=Path, help="the recipe the session checks against (its features, CoC, naming)")
    capture.add_argument("--sku", help="the product's code for the names and the log (as a card's barcode gives it)")

    dof = commands.add_parser("dof", help="depth of field for macro and long lenses, with diffraction")
    _add_lens_options(dof)
    where = dof.add_mutually_exclusive_group(required=True)
    where.add_argument("--distance", type=_finite_float, help="focus distance in mm")
    where.add_argument("--magnification", type=_finite_float, help="magnification instead of a distance (1 = life size)")
    dof.add_argument("--distance-from", choices=("sensor", "lens"), default="sensor",
                     help="measure the distance from the sensor plane, as lens scales do (default), or from the lens")
    dof.add_argument("--json", action="store_true", help="print one JSON object")

    stack = commands.add_parser("stack-plan", help="plan a focus stack: step size and number of frames")
    _add_lens_options(stack)
    stack.add_argument("--near", type=_finite_float, help="the subject's nearest point, mm (from --distance-from)")
    stack.add_argument("--far", type=_finite_float, help="the subject's farthest point, mm (from where --near is)")
    stack.add_argument("--magnification", type=_finite_float, help="magnification at the near end, instead of --near")
    stack.add_argument("--depth", type=_finite_float, help="the subject's depth in mm, instead of --far")
    stack.add_argument("--distance-from", choices=("sensor", "lens"), default="sensor",
                       help="where --near and --far are measured from (default: the sensor)")
    stack.add_argument("--overlap", type=_finite_float, default=0.3, help="overlap between frames as a fraction of the depth of field (default 0.3)")
    stack.add_argument("--method", choices=("rail", "lens"), default="rail",
                       help="move the camera on a rail (even steps) or refocus the lens (even in 1/distance)")
    stack.add_argument("--criterion", choices=("geometric", "wave", "larger"), default="geometric",
                       help="which depth of field sets the step (default geometric)")
    calibration = stack.add_mutually_exclusive_group()
    calibration.add_argument("--step-um", type=_finite_float, help="focus-drive calibration: µm of focus shift at the subject per drive step")
    calibration.add_argument("--calibration", type=Path, help="a focus-drive calibration record (TOML, see calibration/README.md)")
    stack.add_argument("--json", action="store_true", help="print one JSON object")

    calibrate = commands.add_parser("calibrate", help="measure the camera and lens: focus-drive steps")
    what = calibrate.add_subparsers(dest="what", required=True, metavar="WHAT")
    steps = what.add_parser("focus-steps", help="how far one focus-drive step moves focus, and the backlash, from live view")
    steps.add_argument("--source", default="sim", help=SOURCE_HELP)
    steps.add_argument("--roi", type=_roi, help="the feature to sweep through focus, X,Y,W,H in live-view pixels, in focus "
                                               "(default on the simulated bench: the demo's feature, focused)")
    steps.add_argument("--camera-name", help="the body's name for the record (default: the source's)")
    steps.add_argument("--lens-name", default="", help="the lens's name for the record")
    steps.add_argument("--drive-setting", default="", help="the drive step measured, e.g. Canon 'Near 1'")
    steps.add_argument("--out", type=Path, help="calibration file to add the record to (default: the user's calibration folder)")
    steps.add_argument("--dry-run", action="store_true", help="measure and print; save nothing")
    steps.add_argument("--json", action="store_true", help="print one JSON object")

    shoot = commands.add_parser("stack-shoot", help="drive and capture a focus stack, then check its coverage")
    shoot.add_argument("--source", default="sim", help=SOURCE_HELP)
    shoot.add_argument("--near-steps", type=int, help="the stack's near end: drive steps nearer than focus now")
    shoot.add_argument("--far-steps", type=int, help="the stack's far end: drive steps farther than focus now")
    shoot.add_argument("--from-mark", metavar="NAME", help="or: from this mark (set by `focuslock mark set`) …")
    shoot.add_argument("--to-mark", metavar="NAME", help="… to this one (the drive goes back to the nearer first)")
    shoot.add_argument("--marks", type=Path, help="the marks' folder (default: the user's)")
    shoot.add_argument("--overlap", type=_finite_float, default=0.3, help="overlap between frames as a fraction of the depth of field (default 0.3)")
    drive = shoot.add_mutually_exclusive_group()
    drive.add_argument("--step-um", type=_positive_float, help="µm of focus shift per drive step (default: the calibration)")
    drive.add_argument("--calibration", type=Path, help="a focus-drive calibration file (default: the user's, measured by `calibrate focus-steps`)")
    shoot.add_argument("--out", type=Path, default=Path("stack"),
                       help="folder for the frames (default stack; one that holds files gives stack-2, ...)")
    shoot.add_argument("--no-check", action="store_true", help="do not run stack-check on the frames afterwards")
    shoot.add_argument("--magnification", type=_positive_float, help="simulated bench only: its magnification")
    shoot.add_argument("--capture-width-px", type=int, help="simulated bench only: the width of its captures")
    shoot.add_argument("--json", action="store_true", help="print one JSON object")

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
            sub.add_argument("--magnification", type=_positive_float, help="simulated bench only: its magnification")
        if action == "set":
            sub.add_argument("--roi", type=_roi, help="the feature, X,Y,W,H in live-view pixels, in focus now")
        if action == "drive":
            sub.add_argument("--steps", type=int, required=True, help="drive steps to move")
        sub.add_argument("--marks", type=Path, help="the marks' folder (default: the user's)")
        sub.add_argument("--json", action="store_true", help="print one JSON object")

    check = commands.add_parser("stack-check", help="check a shot focus stack: gaps, frames that did not move, redundant frames")
    check.add_argument("input", help="a folder of the stack's frames, or a glob such as 'stack/*.jpg' (in focus order)")
    check.add_argument("--coc-px", type=_positive_float,
                       help="circle of confusion in the frames' pixels (default: the frame's diagonal / 1500)")
    check.add_argument("--step-mm", type=_positive_float, help="the focus step between frames, mm: gaps are placed in mm")
    check.add_argument("--map", type=Path, help="write a coverage map (PNG)")
    check.add_argument("--force", action="store_true", help="replace an existing --map file")
    check.add_argument("--json", action="store_true", help="print one JSON object")

    watch = commands.add_parser("watch", help="check every picture another tether program drops into a folder: "
                                              "verdicts, XMP sidecars, a shot log")
    watch.add_argument("folder", type=Path, help="the folder the tether program saves into")
    watch.add_argument("--roi", type=_roi, action="append", metavar="X,Y,W,H",
                       help="a feature that must be sharp, in the reference picture's pixels (repeat for up to four)")
    watch.add_argument("--recipe", type=Path, help="a saved recipe: its features, reference, CoC, drift limit and ratings")
    watch.add_argument("--reference", type=Path, help="the picture the boxes are drawn on (default: the first picture in "
                                                      "the folder); kept in the session folder")
    watch.add_argument("--session", type=Path, help="the session folder with its shot log (default: the watched folder)")
    watch.add_argument("--once", action="store_true", help="handle the pictures there now, then stop")
    watch_coc = watch.add_argument_group("circle of confusion (default: the picture's diagonal / 1500)")
    watch_coc.add_argument("--coc-px", type=_positive_float, help="in the pictures' pixels")
    watch_coc.add_argument("--coc-um", type=_positive_float, help="in µm on the sensor (needs --camera or --sensor-width-mm)")
    watch_coc.add_argument("--camera", help="the body, from the catalog (its sensor and CoC)")
    watch_coc.add_argument("--sensor-width-mm", type=_sensor_width_mm, help="the sensor's width, when the body is not in the catalog")
    watch.add_argument("--drift-limit-pct", type=_positive_float,
                       help="how far a feature may sit from its place in the reference, %% of the width (default 1)")
    watch.add_argument("--sidecars", choices=("both", "lightroom", "darktable", "none"), default="both",
                       help="XMP sidecars: NAME.xmp (Lightroom, Capture One), NAME.EXT.xmp (darktable), both (default) or none")
    watch.add_argument("--poll-s", type=_positive_float, default=1.0, help="scan the folder at least this often (default 1 s)")
    watch.add_argument("--no-events", action="store_true", help="scan only, no file events (network shares that send none)")
    watch.add_argument("--json", action="store_true", help="one JSON object per shot, a line each")
    watch.add_argument("--review", action="store_true", help="open a window where each shot shows at 100 %% with its "
                                                           "focus mask and verdict")

    recipe = commands.add_parser("recipe", help="save a studio setup as a recipe, or compare a camera with one")
    recipe_commands = recipe.add_subparsers(dest="recipe_command", required=True, metavar="save|check")
    save = recipe_commands.add_parser("save", help="write RECIPE.toml and its reference RECIPE.png")
    save.add_argument("recipe", type=Path, help="the recipe file to write (.toml); the reference PNG goes beside it")
    save.add_argument("--reference", type=Path, required=True, help="the picture the boxes are drawn on (a sharp shot)")
    save.add_argument("--roi", type=_roi, action="append", required=True, metavar="X,Y,W,H",
                      help="a feature that must be sharp, in the reference's pixels (up to four)")
    save.add_argument("--source", help="read the camera's settings from this source (e.g. gphoto2)")
    save.add_argument("--name", help="the recipe's name (default: the file's name)")
    save.add_argument("--lens", help="the lens, as you name it")
    save.add_argument("--mark", action="append", default=[], help="a focus mark the setup uses (by name)")
    save_coc = save.add_argument_group("circle of confusion (default: the picture's diagonal / 1500)")
    save_coc.add_argument("--coc-px", type=_positive_float, help="in the reference's pixels")
    save_coc.add_argument("--coc-um", type=_positive_float, help="in µm on the sensor (needs --camera or --sensor-width-mm)")
    save_coc.add_argument("--camera", help="the body, from the catalog (its sensor and CoC)")
    save_coc.add_argument("--sensor-width-mm", type=_sensor_width_mm, help="the sensor's width, when the body is not in the catalog")
    save.add_argument("--drift-limit-pct", type=_positive_float, default=1.0,
                      help="how far a feature may move, in %% of the width, before a shot says drift (default 1)")
    save.add_argument("--force", action="store_true", help="replace an existing recipe")
    check_recipe = recipe_commands.add_parser("check", help="list every setting where the camera differs from the recipe")
    check_recipe.add_argument("recipe", type=Path, help="the recipe (.toml)")
    check_recipe.add_argument("--source", required=True, help="the camera (e.g. gphoto2)")
    check_recipe.add_argument("--apply", action="store_true", help="set the camera to the recipe's values")
    check_recipe.add_argument("--json", action="store_true", help="print one JSON object")

    report = commands.add_parser("report", help="a session's report: an HTML page and a CSV of every shot")
    report.add_argument("session", type=Path, help="the session folder (with focuslock-session.sqlite)")
    report.add_argument("--out", type=Path, help="the HTML file (default: SESSION/report.html, replaced); the CSV beside it")
    report.add_argument("--force", action="store_true", help="replace an existing --out file")
    return parser


def _add_lens_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--focal-length", type=_finite_float, help="focal length in mm (or from --lens)")
    parser.add_argument("--f-number", type=_finite_float, required=True, help="the aperture set on the lens")
    parser.add_argument("--lens", help="a lens from the catalog (focal length, pupil ratio, limits)")
    coc = parser.add_mutually_exclusive_group(required=True)
    coc.add_argument("--sensor", help="a sensor format from the catalog (its CoC is the diagonal / 1500)")
    coc.add_argument("--camera", help="a camera body from the catalog (its sensor and pixel pitch)")
    coc.add_argument("--coc", type=_finite_float, help="circle of confusion in mm")
    parser.add_argument("--pupil-ratio", type=_finite_float, help="exit / entrance pupil diameter (default 1, or the lens's)")
    parser.add_argument("--wavelength-nm", type=_finite_float, default=550.0, help="wavelength for diffraction (default 550)")


def main(argv: Sequence[str] | None = None) -> int:
    # FFmpeg and OpenCV print their own diagnostics on stderr ("moov atom not found");
    # the user gets our one sentence instead. Set before OpenCV opens anything.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    tune_allocator()  # glibc: a long live session hands large buffers back (runtime/allocator.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except UserError as error:
        print(f"focuslock: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`focuslock dof … | head`): stop quietly as Unix tools
        # do, and keep Python from reporting the pipe once more when it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


def _window(session, settings, args, title: str, setup=None) -> int:
    """Run the window; a machine without a display gets one sentence, not a Qt abort."""
    if args.screenshot is not None and args.quit_after is None:
        raise UserError("--screenshot needs --quit-after SECONDS (the screenshot is taken just before quitting).")
    _require_display("run with --headless")
    if (args.session is None) != (args.recipe is None):
        raise UserError("--session and --recipe go together: the session checks every capture against the recipe.")
    shot_log = _open_capture_session(args) if args.session is not None else None
    recipe = None
    if args.recipe is not None:
        # The recipe's overlay choices too: the setup looks as it did when it was saved.
        recipe = _recipe_request(args.recipe)[0]
        overlay = recipe.overlay
        first_setup = setup

        def setup(window) -> None:
            problem = window.apply_overlay_choices(overlay)
            if problem:
                window.status_label.setText(problem)
            if first_setup is not None:
                first_setup(window)
    from focuslock.ui.app import run_window

    try:
        return run_window(session, settings, title=title, capture_folder=args.session or args.out / "captures",
                          screenshot=args.screenshot, quit_after_s=args.quit_after, setup=setup, shot_log=shot_log,
                          recipe=recipe)
    finally:
        if shot_log is not None:
            shot_log.close()


def _require_display(instead: str) -> None:
    """One sentence, not a Qt abort, where no window can open; ``instead``: what to do."""
    if not _display_available():
        raise UserError(f"There is no display here; {instead} (or under xvfb-run, or with QT_QPA_PLATFORM=offscreen).")
    missing = _missing_x11_library()
    if missing:
        raise UserError(f"The window needs the system library {missing} (Qt 6 on X11): sudo apt install {missing}; "
                        f"or {instead}.")


def _missing_x11_library() -> str | None:
    """The Debian package of a library Qt's X11 plugin cannot start without, if absent
    (Qt aborts the process then, with no sentence a user can act on)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform != "linux" or not os.environ.get("DISPLAY") or (platform and not platform.startswith("xcb")):
        return None
    import ctypes.util

    for library, package in (("xcb-cursor", "libxcb-cursor0"), ("xkbcommon-x11", "libxkbcommon-x11-0")):
        if ctypes.util.find_library(library) is None:
            return package
    return None


def _display_available() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def _run_headless(session, args, name: str, frame_rate_hz: float, script=None) -> int:
    from focuslock.runtime.headless import record_session
    from focuslock.io.outputs import OutputError

    if args.session is not None or args.recipe is not None:
        raise UserError("--session logs the captures taken in the window; a headless run records live view only "
                        "(for a session without a window: focuslock capture --session or focuslock watch).")
    max_bytes = int(args.max_mb * 1e6) if args.max_mb is not None else None
    try:
        result = record_session(session, args.seconds, args.out, name=name, frame_rate_hz=frame_rate_hz, script=script,
                                max_bytes=max_bytes)
    except OutputError as error:
        raise UserError(str(error)) from None
    videos = " and ".join(str(path) for path in result.video_files)
    if result.video_files:
        print(f"wrote {videos} and {result.csv_path}: {result.frames_written} frames", end="")
        print(f", {result.frames_not_recorded} not recorded" if result.frames_not_recorded else "")
    for message in result.notes:
        print(f"focuslock: {message}", file=sys.stderr)
    for message in dict.fromkeys(result.errors):
        print(f"focuslock: {message}", file=sys.stderr)
    if result.failure:
        print(f"focuslock: {result.failure}", file=sys.stderr)
    if result.frames_written == 0:
        print(f"focuslock: no frame arrived from the source; nothing was recorded (the CSV {result.csv_path} "
              "has only its header).", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_FAILURE if result.failure else EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from focuslock.simulators.sim import BenchConfig, SimulatedBench
    from focuslock.runtime.headless import lock_demo_script
    from focuslock.runtime.live import LiveSession
    from focuslock.optics.dof import coc_in_live_view
    from focuslock.runtime.pipeline import FramePipeline, PipelineSettings

    try:
        config = BenchConfig(live_view_size_px=args.size, frame_rate_hz=args.fps, f_number=args.f_number,
                             iso=args.iso, magnification=args.magnification)
    except ValueError as error:
        raise UserError(str(error)) from None
    # The coin's numeral, or at high magnification (where it overfills the frame) the
    # engraved letters; the bench aimed at it when it would not be in frame.
    feature = _demo_feature(config)
    config = config.aimed_at(feature)
    bench = SimulatedBench(config)
    settings = PipelineSettings()
    session = LiveSession(bench, processor=FramePipeline(), settings=settings)
    if not args.headless:
        roi = bench.landmark_roi_px(feature)
        best = int(round(bench.best_focus_position_steps(roi)))

        def setup(window) -> None:
            # Start where a photographer would: focused on the coin, the numeral chosen
            # and locked; the keys take it from there.
            window.drive_focus(best)
            if not args.no_sweep:
                window.choose_feature(*roi)
                window.lock_after(0.6)

        return _window(session, settings, args, "focuslock — simulated macro bench", setup)
    script = None
    if not args.no_sweep:
        # The demo knows its bench: it focuses on the coin's numeral, locks on it, then
        # racks away and back so that the lock states show.
        roi = bench.landmark_roi_px(feature)
        best = bench.best_focus_position_steps(roi)
        coc_px = coc_in_live_view(config.live_view_size_px[0], sensor_width_mm=config.sensor_width_mm,
                                  sensor_height_mm=config.sensor_height_mm).coc_px
        script = lock_demo_script(best, roi, settings, swing_steps=_demo_swing_steps(bench, roi, best, 2.5 * coc_px))
    return _run_headless(session, args, "demo", args.fps, script)


def _demo_feature(config) -> str:
    """The demo's feature: the coin's numeral where it fits in the frame, else the
    engraved letters on the coin's rim (4.5 mm wide: in frame up to 5×)."""
    from focuslock.simulators.sim import landmark_on_view

    _, (width_mm, height_mm) = landmark_on_view(config.scene, "coin-numeral")
    width_px, height_px = config.live_view_size_px
    mm_per_px = config.mm_per_px(width_px)
    fits = width_mm / mm_per_px <= 0.8 * width_px and height_mm / mm_per_px <= 0.8 * height_px
    return "coin-numeral" if fits else "coin-letters"


def _demo_swing_steps(bench, roi, best_steps: float, blur_px: float) -> int:
    """How far to rack from the feature's best focus for it to blur by ``blur_px``."""
    import numpy as np

    x, y, w, h = roi
    depth_mm = float(np.median(bench.truth_depth_map_mm()[y : y + h, x : x + w]))
    pitch_um = bench.sensor_pixel_pitch_um(bench.config.live_view_size_px[0])
    for steps in range(5, 2000, 5):
        focus_mm = bench.focus_distance_at(best_steps + steps)
        if float(bench.blur_diameter_um(depth_mm, focus_mm)) / pitch_um > blur_px:
            return steps
    return 2000


def _live(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.runtime.sources import camera_factory
    from focuslock.runtime.live import LiveSession

    try:
        factory = camera_factory(args.source, loop=False, download_folder=args.out / "captures",
                                 captures_as_live_view=args.captures_as_live_view)
        probe = factory()
        probe.open()  # fail fast with one sentence when the source is wrong
        rate = probe.capabilities.frame_rate_hz
        finite = probe.capabilities.finite
        try:
            # The box is checked against a first frame before anything is recorded (not
            # where a frame costs a shutter actuation).
            shape = (probe.read_frame().image.shape if args.roi is not None and not args.captures_as_live_view
                     else None)
        finally:
            probe.close()
    except CameraError as error:
        raise UserError(error.user_message) from None
    if shape is not None:
        x, y, w, h = args.roi
        if x + w > shape[1] or y + h > shape[0]:
            raise UserError(f"The box --roi {','.join(map(str, args.roi))} lies outside the frames of {args.source}, "
                            f"which are {shape[1]}×{shape[0]} pixels: give a box inside them.")
    from focuslock.runtime.headless import FollowAndLock
    from focuslock.runtime.pipeline import FramePipeline, OpticsSettings, PipelineSettings

    if args.lock and args.roi is None:
        raise UserError("--lock needs the feature's box: add --roi X,Y,W,H.")
    settings = PipelineSettings(optics=OpticsSettings(coc_px=args.coc_px))
    # A headless recording of a file keeps every frame of it; the window plays it live.
    session = LiveSession(factory, processor=FramePipeline(), settings=settings,
                          keep_every_frame=finite and args.headless)
    if not args.headless:
        def setup(window) -> None:
            if args.roi is not None:
                window.choose_feature(*args.roi)
                if args.lock:
                    window.lock_when_found()

        return _window(session, settings, args, f"focuslock — {args.source}", setup)
    rate = rate or 30.0
    script = FollowAndLock(args.roi, settings, lock=args.lock) if args.roi is not None else None
    code = _run_headless(session, args, "live", rate, script)
    if script is not None and args.lock and not script.locked:
        print(f"focuslock: the feature at --roi {','.join(map(str, args.roi))} was never found inside a frame; "
              "nothing was locked.", file=sys.stderr)
        return EXIT_FAILURE
    return code


def _analyze(args: argparse.Namespace) -> int:
    from focuslock.workflows.analyze import AnalysisError, analyze, input_paths, plot_path_for, summary_lines, write_csv
    from focuslock.focus.lock import LockSettings
    from focuslock.optics.dof import ASSUMED_COC_PX
    from focuslock.io.outputs import OutputError, check_outputs

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
    sensor = _take_sensor(args)
    lens = _take_lens(args, sensor)
    try:
        report = analyze(
            args.input, args.roi, lock_frame=args.lock_frame, lock_best=args.lock_best, track=not args.no_track,
            measure=args.measure, lock_settings=LockSettings(coc_px=args.coc_px or ASSUMED_COC_PX),
            overlay_video=args.overlay_video, progress=sys.stderr.isatty() and not args.json, sensor=sensor,
            lens=lens, overlay=args.overlay,
        )
        if args.csv is not None:
            write_csv(report, args.csv)
    except AnalysisError as error:
        raise UserError(str(error)) from None
    for record in report.frames:
        if record.error:
            print(f"focuslock: {record.error}", file=sys.stderr)
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(summary_lines(report)))
    return EXIT_OK


def _take_sensor(args: argparse.Namespace):
    """The sensor behind ``analyze``'s CoC: a catalog body, or a width (with --coc-um)."""
    from focuslock.workflows.analyze import TakeSensor
    from focuslock.optics.catalog import CatalogError, load_catalog

    if args.coc_px is not None and (args.coc_um is not None or args.camera or args.sensor_width_mm):
        raise UserError("Give the CoC either in pixels (--coc-px) or through the optics (--coc-um, --camera, "
                        "--sensor-width-mm), not both.")
    if args.camera and args.sensor_width_mm:
        raise UserError("Give either --camera or --sensor-width-mm, not both.")
    coc_mm = args.coc_um / 1000.0 if args.coc_um is not None else None
    if coc_mm is not None and coc_mm > 1.0:
        raise UserError(f"A circle of confusion of {args.coc_um:g} µm is far too large; it is a few tens of µm (30 for full frame).")
    if args.camera:
        try:
            body = load_catalog().camera(args.camera)
        except CatalogError as error:
            raise UserError(str(error)) from None
        return TakeSensor(body.sensor.width_mm, body.sensor.height_mm, coc_mm if coc_mm is not None else body.sensor.coc_mm)
    if args.sensor_width_mm:
        return TakeSensor(args.sensor_width_mm, None, coc_mm)
    if coc_mm is not None:
        raise UserError("--coc-um needs the sensor: add --camera NAME (see the catalog) or --sensor-width-mm MM.")
    return None


def _take_lens(args: argparse.Namespace, sensor):
    """The aperture and magnification behind ``analyze``'s defocus at the subject."""
    from focuslock.workflows.analyze import TakeLens

    if args.f_number is None and args.magnification is None:
        return None
    if args.f_number is None or args.magnification is None:
        raise UserError("The defocus at the subject needs both --f-number and --magnification.")
    if sensor is None:
        raise UserError("The defocus at the subject needs the sensor too: add --camera NAME or --sensor-width-mm MM.")
    return TakeLens(args.f_number, args.magnification, args.focal_length)


def _lens_setup(args: argparse.Namespace) -> dict:
    """Focal length, CoC, pupil ratio and pixel pitch from the options and the catalog."""
    from focuslock.optics.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog()
        lens = catalog.lens(args.lens) if args.lens else None
        camera = catalog.camera(args.camera) if args.camera else None
        sensor = catalog.sensor(args.sensor) if args.sensor else (camera.sensor if camera else None)
    except CatalogError as error:
        raise UserError(str(error)) from None
    if lens is not None and args.focal_length is not None:
        shortest = lens.focal_length_min_mm or lens.focal_length_mm
        if not shortest - 1e-6 <= args.focal_length <= lens.focal_length_mm + 1e-6:
            span = (f"{lens.focal_length_mm:g} mm" if lens.focal_length_min_mm is None
                    else f"{shortest:g}–{lens.focal_length_mm:g} mm")
            raise UserError(f"The {lens.name} is {span}; --focal-length {args.focal_length:g} contradicts it "
                            "(give only --lens, or only --focal-length).")
    magnification = getattr(args, "magnification", None)
    # dof's focus distance, or stack-plan's near end.
    distance = getattr(args, "distance", None)
    if distance is None:
        distance = getattr(args, "near", None)
    from_lens = getattr(args, "distance_from", "sensor") == "lens"
    focal = args.focal_length
    breathing_note, focused_magnification = None, None
    if focal is None and lens is not None:
        # Internal-focus lenses shorten as they focus close (the RF 100 Macro is about
        # 63 mm at its 260 mm closest focus): the optics use the focal length there, and
        # a distance is turned into the magnification the lens has there.
        focal, focused_magnification = lens.focus_at(magnification=magnification,
                                                     distance_from_sensor_mm=None if from_lens else distance,
                                                     distance_from_lens_mm=distance if from_lens else None)
        if focal < lens.focal_length_mm * 0.98:
            breathing_note = (f"The {lens.name} focuses by shortening its focal length: about {focal:.0f} mm "
                              f"here (the optics use that).")
        else:
            focused_magnification = None
    if lens is not None and magnification is not None:
        if magnification < lens.min_magnification - 1e-9:
            raise UserError(f"The {lens.name} focuses from {lens.min_magnification:g}× to {lens.max_magnification:g}×; "
                            f"{magnification:g}× is outside its range.")
        if magnification > lens.max_magnification * 1.02:
            raise UserError(f"The {lens.name} reaches {lens.max_magnification:g}× at most; for {magnification:g}× with "
                            "extension tubes give --focal-length (and --pupil-ratio) instead of --lens.")
    if lens is not None and distance is not None and not from_lens \
            and distance < lens.min_focus_mm - 1e-6:
        raise UserError(f"The {lens.name} focuses no closer than {lens.min_focus_mm:g} mm from the sensor; "
                        f"{distance:g} mm is closer.")
    if focal is None:
        raise UserError("Give the focal length (--focal-length MM) or a lens from the catalog (--lens NAME).")
    pupil = args.pupil_ratio if args.pupil_ratio is not None else ((lens.pupil_ratio if lens else None) or 1.0)
    if lens is not None and not (lens.f_number_min - 1e-9 <= args.f_number <= lens.f_number_max + 1e-9):
        raise UserError(f"The {lens.name} stops from f/{lens.f_number_min:g} to f/{lens.f_number_max:g}; "
                        f"f/{args.f_number:g} is outside that range.")
    return {
        "focal_length_mm": focal,
        "coc_mm": args.coc if args.coc is not None else sensor.coc_mm,
        "pupil_ratio": pupil,
        "pixel_pitch_um": camera.pixel_pitch_um if camera else None,
        "lens": lens,
        "camera": camera,
        "sensor": sensor,
        "notes": [breathing_note] if breathing_note else [],
        # Set when a distance was given for a lens that shortens as it focuses: the
        # magnification there (a thin lens of that focal length has two focus solutions).
        "focused_magnification": focused_magnification if magnification is None else None,
    }


def _dof(args: argparse.Namespace) -> int:
    from focuslock.optics.dof import OpticsError, depth_of_field

    setup = _lens_setup(args)
    try:
        by_magnification = setup["focused_magnification"]
        result = depth_of_field(setup["focal_length_mm"], args.f_number, setup["coc_mm"],
                                distance_mm=args.distance if by_magnification is None else None,
                                distance_from=args.distance_from,
                                magnification=args.magnification if by_magnification is None else by_magnification,
                                pupil_ratio=setup["pupil_ratio"], wavelength_nm=args.wavelength_nm,
                                pixel_pitch_um=setup["pixel_pitch_um"])
    except OpticsError as error:
        raise UserError(str(error)) from None
    lens = setup["lens"]
    notes = [*setup["notes"], *result.warnings]
    if lens is not None and result.magnification > lens.max_magnification * 1.02:
        notes.append(f"The {lens.name} reaches {lens.max_magnification:g}× at most; {result.magnification:.3g}× needs "
                     "extension tubes or a close-up lens.")
    if args.json:
        payload = result.to_json()
        payload["warnings"] = notes
        _print_json(payload)
        return EXIT_OK
    print("\n".join(_dof_table(result, setup, notes)))
    return EXIT_OK


def _mm(value: float) -> str:
    import math

    if math.isinf(value):
        return "infinity"
    if value >= 10000:
        return f"{value / 1000:.2f} m"
    if value >= 10:
        return f"{value:.1f} mm"
    return f"{value:.3f} mm" if value >= 0.1 else f"{value * 1000:.1f} µm"


def _limit_mm(value: float, total_mm: float) -> str:
    """A near or far limit with enough digits that near and far differ when they do."""
    import math

    if math.isinf(value):
        return "infinity"
    if math.isinf(total_mm) or total_mm >= 100:
        return _mm(value)
    digits = min(4, max(1, 2 - int(math.floor(math.log10(max(total_mm, 1e-6))))))
    return f"{value:.{digits}f} mm"


def _dof_table(result, setup: dict, notes: list[str]) -> list[str]:
    described = ", ".join(x for x in (
        setup["lens"].name if setup["lens"] else f"{result.focal_length_mm:g} mm",
        f"f/{result.f_number:g}",
        setup["camera"].name if setup["camera"] else (setup["sensor"].name if setup["sensor"] else None),
    ) if x)
    lines = [
        described,
        f"  focus distance      {_mm(result.distance_from_sensor_mm)} from the sensor ({_mm(result.subject_distance_mm)} from the lens)",
        f"  magnification       {result.magnification:.4g}×   effective aperture f/{result.effective_f_number:.3g}",
        f"  circle of confusion {result.coc_mm * 1000:.1f} µm",
        f"  hyperfocal distance {_mm(result.hyperfocal_mm)}",
        f"  near limit          {_limit_mm(result.near_mm, result.total_mm)} from the lens   ({_mm(result.front_mm)} in front)",
        f"  far limit           {_limit_mm(result.far_mm, result.total_mm)} from the lens   ({_mm(result.back_mm)} behind)",
        f"  depth of field      {_mm(result.total_mm)} (geometric)   {_mm(result.wave_dof_mm)} (wave optics)",
        f"  Airy disk           {result.airy_disk_um:.1f} µm" + (f" ({result.airy_disk_um / result.pixel_pitch_um:.1f} pixels)" if result.pixel_pitch_um else ""),
    ]
    lines += [f"note: {note}" for note in notes]
    return lines


def _stack_plan(args: argparse.Namespace) -> int:
    from focuslock.optics.dof import OpticsError, depth_of_field
    from focuslock.optics.stack import DriveCalibration, depth_to_far_end_mm, load_drive_calibration, plan_stack

    setup = _lens_setup(args)
    focal = setup["focal_length_mm"]
    try:
        if (args.near is None) == (args.magnification is None):
            raise UserError("Give the subject's near end as --near MM or as --magnification M.")
        if (args.far is None) == (args.depth is None):
            raise UserError("Give the subject's far end as --far MM or its depth as --depth MM.")
        near_magnification = setup["focused_magnification"] or args.magnification
        if near_magnification is None:
            near_dof = depth_of_field(focal, args.f_number, setup["coc_mm"], distance_mm=args.near, distance_from=args.distance_from,
                                      pupil_ratio=setup["pupil_ratio"], wavelength_nm=args.wavelength_nm)
        else:
            near_dof = depth_of_field(focal, args.f_number, setup["coc_mm"], magnification=near_magnification,
                                      pupil_ratio=setup["pupil_ratio"], wavelength_nm=args.wavelength_nm)
        near = near_dof.subject_distance_mm
        if args.far is not None:  # the far end measured from where the near end is: their difference is the depth
            far = near + depth_to_far_end_mm(args.far, args.distance_from, near=near_dof, near_mm=args.near)
        else:
            if not args.depth > 0:
                raise UserError(f"The subject's depth must be a positive number of mm, got {args.depth:g}.")
            far = near + args.depth
        if args.calibration is not None:
            calibration = load_drive_calibration(args.calibration, args.camera, args.lens)
        else:
            calibration = DriveCalibration(args.step_um) if args.step_um is not None else None
        plan = plan_stack(near, far, near_dof, overlap=args.overlap, method=args.method, criterion=args.criterion,
                          calibration=calibration)
    except OpticsError as error:
        raise UserError(str(error)) from None
    if args.json:
        payload = plan.to_json()
        payload["magnification"] = round(near_dof.magnification, 6)
        payload["effective_f_number"] = round(near_dof.effective_f_number, 4)
        payload["warnings"] = [*setup["notes"], *near_dof.warnings]
        _print_json(payload)
        return EXIT_OK
    lines = [
        f"{plan.frames} frames, {'a rail' if plan.method == 'rail' else 'refocusing the lens'}, "
        f"step {_mm(plan.step_mm)} ({plan.overlap * 100:.0f} % overlap of a {_mm(plan.frame_dof_mm)} {plan.criterion} depth of field)",
        f"  from {_mm(plan.near_mm)} to {_mm(plan.far_mm)} from the lens (subject depth {_mm(plan.far_mm - plan.near_mm)}), "
        f"magnification {near_dof.magnification:.3g}× at the near end, effective f/{near_dof.effective_f_number:.3g}",
    ]
    if plan.drive_steps is not None:
        step_um = calibration.step_um
        setting = f" ({calibration.drive_setting})" if calibration.drive_setting else ""
        lines.append(f"  focus drive between frames, in order: {_runs(plan.drive_steps)} steps{setting} at {step_um:g} µm a step")
    lines += [f"note: {note}" for note in [*setup["notes"], *near_dof.warnings]]
    print("\n".join(lines))
    return EXIT_OK


def _runs(values) -> str:
    """``40, 40, 40, 37`` as ``3 × 40, 37``: in order, repeats counted."""
    parts, previous, count = [], None, 0
    for value in list(values) + [None]:
        if value == previous:
            count += 1
            continue
        if previous is not None:
            parts.append(f"{count} × {previous}" if count > 1 else str(previous))
        previous, count = value, 1
    return ", ".join(parts)


def _cameras(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.devices.gphoto import list_cameras

    try:
        found = list_cameras()
    except CameraError as error:
        raise UserError(error.user_message) from None
    if args.json:
        _print_json([camera.to_json() for camera in found])
    elif not found:
        print("No camera found; check the cable, that the body is on and in PC/tether mode.")
    else:
        for camera in found:
            print(f"{camera.model}  {camera.port}  (profile {camera.profile})")
    return EXIT_OK


def _capture(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.devices.gphoto import GPhotoCamera
    from focuslock.session.recipe import settings_of
    from focuslock.workflows.watch import WatchError

    if args.count < 1:
        raise UserError(f"--count must be 1 or more, got {args.count}.")
    if (args.session is None) != (args.recipe is None):
        raise UserError("--session and --recipe go together: the session checks every capture against the recipe.")
    session = _open_capture_session(args) if args.session is not None else None
    out = args.session if session is not None else args.out
    camera = GPhotoCamera(args.camera, download_folder=out, delete_after_download=args.delete_from_camera)
    failure = None
    printed: set[Path] = set()
    shots = []
    try:
        camera.open()
        for _ in range(args.count):
            paths = camera.capture(out)
            if session is not None:
                shot = session(paths, camera.name, camera_settings=settings_of(camera))
                shots.append(shot)
                paths = [out / shot["file"], *(out / c for c in shot["companions"])]
                if not args.json:
                    print(shot["text"], flush=True)
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
        # Named by the recipe since they were downloaded.
        files = [out / name for shot in shots for name in [shot["file"], *shot["companions"]]] + [
            f for f in files if f.exists() and f not in printed]
    if args.json:
        _print_json({"files": [str(path) for path in files], **({"shots": [{k: v for k, v in shot.items() if k != "text"}
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


def _open_capture_session(args: argparse.Namespace):
    from focuslock.session.naming import DEFAULT_PATTERN, NamePattern, NamingError
    from focuslock.session.opening import open_session
    from focuslock.session.store import SessionError
    from focuslock.workflows.watch import CaptureLog, WatchOptions

    recipe, request = _recipe_request(args.recipe)
    try:
        pattern = NamePattern(str(recipe.naming.get("pattern", DEFAULT_PATTERN)))
        store, judge = open_session(args.session, None, request)
    except (NamingError, SessionError) as error:
        raise UserError(str(error)) from None
    return CaptureLog(store, judge, WatchOptions(policy=recipe.rating_policy()), pattern, args.sku)


def _calibrate(args: argparse.Namespace) -> int:
    from focuslock.workflows.calibrate import CalibrationError, calibrate_focus_steps, save_record, user_calibration_path
    from focuslock.devices.base import CameraError
    from focuslock.runtime.sources import camera_factory

    roi = args.roi
    try:
        if args.source == "sim":
            # The bench as the demo starts: aimed at its feature and focused on it.
            from focuslock.simulators.sim import BenchConfig, SimulatedBench

            config = BenchConfig()
            feature = _demo_feature(config)
            camera = SimulatedBench(config.aimed_at(feature))
            camera.open()
            if roi is None:
                roi = camera.landmark_roi_px(feature)
                camera.drive_focus(int(round(camera.best_focus_position_steps(roi))))
        else:
            camera = camera_factory(args.source, loop=False)()
            camera.open()
    except CameraError as error:
        raise UserError(error.user_message) from None
    try:
        if roi is None:
            raise UserError("Give --roi X,Y,W,H: the feature to sweep through focus, in focus now.")
        progress = None if args.json or not sys.stderr.isatty() else (lambda text: print(text, file=sys.stderr))
        result = calibrate_focus_steps(camera, roi, progress=progress)
    except (CalibrationError, CameraError) as error:
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
        _print_json({**record, "blur_px_per_step": result.blur_px_per_step, "coc_px": result.coc_px,
                     "saved_to": None if args.dry_run else str(path)})
    else:
        print(f"one drive step moves focus by {result.step_um:.2f} µm at the subject; backlash "
              f"{result.backlash_steps:.1f} steps (blur {result.blur_px_per_step:.3f} px per step, CoC {result.coc_px:.2f} px)")
        print("not saved (--dry-run)" if args.dry_run else f"saved to {path}")
    return EXIT_OK


def _mark_store(args: argparse.Namespace):
    from focuslock.workflows.marks import MarkStore, default_marks_folder

    return MarkStore(args.marks or default_marks_folder())


def _open_drive_camera(args: argparse.Namespace, marks=None):
    """The source, opened, its focus drive counted from where ``marks`` last left it. The
    simulated bench's lens stays where the last command left it, as a real lens does."""
    from focuslock.devices.base import CameraError
    from focuslock.runtime.sources import camera_factory
    from focuslock.workflows.marks import DriveCounter, MarkError

    magnification = getattr(args, "magnification", None)
    capture_width_px = getattr(args, "capture_width_px", None)
    try:
        if args.source == "sim":
            from focuslock.simulators.sim import BenchConfig, SimulatedBench

            start = marks.drive_position(SimulatedBench.NAME) if marks is not None else 0
            config = BenchConfig(**({"magnification": magnification} if magnification else {}),
                                 **({"capture_width_px": capture_width_px} if capture_width_px else {}),
                                 focus_start_steps=start)
            camera = SimulatedBench(config.aimed_at(_demo_feature(config)))
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


def _mark(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.workflows.marks import MarkError, go_to_mark, take_mark

    marks = _mark_store(args)
    try:
        if args.action == "list":
            entries = marks.entries()
            if args.json:
                _print_json({"folder": str(marks.folder), "marks": entries})
            else:
                for name, entry in entries.items():
                    x, y, w, h = entry["roi_px"]
                    print(f"{name}: box {w}×{h} at {x},{y}, drive step {entry['position_steps']:+d} ({entry['camera']}, set {entry['set_at']})")
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
                mark = take_mark(camera, args.name, args.roi, camera.position_steps)
                marks.save(mark)
                outcome = {"name": mark.name, "roi_px": list(mark.roi_px), "position_steps": mark.position_steps}
                text = f"mark {mark.name} set on the box {mark.roi_px[2]}×{mark.roi_px[3]} at drive step {mark.position_steps:+d}"
            else:
                mark = marks.load(args.name)
                result = go_to_mark(camera, mark, camera.position_steps)
                outcome = {"name": mark.name, "position_steps": result.position_steps,
                           "moved_from_mark_steps": round(float(result.moved_from_mark_steps), 2)}
                text = (f"at mark {mark.name}: best focus found {result.moved_from_mark_steps:+.1f} steps from where it was set "
                        f"(drive step {result.position_steps:+d})")
        finally:
            _close_drive_camera(camera, marks)
    except (MarkError, CameraError) as error:
        raise UserError(getattr(error, "user_message", None) or str(error)) from None
    _print_json(outcome) if args.json else print(text)
    return EXIT_OK


def _stack_shoot(args: argparse.Namespace) -> int:
    from focuslock.workflows.calibrate import user_calibration_path
    from focuslock.workflows.marks import MarkError
    from focuslock.optics.dof import OpticsError
    from focuslock.optics.stack import load_drive_calibration
    from focuslock.io.outputs import OutputError, claim_run_folder
    from focuslock.workflows.stack_shoot import (InterruptFlag, StackShootError, frame_step_steps, go_to_nearer_mark, optics_of,
                                       plan_slices, shoot_stack)

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
        every = frame_step_steps(optics, step_um, args.overlap)
        if marks is not None:
            first, second = (marks.load(name) for name in (args.from_mark, args.to_mark))
            if not args.json:
                print(f"going back to the nearer of marks {first.name} and {second.name} …", flush=True)
            positions, _ = go_to_nearer_mark(camera, first, second, camera.position_steps, every)
        else:
            positions = plan_slices(args.near_steps, args.far_steps, every)
        if not args.json:
            print(f"{len(positions)} frames, one every {every} steps ({every * step_um:.0f} µm; depth of field "
                  f"{optics.planning_dof_mm() * 1000:.0f} µm per frame, overlap {args.overlap:g})")

        def progress(index, count, files) -> None:
            if not args.json:
                print(f"frame {index + 1}/{count} at {positions[index]:+d} steps: " + ", ".join(str(p) for p in files),
                      flush=True)

        folder = claim_run_folder(args.out)
        if folder != args.out and not args.json:
            print(f"{args.out} holds earlier files; this stack goes into {folder} (stacks are never mixed).",
                  file=sys.stderr, flush=True)
        with InterruptFlag() as stop:
            shot = shoot_stack(camera, positions, folder, progress=progress, should_stop=stop, step_um=step_um,
                               optics=optics, sensor_width_mm=sensor_width_mm)
    except (StackShootError, MarkError, OutputError) as error:
        raise UserError(str(error)) from None
    finally:
        _close_drive_camera(camera, marks)
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
        _print_json({**shot.manifest(), "folder": str(shot.folder), "files": [str(p) for p in shot.all_files],
                     "check": report})
    else:
        if shot.stopped:
            print(f"focuslock: the stack stopped after {len(shot.files)} of {len(positions)} frames: {shot.stopped}. "
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
        _print_json(report_json(coverage, warnings, args.step_mm))
    else:
        for warning in warnings:
            print(f"focuslock: {warning}", file=sys.stderr)
        print("\n".join(report_lines(coverage, args.step_mm)))
        if args.map is not None:
            print(f"coverage map: {args.map}")
    return EXIT_OK


def _recipe_request(path: Path):
    """A recipe and the session setup it asks for (``SetupRequest``)."""
    from focuslock.session.opening import SetupRequest
    from focuslock.session.recipe import RecipeError

    try:
        return SetupRequest.from_recipe(path)
    except RecipeError as error:
        raise UserError(str(error)) from None


def _watch(args: argparse.Namespace) -> int:
    import threading

    from focuslock.session.opening import SetupRequest, open_session
    from focuslock.session.store import SessionError
    from focuslock.session.xmp import RatingPolicy
    from focuslock.workflows.watch import WatchError, WatchOptions, install_stop_signals, print_json_line, run_watch
    from focuslock.workflows.first_picture import needs_a_first_picture, open_on_first_picture

    if args.roi and len(args.roi) > 4:
        raise UserError("Give at most four features (--roi) to check in every shot.")
    if args.drift_limit_pct is not None and args.drift_limit_pct >= 100:
        raise UserError("--drift-limit-pct is a share of the width under 100 (e.g. 1).")
    policy = RatingPolicy()
    if args.recipe is not None:
        given = [name for name, value in (("--roi", args.roi), ("--reference", args.reference), ("--coc-px", args.coc_px),
                                          ("--coc-um", args.coc_um), ("--camera", args.camera),
                                          ("--sensor-width-mm", args.sensor_width_mm)) if value]
        if given:
            raise UserError(f"The recipe sets the features, reference and CoC; leave out {', '.join(given)} "
                            "(or edit the recipe).")
        recipe, request = _recipe_request(args.recipe)
        policy = recipe.rating_policy()
        request = request.with_drift_limit_pct(args.drift_limit_pct)
    else:
        sensor = _take_sensor(args)
        request = SetupRequest(tuple(tuple(map(float, f)) for f in args.roi) if args.roi else None, args.reference, args.coc_px,
                               None if sensor is None or sensor.coc_mm is None else sensor.coc_mm * 1000.0,
                               None if sensor is None else sensor.width_mm, args.camera).with_drift_limit_pct(args.drift_limit_pct)
    if not args.folder.is_dir():
        raise UserError(f"The folder to watch, {args.folder}, does not exist or is not a folder.")
    session_dir = args.session or args.folder
    stop = threading.Event()
    install_stop_signals(stop)
    options = WatchOptions(once=args.once, sidecars=args.sidecars, policy=policy, poll_s=args.poll_s,
                           use_events=not args.no_events)
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else (lambda text: print(text, flush=True))
    try:
        if needs_a_first_picture(session_dir, args.folder, request):
            opened = open_on_first_picture(session_dir, args.folder, request, stop=stop, say=say, once=args.once,
                                           poll_s=args.poll_s, use_events=not args.no_events)
            if opened is None:
                say("Done: no picture came to take as the reference; nothing was written.")
                return EXIT_OK
            store, judge = opened
        else:
            store, judge = open_session(session_dir, args.folder, request)
    except (SessionError, WatchError) as error:
        raise UserError(str(error)) from None
    if args.review:
        return _watch_with_review(args, store, judge, options, say)
    try:
        counts = run_watch(args.folder, store, judge, options, say=say, stop=stop,
                           on_shot=print_json_line if args.json else None)
    except KeyboardInterrupt:
        counts = None
    except (SessionError, WatchError) as error:
        raise UserError(str(error)) from None
    finally:
        store.close()
    if counts is not None:
        say("Done: " + ", ".join(f"{count} {name}" for name, count in counts.items() if count) if any(counts.values())
            else "Done: no new pictures.")
    return EXIT_OK


def _watch_with_review(args: argparse.Namespace, store, judge, options, say) -> int:
    """``watch --review``: the same watch on a worker thread, each shot shown in a window."""
    from focuslock.workflows.watch import print_json_line, review_of_shot, run_watch

    try:
        _require_display("leave out --review")
        from focuslock.ui.review_window import run_review_window

        def work(stop, show, tell):
            def on_shot(result: dict) -> None:
                if args.json:
                    print_json_line(result)
                show(review_of_shot(result, judge))

            def both(text: str) -> None:
                say(text)
                tell(text)

            return run_watch(args.folder, store, judge, options, say=both, stop=stop, on_shot=on_shot)

        return run_review_window(work, title=f"focuslock — watching {args.folder}")
    finally:
        store.close()


def _recipe(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError, CorruptFrameError
    from focuslock.runtime.sources import camera_factory
    from focuslock.devices.folder import read_bgr_image
    from focuslock.session.recipe import (Recipe, RecipeError, apply_settings, diff_settings, load_recipe,
                                          read_camera_settings, save_recipe)

    def open_camera(source: str):
        try:
            camera = camera_factory(source, loop=False)()
            camera.open()
        except CameraError as error:
            raise UserError(error.user_message) from None
        return camera

    try:
        if args.recipe_command == "save":
            if len(args.roi) > 4:
                raise UserError("Give at most four features (--roi) to check in every shot.")
            sensor = _take_sensor(args)
            try:
                reference = read_bgr_image(args.reference)
            except CorruptFrameError as error:
                raise UserError(f"The reference picture {args.reference} cannot be used: {error.reason}") from None
            height, width = reference.shape[:2]
            for x, y, w, h in args.roi:
                if x < 0 or y < 0 or x + w > width or y + h > height:
                    raise UserError(f"The box {x},{y},{w},{h} is not inside the {width}×{height} reference picture.")
            settings, camera_name = {}, args.camera
            if args.source:
                camera = open_camera(args.source)
                try:
                    settings, camera_name = read_camera_settings(camera), camera.name
                finally:
                    camera.close()
            optics = {}
            if args.coc_px is not None:
                optics["coc_px"] = args.coc_px
            if sensor is not None:
                optics["sensor_width_mm"] = sensor.width_mm
                if sensor.coc_mm is not None:
                    optics["coc_um"] = sensor.coc_mm * 1000.0
            recipe = Recipe(args.name or args.recipe.stem, args.recipe.with_suffix(".png").name,
                            tuple(tuple(map(float, r)) for r in args.roi), camera_name, settings, args.lens, optics,
                            tuple(args.mark), drift_limit_pct=args.drift_limit_pct)
            png = save_recipe(args.recipe, recipe, reference, force=args.force)
            print(f"recipe: {args.recipe}\nreference: {png}\n{len(settings)} camera settings, {len(args.roi)} features")
            return EXIT_OK
        recipe, _ = load_recipe(args.recipe)
        camera = open_camera(args.source)
        try:
            differences = diff_settings(recipe, camera)
            applied, problems = apply_settings(recipe, camera) if args.apply else ([], [])
            remaining = diff_settings(recipe, camera) if args.apply else differences
        finally:
            camera.close()
    except RecipeError as error:
        raise UserError(str(error)) from None
    if args.json:
        _print_json({"recipe": str(args.recipe), "camera": camera.name,
                     "differences": [d.__dict__ for d in differences], "applied": [d.name for d in applied],
                     "problems": problems, "matches": not remaining})
    else:
        if not differences:
            print(f"{camera.name} matches the recipe {recipe.name}.")
        for difference in differences:
            done = " → set" if difference in applied else ""
            print(difference.describe() + done)
        for problem in problems:
            print(problem)
        if args.apply:
            print("The camera now matches the recipe." if not remaining
                  else f"{len(remaining)} setting(s) still differ from the recipe.")
    return EXIT_OK if not remaining else EXIT_FAILURE


def _report(args: argparse.Namespace) -> int:
    from focuslock.io.outputs import OutputError, check_outputs, replace_file
    from focuslock.session.report import render_report
    from focuslock.session.store import SessionError, ShotStore

    html_path = args.out if args.out is not None else args.session / "report.html"
    csv_path = html_path.with_suffix(".csv")
    try:
        with ShotStore.read(args.session) as store:
            # The default report is focuslock's own file, remade each time; one the user named is theirs.
            check_outputs({"--out": html_path, "the CSV beside --out": csv_path}, [],
                          force=args.force or args.out is None)
            page, table = render_report(store)
        replace_file(csv_path, table.encode("utf-8"))
        replace_file(html_path, page.encode("utf-8"))
    except (SessionError, OutputError) as error:
        raise UserError(str(error)) from None
    print(f"report: {html_path}\ntable: {csv_path}")
    return EXIT_OK


_COMMANDS = {"demo": _demo, "live": _live, "analyze": _analyze, "dof": _dof, "stack-plan": _stack_plan,
             "stack-check": _stack_check, "stack-shoot": _stack_shoot, "mark": _mark, "calibrate": _calibrate, "cameras": _cameras, "capture": _capture,
             "watch": _watch, "report": _report, "recipe": _recipe}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
