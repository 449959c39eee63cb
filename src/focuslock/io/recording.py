"""Video recordings that survive a kill, a full disk and a change of frame size.

H.264 (libx264, yuv420p) in a *fragmented* MP4 through PyAV, whose wheel ships FFmpeg
with its encoder (see DESIGN-NOTES "Recordings"): the file starts with an empty index
and every second of video is a self-contained fragment, flushed to the file as it is
made, so a recording cut by SIGKILL, a power cut or a full disk plays up to its last
second; browsers, chat previews and every editor play H.264.

One :class:`VideoRecorder` serves the headless live recording and ``analyze``'s overlay
video: one path for every video focuslock writes.
"""

from __future__ import annotations

import errno
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from focuslock.core.errors import FocuslockError

if TYPE_CHECKING:
    from av.container import OutputContainer
    from av.video.stream import VideoStream

__all__ = ["RecordingError", "RecordingFull", "VideoRecorder"]

_TIME_BASE = Fraction(1, 90_000)  # the MPEG clock: exact for every common frame rate
_CHECK_SIZE_EVERY_FRAMES = 30
# x264 speed preset: a live recording must keep up with the source on a laptop.
_PRESET = "ultrafast"


class RecordingError(FocuslockError):
    """The recording cannot go on (disk full, folder gone); what was written plays.
    ``str()`` is one sentence."""


class RecordingFull(RecordingError):
    """The recording reached the size cap it was given; what was written plays."""


class VideoRecorder:
    """Writes RGB frames to ``path`` as fragmented H.264 MP4.

    ``frame_rate_hz``: the nominal rate (fragments are one second long); each frame's
    time comes from ``write(time_s=...)`` when given (a live source's clock), else from
    its index at this rate. ``max_bytes``: stop with :class:`RecordingFull` once the
    files written pass this size. A frame of another size than the first closes the
    file and goes on in ``NAME-part2.mp4`` (``segments`` lists every file, ``notes``
    says why).
    """

    def __init__(self, path: Path, frame_rate_hz: float, *, max_bytes: int | None = None) -> None:
        if not (frame_rate_hz > 0):
            raise ValueError("A recording needs a frame rate above 0.")
        self.path = Path(path)
        self.frame_rate_hz = float(frame_rate_hz)
        self.max_bytes = max_bytes
        self.segments: list[Path] = []
        self.notes: list[str] = []
        self.frames_written = 0
        self._container: OutputContainer | None = None
        self._stream: VideoStream | None = None
        self._size: tuple[int, int] | None = None  # (width, height) of the frames given
        self._last_pts = -1
        self._first_time_s: float | None = None
        self._closed_bytes = 0
        self._failed = False

    # ------------------------------------------------------------------ writing
    def write(self, rgb: np.ndarray, time_s: float | None = None) -> None:
        if self._failed:
            raise RecordingError("The recording has stopped; nothing more is written.")
        height, width = rgb.shape[:2]
        if self._size is not None and (width, height) != self._size:
            old = self._size
            self._finish_segment()
            self.notes.append(f"The frame size changed from {old[0]}×{old[1]} to {width}×{height} at frame "
                              f"{self.frames_written}; the recording goes on in {self._segment_path(len(self.segments) + 1).name}.")
        if self._container is None:
            self._open_segment(width, height)
        pts = self._pts(time_s)
        frame = self._av.VideoFrame.from_ndarray(_even(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, _TIME_BASE
        container, stream = self._container, self._stream
        assert container is not None and stream is not None  # the segment is open
        try:
            for packet in stream.encode(frame):
                container.mux(packet)
        except OSError as error:
            self._fail()
            raise self._error(error) from None
        self.frames_written += 1
        if self.max_bytes is not None and self.frames_written % _CHECK_SIZE_EVERY_FRAMES == 0:
            if self.bytes_written() > self.max_bytes:
                self.close()
                self._failed = True
                raise RecordingFull(f"The recording reached its cap of {self.max_bytes / 1e6:.0f} MB after "
                                    f"{self.frames_written} frames and stopped; what was recorded plays.")

    def bytes_written(self) -> int:
        current = self.segments[-1].stat().st_size if self._container is not None and self.segments[-1].exists() else 0
        return self._closed_bytes + current

    def close(self) -> list[Path]:
        """Flush the encoder and close the file (safe to call twice); returns the files."""
        self._finish_segment()
        return list(self.segments)

    # ------------------------------------------------------------------ internals
    @property
    def _av(self):
        import av  # imported on first use: a command that writes no video never loads FFmpeg

        return av

    def _segment_path(self, number: int) -> Path:
        return self.path if number == 1 else self.path.with_name(f"{self.path.stem}-part{number}{self.path.suffix}")

    def _open_segment(self, width: int, height: int) -> None:
        av = self._av
        path = self._segment_path(len(self.segments) + 1)
        try:
            container = av.open(str(path), mode="w", format="mp4", options={
                # Fragments start at every keyframe, the index is written first and
                # empty, and every packet reaches the file at once: a cut file plays.
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                "flush_packets": "1",
            })
        except OSError as error:
            raise self._error(error) from None
        stream = container.add_stream("libx264", rate=Fraction(self.frame_rate_hz).limit_denominator(1001))
        even_width, even_height = width + width % 2, height + height % 2
        stream.width, stream.height, stream.pix_fmt = even_width, even_height, "yuv420p"
        stream.codec_context.time_base = _TIME_BASE
        keyframe_every = max(1, int(round(self.frame_rate_hz)))
        # zerolatency: no frames held back in the encoder, so a kill loses at most the
        # fragment being made (about a second).
        stream.codec_context.options = {"preset": _PRESET, "crf": "23", "tune": "zerolatency", "g": str(keyframe_every)}
        self._container, self._stream, self._size = container, stream, (width, height)
        self._last_pts = -1
        self.segments.append(path)

    def _pts(self, time_s: float | None) -> int:
        if time_s is None:
            pts = int(round(self.frames_written / self.frame_rate_hz / _TIME_BASE))
        else:
            if self._first_time_s is None:
                self._first_time_s = time_s
            pts = int(round((time_s - self._first_time_s) / _TIME_BASE))
        pts = max(pts, self._last_pts + 1)  # strictly increasing, whatever the clock did
        self._last_pts = pts
        return pts

    def _finish_segment(self) -> None:
        container, stream = self._container, self._stream
        self._container = self._stream = None
        if container is None or stream is None:
            return
        try:
            for packet in stream.encode():
                container.mux(packet)
        except OSError:
            pass  # a full disk at the end: the fragments already written play
        try:
            container.close()
        except OSError:
            pass
        path = self.segments[-1]
        self._closed_bytes += path.stat().st_size if path.exists() else 0

    def _fail(self) -> None:
        self._failed = True
        try:
            self._finish_segment()
        except Exception:  # already failing; keep the first error
            pass

    def _error(self, error: OSError) -> RecordingError:
        path = self.segments[-1] if self.segments else self.path
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return RecordingError(f"The disk is full: the recording {path.name} stopped after {self.frames_written} frames; "
                                  "what was recorded plays.")
        return RecordingError(f"The recording {path.name} could not be written ({error.strerror or error}); "
                              f"it stopped after {self.frames_written} frames.")


def _even(rgb: np.ndarray) -> np.ndarray:
    """H.264 in 4:2:0 needs even sizes: repeat the last row or column when odd."""
    height, width = rgb.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return np.ascontiguousarray(rgb)
    return cv2.copyMakeBorder(rgb, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
