"""How large and how small a frame focuslock accepts, checked before anything is decoded.

A 109 KB PNG can declare 30000×30000 pixels and cost gigabytes to decode (a
"decompression bomb"); a 1×1 or 3×100000 frame has no room for a feature. Every image
focuslock decodes (folder images, live-view JPEGs, captures checked, a recipe's
reference) goes through :func:`decode_image` or :func:`read_image_file`, the one reader:

* the format is told by the content's magic bytes, as OpenCV tells it — never by the
  file's name — and only PNG, JPEG, BMP, WebP and TIFF are accepted, the formats whose
  size is read before decoding (:mod:`.image_format`); a GIF, HDR, PNM, EXR, ... is
  refused in one sentence naming the file and the format;
* the declared size is read wherever it is (a JPEG's frame header after any number of
  markers, a TIFF's directories wherever their offsets point) and refused above 200 MP
  or below 16 px a side, in one sentence;
* a file is read into memory only after its header passed, and only up to the size the
  largest accepted picture can have;
* OpenCV's own limit (``OPENCV_IO_MAX_IMAGE_PIXELS``, set by :mod:`focuslock` before
  OpenCV is imported) is a second wall.

Every video is checked the same way from its stream's size before the first frame is
decoded.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.errors import CorruptFrameError
from focuslock.core.file_kinds import NotRegularFile, open_regular
from focuslock.io.image_format import (
    ACCEPTED,
    SNIFF_BYTES,
    BufferSource,
    ByteSource,
    FileSource,
    declared_size,
    sniff,
)

__all__ = ["MAX_FRAME_PIXELS", "MIN_FRAME_SIDE_PX", "FrameSizeError", "ImageFormatError", "check_frame_size", "check_header",
           "decode_image", "header_size", "jpeg_cut_short", "max_file_bytes", "read_image_bytes", "read_image_file"]

logger = logging.getLogger(__name__)

# 200 million pixels: above the largest camera files made today (151 MP medium format),
# far below what would exhaust a laptop (an RGB frame of this size is 600 MB). The same
# figure is OpenCV's own limit, set in focuslock/__init__.py before OpenCV is imported.
MAX_FRAME_PIXELS = 200_000_000
# The smallest side a frame may have: room for a feature box and its margin.
MIN_FRAME_SIDE_PX = 16


class FrameSizeError(CorruptFrameError):
    """A frame refused before decoding: a file's declared frame too large or too small
    to process, or (:class:`ImageFormatError`) a format whose size is not read first."""


class ImageFormatError(FrameSizeError):
    """A file whose content is a format focuslock does not decode (GIF, HDR, ...)."""


def check_frame_size(width: int, height: int, name: str, max_pixels: int = MAX_FRAME_PIXELS) -> None:
    """Raise :class:`FrameSizeError` for a picture with no usable size or more than ``max_pixels``."""
    if width <= 0 or height <= 0:
        raise FrameSizeError(f"{name} declares no usable size ({width}×{height}); it was skipped.")
    if width * height > max_pixels:
        raise FrameSizeError(f"{name} declares {width}×{height} pixels ({width * height / 1e6:.0f} MP), more than the "
                             f"{max_pixels / 1e6:.0f} MP focuslock decodes; it was skipped.")
    if min(width, height) < MIN_FRAME_SIDE_PX:
        raise FrameSizeError(f"{name} is {width}×{height} pixels, too small to judge focus in "
                             f"(at least {MIN_FRAME_SIDE_PX} px a side); it was skipped.")


def max_file_bytes(pixels: int = MAX_FRAME_PIXELS) -> int:
    """The largest file read into memory for a picture of ``pixels``: uncompressed at 16
    bits in four channels, and 64 MB of metadata and previews."""
    return pixels * 8 + (64 << 20)


def check_header(source: ByteSource, name: str, max_pixels: int = MAX_FRAME_PIXELS) -> tuple[str, tuple[int, int]]:
    """The format and declared (width, height) of ``source``, once both were accepted.
    Raises :class:`ImageFormatError`, :class:`FrameSizeError` or
    :class:`CorruptFrameError` (one sentence each)."""
    kind = sniff(source.read_at(0, SNIFF_BYTES))
    if kind is None:
        raise CorruptFrameError(f"{name} is not a readable image; it was skipped.")
    if kind not in ACCEPTED:
        raise ImageFormatError(f"{name} is a {kind} file (by its content), a format focuslock does not decode — only "
                               f"{', '.join(ACCEPTED[:-1])} and {ACCEPTED[-1]}, whose size is read before decoding; "
                               "it was skipped.")
    size = declared_size(source, kind)
    if size is None:
        if kind == "JPEG" and jpeg_cut_short(source.read_at(0, 4) + source.read_at(max(source.size - 4096, 4), 4096)):
            # No frame header before the data ran out: a transfer cut short (a pulled card).
            raise CorruptFrameError(f"{name} arrived cut short (a JPEG without its end marker); it was skipped.")
        raise FrameSizeError(f"{name} is a {kind} whose size could not be read before decoding; it was skipped.")
    check_frame_size(size[0], size[1], name, max_pixels)
    return kind, size


def decode_image(data: bytes | np.ndarray, name: str, flags: int = cv2.IMREAD_COLOR,
                 max_pixels: int = MAX_FRAME_PIXELS) -> np.ndarray:
    """``data`` (an encoded image) decoded by OpenCV (BGR), after its format and its
    declared size were checked. Raises :class:`FrameSizeError` or
    :class:`CorruptFrameError` (one sentence)."""
    buffer = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    buffer = np.ascontiguousarray(buffer, np.uint8).reshape(-1)
    check_header(BufferSource(buffer), name, max_pixels)
    return _decode(buffer, name, flags, max_pixels)


def read_image_file(path: str | os.PathLike, name: str | None = None, flags: int = cv2.IMREAD_COLOR,
                    max_pixels: int = MAX_FRAME_PIXELS) -> np.ndarray:
    """The image file at ``path`` decoded (BGR): its format and declared size checked
    from the file itself first, then read whole (a regular file only, never blocking on
    a FIFO or a device). Raises :class:`FrameSizeError` or :class:`CorruptFrameError`
    (one sentence), also for a file that cannot be read."""
    name = name or Path(path).name
    return _decode(read_image_bytes(path, name, max_pixels), name, flags, max_pixels)


def read_image_bytes(path: str | os.PathLike, name: str | None = None, max_pixels: int = MAX_FRAME_PIXELS) -> np.ndarray:
    """The image file at ``path`` read whole, not decoded (for a checksum or a copy too),
    only after its format and declared size were checked from the file itself and only up
    to what such a picture can take (a regular file only, never blocking on a FIFO or a
    device). Raises :class:`FrameSizeError` or :class:`CorruptFrameError` (one sentence)."""
    path = Path(path)
    name = name or path.name
    try:
        with open_regular(path) as (fd, info):
            _, (width, height) = check_header(FileSource(fd, info.st_size), name, max_pixels)
            if info.st_size > max_file_bytes(width * height):
                raise FrameSizeError(f"{name} is {info.st_size / 1e6:.0f} MB, more than a picture of {width}×{height} "
                                     "pixels can take; it was skipped.")
            buffer = np.empty(info.st_size, np.uint8)
            with os.fdopen(os.dup(fd), "rb", buffering=0) as handle:
                handle.seek(0)
                got = handle.readinto(buffer.data)
    except NotRegularFile as error:
        if error.kind == "a folder":
            raise CorruptFrameError(f"{name} could not be read ({os.strerror(errno.EISDIR)}); it was skipped.") from None
        raise CorruptFrameError(f"{name} is not a regular file (a pipe or a device); it was skipped.") from None
    except OSError as error:
        raise CorruptFrameError(f"{name} could not be read ({error.strerror or error}); it was skipped.") from None
    if got != info.st_size:
        raise CorruptFrameError(f"{name} changed while it was read; it was skipped.")
    return buffer


def _decode(buffer: np.ndarray, name: str, flags: int, max_pixels: int) -> np.ndarray:
    if jpeg_cut_short(buffer):
        # libjpeg would "decode" it with the missing part grey: a picture that lies.
        raise CorruptFrameError(f"{name} arrived cut short (a JPEG without its end marker); it was skipped.")
    try:
        image = cv2.imdecode(buffer, flags) if buffer.size else None
    except cv2.error as error:
        logger.debug("OpenCV refused %s: %s", name, error)
        image = None  # OpenCV's own limits or a malformed file: its raw assertion text is no sentence
    if image is None:
        raise CorruptFrameError(f"{name} is not a readable image; it was skipped.")
    height, width = image.shape[:2]
    check_frame_size(width, height, name, max_pixels)  # what the decoder made of it
    return image


def jpeg_cut_short(data: bytes | np.ndarray) -> bool:
    """A JPEG (by its start marker) that does not end with its end-of-image marker
    (trailing zero padding allowed): a transfer that was cut."""
    if len(data) < 4 or bytes(data[:3]) != b"\xff\xd8\xff":
        return False
    array = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data.reshape(-1)
    end = len(array)
    while end > 2:  # the trailing zeros, a megabyte at a time from the end
        start = max(0, end - (1 << 20))
        nonzero = np.flatnonzero(array[start:end])
        if nonzero.size:
            end = start + int(nonzero[-1]) + 1
            break
        end = start
    return bytes(array[max(0, end - 2) : end]) != b"\xff\xd9"


def header_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the start of an image file, or None for a format (or a
    header) not read here (one of :mod:`.image_format`'s accepted formats only)."""
    kind = sniff(head[:SNIFF_BYTES])
    if kind not in ACCEPTED:
        return None
    return declared_size(BufferSource(head), kind)
