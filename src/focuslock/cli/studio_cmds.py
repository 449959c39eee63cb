"""``focuslock watch``, ``recipe`` and ``report``: the studio's hot folder, its saved
setups, and a session's report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_FAILURE, EXIT_OK, UserError, print_json, require_display

if TYPE_CHECKING:
    import threading

    from focuslock.session.opening import SetupRequest
    from focuslock.session.xmp import RatingPolicy

__all__ = ["add_recipe", "add_report", "add_watch"]


def add_watch(commands) -> None:
    """Add ``watch`` to the sub-commands ``commands``."""
    watch = commands.add_parser("watch", help="check every picture another tether program drops into a folder: "
                                              "verdicts, XMP sidecars, a shot log")
    watch.add_argument("folder", type=Path, help="the folder the tether program saves into")
    watch.add_argument("--roi", type=arg.feature, action="append", metavar="ROI",
                       help="a feature that must be sharp: " + arg.FEATURE_HELP + "; in the reference picture's pixels "
                            "(repeat for up to four)")
    watch.add_argument("--recipe", type=Path, help="a saved recipe: its features, reference, CoC, drift limit and ratings")
    watch.add_argument("--reference", type=Path, help="the picture the boxes are drawn on (default: the first picture in "
                                                      "the folder); kept in the session folder")
    watch.add_argument("--session", type=Path, help="the session folder with its shot log (default: the watched folder)")
    watch.add_argument("--once", action="store_true", help="handle the pictures there now, then stop")
    arg.add_picture_coc_options(watch, "the pictures'")
    watch.add_argument("--drift-limit-pct", type=arg.positive_float,
                       help="how far a feature may sit from its place in the reference, %% of the width (default 1)")
    watch.add_argument("--sidecars", choices=("both", "lightroom", "darktable", "none"), default="both",
                       help="XMP sidecars: NAME.xmp (Lightroom, Capture One), NAME.EXT.xmp (darktable), both (default) or none")
    watch.add_argument("--poll-s", type=arg.positive_float, default=1.0, help="scan the folder at least this often (default 1 s)")
    watch.add_argument("--no-events", action="store_true", help="scan only, no file events (network shares that send none)")
    watch.add_argument("--json", action="store_true", help="one JSON object per shot, a line each")
    arg.add_hub_options(watch)
    watch.add_argument("--review", action="store_true", help="open a window where each shot shows at 100 %% with its "
                                                           "focus mask and verdict")
    watch.set_defaults(run=_watch)


def add_recipe(commands) -> None:
    """Add ``recipe save|check`` to the sub-commands ``commands``."""
    recipe = commands.add_parser("recipe", help="save a studio setup as a recipe, or compare a camera with one")
    recipe_commands = recipe.add_subparsers(dest="recipe_command", required=True, metavar="save|check")
    save = recipe_commands.add_parser("save", help="write RECIPE.toml and its reference RECIPE.png")
    save.add_argument("recipe", type=Path, help="the recipe file to write (.toml); the reference PNG goes beside it")
    save.add_argument("--reference", type=Path, required=True, help="the picture the boxes are drawn on (a sharp shot)")
    save.add_argument("--roi", type=arg.feature, action="append", required=True, metavar="ROI",
                      help="a feature that must be sharp: " + arg.FEATURE_HELP + "; in the reference's pixels (up to four)")
    save.add_argument("--source", help="read the camera's settings from this source (e.g. gphoto2)")
    save.add_argument("--name", help="the recipe's name (default: the file's name)")
    save.add_argument("--lens", help="the lens, as you name it")
    save.add_argument("--mark", action="append", default=[], help="a focus mark the setup uses (by name)")
    arg.add_picture_coc_options(save, "the reference's")
    save.add_argument("--drift-limit-pct", type=arg.positive_float, default=1.0,
                      help="how far a feature may move, in %% of the width, before a shot says drift (default 1)")
    save.add_argument("--force", action="store_true", help="replace an existing recipe")
    check_recipe = recipe_commands.add_parser("check", help="list every setting where the camera differs from the recipe")
    check_recipe.add_argument("recipe", type=Path, help="the recipe (.toml)")
    check_recipe.add_argument("--source", required=True, help="the camera (e.g. gphoto2)")
    check_recipe.add_argument("--apply", action="store_true", help="set the camera to the recipe's values")
    check_recipe.add_argument("--json", action="store_true", help="print one JSON object")
    recipe.set_defaults(run=_recipe)


def add_report(commands) -> None:
    """Add ``report`` to the sub-commands ``commands``."""
    report = commands.add_parser("report", help="a session's report: an HTML page and a CSV of every shot")
    report.add_argument("session", type=Path, help="the session folder (with focuslock-session.sqlite)")
    report.add_argument("--out", type=Path, help="the HTML file (default: SESSION/report.html, replaced); the CSV beside it")
    report.add_argument("--force", action="store_true", help="replace an existing --out file")
    report.set_defaults(run=_report)


def _boxes(rois: list[tuple[int, int, int, int]]) -> tuple[tuple[float, float, float, float], ...]:
    """The --roi boxes as the session and the recipe keep them."""
    return tuple((float(x), float(y), float(w), float(h)) for x, y, w, h in rois)


def _print_json_line(result: dict) -> None:
    """One handled picture as a line of JSON on stdout (``watch --json``), less its text."""
    print(json.dumps({k: v for k, v in result.items() if k != "text"}), flush=True)


def _watch(args: argparse.Namespace) -> int:
    import threading

    from focuslock.core.signals import STOP_SIGNALS, StopSignals
    from focuslock.session.opening import SetupRequest
    from focuslock.session.xmp import RatingPolicy
    from focuslock.workflows.capture_session import recipe_request

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
        recipe, request = recipe_request(args.recipe)
        policy = recipe.rating_policy()
        request = request.with_drift_limit_pct(args.drift_limit_pct)
    else:
        sensor = arg.sensor_of(args)
        choices = tuple(arg.feature_choices(args.roi or []))
        # Given boxes as they always were; centred or automatic ones (with all the others,
        # in order) chosen in the reference picture when the session opens.
        chosen_later = any(choice.needs_frame for choice in choices)
        boxes = _boxes([choice.box.as_tuple() for choice in choices if choice.box is not None])
        request = SetupRequest(None if chosen_later or not boxes else boxes, args.reference, args.coc_px,
                               None if sensor is None or sensor.coc_mm is None else sensor.coc_mm * 1000.0,
                               None if sensor is None else sensor.width_mm, args.camera,
                               choices=choices if chosen_later else ()).with_drift_limit_pct(args.drift_limit_pct)
    if not args.folder.is_dir():
        raise UserError(f"The folder to watch, {args.folder}, does not exist or is not a folder.")
    session_dir = args.session or args.folder
    if args.hub is not None and args.session is None:
        args.session = session_dir  # the watched folder is the session (as without --hub)
    stop = threading.Event()
    # Ctrl-C, SIGTERM and SIGHUP end the watch after the current file (never mid-write),
    # with its summary; the handlers that were there before come back when it ends
    # (core/signals.py). With --review the window ends it (closing it), Ctrl-C as before.
    names = STOP_SIGNALS if args.review else ("SIGINT", *STOP_SIGNALS)
    with StopSignals(names, on_signal=lambda _name: stop.set()):
        return _watch_until_stopped(args, session_dir, request, policy, stop)


def _watch_until_stopped(args: argparse.Namespace, session_dir: Path, request: SetupRequest, policy: RatingPolicy,
                         stop: threading.Event) -> int:
    """The watch itself, once its setup is read: open (or wait for) the session, then watch until ``stop``."""
    from focuslock.focus.auto_feature import auto_sentence
    from focuslock.session.database import SessionError
    from focuslock.session.opening import open_session
    from focuslock.workflows.first_picture import needs_a_first_picture, open_on_first_picture
    from focuslock.workflows.watch import LEFT, WatchError, WatchOptions, run_watch

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
    link = arg.hub_link(args)
    if link is not None:
        from focuslock.hub.sync import attach_hub

        try:
            attach_hub(store, link)
        except BaseException:
            store.close()
            raise
    for choice, box in zip(request.choices, judge.setup.features_px, strict=False):
        if choice.kind == "auto":
            x, y, w, h = (int(round(v)) for v in box)
            say(auto_sentence((x, y, w, h)))
    if args.review:
        return _watch_with_review(args, store, judge, options, say)
    try:
        counts = run_watch(args.folder, store, judge, options, say=say, stop=stop,
                           on_shot=_print_json_line if args.json else None)
    except (SessionError, WatchError) as error:
        raise UserError(str(error)) from None
    finally:
        store.close()
    left = counts.pop(LEFT, 0)
    judged = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
    if not left:
        say(f"Done: {judged}" if judged else "Done: no new pictures.")
        return EXIT_OK
    # Stopped with pictures seen but not judged (as check-archive stopped early): said, and not a success.
    say(f"Stopped: {judged or 'none judged'}; {left} picture{'s' if left != 1 else ''} not judged yet (left in the folder, unlogged).")
    say("What was judged is logged; run the same command again to judge the rest.")
    return EXIT_FAILURE


def _watch_with_review(args: argparse.Namespace, store, judge, options, say) -> int:
    """``watch --review``: the same watch on a worker thread, each shot shown in a window."""
    from focuslock.workflows.watch import review_of_shot, run_watch

    try:
        require_display("leave out --review")
        from focuslock.ui.review_window import run_review_window

        def work(stop, show, tell):
            def on_review(result: dict, picture) -> None:
                if args.json:
                    _print_json_line(result)
                show(review_of_shot(result, judge, picture))  # the picture as judged: not decoded again

            def both(text: str) -> None:
                say(text)
                tell(text)

            return run_watch(args.folder, store, judge, options, say=both, stop=stop, on_review=on_review)

        return run_review_window(work, title=f"focuslock — watching {args.folder}")
    finally:
        store.close()


def _recipe(args: argparse.Namespace) -> int:
    import cv2

    from focuslock.devices.base import CameraError, CorruptFrameError
    from focuslock.devices.folder import read_bgr_image
    from focuslock.runtime.sources import camera_factory
    from focuslock.session.recipe import (
        Recipe,
        RecipeError,
        apply_settings,
        diff_settings,
        load_recipe,
        read_camera_settings,
        save_recipe,
    )
    from focuslock.workflows.choose_feature import ChooseError, resolve_in_picture

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
            sensor = arg.sensor_of(args)
            try:
                reference = read_bgr_image(args.reference)
            except CorruptFrameError as error:
                raise UserError(f"The reference picture {args.reference} cannot be used: {error.reason}") from None
            # Every box checked inside the reference; centred and automatic ones chosen there.
            rgb = cv2.cvtColor(reference, cv2.COLOR_BGR2RGB)
            try:
                resolved = [resolve_in_picture(choice, rgb, "reference picture") for choice in arg.feature_choices(args.roi)]
            except ChooseError as error:
                raise UserError(str(error)) from None
            rois = [feature.box.as_tuple() for feature in resolved]
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
                            _boxes(rois), camera_name, settings, args.lens, optics,
                            tuple(args.mark), drift_limit_pct=args.drift_limit_pct)
            png = save_recipe(args.recipe, recipe, reference, force=args.force)
            for feature in resolved:
                if feature.said:
                    print(feature.said)
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
        print_json({"recipe": str(args.recipe), "camera": camera.name,
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
    from focuslock.session.database import SessionError
    from focuslock.session.report import render_report, written_by_focuslock
    from focuslock.session.store import ShotStore

    html_path = args.out if args.out is not None else args.session / "report.html"
    csv_path = html_path.with_suffix(".csv")
    try:
        with ShotStore.read(args.session) as store:
            # The default report is focuslock's own file, remade each time (a studio's own
            # report.csv there is not); one the user named is theirs.
            for label, path in (("--out", html_path), ("the CSV beside --out", csv_path)):
                check_outputs({label: path}, [], force=args.force or (args.out is None and written_by_focuslock(path)))
            page, table = render_report(store)
        replace_file(csv_path, table.encode("utf-8"))
        replace_file(html_path, page.encode("utf-8"))
    except (SessionError, OutputError) as error:
        raise UserError(str(error)) from None
    print(f"report: {html_path}\ntable: {csv_path}")
    return EXIT_OK
