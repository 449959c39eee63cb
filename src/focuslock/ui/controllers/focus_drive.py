"""The focus drive from the window: moves that never pile up, and the count of steps."""

from __future__ import annotations

from concurrent.futures import Future

from PySide6 import QtCore

from focuslock.devices.base import CameraError, NotSupportedError
from focuslock.devices.body_report import Ability, Answer, BodyReport
from focuslock.runtime.live import LiveSession
from focuslock.ui.controllers.threads import UiThread

__all__ = ["FocusDriveController"]


class FocusDriveController(QtCore.QObject):
    """Drives focus and counts where it has driven to (``position_steps``, from where the
    window opened; a calibration sweep, a mark or a stack moves it too).

    Presses coalesce: one move in flight, at most one waiting (the latest press), so that a
    held key never queues moves that run on after its release.
    """

    # The count after a move (steps from where the window opened).
    moved = QtCore.Signal(int)
    # The source cannot drive focus: why, in one sentence.
    unavailable = QtCore.Signal(str)
    # The drive is offered but may not move the lens: why, in one sentence (the body report's).
    doubtful = QtCore.Signal(str)
    # The drive works (a body reconnected that can drive, after one that could not).
    available = QtCore.Signal()
    # A move failed (busy, unplugged): one sentence; the drive stays usable.
    failed = QtCore.Signal(str)

    def __init__(self, session: LiveSession, ui: UiThread, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.ui = ui
        self._position = 0
        self._in_flight: Future | None = None
        self._waiting: int | None = None
        # The drive's calibration (µm a step), read once and again after calibrating; None
        # when there is none (the HUD then takes the step from the rack's blur slope).
        self._step_um: float | None | bool = False
        # Why the source cannot drive focus (the body report's sentence); None while it can.
        self.unavailable_reason: str | None = None

    @property
    def position_steps(self) -> int:
        """Where the drive is, in steps from where the window opened."""
        return self._position

    @property
    def busy(self) -> bool:
        """A move is on its way (or its answer not yet handled on the window's thread)."""
        return self._in_flight is not None

    def drive(self, steps: int) -> None:
        """Move focus ``steps`` (negative: nearer)."""
        # In flight until _done has run on this thread, not merely until the future is
        # done on the worker: a press in between would start a second chain of moves.
        if self.unavailable_reason is not None:
            self.failed.emit(self.unavailable_reason)  # a key pressed anyway: say why again
            return
        if self._in_flight is not None:
            self._waiting = int(steps)  # replaces an earlier waiting press, never adds up
            return
        self._in_flight = self.session.drive_focus(steps)
        self.ui.when_done(self._in_flight, self._done)

    def set_position(self, steps: int) -> None:
        """The drive is at ``steps`` (a sweep, a mark or a stack moved it)."""
        self._position = int(steps)
        self.moved.emit(self._position)

    def use_report(self, report: BodyReport) -> None:
        """What the body report says of the focus drive: the buttons off with its reason
        when it does not work, its doubt on them when unknown."""
        drive = report.of(Ability.FOCUS_DRIVE)
        self.unavailable_reason = None
        if drive.answer is Answer.WORKS:
            self.available.emit()
        elif drive.answer is Answer.DOES_NOT_WORK:
            self.unavailable_reason = drive.reason
            self.unavailable.emit(drive.reason)
        elif drive.answer is Answer.UNKNOWN:
            self.doubtful.emit(drive.reason)

    def step_um(self) -> float | None:
        """µm of focus a drive step moves, from the user's calibration file; None without one."""
        if self._step_um is False:
            from focuslock.optics.lens_limits import OpticsError
            from focuslock.optics.stack import load_drive_calibration
            from focuslock.workflows.calibration_record import user_calibration_path

            try:
                self._step_um = load_drive_calibration(user_calibration_path()).step_um
            except OpticsError:
                self._step_um = None
        return self._step_um

    def set_step_um(self, step_um: float) -> None:
        """The drive was just calibrated: ``step_um`` µm a step."""
        self._step_um = step_um

    def _done(self, future: Future) -> None:
        if future is not self._in_flight:
            return
        self._in_flight = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.drive(waiting)
        try:
            moved = future.result()
        except NotSupportedError as error:
            self.unavailable_reason = error.user_message
            self.unavailable.emit(error.user_message)
            return
        except Exception as error:  # busy, unplugged: say so, keep the drive usable
            self.failed.emit(error.user_message if isinstance(error, CameraError) else f"Focus drive failed: {error}.")
            return
        self.set_position(self._position + moved)
