"""Frames and the latest-wins hand-off between threads.

A :class:`Frame` is what every camera source produces and what every later stage reads;
it is immutable so that it can cross threads without copies or locks. A
:class:`LatestSlot` passes the newest item from one thread to another: a slow consumer
drops frames (counted) and never builds latency.
"""

from __future__ import annotations

import numbers
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["Analysis", "CameraState", "CameraStatus", "Frame", "FrameInfo", "Freshness", "LatestSlot", "SlotClosed",
           "frame_freshness"]


def _read_only_metadata(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(metadata or {}))


def _number(value: object) -> float | None:
    """``value`` when it is a real number (a NumPy number as a float; a bool is not one), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return value if isinstance(value, (int, float)) else float(value)


@dataclass(frozen=True)
class FrameInfo:
    """What a source reported about one frame, typed: each source fills ``Frame.metadata``
    as it can (in its own words), and every reader takes it from here by attribute. None
    where the source does not say (or says something that is not a number).

    ``live_view_zoom``: the body's live-view zoom (1: none) and ``live_view_zoom_origin_px``
    the zoomed window's top-left corner; ``drive_position_steps``: the focus drive's
    running count, which the live session adds; ``sim_truth``: the simulated bench's
    ground truth (a ``SimTruth``; ``core`` knows no simulator type); ``camera_af_box_px`` and
    ``camera_zoom_box_px``: the camera's own AF point and zoom frame (x, y, w, h in this
    frame's pixels) where the body says where they are (focuslock.devices.body_report).
    """

    source_kind: str | None = None
    f_number: float | None = None
    exposure_s: float | None = None
    iso: float | None = None
    focal_length_mm: float | None = None
    focus_distance_mm: float | None = None
    pupil_ratio: float | None = None
    sensor_width_mm: float | None = None
    sensor_height_mm: float | None = None
    live_view_zoom: float | None = None
    live_view_zoom_origin_px: tuple[float, float] | None = None
    drive_position_steps: float | None = None
    camera_af_box_px: tuple[int, int, int, int] | None = None
    camera_zoom_box_px: tuple[int, int, int, int] | None = None
    sim_truth: Any = None

    @classmethod
    def of(cls, metadata: Mapping[str, Any]) -> FrameInfo:
        """The typed view of a frame's ``metadata``."""
        kind = metadata.get("source_kind")
        origin = metadata.get("live_view_zoom_origin_px")
        numbers = {name: _number(metadata.get(name)) for name in _NUMBER_FIELDS}
        return cls(source_kind=kind if isinstance(kind, str) else None,
                   live_view_zoom_origin_px=tuple(origin) if isinstance(origin, (tuple, list)) and len(origin) == 2 else None,
                   camera_af_box_px=_box(metadata.get("camera_af_box_px")),
                   camera_zoom_box_px=_box(metadata.get("camera_zoom_box_px")),
                   sim_truth=metadata.get("sim_truth"), **numbers)


def _box(value: Any) -> tuple[int, int, int, int] | None:
    """A box (x, y, w, h) a source reported, or None for anything else (or an empty box)."""
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        return None
    try:
        x, y, w, h = (int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        return None
    return (x, y, w, h) if w > 0 and h > 0 else None


_NUMBER_FIELDS = ("f_number", "exposure_s", "iso", "focal_length_mm", "focus_distance_mm", "pupil_ratio", "sensor_width_mm",
                  "sensor_height_mm", "live_view_zoom", "drive_position_steps")


@dataclass(frozen=True, eq=False)
class Frame:
    """One live-view frame.

    Parameters
    ----------
    sequence:
        Number given by the source, increasing by one per frame it produced (gaps mean
        frames the source itself skipped).
    timestamp_s:
        ``time.monotonic()`` when the frame was acquired.
    image:
        RGB, uint8, shape (H, W, 3), C-contiguous. Made read-only on construction.
    metadata:
        Source facts about this frame: exposure settings (``f_number``, ``exposure_s``,
        ``iso``), the source file, the simulated bench's ground truth, ... Read-only;
        readers take the facts they use from :attr:`info`, typed.
    source:
        The file this frame came from, when it came from one (folder and video sources).
    """

    sequence: int
    timestamp_s: float
    image: np.ndarray
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    # The metadata typed (made once, with the frame).
    info: FrameInfo = field(init=False, repr=False, compare=False, default=FrameInfo())

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                "A frame image must be an RGB uint8 array of shape (H, W, 3), "
                f"got {getattr(image, 'dtype', type(image))} {getattr(image, 'shape', '')}."
            )
        if not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        if image.flags.writeable:
            # Frames are shared between threads; nobody may paint into one in place.
            image = image.view()
            image.flags.writeable = False
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "metadata", _read_only_metadata(self.metadata))
        object.__setattr__(self, "info", FrameInfo.of(self.metadata))

    @property
    def height_px(self) -> int:
        return int(self.image.shape[0])

    @property
    def width_px(self) -> int:
        return int(self.image.shape[1])


class SlotClosed(Exception):
    """Raised by :meth:`LatestSlot.get` once the slot is closed and holds nothing new."""


T = TypeVar("T")


class LatestSlot(Generic[T]):
    """A one-item, latest-wins hand-off between threads.

    ``put`` replaces whatever is waiting; an item replaced before anyone took it counts as
    dropped. ``get`` waits for an item that has not been taken yet. ``peek`` returns the
    newest item without taking it (for pollers such as the window's timer). ``close``
    wakes every waiting consumer; they get :class:`SlotClosed` once nothing new is left.

    With ``keep_every_item`` the slot is a one-place queue instead: ``put`` waits until the
    waiting item was taken (or the slot closed), so nothing is dropped. For a recording
    of a file, where every frame is there to be analysed and none is late.
    """

    def __init__(self, keep_every_item: bool = False) -> None:
        self._condition = threading.Condition()
        self._item: T | None = None
        self._fresh = False
        self._closed = False
        self.keep_every_item = keep_every_item
        self.put_count = 0
        self.dropped_count = 0
        self.taken_count = 0

    def put(self, item: T) -> None:
        with self._condition:
            while self.keep_every_item and self._fresh and not self._closed:
                self._condition.wait()
            if self._closed:
                return
            if self._fresh:
                self.dropped_count += 1
            self._item = item
            self._fresh = True
            self.put_count += 1
            self._condition.notify_all()

    def get(self, timeout_s: float | None = None) -> T | None:
        """Take the newest untaken item; ``None`` when ``timeout_s`` passes first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._condition:
            while not self._fresh:
                if self._closed:
                    raise SlotClosed()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._condition.wait(remaining)
            self._fresh = False
            self.taken_count += 1
            if self.keep_every_item:
                self._condition.notify_all()  # a waiting put may go on
            return self._item

    def peek(self) -> T | None:
        with self._condition:
            return self._item

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class CameraState(StrEnum):
    """The live session's camera state. A ``StrEnum``: each compares equal to, and formats
    as, its text, which is what the status bar, the HUD and the headless CSV's
    ``camera_state`` column show."""

    STARTING = "starting"  # the session is opening the camera
    LIVE = "live"  # frames arrive
    BUSY = "busy"  # the body is busy (another program, a long exposure)
    RECONNECTING = "reconnecting"  # the camera went away; a new one is being opened
    ERROR = "error"  # the camera could not be opened or read; retrying
    ENDED = "ended"  # a finite source ran out (or has no live view)
    STOPPED = "stopped"  # the session is not running


@dataclass(frozen=True)
class CameraStatus:
    """The camera's state as the user sees it in the status bar and the headless output.

    ``state``: a :class:`CameraState` (its text is accepted too, and made the member);
    ``message`` is the one-sentence explanation for the states that need one.
    """

    state: CameraState
    message: str = ""
    since_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", CameraState(self.state))


R = TypeVar("R")


@dataclass(frozen=True, eq=False)
class Analysis(Generic[R]):
    """Everything the processing thread learned about one frame; immutable.

    The window and the headless writer draw and record only from this. ``result`` is what
    the session's processor returned for the frame: for live view a
    :class:`~focuslock.runtime.pipeline.FrameResult` (focus, display, optics, drift, CoC),
    read by attribute. ``Analysis`` is generic in that type rather than holding a dict of
    named results: a consumer's type checker then knows every field and its type, a
    misspelt name fails at once instead of reading as missing, and this module, the bottom
    of the dependency graph, still needs to know none of the upper layers' types. ``None``
    when the processor failed on this frame (``error`` says why) or the session has none.
    The result is frozen by whoever makes it; the analysis shares it across threads as it is.
    """

    frame: Frame
    processing_ms: float
    latency_ms: float
    dropped_frames: int
    frame_rate_hz: float | None
    camera_status: CameraStatus
    result: R | None = None
    error: str | None = None


# A verdict is stale once no new frame has arrived for this long, or for three frame
# intervals of a slow source (an image folder at 1 fps is not stale between frames).
STALE_AFTER_S = 0.75
_STALE_AFTER_FRAMES = 3.0


@dataclass(frozen=True)
class Freshness:
    """How old the newest verdict is and why no newer one came.

    ``label`` is ``"LIVE"`` while frames arrive, otherwise ``"ENDED"`` (a finite source ran
    out), ``"PAUSED"`` (the camera is busy: a capture, a setting) or ``"NO SIGNAL"`` (the
    camera is away, failing or silent). ``age_s``: seconds since the newest frame arrived.
    """

    label: str
    age_s: float
    reason: str = ""

    @property
    def stale(self) -> bool:
        return self.label != "LIVE"

    def headline(self) -> str:
        """'ENDED — verdict from 12 s ago'; '' while live."""
        if not self.stale:
            return ""
        age = f"{self.age_s:.0f} s" if self.age_s >= 9.5 else f"{self.age_s:.1f} s"
        return f"{self.label} — verdict from {age} ago"

    def describe(self) -> str:
        """'ENDED — verdict from 12 s ago (the video ended)'; '' while live."""
        if not self.stale:
            return ""
        return self.headline() + (f" ({self.reason})" if self.reason else "")


def frame_freshness(frame_timestamp_s: float, now_s: float, frame_rate_hz: float | None, status: CameraStatus,
                    busy_with: str | None = None) -> Freshness:
    """Whether the verdict of the frame taken at ``frame_timestamp_s`` (monotonic clock,
    as every source stamps its frames) still describes what is in front of the lens.

    ``busy_with`` names a camera command still running (``"capture"``), which explains
    a pause in live view; the camera's state explains the others. The newest frame is
    live until no frame has followed it for a moment, whatever the camera's state: the
    last frame of a video is as true as the one before it when it arrives.
    """
    age_s = max(0.0, now_s - frame_timestamp_s)
    expected_interval_s = 1.0 / frame_rate_hz if frame_rate_hz and frame_rate_hz > 0 else 0.0
    if age_s <= max(STALE_AFTER_S, _STALE_AFTER_FRAMES * expected_interval_s):
        return Freshness("LIVE", age_s)
    if status.state == CameraState.ENDED:
        return Freshness("ENDED", age_s, status.message)
    if busy_with or status.state == CameraState.BUSY:
        return Freshness("PAUSED", age_s, f"{busy_with} in progress" if busy_with else status.message)
    return Freshness("NO SIGNAL", age_s, status.message or "no new frame from the source")
