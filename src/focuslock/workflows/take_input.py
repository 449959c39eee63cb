"""Reading a take for ``analyze``: the frames of a video file, a folder of images or a
glob, in order (a video straight to RGB, or decoded only, for the analysis to convert
the rows it reads), with a helper thread decoding a few frames ahead of the analysis."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.devices.base import CameraError, CorruptFrameError
from focuslock.devices.folder import IMAGE_SUFFIXES, list_images, read_rgb_image
from focuslock.io.video_file import DecodedPicture, VideoFileReader

__all__ = ["AnalysisError", "InputFrame", "Prefetch", "input_paths", "is_video", "iter_input", "take_frame_rate"]


class AnalysisError(FocuslockError):
    """The input cannot be analysed; the text is one sentence for the user."""


@dataclass(frozen=True)
class InputFrame:
    """One frame of the take as read (``rgb`` and ``picture`` None: it could not be,
    ``error`` says why)."""

    index: int
    source: str | None
    time_s: float | None
    rgb: np.ndarray | None  # converted on the decode thread, off the analysis's path
    error: str | None = None
    last_index: int | None = None  # of a skipped stretch (one item, however long)
    # A video's frame left for its reader to convert where it reads (``rgb`` None).
    picture: DecodedPicture | None = None

    @property
    def readable(self) -> bool:
        return self.rgb is not None or self.picture is not None

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The frame's (height, width, 3); None for a frame that could not be read."""
        if self.rgb is not None:
            return self.rgb.shape
        return self.picture.shape if self.picture is not None else None


def is_video(path: Path) -> bool:
    """Whether ``path`` is a video file (a file that is not an image)."""
    return path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES


def iter_input(target: str, convert: bool = True) -> tuple[Iterator[InputFrame], int | None]:
    """Frames of a video file, a folder of images or a glob, with a count if known.
    ``convert`` False: a video's frames come as pictures their reader converts where it
    reads (:class:`~focuslock.io.video_file.DecodedPicture`)."""
    path = Path(target)
    if is_video(path):
        try:
            reader = VideoFileReader(path, pixel_format="rgb24", convert=convert)
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
    except Exception:  # nothing readable: nothing to protect either
        return []


def _video_frames(reader: VideoFileReader) -> Iterator[InputFrame]:
    """The reader's frames as the analysis takes them; a skipped stretch is one item
    (frames ``index``–``last_index``) with the reader's sentence, however many frames
    a timestamp claims it holds."""
    source = str(reader.path)
    try:
        for item in reader.frames():
            if item.image is not None or item.picture is not None:
                yield InputFrame(item.index, source, item.time_s, item.image, picture=item.picture)
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


def take_frame_rate(target: str) -> float:
    """A video's own frame rate; a stack or folder plays one frame a second."""
    path = Path(target)
    if is_video(path):
        try:
            with VideoFileReader(path) as reader:
                rate = reader.frame_rate_hz
        except CameraError:
            rate = None
        if rate is not None and 0.5 < rate < 500:
            return float(rate)
    return 1.0


class Prefetch:
    """Decodes the next frames on a helper thread while the current one is analysed."""

    _END = object()

    def __init__(self, frames: Iterator[InputFrame], depth: int = 3) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._ended = False
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
        # Iterated again after the end (a pass reads its lock frame, then goes on): nothing
        # more comes, and nothing is waited for.
        while not self._ended:
            item = self._queue.get()
            if item is self._END:
                self._ended = True
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
