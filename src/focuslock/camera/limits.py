"""How large and how small a frame focuslock accepts, checked before anything is decoded.

A 109 KB PNG can declare 30000×30000 pixels and cost gigabytes to decode (a
"decompression bomb"); a 1×1 or 3×100000 frame has no room for a feature. Every image
the sources decode (folder images, live-view JPEGs, captures checked) goes through
:func:`decode_image`, which reads the size from the file's header first (PNG, JPEG,
BMP, WebP, TIFF) and refuses, in one sentence, what lies outside the limits; every video
is checked the same way from its stream's size before the first frame is decoded.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from focuslock.camera.base import CorruptFrameError

__all__ = ["MAX_FRAME_PIXELS", "MIN_FRAME_SIDE_PX", "FrameSizeError", "check_frame_size", "decode_image", "header_size",
           "jpeg_cut_short"]

# 200 million pixels: above the largest camera files made today (151 MP medium format),
# far below what would exhaust a laptop (an RGB frame of this size is 600 MB).
MAX_FRAME_PIXELS = 200_000_000
# The smallest side a frame may have: room for a feature box and its margin.
MIN_FRAME_SIDE_PX = 16


class FrameSizeError(CorruptFrameError):
    """A frame (or a file's declared frame) too large or too small to process."""


def check_frame_size(width: int, height: int, name: str, max_pixels: int = MAX_FRAME_PIXELS) -> None:
    if width <= 0 or height <= 0:
        raise FrameSizeError(f"{name} declares no usable size ({width}×{height}); it was skipped.")
    if width * height > max_pixels:
        raise FrameSizeError(f"{name} declares {width}×{height} pixels ({width * height / 1e6:.0f} MP), more than the "
                             f"{max_pixels / 1e6:.0f} MP focuslock decodes; it was skipped.")
    if min(width, height) < MIN_FRAME_SIDE_PX:
        raise FrameSizeError(f"{name} is {width}×{height} pixels, too small to judge focus in "
                             f"(at least {MIN_FRAME_SIDE_PX} px a side); it was skipped.")


def decode_image(data: bytes | np.ndarray, name: str, flags: int = cv2.IMREAD_COLOR,
                 max_pixels: int = MAX_FRAME_PIXELS) -> np.ndarray:
    """``data`` (an encoded image) decoded by OpenCV (BGR), after its header's size was
    checked. Raises :class:`FrameSizeError` or :class:`CorruptFrameError` (one sentence)."""
    buffer = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    size = header_size(buffer[:_HEADER_BYTES].tobytes())
    if size is not None:
        check_frame_size(size[0], size[1], name, max_pixels)
    if jpeg_cut_short(buffer):
        # libjpeg would "decode" it with the missing part grey: a picture that lies.
        raise CorruptFrameError(f"{name} arrived cut short (a JPEG without its end marker); it was skipped.")
    try:
        image = cv2.imdecode(buffer, flags) if buffer.size else None
    except cv2.error:
        image = None  # OpenCV's own limits or a malformed file: its raw assertion text is no sentence
    if image is None:
        raise CorruptFrameError(f"{name} is not a readable image; it was skipped.")
    height, width = image.shape[:2]
    check_frame_size(width, height, name, max_pixels)  # formats whose header was not read
    return image


# Enough for any JPEG's markers before its frame header (EXIF is at most 64 KB) and the
# first IFDs of a TIFF; a size not found here is checked after decoding.
_HEADER_BYTES = 1 << 18


def jpeg_cut_short(data: bytes | np.ndarray) -> bool:
    """A JPEG (by its start marker) that does not end with its end-of-image marker
    (trailing zero padding allowed): a transfer that was cut."""
    if len(data) < 4 or bytes(data[:3]) != b"\xff\xd8\xff":
        return False
    end = len(data)
    while end > 2 and data[end - 1] == 0:
        end -= 1
    return bytes(data[end - 2 : end]) != b"\xff\xd9"


def header_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the start of an image file, or None for a format (or a
    header) not read here."""
    try:
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head[:2] == b"\xff\xd8":
            return _jpeg_size(head)
        if head[:2] == b"BM" and len(head) >= 26:
            width, height = struct.unpack("<ii", head[18:26])
            return abs(width), abs(height)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(head)
    except (struct.error, IndexError, ValueError):
        return (0, 0)  # a header that does not parse: refused as unusable
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            position += 1
            continue
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            position += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        # Start of frame (baseline, progressive, lossless, ...), not DHT/JPG/DAC.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """The largest image any IFD of a TIFF (or TIFF-based RAW) declares."""
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    largest: tuple[int, int] | None = None
    seen = set()
    while 0 < offset < len(data) - 2 and offset not in seen and len(seen) < 64:
        seen.add(offset)
        count = struct.unpack(order + "H", data[offset : offset + 2])[0]
        width = height = None
        for entry in range(count):
            start = offset + 2 + 12 * entry
            tag, kind = struct.unpack(order + "HH", data[start : start + 4])
            if tag in (256, 257):
                value = (struct.unpack(order + "H", data[start + 8 : start + 10])[0] if kind == 3
                         else struct.unpack(order + "I", data[start + 8 : start + 12])[0])
                width, height = (value, height) if tag == 256 else (width, value)
        if width is not None and height is not None and (largest is None or width * height > largest[0] * largest[1]):
            largest = (width, height)
        next_at = offset + 2 + 12 * count
        offset = struct.unpack(order + "I", data[next_at : next_at + 4])[0] if next_at + 4 <= len(data) else 0
    return largest
