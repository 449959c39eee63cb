"""One pass of ``analyze`` over a take: lock on one frame, then follow, measure and judge
every frame through the live engine in take mode (the noise measured once, around the
lock frame)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.box import feature_box
from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.lock import MAX_COC_PX, FocusState, LockSettings
from focuslock.focus.peaking import PeakingSettings
from focuslock.focus.take_noise import NEIGHBOURS, pair_noise_sigmas
from focuslock.optics.lens_limits import OpticsError
from focuslock.optics.lens_setup import ApertureSetup, SensorSetup
from focuslock.workflows.overlay_video import OverlayVideoWriter
from focuslock.workflows.take_input import AnalysisError, InputFrame, Prefetch, iter_input, take_frame_rate
from focuslock.workflows.take_replay import REPLAY_SLACK_PX, Replay
from focuslock.workflows.take_report import AnalysisReport, FrameRecord, WrittenFiles

__all__ = ["PassProgress", "ProgressCallback", "is_judged", "read_lock_frame", "run_pass"]


@dataclass(frozen=True)
class PassProgress:
    """How far a pass through a take is, for whoever shows it (the command line draws a
    bar on a terminal): ``label`` which pass, ``done`` the frames read, ``total`` how many
    there are (None: not known — a header's frame count is a claim, never a total),
    ``fps`` frames a second so far; ``finished``: the pass has ended (the last call)."""

    label: str
    done: int
    total: int | None
    fps: float
    finished: bool = False


# Told after every frame of a pass, and once when the pass ends.
ProgressCallback = Callable[[PassProgress], None]


def _roi_inside(roi: tuple[int, int, int, int], shape: tuple[int, ...]) -> None:
    """The feature box checked once, before any frame is judged (:mod:`focuslock.core.box`:
    the size the tracker can follow, inside the lock frame)."""
    height, width = shape[:2]
    feature_box(roi).check_inside(width, height, "frames")


def is_judged(record: FrameRecord) -> bool:
    """A frame whose feature was measured against the lock (a candidate for the best)."""
    return record.lock is not None and record.lock.fine_energy is not None and record.state != FocusState.LOST.value


def _fine_energy(record: FrameRecord) -> float:
    """The fine-band energy a judged frame's lock read (-inf for any other frame)."""
    energy = record.lock.fine_energy if record.lock is not None else None
    return energy if energy is not None else -math.inf


def run_pass(target: str, roi_px, lock_index: int, track: bool, measure: str, lock_settings: LockSettings,
         overlay_video: Path | None, progress: ProgressCallback | None, sensor: SensorSetup | None,
         lens: ApertureSetup | None, keep: Replay | None = None, replay: Replay | None = None, overlay: str = "peaking",
         label: str = "analyze") -> AnalysisReport:
    """One pass: lock on frame ``lock_index`` at ``roi_px``, then judge every frame.
    ``progress``: told how far the pass is (:class:`PassProgress`, as ``label``; None:
    nobody asks; library code never draws it). ``keep``: what
    a second pass may replay is kept there; ``replay``: the frames come from a first
    pass's ``keep`` (raises :class:`~focuslock.workflows.take_replay.ReplayMiss` where it does not hold what this pass
    reads)."""
    # Without an overlay nothing reads the frame's luma beyond the feature's reach.
    engine = FocusEngine(take_mode=True, luma_near_features_only=overlay_video is None)
    prefetch: Prefetch | None = None  # closed however the pass ends (closing twice is harmless)
    head: list[InputFrame] = []  # frames read for the lock from the pass's own input
    count: int | None = None
    try:
        if replay is None and lock_index <= NEIGHBOURS:
            # The lock frame and its neighbours open the take: read once, by the pass.
            # Without an overlay, a video's frames are converted to RGB only in the rows
            # the engine reads (and the replay keeps): a whole 1080p frame's conversion
            # is several times the rest of a frame's work on the decode thread.
            frames, count = iter_input(target, convert=overlay_video is not None)
            _check_count(count, lock_index)
            prefetch = Prefetch(frames)
            lock_rgb, neighbours = _scan_for_lock(prefetch, lock_index, head)
        else:
            lock_rgb, neighbours = read_lock_frame(target, lock_index, replay)
        return _judge_frames(engine, target, roi_px, lock_index, track, measure, lock_settings, overlay_video,
                             progress, sensor, lens, keep, replay, overlay, label, lock_rgb, neighbours, prefetch,
                             head, count)
    finally:
        if prefetch is not None:
            prefetch.close()


def _judge_frames(engine: FocusEngine, target: str, roi_px, lock_index: int, track: bool, measure: str,
                  lock_settings: LockSettings, overlay_video: Path | None, progress: ProgressCallback | None,
                  sensor: SensorSetup | None, lens: ApertureSetup | None, keep: Replay | None, replay: Replay | None,
                  overlay: str, label: str, lock_rgb: np.ndarray, neighbours: list[np.ndarray],
                  stream: Prefetch | None, head: list[InputFrame], count: int | None) -> AnalysisReport:
    """The pass once its lock frame is read: lock there, then judge every frame (from
    ``head`` and on from ``stream`` when the lock was read from the pass's own input)."""
    _roi_inside(roi_px, lock_rgb.shape)
    coc = sensor.coc(lock_rgb.shape[1]) if sensor is not None else None
    # Before the pass, so that impossible optics stop the run at once.
    try:
        dof = lens.depth_of_field(coc.coc_um) if lens is not None and coc is not None and coc.coc_um else None
    except OpticsError as error:
        raise AnalysisError(str(error)) from None
    if coc is not None and sensor is not None:
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
    prefetch: Iterable[InputFrame]
    if replay is not None:
        prefetch, count = replay, replay.frame_count_hint
    elif stream is not None:
        prefetch = itertools.chain(head, stream)
    else:
        frames, count = iter_input(target, convert=overlay_video is not None)
        prefetch = stream = Prefetch(frames)
    records: list[FrameRecord] = []
    best_energy = -math.inf
    writer = OverlayVideoWriter(overlay_video, take_frame_rate(target), overlay) if overlay_video is not None else None
    started = time.monotonic()
    completed = False
    done = 0
    rows = _Rows(lock_rgb.shape, REPLAY_SLACK_PX if keep is not None else 0)
    try:
        for item in prefetch:
            if not item.readable:
                if keep is not None:
                    keep.keep(item, None)
                records.append(FrameRecord(item.index, item.source, item.time_s, None, None, True, item.error,
                                           last_index=item.last_index))
                continue
            if item.shape != lock_rgb.shape:
                shape = item.shape or ()
                skipped = f"Frame {item.index} is {shape[1]}×{shape[0]}, not the lock frame's size; skipped."
                if keep is not None:
                    keep.keep(InputFrame(item.index, item.source, item.time_s, None, skipped), None)
                records.append(FrameRecord(item.index, item.source, item.time_s, None, None, True, skipped))
                continue
            rgb = rows.read(item, engine.region_read(settings, lock_rgb.shape[:2]))
            result = engine.process(rgb, settings)
            rows.check_read(engine.last_region_px)
            # What this frame's work read: a replay that did not hold it read stale
            # pixels, and the whole pass is dropped (ReplayMiss) before its result counts.
            if replay is not None:
                replay.check_holds(item, engine.last_region_px)
            elif keep is not None:
                keep.keep(item, engine.last_region_px, rgb)
            record = FrameRecord(item.index, item.source, item.time_s, result.reading, result.roi_px,
                                 result.lock is None or result.lock.state == FocusState.LOST, lock=result.lock)
            records.append(record)
            if keep is not None and is_judged(record) and _fine_energy(record) > best_energy:
                best_energy = _fine_energy(record)
                keep.keep_whole(item.index, item.picture if item.picture is not None else rgb)
            if writer is not None:
                writer.write(rgb, result, settings, engine)
            if progress is not None:
                done = item.index + 1
                progress(PassProgress(label, done, count, done / max(time.monotonic() - started, 1e-6)))
        completed = True
    finally:
        if stream is not None:
            stream.close()
        if writer is not None:
            writer.close(complete=completed)
        if progress is not None:
            progress(PassProgress(label, done, count, done / max(time.monotonic() - started, 1e-6), finished=True))
    if not records or all(r.error for r in records):
        raise AnalysisError(f"No frame of {target} could be read.")
    judged = [r for r in records if is_judged(r)]
    best = max(judged, key=_fine_energy).index if judged else None
    return AnalysisReport(target, records, best, lock_index, measure, frame_count_hint=count,
                          written=WrittenFiles(overlay_video=None if overlay_video is None else str(overlay_video)),
                          coc_px=lock_settings.coc_px, coc=coc, noise_sigma=engine.noise.sigma,
                          lock_warning=engine.lock.warning if engine.lock is not None else None, dof=dof,
                          replayed=replay is not None)


class _Rows:
    """A frame's pixels as a pass reads them: its RGB frame, or — for a picture its
    reader converts (:class:`~focuslock.io.video_file.DecodedPicture`) — only the rows
    the engine will read (``region`` from
    :meth:`~focuslock.focus.engine.FocusEngine.region_read`, and ``slack_px`` more for
    the replay) converted into one frame-sized buffer whose other rows are stale."""

    def __init__(self, shape: tuple[int, ...], slack_px: int) -> None:
        self.shape, self.slack_px = shape, slack_px
        self._buffer: np.ndarray | None = None
        self._rows: tuple[int, int] | None = None  # converted this frame (None: whole)

    def read(self, item: InputFrame, region: tuple[int, int, int, int] | None) -> np.ndarray:
        self._rows = None
        if item.rgb is not None:
            return item.rgb
        assert item.picture is not None  # a readable frame holds one or the other
        if region is None:
            return item.picture.whole()
        if self._buffer is None:
            self._buffer = np.empty(self.shape, np.uint8)
        top, bottom = max(region[1] - self.slack_px, 0), region[3] + self.slack_px
        item.picture.rows_into(self._buffer, top, bottom)
        self._rows = (top, bottom)
        return self._buffer

    def check_read(self, region: tuple[int, int, int, int] | None) -> None:
        """The engine read only rows that were converted (its region is worked out the
        same way before and during its work)."""
        if self._rows is not None and (region is None or region[1] < self._rows[0] or region[3] > self._rows[1]):
            raise RuntimeError(f"The engine read rows {region} beyond those converted {self._rows}.")


def _check_count(count: int | None, index: int) -> None:
    if count is not None and index >= count:
        raise AnalysisError(f"The input has {count} frames; there is no frame {index} to lock on.")


def _pixels(item: InputFrame) -> np.ndarray | None:
    """A frame's whole RGB pixels (converted now if its reader left that to us)."""
    return item.rgb if item.rgb is not None else item.picture.whole() if item.picture is not None else None


def _scan_for_lock(frames: Iterable[InputFrame], index: int, head: list[InputFrame] | None = None,
                   lock_rgb: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Frame ``index`` (RGB; ``lock_rgb`` when already known) and the grey frames up to
    :data:`NEIGHBOURS` on each side of it, read from ``frames`` (every frame read is
    added to ``head`` when given)."""
    wanted = set(range(max(index - NEIGHBOURS, 0), index + NEIGHBOURS + 1)) - {index}
    greys: list[np.ndarray] = []
    for item in frames:
        if head is not None:
            head.append(item)
        if item.index > index + NEIGHBOURS and lock_rgb is not None:
            break
        if lock_rgb is None and item.index <= index <= (item.last_index or item.index):
            lock_rgb = _pixels(item)
            if lock_rgb is None:
                raise AnalysisError(f"The lock frame {index} cannot be read: {item.error}")
        elif item.index in wanted and (pixels := _pixels(item)) is not None:
            greys.append(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))
    if lock_rgb is None:
        raise AnalysisError(f"The input has no frame {index} to lock on.")
    return lock_rgb, greys


def read_lock_frame(target: str, index: int, replay: Replay | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Frame ``index`` (RGB) and the grey frames up to :data:`NEIGHBOURS` on each side of
    it, in one pass over the input (from the replay of a first pass when there is one:
    its kept parts hold the feature's reach, and the lock frame is kept whole)."""
    # A replay keeps the lock frame whole only when it is the frame it kept whole.
    kept = replay if replay is not None and replay.whole_index == index else None
    frames: Iterator[InputFrame]
    if kept is not None:
        frames, count = iter(kept), None
    else:
        frames, count = iter_input(target)
    _check_count(count, index)
    try:
        return _scan_for_lock(frames, index, lock_rgb=kept.whole_rgb if kept is not None else None)
    finally:
        close = getattr(frames, "close", None)
        if close:
            close()
