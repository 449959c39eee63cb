"""Marks A and B on the boxed feature, the drive's calibration, and the focus stack from
one mark to the other, from the window."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from PySide6 import QtCore

from focuslock.devices.base import CameraError
from focuslock.runtime.live import LiveSession
from focuslock.ui.controllers.focus_drive import FocusDriveController
from focuslock.ui.controllers.live_view import LiveViewController
from focuslock.ui.controllers.threads import UiThread

__all__ = ["StackController"]

# The lines of the stack's coverage check shown after a stack: gaps, ends not covered,
# what it cannot tell, not moved, redundant, or none; and the CoC the stack reached.
_CHECK_LINES = ("Gap", "No gap", "Not covered", "UNCERTAIN", "Not moved", "Redundant", "Effective CoC")


class StackController(QtCore.QObject):
    """Sets marks (focuslock.workflows.marks.Mark) on the boxed feature, goes back to them,
    calibrates the drive and shoots a stack between the marks into ``folder()``; each job
    runs on the camera's thread (live view waits, as for a capture), one at a time."""

    # What is happening or what came of it, in a sentence or a few lines.
    said = QtCore.Signal(str)
    # A job started (True) or ended (False): only pause and stop work while one runs.
    runningChanged = QtCore.Signal(bool)
    # Mark ``name`` was set: its name and where (text).
    markSet = QtCore.Signal(str, str)

    def __init__(self, session: LiveSession, live: LiveViewController, drive: FocusDriveController, ui: UiThread,
                 folder: Callable[[], Path], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.live = live
        self.drive = drive
        self.ui = ui
        self.folder = folder
        # Measure every drive step on live view before its frame (the stack panel's check box).
        self.check_steps = False
        self.marks: dict = {}
        self.job: Future | None = None
        self._pause = threading.Event()
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        """A mark, a calibration or a stack is under way."""
        return self.job is not None and not self.job.done()

    def set_check_steps(self, on: bool) -> None:
        """Measure every drive step of the next stacks on live view (or not)."""
        self.check_steps = bool(on)

    def set_paused(self, paused: bool) -> None:
        """Pause a stack before its next frame, or go on."""
        if paused:
            self._pause.set()
        else:
            self._pause.clear()

    def stop(self) -> None:
        """Stop a stack after the frame being captured (every frame shot is kept)."""
        self._stop.set()

    def stop_for_closing(self) -> Future | None:
        """Stop (and unpause) a running stack; the job to wait for, None when none runs."""
        if not self.running:
            return None
        self._stop.set()
        self._pause.clear()
        return self.job

    def _run(self, command, label: str, done: Callable[[object], None]) -> None:
        """Run ``command`` on the camera's thread; busy until ``done`` has taken its
        result, and what went wrong said."""
        from focuslock.workflows.drive_sweep import CalibrationError
        from focuslock.workflows.stack_shoot import StackShootError

        self.runningChanged.emit(True)
        self.job = self.session.submit(command, label=label)

        def finished(future: Future) -> None:
            try:
                done(future.result())
            except (CalibrationError, StackShootError) as error:
                self.said.emit(str(error))
            except Exception as error:  # a camera failure: one sentence, the panel usable again
                self.said.emit(error.user_message if isinstance(error, CameraError) else f"{label} failed: {error}.")
            finally:
                # After ``done``: a mark it added enables its Go and Shoot buttons.
                self.runningChanged.emit(False)

        self.ui.when_done(self.job, finished)

    def set_mark(self, name: str) -> None:
        """Mark the boxed feature, sharp now, at the drive's present count."""
        from focuslock.workflows.marks import take_mark

        roi = self.live.box_now()
        if roi is None:
            self.said.emit(f"Drag a box around the detail to mark, focus on it, then Set {name}.")
            return
        position, settings = self.drive.position_steps, self.live.settings
        self.said.emit(f"setting mark {name}…")

        def done(mark) -> None:
            self.marks[name] = mark
            self.markSet.emit(name, _where(mark))
            if len(self.marks) == 2:
                where = "  ".join(f"{n}: {_where(m)}" for n, m in sorted(self.marks.items()))
                self.said.emit(where + "\n" + self.marks_apart())

        self._run(lambda camera: take_mark(camera, name, roi, position, settings), f"setting mark {name}", done)

    def calibrate_drive(self) -> None:
        """Measure the focus drive on the boxed feature (sharp now) and keep the record in
        the user's calibration file, as `focuslock calibrate focus-steps` does."""
        from focuslock.workflows.calibrate import calibrate_focus_steps
        from focuslock.workflows.calibration_record import save_record, user_calibration_path

        roi = self.live.box_now()
        if roi is None:
            self.said.emit("Drag a box around a detailed feature, focus on it, then Calibrate drive.")
            return
        settings, start = self.live.settings, self.drive.position_steps
        path = user_calibration_path()
        self.said.emit("calibrating: sweeping the drive through the feature, up and down…")

        def command(camera):
            result = calibrate_focus_steps(camera, roi, settings=settings)
            save_record(path, result.record(camera.name, ""))
            return result

        def done(result) -> None:
            # The sweep leaves the lens at the feature's best focus, approached from below.
            self.drive.set_step_um(result.step_um)
            self.drive.set_position(start + int(round(result.best_position_steps)))
            self.said.emit(f"one drive step moves focus {result.step_um:.1f} µm; backlash {result.backlash_steps:.1f} "
                           f"steps — saved to {path.name}")

        self._run(command, "calibrating the drive", done)

    def marks_apart(self) -> str:
        """How far apart the marks lie, in mm at the subject (drive steps × the drive
        calibration), and which aperture's depth of field covers both."""
        from focuslock.optics.dof import describe_coverage, describe_depth
        from focuslock.optics.lens_limits import OpticsError
        from focuslock.optics.stack import load_drive_calibration
        from focuslock.workflows.calibration_record import user_calibration_path

        steps = abs(self.marks["B"].position_steps - self.marks["A"].position_steps)
        analysis = self.live.last_analysis
        optics = analysis.result.optics if analysis is not None and analysis.result is not None else None
        try:
            step_um = load_drive_calibration(user_calibration_path(), camera=self.marks["A"].camera or None).step_um
        except OpticsError:
            return f"A and B lie {steps} drive steps apart; calibrate the drive (focuslock calibrate focus-steps) for mm."
        depth_mm = steps * step_um / 1000.0
        text = f"A and B lie {describe_depth(depth_mm)} apart ({steps} steps at {step_um:g} µm)"
        if optics is None:
            return text + "."
        return f"{text}: {describe_coverage(depth_mm, optics)}."

    def go_to_mark(self, name: str) -> None:
        """Drive back to mark ``name`` and find its best focus again from the picture."""
        from focuslock.workflows.marks import go_to_mark

        mark = self.marks.get(name)
        if mark is None:
            return
        position, settings = self.drive.position_steps, self.live.settings
        self.said.emit(f"going to mark {name}: driving there and finding best focus…")

        def done(result) -> None:
            self.drive.set_position(result.position_steps)
            self.said.emit(f"at mark {name}: best focus {result.moved_from_mark_steps:+.1f} steps from where it was set")

        self._run(lambda camera: go_to_mark(camera, mark, position, settings=settings), f"going to mark {name}", done)

    def shoot_stack(self) -> None:
        """A focus stack from mark A to mark B (nearer first) into the capture folder,
        then its coverage check."""
        from focuslock.io.outputs import OutputError, claim_run_folder
        from focuslock.optics.lens_limits import OpticsError
        from focuslock.optics.stack import load_drive_calibration
        from focuslock.workflows.calibration_record import user_calibration_path
        from focuslock.workflows.closed_loop import check_lines, shoot_checked_between_marks
        from focuslock.workflows.marks import DriveCounter
        from focuslock.workflows.stack_check import StackCheckError, report_lines
        from focuslock.workflows.stack_shoot import StackShootError, check_shot, shoot_between_marks

        if set(self.marks) != {"A", "B"}:
            return
        first, second = self.marks["A"], self.marks["B"]
        position, settings, check_steps = self.drive.position_steps, self.live.settings, self.check_steps
        # The coverage check afterwards judges at the optics' CoC live view reports now
        # (the stack itself plans from a fresh frame's optics).
        analysis = self.live.last_analysis
        optics = analysis.result.optics if analysis is not None and analysis.result is not None else None
        sensor_width_mm = analysis.frame.info.sensor_width_mm if optics is not None and analysis is not None else None
        try:  # two stacks started within one second get two folders
            folder = claim_run_folder(self.folder() / time.strftime("stack-%Y%m%d-%H%M%S"))
        except OutputError as error:
            self.said.emit(str(error))
            return
        self._stop.clear()
        self._pause.clear()

        def progress(index: int, count: int, files) -> None:
            text = f"frame {index + 1} of {count}: {files[0].name if files else '—'}"
            self.ui.call(lambda: self.said.emit(text))

        def command(camera):
            counter = DriveCounter(camera, position)
            try:
                step_um = load_drive_calibration(user_calibration_path(), camera=camera.name).step_um
            except OpticsError as error:
                raise StackShootError(f"{error} Measure the drive first: focuslock calibrate focus-steps.") from None
            if check_steps:
                shot = shoot_checked_between_marks(counter, first, second, position, step_um, folder, settings=settings,
                                                   progress=progress, should_stop=self._stop.is_set,
                                                   should_pause=self._pause.is_set)
            else:
                shot, _ = shoot_between_marks(counter, first, second, position, step_um, folder, settings=settings,
                                              progress=progress, should_stop=self._stop.is_set,
                                              should_pause=self._pause.is_set)
            report = []
            if len(shot.all_files) >= 2:
                try:
                    report = report_lines(check_shot(shot, optics, sensor_width_mm)[0])
                except StackCheckError as error:
                    report = [f"stack-check: {error}"]
            return shot, counter.position_steps, report

        def done(outcome) -> None:
            shot, position_steps, report = outcome
            self.drive.set_position(position_steps)
            head = f"{len(shot.all_files)} frame(s) in {shot.folder.name}"
            if shot.stopped:
                head += f" — stopped: {shot.stopped}"
            # Each step as planned and as measured on live view (a checked stack), then the check.
            self.said.emit("\n".join([head, *check_lines(shot), *[line for line in report if line.startswith(_CHECK_LINES)]]))

        self.said.emit("going back to the nearer mark…")
        self._run(command, "the focus stack", done)


    def spin_turntable(self, profile: str, steps: int) -> None:
        """Turn the turntable of ``profile`` through ``steps`` angles, the boxed feature
        (sharp now) found, refocused and captured at each (:func:`focuslock.workflows.spin.spin`)."""
        from focuslock.devices.rails.base import Axis, MotionError
        from focuslock.io.outputs import OutputError, claim_run_folder
        from focuslock.workflows.spin import SpinError, spin
        from focuslock.workflows.stack_shoot import StackShootError
        from focuslock.workflows.stages import open_profile_stage

        roi = self.live.box_now()
        analysis = self.live.last_analysis
        optics = analysis.result.optics if analysis is not None and analysis.result is not None else None
        if roi is None or optics is None:
            self.said.emit("Drag a box around the feature that must be sharp, focus on it, then Spin "
                           "(the optics must be known: a lens and a body).")
            return
        try:
            folder = claim_run_folder(self.folder() / time.strftime("spin-%Y%m%d-%H%M%S"))
        except OutputError as error:
            self.said.emit(str(error))
            return
        self._stop.clear()

        def progress(angle) -> None:
            text = (f"{angle.angle_deg:.1f}°: {angle.verdict.upper()}" + (" after refocusing" if angle.refocused else "")
                    + (f" — {angle.reason}" if angle.reason else ""))
            self.ui.call(lambda: self.said.emit(text))

        def command(camera):
            try:
                _, stage = open_profile_stage(profile, camera, Axis.TURNTABLE)
                try:
                    return spin(camera, stage, roi, steps, folder, optics=optics, progress=progress,
                                should_stop=self._stop.is_set)
                finally:
                    stage.close()
            except (MotionError, SpinError) as error:
                raise StackShootError(error.user_message) from None

        def done(result) -> None:
            self.drive.set_position(self.drive.position_steps + result.lens_steps)
            head = f"{result.sharp} of {len(result.angles)} angles SHARP; frames in {result.folder.name}"
            not_sharp = [f"{a.angle_deg:.1f}°: {a.verdict} — {a.reason}" for a in result.angles if a.verdict != "sharp"]
            self.said.emit("\n".join([head + (f" — stopped: {result.stopped}" if result.stopped else ""), *not_sharp]))

        self.said.emit(f"spinning {profile} through {steps} angles…")
        self._run(command, "the spin", done)


def _where(mark) -> str:
    return f"drive step {mark.position_steps:+d}"
