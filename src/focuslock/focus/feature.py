"""One followed feature: its tracker, its measurement and its lock.

The focus engine keeps one of these for the feature the user chose and up to three more
(a label's front edge and a cap's rim); each is followed, measured and judged the same
way, against its own locked reference, with the one noise model of the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from focuslock.core.box import MIN_FEATURE_PX, MIN_MEASURE_PX
from focuslock.focus.defocus import view_margin_px
from focuslock.focus.lock import FocusLock, LockSettings, LockStatus
from focuslock.focus.measure import FocusReading, measure_roi
from focuslock.focus.noise import NoiseModel
from focuslock.focus.peaking import clip_roi
from focuslock.focus.track import FeatureTracker, TrackResult, TrackSettings

__all__ = ["FeatureResult", "FollowedFeature", "clipped_share", "extract_view"]

# A channel value at or above this counts as clipped.
_CLIP_LEVEL = 250
# Two consecutive views count as aligned for the temporal noise estimate when the
# tracker moved the feature by less than this.
_STILL_SHIFT_PX = 0.2


@dataclass(frozen=True, eq=False)
class FeatureResult:
    """One feature in one frame: where it is (``roi_px``, sub-pixel when tracked), its
    reading, the tracker's result and the lock's verdict (None while not locked)."""

    roi_px: tuple[float, float, float, float] | None
    reading: FocusReading | None
    track: TrackResult | None
    lock: LockStatus | None

    @property
    def state(self) -> str | None:
        return self.lock.state.value if self.lock is not None else None


def extract_view(grey: np.ndarray, roi_px: Iterable[float], margin_px: int) -> np.ndarray | None:
    """The feature's box at the whole pixel with ``margin_px`` of context on every side
    (mirrored where the frame ends), or None when the box is not inside the frame or
    smaller than a feature may be (:data:`focuslock.core.box.MIN_FEATURE_PX`)."""
    x, y, w, h = roi_px
    x, y, w, h = int(round(x)), int(round(y)), int(round(w)), int(round(h))
    height, width = grey.shape[:2]
    if w < MIN_FEATURE_PX or h < MIN_FEATURE_PX or x < 0 or y < 0 or x + w > width or y + h > height:
        return None
    x0, y0 = x - margin_px, y - margin_px
    x1, y1 = x + w + margin_px, y + h + margin_px
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    view = grey[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        view = cv2.copyMakeBorder(view, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REFLECT)
    return view


def clipped_share(image_rgb: np.ndarray, roi_px: Iterable[float]) -> float:
    """Share of the box's pixels with any channel clipped (at or above 250)."""
    x, y, w, h = clip_roi(roi_px, image_rgb.shape)
    box = image_rgb[y : y + h, x : x + w]
    if box.size == 0:
        return 0.0
    # One OpenCV pass: the pixels whose every channel is below the clip level.
    unclipped = cv2.inRange(box, (0, 0, 0), (_CLIP_LEVEL - 1,) * 3)
    return 1.0 - float(cv2.countNonZero(unclipped)) / float(w * h)


class FollowedFeature:
    """A feature chosen by its box in one frame: followed by a tracker (unless tracking is
    off or the box is too small to track: then measured where it is), measured, and locked
    when asked. ``feeds_noise``: its still views while the lock calibrates refine the
    engine's temporal noise estimate (one feature does, so that the estimate is not
    weighted by how many boxes the user drew)."""

    def __init__(self, grey: np.ndarray, roi_px: tuple[int, int, int, int], tracking: TrackSettings, track: bool,
                 feeds_noise: bool = True) -> None:
        self.chosen_roi = tuple(int(v) for v in roi_px)
        self.fixed_roi = clip_roi(roi_px, grey.shape)
        self.feeds_noise = feeds_noise
        self.tracker: FeatureTracker | None = None
        self._tracker_fresh = False
        if track:
            try:
                self.tracker = FeatureTracker(grey, self.fixed_roi, tracking)
                self._tracker_fresh = True
            except ValueError:
                self.tracker = None  # too small or outside: measure it where it is
        self.lock: FocusLock | None = None
        self.lock_request: int | None = None
        self._previous_view: np.ndarray | None = None

    def restart_tracking_at(self, template_grey: np.ndarray, position_px: tuple[float, float], settings: TrackSettings) -> None:
        self.tracker = FeatureTracker.from_template(template_grey, position_px, settings)
        self._tracker_fresh = False

    def roi_now(self, track: bool) -> tuple[int, int, int, int]:
        """Where the feature was last seen (before this frame's tracking)."""
        if self.tracker is not None and track:
            x, y = self.tracker.position
            w, h = self.tracker.size
            return int(round(x)), int(round(y)), w, h
        return self.fixed_roi

    def step(self, image_rgb: np.ndarray, grey: np.ndarray, *, track: bool, measure: str, locked: bool, lock_request: int,
             lock_settings: LockSettings, noise: NoiseModel, take_mode: bool,
             drive_position_steps: float | None) -> FeatureResult:
        """Follow, measure and (when ``locked``) judge the feature in this frame."""
        roi = self.roi_now(track)
        track_result = None
        if self.tracker is not None and track:
            if self._tracker_fresh:
                self._tracker_fresh = False
                x, y = self.tracker.position
                w, h = self.tracker.size
                track_result = TrackResult((x, y, float(w), float(h)), (0.0, 0.0), 1.0, False)
            else:
                track_result = self.tracker.update(grey)
            roi = track_result.roi_int
        reading = None
        lost = track_result is not None and track_result.lost
        if not lost:
            x, y, w, h = clip_roi(roi, grey.shape)
            if w >= MIN_MEASURE_PX and h >= MIN_MEASURE_PX:
                reading = measure_roi(grey[y : y + h, x : x + w], measure, noise_sigma=noise.sigma)
        lock_status = self._lock_step(image_rgb, grey, roi, locked, lock_request, lock_settings, noise, take_mode,
                                      track_result, lost, reading, drive_position_steps)
        x0, y0, w0, h0 = roi
        roi_out = track_result.roi_px if track_result is not None else (float(x0), float(y0), float(w0), float(h0))
        return FeatureResult(roi_out, reading, track_result, lock_status)

    def _lock_step(self, image_rgb: np.ndarray, grey: np.ndarray, roi: tuple[int, int, int, int], locked: bool,
                   lock_request: int, settings: LockSettings, noise: NoiseModel, take_mode: bool,
                   track_result: TrackResult | None, lost: bool, reading: FocusReading | None,
                   drive_position_steps: float | None) -> LockStatus | None:
        if not locked:
            self.lock, self.lock_request, self._previous_view = None, None, None
            return None
        margin = view_margin_px(settings.coc_px)
        view = extract_view(grey, roi, margin) if not lost and reading is not None else None
        clipped = clipped_share(image_rgb, roi) if view is not None else 0.0
        if lock_request != self.lock_request or self.lock is None:
            if view is None:
                return None  # nothing to lock on yet; try again next frame
            if take_mode:
                noise.hold()  # one noise model per take: measured on the lock frame, held
            lock_sigma = noise.sigma
            if lock_sigma is None:
                return None  # no noise model yet: try again next frame
            self.lock = FocusLock(view, lock_sigma, replace(settings, take_mode=settings.take_mode or take_mode), clipped,
                                  noise.sigma_sd)
            self.lock_request = lock_request
            self._previous_view = view.copy()
        elif self.lock.calibrating and view is not None and track_result is not None:
            still = abs(track_result.shift_px[0]) < _STILL_SHIFT_PX and abs(track_result.shift_px[1]) < _STILL_SHIFT_PX
            if self.feeds_noise and still and self._previous_view is not None and self._previous_view.shape == view.shape:
                noise.observe_views(self._previous_view[margin:-margin, margin:-margin], view[margin:-margin, margin:-margin])
            calibration_sigma = noise.sigma  # observe_views may just have refined it
            if calibration_sigma is not None:
                self.lock.add_calibration_view(view, calibration_sigma, noise.sigma_sd)
            self._previous_view = view.copy() if self.lock.calibrating else None
        confidence = track_result.confidence if track_result is not None else 1.0
        return self.lock.update(view, noise.sigma, lost=lost or view is None, track_confidence=confidence,
                                clipped_share=clipped, position_steps=drive_position_steps, noise_sd=noise.sigma_sd)
