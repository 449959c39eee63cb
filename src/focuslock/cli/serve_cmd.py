"""``focuslock serve``: the live session as a focus gate (HTTP and WebSocket API) and a
focus monitor page, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_OK, UserError

__all__ = ["add_serve", "say_token"]

logger = logging.getLogger(__name__)


def add_serve(commands) -> None:
    """Add ``serve`` to the sub-commands ``commands``."""
    from focuslock.runtime.sources import SOURCE_HELP

    serve = commands.add_parser("serve", help="serve the live verdict: a focus gate API for machines and a monitor page")
    serve.add_argument("--source", default="sim", help=SOURCE_HELP + " (sim: the simulated bench as the demo shows it)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; any other needs the token)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--token-file", type=Path,
                       help="the token's file (made with mode 0600 if missing; default: serve-token in the config folder)")
    serve.add_argument("--roi", type=arg.feature, help="lock on this feature once frames come: " + arg.FEATURE_HELP)
    serve.add_argument("--coc-px", type=arg.lock_coc_px,
                       help="circle of confusion in live-view pixels (default: from the camera's sensor and live-view size)")
    serve.add_argument("--marks", type=Path, help="the marks folder POST /api/marks/NAME/go reads (default: the config folder's)")
    serve.add_argument("--out", type=Path, default=Path("focuslock-out"), help="captures go to OUT/captures without --session")
    studio = serve.add_argument_group("studio session")
    studio.add_argument("--session", type=Path, help="log each capture in this session folder (with --recipe)")
    studio.add_argument("--recipe", type=Path, help="the recipe the session checks against (its features, CoC, naming)")
    studio.add_argument("--sku", help="the product's code for the first shots' names (POST /api/sku changes it)")
    arg.add_hub_options(studio)
    serve.set_defaults(run=_serve)


def _camera(source: str, out: Path):
    """The camera (factory) for ``source``; the bench as the demo aims and focuses it."""
    if source.strip().lower() == "sim":
        from focuslock.simulators.demo import demo_view
        from focuslock.simulators.sim import BenchConfig

        view = demo_view(BenchConfig())
        x, y, w, h = view.roi_px
        print(f"simulated bench: its feature is at --roi {x},{y},{w},{h}, sharpest {round(view.best_steps):+d} drive steps "
              "from where focus starts", flush=True)
        return view.bench
    from focuslock.runtime.sources import camera_factory

    return camera_factory(source, loop=True, download_folder=out / "captures")


def _lock_on_choice(host, choice, text: str) -> str | None:
    """Lock on ``--roi``'s feature: a given box as it is, a centred or automatic one chosen
    in the first frame served (the one parser every command uses); the problem, else None."""
    from focuslock.workflows.choose_feature import ChooseError, resolve_in_picture

    if choice.box is not None:
        return host.lock_on([choice.box.as_tuple()], 20.0)
    first = host.wait_for(lambda published: published.analysis is not None, 20.0)
    if first is None:
        return f"no frame came in 20 s to choose --roi {text} in; lock through POST /api/lock."
    try:
        resolved = resolve_in_picture(choice, first.analysis.frame.image, "live view")
    except ChooseError as error:
        return str(error)
    if resolved.said:
        print(resolved.said, flush=True)
    return host.lock_on([resolved.box.as_tuple()], 20.0)


def _serve(args: argparse.Namespace) -> int:
    from focuslock.core.signals import StopSignals
    from focuslock.runtime.pipeline import OpticsSettings, PipelineSettings
    from focuslock.serve.auth import TokenError
    from focuslock.serve.server import ServeError, start_server

    choice = arg.feature_choices([args.roi])[0] if args.roi is not None else None
    if (args.session is None) != (args.recipe is None):
        raise UserError("--session and --recipe go together: the session checks every capture against the recipe.")
    hub = arg.hub_link(args)
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be from 0 to 65535, not {args.port}.")
    shot_log = None
    if args.session is not None:
        from focuslock.workflows.capture_session import open_capture_session

        shot_log = open_capture_session(args.session, args.recipe, args.sku, hub)
    settings = PipelineSettings(optics=OpticsSettings(coc_px=args.coc_px))
    try:
        running = start_server(_camera(args.source, args.out), host=args.host, port=args.port, token_file=args.token_file,
                               settings=settings, capture_folder=args.session or args.out / "captures", shot_log=shot_log,
                               marks_folder=args.marks)
    except (ServeError, TokenError) as error:
        if shot_log is not None:
            shot_log.close()
        raise UserError(str(error)) from None
    print(f"focus monitor and API on {running.url}  (API: {running.url}openapi.json)", flush=True)
    say_addresses(running, args.host)
    say_token(running)
    stopped = threading.Event()
    try:
        with StopSignals(on_signal=lambda name: stopped.set()):
            if choice is not None:
                problem = _lock_on_choice(running.host, choice, args.roi)
                if problem:
                    print(f"focuslock: {problem}", flush=True)
            while not stopped.wait(0.5) and running.running:
                pass
    finally:
        running.stop()
    return EXIT_OK


def say_addresses(running, host: str) -> None:
    """On a wildcard host (0.0.0.0, ::), the addresses a tablet can open (``serve`` and ``hub serve``)."""
    from focuslock.serve.server import tablet_urls

    urls = tablet_urls(running.url, host, running.port)
    if urls != [running.url]:
        print("  on a tablet open " + (" or ".join(urls) if urls else f"this machine's address or name, port {running.port}")
              + " (whichever the studio's network reaches)", flush=True)


def say_token(running) -> None:
    """Where a server's token is (``serve`` and ``hub serve``: a server beyond loopback has one)."""
    if running.token_path is not None:
        print(f"the token is in {running.token_path} (send it as Authorization: Bearer …; the page asks for it once)",
              flush=True)
