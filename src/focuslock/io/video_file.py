"""Reading video files frame by frame, numbered from the container's timestamps, through
damage: the one reader of ``live --source video:FILE`` and of ``analyze``.

Through PyAV (FFmpeg as a library), packet by packet and straight on: a packet that does
not decode is passed over, never sought back to (OpenCV's seek after a failed read
landed on the last keyframe and replayed the same frames forever), and each frame's
number comes from its timestamp, so the frames after a damaged stretch keep their true
numbers and the stretch is reported as "frames 37–49 could not be decoded".

A file may claim more than it holds: a stretch however long (a timestamp that jumps a
billion frames ahead) is one :class:`DecodedFrame`, named "missing from the file (a jump
in its timestamps)" when far more frames are missing than packets were read; and the
frame count a header claims is kept only when the file is big enough to hold that many
frames, and never stretches a damaged end beyond the last packet read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focuslock.core.errors import CameraNotFoundError
from focuslock.io.limits import MAX_FRAME_PIXELS, check_frame_size

__all__ = ["VideoFileReader", "DecodedFrame", "DecodedPicture"]

logger = logging.getLogger(__name__)

# No container stores a frame in fewer bytes than this (a packet's header alone): a
# claimed frame count above the file's size over this is not believed.
MIN_BYTES_PER_FRAME = 8
# Frames a decoder may hold back (reordering, frame threads): a gap up to this many
# frames beyond the packets read since the last frame is still lost packets, not a jump.
DECODER_DELAY_FRAMES = 16


# Pictures whose whole rows convert to exactly the pixels the whole picture's conversion
# gives them, from an even row (4:2:0 shares a chroma row between two rows). Checked on
# every frame of the bench's take (tests/test_lock_best_passes.py); columns alone do not
# (swscale's path depends on the width).
_ROW_FORMATS = ("yuv420p",)
# Rows are converted in blocks of this many (a multiple of 2).
_ROW_BLOCK = 32


class DecodedPicture:
    """A decoded frame not yet converted: converted whole when asked (once), or only the
    rows a reader needs (:meth:`rows_into`), with the same pixels there as whole."""

    def __init__(self, frame, pixel_format: str) -> None:
        self._frame = frame
        self.pixel_format = pixel_format
        self.shape = (int(frame.height), int(frame.width), 3)
        self._whole: np.ndarray | None = None

    def whole(self) -> np.ndarray:
        """The whole frame in ``pixel_format``."""
        if self._whole is None:
            self._whole = self._frame.to_ndarray(format=self.pixel_format)
        return self._whole

    def rows_into(self, out: np.ndarray, y0: int, y1: int) -> None:
        """Fill rows ``y0``–``y1`` (end excluded) of the frame-sized ``out`` with this
        frame's pixels, converting those rows (a few more at most) rather than the whole."""
        frame = self._frame
        height, width = self.shape[:2]
        # From an even row, and a whole number of row blocks: a band's height changes
        # little from frame to frame, and each new height costs the converter a new setup.
        rows = -(-(y1 - y0 + y0 % 2) // _ROW_BLOCK) * _ROW_BLOCK
        y0 = max(y0 - y0 % 2, 0)
        y0, y1 = (y0, y0 + rows) if y0 + rows <= height else (max(height - rows, 0), height)
        if self._whole is not None or frame.format.name not in _ROW_FORMATS or height % 2 or width % 2 or y1 <= y0:
            out[y0:y1] = self.whole()[y0:y1]
            return
        import av

        band = av.VideoFrame(width, y1 - y0, frame.format.name)
        for plane, (source, target) in enumerate(zip(frame.planes, band.planes, strict=True)):
            top, bottom = (y0, y1) if plane == 0 else (y0 // 2, y1 // 2)
            lines = np.frombuffer(memoryview(source), np.uint8).reshape(-1, source.line_size)[top:bottom, : source.width]
            np.frombuffer(memoryview(target), np.uint8).reshape(-1, target.line_size)[: bottom - top, : target.width] = lines
        band.colorspace, band.color_range = frame.colorspace, frame.color_range
        out[y0:y1] = band.to_ndarray(format=self.pixel_format)


@dataclass(frozen=True)
class DecodedFrame:
    """One frame (``image``; or ``picture`` from a reader that leaves the conversion to
    its reader), or a stretch that could not be decoded (both None, ``error`` says which
    frames): ``index`` is the first frame number concerned."""

    index: int
    time_s: float | None
    image: np.ndarray | None
    error: str | None = None
    last_index: int | None = None  # of a skipped stretch
    picture: DecodedPicture | None = None


class VideoFileReader:
    """Frames of one video file in order. ``pixel_format``: ``"rgb24"`` or ``"bgr24"``;
    ``convert`` False: each frame comes as a :class:`DecodedPicture` that its reader
    converts where it reads (``image`` None)."""

    def __init__(self, path: str | os.PathLike, pixel_format: str = "rgb24", max_pixels: int = MAX_FRAME_PIXELS,
                 convert: bool = True) -> None:
        self.path = Path(path)
        self.pixel_format = pixel_format
        self.convert = convert
        self.name = self.path.name
        try:
            import av
        except ImportError:  # pragma: no cover - av is a dependency
            raise CameraNotFoundError("Reading video files needs PyAV (pip install av).") from None
        self._av = av
        if self.path.is_dir():
            raise CameraNotFoundError(f"{self.path} is a folder, not a video file (a folder of pictures: folder:{self.path}).")
        if not self.path.is_file():
            raise CameraNotFoundError(f"The video file {self.path} does not exist.")
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError):
            raise CameraNotFoundError(f"{self.path} is not a video file that can be read.") from None
        if not self._container.streams.video:
            self._container.close()
            raise CameraNotFoundError(f"{self.path} holds no video stream.")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: decoding keeps up with the analysis
        try:
            check_frame_size(stream.codec_context.width, stream.codec_context.height, self.name, max_pixels)
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        rate = stream.average_rate or stream.guessed_rate
        self.frame_rate_hz: float | None = float(rate) if rate and 0 < float(rate) < 1000 else None
        claimed = int(stream.frames or 0)
        self.frame_count: int | None = _believable_count(claimed, self.path.stat().st_size, self.name)
        self._time_base = stream.time_base
        self._start_pts = stream.start_time

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            del self._container  # closed: gone (a second close finds nothing)
            container.close()

    def __enter__(self) -> VideoFileReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _index_of(self, pts: int | None, fallback: int) -> tuple[int, float | None]:
        if pts is None or self._time_base is None:
            return fallback, None
        if self._start_pts is None:
            self._start_pts = pts
        time_s = float((pts - self._start_pts) * self._time_base)
        if self.frame_rate_hz is None:
            return fallback, time_s
        return int(round(time_s * self.frame_rate_hz)), time_s

    def frames(self) -> Iterator[DecodedFrame]:
        """Every frame in order; a damaged stretch as one :class:`DecodedFrame` without
        an image, at the place it was; the file's end ends the iteration.

        After damage, frames up to the next keyframe are skipped too: they are predicted
        from pictures that were lost, and the decoder fills them from whatever it last
        had (frame 52 showing frame 35's picture) — no picture to judge focus on."""
        av = self._av
        self._next_index = 0
        self._skip: list[int] | None = None  # [first, last] of the stretch being skipped
        self._skip_jump = False  # the stretch being skipped is a jump in the timestamps
        self._packets = 0
        self._packets_at_frame = 0
        last_packet_index: int | None = None  # the last frame number a packet read claims
        undecodable_packets = 0
        broken = False
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError):
                broken = True  # the container itself is broken from here: the file ends here
                break
            self._packets += 1
            if packet.pts is not None and packet.size and self._start_pts is not None:
                packet_index = self._index_of(packet.pts, self._next_index)[0]
                last_packet_index = max(packet_index, last_packet_index if last_packet_index is not None else -1)
            try:
                decoded = packet.decode()
            except (av.error.FFmpegError, OSError):
                undecodable_packets += 1
                self._start_skip(self._next_index)
                continue
            for frame in decoded:
                yield from self._frame(frame)
        try:
            for frame in self._stream.codec_context.decode(None):  # frames the decoder still holds
                yield from self._frame(frame)
        except (av.error.FFmpegError, OSError):
            pass
        # Lost packets at the end: up to the last frame a packet read claims (never to a
        # count the header claims: it may say a billion).
        if last_packet_index is not None and self._next_index <= last_packet_index and undecodable_packets:
            skip = self._start_skip(self._next_index)
            skip[1] = max(skip[1], last_packet_index)
        if self._skip is not None and self._skip[1] >= self._skip[0]:
            yield self._skipped(*self._skip)
        elif broken:
            yield DecodedFrame(self._next_index, None, None,
                               f"{self.name} is damaged after frame {self._next_index - 1}; the rest could not be read.")

    def _start_skip(self, index: int) -> list[int]:
        """Begin a skipped stretch at ``index`` (empty until a frame is put in it), or
        the one begun already: its [first, last]."""
        if self._skip is None:
            self._skip = [index, index - 1]
            self._skip_jump = False
        return self._skip

    def _frame(self, frame) -> Iterator[DecodedFrame]:
        index, time_s = self._index_of(frame.pts, self._next_index)
        index = max(index, self._next_index)  # a repeated or backwards timestamp: keep counting on
        if index > self._next_index:  # frames that never came out of the decoder
            skip = self._start_skip(self._next_index)
            skip[1] = max(skip[1], index - 1)
            if index - self._next_index > self._packets - self._packets_at_frame + DECODER_DELAY_FRAMES:
                self._skip_jump = True  # far more frames than packets: never in the file
        self._packets_at_frame = self._packets
        self._next_index = index + 1
        corrupt = bool(getattr(frame, "is_corrupt", False))
        if corrupt:
            self._start_skip(index)
        if self._skip is not None and (corrupt or not frame.key_frame):
            self._skip[1] = index
            return
        if self._skip is not None:
            first, last = self._skip[0], min(self._skip[1], index - 1)
            self._skip = None
            if last >= first:
                yield self._skipped(first, last)
        if self.convert:
            yield DecodedFrame(index, time_s, frame.to_ndarray(format=self.pixel_format))
        else:
            yield DecodedFrame(index, time_s, None, picture=DecodedPicture(frame, self.pixel_format))

    def _skipped(self, first: int, last: int) -> DecodedFrame:
        which = f"Frame {first:,}" if first == last else f"Frames {first:,}–{last:,}"
        verb = "was" if first == last else "were"
        if self._skip_jump:
            being = "is" if first == last else "are"
            error = f"{which} of {self.name} {being} missing from the file (a jump in its timestamps) and {verb} skipped."
        else:
            error = f"{which} of {self.name} could not be decoded and {verb} skipped."
        return DecodedFrame(first, None, None, error, last)


def _believable_count(claimed: int, file_bytes: int, name: str) -> int | None:
    """The frame count a header claims, or None where the file is too small to hold
    that many frames (an AVI saying 10⁹ in 174 KB): then the count is what is read."""
    if claimed <= 0:
        return None
    if claimed * MIN_BYTES_PER_FRAME > file_bytes:
        logger.info("%s claims %d frames in %d bytes; the count is what is read instead.", name, claimed, file_bytes)
        return None
    return claimed
