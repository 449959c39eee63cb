"""``focuslock spin``: a turntable turned in ``steps`` equal angles, the locked feature
sharp at every one before its frame is taken.

At each angle: turn (always the same way: the table's backlash is taken up once) → wait
until live view stops changing (:meth:`StepWatch.settle`) → find the feature again (the
tracker, from its look at the lock, :class:`~focuslock.focus.track.FeatureTracker`,
which widens its search while the feature is lost: a feature carried out of its box is
found where it went) → judge it against the lock's reference (:mod:`focuslock.focus.judge`)
→ when it is not SHARP, refocus by the lens (:func:`~focuslock.workflows.marks.go_to_mark`
from the last angle's best focus) and judge again → capture, named by the angle (with a
session: through the session's log, which judges and records every shot). An angle whose
feature cannot be found, or will not come sharp, is said so in one sentence; the spin goes
on to the next angle and nothing shot is lost.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.devices.base import Camera, CameraError
from focuslock.devices.rails.base import MotionError, Stage
from focuslock.focus.feature import extract_view
from focuslock.focus.judge import FocusState, LockSettings, judge_estimate
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.track import FeatureTracker
from focuslock.optics.dof import DofResult
from focuslock.workflows.drive_sweep import CalibrationError
from focuslock.workflows.marks import DriveCounter, Mark, go_to_mark, take_mark
from focuslock.workflows.step_check import StepWatch

__all__ = ["AngleResult", "SpinError", "SpinResult", "spin"]

logger = logging.getLogger(__name__)

# Live-view frames the tracker may look at for a feature it lost before the angle is given up.
_FIND_FRAMES = 8
# Live-view frames averaged for a verdict.
_JUDGE_FRAMES = 4


class SpinError(FocuslockError):
    """One sentence for the user."""


@dataclass(frozen=True)
class AngleResult:
    """One angle: where the feature was found, its verdict after any refocus, the files."""

    index: int
    angle_deg: float
    found: bool
    box_px: tuple[int, int, int, int] | None
    verdict: str  # sharp, softening, soft, uncertain, or "not found"
    blur_px: float | None
    refocused: bool
    files: tuple[Path, ...] = ()
    reason: str = ""

    def fields(self) -> dict:
        return {"index": self.index, "angle_deg": round(self.angle_deg, 3), "found": self.found,
                "box_px": list(self.box_px) if self.box_px else None, "verdict": self.verdict,
                "blur_px": None if self.blur_px is None else round(self.blur_px, 3), "refocused": self.refocused,
                "files": [p.name for p in self.files], **({"reason": self.reason} if self.reason else {})}


@dataclass
class SpinResult:
    """The spin as shot: every angle's result, and why it stopped early when it did."""

    folder: Path
    angles: list[AngleResult]
    stopped: str | None = None
    lens_steps: int = 0  # how far refocusing moved the lens's drive, in all (steps)

    @property
    def sharp(self) -> int:
        return sum(a.verdict == FocusState.SHARP.value for a in self.angles)


def spin(camera: Camera, table: Stage, roi_px: tuple[int, int, int, int], steps: int, folder: Path, *,
         optics: DofResult, settle_timeout_s: float = 5.0,
         take: Callable[[Camera, Path, str], list[Path]] | None = None,
         progress: Callable[[AngleResult], None] | None = None,
         should_stop: Callable[[], bool] | None = None) -> SpinResult:
    """Turn ``table`` through ``steps`` equal angles; at each, the feature in ``roi_px``
    (sharp now: it is locked here) found, refocused when not SHARP, and captured.
    ``take(camera, folder, stem)`` captures (default: the camera's capture, the files named
    ``stem``); a session passes its log's."""
    if not 1 <= steps <= 3600:
        raise SpinError(f"A spin takes 1 to 3600 angles, not {steps}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mark = take_mark(camera, "spin", roi_px, 0)
    except (CalibrationError, CameraError) as error:
        raise SpinError(f"The feature could not be locked before the spin: {getattr(error, 'user_message', error)}") from None
    watch = StepWatch(camera, dof_um=optics.planning_dof_mm() * 1000.0, coc_mm=optics.coc_mm,
                      settle_timeout_s=settle_timeout_s)
    take = take or _capture_named
    result = SpinResult(folder, [])
    counted = DriveCounter(camera)  # the lens's count, kept whatever a refocus does
    best, gradient = 0, None
    step_deg = 360.0 / steps
    try:
        for index in range(steps):
            if should_stop is not None and should_stop():
                result.stopped = "stopped by the user"
                break
            if index:
                table.move(step_deg)
            watch.settle()
            angle = index * step_deg
            box = _find(camera, mark)
            if box is None:
                outcome = AngleResult(index, angle, False, None, "not found", None, False,
                                      reason="the feature could not be found in live view at this angle")
            else:
                mark = dataclasses.replace(mark, roi_px=box, position_steps=best)
                state, blur = _judge(camera, mark)
                refocused, reason = False, ""
                if state is not FocusState.SHARP:
                    try:
                        arrived = go_to_mark(counted, mark, counted.position_steps, blur_px_per_step=gradient,
                                             points_per_arm=6, frames_per_point=1)
                    except CalibrationError as error:  # the sweep could not find best focus here
                        reason = "refocusing failed: " + error.user_message.rstrip(".")
                    else:
                        best, gradient = int(round(arrived.best_position_steps)), arrived.blur_px_per_step
                        refocused = True
                    box = _find(camera, mark) or box
                    mark = dataclasses.replace(mark, roi_px=box, position_steps=best)
                    state, blur = _judge(camera, mark)
                stem = f"spin_{index + 1:03d}_{angle:05.1f}deg"
                files = tuple(take(camera, folder, stem))
                if state is not FocusState.SHARP and not reason:
                    reason = state.value + " after refocusing"
                outcome = AngleResult(index, angle, True, box, state.value, blur, refocused, files, reason)
            result.angles.append(outcome)
            if progress is not None:
                progress(outcome)
        if result.stopped is None and len(result.angles) == steps:
            table.move(step_deg)  # the turn completed: the table back where it started
    except MotionError as error:
        result.stopped = error.user_message
    except (CalibrationError, CameraError) as error:
        result.stopped = getattr(error, "user_message", None) or str(error)
    result.lens_steps = counted.position_steps
    return result


def _grey(camera: Camera):
    return cv2.cvtColor(camera.read_frame().image, cv2.COLOR_RGB2GRAY)


def _find(camera: Camera, mark: Mark) -> tuple[int, int, int, int] | None:
    """The feature's box in live view now, from its look at the lock and its last place."""
    tracker = FeatureTracker.from_template(mark.template, (float(mark.roi_px[0]), float(mark.roi_px[1])))
    for _ in range(_FIND_FRAMES):
        found = tracker.update(_grey(camera).astype("float32"))
        if not found.lost:
            return found.roi_int
    return None


def _judge(camera: Camera, mark: Mark) -> tuple[FocusState, float | None]:
    """The feature's verdict against the lock's reference, on the mean of a few fresh
    frames (the lock's reference is built on several: one frame's noise alone leaves a
    sharp feature UNCERTAIN)."""
    greys = [_grey(camera).astype("float32") for _ in range(_JUDGE_FRAMES)]
    views = [extract_view(grey, mark.roi_px, mark.reference.margin_px) for grey in greys]
    present = [v for v in views if v is not None]
    if len(present) < len(views):
        return FocusState.UNCERTAIN, None
    view = np.mean(np.stack(present), axis=0)
    sigma = single_frame_noise_sigma(greys[0].astype("uint8")) / len(views) ** 0.5
    estimate = mark.reference.whole_estimate(view, sigma)
    state, why = judge_estimate(estimate, LockSettings(coc_px=mark.coc_px or mark.reference.coc_px))
    logger.info("feature at %s: %s (%s), blur %.2f px", mark.roi_px, state.value, why, estimate.blur_px)
    return state, float(estimate.blur_px)


def _capture_named(camera: Camera, folder: Path, stem: str) -> list[Path]:
    return camera.capture(folder, lambda card: stem + Path(card).suffix.lower())
