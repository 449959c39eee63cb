"""A small client for ``focuslock serve``: the standard library's urllib for the JSON API,
the ``websockets`` library for the events. It imports nothing else of focuslock, so a
turntable's or a robot's script can copy this one file.

::

    from focuslock.client import FocusClient

    gate = FocusClient("http://127.0.0.1:8765")          # token="…" beyond loopback
    gate.lock([352, 295, 320, 93])
    if gate.wait_sharp(timeout_s=5)["sharp"]:
        print(gate.capture(sku="A-1001")["files"])
    with gate.events(limit=10) as events:                   # {"type": "focus", "state": …}
        for message in events:
            print(message["type"], message.get("state"))
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

__all__ = ["EventStream", "FocusClient", "FocusServerError"]


class FocusServerError(Exception):
    """The server refused a request: ``status`` (HTTP) and its one sentence in ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class FocusClient:
    """Talks to one server at ``url``; ``token``: the content of its token file (needed
    when it listens beyond loopback). ``timeout_s``: the most a call waits beyond what the
    request itself asks the server to wait."""

    def __init__(self, url: str = "http://127.0.0.1:8765", token: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    # ----------------------------------------------------------------- plumbing
    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, wait_s: float = 0.0) -> dict[str, Any]:
        """One call; the answer's JSON, or :class:`FocusServerError` with the server's sentence."""
        data = None
        headers = self._headers()
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s + wait_s) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except ValueError:
                message = text
            raise FocusServerError(error.code, message) from None

    # ----------------------------------------------------------------- the API
    def status(self) -> dict[str, Any]:
        """The newest frame's verdict: ``state``, ``blur_px``, ``coc_share``, ``fresh``, ``features`` …"""
        return self.request("GET", "/api/status")

    def lock(self, *rois: list[float], timeout_s: float = 5.0) -> dict[str, Any]:
        """Follow and lock on one to four boxes ``[x, y, w, h]`` (live-view pixels)."""
        body: dict[str, Any] = {"roi": list(rois[0])} if len(rois) == 1 else {"rois": [list(r) for r in rois]}
        return self.request("POST", "/api/lock", {**body, "timeout_s": timeout_s}, wait_s=timeout_s)

    def unlock(self) -> dict[str, Any]:
        return self.request("POST", "/api/unlock", {})

    def wait_sharp(self, timeout_s: float = 10.0, max_coc_share: float = 0.5, frames: int = 2) -> dict[str, Any]:
        """``{"sharp": True}`` as soon as every locked feature is SHARP on fresh frames;
        ``{"sharp": False}`` when ``timeout_s`` runs out first."""
        return self.request("POST", "/api/wait-sharp", {"timeout_s": timeout_s, "max_coc_share": max_coc_share,
                                                       "frames": frames}, wait_s=timeout_s)

    def drive(self, steps: int, timeout_s: float = 30.0) -> dict[str, Any]:
        return self.request("POST", "/api/drive", {"steps": int(steps), "timeout_s": timeout_s}, wait_s=timeout_s)

    def capture(self, sku: str | None = None, timeout_s: float = 60.0) -> dict[str, Any]:
        """Capture: the files saved (verified) and the verdict."""
        body: dict[str, Any] = {"timeout_s": timeout_s}
        if sku is not None:
            body["sku"] = sku
        return self.request("POST", "/api/capture", body, wait_s=timeout_s)

    def set_sku(self, sku: str) -> dict[str, Any]:
        return self.request("POST", "/api/sku", {"sku": sku})

    def events(self, limit: int | None = None, open_timeout_s: float = 10.0) -> EventStream:
        """The event stream, connected now (so nothing that happens after this call is
        missed): iterate it for the messages as dicts (``focus`` per frame, ``alarm``,
        ``camera`` …), ``limit`` of them or until :meth:`EventStream.close`."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        return EventStream(f"{scheme}://{parts.netloc}/api/events", headers, limit, open_timeout_s)


class EventStream:
    """The server's events as they come; a context manager and an iterator of dicts."""

    def __init__(self, url: str, headers: dict[str, str] | None, limit: int | None, open_timeout_s: float) -> None:
        from websockets.sync.client import connect

        self._connection = connect(url, additional_headers=headers, open_timeout=open_timeout_s, max_size=2**20)
        self._socket = self._connection.__enter__()
        self._left = limit

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._left is not None:
            if self._left <= 0:
                self.close()
                raise StopIteration
            self._left -= 1
        return json.loads(self._socket.recv())

    def receive(self, timeout_s: float | None = None) -> dict[str, Any]:
        """The next message (TimeoutError when none comes within ``timeout_s``)."""
        return json.loads(self._socket.recv(timeout=timeout_s))

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
