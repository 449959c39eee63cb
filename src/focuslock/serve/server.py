"""Starting and stopping ``focuslock serve``: the live host, the access rule, uvicorn.

:func:`start_server` binds the socket itself (port 0 picks a free one, which tests and
the bench use), starts the live session and runs uvicorn on a thread of its own;
:class:`RunningServer` says where it listens and stops it all. The command line
(``cli/serve_cmd.py``) waits on it until a signal comes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp

from focuslock.devices.base import Camera
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.serve.api import ServeContext
from focuslock.serve.app import make_app
from focuslock.serve.auth import Access, is_loopback, load_or_make_token
from focuslock.serve.host import LiveHost

__all__ = ["RunningServer", "ServeError", "bind", "run_app", "start_server", "tablet_urls"]

logger = logging.getLogger(__name__)

# The kernel's send buffer per connection (it doubles it): about four pictures of the
# stream at 1024×680, a few hundred focus messages.
SEND_BUFFER_BYTES = 128 * 1024


class ServeError(Exception):
    """The server could not start (the address is taken, not this computer's …)."""


@dataclass
class RunningServer:
    """A server that runs: its URL, the token file (None on loopback), the live host."""

    url: str
    port: int
    token_path: Path | None
    host: LiveHost
    server: uvicorn.Server
    thread: threading.Thread
    context: ServeContext

    def stop(self) -> None:
        """Stop answering, then stop the live session (safe to call twice)."""
        self.server.should_exit = True
        self.thread.join(10.0)
        self.host.stop()
        if self.context.shot_log is not None:
            self.context.shot_log.close()
            self.context.shot_log = None

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def tablet_urls(url: str, host: str, port: int) -> list[str]:
    """The URLs another machine (a tablet) can open for a server on ``host``:``port`` whose own
    URL is ``url``: on a wildcard host (0.0.0.0, ::) this machine's addresses (loopback left
    out) and its name, else ``url`` itself."""
    if host not in ("0.0.0.0", "::", ""):
        return [url]
    addresses: list[str] = []
    name = socket.gethostname()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # a UDP "connect" sends nothing: it only picks the outgoing address
            addresses.append(probe.getsockname()[0])
    except OSError:
        pass
    try:
        addresses += [str(info[4][0]) for info in socket.getaddrinfo(name, None, socket.AF_INET)]
    except OSError:
        pass
    found = [a for a in dict.fromkeys(addresses) if not a.startswith("127.")]
    return [f"http://{a}:{port}/" for a in found] + ([f"http://{name}:{port}/"] if name else [])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: a free port), as every server here binds."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServeError(f"{host!r} is not an address of this computer ({error.strerror}).") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Every connection inherits this send buffer: a client that reads slowly then gets
    # the newest frame when it reads again, not seconds of old ones the kernel held (left
    # to itself Linux grows a socket's buffer to megabytes).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise ServeError(f"The server cannot listen on {host} port {port} ({error.strerror}): "
                         "another program may use it; give another --port.") from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


def start_server(camera: Camera | Callable[[], Camera], *, host: str = "127.0.0.1", port: int = 8765,
                 token_file: Path | None = None, settings: PipelineSettings | None = None,
                 capture_folder: Path = Path("focuslock-out/captures"), shot_log: Any = None,
                 marks_folder: Path | None = None) -> RunningServer:
    """Start the live session on ``camera`` and serve it on ``host``:``port``.

    Any host but 127.0.0.1, ::1 or localhost needs the token (made on first use in the
    config folder, or in ``token_file``); with ``token_file`` on loopback it is required too.
    """
    needs_token = token_file is not None or not is_loopback(host)
    token, token_path = load_or_make_token(token_file) if needs_token else (None, None)
    sock = bind(host, port)
    live = LiveHost(camera, settings).start()
    context = ServeContext(live, Path(capture_folder), shot_log, marks_folder)
    try:
        server, thread, url = run_app(make_app(context, Access(token)), sock, host, port, lifespan="off",
                                      name="focuslock-serve")
    except ServeError:
        live.stop()
        raise
    logger.info("serving on %s%s", url, f" (token in {token_path})" if token_path else "")
    return RunningServer(url, sock.getsockname()[1], token_path, live, server, thread, context)


def run_app(app: ASGIApp, sock: socket.socket, host: str, port: int, *, lifespan: Literal["on", "off"],
            name: str) -> tuple[uvicorn.Server, threading.Thread, str]:
    """``app`` on uvicorn on the bound ``sock``, on a thread called ``name``, once it
    answers: the server, its thread and its URL (``lifespan`` "on" runs the app's)."""
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, ws="websockets-sansio", ws_max_size=64 * 1024,
                            timeout_graceful_shutdown=2, access_log=False, log_config=None,
                            proxy_headers=False, server_header=False)
    server = uvicorn.Server(config)
    started = threading.Event()

    def serve() -> None:
        # On a thread other than the main one uvicorn installs no signal handlers: the caller owns the signals.
        try:
            asyncio.run(_serve_and_say(server, sock, started))
        except Exception:
            logger.exception("the server stopped")
            started.set()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    started.wait(30.0)
    if not server.started:
        server.should_exit = True
        raise ServeError(f"The server on {host} port {port} did not start.")
    shown = f"[{host}]" if ":" in host else host
    return server, thread, f"http://{shown}:{sock.getsockname()[1]}/"


async def _serve_and_say(server: uvicorn.Server, sock: socket.socket, started: threading.Event) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    started.set()
    await task
