"""Shared fixtures: no test may leave a thread running; real data from ../shared."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FOCUS_STACKS = SHARED_DATA / "focus-stacks"

# libgphoto2's virtual camera (FIELD-NOTES.md): switched on by VCAMERADIR, read when
# the gphoto2 package is first imported, so set here before any test imports it. Its
# driver settings persist under HOME, so HOME points at a throw-away folder too.
_SANDBOX = Path(tempfile.mkdtemp(prefix="focuslock-tests-"))
VIRTUAL_CAMERA_DIR = _SANDBOX / "vcamera"
VIRTUAL_CAMERA_JPEG = VIRTUAL_CAMERA_DIR / "source.jpg"


def _make_virtual_camera_folder() -> None:
    import cv2
    import numpy as np

    VIRTUAL_CAMERA_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    picture = cv2.resize(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC)
    cv2.putText(picture, "focuslock", (60, 250), cv2.FONT_HERSHEY_SIMPLEX, 2.5, (255, 255, 255), 5)
    cv2.imwrite(str(VIRTUAL_CAMERA_JPEG), picture, [cv2.IMWRITE_JPEG_QUALITY, 92])


_make_virtual_camera_folder()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["VCAMERADIR"] = str(VIRTUAL_CAMERA_DIR)
os.environ["HOME"] = str(_SANDBOX / "home")
os.environ["XDG_CONFIG_HOME"] = str(_SANDBOX / "home" / ".config")


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
