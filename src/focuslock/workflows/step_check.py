"""Did this step of a stack move focus as planned? Measured on live view, before the shutter.

Two measures the focus layer already has, used here on live-view frames:

* **settle** — the picture has stopped changing when the focus map's travel test
  (:class:`~focuslock.focus.focus_map.FocusMap`, its tiles' fine energy against their
  noise, :mod:`focuslock.focus.focus_travel`) sees no change for ``STILL_FRAMES``
  frames in a row: a rail still ringing or a lens still creeping keeps it from settling.
  A fixed sleep is not used; the profile's settle time is only the longest wait.
* **the step** — the blur one settled frame adds to the one before (disc diameter in
  live-view px), read as ``stack-check`` reads the steps of a shot stack
  (:func:`focuslock.focus.coverage.check_coverage` on the pair), against what the plan
  says a step should add: the plane of focus moving one depth of field changes a point's
  blur by two CoC, so a step of ``d`` µm adds 2·CoC·d / DoF.

A step the live view cannot resolve (the plan's blur under :data:`MIN_MEASURABLE_PX`:
zoom live view in, or, zoomed already, take larger steps) is not judged: it is UNCERTAIN with that reason, never "moved".
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.core.frames import Frame
from focuslock.devices.base import Camera, CorruptFrameError
from focuslock.focus.coverage import check_coverage
from focuslock.focus.focus_map import FocusMap
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.optics.coc import coc_in_live_view

__all__ = ["MIN_MEASURABLE_PX", "STILL_FRAMES", "SHORT_SHARE", "Settled", "StepMeasure", "StepVerdict", "StepWatch"]

logger = logging.getLogger(__name__)

# Frames in a row without change that count as settled.
STILL_FRAMES = 2
# A planned step whose blur change in live view is under this (px) cannot be measured.
MIN_MEASURABLE_PX = 1.0
# Live view is judged at this width at most: a 1024 px view reduced (the travel test on
# the bench's full-size JPEG live view saw the picture change on every frame at rest;
# reduced to this it settles within a few frames, and a step check costs a tenth of a
# second). A step too fine for it says "zoom live view in".
MAX_WIDTH_PX = 512
# The travel test needs at least this many detailed tiles to see focus move at all
# (focus/focus_travel.py's _MIN_CHANGED_TILES): fewer, and "did not change" means nothing.
MIN_DETAILED_TILES = 6
# A step that reads less than this share of the plan is short (retaken).
SHORT_SHARE = 2.0 / 3.0


class StepVerdict(enum.Enum):
    """What the picture says about one step."""

    MOVED = "moved as planned"
    SHORT = "short of the plan"  # by more than a third
    NOT_MOVED = "did not move"
    UNCERTAIN = "cannot tell"


@dataclass(frozen=True)
class Settled:
    """A settled live-view frame: its grey picture, how many frames it took, whether any
    change was seen since the move, and whether it settled before the deadline."""

    grey: np.ndarray
    frames: int
    changed: bool
    settled: bool


@dataclass(frozen=True)
class StepMeasure:
    """One step judged: planned and measured focus shift (µm; measured None when it
    cannot be told) and the verdict, with the reason when UNCERTAIN."""

    planned_um: float
    measured_um: float | None
    verdict: StepVerdict
    reason: str = ""


class StepWatch:
    """Follows a camera's live view through a stack: :meth:`settle` after each move,
    :meth:`judge` the step between two settled frames. ``dof_um``: the plan's depth of
    field; ``coc_mm``: its CoC on the sensor."""

    def __init__(self, camera: Camera, *, dof_um: float, coc_mm: float, settle_timeout_s: float = 5.0,
                 max_frames: int = 60) -> None:
        self.camera = camera
        self.dof_um = float(dof_um)
        self.coc_mm = float(coc_mm)
        self.settle_timeout_s = float(settle_timeout_s)
        self.max_frames = int(max_frames)
        self._map: FocusMap | None = None
        self.coc_px = 1.0
        self.zoom = 1.0  # the live view's zoom, as its frames say

    def _grey(self) -> np.ndarray:
        for _ in range(5):
            try:
                frame = self.camera.read_frame()
                break
            except CorruptFrameError:
                continue
        else:
            raise CorruptFrameError("Live view keeps delivering damaged frames.")
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        self.zoom = float(frame.info.live_view_zoom or 1.0)
        scale = min(1.0, MAX_WIDTH_PX / grey.shape[1])
        if scale < 1.0:
            grey = cv2.resize(grey, (round(grey.shape[1] * scale), round(grey.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        if self._map is None or self._map.frame_shape != grey.shape[:2]:
            self.coc_px = _coc_px(frame, self.coc_mm) * scale
            self._map = FocusMap(grey.shape, self.coc_px, build_budget_ms=0.0, track_every=1)
        self._map.observe(grey.astype(np.float32), single_frame_noise_sigma(grey))
        return grey

    def settle(self) -> Settled:
        """Read live view until the picture stops changing (or the settle time runs out)."""
        deadline = time.monotonic() + self.settle_timeout_s
        changed = False
        frames = 0
        while True:
            grey = self._grey()
            frames += 1
            assert self._map is not None
            still = self._map.still_frames
            if still == 0 or (frames == 1 and still < STILL_FRAMES):
                changed = changed or still == 0
            if still >= STILL_FRAMES and frames >= STILL_FRAMES:
                return Settled(grey.astype(np.float32), frames, changed, True)
            if time.monotonic() > deadline or frames >= self.max_frames:
                logger.info("live view still changing after %d frames", frames)
                return Settled(grey.astype(np.float32), frames, changed, False)

    @property
    def detailed_tiles(self) -> int:
        """How many parts of live view have shown detail (the travel test's witnesses)."""
        return 0 if self._map is None else self._map.detailed_tiles

    def planned_blur_px(self, planned_um: float) -> float:
        """The blur a step of ``planned_um`` should add, in live-view px."""
        return 2.0 * self.coc_px * abs(planned_um) / self.dof_um

    def judge(self, before: list[Settled], after: Settled, planned_um: float) -> StepMeasure:
        """The step from the last of ``before`` (the settled frames of the slices before,
        oldest first; the one before it, when there is one, lets the step be fitted from
        the parts sharpest in the middle frame as well) to ``after``, against the plan."""
        expected = self.planned_blur_px(planned_um)
        if not after.settled:
            return StepMeasure(planned_um, None, StepVerdict.UNCERTAIN,
                               f"live view had not stopped changing after {after.frames} frames")
        if expected < MIN_MEASURABLE_PX:
            return StepMeasure(planned_um, None, StepVerdict.UNCERTAIN,
                               f"a step of {abs(planned_um):.0f} µm changes the blur by {expected:.2f} px in live view, "
                               f"too little to measure; {self._what_would_show()}")
        if not after.changed:
            if self.detailed_tiles < MIN_DETAILED_TILES:
                return StepMeasure(planned_um, None, StepVerdict.UNCERTAIN,
                                   "live view shows too little detail to see a step (aim or zoom at a textured part)")
            return StepMeasure(planned_um, 0.0, StepVerdict.NOT_MOVED, "the picture did not change")
        frames = [s.grey for s in before[-2:]] + [after.grey]
        step = check_coverage(frames, [f"frame {i}" for i in range(len(frames))], self.coc_px).steps[-1]
        if step.blur_px is None or step.tiles == 0:
            return StepMeasure(planned_um, None, StepVerdict.UNCERTAIN, "no part of the picture shows the step")
        measured_um = step.blur_px / (2.0 * self.coc_px) * self.dof_um
        if step.not_moved:
            return StepMeasure(planned_um, measured_um, StepVerdict.NOT_MOVED, "the picture's detail did not change")
        if step.blur_px < SHORT_SHARE * expected:
            words = f"{step.blur_px:.2f} px of blur where the plan adds {expected:.2f} px"
            if len(frames) < 3 or not step.fitted:
                # Read from the parts sharpest in one of two frames only (no part lies between
                # them to fit the step): on the bench such a reading of a whole step scatters
                # from a third to twice the plan.
                return StepMeasure(planned_um, measured_um, StepVerdict.UNCERTAIN,
                                   f"{words}, read only from parts sharpest in one frame (too loose to call it short)")
            return StepMeasure(planned_um, measured_um, StepVerdict.SHORT, words)
        return StepMeasure(planned_um, measured_um, StepVerdict.MOVED)


    def _what_would_show(self) -> str:
        if self.zoom <= 1.0:
            return "zoom live view in (--live-view-zoom 5 on the bench, the body's magnifier on a camera)"
        return f"even zoomed {self.zoom:g}×: larger steps (a lower --overlap) would show"


def _coc_px(frame: Frame, coc_mm: float) -> float:
    info = frame.info
    width = frame.image.shape[1]
    return coc_in_live_view(width, coc_mm=coc_mm, sensor_width_mm=info.sensor_width_mm,
                            sensor_height_mm=info.sensor_height_mm, zoom=info.live_view_zoom or 1.0).coc_px
