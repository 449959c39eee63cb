"""The per-frame focus work: peaking, then the chosen feature followed, measured, locked.

One :class:`FocusEngine` keeps the noise model, the tracker and the lock between frames,
and every path that judges focus asks it: the live session (processing thread),
``focuslock analyze`` (in take mode) and the capture check (one frame). It reads a
:class:`FocusSettings` snapshot every frame; the user (window, command line, demo
script) replaces the snapshot whole: to follow a new feature it sets ``roi_px`` and bumps
``roi_request``; to lock it sets ``locked`` and bumps ``lock_request``.

Reference and readings are cut out of the frame the same way — at the tracked position
rounded to the whole pixel, with context around — so that no resampling low-passes one
side only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from focuslock.focus.defocus import view_margin_px
from focuslock.focus.lock import FocusLock, LockSettings, LockStatus
from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES, FocusReading, measure_roi
from focuslock.focus.noise import NoiseModel
from focuslock.focus.peaking import PeakingResult, PeakingSettings, Workspace, clip_roi, compute_peaking
from focuslock.focus.track import FeatureTracker, TrackResult, TrackSettings

__all__ = ["FocusEngine", "FocusResult", "FocusSettings", "extract_view", "clipped_share"]

# Peaking thresholds follow the scene, not single frames: they are measured every few
# frames (at once when the settings or the frame size change).
_PEAKING_STATISTICS_FRAMES = 3
# The automatic peaking colour follows the scene's colours, which change more slowly
# still: chosen about once a second at 30 fps (at once on new settings or frame size).
_PEAKING_COLOUR_FRAMES = 30
# The live noise estimate is refreshed this often (every ~0.5 s at 30 fps): noise follows
# the exposure settings, not single frames, and each refresh is smoothed into the
# estimate. A refresh costs about 1.3 ms at 1024×680 (15 tiles filtered in one pass);
# every 8th frame it was a tenth of the focus work.
_NOISE_FRAMES = 16
# A channel value at or above this counts as clipped.
_CLIP_LEVEL = 250
# Two consecutive views count as aligned for the temporal noise estimate when the
# tracker moved the feature by less than this.
_STILL_SHIFT_PX = 0.2


@dataclass(frozen=True)
class FocusSettings:
    peaking: PeakingSettings = PeakingSettings()
    measure: str = DEFAULT_MEASURE
    roi_px: tuple[int, int, int, int] | None = None
    roi_request: int = 0
    track: bool = True
    locked: bool = False
    lock_request: int = 0
    lock: LockSettings = LockSettings()
    tracking: TrackSettings = TrackSettings()

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"Unknown focus measure {self.measure!r}; use one of {', '.join(MEASURES)}.")

    def follow(self, roi_px: tuple[int, int, int, int] | None) -> "FocusSettings":
        """Settings that start following the feature in ``roi_px`` (and drop any lock)."""
        return replace(self, roi_px=roi_px, roi_request=self.roi_request + 1, locked=False)

    def with_lock(self, locked: bool = True) -> "FocusSettings":
        """Settings that lock on the followed feature where it is now (or unlock)."""
        return replace(self, locked=locked, lock_request=self.lock_request + 1)


@dataclass(frozen=True, eq=False)
class FocusResult:
    """What the focus engine found in one frame. ``noise_sigma``: the noise model's
    pixel σ (grey levels) used for this frame."""

    peaking: PeakingResult | None
    roi_px: tuple[float, float, float, float] | None
    reading: FocusReading | None
    track: TrackResult | None
    lock: LockStatus | None
    noise_sigma: float | None
    timings_ms: dict = field(default_factory=dict)

    @property
    def state(self) -> str | None:
        return self.lock.state.value if self.lock is not None else None


def extract_view(grey: np.ndarray, roi_px, margin_px: int) -> np.ndarray | None:
    """The feature's box at the whole pixel with ``margin_px`` of context on every side
    (mirrored where the frame ends), or None when the box is not inside the frame."""
    x, y, w, h = (int(round(v)) for v in roi_px)
    height, width = grey.shape[:2]
    if w < 3 or h < 3 or x < 0 or y < 0 or x + w > width or y + h > height:
        return None
    x0, y0 = x - margin_px, y - margin_px
    x1, y1 = x + w + margin_px, y + h + margin_px
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    view = grey[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        view = cv2.copyMakeBorder(view, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REFLECT)
    return view


def clipped_share(image_rgb: np.ndarray, roi_px) -> float:
    """Share of the box's pixels with any channel clipped (at or above 250)."""
    x, y, w, h = clip_roi(roi_px, image_rgb.shape)
    box = image_rgb[y : y + h, x : x + w]
    if box.size == 0:
        return 0.0
    # One OpenCV pass: the pixels whose every channel is below the clip level.
    unclipped = cv2.inRange(box, (0, 0, 0), (_CLIP_LEVEL - 1,) * 3)
    return 1.0 - float(cv2.countNonZero(unclipped)) / float(w * h)


class FocusEngine:
    """Keeps the noise model, the tracker and the lock of one session or take. One
    thread owns it.

    ``take_mode``: the frames are a take or a stack, not a continuous live view: the
    noise is measured once, on the frame the lock is taken on, and held for the take.
    """

    def __init__(self, take_mode: bool = False) -> None:
        self.take_mode = take_mode
        self.workspace = Workspace()
        self.noise = NoiseModel()
        self.last_grey: np.ndarray | None = None
        self._roi_request: int | None = None
        self._lock_request: int | None = None
        self._tracker: FeatureTracker | None = None
        self._tracker_fresh = False
        self._fixed_roi: tuple[int, int, int, int] | None = None
        self._lock: FocusLock | None = None
        self._previous_view: np.ndarray | None = None
        self._frames = 0
        self._peaking_statistics: PeakingResult | None = None
        self._peaking_key: tuple | None = None

    @property
    def lock(self) -> FocusLock | None:
        return self._lock

    def process(self, image_rgb: np.ndarray, settings: FocusSettings, drive_position_steps: float | None = None) -> FocusResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        height, width = image_rgb.shape[:2]
        grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY, dst=self.workspace.buffer("grey", (height, width), np.uint8))
        # Scratch: the luma of the frame just processed, for the overlay of the same call.
        self.last_grey = grey
        if self.noise.fixed is None and (self.noise.sigma is None or self._frames % _NOISE_FRAMES == 0):
            self.noise.observe_frame(grey)
        noise_sigma = self.noise.sigma
        roi = self._roi_for(grey, settings)

        peaking = None
        if settings.peaking.enabled:
            key = (settings.peaking, grey.shape, roi if settings.peaking.roi_only else None)
            same = key == self._peaking_key
            reuse = self._peaking_statistics if same and self._frames % _PEAKING_STATISTICS_FRAMES else None
            colour = (self._peaking_statistics.contrast_colour_rgb
                      if same and self._frames % _PEAKING_COLOUR_FRAMES else None)
            peaking = compute_peaking(image_rgb, settings.peaking, grey, roi_px=roi, workspace=self.workspace, reuse=reuse,
                                      noise_sigma=noise_sigma, contrast_colour_rgb=colour)
            if reuse is None:
                self._peaking_statistics, self._peaking_key = peaking, key
        after_peaking = time.perf_counter()
        timings["peaking"] = (after_peaking - started) * 1000.0

        track_result = None
        if self._tracker is not None and settings.track:
            if self._tracker_fresh:
                self._tracker_fresh = False
                x, y = self._tracker.position
                w, h = self._tracker.size
                track_result = TrackResult((x, y, float(w), float(h)), (0.0, 0.0), 1.0, False)
            else:
                track_result = self._tracker.update(grey)
            roi = track_result.roi_int
        after_track = time.perf_counter()
        timings["track"] = (after_track - after_peaking) * 1000.0

        reading = None
        lost = track_result is not None and track_result.lost
        if roi is not None and not lost:
            x, y, w, h = clip_roi(roi, grey.shape)
            if w >= 3 and h >= 3:
                reading = measure_roi(grey[y : y + h, x : x + w], settings.measure, noise_sigma=noise_sigma)
        lock_status = self._lock_step(image_rgb, grey, roi, settings, track_result, lost, reading, drive_position_steps)
        timings["measure_lock"] = (time.perf_counter() - after_track) * 1000.0
        self._frames += 1
        published_peaking = None
        if peaking is not None:
            # The response and Laplacian are scratch buffers reused next frame.
            # (Built directly: dataclasses.replace costs more than the rest of the line.)
            published_peaking = PeakingResult(peaking.band, None, peaking.thresholds, peaking.noise_sigma,
                                              peaking.lit_fraction, None, peaking.offset_px, peaking.extra,
                                              peaking.contrast_colour_rgb)
        roi_out = track_result.roi_px if track_result is not None else (tuple(float(v) for v in roi) if roi else None)
        return FocusResult(published_peaking, roi_out, reading, track_result, lock_status, self.noise.sigma, timings)

    # ------------------------------------------------------------------ internals
    def _lock_step(self, image_rgb, grey, roi, settings: FocusSettings, track_result: TrackResult | None, lost: bool,
                   reading: FocusReading | None, drive_position_steps: float | None) -> LockStatus | None:
        if not settings.locked:
            self._lock, self._lock_request, self._previous_view = None, None, None
            return None
        margin = view_margin_px(settings.lock.coc_px)
        view = extract_view(grey, roi, margin) if roi is not None and not lost and reading is not None else None
        clipped = clipped_share(image_rgb, roi) if view is not None else 0.0
        fresh = settings.lock_request != self._lock_request or self._lock is None
        if fresh:
            if view is None:
                return None  # nothing to lock on yet; try again next frame
            if self.take_mode:
                # One noise model per take: measured on the lock frame, held.
                self.noise = NoiseModel.fixed_at(self.noise.sigma or 1.0)
            lock_settings = replace(settings.lock, take_mode=settings.lock.take_mode or self.take_mode)
            self._lock = FocusLock(view, self.noise.sigma, lock_settings, clipped)
            self._lock_request = settings.lock_request
            self._previous_view = view.copy()
        elif self._lock.calibrating and view is not None and track_result is not None:
            still = abs(track_result.shift_px[0]) < _STILL_SHIFT_PX and abs(track_result.shift_px[1]) < _STILL_SHIFT_PX
            if still and self._previous_view is not None and self._previous_view.shape == view.shape:
                self.noise.observe_views(self._previous_view[margin:-margin, margin:-margin], view[margin:-margin, margin:-margin])
            self._lock.add_calibration_view(view, self.noise.sigma)
            self._previous_view = view.copy() if self._lock.calibrating else None
        confidence = track_result.confidence if track_result is not None else 1.0
        return self._lock.update(view, self.noise.sigma, lost=lost or view is None, track_confidence=confidence,
                                 clipped_share=clipped, position_steps=drive_position_steps)

    def _roi_for(self, grey: np.ndarray, settings: FocusSettings) -> tuple[int, int, int, int] | None:
        if settings.roi_request != self._roi_request:
            self._roi_request = settings.roi_request
            self._tracker = None
            self._lock = None
            self._lock_request = None
            self._fixed_roi = None
            if settings.roi_px is not None:
                self._fixed_roi = clip_roi(settings.roi_px, grey.shape)
                if settings.track:
                    try:
                        self._tracker = FeatureTracker(grey, self._fixed_roi, settings.tracking)
                        self._tracker_fresh = True
                    except ValueError:
                        self._tracker = None  # too small or outside: measure it where it is
        if self._tracker is not None and settings.track:
            x, y = self._tracker.position
            w, h = self._tracker.size
            return int(round(x)), int(round(y)), w, h
        return self._fixed_roi

    def restart_tracking_at(self, template_grey: np.ndarray, position_px: tuple[float, float], settings: TrackSettings) -> None:
        """Follow a feature seen in another frame (``template_grey``), expected near
        ``position_px``: how a take is analysed from a lock frame that is not its first."""
        self._tracker = FeatureTracker.from_template(template_grey, position_px, settings)
        self._tracker_fresh = False

