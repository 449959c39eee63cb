"""Named focus marks: return to where a feature was sharp.

A mark (A, B, … with a name) keeps the feature's box, its look (a template for the
tracker) and its locked reference (the through-focus curve, :mod:`focuslock.focus.parts`),
and the drive's position when it was set. No body reports an absolute focus position, and
a drive loses steps to backlash, so "go to mark" drives to the stored position and then
finds best focus again from the picture: it sweeps upwards through the stored position
(always from below, so the backlash is taken out the same way every time), reads the
feature's blur against the mark's own reference at each step, fits the V of blur against
drive steps (:func:`focuslock.calibrate.fit_sweep`) and settles at its centre, approached
from below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from focuslock.calibrate import ARM_BLUR_COC, MIN_BACKLASH_GUARD_STEPS, CalibrationError, DriveSweep, fit_sweep
from focuslock.camera.base import Camera
from focuslock.focus.engine import extract_view
from focuslock.focus.parts import FeatureReference
from focuslock.pipeline import PipelineSettings

__all__ = ["GoToResult", "Mark", "MarkError", "go_to_mark", "take_mark"]


class MarkError(CalibrationError):
    """One sentence for the user."""


@dataclass
class Mark:
    name: str
    roi_px: tuple[int, int, int, int]
    position_steps: int  # the drive's position (steps, the caller's count) when set
    template: np.ndarray = field(repr=False)  # the feature's grey look, for the tracker
    reference: FeatureReference = field(repr=False)
    coc_px: float = 0.0


@dataclass(frozen=True)
class GoToResult:
    position_steps: int  # where the drive is now (the caller's count)
    best_position_steps: float  # best focus found, approached from below
    blur_px_per_step: float
    moved_from_mark_steps: float  # how far best focus lay from the stored position


def take_mark(camera: Camera, name: str, roi_px, position_steps: int, settings: PipelineSettings | None = None) -> Mark:
    """Lock on the feature in ``roi_px`` where focus is now (it should be sharp) and keep
    what going back needs."""
    sweep = DriveSweep(camera, roi_px, settings, 1, 0, None)
    sweep.lock()
    lock = sweep.results["focus"].lock
    roi = tuple(int(round(v)) for v in sweep.results["focus"].roi_px)
    x, y, w, h = roi
    template = sweep.pipeline.engine.last_grey[y : y + h, x : x + w].copy()
    return Mark(name, roi, int(position_steps), template, lock.reference, lock.coc_px)


class _MarkSweep(DriveSweep):
    """Reads the feature's blur against the mark's reference (tracking it, not locking)."""

    def __init__(self, camera: Camera, mark: Mark, settings: PipelineSettings | None, frames_per_point: int) -> None:
        super().__init__(camera, mark.roi_px, settings, frames_per_point, 1, None)
        self.mark = mark
        first = self.frame()
        height, width = self.pipeline.engine.last_grey.shape
        x, y, w, h = mark.roi_px
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise MarkError(f"Mark {mark.name}'s feature box ({w}×{h} at {x},{y}) lies outside this {width}×{height} "
                            "live view; set the mark again.")
        self.pipeline.engine.restart_tracking_at(mark.template, mark.roi_px[:2], self.settings.focus.tracking)
        self.results = first

    def read_one(self, results: dict) -> tuple[float, bool]:
        focus = results["focus"]
        if focus.roi_px is None or (focus.track is not None and focus.track.lost):
            raise MarkError(f"Mark {self.mark.name}'s feature is out of sight; frame it again and retry.")
        engine = self.pipeline.engine
        view = extract_view(engine.last_grey, tuple(int(round(v)) for v in focus.roi_px), self.mark.reference.margin_px)
        if view is None or view.shape != self._view_shape():
            raise MarkError(f"Mark {self.mark.name}'s feature left the frame.")
        estimate = self.mark.reference.whole.estimate(view, engine.noise.sigma or 1.0)
        return estimate.blur_px, estimate.beyond_range

    def _view_shape(self) -> tuple[int, int]:
        m = self.mark.reference.margin_px
        x, y, w, h = self.mark.roi_px
        return h + 2 * m, w + 2 * m


def go_to_mark(camera: Camera, mark: Mark, position_steps: int, *, blur_px_per_step: float | None = None,
               settings: PipelineSettings | None = None, points_per_arm: int = 10, frames_per_point: int = 2,
               progress: Callable[[str], None] | None = None) -> GoToResult:
    """Drive from ``position_steps`` (the caller's count) back to ``mark`` and find its
    best focus again. ``blur_px_per_step``: from a calibration (else measured here)."""
    sweep = _MarkSweep(camera, mark, settings, frames_per_point)
    sweep.position = int(position_steps)
    coc = mark.coc_px or mark.reference.coc_px
    guard = MIN_BACKLASH_GUARD_STEPS
    sweep.settle_at(mark.position_steps, guard)
    if blur_px_per_step is None:
        # The arm from the mark: doubling probes up until the blur passes the arm's end.
        reach = sweep.probe_arm(ARM_BLUR_COC * coc, 4000)
        blur_px_per_step = ARM_BLUR_COC * coc / max(reach, 1)
    half_width = max(int(math.ceil(ARM_BLUR_COC * coc / blur_px_per_step)), points_per_arm)
    stride = max(1, half_width // points_per_arm)
    guard = max(guard, stride * points_per_arm)
    if progress:
        progress(f"searching ±{stride * points_per_arm} steps around mark {mark.name} in steps of {stride}")
    centre = mark.position_steps
    for _ in range(2):
        points = sweep.sweep(centre - stride * points_per_arm, centre + stride * points_per_arm, stride, guard, +1)
        g, best = fit_sweep(points, coc)
        if abs(best - centre) <= 0.6 * stride * points_per_arm:
            break
        centre = int(round(best))  # best focus lay near the edge of the search: search around it
    # A fine pass around best focus when the first was coarse: within one step.
    if stride > 1:
        fine = max(1, stride // 4)
        span = 3 * stride
        points = sweep.sweep(int(round(best)) - span, int(round(best)) + span, fine, guard, +1)
        # The fine pass sits at the bottom of the V: the parabola of sign·reading² fits it.
        _, best = fit_sweep(points, float("inf"))
    sweep.settle_at(best, guard)
    return GoToResult(sweep.position, best, g, best - mark.position_steps)
