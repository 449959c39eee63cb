#!/usr/bin/env python3
"""The focus monitor of ``focuslock serve`` in headless Chromium, saved as
docs/serve-monitor.png: the simulated bench focused on the demo's feature, locked, then
racked a little way towards SOFTENING (or wherever ``--steps`` puts it).

Usage: ``python scripts/serve_screenshot.py [--out docs/serve-monitor.png] [--steps 40]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from focuslock.client import FocusClient
from focuslock.serve.server import start_server
from focuslock.simulators.demo import demo_view
from focuslock.simulators.sim import BenchConfig
from focuslock.testing.chromium import HeadlessPage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/serve-monitor.png"))
    parser.add_argument("--steps", type=int, default=0, help="rack this far from best focus before the screenshot")
    parser.add_argument("--wait-state", default="IN FOCUS", help="the banner's text to wait for before the screenshot")
    args = parser.parse_args()
    view = demo_view(BenchConfig())
    running = start_server(view.bench, port=0)
    try:
        client = FocusClient(running.url)
        while running.host.latest() is None:
            time.sleep(0.05)
        client.drive(round(view.best_steps))
        client.lock(list(view.roi_px))
        print("sharp:", client.wait_sharp(timeout_s=20)["sharp"])
        if args.steps:
            client.drive(args.steps)
        with tempfile.TemporaryDirectory() as profile, HeadlessPage(running.url, Path(profile), 1280, 900) as page:
            page.wait_until("document.getElementById('live').naturalWidth > 0")
            page.wait_until(f"document.getElementById('banner').textContent === {args.wait_state!r}")
            time.sleep(1.0)  # a few more frames: the numbers and the picture settle
            page.screenshot(args.out)
        print("saved", args.out, "status:", client.status()["state"])
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
