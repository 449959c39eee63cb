"""Shared fixtures: no test may leave a thread running; real data from ../shared."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FOCUS_STACKS = SHARED_DATA / "focus-stacks"


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test():
    """Fail any test that leaves a thread of its own running (sessions must stop)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while True:
        leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leftover, f"threads left running: {[t.name for t in leftover]}"


@pytest.fixture
def focus_stacks() -> Path:
    """The real macro focus stacks in ../shared/data/focus-stacks (skip where absent)."""
    if not FOCUS_STACKS.is_dir():
        pytest.skip("../shared/data/focus-stacks is not beside this checkout")
    return FOCUS_STACKS
