"""``focuslock analyze``: frame-by-frame focus check of a take, a stack or a folder.

One pass over the input: every frame's feature is followed, measured and kept; the
reference (the lock frame, or the best frame) is chosen at the end and the lock's state
machine runs over the readings in order. Decoding runs on a helper thread, one frame
ahead, so that the analysis costs little more than reading the video does.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from focuslock.camera.base import CorruptFrameError
from focuslock.camera.folder import IMAGE_SUFFIXES, list_images, read_bgr_image
from focuslock.focus.engine import NOISE_REFRESH_FRAMES
from focuslock.focus.lock import FocusLock, FocusState, LockSettings
from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES, FocusReading, laplacian_noise_sigma, measure_roi
from focuslock.focus.peaking import PeakingSettings, compute_peaking, paint_peaking
from focuslock.focus.track import FeatureTracker
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.overlay.plot import draw_sharpness_plot

__all__ = ["AnalysisError", "FrameRecord", "InputFrame", "analyze", "iter_input"]


class AnalysisError(Exception):
    """The input cannot be analysed; the text is one sentence for the user."""


@dataclass
class InputFrame:
    index: int
    source: str | None
    time_s: float | None
    bgr: np.ndarray | None
    error: str | None = None


@dataclass
class FrameRecord:
    index: int
    source: str | None
    time_s: float | None
    reading: FocusReading | None
    roi_px: tuple[float, float, float, float] | None
    lost: bool
    error: str | None = None
    relative: float | None = None
    state: str = "lost"


@dataclass
class AnalysisReport:
    input: str
    frames: list[FrameRecord]
    best_frame: int | None
    lock_frame: int | None
    measure: str
    softening_below: float | None = None
    soft_below: float | None = None
    frame_count_hint: int | None = None
    written: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "input": self.input,
            "measure": self.measure,
            "frames": [
                {
                    "index": r.index,
                    "source": r.source,
                    "time_s": None if r.time_s is None else round(r.time_s, 4),
                    "sharpness": None if r.reading is None else r.reading.score,
                    "relative": None if r.relative is None else round(r.relative, 5),
                    "state": r.state,
                    "roi": None if r.roi_px is None else [round(v, 2) for v in r.roi_px],
                    **({"error": r.error} if r.error else {}),
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
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            capture.release()
            raise AnalysisError(f"{target} is not a video file OpenCV can read.")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None
        return _video_frames(capture, str(path), count), count
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


def _video_frames(capture: cv2.VideoCapture, source: str, count: int | None) -> Iterator[InputFrame]:
    index = 0
    failures = 0
    try:
        while True:
            ok, bgr = capture.read()
            # After a read, the position is the timestamp of the frame just read.
            position_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
            if ok and bgr is not None:
                failures = 0
                yield InputFrame(index, source, position_ms / 1000.0 if position_ms >= 0 else None, bgr)
            else:
                if count is None or index >= count - 1 or failures >= 25:
                    return
                failures += 1
                capture.set(cv2.CAP_PROP_POS_FRAMES, index + 1)
                yield InputFrame(index, source, None, None, f"Frame {index} could not be decoded and was skipped.")
            index += 1
    finally:
        capture.release()


def _image_frames(paths: list[Path]) -> Iterator[InputFrame]:
    for index, path in enumerate(paths):
        try:
            yield InputFrame(index, str(path), None, read_bgr_image(path))
        except CorruptFrameError as error:
            yield InputFrame(index, str(path), None, None, error.user_message)


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


def analyze(target: str, roi_px: tuple[int, int, int, int], *, lock_frame: int | None = 0, lock_best: bool = False,
            track: bool = True, measure: str = DEFAULT_MEASURE, lock_settings: LockSettings | None = None,
            overlay_video: Path | None = None, progress: bool = False) -> AnalysisReport:
    """Analyse every frame of ``target`` for the feature in ``roi_px``.

    ``roi_px`` is where the feature is in the lock frame (frame 0 unless ``lock_frame``
    says otherwise; frame 0 with ``lock_best``).
    """
    if measure not in MEASURES:
        raise AnalysisError(f"Unknown measure {measure!r}; use one of {', '.join(MEASURES)}.")
    lock_settings = lock_settings or LockSettings()
    template = None
    template_frame = 0 if lock_best or not lock_frame else int(lock_frame)
    if template_frame:
        template = _template_from(target, template_frame, roi_px)
    frames, count = iter_input(target)
    prefetch = _Prefetch(frames)
    records: list[FrameRecord] = []
    patches: dict[int, np.ndarray] = {}
    best_index, best_score = None, -math.inf
    tracker: FeatureTracker | None = None
    noise: float | None = None
    writer = _OverlayWriter(overlay_video) if overlay_video is not None else None
    started = time.monotonic()
    try:
        for item in prefetch:
            if item.bgr is None:
                records.append(FrameRecord(item.index, item.source, item.time_s, None, None, True, item.error))
                continue
            if not records or all(r.error for r in records):
                _roi_inside(roi_px, item.bgr.shape)
            if noise is None or item.index % NOISE_REFRESH_FRAMES == 0:
                noise = laplacian_noise_sigma(cv2.Laplacian(_noise_sample(item.bgr), cv2.CV_16S, ksize=1))
            # Only the part of the frame the feature can be in is converted to grey.
            grey, origin = _grey_around(item.bgr, roi_px, tracker, writer is not None)
            roi: tuple[float, float, float, float] = tuple(float(v) for v in roi_px)  # type: ignore[assignment]
            lost = False
            if track and tracker is None and template is None:
                # Frame 0 is where the region was drawn.
                tracker = FeatureTracker(grey, (roi_px[0] - origin[0], roi_px[1] - origin[1], roi_px[2], roi_px[3]))
                tracker.position = (float(roi_px[0]), float(roi_px[1]))
            elif track:
                if tracker is None:
                    tracker = FeatureTracker.from_template(template, (roi_px[0], roi_px[1]))
                    grey, origin = _grey_around(item.bgr, roi_px, tracker, writer is not None)
                result = tracker.update(grey, origin)
                roi, lost = result.roi_px, result.lost
            reading = None
            if not lost:
                x, y, w, h = (int(round(v)) for v in roi)
                patch = grey[y - origin[1] : y - origin[1] + h, x - origin[0] : x - origin[0] + w]
                if patch.shape[0] >= 3 and patch.shape[1] >= 3:
                    reading = measure_roi(patch, measure, laplacian_noise=noise)
                    if item.index == template_frame or reading.score > best_score:
                        patches[item.index] = patch.copy()
                        if reading.score > best_score:
                            for stale in [k for k in patches if k not in (template_frame, item.index)]:
                                del patches[stale]
                    if reading.score > best_score:
                        best_index, best_score = item.index, reading.score
            records.append(FrameRecord(item.index, item.source, item.time_s, reading, roi, lost or reading is None))
            if writer is not None:
                writer.write(item, grey, records[-1])  # the whole frame in grey here
            if progress:
                _progress(item.index + 1, count, started)
    finally:
        prefetch.close()
        if writer is not None:
            writer.close()
        if progress:
            sys.stderr.write("\n")
    if not records or all(r.error for r in records):
        raise AnalysisError(f"No frame of {target} could be read.")
    reference_index = best_index if lock_best else template_frame
    report = AnalysisReport(target, records, best_index, reference_index, measure, frame_count_hint=count)
    if reference_index is None or reference_index not in patches:
        raise AnalysisError(f"The feature could not be measured in the lock frame {reference_index}.")
    _apply_lock(report, patches[reference_index], lock_settings, measure, noise)
    if overlay_video is not None:
        report.written["overlay_video"] = str(overlay_video)
    return report


def _grey_around(bgr: np.ndarray, roi_px, tracker: FeatureTracker | None, whole: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """Grey of the part of the frame where the feature can be, and that part's origin."""
    height, width = bgr.shape[:2]
    if whole:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (0, 0)
    if tracker is not None:
        x, y = tracker.position
        w, h = tracker.size
        margin = tracker.search_margin_px()
    else:
        x, y, w, h = roi_px
        margin = 2
    x0, y0 = max(int(math.floor(x)) - margin, 0), max(int(math.floor(y)) - margin, 0)
    x1, y1 = min(int(math.ceil(x)) + w + margin, width), min(int(math.ceil(y)) + h + margin, height)
    return cv2.cvtColor(bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), (x0, y0)


def _noise_sample(bgr: np.ndarray) -> np.ndarray:
    """A large central part of the frame in grey, enough to read the noise from."""
    height, width = bgr.shape[:2]
    side_h, side_w = min(height, 768), min(width, 1024)
    y0, x0 = (height - side_h) // 2, (width - side_w) // 2
    return cv2.cvtColor(bgr[y0 : y0 + side_h, x0 : x0 + side_w], cv2.COLOR_BGR2GRAY)


def _template_from(target: str, index: int, roi_px) -> np.ndarray:
    frames, count = iter_input(target)
    if count is not None and index >= count:
        raise AnalysisError(f"The input has {count} frames; there is no frame {index} to lock on.")
    for item in frames:
        if item.index == index:
            close = getattr(frames, "close", None)
            if close:
                close()
            if item.bgr is None:
                raise AnalysisError(f"The lock frame {index} cannot be read: {item.error}")
            grey = cv2.cvtColor(item.bgr, cv2.COLOR_BGR2GRAY)
            _roi_inside(roi_px, grey.shape)
            x, y, w, h = roi_px
            return grey[y : y + h, x : x + w].copy()
    raise AnalysisError(f"The input has no frame {index} to lock on.")


def _apply_lock(report: AnalysisReport, patch: np.ndarray, settings: LockSettings, measure: str, noise: float | None) -> None:
    # The frames of a stack or a take are not a still live view: no noise learning.
    lock = FocusLock(patch, dataclasses.replace(settings, learn_jitter=False), measure, noise)
    reference = report.frames[report.lock_frame].reading if report.lock_frame is not None else None
    reference_score = reference.score if reference is not None else lock.reference.score
    report.softening_below, report.soft_below = lock.softening_below, lock.soft_below
    for record in report.frames:
        if record.reading is None:
            record.state, record.relative = FocusState.LOST.value, None
            lock.update(None, lost=True)
            continue
        status = lock.update(record.reading)
        # Relative to the reference frame's own reading (the lock re-measures its patch
        # with the same measure, so the two agree; this keeps relative = 1 exactly there).
        record.relative = record.reading.score / reference_score if reference_score > 0 else None
        record.state = status.state.value


def _progress(done: int, total: int | None, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-6)
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\ranalyze [{'#' * filled}{'.' * (width - filled)}] {done}/{total} frames, {rate:5.1f} fps")
    else:
        sys.stderr.write(f"\ranalyze {done} frames, {rate:5.1f} fps")
    sys.stderr.flush()


class _OverlayWriter:
    """The take with peaking and the feature's box, as an MP4 (every frame one size)."""

    def __init__(self, path: Path, frame_rate_hz: float = 25.0) -> None:
        self.path = path
        self.frame_rate_hz = frame_rate_hz
        self.size: tuple[int, int] | None = None
        self.writer: cv2.VideoWriter | None = None
        self.peaking = PeakingSettings()

    def write(self, item: InputFrame, grey: np.ndarray, record: FrameRecord) -> None:
        rgb = cv2.cvtColor(item.bgr, cv2.COLOR_BGR2RGB)
        out = paint_peaking(rgb, compute_peaking(rgb, self.peaking, grey), self.peaking)
        if record.roi_px is not None:
            x, y, w, h = (int(round(v)) for v in record.roi_px)
            colour = STATE_COLOURS_RGB["lost" if record.lost else None]
            thickness = max(2, out.shape[0] // 400)
            cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
            label = "LOST" if record.reading is None else f"{record.reading.measure} {record.reading.score:.3g}"
            cv2.putText(out, label, (x, max(20, y - 8)), cv2.FONT_HERSHEY_SIMPLEX, max(0.6, out.shape[0] / 1200), colour,
                        thickness, cv2.LINE_AA)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.size = (out.shape[1], out.shape[0])
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.frame_rate_hz, self.size)
            if not self.writer.isOpened():
                raise AnalysisError(f"Could not write the overlay video {self.path}.")
        if (out.shape[1], out.shape[0]) != self.size:
            out = cv2.resize(out, self.size)
        self.writer.write(cv2.cvtColor(out, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


# ---------------------------------------------------------------------------- outputs
def write_csv(report: AnalysisReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        table = csv.writer(handle)
        table.writerow(["index", "source", "time_s", "sharpness", "relative", "state", "roi_x", "roi_y", "roi_w", "roi_h", "error"])
        for r in report.frames:
            roi = [f"{v:.2f}" for v in r.roi_px] if r.roi_px is not None else ["", "", "", ""]
            table.writerow([r.index, r.source or "", "" if r.time_s is None else f"{r.time_s:.4f}",
                            "" if r.reading is None else f"{r.reading.score:.6g}",
                            "" if r.relative is None else f"{r.relative:.5f}", r.state, *roi, r.error or ""])
    plot_path = path.with_suffix(".png")
    xs = [r.time_s if r.time_s is not None else float(r.index) for r in report.frames]
    axis = "time (s)" if any(r.time_s is not None for r in report.frames) else "frame"
    image = draw_sharpness_plot(xs, [r.relative for r in report.frames], [r.state for r in report.frames],
                                softening_below=report.softening_below, soft_below=report.soft_below,
                                best_x=xs[report.best_frame] if report.best_frame is not None else None,
                                lock_x=xs[report.lock_frame] if report.lock_frame is not None else None,
                                x_label=axis, title=f"{Path(report.input).name}: {report.measure} relative to frame {report.lock_frame}")
    cv2.imwrite(str(plot_path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    report.written["csv"] = str(path)
    report.written["plot"] = str(plot_path)
    return path


def summary_lines(report: AnalysisReport) -> list[str]:
    counts: dict[str, int] = {}
    for r in report.frames:
        counts[r.state] = counts.get(r.state, 0) + 1
    lines = [
        f"{report.input}: {len(report.frames)} frames, measure {report.measure}",
        f"best frame {report.best_frame}, lock frame {report.lock_frame}",
        "states: " + ", ".join(f"{state} {counts[state]}" for state in ("sharp", "softening", "soft", "lost") if state in counts),
    ]
    corrupt = [r for r in report.frames if r.error]
    if corrupt:
        lines.append(f"skipped {len(corrupt)} unreadable frame(s): " + "; ".join(r.error for r in corrupt[:3]))
    for kind, path in report.written.items():
        lines.append(f"wrote {path}")
    return lines


def report_json(report: AnalysisReport) -> str:
    return json.dumps(report.to_json())
