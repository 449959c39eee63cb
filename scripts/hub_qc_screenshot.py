#!/usr/bin/env python3
"""The QC page of ``focuslock hub serve`` in headless Chromium, saved as docs/hub-qc.png:
a throwaway PostgreSQL hub (``focuslock.testing.postgres``), a day's list of six SKUs,
three stations' shots of the repository's pcb stack landing as a station's sync sends
them, and the page as a 1280×800 tablet shows it once the last shot has landed.

Usage: ``python scripts/hub_qc_screenshot.py [--out docs/hub-qc.png] [--away away.png]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from focuslock.hub.connection import migrate
from focuslock.serve.qc_server import start_qc_server
from focuslock.testing.chromium import HeadlessPage
from focuslock.testing.hub_shots import land_shot, shot_list
from focuslock.testing.postgres import PostgresCluster

STACK = Path(__file__).resolve().parents[1] / "tests" / "data" / "focus-stacks" / "pcb"
SOFT = "feature 1 is soft (2.3× the blur the depth of field allows)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/hub-qc.png"))
    parser.add_argument("--away", type=Path, help="also the page with the hub stopped, saved here")
    args = parser.parse_args()
    with PostgresCluster() as cluster:
        url = cluster.create_database()
        migrate(url)
        shot_list(url, [("A1001", "Ceramic mug, white"), ("B2040", "Desk lamp, brass"), ("C3310", "Watch, steel"),
                        ("D4120", "Ring, gold"), ("E5002", "Fountain pen nib"), ("F6210", "Cufflinks, silver")])
        land_shot(url, "Station 1", 1, "A1001_001.jpg", "A1001", "pass", picture=STACK / "pcb_004.jpg")
        land_shot(url, "Station 2", 1, "C3310_001.jpg", "C3310", "soft", SOFT, STACK / "pcb_001.jpg", "watches")
        land_shot(url, "Station 1", 2, "A1001_002.jpg", "A1001", "pass", picture=STACK / "pcb_005.jpg")
        land_shot(url, "Station 3", 1, "<img src=x onerror=alert(1)>", "ZZ999", "pass", None, STACK / "pcb_003.jpg",
                  "jewellery")
        land_shot(url, "Station 3", 2, "E5002_001.jpg", "E5002", "pass", None, STACK / "pcb_004.jpg", "jewellery")
        running = start_qc_server(url, port=0)
        try:
            with tempfile.TemporaryDirectory() as profile, HeadlessPage(running.url, Path(profile), 1280, 943) as page:
                page.wait_until("document.getElementById('state').textContent === 'LIVE'")
                land_shot(url, "Station 2", 2, "D4120_001.jpg", "D4120", "uncertain", "feature 1: too dark to judge",
                          STACK / "pcb_007.jpg", "watches")
                page.wait_until("document.querySelector('#latest .title').textContent.includes('D4120')")
                page.wait_until("[...document.images].every(i => i.complete)")
                time.sleep(0.5)
                print(page.screenshot(args.out))
                if args.away:
                    cluster.stop()
                    page.wait_until("document.getElementById('state').textContent === 'HUB AWAY'")
                    print(page.screenshot(args.away))
                    cluster.start()
        finally:
            running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
