"""The QC page's tests: shots land on a real hub through ``focuslock.testing.hub_shots``
(the station sync's own statements), with previews from the repository's pcb stack."""

from __future__ import annotations

import time
from pathlib import Path

from focuslock.testing import hub_shots
from focuslock.testing.hub_shots import shot_list

__all__ = ["land_shot", "shot_list", "wait_for"]

STACK = Path(__file__).resolve().parents[1] / "data" / "focus-stacks" / "pcb"


def land_shot(url: str, station_name: str, sequence: int, name: str, sku: str | None, verdict: str,
              reason: str | None = None, picture: str = "pcb_004.jpg", session: str = "morning") -> None:
    """One shot with previews of the pcb stack's ``picture``."""
    hub_shots.land_shot(url, station_name, sequence, name, sku, verdict, reason, STACK / picture, session)


def wait_for(predicate, timeout_s: float = 30.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not come within {timeout_s} s")
