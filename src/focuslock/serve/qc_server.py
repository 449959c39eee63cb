"""Starting and stopping ``focuslock hub serve``: the QC application on uvicorn, bound as
``focuslock serve`` binds (port 0 picks a free one; ``serve/server.py``) with the same
access rule: on 127.0.0.1, ::1 or localhost no token unless a token file is given; on any
other address the token (``serve/auth.py``)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from focuslock.hub.connection import describe_url
from focuslock.serve.auth import Access, is_loopback, load_or_make_token
from focuslock.serve.qc_app import make_qc_app
from focuslock.serve.qc_feed import QcFeed
from focuslock.serve.server import bind, run_app

__all__ = ["RunningQc", "start_qc_server"]

logger = logging.getLogger(__name__)


@dataclass
class RunningQc:
    """A QC server that runs: its URL, the token file (None on loopback), its feed."""

    url: str
    port: int
    token_path: Path | None
    feed: QcFeed
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Stop answering and listening to the hub (safe to call twice)."""
        self.server.should_exit = True
        self.thread.join(15.0)
        self.feed.stop()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def start_qc_server(hub_url: str, *, host: str = "127.0.0.1", port: int = 8766,
                    token_file: Path | None = None) -> RunningQc:
    """Serve the QC page of the hub at ``hub_url`` on ``host``:``port``; the page shows the
    hub away (and the server keeps trying) when it cannot be reached."""
    needs_token = token_file is not None or not is_loopback(host)
    token, token_path = load_or_make_token(token_file) if needs_token else (None, None)
    sock = bind(host, port)
    feed = QcFeed(hub_url)
    try:
        server, thread, url = run_app(make_qc_app(feed, Access(token)), sock, host, port, lifespan="on",
                                      name="focuslock-hub-serve")
    except BaseException:
        feed.stop()
        raise
    logger.info("QC page of %s on %s%s", describe_url(hub_url), url, f" (token in {token_path})" if token_path else "")
    return RunningQc(url, sock.getsockname()[1], token_path, feed, server, thread)
