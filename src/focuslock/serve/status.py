"""What the server says about one live frame: the lock's verdict per feature, the CoC,
the frame's age and the camera, as one frozen value (and its JSON).

Nothing here judges focus: the states, blurs and CoC come from the lock
(:mod:`focuslock.focus.lock`, through the pipeline's ``FrameResult``) and the CoC of the
live view (:mod:`focuslock.optics.coc`); the frame's age from
:func:`focuslock.core.frames.frame_freshness`. This module only picks the feature that
speaks for the whole (the worst) and spells the values for machines.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from focuslock.core.frames import Freshness
from focuslock.focus.engine import FocusResult
from focuslock.focus.lock import FocusState, LockStatus
from focuslock.runtime.pipeline import LiveAnalysis

__all__ = ["UNLOCKED", "FeatureStatus", "FocusStatus", "focus_status", "worst_state"]

# The state of a session with no lock (nothing followed, or followed and not locked).
UNLOCKED = "unlocked"
# Worst last: the state a gate reports for several features is the worst of theirs.
_SEVERITY = {FocusState.SHARP.value: 0, FocusState.SOFTENING.value: 1, FocusState.UNCERTAIN.value: 2,
             FocusState.SOFT.value: 3, FocusState.LOST.value: 4}


def _number(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


@dataclass(frozen=True)
class FeatureStatus:
    """One followed feature: its box now (live-view px), its state (``unlocked`` before the
    lock), added blur and its noise (px), the blur as a share of the CoC, and why it is
    UNCERTAIN or LOST."""

    roi: tuple[float, float, float, float] | None
    state: str
    blur_px: float | None
    blur_sd_px: float | None
    coc_share: float | None
    reason: str | None
    hint: str | None


@dataclass(frozen=True)
class FocusStatus:
    """The session's answer for one frame (``GET /api/status``, the ``focus`` event).

    ``state``: the worst feature's (``unlocked`` without a lock); ``blur_px``,
    ``blur_sd_px``, ``coc_share``, ``reason`` are that feature's; ``coc_px`` / ``coc_um``
    the live view's CoC; ``blur_um`` the blur on the sensor (None without a sensor size);
    ``fresh`` False when no frame has followed this one for a while (``freshness`` says
    why: ENDED, PAUSED, NO SIGNAL); ``frame_time_s`` the frame's monotonic time stamp;
    ``latency_ms`` from the frame's arrival to its verdict (the engine's part of the delay).
    """

    state: str
    locked: bool
    blur_px: float | None
    blur_sd_px: float | None
    blur_um: float | None
    coc_px: float | None
    coc_um: float | None
    coc_share: float | None
    reason: str | None
    hint: str | None
    frame_age_s: float | None
    fresh: bool
    freshness: str
    fps: float | None
    latency_ms: float | None
    sequence: int | None
    frame_time_s: float | None
    frame_size: tuple[int, int] | None
    drive_position_steps: int | None
    camera: str | None
    camera_state: str
    camera_message: str
    features: tuple[FeatureStatus, ...] = ()
    error: str | None = None

    @property
    def every_feature_sharp(self) -> bool:
        """True when locked and every feature's lock says SHARP (the gate's first condition)."""
        return self.locked and bool(self.features) and all(f.state == FocusState.SHARP.value for f in self.features)

    def to_json(self) -> dict:
        """The status as JSON-ready values (tuples become lists)."""
        data = asdict(self)
        data["features"] = [asdict(feature) for feature in self.features]
        return data


def worst_state(states: list[str]) -> str:
    """The state that speaks for several features: the worst (LOST, SOFT, UNCERTAIN,
    SOFTENING, SHARP); ``unlocked`` when there are none."""
    known = [state for state in states if state in _SEVERITY]
    return max(known, key=_SEVERITY.__getitem__) if known else UNLOCKED


def _feature(roi: tuple[float, float, float, float] | None, lock: LockStatus | None) -> FeatureStatus:
    box = None if roi is None else (round(roi[0], 1), round(roi[1], 1), round(roi[2], 1), round(roi[3], 1))
    if lock is None:
        return FeatureStatus(box, UNLOCKED, None, None, None, None, None)
    return FeatureStatus(box, lock.state.value, _number(lock.blur_px), _number(lock.blur_sd_px), _number(lock.coc_share),
                         lock.reason, lock.hint)


def _features(focus: FocusResult | None) -> tuple[FeatureStatus, ...]:
    if focus is None:
        return ()
    return tuple(_feature(feature.roi_px, feature.lock) for feature in focus.features)


def focus_status(analysis: LiveAnalysis | None, freshness: Freshness, camera_name: str | None, camera_state: str,
                 camera_message: str) -> FocusStatus:
    """The status of ``analysis`` (None: no frame yet) as ``freshness`` judges its age now."""
    if analysis is None:
        return FocusStatus(UNLOCKED, False, None, None, None, None, None, None, None, None, None, False, freshness.label,
                           None, None, None, None, None, None, camera_name, camera_state, camera_message)
    result = analysis.result
    focus = result.focus if result is not None else None
    coc = result.coc if result is not None else None
    features = _features(focus)
    locked = any(feature.state != UNLOCKED for feature in features)
    state = worst_state([feature.state for feature in features]) if locked else UNLOCKED
    # The feature that speaks for the whole: the worst, and among equals the most blurred.
    speaker = max((f for f in features if f.state == state), key=lambda f: -math.inf if f.blur_px is None else f.blur_px,
                  default=None)
    blur_px = speaker.blur_px if speaker is not None and locked else None
    frame = analysis.frame
    steps = frame.metadata.get("drive_position_steps")
    return FocusStatus(
        state=state, locked=locked, blur_px=blur_px, blur_sd_px=speaker.blur_sd_px if speaker is not None else None,
        blur_um=_number(coc.blur_um(blur_px)) if coc is not None and blur_px is not None else None,
        coc_px=_number(coc.coc_px) if coc is not None else None, coc_um=_number(coc.coc_um) if coc is not None else None,
        coc_share=speaker.coc_share if speaker is not None else None, reason=speaker.reason if speaker is not None else None,
        hint=speaker.hint if speaker is not None else None, frame_age_s=_number(freshness.age_s), fresh=not freshness.stale,
        freshness=freshness.label, fps=_number(analysis.frame_rate_hz, 1),
        latency_ms=_number(analysis.latency_ms, 2), sequence=frame.sequence,
        frame_time_s=frame.timestamp_s, frame_size=(frame.width_px, frame.height_px),
        drive_position_steps=int(steps) if isinstance(steps, (int, float)) else None, camera=camera_name,
        camera_state=camera_state, camera_message=camera_message, features=features, error=analysis.error)
