#!/usr/bin/env python3
"""A turntable loop against ``focuslock serve``: for each position, wait until the locked
detail is sharp, capture, then turn to the next — the question a machine must ask
before it fires, asked over HTTP.

    focuslock serve --session studio --recipe bottles.toml --sku A-1001   # on the tethered computer
    python scripts/turntable_loop.py --url http://127.0.0.1:8765 --positions 24 --roi 352,295,320,93

The turntable itself is yours: replace :func:`turn_to` with your controller's call (a
serial command, a GPIO pulse, a PLC write). Without a sharp verdict within ``--timeout``
the position is retried once after a small focus nudge (``--nudge`` drive steps), then
skipped and reported, never shot soft.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from focuslock.client import FocusClient, FocusServerError

logger = logging.getLogger("turntable")


def turn_to(position: int, of: int) -> None:
    """Move the turntable to ``position`` of ``of`` (here: only say so and let it settle)."""
    logger.info("turntable to %d/%d", position + 1, of)
    time.sleep(0.2)


def shoot_position(gate: FocusClient, position: int, args: argparse.Namespace) -> dict | None:
    """Wait for sharp and capture; one retry after a nudge; None when it never got sharp."""
    for attempt in range(2):
        verdict = gate.wait_sharp(timeout_s=args.timeout, max_coc_share=args.max_coc_share)
        if verdict["sharp"]:
            return gate.capture(sku=f"{args.sku}-{position + 1:03d}" if args.sku else None)
        logger.warning("position %d not sharp (%s: %s)", position + 1, verdict["state"], verdict["status"].get("reason"))
        if attempt == 0 and args.nudge:
            gate.drive(args.nudge)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--token-file", help="the server's token file (a server beyond loopback)")
    parser.add_argument("--positions", type=int, default=8)
    parser.add_argument("--roi", help="lock on this box X,Y,W,H first (default: keep the server's lock)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for sharp at each position")
    parser.add_argument("--max-coc-share", type=float, default=0.5, help="the blur allowed, as a share of the CoC")
    parser.add_argument("--nudge", type=int, default=0, help="drive steps to try once when a position is not sharp")
    parser.add_argument("--sku", help="name each shot SKU-001, SKU-002 … (a studio session only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    token = open(args.token_file, encoding="ascii").read().strip() if args.token_file else None
    gate = FocusClient(args.url, token=token)
    try:
        if args.roi:
            gate.lock([float(v) for v in args.roi.split(",")])
        skipped = []
        for position in range(args.positions):
            turn_to(position, args.positions)
            outcome = shoot_position(gate, position, args)
            if outcome is None:
                skipped.append(position + 1)
                continue
            logger.info("position %d: %s", position + 1, outcome.get("text") or ", ".join(outcome["files"]))
    except FocusServerError as error:
        logger.error("the server refused: %s", error.message)
        return 1
    if skipped:
        logger.warning("never sharp, not shot: positions %s", skipped)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
