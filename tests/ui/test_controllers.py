"""The window's controllers on their own (no window): driven by their public methods,
watched through their signals."""

from __future__ import annotations

from concurrent.futures import Future

from PySide6 import QtCore

from focuslock.devices.base import NotSupportedError
from focuslock.ui.controllers import FocusDriveController, UiThread
from focuslock.ui.controllers.threads import wait_before_closing


class MotorSession:
    """FAKE session: only the focus drive, whose moves finish when the test says."""

    def __init__(self) -> None:
        self.moves: list[tuple[int, Future]] = []

    def drive_focus(self, steps: int) -> Future:
        future: Future = Future()
        self.moves.append((steps, future))
        return future


def test_presses_while_a_move_runs_coalesce_into_the_latest_one(qtbot):
    session = MotorSession()
    drive = FocusDriveController(session, UiThread())
    moved, unavailable = [], []
    drive.moved.connect(moved.append)
    drive.unavailable.connect(unavailable.append)
    drive.drive(3)
    for steps in (1, 1, -5):  # pressed while the first move runs: only the last waits
        drive.drive(steps)
    assert [s for s, _ in session.moves] == [3] and drive.busy
    session.moves[0][1].set_result(3)
    qtbot.waitUntil(lambda: len(session.moves) == 2)
    assert session.moves[1][0] == -5 and moved == [3] and drive.position_steps == 3
    session.moves[1][1].set_result(-5)
    qtbot.waitUntil(lambda: not drive.busy)
    assert moved == [3, -2] and drive.position_steps == -2
    # A source that cannot drive says so once, in its own words.
    drive.drive(1)
    session.moves[2][1].set_exception(NotSupportedError("This camera cannot drive focus."))
    qtbot.waitUntil(lambda: unavailable != [])
    assert drive.position_steps == -2 and not drive.busy
    drive.set_position(40)  # a sweep or a stack moved it
    assert moved[-1] == 40 and drive.position_steps == 40


def test_closing_waits_for_what_runs_and_says_how_it_ended(qtbot):
    said = []
    assert wait_before_closing(None, "the capture", 1.0, said.append) is None
    done: Future = Future()
    done.set_result(None)
    assert wait_before_closing(done, "the capture", 1.0, said.append) is None and said == []
    failing: Future = Future()
    QtCore.QTimer.singleShot(100, lambda: failing.set_exception(OSError("the card is full")))  # while it waits
    assert wait_before_closing(failing, "the capture", 5.0, said.append) == \
        "The capture running at closing failed: the card is full"
    assert said == ["Waiting for the capture to finish downloading before closing…"]
    endless: Future = Future()
    note = wait_before_closing(endless, "the focus stack", 0.2, said.append)
    assert note.startswith("Closed after waiting 0 s for the focus stack, which did not finish")



def test_the_drive_follows_the_body_report_of_each_body_connected(qtbot, tmp_path):
    """A source that cannot drive (a folder's report), then one that can (the bench's, as
    after a reconnect): the drive refuses with the first's reason, then moves again."""
    from focuslock.devices.body_report import Ability
    from focuslock.devices.folder import FolderCamera
    from focuslock.simulators.sim import SimulatedBench
    from focuslock.workflows.body_reports import report_source
    from tests.camera.test_contract import write_folder

    session = MotorSession()
    drive = FocusDriveController(session, UiThread())
    unavailable, available, failed = [], [], []
    drive.unavailable.connect(unavailable.append)
    drive.available.connect(lambda: available.append(True))
    drive.failed.connect(failed.append)
    folder_report = report_source(FolderCamera(write_folder(tmp_path / "f"), loop=True))
    drive.use_report(folder_report)
    why = folder_report.of(Ability.FOCUS_DRIVE).reason
    assert unavailable == [why]
    drive.drive(1)
    assert session.moves == [] and failed == [why]  # said again, nothing sent to the camera
    drive.use_report(report_source(SimulatedBench()))
    assert available == [True]
    drive.drive(1)
    assert [s for s, _ in session.moves] == [1]
