"""The live session behind the server: the same engine as the window and ``live``.

::

    camera -> LiveSession (acquisition + processing threads, runtime/live.py)
           -> LatestSlot[LiveAnalysis] -> publisher thread (here) -> Subscribers (hub.py)
                                                                  -> the newest Published

The publisher is the session's one consumer (as the window's timer or the headless
recorder is): it takes the newest analysis, says it as a
:class:`~focuslock.serve.status.FocusStatus` once, and offers it to every client's
latest-only mailbox. It also notices a feature going SOFT or LOST (``alarm``) and the
camera going away or coming back (``camera``). Requests change what the engine does only
by replacing the session's settings snapshot whole, as the window does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import cv2

from focuslock.core.frames import CameraState, Freshness
from focuslock.devices.base import Camera
from focuslock.focus.lock import FocusState
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline, FrameResult, LiveAnalysis, PipelineSettings
from focuslock.serve.hub import Published, Subscribers
from focuslock.serve.status import FocusStatus, focus_status

__all__ = ["LiveHost"]

logger = logging.getLogger(__name__)

_ALARM_STATES = (FocusState.SOFT.value, FocusState.LOST.value)
# Camera states in which no frame comes: "gone"; LIVE again is "back".
_GONE = (CameraState.RECONNECTING, CameraState.ERROR, CameraState.BUSY)
JPEG_QUALITY = 80


def _dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


class LiveHost:
    """Runs a live session for the server and publishes each processed frame.

    ``camera``: a camera or a factory (a new object per reconnect), as
    :class:`~focuslock.runtime.live.LiveSession` takes; ``settings`` the first
    pipeline settings (the CoC the user gave, the overlay).
    """

    def __init__(self, camera: Camera | Callable[[], Camera], settings: PipelineSettings | None = None) -> None:
        self.session: LiveSession[FrameResult] = LiveSession(camera, processor=FramePipeline(),
                                                             settings=settings or PipelineSettings())
        self.subscribers = Subscribers()
        self._settings_lock = threading.Lock()
        self._published: Published | None = None
        self._publications = threading.Condition()
        self._number = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._feature_states: tuple[str, ...] = ()
        self._camera_state: CameraState | None = None
        self._jpeg_lock = threading.Lock()
        self._jpeg: tuple[int, bytes] | None = None
        self.frames_published = 0

    # ----------------------------------------------------------------- life cycle
    def start(self) -> LiveHost:
        self.session.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._publish_loop, name="focuslock-serve-publisher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.session.stop()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    # ----------------------------------------------------------------- reading
    @property
    def camera_name(self) -> str | None:
        camera = self.session.camera
        return camera.name if camera is not None else None

    def latest(self) -> Published | None:
        return self._published

    def status_now(self) -> FocusStatus:
        """The newest frame's status with its age as of now (stale when no frame followed)."""
        published = self._published
        analysis = published.analysis if published is not None else None
        return self._status(analysis, self.session.freshness(analysis))

    def _status(self, analysis: LiveAnalysis | None, freshness: Freshness) -> FocusStatus:
        status = self.session.status
        return focus_status(analysis, freshness, self.camera_name, str(status.state), status.message)

    def wait_for(self, predicate: Callable[[Published], bool], timeout_s: float) -> Published | None:
        """Block (a worker thread) until a publication satisfies ``predicate``; None on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._publications:
            while True:
                published = self._published
                if published is not None and predicate(published):
                    return published
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._publications.wait(left)

    def jpeg(self, published: Published) -> bytes:
        """The overlaid picture of ``published`` as JPEG (encoded once per frame, whoever asks)."""
        with self._jpeg_lock:
            if self._jpeg is not None and self._jpeg[0] == published.number:
                return self._jpeg[1]
            result = published.analysis.result
            picture = result.display if result is not None else published.analysis.frame.image
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise RuntimeError("OpenCV could not encode the live view as JPEG")
            self._jpeg = (published.number, data.tobytes())
            return self._jpeg[1]

    # ----------------------------------------------------------------- changing the engine
    def follow(self, rois: list[tuple[int, int, int, int]]) -> float:
        """Follow these features (the first, then up to three more), unlocked; returns the
        monotonic time from which frames are processed with them."""
        with self._settings_lock:
            settings: PipelineSettings = self.session.settings
            focus = settings.focus.follow(rois[0])
            for roi in rois[1:]:
                focus = focus.add_feature(roi)
            self.session.set_settings(settings.with_focus(focus))
            return time.monotonic()

    def set_locked(self, locked: bool) -> float:
        """Lock on the followed features where they are now (or unlock)."""
        with self._settings_lock:
            settings: PipelineSettings = self.session.settings
            self.session.set_settings(settings.with_focus(settings.focus.with_lock(locked)))
            return time.monotonic()

    def lock_on(self, rois: list[tuple[int, int, int, int]], timeout_s: float) -> str | None:
        """Follow ``rois`` and lock on them in the first frame where every one is measured
        (blocking: a worker thread); None once a frame has been judged locked, else why not."""
        deadline = time.monotonic() + timeout_s
        since = self.follow(rois)

        def measured(published: Published) -> bool:
            analysis = published.analysis
            focus = analysis.result.focus if analysis.result is not None else None
            return (analysis.frame.timestamp_s >= since and focus is not None and len(focus.features) == len(rois)
                    and all(feature.reading is not None for feature in focus.features))

        if self.wait_for(measured, timeout_s) is None:
            many = len(rois) > 1
            return (f"The feature{'s were' if many else ' was'} not found in live view within {timeout_s:g} s; "
                    "nothing is locked (check the box and that frames arrive).")
        locked_at = self.set_locked(True)
        left = max(0.1, deadline - time.monotonic())
        if self.wait_for(lambda p: p.status.locked and p.analysis.frame.timestamp_s >= locked_at, left) is None:
            return "The lock was asked for but no frame has been judged with it yet; ask /api/status."
        logger.info("locked on %s", rois)
        return None

    def unfollow(self) -> None:
        with self._settings_lock:
            settings: PipelineSettings = self.session.settings
            self.session.set_settings(replace(settings, focus=settings.focus.follow(None)))

    def announce(self, kind: str, **fields: object) -> None:
        """An event for every client (``captured``, ``checked``, ``stack`` …)."""
        self.subscribers.offer(event=_dumps({"type": kind, **fields}))

    # ----------------------------------------------------------------- the publisher
    def _publish_loop(self) -> None:
        while not self._stop.is_set():
            analysis = self.session.next_analysis(timeout_s=0.25)
            self._watch_camera()
            if analysis is None:
                if not self.session.running:
                    return
                continue
            status = self._status(analysis, self.session.freshness(analysis))
            self._number += 1
            published = Published(status, _dumps({"type": "focus", **status.to_json()}), analysis, self._number)
            with self._publications:
                self._published = published
                self._publications.notify_all()
            self.frames_published += 1
            self._watch_alarms(status)
            self.subscribers.offer(published)

    def _watch_alarms(self, status: FocusStatus) -> None:
        states = tuple(feature.state for feature in status.features)
        before = self._feature_states
        self._feature_states = states
        for index, state in enumerate(states):
            was = before[index] if index < len(before) else None
            if state in _ALARM_STATES and was != state and len(states) == len(before):
                feature = status.features[index]
                logger.info("feature %d went %s", index + 1, state)
                self.announce("alarm", feature=index, state=state, blur_px=feature.blur_px, coc_share=feature.coc_share,
                              reason=feature.reason, sequence=status.sequence)

    def _watch_camera(self) -> None:
        status = self.session.status
        before, self._camera_state = self._camera_state, status.state
        if before is None or before == status.state:
            return
        if status.state in _GONE and before not in _GONE:
            self.announce("camera", state=str(status.state), present=False, message=status.message)
        elif status.state == CameraState.LIVE and before in _GONE:
            self.announce("camera", state=str(status.state), present=True, message=f"{self.camera_name or 'the camera'} is back")
