#!/usr/bin/env python3
"""Open the focus monitor of a running ``focuslock serve`` in headless Firefox and say
what it shows: the banner's text, the live picture's size (0 × 0: no picture came) and a
screenshot. The test suite drives the page in Chromium (tests/serve/test_monitor.py);
this is the same look in Firefox, by hand, where Firefox is installed (Debian:
``apt install firefox-esr``). It speaks WebDriver BiDi, which Firefox serves itself: no
geckodriver needed.

Usage: ``python scripts/monitor_in_firefox.py http://127.0.0.1:8765/ --out monitor-firefox.png``
(start the server first, e.g. ``focuslock serve --source sim --roi auto``).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from websockets.sync.client import connect

PORT = 9333


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the monitor's address, as serve prints it")
    parser.add_argument("--out", default="monitor-firefox.png", help="where the screenshot goes")
    parser.add_argument("--wait-s", type=float, default=6.0, help="how long the page runs before it is read")
    args = parser.parse_args(argv)
    firefox = shutil.which("firefox-esr") or shutil.which("firefox")
    if firefox is None:
        print("No Firefox here: install it (Debian: sudo apt install firefox-esr).", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen([firefox, "--headless", "--no-remote", "--profile", profile,
                                    "--remote-debugging-port", str(PORT), "--window-size", "1280,800"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "HOME": profile})
        try:
            return _look(args.url, args.out, args.wait_s)
        finally:
            browser.kill()
            browser.wait()


def _look(url: str, out: str, wait_s: float) -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket = connect(f"ws://127.0.0.1:{PORT}/session", open_timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                print("Firefox did not open its WebDriver BiDi port in 30 s.", file=sys.stderr)
                return 1
            time.sleep(0.5)
    with socket:
        numbers = itertools.count(1)

        def call(method: str, params: dict) -> dict:
            number = next(numbers)
            socket.send(json.dumps({"id": number, "method": method, "params": params}))
            while True:
                message = json.loads(socket.recv(timeout=60))
                if message.get("id") == number:
                    if message.get("type") == "error":
                        raise RuntimeError(f"{method}: {message.get('message')}")
                    return message["result"]

        call("session.new", {"capabilities": {}})
        context = call("browsingContext.getTree", {})["contexts"][0]["context"]
        call("browsingContext.navigate", {"context": context, "url": url, "wait": "interactive"})
        time.sleep(wait_s)

        def value(expression: str):
            return call("script.evaluate", {"expression": expression, "target": {"context": context},
                                            "awaitPromise": False})["result"].get("value")

        banner = value("document.getElementById('banner').textContent")
        size = value("document.getElementById('live').naturalWidth"), value("document.getElementById('live').naturalHeight")
        with open(out, "wb") as handle:
            handle.write(base64.b64decode(call("browsingContext.captureScreenshot", {"context": context})["data"]))
    print(f"banner: {banner}; live picture {size[0]}×{size[1]}; screenshot {out}")
    return 0 if size[0] else 1


if __name__ == "__main__":
    sys.exit(main())
