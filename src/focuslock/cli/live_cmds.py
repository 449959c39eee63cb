"""``focuslock demo`` and ``focuslock live``: the live session in the window, or headless
to an MP4 and a CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_FAILURE, EXIT_OK, UserError, require_display

__all__ = ["add_demo", "add_live"]


def add_demo(commands) -> None:
    """Add ``demo`` to the sub-commands ``commands``."""
    demo = commands.add_parser("demo", help="run the simulated macro bench (no camera needed)")
    _add_headless_options(demo)
    _add_bench_options(demo)
    demo.add_argument("--no-sweep", action="store_true", help="keep focus still instead of racking through the scene")
    demo.set_defaults(run=_demo)


def add_live(commands) -> None:
    """Add ``live`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    live = commands.add_parser("live", help="run the live session on a camera or another source")
    live.add_argument("--source", default="sim", help=SOURCE_HELP)
    live.add_argument("--roi", type=arg.feature, help="follow this feature: " + arg.FEATURE_HELP + " (live-view pixels)")
    live.add_argument("--lock", action="store_true", help="lock on the --roi feature in the first frame where it is found")
    live.add_argument("--captures-as-live-view", action="store_true",
                      help="on a body without USB live view, show a capture about once a second "
                           "(each is a shutter actuation: about 3,600 an hour)")
    live.add_argument("--coc-px", type=arg.lock_coc_px,
                      help="circle of confusion in live-view pixels (default: from the camera's sensor and live-view size)")
    _add_headless_options(live)
    live.set_defaults(run=_live)


def _add_headless_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="run without a window and record an MP4 and a CSV")
    parser.add_argument("--screenshot", type=Path, help="save what the window shows as PNG (with --quit-after)")
    parser.add_argument("--quit-after", type=arg.positive_float, help="close the window after this many seconds")
    parser.add_argument("--seconds", type=arg.positive_float, default=10.0, help="how long a headless run lasts (default 10)")
    parser.add_argument("--out", type=Path, default=Path("focuslock-out"),
                        help="folder for the MP4 and CSV (default focuslock-out; a second run adds NAME-2.*, never replaces)")
    parser.add_argument("--max-mb", type=arg.positive_float, help="stop recording once the video reaches this many megabytes")
    parser.add_argument("--details", action="store_true",
                        help="a headless recording shows the engineer's whole HUD (blur in px, CoC, σ) instead of the "
                             "window's three plain lines (the window: key I)")
    studio = parser.add_argument_group("studio session (in the window)")
    studio.add_argument("--session", type=Path, help="log each capture in this session folder (with --recipe): named, "
                                                     "judged, rated and shown at 100 %%")
    studio.add_argument("--recipe", type=Path, help="the recipe the session checks against (its features, CoC, naming)")
    studio.add_argument("--sku", help="the product's code for the first shots' names (a card's barcode read in the "
                                      "window replaces it once confirmed)")
    arg.add_hub_options(studio)


def _add_bench_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("simulated bench")
    group.add_argument("--size", type=arg.size, default=(1024, 680), help="live-view size WxH (default 1024x680)")
    group.add_argument("--fps", type=arg.frame_rate, default=30.0, help="live-view frame rate (default 30)")
    group.add_argument("--f-number", type=arg.finite_float, default=5.6, help="aperture (default 5.6)")
    group.add_argument("--iso", type=int, default=100, help="ISO (default 100)")
    group.add_argument("--magnification", type=arg.positive_float, default=0.5, help="magnification at the centre (default 0.5)")


def _window(session, settings, args, title: str, setup=None) -> int:
    """Run the window; a machine without a display gets one sentence, not a Qt abort."""
    if args.screenshot is not None and args.quit_after is None:
        raise UserError("--screenshot needs --quit-after SECONDS (the screenshot is taken just before quitting).")
    if args.screenshot is not None:
        from focuslock.io.outputs import check_outputs

        # A screenshot replaces an earlier one, but never a folder, a pipe or a device.
        check_outputs({"--screenshot": args.screenshot}, [], force=True)
    require_display("run with --headless")
    if (args.session is None) != (args.recipe is None):
        raise UserError("--session and --recipe go together: the session checks every capture against the recipe.")
    hub = arg.hub_link(args)
    shot_log, recipe = None, None
    if args.session is not None:
        from focuslock.workflows.capture_session import open_capture_session

        shot_log = open_capture_session(args.session, args.recipe, args.sku, hub)
    if args.recipe is not None:
        from focuslock.workflows.capture_session import recipe_request

        # The recipe's overlay choices too: the setup looks as it did when it was saved.
        recipe = recipe_request(args.recipe)[0]
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


def _run_headless(session, args, name: str, frame_rate_hz: float, script=None) -> int:
    from focuslock.io.outputs import OutputError
    from focuslock.runtime.headless import record_session

    if args.session is not None or args.recipe is not None:
        raise UserError("--session logs the captures taken in the window; a headless run records live view only "
                        "(for a session without a window: focuslock capture --session or focuslock watch).")
    max_bytes = int(args.max_mb * 1e6) if args.max_mb is not None else None
    try:
        result = record_session(session, args.seconds, args.out, name=name, frame_rate_hz=frame_rate_hz, script=script,
                                max_bytes=max_bytes, details=args.details)
    except OutputError as error:
        raise UserError(str(error)) from None
    videos = " and ".join(str(path) for path in result.video_files)
    if result.video_files:
        print(f"wrote {videos} and {result.csv_path}: {result.frames_written} frames", end="")
        # Frames analysed while the recorder was still writing an earlier one: it takes the
        # newest each time, so the video never lags; say what the number means where it is shown.
        print(f", {result.frames_not_recorded} not recorded (skipped while the machine was busy writing the video; "
              "the recording kept the newest)" if result.frames_not_recorded else "")
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
    from focuslock.runtime.headless import lock_demo_script
    from focuslock.runtime.live import LiveSession
    from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
    from focuslock.simulators.bench_config import BenchConfig
    from focuslock.simulators.demo import demo_swing_steps, demo_view

    try:
        config = BenchConfig(live_view_size_px=args.size, frame_rate_hz=args.fps, f_number=args.f_number,
                             iso=args.iso, magnification=args.magnification)
    except ValueError as error:
        raise UserError(str(error)) from None
    # The coin's numeral, or at high magnification (where it overfills the frame) the
    # engraved letters; live view zoomed until the CoC spans 2 px, on the letters (one
    # detail inside the depth of field): simulators/demo.py.
    view = demo_view(config)
    bench, roi, best = view.bench, view.roi_px, view.best_steps
    settings = PipelineSettings()
    session = LiveSession(bench, processor=FramePipeline(), settings=settings)
    if not args.headless:

        def setup(window) -> None:
            # Start where a photographer would: focused on the feature, chosen and
            # locked; the keys take it from there.
            window.drive_focus(int(round(best)))
            if not args.no_sweep:
                window.choose_feature(*roi)
                window.lock_after(0.6)

        return _window(session, settings, args, "focuslock — simulated macro bench", setup)
    script = None
    if not args.no_sweep:
        # The demo knows its bench: it focuses on the feature, locks on it, then racks
        # away (to 2.5 CoC of blur) and back so that every lock state shows.
        script = lock_demo_script(best, roi, settings,
                                  swing_steps=demo_swing_steps(bench, roi, best, 2.5 * view.coc_px, view.zoom))
    return _run_headless(session, args, "demo", args.fps, script)


def _live(args: argparse.Namespace) -> int:
    from focuslock.devices.base import CameraError
    from focuslock.runtime.live import LiveSession
    from focuslock.runtime.sources import camera_factory
    from focuslock.workflows.choose_feature import ChooseError, resolve_in_picture

    choice = arg.feature_choices([args.roi])[0] if args.roi is not None else None
    try:
        factory = camera_factory(args.source, loop=False, download_folder=args.out / "captures",
                                 captures_as_live_view=args.captures_as_live_view)
        probe = factory()
        probe.open()  # fail fast with one sentence when the source is wrong
        rate = probe.capabilities.frame_rate_hz
        finite = probe.capabilities.finite
        try:
            # The box is checked against (and a centred or automatic one chosen in) a
            # first frame before anything is recorded; a given box is not checked where
            # a frame costs a shutter actuation.
            first = (probe.read_frame().image if choice is not None and (choice.needs_frame or not args.captures_as_live_view)
                     else None)
        finally:
            probe.close()
    except CameraError as error:
        raise UserError(error.user_message) from None
    roi = None
    if choice is not None:
        if choice.box is not None:  # a given box
            roi = choice.box.as_tuple()
            x, y, w, h = roi
            if first is not None and (x + w > first.shape[1] or y + h > first.shape[0]):
                raise UserError(f"The box --roi {args.roi} lies outside the frames of {args.source}, "
                                f"which are {first.shape[1]}×{first.shape[0]} pixels: give a box inside them.")
        else:
            assert first is not None  # read above: a centred or automatic box needs a frame
            try:
                resolved = resolve_in_picture(choice, first, f"frames of {args.source}")
            except ChooseError as error:
                raise UserError(str(error)) from None
            roi = resolved.box.as_tuple()
            if resolved.said:
                print(resolved.said, flush=True)
    from focuslock.runtime.headless import FollowAndLock
    from focuslock.runtime.pipeline import FramePipeline, OpticsSettings, PipelineSettings

    if args.lock and roi is None:
        raise UserError("--lock needs the feature's box: add --roi X,Y,W,H.")
    settings = PipelineSettings(optics=OpticsSettings(coc_px=args.coc_px))
    # A headless recording of a file keeps every frame of it; the window plays it live.
    session = LiveSession(factory, processor=FramePipeline(), settings=settings,
                          keep_every_frame=finite and args.headless)
    if not args.headless:
        def setup(window) -> None:
            if roi is not None:
                window.choose_feature(*roi)
                if args.lock:
                    window.lock_when_found()

        return _window(session, settings, args, f"focuslock — {args.source}", setup)
    rate = rate or 30.0
    script = FollowAndLock(roi, settings, lock=args.lock) if roi is not None else None
    code = _run_headless(session, args, "live", rate, script)
    if script is not None and args.lock and not script.locked:
        print(f"focuslock: the feature at --roi {args.roi} was never found inside a frame; "
              "nothing was locked.", file=sys.stderr)
        return EXIT_FAILURE
    return code
