"""The live session: one acquisition thread that owns the camera, one processing thread.

::

    Camera --Frame--> LatestSlot --> processor --Analysis--> LatestSlot --> consumers

* The acquisition thread is the only caller of the camera (libgphoto2 allows one).
  Commands (focus drive, capture, settings) reach it through a queue and run between
  two frames; each returns a ``concurrent.futures.Future``.
* Both hand-offs are latest-wins: a slow stage drops frames (counted), never queues
  (unless every frame of a file is to be kept: ``keep_every_frame``).
* Camera errors become status changes and events that consumers read; they never kill
  the session. A disconnected camera is replaced by a NEW camera object from the
  factory (libgphoto2 must never see a camera object again after it was closed).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from focuslock.core.frames import Analysis, CameraState, CameraStatus, Frame, Freshness, LatestSlot, SlotClosed, frame_freshness
from focuslock.devices.base import (
    Camera,
    CameraBusyError,
    CameraDisconnectedError,
    CameraError,
    CorruptFrameError,
    EndOfStream,
    NoLiveViewError,
    Setting,
)
from focuslock.runtime.commands import CommandQueue
from focuslock.runtime.events import EventLog, SessionEvent

__all__ = ["LiveSession", "Processor"]

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

# How long to wait between attempts to (re)open a camera, growing up to the last value.
RECONNECT_DELAYS_S = (0.25, 0.5, 1.0)
# After an unexpected read failure, wait this long before reading again.
READ_ERROR_PAUSE_S = 0.2


class Processor(Protocol[R_co]):
    """Turns a frame (and the current settings snapshot) into its result (for live view a
    :class:`~focuslock.runtime.pipeline.FrameResult`), stored in the frame's :class:`Analysis`."""

    def __call__(self, frame: Frame, settings: Any) -> R_co: ...


def _no_processing(frame: Frame, settings: Any) -> None:
    return None


class LiveSession(Generic[R]):
    """Runs a camera through the processing pipeline on two threads.

    Parameters
    ----------
    camera:
        A camera, or a factory that makes a new one (needed to reconnect a tethered
        body after a disconnect; a plain camera is reopened as it is).
    processor:
        Called on the processing thread with each newest frame and the current settings
        snapshot; what it returns is stored in the :class:`Analysis` as ``result`` (the
        session is generic in its type). Without one, every analysis's ``result`` is None.
    settings:
        The first settings snapshot; replace it whole with :meth:`set_settings`.
    keep_every_frame:
        Hand every frame on instead of the newest (a slow stage then slows the source
        instead of dropping): for recording a file, which is not live and where every
        frame is there to be analysed.
    """

    def __init__(
        self,
        camera: Camera | Callable[[], Camera],
        processor: Processor[R] | None = None,
        settings: Any = None,
        keep_every_frame: bool = False,
    ) -> None:
        if callable(camera) and not isinstance(camera, Camera):
            self._camera_factory: Callable[[], Camera] = camera
        else:
            instance = camera
            self._camera_factory = lambda: instance
        self._processor: Processor[R | None] = processor or cast(Processor[R | None], _no_processing)
        self._settings = settings
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._events = EventLog()
        self._commands = CommandQueue(self._report)
        self._status = CameraStatus(CameraState.STOPPED, "", time.monotonic())
        self.camera: Camera | None = None
        self.keep_every_frame = keep_every_frame
        self.frames: LatestSlot[Frame] = LatestSlot(keep_every_frame)
        self.analyses: LatestSlot[Analysis[R]] = LatestSlot(keep_every_frame)
        self._source_gaps = 0
        self._drive_position_steps = 0
        self._frame_rate_hz: float | None = None
        self.reconnect_count = 0

    # ----------------------------------------------------------------- life cycle
    def start(self) -> LiveSession[R]:
        """Start both threads. Calling it on a running session does nothing."""
        with self._lock:
            if self._threads:
                return self
            self._stop.clear()
            self.frames = LatestSlot(self.keep_every_frame)
            self.analyses = LatestSlot(self.keep_every_frame)
            self._source_gaps = 0
            self._set_status(CameraState.STARTING)
            self._threads = [
                threading.Thread(target=self._acquire_loop, name="focuslock-acquisition", daemon=True),
                threading.Thread(target=self._process_loop, name="focuslock-processing", daemon=True),
            ]
            for thread in self._threads:
                thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop both threads and close the camera. Safe to call twice."""
        with self._lock:
            threads, self._threads = self._threads, []
        if not threads:
            return
        self._stop.set()
        self.frames.close()
        if self.keep_every_frame:
            self.analyses.close()  # the processor may be waiting for a consumer that left
        for thread in threads:
            thread.join(timeout_s)
        self.analyses.close()
        self._commands.fail_pending()
        self._set_status(CameraState.STOPPED)

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def __enter__(self) -> LiveSession[R]:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------ consumer side
    @property
    def status(self) -> CameraStatus:
        return self._status

    def events(self, after: int = 0) -> list[SessionEvent]:
        """Events numbered above ``after`` (pass the last number you saw)."""
        return self._events.after(after)

    def next_analysis(self, timeout_s: float | None = None) -> Analysis[R] | None:
        """The newest analysis not yet taken; ``None`` on timeout or once stopped."""
        try:
            return self.analyses.get(timeout_s)
        except SlotClosed:
            return None

    def latest_analysis(self) -> Analysis[R] | None:
        return self.analyses.peek()

    def freshness(self, analysis: Analysis[R] | None = None, now_s: float | None = None) -> Freshness:
        """How old the verdict of ``analysis`` (default: the newest) is, and why no newer
        one came: what the window and the headless output show beside every verdict."""
        analysis = analysis if analysis is not None else self.latest_analysis()
        now_s = time.monotonic() if now_s is None else now_s
        if analysis is None:
            return Freshness("NO SIGNAL", float("inf"), self._status.message or "no frame has arrived yet")
        return frame_freshness(analysis.frame.timestamp_s, now_s, analysis.frame_rate_hz, self._status,
                               self._commands.busy_with)

    def set_settings(self, settings: Any) -> None:
        """Replace the processing settings snapshot (whole; it is never mutated)."""
        self._settings = settings

    @property
    def settings(self) -> Any:
        return self._settings

    # ------------------------------------------------------------------ commands
    def submit(self, command: Callable[[Camera], T], label: str | None = None) -> Future[T]:
        """Run ``command(camera)`` on the acquisition thread between two frames.

        ``label`` ("capture") names the command while it runs, so that a pause in live
        view it causes is shown as PAUSED, not as a lost signal."""
        if not self.running:
            future: Future[T] = Future()
            future.set_exception(CameraError("The live session is not running; start it first."))
            return future
        return self._commands.put(command, label)

    def drive_focus(self, steps: int) -> Future[int]:
        """Drive focus; every later frame carries the session's running total of the steps
        the camera reported as moved (``metadata["drive_position_steps"]``), since no body
        reports an absolute focus position."""
        def command(camera: Camera) -> int:
            moved = camera.drive_focus(int(steps))
            self._drive_position_steps += moved
            return moved

        return self.submit(command)

    @property
    def drive_position_steps(self) -> int:
        """The steps the camera reported moved since the session started (its running total)."""
        return self._drive_position_steps

    def submit_driving(self, command: Callable[[Camera], T], label: str | None = None) -> Future[T]:
        """:meth:`submit` for a command that drives focus itself (going to a mark, a
        stack): the steps the camera reports moved count in the session's running total
        as :meth:`drive_focus`'s do, so later frames still say where the drive is."""
        session = self

        class Counted:
            def __init__(self, camera: Camera) -> None:
                self._camera = camera

            def drive_focus(self, steps: int) -> int:
                moved = self._camera.drive_focus(int(steps))
                session._drive_position_steps += moved
                return moved

            def __getattr__(self, name: str) -> Any:
                return getattr(self._camera, name)

        return self.submit(lambda camera: command(cast(Camera, Counted(camera))), label)

    def capture(self, folder: Path) -> Future[list[Path]]:
        return self.submit(lambda camera: camera.capture(Path(folder)), label="capture")

    def set_setting(self, name: str, value: str) -> Future[None]:
        return self.submit(lambda camera: camera.set_setting(name, value))

    def get_settings(self) -> Future[dict[str, Setting]]:
        return self.submit(lambda camera: camera.get_settings())

    # ------------------------------------------------------------------ internals
    def _set_status(self, state: CameraState, message: str = "") -> None:
        if self._status.state != state or self._status.message != message:
            self._status = CameraStatus(state, message, time.monotonic())

    def _report(self, kind: str, message: str) -> None:
        self._events.add(kind, message)

    def _open_camera(self) -> Camera | None:
        """Make and open a camera, retrying with back-off until it works or we stop."""
        for attempt in itertools.count():
            if self._stop.is_set():
                return None
            try:
                camera = self._camera_factory()
                camera.open()
                return camera
            except CameraError as error:
                if attempt == 0 or self._status.message != error.user_message:
                    self._report("error", error.user_message)
                state = CameraState.RECONNECTING if self.reconnect_count else CameraState.ERROR
                if isinstance(error, CameraBusyError):
                    state = CameraState.BUSY
                self._set_status(state, error.user_message)
            except Exception as error:
                message = f"The camera could not be opened: {error!r}."
                self._report("error", message)
                self._set_status(CameraState.ERROR, message)
            delay = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)]
            # Commands that arrive while no camera is open fail at once rather than wait.
            self._commands.fail_pending()
            self._stop.wait(delay)
        return None

    def _close_camera(self, camera: Camera) -> None:
        try:
            camera.close()
        except Exception as error:  # closing a vanished camera may fail; nothing to save
            self._report("warning", f"Closing the camera reported: {error}")

    def _acquire_loop(self) -> None:
        camera = self._open_camera()
        self.camera = camera
        last_sequence: int | None = None
        ended = False
        while camera is not None and not self._stop.is_set():
            try:
                self._commands.run_pending(camera, self._stop)
                if ended:
                    self._stop.wait(0.05)
                    continue
                frame = camera.read_frame()
                if last_sequence is not None and frame.sequence > last_sequence + 1:
                    self._source_gaps += frame.sequence - last_sequence - 1
                last_sequence = frame.sequence
                self._set_status(CameraState.LIVE)
                metadata = {**frame.metadata, "drive_position_steps": self._drive_position_steps}
                self.frames.put(dataclasses.replace(frame, metadata=metadata))
            except EndOfStream as error:
                ended = True
                self._report("info", error.user_message)
                self._set_status(CameraState.ENDED, error.user_message)
            except NoLiveViewError as error:
                ended = True  # asking again would fail again: say it once, and no frame comes
                self._report("error", error.user_message)
                self._set_status(CameraState.ENDED, error.user_message)
            except CorruptFrameError as error:
                self._report("warning", error.user_message)
            except CameraDisconnectedError as error:
                self._report("error", error.user_message)
                self._set_status(CameraState.RECONNECTING, error.user_message)
                self._close_camera(camera)
                self.camera = None
                self.reconnect_count += 1
                last_sequence = None
                # A new camera object, never the old one (libgphoto2 crashes on reuse).
                camera = self._open_camera()
                self.camera = camera
                if camera is not None:
                    self._report("info", f"Reconnected to {camera.name}.")
            except CameraError as error:
                self._report("error", error.user_message)
                self._set_status(CameraState.BUSY if isinstance(error, CameraBusyError) else CameraState.ERROR,
                                 error.user_message)
                self._stop.wait(READ_ERROR_PAUSE_S)
            except Exception as error:
                message = f"Reading a frame failed unexpectedly: {error!r}."
                self._report("error", message)
                self._set_status(CameraState.ERROR, message)
                self._stop.wait(READ_ERROR_PAUSE_S)
        if camera is not None:
            self._close_camera(camera)
        self.camera = None
        self.frames.close()

    def _process_loop(self) -> None:
        try:
            self._process_frames()
        finally:
            # A processor with helper threads of its own (FramePipeline) ends them with
            # the session, so that a stopped session leaves no thread behind.
            close = getattr(self._processor, "close", None)
            if callable(close):
                close()

    def _process_frames(self) -> None:
        previous_timestamp_s: float | None = None
        while True:
            try:
                frame = self.frames.get(timeout_s=0.25)
            except SlotClosed:
                return
            if frame is None:
                if self._stop.is_set():
                    return
                continue
            if previous_timestamp_s is not None:
                interval_s = frame.timestamp_s - previous_timestamp_s
                if interval_s > 0:
                    rate = 1.0 / interval_s
                    # Smoothed so the HUD reads steadily; frames the processor dropped
                    # lengthen the interval, which is what the user sees.
                    self._frame_rate_hz = rate if self._frame_rate_hz is None else 0.9 * self._frame_rate_hz + 0.1 * rate
            previous_timestamp_s = frame.timestamp_s
            settings = self._settings
            started_s = time.perf_counter()
            error_text = None
            result: R | None
            try:
                result = self._processor(frame, settings)
            except Exception as error:  # one bad frame must not end the session
                result = None
                error_text = f"Processing frame {frame.sequence} failed: {error!r}."
                self._report("error", error_text)
            processing_ms = (time.perf_counter() - started_s) * 1000.0
            analysis = Analysis(
                frame=frame,
                processing_ms=processing_ms,
                latency_ms=(time.monotonic() - frame.timestamp_s) * 1000.0,
                dropped_frames=self.frames.dropped_count + self._source_gaps,
                frame_rate_hz=self._frame_rate_hz,
                camera_status=self._status,
                result=result,
                error=error_text,
            )
            self.analyses.put(analysis)
