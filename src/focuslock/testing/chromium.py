"""Headless Chromium driven over its DevTools protocol, for tests and scripts that look
at a page as a browser shows it (the focus monitor of ``focuslock serve``).

Chromium is started with a fresh profile and ``--remote-debugging-port=0``; the port it
chose is read from the profile's ``DevToolsActivePort``; each command goes over the
page's WebSocket (the ``websockets`` library's synchronous client).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

__all__ = ["CHROMIUM_FLAGS", "HeadlessPage", "find_chromium"]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--mute-audio"]


def find_chromium() -> str:
    """The Chromium on this machine (Debian's chromium, or Chrome)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        raise RuntimeError("Chromium is needed: sudo apt install chromium")
    return found


class HeadlessPage:
    """One page of a headless Chromium at ``url``, ``width``×``height`` CSS pixels.
    Use as a context manager; :meth:`evaluate` runs JavaScript, :meth:`screenshot` saves a PNG."""

    def __init__(self, url: str, profile: Path, width: int = 1280, height: int = 900, timeout_s: float = 60.0) -> None:
        self.url, self.profile, self.timeout_s = url, Path(profile), timeout_s
        self.profile.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._ids = itertools.count(1)
        self._socket: ClientConnection | None = None

    def __enter__(self) -> HeadlessPage:
        try:
            # Entered here and left in close(): the page lives as long as this object's context.
            self._socket = connect(self._page_socket_url(), open_timeout=self.timeout_s, max_size=64 * 2**20).__enter__()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)

    def _page_socket_url(self) -> str:
        deadline = time.monotonic() + self.timeout_s
        active = self.profile / "DevToolsActivePort"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"Chromium ended at once (exit {self._process.returncode}).")
            if active.exists() and active.read_text().strip():
                port = int(active.read_text().split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                    pages = [t for t in json.loads(answer.read()) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise RuntimeError(f"Chromium's DevTools did not answer within {self.timeout_s:g} s.")

    def command(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command's result (events that arrive meanwhile are passed over)."""
        assert self._socket is not None, "use the page as a context manager"
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise TimeoutError(f"Chromium did not answer {method} within {self.timeout_s:g} s.")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_until(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Wait until ``expression`` is truthy in the page; its value."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{expression} stayed false in the page for {timeout_s:g} s")

    def screenshot(self, path: Path) -> Path:
        """The page as the browser paints it now, saved as PNG."""
        data = self.command("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)
