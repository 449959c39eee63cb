"""Shared fixtures: no test may leave a thread running; real focus stacks shipped in tests/data."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Two real MIT-licensed macro focus stacks (the focus-stack project's), reduced to half size
# (1024×768, JPEG 85) so that they ship with the tests (LICENSE.md beside them).
REDUCED_STACKS = PROJECT_ROOT / "tests" / "data" / "focus-stacks"
# The originals' size: tests name regions in its coordinates.
STACK_SIZE_PX = (2048, 1536)

# libgphoto2's virtual camera (docs/GUIDE.md, section 5): switched on by VCAMERADIR, read when
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


@pytest.fixture(scope="session")
def focus_stacks(tmp_path_factory) -> Path:
    """The real macro focus stacks, brought back to the originals' 2048×1536 (cubic) from
    the reduced copies in tests/data, so that every checkout runs the same tests with no
    originals beside it. Half the originals' resolution: fine detail is the reduced
    copies', coordinates are the originals'."""
    import cv2

    root = tmp_path_factory.mktemp("focus-stacks")
    for stack in ("pcb", "switch"):
        (root / stack).mkdir()
        for source in sorted((REDUCED_STACKS / stack).iterdir()):
            image = cv2.resize(cv2.imread(str(source)), STACK_SIZE_PX, interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(root / stack / source.name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return root


# The longest tests (tens of seconds each) go first, so that with `pytest -n` no worker
# is left running one of them alone at the end while the other waits.
RUN_FIRST = (
    "tests/test_watch.py::test_a_thousand_files_keep_memory_flat",
    "tests/test_stack_end_to_end.py",
    "tests/test_guide.py::test_a_section_of_the_guide_runs_as_written[2. A macro stack]",
    "tests/camera/test_gphoto.py::test_a_capture_killed_at_random_moments",
    "tests/test_watch.py::test_a_watcher_killed_at_random_points",
    "tests/ui/test_main_window.py::test_marks_and_a_stack_from_the_panel_with_stop",
    "tests/test_marks.py::test_the_mark_commands_set_marks_and_stack_shoot_runs_between_them",
    "tests/test_several_features.py",
    "tests/test_calibrate.py",
    "tests/camera/test_gphoto.py::test_the_card_fills",
    "tests/test_bench_script.py::test_the_focus_truth_script",
    "tests/focus/test_lock.py::test_a_still_scene_at_high_iso",
    "tests/session/test_shot_check.py",
    "tests/test_watch.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(RUN_FIRST) if item.nodeid.startswith(prefix)), len(RUN_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order
