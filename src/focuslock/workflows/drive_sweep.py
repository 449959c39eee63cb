"""Driving the focus in steps and reading the locked feature's blur at each position,
through the same :class:`~focuslock.runtime.pipeline.FramePipeline` as live view: what
the focus-step calibration (:mod:`focuslock.workflows.calibrate`) and the marks
(:mod:`focuslock.workflows.marks`) sweep with."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.devices.base import Camera, CorruptFrameError
from focuslock.focus.feature import extract_view
from focuslock.focus.parts import FeatureReference, grid_regions
from focuslock.runtime.pipeline import FramePipeline, FrameResult, PipelineSettings

__all__ = ["ARM_BLUR_COC", "MIN_BACKLASH_GUARD_STEPS", "CalibrationError", "DriveSweep", "SweepPoint"]

# The lock calibrates its reference on this many still frames first.
_LOCK_FRAMES = 8
# The sweep reaches this blur (in CoC) on each side of best focus: far enough for the
# V's arms, within the estimator's curve (4 CoC).
ARM_BLUR_COC = 3.0
# Each sweep starts this many steps (at least) beyond its range, so that the backlash of
# a change of direction is taken out before the first reading.
MIN_BACKLASH_GUARD_STEPS = 32
# A part of the calibration's grid is at least this long a side: smaller than the lock's
# parts (a sweep averages dozens of readings; a 43 px box on the tilted coin must split).
_MIN_GRID_PART_PX = 12


class CalibrationError(FocuslockError):
    """One sentence for the user."""


@dataclass(frozen=True)
class SweepPoint:
    """One reading of a sweep: the feature's blur at a drive position, and the way the drive came."""

    position_steps: int
    blur_px: float
    direction: int  # +1 sweeping up (farther), −1 down
    # The blur of each part of the box's calibration grid (None: not read there).
    part_blur_px: tuple[float | None, ...] = ()


class DriveSweep:
    """Drives a camera's focus in steps and reads the feature's blur at each position,
    through the live pipeline. ``position``: drive steps from where it started."""

    def __init__(self, camera: Camera, roi_px, settings: PipelineSettings | None, frames_per_point: int,
                 settle_frames: int, progress: Callable[[str], None] | None) -> None:
        self.camera = camera
        self.pipeline = FramePipeline()
        settings = settings or PipelineSettings()
        x, y, w, h = (int(v) for v in roi_px)
        self.settings = settings.with_focus(settings.focus.follow((x, y, w, h)))
        self.frames_per_point = frames_per_point
        self.settle_frames = settle_frames
        self.progress = progress
        self.position = 0  # drive steps from where the calibration started
        # The last locked frame's result (set by :meth:`lock`).
        self.result: FrameResult | None = None
        # The box read as a grid of small parts, each against its own curve (built by
        # :meth:`read_in_parts`); None: the whole box only.
        self.grid: FeatureReference | None = None
        self.live_view_zoom = 1.0  # of the last frame read
        self.lock_views: list[np.ndarray] = []

    def frame(self) -> FrameResult:
        for _ in range(5):
            try:
                frame = self.camera.read_frame()
                self.live_view_zoom = float(frame.info.live_view_zoom or 1.0)
                return self.pipeline(frame, self.settings)
            except CorruptFrameError:
                continue
        raise CalibrationError("Live view keeps delivering damaged frames; the calibration stopped.")

    def lock(self) -> None:
        self.frame()
        self.settings = self.settings.with_focus(self.settings.focus.with_lock())
        self.lock_views = []
        for _ in range(_LOCK_FRAMES):
            self.result = result = self.frame()
            view = self._feature_view(result)
            if view is not None:
                self.lock_views.append(view)
        lock = result.focus.lock
        if lock is None:
            raise CalibrationError("The feature could not be locked: choose a box inside the frame.")
        if lock.warning and "too little" in lock.warning.lower():
            raise CalibrationError("The feature holds too little detail for the noise to calibrate by: " + lock.warning)

    def _feature_view(self, result: FrameResult) -> np.ndarray | None:
        focus = result.focus
        grey = self.pipeline.engine.last_grey
        if focus.lock is None or focus.lock.reference is None or focus.roi_px is None or grey is None:
            return None
        return extract_view(grey, focus.roi_px, focus.lock.reference.margin_px)

    def read_in_parts(self, max_per_axis: int) -> None:
        """Also read the box as a grid of up to ``max_per_axis``² parts (none under
        ``_MIN_GRID_PART_PX``), each against its own curve from the lock's views; parts too
        plain for the noise are not read."""
        lock = self.result.focus.lock if self.result is not None else None
        assert lock is not None and lock.reference is not None, "read_in_parts after lock()"
        views = [v for v in self.lock_views if v.shape == self.lock_views[-1].shape]
        margin = lock.reference.margin_px
        height, width = views[0].shape[0] - 2 * margin, views[0].shape[1] - 2 * margin
        noise = self.pipeline.engine.noise.sigma or 1.0
        grid = FeatureReference.from_views(views, noise, lock.coc_px, margin,
                                           grid_regions(width, height, max_per_axis, _MIN_GRID_PART_PX))
        fractions = self.settings.focus.lock
        grid.size_parts(fractions.softening_fraction * lock.coc_px, fractions.resolvable_sd_fraction * lock.coc_px,
                        self.pipeline.engine.noise.sigma_sd)
        self.grid = grid if len(grid.readable_parts) >= 2 else None

    def read_parts(self, result: FrameResult) -> tuple[float | None, ...]:
        """The blur of each part of the grid in one frame (None where not read)."""
        if self.grid is None:
            return ()
        view = self._feature_view(result)
        if view is None or view.shape != self.lock_views[-1].shape:
            raise CalibrationError("The feature left the frame during the sweep; steady the subject and start again.")
        noise = self.pipeline.engine.noise
        estimate = self.grid.estimate(view, noise.sigma or 1.0, noise_sd=noise.sigma_sd)
        return tuple(None if part is None or part.beyond_range or part.no_detail else part.blur_px for part in estimate.parts)

    def move(self, steps: int) -> None:
        if steps:
            moved = self.camera.drive_focus(int(steps))
            if moved != steps:
                raise CalibrationError(f"The focus drive stopped at an end after {moved} of {steps} steps; start with "
                                       "the feature in focus, away from the lens's focus limits.")
            self.position += steps

    def read_one(self, result: FrameResult) -> tuple[float, bool]:
        """The feature's blur in one frame's result (the lock's, of the whole box) and
        whether it ran past the estimator's curve."""
        lock = result.focus.lock
        if lock is None or lock.blur_px is None or lock.whole_blur_px is None or lock.state.value == "lost":
            raise CalibrationError("The feature was lost during the sweep; steady the subject and start again.")
        return lock.whole_blur_px, lock.beyond_range and lock.whole_blur_px == lock.blur_px

    def blur(self) -> tuple[float, bool]:
        """The feature's blur here (mean of a few frames) and whether it ran past the curve."""
        blur, beyond, _ = self.blur_and_parts()
        return blur, beyond

    def blur_and_parts(self) -> tuple[float, bool, tuple[float | None, ...]]:
        """As :meth:`blur`, with each grid part's mean blur (None where a frame could not
        read it)."""
        for _ in range(self.settle_frames):
            self.frame()
        readings, parts, beyond = [], [], False
        for _ in range(self.frames_per_point):
            result = self.frame()
            blur, past = self.read_one(result)
            readings.append(blur)
            parts.append(self.read_parts(result))
            beyond = beyond or past
        part_means = tuple(None if any(p[i] is None for p in parts) else float(np.mean([p[i] for p in parts]))
                           for i in range(len(parts[0])))
        return float(np.mean(readings)), beyond, part_means

    def probe_arm(self, arm_blur_px: float, max_steps: int) -> int:
        """Steps upwards from here until the feature's blur reaches ``arm_blur_px``
        (doubling), coming back to where it started."""
        start = self.position
        probe, below = 1, 0
        while True:
            self.move(start + probe - self.position)
            blur, beyond = self.blur()
            if beyond or blur >= arm_blur_px:
                break
            if probe >= max_steps:
                raise CalibrationError(f"The feature did not blur past {ARM_BLUR_COC:g} CoC within {max_steps} steps: "
                                       "the drive is not moving the focus, or the steps are very fine.")
            below, probe = probe, min(probe * 2, max_steps)
        # Two halvings between the last probe short of the arm's end and the first past
        # it: doubling alone can overshoot twofold, and the sweeps (with their guard for
        # the backlash, as long again) would then run into the lens's focus limits.
        for _ in range(2):
            middle = (below + probe) // 2
            if middle <= below:
                break
            self.move(start + middle - self.position)
            blur, beyond = self.blur()
            if beyond or blur >= arm_blur_px:
                probe = middle
            else:
                below = middle
        self.move(start - self.position)
        return probe

    def sweep(self, low: int, high: int, stride: int, guard: int, direction: int) -> list[SweepPoint]:
        """Readings from ``low`` to ``high`` (up, ``direction`` +1) or back (−1), in
        ``stride`` steps, starting ``guard`` steps beyond the range so that the backlash of
        the change of direction is taken out first. Readings past the curve are dropped."""
        points = []
        if direction > 0:
            self.move(low - guard - self.position)
            targets = range(low, high + 1, stride)
        else:
            self.move(high + guard - self.position)
            targets = range(high, low - 1, -stride)
        for target in targets:
            self.move(target - self.position)
            blur, beyond, parts = self.blur_and_parts()
            if not beyond:
                points.append(SweepPoint(target, blur, direction, parts))
        return points

    def settle_at(self, position: float, guard: int) -> None:
        """To ``position`` (rounded), approached from below as an upward sweep does."""
        self.move(int(math.floor(position)) - guard - self.position)
        self.move(int(round(position)) - self.position)
