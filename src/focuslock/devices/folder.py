"""Image sequences: a folder or a glob of images, in natural file-name order."""

from __future__ import annotations

import glob as globbing
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.frames import Frame
from focuslock.devices.base import (
    CameraError,
    CameraNotFoundError,
    Capabilities,
    CorruptFrameError,
    EndOfStream,
)
from focuslock.devices.body_report import Attempt, BodyFacts, SourceKind
from focuslock.devices.playback import FramePacer, PlaybackCamera
from focuslock.io.limits import read_image_file

__all__ = ["FolderCamera", "FolderSurvey", "IMAGE_SUFFIXES", "SURVEY_LIMIT", "list_images", "natural_key",
           "read_bgr_image", "read_rgb_image"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})
# How many of a folder's files a survey (``focuslock cameras --source folder:DIR``) reads
# whole: enough for a stack, a bound for an archive (each file is decoded).
SURVEY_LIMIT = 200
_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str | os.PathLike) -> tuple:
    """Sort key that puts ``frame_2`` before ``frame_10`` (case-insensitive)."""
    name = os.path.basename(os.fspath(path)).lower()
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


def list_images(target: str | os.PathLike) -> list[Path]:
    """The images a folder or a glob pattern names, in natural order."""
    text = os.fspath(target)
    if any(ch in text for ch in "*?["):
        paths = [Path(p) for p in globbing.glob(text)]
    elif Path(text).is_dir():
        paths = [p for p in Path(text).iterdir()]
    else:
        raise CameraNotFoundError(f"{text} is neither a folder nor a glob pattern of images.")
    images = [p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(images, key=natural_key)


def read_bgr_image(path: Path) -> np.ndarray:
    """An image file as OpenCV's BGR uint8, its declared size checked before decoding
    (:mod:`.limits`). Raises :class:`CorruptFrameError` (one sentence) when it cannot be
    read or lies outside the size limits."""
    return read_image_file(path, path.name)  # unlike cv2.imread, handles any path


def read_rgb_image(path: Path) -> np.ndarray:
    """An image file as RGB uint8. Raises :class:`CorruptFrameError` when it cannot be read."""
    return cv2.cvtColor(read_bgr_image(path), cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class FolderSurvey:
    """What a folder holds: ``images`` image files (by their names), the first ``opened``
    of them read whole, of which ``unreadable`` (each one sentence naming its file) could
    not be read as a picture."""

    target: str
    images: int
    opened: int
    unreadable: tuple[str, ...]

    @property
    def readable(self) -> int:
        return self.opened - len(self.unreadable)

    def lines(self) -> tuple[str, ...]:
        """What it found, then each file it could not read, a sentence each."""
        found = f"found: {self.images} image file{'s' if self.images != 1 else ''}"
        if self.opened < self.images:
            found += f"; the first {self.opened} opened"
        found += f", {self.readable} read as pictures"
        if self.unreadable:
            found += f", {len(self.unreadable)} could not be read"
        return (found, *(f"could not read: {sentence}" for sentence in self.unreadable))

    def live_view(self) -> Attempt:
        """Whether the folder gives a live view: a picture it can read, or why not."""
        if self.readable:
            return Attempt(True, True)
        some = "the first " if self.opened < self.images else ""
        return Attempt(True, False, f"None of {some}the {self.opened} image files in {self.target} could be read as a "
                                    "picture (why, for each, is in the report).")


class FolderCamera(PlaybackCamera):
    """Frames from a sequence of image files.

    Parameters
    ----------
    target:
        A folder (every image in it) or a glob pattern (``"stack/*.JPG"``).
    rate_hz:
        Deliver frames at this rate, as live view would; ``None`` for as fast as read.
    loop:
        Start again from the first image after the last instead of ending.
    """

    def __init__(self, target: str | os.PathLike, rate_hz: float | None = None, loop: bool = False) -> None:
        super().__init__()
        self.target = os.fspath(target)
        self.rate_hz = rate_hz
        self.loop = loop
        self.paths: list[Path] = []
        self._index = 0
        self._sequence = 0
        self._pacer = FramePacer(rate_hz)
        self._opened = False
        self._survey: FolderSurvey | None = None
        self.name = f"Image folder {self.target}"

    def body_facts(self) -> BodyFacts:
        """What this source is, for focuslock.devices.body_report (it cannot drive focus),
        and what it holds once :meth:`survey` has looked."""
        if self._survey is None:
            return BodyFacts(SourceKind.FOLDER)
        return BodyFacts(SourceKind.FOLDER, live_view=self._survey.live_view(), found=self._survey.lines())

    def survey(self) -> FolderSurvey:
        """Read the folder's first ``SURVEY_LIMIT`` image files whole (the playback does not
        move): how many there are and which could not be read, and why."""
        self.open()
        unreadable = []
        opened = self.paths[:SURVEY_LIMIT]
        for path in opened:
            try:
                read_bgr_image(path)
            except CorruptFrameError as error:
                unreadable.append(error.reason)
        self._survey = FolderSurvey(self.target, len(self.paths), len(opened), tuple(unreadable))
        return self._survey

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            live_view=True,
            capture=True,
            finite=not self.loop,
            frame_rate_hz=self.rate_hz,
            notes=("Capture saves the current frame as PNG.",),
        )

    def open(self) -> None:
        if self._opened:
            return
        self.paths = list_images(self.target)
        if not self.paths:
            raise CameraNotFoundError(f"{self.target} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}).")
        self._index = 0
        self._opened = True

    def close(self) -> None:
        self._opened = False

    def read_frame(self) -> Frame:
        if not self._opened:
            raise CameraError(f"{self.name} is not open.")
        if self._index >= len(self.paths):
            if not self.loop:
                raise EndOfStream(f"{self.name} has no more images.")
            self._index = 0
        self._pacer.wait()
        index = self._index
        path = self.paths[index]
        self._index += 1
        sequence = self._sequence
        self._sequence += 1
        rgb = read_rgb_image(path)  # raises CorruptFrameError; the next call goes on
        frame = Frame(
            sequence=sequence,
            timestamp_s=time.monotonic(),
            image=rgb,
            metadata={"frame_index": index, "source_kind": "folder"},
            source=str(path),
        )
        return self._remember(frame)
