"""Headless runs: a live session recorded to an MP4 of what the screen shows and a CSV.

Used by ``focuslock demo --headless`` and ``focuslock live --headless``; no Qt involved.
The recorder is one more consumer of the session's analyses: it pulls the newest one,
draws it as the window would, and writes it; analyses it was too slow for are counted.
"""

from __future__ import annotations

import csv
import math
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from focuslock.core.frames import CameraState, Freshness
from focuslock.core.signals import StopSignals
from focuslock.focus.engine import FocusResult
from focuslock.io.csv_safe import safe_row
from focuslock.io.files import save_error_for
from focuslock.io.outputs import claim_run_paths
from focuslock.io.recording import RecordingError, RecordingFull, VideoRecorder
from focuslock.overlay.focus_layer import draw_stale
from focuslock.overlay.hud import draw_text_panel
from focuslock.overlay.placement_text import describe_placement
from focuslock.overlay.readouts import defocus_line, plain_hud_lines
from focuslock.overlay.readouts import hud_lines as overlay_hud_lines
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FrameResult, LiveAnalysis, PipelineSettings

__all__ = ["HeadlessResult", "FollowAndLock", "hud_lines", "lock_demo_script", "plain_lines", "record_session", "render_screen",
           "stale_picture"]

# ``verdict``: LIVE, or ENDED / PAUSED / NO SIGNAL on the rows written while no frame
# comes (their ``state`` is "stale" and ``reason`` says from how long ago the last verdict is).
CSV_COLUMNS = (
    "sequence", "time_s", "processing_ms", "latency_ms", "dropped_frames",
    "frame_rate_hz", "camera_state", "verdict", "frame_age_s", "focus_position_steps",
    "roi_x", "roi_y", "roi_w", "roi_h", "sharpness", "blur_px", "blur_sd_px", "coc_px", "coc_share",
    "state", "reason", "hint",
)
_FOCUS_COLUMNS = 12
_HUD_WRAP_CHARS = 72
# While no frame comes, the recording shows the stale verdict this often.
_STALE_ROW_EVERY_S = 0.5
# How long a run waits for its source's first frame (a body waking, a busy machine).
FIRST_FRAME_WAIT_S = 20.0


@dataclass
class HeadlessResult:
    """What a headless run wrote: its video and CSV, the frames and the camera's states."""

    video_path: Path
    csv_path: Path
    frames_written: int = 0
    frames_not_recorded: int = 0
    camera_states: list[CameraState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # What the user should know that is not an error: a size cap reached, a signal, a
    # change of frame size that started a new file.
    notes: list[str] = field(default_factory=list)
    # Every video file written (one, or more when the frame size changed); empty when
    # no frame arrived.
    video_files: list[Path] = field(default_factory=list)
    # Why the recording stopped before its time (a full disk), in one sentence.
    failure: str | None = None


def _focus_of(analysis: LiveAnalysis | None) -> FocusResult | None:
    """The focus result of ``analysis``; None without one (no analysis yet, or the
    processing of its frame failed)."""
    return analysis.result.focus if analysis is not None and analysis.result is not None else None


def hud_lines(analysis: LiveAnalysis, freshness: Freshness | None = None, drive_step_um: float | None = None) -> list[str]:
    """The HUD text for one analysis: LIVE (or why not, and the frame's age), rate, drops,
    timing, then what the overlay renderer reports (exposure, depth of field, drift, lock)
    and, with several features locked, where they lie in depth (``drive_step_um``: the
    drive's calibration, when known)."""
    status = analysis.camera_status
    rate = f"{analysis.frame_rate_hz:.0f} frames/s" if analysis.frame_rate_hz else "-- frames/s"
    label, age = status.state.upper(), ""
    if freshness is not None:
        label, age = freshness.label, f"  frame age {freshness.age_s:.1f} s"
    dropped = f"  ({analysis.dropped_frames} dropped)" if analysis.dropped_frames else ""
    lines = [f"{label}  {rate}{age}{dropped}"]
    if freshness is not None and freshness.stale:
        lines.append(freshness.describe())
    result = analysis.result
    focus = result.focus if result is not None else None
    optics = result.optics if result is not None else None
    coc = result.coc if result is not None else None
    lines += overlay_hud_lines(analysis.frame.metadata, optics, focus, result.drift_px if result is not None else None)
    defocus = defocus_line(optics, coc, focus)
    if defocus is not None:
        lines.append(defocus)
    if focus is not None and len(focus.features) >= 2 and focus.lock is not None:
        for line in describe_placement(focus.placement, optics, coc, drive_step_um,
                                       feature_count=len(focus.features)):
            lines += textwrap.wrap(line, width=_HUD_WRAP_CHARS)
    if coc is not None:
        lines.append(coc.describe())
        if coc.warning:
            # Wrapped: the HUD sits on the picture and must not run off its edge.
            lines += textwrap.wrap(coc.warning, width=_HUD_WRAP_CHARS)
    truth = analysis.frame.info.sim_truth
    if truth is not None:
        lines.append(f"Simulated bench: focus motor at {truth.focus_position_steps:+d} steps")
    if status.message and status.state != CameraState.LIVE:
        lines.append(status.message)
    if analysis.error:
        lines.append(analysis.error)
    return lines


def plain_lines(analysis: LiveAnalysis, freshness: Freshness, drive_step_um: float | None = None, *,
                details_key: str | None = None) -> list[str]:
    """The HUD a photographer reads, the window's and the recordings' alike: the three
    lines of :func:`plain_hud_lines`, why no frame comes first when none does, where
    several features lie in depth. ``details_key``: the window's key for :func:`hud_lines`."""
    result = analysis.result
    rate = f"{analysis.frame_rate_hz:.0f} frames/s" if analysis.frame_rate_hz else "-- frames/s"
    age = f"{freshness.age_s:.1f} s" if freshness.age_s < 10 else f"{freshness.age_s:.0f} s"
    fresh = f"{freshness.label.capitalize()}  ·  {rate}  ·  frame {age} old" + (
        f"  ·  {details_key}: details" if details_key else "")
    focus, optics, coc = (result.focus, result.optics, result.coc) if result is not None else (None, None, None)
    lines = plain_hud_lines(focus, optics, coc, analysis.frame.info.drive_position_steps if result else None,
                            fresh, analysis.error, drive_step_um, window=details_key is not None)  # (a recording: no keys)
    if freshness.stale:
        # No new frame: that first (NO SIGNAL, ENDED, PAUSED and why), then the last verdict.
        return [freshness.describe(), *lines[:2]]
    if focus is not None and len(focus.features) >= 2 and focus.lock is not None:
        # Several features: where they lie in depth, in place of the frame's age.
        placement = describe_placement(focus.placement, optics, coc, drive_step_um,
                                       feature_count=len(focus.features))
        if placement:
            lines[2] = placement[0]
    return lines


def render_screen(analysis: LiveAnalysis, freshness: Freshness, details: bool = False) -> cv2.typing.MatLike:
    """What the window shows for one analysis, as an RGB image: the picture with the
    photographer's three lines (:func:`plain_lines`), or with ``details`` the engineer's
    whole HUD (:func:`hud_lines`), as the window's details toggle chooses."""
    image = analysis.result.display if analysis.result is not None else analysis.frame.image
    return draw_text_panel(image, hud_lines(analysis, freshness) if details else plain_lines(analysis, freshness))


def _focus_columns(analysis: LiveAnalysis) -> list:
    focus = _focus_of(analysis)
    if focus is None:
        return [""] * _FOCUS_COLUMNS
    roi = [f"{v:.2f}" for v in focus.roi_px] if focus.roi_px is not None else [""] * 4
    score = f"{focus.reading.score:.6g}" if focus.reading is not None else ""
    lock = focus.lock
    if lock is None:
        return [*roi, score] + [""] * (_FOCUS_COLUMNS - 5)

    def number(value: float | None) -> str:
        return f"{value:.4f}" if value is not None and math.isfinite(value) else ""

    return [*roi, score, number(lock.blur_px), number(lock.blur_sd_px), number(lock.coc_px), number(lock.coc_share),
            lock.state.value, lock.reason or "", lock.hint or ""]


def stale_picture(analysis: LiveAnalysis, freshness: Freshness):
    """What is shown once no frame comes: the last frame dimmed, the feature's box grey
    with the verdict's age ("ENDED 12 s"); the window and the recordings alike."""
    focus = _focus_of(analysis)
    roi = focus.roi_px if focus is not None else None
    return draw_stale(analysis.frame.image, roi, f"{freshness.label} {freshness.age_s:.0f} s")


def _stale_screen(analysis: LiveAnalysis, freshness: Freshness, message: str, details: bool = False):
    """The stale picture with the HUD saying why."""
    lines = hud_lines(analysis, freshness) if details else plain_lines(analysis, freshness)
    lines += [message] if message and message not in freshness.describe() else []
    return draw_text_panel(stale_picture(analysis, freshness), lines)


def _stale_row(analysis: LiveAnalysis, freshness: Freshness, camera_state: CameraState, time_s: float) -> list:
    focus = _focus_of(analysis)
    lock = focus.lock if focus is not None else None
    last = f" (last: {lock.state.value})" if lock is not None else ""
    row = ["", f"{time_s:.4f}", "", "", analysis.dropped_frames, "", camera_state, freshness.label, f"{freshness.age_s:.3f}", ""]
    focus_columns = [""] * _FOCUS_COLUMNS
    if lock is not None:
        focus_columns[-3:-1] = ["stale", freshness.describe() + last]
    return row + focus_columns


class FollowAndLock:
    """A script for :func:`record_session`: follow the feature in ``roi_px`` from the first frame and, with ``lock``, lock on
    it in the first frame where it is found (measured inside the frame)."""

    def __init__(self, roi_px: tuple[int, int, int, int], settings: PipelineSettings, lock: bool = True) -> None:
        self.roi_px = roi_px
        self.settings = settings
        self.lock = lock
        self.followed = False
        self.locked = False

    def __call__(self, session: LiveSession[FrameResult], elapsed_s: float) -> None:
        if not self.followed:
            self.settings = self.settings.with_focus(self.settings.focus.follow(self.roi_px))
            session.set_settings(self.settings)
            self.followed = True
            return
        if not self.lock or self.locked:
            return
        analysis = session.latest_analysis()
        focus = _focus_of(analysis)
        # Found: the frame was processed with this box and the feature measured in it.
        if focus is not None and focus.reading is not None:
            self.settings = self.settings.with_focus(self.settings.focus.with_lock(True))
            session.set_settings(self.settings)
            self.locked = True


def _drive_towards(session: LiveSession, state: dict, target: int, step_per_command: int) -> None:
    delta = target - state["position"]
    if delta:
        delta = max(-step_per_command, min(step_per_command, delta))
        session.drive_focus(delta)
        state["position"] += delta


def lock_demo_script(best_position_steps: float, roi_px: tuple[int, int, int, int], settings: PipelineSettings,
                     swing_steps: int = 110, period_s: float = 6.0, step_per_command: int | None = None
                     ) -> Callable[[LiveSession, float], None]:
    """The lock demo: focus on the feature, choose it, lock, then rack away through
    SOFTENING to SOFT and back, as a focus puller checking a mark would."""
    state: dict[str, Any] = {"position": 0, "followed": False, "locked": False, "settings": settings}
    best = int(round(best_position_steps))
    if step_per_command is None:
        # Fast enough to follow the swing at ~30 commands a second.
        step_per_command = max(4, int(math.ceil(2 * math.pi * swing_steps / period_s / 25)))

    def script(session: LiveSession, elapsed_s: float) -> None:
        # Each step waits for the one before, not for the clock: on a busy machine (few
        # frames a second) the demo runs later, never locks on a feature it does not follow.
        if not state["followed"]:
            _drive_towards(session, state, best, max(40, abs(best) // 10))
            if elapsed_s > 0.5 and state["position"] == best:
                state["settings"] = state["settings"].with_focus(state["settings"].focus.follow(roi_px))
                session.set_settings(state["settings"])
                state["followed"] = True
                state["followed_at"] = elapsed_s
            return
        if elapsed_s < state["followed_at"] + 0.5:
            return  # the tracker sees the feature for a moment before the lock
        if not state["locked"]:
            state["settings"] = state["settings"].with_focus(state["settings"].focus.with_lock(True))
            session.set_settings(state["settings"])
            state["locked"] = True
            state["start"] = elapsed_s + 0.5
            return
        if elapsed_s < state["start"]:
            return
        phase = (elapsed_s - state["start"]) / period_s
        target = best + int(round(swing_steps * math.sin(2 * math.pi * phase)))
        _drive_towards(session, state, target, step_per_command)

    return script


def record_session(session: LiveSession[FrameResult], seconds: float, out_dir: Path, *, name: str = "demo",
                   frame_rate_hz: float = 30.0,
                   script: Callable[[LiveSession[FrameResult], float], bool | None] | None = None,
                   max_bytes: int | None = None, details: bool = False) -> HeadlessResult:
    """Run ``session`` for ``seconds``, writing ``out_dir/NAME.mp4`` and ``NAME.csv``
    (``NAME-2.*``, ... when a run's files are there already: nothing is replaced).

    The recording survives: the MP4 is fragmented (it plays up to the last second when
    the process is killed or the disk fills), every CSV row reaches the file as it is
    written, SIGTERM and SIGHUP end the run cleanly, a full disk stops it with one
    sentence in ``failure``, and ``max_bytes`` caps the video's size. The session is
    started if needed and stopped at the end. ``script`` is called before each frame with
    the session and the seconds elapsed; when it returns true the run ends there. The
    video shows the window's HUD: the photographer's three lines, or with ``details`` the
    engineer's whole HUD (the window's details toggle).
    """
    video_path, csv_path = claim_run_paths(Path(out_dir), name, (".mp4", ".csv"))
    result = HeadlessResult(video_path, csv_path)
    recorder = VideoRecorder(video_path, frame_rate_hz, max_bytes=max_bytes)
    first_time_s: float | None = None
    last_event = 0
    last_analysis: LiveAnalysis | None = None
    last_status_write_s = 0.0
    stop = StopSignals()
    session.start()
    started_s = time.monotonic()
    # The recording's length counts from its first frame, so that a camera slow to open
    # (or a busy machine) still gives the run asked for; a source that never delivers
    # ends the run after FIRST_FRAME_WAIT_S (or the run's length, if longer).
    first_frame_s: float | None = None
    try:
        with stop, open(result.csv_path, "w", newline="") as handle:
            table = csv.writer(handle)

            def write_row(row: list) -> None:
                table.writerow(safe_row(row))  # its texts are focuslock's own; never a formula all the same
                handle.flush()  # a killed run keeps every row written so far

            write_row(list(CSV_COLUMNS))
            while not stop.requested:
                now_s = time.monotonic()
                if first_frame_s is None:
                    if now_s - started_s >= max(seconds, FIRST_FRAME_WAIT_S):
                        break
                    elapsed_s = 0.0
                elif (elapsed_s := now_s - first_frame_s) >= seconds:
                    break
                if script is not None and script(session, elapsed_s):
                    break  # the script's run is over (a scripted check ends when it has seen enough)
                last_event = _collect_errors(session, last_event, result)
                analysis = session.next_analysis(timeout_s=0.1)
                if analysis is None:
                    status = session.status
                    if not result.camera_states or result.camera_states[-1] != status.state:
                        result.camera_states.append(status.state)
                    freshness = session.freshness(last_analysis) if last_analysis is not None else None
                    if freshness is not None and last_analysis is not None and first_time_s is not None \
                            and freshness.stale and result.frames_written \
                            and time.monotonic() - last_status_write_s > _STALE_ROW_EVERY_S:
                        # No frames (ended, paused, camera away): the recording and the CSV
                        # say so, and how old the last verdict is; they never repeat it as live.
                        last_status_write_s = time.monotonic()
                        recorder.write(_stale_screen(last_analysis, freshness, status.message, details), time.monotonic())
                        result.frames_written += 1
                        write_row(_stale_row(last_analysis, freshness, status.state, time.monotonic() - first_time_s))
                    if status.state == CameraState.ENDED and (freshness is None or freshness.stale):
                        break  # after the ENDED row: the recording ends on the truth
                    continue
                last_analysis = analysis
                if first_frame_s is None:
                    first_frame_s = time.monotonic()
                state = analysis.camera_status.state
                if not result.camera_states or result.camera_states[-1] != state:
                    result.camera_states.append(state)
                freshness = session.freshness(analysis)
                recorder.write(render_screen(analysis, freshness, details), time.monotonic())
                result.frames_written += 1
                frame = analysis.frame
                if first_time_s is None:
                    first_time_s = frame.timestamp_s
                truth = frame.info.sim_truth
                write_row([
                    frame.sequence,
                    f"{frame.timestamp_s - first_time_s:.4f}",
                    f"{analysis.processing_ms:.3f}",
                    f"{analysis.latency_ms:.2f}",
                    analysis.dropped_frames,
                    f"{analysis.frame_rate_hz:.2f}" if analysis.frame_rate_hz else "",
                    state,
                    freshness.label,
                    f"{freshness.age_s:.3f}",
                    truth.focus_position_steps if truth is not None else "",
                    *_focus_columns(analysis),
                ])
    except RecordingFull as full:
        result.notes.append(str(full))
    except RecordingError as error:
        result.failure = str(error)
    except OSError as error:  # the CSV: a full disk, a folder pulled away
        result.failure = (f"{save_error_for(error, result.csv_path.name, result.csv_path.parent)} "
                          f"The run stopped after {result.frames_written} frames; what was written is kept.")
    finally:
        _collect_errors(session, last_event, result)  # what ended the run, too
        session.stop()
        result.video_files = recorder.close()
        result.notes += recorder.notes
    if stop.requested:
        result.notes.append(f"Stopped by {stop.requested}; the recording and the CSV are complete up to that moment.")
    if not result.video_files:
        # Nothing arrived: no empty MP4 is left to look like a recording.
        video_path.unlink(missing_ok=True)
    result.frames_not_recorded = session.analyses.dropped_count
    return result


def _collect_errors(session: LiveSession, last_event: int, result: HeadlessResult) -> int:
    """The session's error events after ``last_event`` into ``result``; the last number seen."""
    for event in session.events(after=last_event):
        last_event = event.number
        if event.kind == "error":
            result.errors.append(event.message)
    return last_event


