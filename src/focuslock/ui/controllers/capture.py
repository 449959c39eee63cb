"""Captures from the window: downloaded, checked against the lock (or judged by a studio
session's log), and laid out for review."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore

from focuslock.devices.base import CameraError
from focuslock.devices.body_report import Ability, Answer, BodyReport
from focuslock.runtime.live import LiveSession
from focuslock.session.checks import check_and_review, review_of_checks
from focuslock.session.review import ShotReview
from focuslock.ui.controllers.live_view import LiveViewController
from focuslock.ui.controllers.threads import UiThread

__all__ = ["CaptureController", "CaptureOutcome"]

# A studio verdict shown in the colour of the lock's state that means the same.
_VERDICT_STATES = {"pass": "sharp", "drift": "softening"}


@dataclass
class CaptureOutcome:
    """What one capture gave the window: its files, the lock's checks of them or the
    session's logged shot, the review to show, and the CoC in the file's pixels."""

    paths: list
    checks: list
    shot: dict | None
    review: ShotReview | None
    coc_px_in_file: float | None = None


class CaptureController(QtCore.QObject):
    """Takes a picture with the camera into ``folder`` (or a studio session's ``shot_log``:
    focuslock.workflows.watch.CaptureLog) and checks its focus on the camera's thread."""

    # The capture has been asked for (the panel is busy until ``finished``).
    started = QtCore.Signal()
    # What to tell the user, and the state whose colour it is shown in (None: neutral).
    finished = QtCore.Signal(str, object)
    # The capture laid out for review at 100 % (focuslock.session.review.ShotReview).
    reviewReady = QtCore.Signal(object)
    # Whether the source can capture in live view, and why not (the body report's sentence;
    # when unknown: the button stays on, the doubt in its tooltip).
    available = QtCore.Signal(bool, str)

    def __init__(self, session: LiveSession, live: LiveViewController, ui: UiThread, folder: Path, shot_log=None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.live = live
        self.ui = ui
        self.folder = Path(folder)
        self.shot_log = shot_log
        # The last capture the lock checked (its file, box and CoC): a recipe's reference.
        self.last_capture: CaptureOutcome | None = None
        self.in_flight: Future | None = None

    def use_report(self, report: BodyReport) -> None:
        capture = report.of(Ability.CAPTURE_IN_LIVE_VIEW)
        self.available.emit(capture.answer is not Answer.DOES_NOT_WORK, capture.reason)

    def capture(self) -> Future:
        """Capture and download; the focus check (or the session's judgement) follows on
        the camera's thread, and ``finished`` says what came of it."""
        self.started.emit()
        analysis = self.live.last_analysis
        status = self.live.focus_status()
        frame_size = (analysis.frame.width_px, analysis.frame.height_px) if analysis is not None else None
        lock = status.lock if status is not None else None
        roi = status.roi_px if status is not None else None
        # The lock's reference as published with the frame shown now, taken here on the
        # window's thread (see focuslock.focus.lock.LockStatus.reference).
        reference = lock.reference if lock is not None else None
        folder = self.folder
        shot_log = self.shot_log
        sku = shot_log.sku if shot_log is not None else None

        def command(camera) -> CaptureOutcome:
            # The focus check runs here, on the acquisition thread: live view pauses for
            # a capture on a real body anyway, and the window's thread stays free.
            if shot_log is not None:
                # A studio session: saved under the recipe's names, judged against the
                # recipe, logged (as `capture --session` and the hot folder do), and laid
                # out for review from the picture judged.
                shot = shot_log.take(camera, folder, sku=sku)
                shot_path = Path(shot["path"])
                paths = [shot_path, *(shot_path.parent / name for name in shot["companions"])]
                return CaptureOutcome(paths, [], shot, shot_log.review(shot))
            paths = camera.capture(folder)
            checks: list = []
            coc_px_in_file = None
            if reference is not None and roi is not None and frame_size is not None:
                checks, review = check_and_review(paths, frame_size, roi, reference)
                judged = next((c.box_px for c in checks if c.box_px is not None), None)
                if judged is not None:  # the CoC in the file's pixels: for a recipe made from it
                    coc_px_in_file = reference.coc_px * judged[2] / roi[2]
            else:
                review = review_of_checks(paths, checks)
            return CaptureOutcome(paths, checks, None, review, coc_px_in_file)

        self.in_flight = self.session.submit(command, label="capture")
        self.ui.when_done(self.in_flight, self._done)
        return self.in_flight

    def _done(self, future: Future) -> None:
        try:
            outcome = future.result()
        except Exception as error:  # any failure: one sentence, and the panel usable again
            message = error.user_message if isinstance(error, CameraError) else f"The capture failed: {error}."
            saved = getattr(error, "saved_paths", [])
            if saved:
                message += "\n" + "\n".join(f"{p.name}: saved before the failure" for p in saved)
            self.finished.emit(message, "soft")
            return
        if outcome.coc_px_in_file is not None:
            self.last_capture = outcome
        if outcome.review is not None:
            self.reviewReady.emit(outcome.review)
        if outcome.shot is not None:
            verdict = outcome.shot["verdict"]
            self.finished.emit(outcome.shot["text"], _VERDICT_STATES.get(verdict, verdict))
        elif outcome.checks:
            worst = max(outcome.checks, key=lambda c: c.blur_px if c.blur_px is not None else -1e9)
            self.finished.emit("\n".join(c.message for c in outcome.checks), worst.state)
        else:
            self.finished.emit("\n".join(f"{p.name}: saved (lock a feature to have captures checked)" for p in outcome.paths),
                               None)
