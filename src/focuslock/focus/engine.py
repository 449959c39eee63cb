"""The per-frame focus work: peaking, then the chosen feature followed, measured, locked.

One :class:`FocusEngine` lives on the processing thread and keeps the tracker and the
lock between frames. It reads a :class:`FocusSettings` snapshot every frame; the user
(window, command line, demo script) replaces the snapshot whole: to follow a new feature
it sets ``roi_px`` and bumps ``roi_request``; to lock it sets ``locked`` and bumps
``lock_request``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from focuslock.focus.lock import FocusLock, LockSettings, LockStatus
from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES, FocusReading, laplacian_noise_sigma, measure_roi
from focuslock.focus.peaking import PeakingResult, PeakingSettings, Workspace, clip_roi, compute_peaking
from focuslock.focus.track import FeatureTracker, TrackResult, TrackSettings

__all__ = ["FocusEngine", "FocusResult", "FocusSettings"]

# Without a Laplacian from peaking, the frame's noise is re-estimated this often.
NOISE_REFRESH_FRAMES = 8
# Peaking thresholds and the noise floor follow the scene, not single frames: they are
# measured every few frames (at once when the settings or the frame size change).
_PEAKING_STATISTICS_FRAMES = 3


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
    """What the focus engine found in one frame."""

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


class FocusEngine:
    """Keeps the tracker and the lock of one live session. One thread owns it."""

    def __init__(self) -> None:
        self.workspace = Workspace()
        self.last_grey: np.ndarray | None = None
        self._roi_request: int | None = None
        self._lock_request: int | None = None
        self._tracker: FeatureTracker | None = None
        self._tracker_fresh = False
        self._fixed_roi: tuple[int, int, int, int] | None = None
        self._lock: FocusLock | None = None
        self._fresh_lock = False
        self._noise_sigma: float | None = None
        self._frames = 0
        self._peaking_statistics: PeakingResult | None = None
        self._peaking_key: tuple | None = None

    def process(self, image_rgb: np.ndarray, settings: FocusSettings, drive_position_steps: float | None = None) -> FocusResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        height, width = image_rgb.shape[:2]
        grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY, dst=self.workspace.buffer("grey", (height, width), np.uint8))
        # Scratch: the luma of the frame just processed, for the overlay of the same call.
        self.last_grey = grey
        roi = self._roi_for(grey, settings)

        peaking = None
        laplacian = None
        if settings.peaking.enabled:
            key = (settings.peaking, grey.shape, roi if settings.peaking.roi_only else None)
            reuse = self._peaking_statistics if key == self._peaking_key and self._frames % _PEAKING_STATISTICS_FRAMES else None
            peaking = compute_peaking(image_rgb, settings.peaking, grey, roi_px=roi, workspace=self.workspace, reuse=reuse)
            if reuse is None:
                self._peaking_statistics, self._peaking_key = peaking, key
            if settings.peaking.operator == "laplacian" and not settings.peaking.favour_texture and peaking.offset_px == (0, 0) \
                    and peaking.laplacian is not None and peaking.laplacian.shape == grey.shape:
                laplacian = peaking.laplacian
                self._noise_sigma = peaking.noise_sigma
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
                if laplacian is None and self._needs_noise():
                    self._noise_sigma = laplacian_noise_sigma(cv2.Laplacian(grey, cv2.CV_16S, ksize=1))
                noise = self._lock.noise_for_frame(self._noise_sigma) if self._lock is not None else self._noise_sigma
                reading = measure_roi(
                    grey[y : y + h, x : x + w],
                    settings.measure,
                    laplacian_roi=laplacian[y : y + h, x : x + w] if laplacian is not None else None,
                    laplacian_noise=noise,
                )
        self._update_lock_request(grey, roi, settings, lost)
        lock_status = None
        if self._lock is not None and self._lock.calibrating and reading is not None and track_result is not None \
                and self._lock_request == settings.lock_request and not self._fresh_lock:
            x, y, w, h = track_result.roi_px
            # The feature's patch at its sub-pixel place, to average for calibration.
            patch = cv2.getRectSubPix(grey, (int(w), int(h)), (x + (w - 1) / 2, y + (h - 1) / 2), patchType=cv2.CV_32F)
            self._lock.add_calibration_patch(patch)
        self._fresh_lock = False
        if self._lock is not None:
            lock_status = self._lock.update(reading, lost=lost or reading is None, position_steps=drive_position_steps)
        timings["measure_lock"] = (time.perf_counter() - after_track) * 1000.0
        self._frames += 1
        published_peaking = None
        if peaking is not None:
            # The response and Laplacian are scratch buffers reused next frame.
            published_peaking = replace(peaking, response=None, laplacian=None)
        roi_out = track_result.roi_px if track_result is not None else (tuple(float(v) for v in roi) if roi else None)
        return FocusResult(published_peaking, roi_out, reading, track_result, lock_status, self._noise_sigma, timings)

    # ------------------------------------------------------------------ internals
    def _needs_noise(self) -> bool:
        return self._noise_sigma is None or self._frames % NOISE_REFRESH_FRAMES == 0

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

    def _update_lock_request(self, grey: np.ndarray, roi, settings: FocusSettings, lost: bool) -> None:
        if not settings.locked:
            self._lock = None
            self._lock_request = None
            return
        if settings.lock_request == self._lock_request and self._lock is not None:
            return
        if roi is None or lost:
            return  # nothing to lock on yet; try again next frame
        x, y, w, h = clip_roi(roi, grey.shape)
        if w < 3 or h < 3:
            return
        self._lock = FocusLock(grey[y : y + h, x : x + w].copy(), settings.lock, settings.measure, self._noise_sigma)
        self._lock_request = settings.lock_request
        self._fresh_lock = True  # this frame's patch is the lock's first
