"""``focuslock analyze``: frame-by-frame focus check of a take, a stack or a folder.

A pass locks on the lock frame and runs every frame through the live engine in take
mode: followed, measured, judged. With ``--lock-best`` a first pass (locked on frame 0)
finds the sharpest frame and a second locks there; the second replays what the first
kept of each frame — the part the feature could reach, and the sharpest frame whole —
instead of decoding the take again (it decodes again only when that would not fit in
memory, or when its tracker reaches outside what was kept). Decoding (straight to RGB)
runs on a helper thread, a few frames ahead.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from focuslock.devices.base import CameraError, CorruptFrameError
from focuslock.io.files import save_error_for
from focuslock.devices.folder import IMAGE_SUFFIXES, list_images, read_rgb_image
from focuslock.io.video_file import VideoFileReader
from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.lock import MAX_COC_PX, FocusState, LockSettings, LockStatus
from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES, FocusReading
from focuslock.focus.peaking import FOCUS_MAP_DISPLAY, PeakingSettings
from focuslock.focus.take_noise import NEIGHBOURS, pair_noise_sigmas
from focuslock.optics.dof import (LIVE_VIEW_RESOLVES_COC_PX, DofResult, LiveViewCoc, OpticsError, coc_in_live_view,
                                  depth_for_live_view_blur_mm, depth_of_field, describe_depth)
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.overlay.hud import draw_text_panel
from focuslock.overlay.plot import draw_sharpness_plot
from focuslock.io.outputs import OutputError, replace_file
from focuslock.overlay.focus_map_layer import FocusMapLayer
from focuslock.overlay.render import OverlayRenderer, OverlaySettings
from focuslock.io.recording import RecordingError, VideoRecorder

__all__ = ["AnalysisError", "FrameRecord", "InputFrame", "TakeLens", "TakeSensor", "analyze", "iter_input"]


class AnalysisError(Exception):
    """The input cannot be analysed; the text is one sentence for the user."""


@dataclass
class InputFrame:
    index: int
    source: str | None
    time_s: float | None
    rgb: np.ndarray | None  # converted on the decode thread, off the analysis's path
    error: str | None = None
    last_index: int | None = None  # of a skipped stretch (one item, however long)


@dataclass
class FrameRecord:
    index: int
    source: str | None
    time_s: float | None
    reading: FocusReading | None
    roi_px: tuple[float, float, float, float] | None
    lost: bool
    error: str | None = None
    lock: LockStatus | None = None
    last_index: int | None = None  # a skipped stretch is one record: frames index–last_index

    @property
    def state(self) -> str:
        return self.lock.state.value if self.lock is not None else FocusState.LOST.value

    @property
    def blur_px(self) -> float | None:
        """The measured blur; None where the reading ran off the end of the feature's
        through-focus curve (the number would be the curve's end, not a measurement:
        :attr:`reason` says which way)."""
        if self.lock is None or self.lock.beyond_range:
            return None
        return self.lock.blur_px

    @property
    def blur_sd_px(self) -> float | None:
        return self.lock.blur_sd_px if self.lock is not None and not self.lock.beyond_range else None

    @property
    def reason(self) -> str | None:
        if self.lock is None:
            return None
        if self.lock.beyond_range and self.lock.blur_px is not None and self.lock.state != FocusState.LOST:
            beyond = (f"sharper than the lock frame by more than {-self.lock.blur_px:.1f} px (the most its curve measures)"
                      if self.lock.blur_px < 0 else
                      f"blurred by at least {self.lock.blur_px:.1f} px (past the end of the feature's through-focus curve)")
            return f"{self.lock.reason}; {beyond}" if self.lock.reason else beyond
        return self.lock.reason


# The blur of each frame in its units, and the decimals the JSON and the CSV give it.
FRAME_NUMBER_DIGITS = {"blur_px": 4, "blur_sd_px": 4, "blur_um": 3, "coc_share": 4, "defocus_um": 2}


@dataclass
class AnalysisReport:
    input: str
    frames: list[FrameRecord]
    best_frame: int | None
    lock_frame: int | None
    measure: str
    frame_count_hint: int | None = None
    written: dict = field(default_factory=dict)
    coc_px: float | None = None
    # The CoC from the optics (with --coc-um or a body): gives blurs in µm on the sensor.
    coc: LiveViewCoc | None = None
    noise_sigma: float | None = None
    lock_warning: str | None = None
    # The depth of field of the take's optics (with --f-number and --magnification): turns
    # blurs into distance from the plane of focus at the subject.
    dof: DofResult | None = None
    # The second pass of --lock-best replayed the first's crops (the take decoded once).
    replayed: bool = False

    def defocus_um(self, record: "FrameRecord") -> float | None:
        """How far (µm, at the subject) the feature lies from the lock frame's plane of
        focus, from its blur and the optics; None without them or for a sharper frame."""
        if self.dof is None or self.coc is None or record.blur_px is None:
            return None
        depth_mm = depth_for_live_view_blur_mm(self.dof, self.coc, record.blur_px)
        return None if depth_mm is None else depth_mm * 1000.0

    def frame_numbers(self, record: "FrameRecord") -> dict[str, float | None]:
        """A frame's blur in every unit this report has (None where it has not), in the
        order of ``FRAME_NUMBER_DIGITS``: what the JSON, the CSV and the plot give."""
        blur, sd = record.blur_px, record.blur_sd_px
        return {
            "blur_px": blur,
            "blur_sd_px": sd if sd is not None and math.isfinite(sd) else None,
            "blur_um": None if blur is None or self.coc is None else self.coc.blur_um(blur),
            # A frame sharper than the lock's has no share of the depth of field.
            "coc_share": (None if blur is None or round(blur, FRAME_NUMBER_DIGITS["blur_px"]) < 0 or not self.coc_px
                          else blur / self.coc_px),
            "defocus_um": self.defocus_um(record),
        }

    def to_json(self) -> dict:
        return {
            "input": self.input,
            "measure": self.measure,
            "coc_px": self.coc_px,
            "coc_um": None if self.coc is None else round(self.coc.coc_um, 3),
            "pixel_pitch_um": None if self.coc is None else round(self.coc.pixel_pitch_um, 4),
            "noise_sigma": None if self.noise_sigma is None else round(self.noise_sigma, 4),
            "lock_warning": self.lock_warning,
            "dof_mm": None if self.dof is None or not math.isfinite(self.dof.total_mm) else round(self.dof.total_mm, 5),
            "frames": [
                {
                    "index": r.index,
                    "source": r.source,
                    "file": None if r.source is None else Path(r.source).name,
                    "time_s": None if r.time_s is None else round(r.time_s, 4),
                    "sharpness": None if r.reading is None else r.reading.score,
                    **{name: None if value is None else round(value, FRAME_NUMBER_DIGITS[name])
                       for name, value in self.frame_numbers(r).items()},
                    "state": r.state,
                    **({"reason": r.reason} if r.reason else {}),
                    "roi": None if r.roi_px is None else [round(v, 2) for v in r.roi_px],
                    **({"error": r.error} if r.error else {}),
                    **({"last_index": r.last_index} if r.last_index is not None else {}),
                }
                for r in self.frames
            ],
            "best_frame": self.best_frame,
            "lock_frame": self.lock_frame,
        }


# ----------------------------------------------------------------------------- input
def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES


def iter_input(target: str) -> tuple[Iterator[InputFrame], int | None]:
    """Frames of a video file, a folder of images or a glob, with a count if known."""
    path = Path(target)
    if _is_video(path):
        try:
            reader = VideoFileReader(path, pixel_format="rgb24")
        except CameraError as error:
            raise AnalysisError(error.user_message) from None
        return _video_frames(reader), reader.frame_count
    if path.is_file():
        paths = [path]
    elif path.is_dir() or any(ch in target for ch in "*?["):
        try:
            paths = list_images(target)
        except Exception as error:  # CameraNotFoundError carries the sentence
            raise AnalysisError(str(error)) from None
    else:
        raise AnalysisError(f"{target} does not exist.")
    if not paths:
        raise AnalysisError(f"{target} holds no images to analyse.")
    return _image_frames(paths), len(paths)


def input_paths(target: str) -> list[Path]:
    """The files ``target`` names (a video, an image, or the images of a folder or glob):
    what no output may replace."""
    path = Path(target)
    if path.is_file():
        return [path]
    try:
        return list_images(target)
    except Exception:  # noqa: BLE001 - nothing readable: nothing to protect either
        return []


def _video_frames(reader: VideoFileReader) -> Iterator[InputFrame]:
    """The reader's frames as the analysis takes them; a skipped stretch is one item
    (frames ``index``–``last_index``) with the reader's sentence, however many frames
    a timestamp claims it holds."""
    source = str(reader.path)
    try:
        for item in reader.frames():
            if item.image is not None:
                yield InputFrame(item.index, source, item.time_s, item.image)
                continue
            last = item.last_index if item.last_index is not None and item.last_index > item.index else None
            yield InputFrame(item.index, source, None, None, item.error, last)
    finally:
        reader.close()


def _image_frames(paths: list[Path]) -> Iterator[InputFrame]:
    for index, path in enumerate(paths):
        try:
            yield InputFrame(index, str(path), None, read_rgb_image(path))
        except CorruptFrameError as error:
            yield InputFrame(index, str(path), None, None, error.user_message)


# The second pass of --lock-best replays the first pass's crops within this much memory
# (else it decodes the take again): about 1 800 frames of a 1080p take's feature.
REPLAY_LIMIT_BYTES = 512 * 2**20
# Room kept around the first pass's reach for the second pass's tracker, which starts
# from another frame with another template, px on every side.
REPLAY_SLACK_PX = 24


class _ReplayMiss(Exception):
    """The second pass reads a part of a frame that the first did not keep."""


@dataclass
class _Crop:
    """The part of a frame the feature could reach, at ``origin_px`` (x, y) in it."""

    index: int
    source: str | None
    time_s: float | None
    crop_rgb: np.ndarray
    origin_px: tuple[int, int]


class _Replay:
    """What the first pass of ``--lock-best`` keeps so that the second need not decode the
    take again: each frame's part that the feature could reach (what the engine converted,
    ``FocusEngine.last_region_px``, widened by ``REPLAY_SLACK_PX``), the sharpest frame so
    far whole (the second pass's lock frame, where the noise is measured), and the frames
    that could not be read, in order. Iterating it gives the second pass its frames: each
    crop pasted into one frame-sized buffer whose other pixels are stale — read by
    nothing, which :meth:`check_holds` makes sure of for each frame processed."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.items: list[_Crop | InputFrame] = []
        self.bytes = 0
        self.complete = True  # false once over the limit: the second pass decodes
        self.whole_index: int | None = None
        self.whole_rgb: np.ndarray | None = None
        self.frame_count_hint: int | None = None
        self._buffer: np.ndarray | None = None
        self._boxes: dict[int, tuple[int, int, int, int]] = {}
        self._shape: tuple[int, ...] | None = None

    def keep(self, item: InputFrame, box: tuple[int, int, int, int] | None) -> None:
        if not self.complete:
            return
        if item.rgb is None:
            self.items.append(item)
            return
        height, width = item.rgb.shape[:2]
        x0, y0, x1, y1 = box if box is not None else (0, 0, width, height)
        x0, y0 = max(x0 - REPLAY_SLACK_PX, 0), max(y0 - REPLAY_SLACK_PX, 0)
        x1, y1 = min(x1 + REPLAY_SLACK_PX, width), min(y1 + REPLAY_SLACK_PX, height)
        crop = item.rgb[y0:y1, x0:x1].copy()
        self.bytes += crop.nbytes
        if self.bytes > self.limit_bytes:
            self.release()
            return
        self.items.append(_Crop(item.index, item.source, item.time_s, crop, (x0, y0)))
        self._shape = item.rgb.shape

    def keep_whole(self, index: int, rgb: np.ndarray) -> None:
        if self.complete:
            self.whole_index, self.whole_rgb = index, rgb.copy()

    def release(self) -> None:
        self.complete = False
        self.items, self.whole_rgb, self._buffer = [], None, None

    def __iter__(self) -> Iterator[InputFrame]:
        for item in self.items:
            if isinstance(item, InputFrame):
                yield item
                continue
            if self._buffer is None:
                self._buffer = np.zeros(self._shape, np.uint8)
            x0, y0 = item.origin_px
            h, w = item.crop_rgb.shape[:2]
            self._buffer[y0 : y0 + h, x0 : x0 + w] = item.crop_rgb
            self._boxes[item.index] = (x0, y0, x0 + w, y0 + h)
            yield InputFrame(item.index, item.source, item.time_s, self._buffer)

    def check_holds(self, item: InputFrame, box: tuple[int, int, int, int] | None) -> None:
        """Raise :class:`_ReplayMiss` unless the frame's kept part holds ``box`` (None:
        the whole frame is read)."""
        kept = self._boxes.get(item.index)
        if box is None or kept is None or not (kept[0] <= box[0] and kept[1] <= box[1]
                                               and box[2] <= kept[2] and box[3] <= kept[3]):
            raise _ReplayMiss()

    def close(self) -> None:
        pass


class _Prefetch:
    """Decodes the next frames on a helper thread while the current one is analysed."""

    _END = object()

    def __init__(self, frames: Iterator[InputFrame], depth: int = 3) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(frames,), name="focuslock-analyze-decode", daemon=True)
        self._thread.start()

    def _run(self, frames: Iterator[InputFrame]) -> None:
        try:
            for frame in frames:
                while not self._stop.is_set():
                    try:
                        self._queue.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    break
        except Exception as error:  # the reader failing mid-way ends the input, reported
            self._queue.put(error)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
            self._queue.put(self._END)

    def __iter__(self) -> Iterator[InputFrame]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, Exception):
                raise AnalysisError(f"Reading the input failed: {item}.")
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()


# ---------------------------------------------------------------------------- analyse
def _roi_inside(roi: tuple[int, int, int, int], shape: tuple[int, ...]) -> None:
    x, y, w, h = roi
    height, width = shape[:2]
    if w < 3 or h < 3 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise AnalysisError(f"The region {x},{y},{w},{h} is not inside the {width}×{height} frames.")


@dataclass(frozen=True)
class TakeSensor:
    """The sensor the take was shot with, to derive the CoC in the take's pixels:
    ``coc_mm`` None is the sensor's conventional diagonal / 1500."""

    width_mm: float
    height_mm: float | None = None
    coc_mm: float | None = None

    def coc(self, frame_width_px: int) -> LiveViewCoc:
        return coc_in_live_view(frame_width_px, coc_mm=self.coc_mm, sensor_width_mm=self.width_mm,
                                sensor_height_mm=self.height_mm)


@dataclass(frozen=True)
class TakeLens:
    """The aperture and magnification the take was shot at: with the sensor's CoC they
    give the depth of field, and each blur becomes a distance from the plane of focus.
    The focal length matters little at macro magnifications (the depth of field there
    depends on N·c·(1 + m/p)/m²), hence its default."""

    f_number: float
    magnification: float
    focal_length_mm: float = 100.0
    pupil_ratio: float = 1.0

    def depth_of_field(self, coc_um: float) -> DofResult:
        try:
            return depth_of_field(self.focal_length_mm, self.f_number, coc_um / 1000.0, magnification=self.magnification,
                                  pupil_ratio=self.pupil_ratio)
        except OpticsError as error:
            raise AnalysisError(str(error)) from None


def analyze(target: str, roi_px: tuple[int, int, int, int], *, lock_frame: int | None = None, lock_best: bool = False,
            track: bool = True, measure: str = DEFAULT_MEASURE, lock_settings: LockSettings | None = None,
            overlay_video: Path | None = None, progress: bool = False, sensor: TakeSensor | None = None,
            lens: TakeLens | None = None, overlay: str = "peaking") -> AnalysisReport:
    """Analyse every frame of ``target`` for the feature in ``roi_px``.

    ``roi_px`` is where the feature is in the lock frame (``lock_frame``; by default frame
    0 of a video and the sharpest frame of a stack or folder; with ``lock_best`` — the
    default for a stack or folder — it is where the feature is in frame 0, and the lock
    goes to the sharpest frame found by a first pass). The frames run through the
    same :class:`~focuslock.focus.engine.FocusEngine` as live view, in take mode: the
    noise is measured once on the lock frame and every frame is judged on its own.
    With ``sensor`` the CoC comes from the optics (the sensor's CoC in the take's
    pixels) instead of ``lock_settings.coc_px``, and blurs are also given in µm; with
    ``lens`` too, as µm of defocus at the subject. ``overlay``: what ``overlay_video``
    paints, one of :data:`OVERLAY_MODES` (peaking, or the focus map).
    """
    if overlay not in OVERLAY_MODES:
        raise AnalysisError(f"Unknown overlay {overlay!r}; use one of {', '.join(OVERLAY_MODES)}.")
    if lens is not None and sensor is None:
        raise AnalysisError("The defocus at the subject needs the sensor too: add --camera NAME or --sensor-width-mm MM.")
    if measure not in MEASURES:
        raise AnalysisError(f"Unknown measure {measure!r}; use one of {', '.join(MEASURES)}.")
    lock_settings = dataclasses.replace(lock_settings or LockSettings(), take_mode=True)
    if lock_frame is None and not lock_best:
        # A stack or a folder is judged against its sharpest frame unless told otherwise:
        # locked on frame 0 (often the softest of a stack), every frame sharper than it
        # would read "SHARP" only for being no softer than frame 0. A video locks on its
        # first frame, where a take usually starts in focus.
        path = Path(target)
        lock_best = not _is_video(path) and not path.is_file()
    if not lock_best:
        lock_index = int(lock_frame) if lock_frame else 0
        return _run(target, roi_px, lock_index, track, measure, lock_settings, overlay_video,
                    "analyze" if progress else None, sensor, lens, overlay=overlay)
    # A first pass locked on frame 0 finds the sharpest frame; the second locks there,
    # replaying what the first kept (an overlay video needs whole frames: decoded again).
    kept = _Replay(REPLAY_LIMIT_BYTES) if overlay_video is None else None
    # Both passes show their progress: the first (which decodes) is most of the time.
    first = _run(target, roi_px, 0, track, measure, lock_settings, None,
                 "analyze, finding the sharpest frame" if progress else None, sensor, None, keep=kept)
    second_label = "analyze, against the sharpest frame" if progress else None
    best = first.best_frame
    if best is None:
        raise AnalysisError(f"The feature could not be measured in any frame of {target}.")
    roi_best = next(r for r in first.frames if r.index == best).roi_px
    best_roi = tuple(int(round(v)) for v in roi_best) if roi_best is not None else roi_px
    if kept is not None and kept.complete:
        kept.frame_count_hint = first.frame_count_hint
        try:
            report = _run(target, best_roi, best, track, measure, lock_settings, None, second_label, sensor, lens,
                          replay=kept)
            report.replayed = True
            return report
        except _ReplayMiss:
            pass  # the second pass's tracker went beyond what was kept: decode again
        finally:
            kept.release()
    return _run(target, best_roi, best, track, measure, lock_settings, overlay_video, second_label, sensor, lens,
                overlay=overlay)


def _judged(record: "FrameRecord") -> bool:
    """A frame whose feature was measured against the lock (a candidate for the best)."""
    return record.lock is not None and record.lock.fine_energy is not None and record.state != FocusState.LOST.value


def _run(target: str, roi_px, lock_index: int, track: bool, measure: str, lock_settings: LockSettings,
         overlay_video: Path | None, progress: str | None, sensor: TakeSensor | None, lens: TakeLens | None,
         keep: "_Replay | None" = None, replay: "_Replay | None" = None, overlay: str = "peaking") -> AnalysisReport:
    """One pass: lock on frame ``lock_index`` at ``roi_px``, then judge every frame.
    ``progress``: the label of a progress line on stderr (None: no line). ``keep``: what
    a second pass may replay is kept there; ``replay``: the frames come from a first
    pass's ``keep`` (raises :class:`_ReplayMiss` where it does not hold what this pass
    reads)."""
    # Without an overlay nothing reads the frame's luma beyond the feature's reach.
    engine = FocusEngine(take_mode=True, luma_near_features_only=overlay_video is None)
    lock_rgb, neighbours = _lock_frame(target, lock_index, replay)
    _roi_inside(roi_px, lock_rgb.shape)
    coc = sensor.coc(lock_rgb.shape[1]) if sensor is not None else None
    # Before the pass, so that impossible optics stop the run at once.
    dof = lens.depth_of_field(coc.coc_um) if lens is not None and coc is not None and coc.coc_um else None
    if coc is not None:
        try:
            lock_settings = dataclasses.replace(lock_settings, coc_px=coc.coc_px)
        except ValueError:  # a CoC the optics make absurd in the take's pixels
            raise AnalysisError(f"The CoC comes out at {coc.coc_px:.0f} px of the take ({coc.coc_um:g} µm on a sensor "
                                f"{sensor.width_mm:g} mm wide), more than the {MAX_COC_PX:g} px a lock can use: check "
                                "--coc-um and the sensor.") from None
    settings = FocusSettings(measure=measure, track=track, lock=lock_settings,
                             peaking=PeakingSettings(enabled=overlay_video is not None)).follow(roi_px).with_lock(True)
    # The noise, as live view measures it: on the still feature in the frames around the
    # lock frame (texture cancels), or the lock frame alone where none held still.
    lock_grey = cv2.cvtColor(lock_rgb, cv2.COLOR_RGB2GRAY)
    engine.noise.observe_frame(lock_grey)
    engine.noise.hold_measured(pair_noise_sigmas(lock_grey, neighbours, roi_px))
    first = engine.process(lock_rgb, settings)
    if first.lock is None:
        raise AnalysisError(f"The feature could not be measured in the lock frame {lock_index}.")
    if track and lock_index != 0:
        x, y, w, h = roi_px
        engine.restart_tracking_at(lock_grey[y : y + h, x : x + w], (x, y), settings.tracking)
    if replay is not None:
        prefetch, count = replay, replay.frame_count_hint
    else:
        frames, count = iter_input(target)
        prefetch = _Prefetch(frames)
    records: list[FrameRecord] = []
    best_energy = -math.inf
    writer = _OverlayWriter(overlay_video, _take_frame_rate(target), overlay) if overlay_video is not None else None
    started = time.monotonic()
    completed = False
    try:
        for item in prefetch:
            if item.rgb is None:
                if keep is not None:
                    keep.keep(item, None)
                records.append(FrameRecord(item.index, item.source, item.time_s, None, None, True, item.error,
                                           last_index=item.last_index))
                continue
            rgb = item.rgb
            if rgb.shape != lock_rgb.shape:
                skipped = f"Frame {item.index} is {rgb.shape[1]}×{rgb.shape[0]}, not the lock frame's size; skipped."
                if keep is not None:
                    keep.keep(InputFrame(item.index, item.source, item.time_s, None, skipped), None)
                records.append(FrameRecord(item.index, item.source, item.time_s, None, None, True, skipped))
                continue
            result = engine.process(rgb, settings)
            # What this frame's work read: a replay that did not hold it read stale
            # pixels, and the whole pass is dropped (_ReplayMiss) before its result counts.
            if replay is not None:
                replay.check_holds(item, engine.last_region_px)
            elif keep is not None:
                keep.keep(item, engine.last_region_px)
            record = FrameRecord(item.index, item.source, item.time_s, result.reading, result.roi_px,
                                 result.lock is None or result.lock.state == FocusState.LOST, lock=result.lock)
            records.append(record)
            if keep is not None and _judged(record) and record.lock.fine_energy > best_energy:
                best_energy = record.lock.fine_energy
                keep.keep_whole(item.index, rgb)
            if writer is not None:
                writer.write(rgb, result, settings, engine)
            if progress:
                _progress(item.index + 1, count, started, progress)
        completed = True
    finally:
        prefetch.close()
        if writer is not None:
            writer.close(complete=completed)
        if progress:
            sys.stderr.write("\n")
    if not records or all(r.error for r in records):
        raise AnalysisError(f"No frame of {target} could be read.")
    judged = [r for r in records if _judged(r)]
    best = max(judged, key=lambda r: r.lock.fine_energy).index if judged else None
    report = AnalysisReport(target, records, best, lock_index, measure, frame_count_hint=count)
    report.coc_px = lock_settings.coc_px
    report.coc = coc
    report.dof = dof
    report.noise_sigma = engine.noise.sigma
    report.lock_warning = engine.lock.warning if engine.lock is not None else None
    if overlay_video is not None:
        report.written["overlay_video"] = str(overlay_video)
    return report


def _lock_frame(target: str, index: int, replay: "_Replay | None") -> tuple[np.ndarray, list[np.ndarray]]:
    """Frame ``index`` (RGB) and the grey frames up to :data:`NEIGHBOURS` on each side of
    it, in one pass over the input (from the replay of a first pass when there is one:
    its kept parts hold the feature's reach, and the lock frame is kept whole)."""
    wanted = set(range(max(index - NEIGHBOURS, 0), index + NEIGHBOURS + 1)) - {index}
    greys: list[np.ndarray] = []
    # A replay keeps the lock frame whole only when it is the frame it kept whole.
    use_replay = replay is not None and replay.whole_index == index
    lock_rgb = replay.whole_rgb if use_replay else None
    frames: Iterator[InputFrame]
    if use_replay:
        frames, count = iter(replay), None
    else:
        frames, count = iter_input(target)
    if count is not None and index >= count:
        raise AnalysisError(f"The input has {count} frames; there is no frame {index} to lock on.")
    try:
        for item in frames:
            if item.index > index + NEIGHBOURS and lock_rgb is not None:
                break
            if lock_rgb is None and item.index <= index <= (item.last_index or item.index):
                if item.rgb is None:
                    raise AnalysisError(f"The lock frame {index} cannot be read: {item.error}")
                lock_rgb = item.rgb
            elif item.index in wanted and item.rgb is not None:
                greys.append(cv2.cvtColor(item.rgb, cv2.COLOR_RGB2GRAY))
    finally:
        close = getattr(frames, "close", None)
        if close:
            close()
    if lock_rgb is None:
        raise AnalysisError(f"The input has no frame {index} to lock on.")
    return lock_rgb, greys


def _take_frame_rate(target: str) -> float:
    """A video's own frame rate; a stack or folder plays one frame a second."""
    path = Path(target)
    if _is_video(path):
        try:
            with VideoFileReader(path) as reader:
                rate = reader.frame_rate_hz
        except CameraError:
            rate = None
        if rate is not None and 0.5 < rate < 500:
            return float(rate)
    return 1.0


def _progress(done: int, total: int | None, started: float, label: str = "analyze") -> None:
    rate = done / max(time.monotonic() - started, 1e-6)
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} frames, {rate:5.1f} fps")
    else:
        sys.stderr.write(f"\r{label} {done} frames, {rate:5.1f} fps")
    sys.stderr.flush()


# What an overlay video paints: peaking, or the focus map (focuslock.focus.focus_map:
# which parts of each frame lie within the depth of field).
OVERLAY_MODES = ("peaking", FOCUS_MAP_DISPLAY)


class _OverlayWriter:
    """The take as an MP4 drawn by the same overlay renderer as live view: peaking (or,
    with ``overlay`` "focus-map", the focus map), the feature's box in its state colour,
    the verdict. Written under a hidden temporary name beside ``path`` and renamed into
    place when complete (after the outputs were checked: never over an input, over an
    existing file only with ``--force``)."""

    def __init__(self, path: Path, frame_rate_hz: float, overlay: str = "peaking") -> None:
        self.path = Path(path)
        self.temporary = self.path.with_name(f".{self.path.stem}.part{self.path.suffix or '.mp4'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AnalysisError(str(save_error_for(error, self.path.name, self.path.parent))) from None
        self.recorder = VideoRecorder(self.temporary, frame_rate_hz)
        self.renderer = OverlayRenderer()
        self.focus_map = overlay == FOCUS_MAP_DISPLAY
        if self.focus_map:
            # Every frame, every reference built as it is due: a file has no frame budget,
            # and the same take gives the same video.
            self.renderer.focus_map = FocusMapLayer.offline()

    def write(self, rgb: np.ndarray, result, settings: FocusSettings, engine: FocusEngine) -> None:
        peaking = dataclasses.replace(settings.peaking, display=FOCUS_MAP_DISPLAY) if self.focus_map else settings.peaking
        out = self.renderer.render(rgb, result, peaking, OverlaySettings(), luma=engine.last_grey)
        if result.lock is not None:
            # With the focus map, its legend holds the bottom of the frame.
            out = draw_text_panel(out, [result.lock.describe()], corner="top-left" if self.focus_map else "bottom-left",
                                  colour_rgb=STATE_COLOURS_RGB.get(result.lock.state.value, (255, 255, 255)))
        try:
            self.recorder.write(out)
        except RecordingError as error:
            raise AnalysisError(f"{error} The overlay video is left as {self.temporary}.") from None

    def close(self, complete: bool = True) -> None:
        segments = self.recorder.close()
        if complete and segments:
            try:
                os.replace(self.temporary, self.path)
            except OSError as error:
                raise AnalysisError(str(save_error_for(error, self.path.name, self.path.parent))) from None


# ---------------------------------------------------------------------------- outputs
def plot_path_for(csv_path: Path) -> Path:
    """Where the plot goes: beside the CSV, same name, ``.png``."""
    return Path(csv_path).with_suffix(".png")


def write_csv(report: AnalysisReport, path: Path) -> Path:
    """The per-frame CSV and its plot, each written whole (temporary file and rename);
    the caller checked both names first (:func:`focuslock.io.outputs.check_outputs`)."""
    from focuslock.io.csv_safe import safe_row

    text = io.StringIO(newline="")
    table = csv.writer(text)
    table.writerow(["index", "file", "time_s", *FRAME_NUMBER_DIGITS, "state", "reason", "sharpness",
                    "roi_x", "roi_y", "roi_w", "roi_h", "error"])
    for r in report.frames:
        roi = [f"{v:.2f}" for v in r.roi_px] if r.roi_px is not None else ["", "", "", ""]
        numbers = ["" if value is None else f"{value:.{FRAME_NUMBER_DIGITS[name]}f}"
                   for name, value in report.frame_numbers(r).items()]
        # File names, reasons and errors are text from outside (a folder's names): never a formula.
        table.writerow(safe_row([r.index, Path(r.source).name if r.source else "",
                                 "" if r.time_s is None else f"{r.time_s:.4f}", *numbers, r.state, r.reason or "",
                                 "" if r.reading is None else f"{r.reading.score:.6g}", *roi, r.error or ""]))
    plot_path = plot_path_for(path)
    xs = [r.time_s if r.time_s is not None else float(r.index) for r in report.frames]
    axis = "time (s)" if any(r.time_s is not None for r in report.frames) else "frame"
    shares = [report.frame_numbers(r)["coc_share"] for r in report.frames]
    image = draw_sharpness_plot(xs, shares, [r.state for r in report.frames],
                                best_x=xs[_position(report, report.best_frame)] if report.best_frame is not None else None,
                                lock_x=xs[_position(report, report.lock_frame)] if report.lock_frame is not None else None,
                                x_label=axis, title=f"{Path(report.input).name}: blur against frame {report.lock_frame}, "
                                                    f"CoC {report.coc_px:g} px")
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    try:
        replace_file(path, text.getvalue().encode("utf-8"))
        if ok:
            replace_file(plot_path, png.tobytes())
    except OutputError as error:
        raise AnalysisError(str(error)) from None
    report.written["csv"] = str(path)
    report.written["plot"] = str(plot_path)
    return path


def _position(report: AnalysisReport, index: int) -> int:
    """Where frame ``index``'s record is in ``report.frames`` (a stretch is one record)."""
    return next(n for n, r in enumerate(report.frames) if r.index == index)


def summary_lines(report: AnalysisReport) -> list[str]:
    counts: dict[str, int] = {}
    for r in report.frames:
        counts[r.state] = counts.get(r.state, 0) + 1
    lines = [
        f"{report.input}: {len(report.frames)} frames, measure {report.measure}",
        f"best frame {report.best_frame}, lock frame {report.lock_frame}",
        "states: " + ", ".join(f"{state} {counts[state]}" for state in ("sharp", "softening", "soft", "uncertain", "lost")
                               if state in counts),
    ]
    if report.coc is not None:
        coc = report.coc
        lines.append(f"CoC {coc.coc_um:.0f} µm = {coc.coc_px:.2f} px of these frames ({coc.pixel_pitch_um:.1f} µm per pixel)")
        if coc.coc_px < LIVE_VIEW_RESOLVES_COC_PX:
            lines.append(f"The CoC is finer than these frames resolve ({coc.coc_px:.2f} px): they cannot tell sharp from "
                         "softening; analyse the full-resolution files.")
    if report.dof is not None and math.isfinite(report.dof.total_mm):
        dof = report.dof
        defocus = [(report.defocus_um(r), r.index) for r in report.frames]
        defocus = [(um, index) for um, index in defocus if um is not None]
        line = f"DoF {describe_depth(dof.total_mm)} at f/{dof.f_number:g} and {dof.magnification:g}×"
        if defocus:
            um, index = max(defocus)
            line += f"; farthest from the lock frame's plane of focus: frame {index}, about {describe_depth(um / 1000.0)}"
        lines.append(line)
    if report.lock_warning:
        lines.append(report.lock_warning)
    corrupt = [r for r in report.frames if r.error]
    if corrupt:
        count = sum((r.last_index if r.last_index is not None else r.index) - r.index + 1 for r in corrupt)
        lines.append(f"skipped {count:,} unreadable frame(s): " + "; ".join(r.error for r in corrupt[:3]))
    for kind, path in report.written.items():
        lines.append(f"wrote {path}")
    return lines


def report_json(report: AnalysisReport) -> str:
    return json.dumps(report.to_json())
