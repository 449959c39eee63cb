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
from focuslock.focus.feature import FeatureResult, FollowedFeature, clipped_share, extract_view
from focuslock.focus.lock import SHARPER_THAN_LOCK_REASON, FocusLock, FocusState, LockSettings, LockStatus
from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES, FocusReading
from focuslock.focus.noise import NoiseModel
from focuslock.focus.peaking import PeakingResult, PeakingSettings, Workspace, compute_peaking
from focuslock.focus.placement import DepthPlacement, Placement
from focuslock.focus.track import TrackResult, TrackSettings

__all__ = ["MAX_FEATURES", "FeatureResult", "FocusEngine", "FocusResult", "FocusSettings", "extract_view", "clipped_share"]

# Peaking thresholds follow the scene, not single frames: they are measured every few
# frames (at once when the settings or the frame size change): every sixth, five times a
# second at 30 fps (every third cost 0.1–0.17 ms on one frame in three at 1024×680).
_PEAKING_STATISTICS_FRAMES = 6
# The automatic peaking colour follows the scene's colours, which change more slowly
# still: chosen about once a second at 30 fps (at once on new settings or frame size).
_PEAKING_COLOUR_FRAMES = 30
# The live noise estimate is refreshed this often (every ~0.5 s at 30 fps): noise follows
# the exposure settings, not single frames, and each refresh is smoothed into the
# estimate. A refresh costs about 1.3 ms at 1024×680 (15 tiles filtered in one pass);
# every 8th frame it was a tenth of the focus work.
_NOISE_FRAMES = 16
# Features followed and locked at once: the chosen one and up to three more (a label's
# front edge and a cap's rim; more boxes than this crowd a live view and the work).
MAX_FEATURES = 4


@dataclass(frozen=True)
class FocusSettings:
    """What the focus engine does with each frame: peaking, the measure, the feature's box, tracking and the lock."""

    peaking: PeakingSettings = PeakingSettings()
    measure: str = DEFAULT_MEASURE
    roi_px: tuple[int, int, int, int] | None = None
    roi_request: int = 0
    track: bool = True
    locked: bool = False
    lock_request: int = 0
    lock: LockSettings = LockSettings()
    tracking: TrackSettings = TrackSettings()
    # The further features (boxes in frame pixels where they were chosen), followed, and
    # locked with the first: each judged on its own; ``more_request`` bumps on a change.
    more_roi_px: tuple[tuple[int, int, int, int], ...] = ()
    more_request: int = 0

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"Unknown focus measure {self.measure!r}; use one of {', '.join(MEASURES)}.")
        if len(self.more_roi_px) > MAX_FEATURES - 1:
            raise ValueError(f"At most {MAX_FEATURES} features can be followed at once.")

    def follow(self, roi_px: tuple[int, int, int, int] | None) -> FocusSettings:
        """Settings that start following the feature in ``roi_px`` (and drop any lock and
        the further features)."""
        return replace(self, roi_px=roi_px, roi_request=self.roi_request + 1, locked=False,
                       more_roi_px=(), more_request=self.more_request + (1 if self.more_roi_px else 0))

    def add_feature(self, roi_px: tuple[int, int, int, int]) -> FocusSettings:
        """Settings that also follow the feature in ``roi_px`` (locked at once when the
        others are). Raises ValueError beyond :data:`MAX_FEATURES` or without a first."""
        if self.roi_px is None:
            raise ValueError("Choose the first feature before adding more.")
        if len(self.more_roi_px) >= MAX_FEATURES - 1:
            raise ValueError(f"At most {MAX_FEATURES} features can be followed at once; clear the others first.")
        x, y, w, h = roi_px
        return replace(self, more_roi_px=self.more_roi_px + ((int(x), int(y), int(w), int(h)),),
                       more_request=self.more_request + 1)

    def without_more_features(self) -> FocusSettings:
        """Settings that follow the first feature only."""
        return replace(self, more_roi_px=(), more_request=self.more_request + 1) if self.more_roi_px else self

    def with_lock(self, locked: bool = True) -> FocusSettings:
        """Settings that lock on the followed feature where it is now (or unlock)."""
        return replace(self, locked=locked, lock_request=self.lock_request + 1)


@dataclass(frozen=True, eq=False)
class FocusResult:
    """What the focus engine found in one frame: peaking, the first feature (``roi_px``,
    ``reading``, ``track``, ``lock``) and the further ones (``more``). ``noise_sigma``:
    the noise model's pixel σ (grey levels) used for this frame."""

    peaking: PeakingResult | None
    roi_px: tuple[float, float, float, float] | None
    reading: FocusReading | None
    track: TrackResult | None
    lock: LockStatus | None
    noise_sigma: float | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    more: tuple[FeatureResult, ...] = ()
    # With two or more features locked and a drive whose count is known: where each is
    # sharpest along the drive, from racking through them (None before).
    placement: Placement | None = None

    @property
    def state(self) -> str | None:
        return self.lock.state.value if self.lock is not None else None

    @property
    def features(self) -> tuple[FeatureResult, ...]:
        """Every followed feature, the first first (none when nothing is followed)."""
        if self.roi_px is None:
            return ()
        return (FeatureResult(self.roi_px, self.reading, self.track, self.lock), *self.more)


_NOT_PLACED = ("added without its best focus known: rack focus through it (one direction) to place it, "
               "or lock it alone at its best")
_LOCKED_SOFT = "it was locked out of focus (its best focus lies elsewhere on the drive): lock it again there"


def _why_not_judged(placement: Placement | None, index: int) -> str | None:
    """Why an added feature (``index`` ≥ 1) cannot be judged against its reference: the
    user chose the first one sharp and locked it; the others were locked wherever focus
    was, so each is judged only once a rack has shown it was locked within half a CoC of
    its best focus."""
    if placement is None or index >= len(placement.peaks) or placement.peaks[index] is None:
        return _NOT_PLACED
    return _LOCKED_SOFT if placement.locked_soft[index] else None


def _doubt(result: FeatureResult, reason: str | None) -> FeatureResult:
    """A feature whose reference may be soft cannot be called sharp: SHARP would only mean
    "as soft as when locked". SOFT stays (softer than a soft reference is soft)."""
    lock = result.lock
    # The lock's own "sharper than at lock" says less than the placement's reason.
    sharper = lock is not None and lock.state == FocusState.UNCERTAIN and lock.reason == SHARPER_THAN_LOCK_REASON
    if reason is None or lock is None or (lock.state not in (FocusState.SHARP, FocusState.SOFTENING) and not sharper):
        return result
    return replace(result, lock=replace(lock, state=FocusState.UNCERTAIN, reason=reason))


class FocusEngine:
    """Keeps the noise model, the followed features (trackers and locks) of one session
    or take. One thread owns it.

    ``take_mode``: the frames are a take or a stack, not a continuous live view: the
    noise is measured once, on the frame the lock is taken on, and held for the take.
    ``luma_near_features_only``: once the noise is held and peaking is off, only the
    part of each frame the features can reach this frame (the tracker's search margin
    and the view's context around each box) is converted to grey — the rest of the
    frame is read by nothing then (``analyze`` without an overlay: at 1080p the whole
    conversion was a third of its work a frame). ``last_grey`` is None on such frames,
    and ``last_region_px`` is the box (x0, y0, x1, y1) that was converted (None: the
    whole frame).
    """

    def __init__(self, take_mode: bool = False, luma_near_features_only: bool = False) -> None:
        self.take_mode = take_mode
        self.luma_near_features_only = luma_near_features_only
        self.workspace = Workspace()
        self.noise = NoiseModel()
        self.last_grey: np.ndarray | None = None
        self.last_region_px: tuple[int, int, int, int] | None = None
        self._roi_request: int | None = None
        self._more_request: int | None = None
        self._first: FollowedFeature | None = None
        self._more: list[FollowedFeature] = []
        self._placement: DepthPlacement | None = None
        self._placement_key: tuple[object, ...] | None = None
        self._frames = 0
        self._peaking_statistics: PeakingResult | None = None
        self._peaking_key: tuple[object, ...] | None = None

    @property
    def lock(self) -> FocusLock | None:
        """The first feature's lock."""
        return self._first.lock if self._first is not None else None

    def process(self, image_rgb: np.ndarray, settings: FocusSettings, drive_position_steps: float | None = None) -> FocusResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        height, width = image_rgb.shape[:2]
        grey = self.workspace.buffer("grey", (height, width), np.uint8)
        box = self.last_region_px = self.region_read(settings, (height, width))
        if box is None:
            cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY, dst=grey)
        else:
            x0, y0, x1, y1 = box
            cv2.cvtColor(image_rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY, dst=grey[y0:y1, x0:x1])
        # Scratch: the luma of the frame just processed, for the overlay of the same call
        # (None when only the features' neighbourhood is in it: stale pixels elsewhere).
        self.last_grey = grey if box is None else None
        if self.noise.fixed is None and (self.noise.sigma is None or self._frames % _NOISE_FRAMES == 0):
            self.noise.observe_frame(grey)
        noise_sigma = self.noise.sigma
        self._follow_requested(grey, settings)
        roi = self._first.roi_now(settings.track) if self._first is not None else None

        peaking = None
        if settings.peaking.enabled:
            key = (settings.peaking, grey.shape, roi if settings.peaking.roi_only else None)
            same = key == self._peaking_key
            reuse = self._peaking_statistics if same and self._frames % _PEAKING_STATISTICS_FRAMES else None
            colour = (self._peaking_statistics.contrast_colour_rgb
                      if same and self._peaking_statistics is not None and self._frames % _PEAKING_COLOUR_FRAMES else None)
            peaking = compute_peaking(image_rgb, settings.peaking, grey, roi_px=roi, workspace=self.workspace, reuse=reuse,
                                      noise_sigma=noise_sigma, contrast_colour_rgb=colour)
            if reuse is None:
                self._peaking_statistics, self._peaking_key = peaking, key
        after_peaking = time.perf_counter()
        timings["peaking"] = (after_peaking - started) * 1000.0

        results = [feature.step(image_rgb, grey, track=settings.track, measure=settings.measure, locked=settings.locked,
                                lock_request=settings.lock_request, lock_settings=settings.lock, noise=self.noise,
                                take_mode=self.take_mode, drive_position_steps=drive_position_steps)
                   for feature in ([self._first] if self._first is not None else []) + self._more]
        placement = self._place(results, settings, drive_position_steps)
        if len(results) >= 2:
            results = [results[0]] + [_doubt(result, _why_not_judged(placement, index))
                                      for index, result in enumerate(results[1:], start=1)]
            if placement is not None and placement.locked_soft[:1] == (True,):
                results[0] = _doubt(results[0], _LOCKED_SOFT)
        timings["features"] = (time.perf_counter() - after_peaking) * 1000.0
        self._frames += 1
        published_peaking = peaking
        if peaking is not None and (peaking.response is not None or peaking.laplacian is not None):
            # The response and Laplacian are scratch buffers reused next frame.
            # (Built directly: dataclasses.replace costs more than the rest of the line.)
            published_peaking = PeakingResult(peaking.band, None, peaking.thresholds, peaking.noise_sigma,
                                              peaking.lit_fraction, None, peaking.offset_px, peaking.extra,
                                              peaking.contrast_colour_rgb)
        first = results[0] if results else FeatureResult(None, None, None, None)
        return FocusResult(published_peaking, first.roi_px, first.reading, first.track, first.lock, self.noise.sigma,
                           timings, tuple(results[1:]), placement)

    def region_read(self, settings: FocusSettings, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """The box (x0, y0, x1, y1) of the next frame that its work can read, when only
        that part needs converting to grey (see ``luma_near_features_only``); None
        when the whole frame is needed: peaking on, the noise still measured on whole
        frames, a feature chosen anew, or nothing followed. Asked again by
        :meth:`process` with the same answer (``analyze`` asks first, to convert only
        that part of a decoded frame to RGB)."""
        if not self.luma_near_features_only or settings.peaking.enabled or self.noise.fixed is None \
                or self._first is None or settings.roi_request != self._roi_request \
                or settings.more_request != self._more_request:
            return None
        height, width = shape
        context = view_margin_px(settings.lock.coc_px) + 1  # the view cut around the box, rounded
        x0, y0, x1, y1 = width, height, 0, 0
        for feature in [self._first, *self._more]:
            x, y, w, h = feature.roi_now(settings.track)
            reach = context
            if feature.tracker is not None and settings.track:
                reach += feature.tracker.search_margin_px()  # the box may move that far this frame
            x0, y0 = min(x0, x - reach), min(y0, y - reach)
            x1, y1 = max(x1, x + w + reach), max(y1, y + h + reach)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1

    # ------------------------------------------------------------------ internals
    def _follow_requested(self, grey: np.ndarray, settings: FocusSettings) -> None:
        """A new first feature (dropping every lock and the further ones) or a new set of
        further features, as the settings ask."""
        if settings.roi_request != self._roi_request:
            self._roi_request = settings.roi_request
            self._first = None
            self._more = []
            self._more_request = None
            if settings.roi_px is not None:
                self._first = FollowedFeature(grey, settings.roi_px, settings.tracking, settings.track)
        if settings.more_request != self._more_request:
            self._more_request = settings.more_request
            # Features already followed keep their trackers and locks; new boxes start.
            kept = {feature.chosen_roi: feature for feature in self._more}
            self._more = [kept.get(tuple(roi)) or FollowedFeature(grey, roi, settings.tracking, settings.track, feeds_noise=False)
                          for roi in settings.more_roi_px] if self._first is not None else []

    def _place(self, results: list[FeatureResult], settings: FocusSettings,
               drive_position_steps: float | None) -> Placement | None:
        """Feeds the placement in depth while two or more features are locked; a new set of
        features or a new lock starts it again."""
        locks = [result.lock for result in results if result.lock is not None]
        if len(locks) < 2 or len(locks) < len(results):
            self._placement = self._placement_key = None
            return None
        key = (self._roi_request, self._more_request, settings.lock_request, len(locks), locks[0].coc_px)
        if key != self._placement_key or self._placement is None:
            self._placement_key = key
            self._placement = DepthPlacement(len(locks), locks[0].coc_px)
        readable = [lock.state.value != "lost" and lock.whole_blur_px is not None for lock in locks]
        return self._placement.observe(drive_position_steps,
                                       [lock.fine_energy if ok else None for lock, ok in zip(locks, readable, strict=True)],
                                       [lock.whole_blur_px if ok else None for lock, ok in zip(locks, readable, strict=True)])

    def restart_tracking_at(self, template_grey: np.ndarray, position_px: tuple[float, float], settings: TrackSettings) -> None:
        """Follow a feature seen in another frame (``template_grey``), expected near
        ``position_px``: how a take is analysed from a lock frame that is not its first."""
        if self._first is None:
            raise RuntimeError("No feature is followed: set roi_px before restarting its tracking.")
        self._first.restart_tracking_at(template_grey, position_px, settings)
