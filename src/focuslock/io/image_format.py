"""What an image file is, by its content, and the size it declares, read before decoding.

OpenCV chooses its decoder from a file's first bytes, never from its name, so the same
bytes decide here. Only formats whose size can be read without decoding are accepted
(:data:`ACCEPTED`); the others OpenCV would decode (GIF, Radiance HDR, PNM/PFM, OpenEXR,
JPEG 2000, Sun raster, AVIF, JPEG XL) are named by :func:`sniff` so that the reader can
refuse them in one sentence. Sizes are read through a :class:`ByteSource`, a file or a
buffer read at offsets, so that a JPEG's frame header is found wherever it is (its
markers scanned in 64 KB chunks) and a TIFF's directories wherever their offsets point,
without holding more of the file than one chunk or one directory.

Nothing here imports OpenCV.
"""

from __future__ import annotations

import os
import struct
from typing import Protocol

__all__ = ["ACCEPTED", "SNIFF_BYTES", "BufferSource", "ByteSource", "FileSource", "declared_size", "sniff"]

# The formats focuslock decodes: each declares its size in a header read before decoding.
ACCEPTED = ("PNG", "JPEG", "BMP", "WebP", "TIFF")
# Enough of the start of a file to tell every format below and read PNG/BMP/WebP sizes.
SNIFF_BYTES = 64

_CHUNK = 1 << 16
# A JPEG holds a few dozen markers before its frame header; a million is a hostile file.
_MAX_JPEG_MARKERS = 1_000_000
# Directories followed in a TIFF (pages, thumbnails, a RAW's sub-images).
_MAX_TIFF_DIRECTORIES = 64


class ByteSource(Protocol):
    """Bytes read at offsets: a file or a buffer."""

    size: int

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (fewer at the end, none past it)."""


class BufferSource:
    """An encoded image already in memory (bytes, or a numpy array of uint8)."""

    def __init__(self, data) -> None:
        self._view = memoryview(data).cast("B")
        self.size = len(self._view)

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0:
            return b""
        return bytes(self._view[offset : offset + length])


class FileSource:
    """An open file read at offsets, never more than asked for."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        if hasattr(os, "pread"):
            return os.pread(self._fd, length, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)  # Windows
        return os.read(self._fd, length)


def sniff(head: bytes) -> str | None:
    """The format of a file starting with ``head`` (its first :data:`SNIFF_BYTES`), by
    its magic bytes: one of :data:`ACCEPTED`, the name of a format refused, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith((b"#?RADIANCE", b"#?RGBE")):
        return "Radiance HDR"
    if head[:1] == b"P" and head[1:2] in (b"F", b"f") and head[2:3].isspace():
        return "PFM"
    if head[:1] == b"P" and head[1:2] in b"1234567" and head[1:2] and head[2:3].isspace():
        return "PNM"
    if head[:4] == b"\x76\x2f\x31\x01":
        return "OpenEXR"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or head[:4] == b"\xff\x4f\xff\x51":
        return "JPEG 2000"
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "JPEG XL"
    if head[:4] == b"\x59\xa6\x6a\x95":
        return "Sun raster"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"):
        return "AVIF/HEIF"
    return None


def declared_size(source: ByteSource, kind: str) -> tuple[int, int] | None:
    """(width, height) as the file declares it for OpenCV's decoder (for a TIFF, the
    largest of its directories), or None when it cannot be read before decoding."""
    try:
        if kind == "PNG":
            head = source.read_at(0, 24)
            return struct.unpack(">II", head[16:24]) if head[12:16] == b"IHDR" else None
        if kind == "JPEG":
            return _jpeg_size(_Chunks(source))
        if kind == "BMP":
            return _bmp_size(source.read_at(0, 26))
        if kind == "WebP":
            return _webp_size(source.read_at(0, 30))
        if kind == "TIFF":
            return _tiff_size(source)
    except (struct.error, IndexError, ValueError):
        return None
    return None


class _Chunks:
    """A source read forward in 64 KB chunks: one chunk held at a time."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self._start = 0
        self._data = b""

    def get(self, offset: int, length: int) -> bytes:
        end = self._start + len(self._data)
        if not (self._start <= offset and offset + length <= end):
            self._start, self._data = offset, self.source.read_at(offset, max(length, _CHUNK))
        return self._data[offset - self._start : offset - self._start + length]

    def find_ff(self, offset: int) -> int | None:
        """The offset of the next 0xFF byte at or after ``offset``."""
        while offset < self.source.size:
            chunk = self.get(offset, 1)
            at = self._data.find(b"\xff", offset - self._start)
            if at >= 0:
                return self._start + at
            offset = self._start + len(self._data)
            if not chunk:
                return None
        return None


    def skip_ff(self, offset: int) -> int:
        """The offset of the first byte other than 0xFF at or after ``offset`` (the
        file's size when there is none)."""
        while offset < self.source.size:
            if not self.get(offset, 1):
                break
            relative = offset - self._start
            rest = self._data[relative:]
            skipped = len(rest) - len(rest.lstrip(b"\xff"))
            if skipped < len(rest):
                return offset + skipped
            offset = self._start + len(self._data)
        return self.source.size


def _jpeg_size(chunks: _Chunks) -> tuple[int, int] | None:
    """The first frame header's size, scanning the markers as libjpeg does (bytes other
    than a marker skipped, 0xFF fill bytes skipped) up to the first scan."""
    position = 2
    for _ in range(_MAX_JPEG_MARKERS):
        found = chunks.find_ff(position)
        if found is None:
            return None
        position = chunks.skip_ff(found + 1) - 1  # fill bytes: the marker follows the last 0xFF
        marker_byte = chunks.get(position + 1, 1)
        if not marker_byte:
            return None
        marker = marker_byte[0]
        if marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            position += 2  # a stuffed zero or a marker without a length
            continue
        if marker in (0xD9, 0xDA):
            return None  # the end, or a scan, before any frame header
        length_bytes = chunks.get(position + 2, 2)
        if len(length_bytes) < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0]
        # Start of frame (baseline, progressive, lossless, ...), not DHT/JPG/DAC.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", chunks.get(position + 5, 4))
            return width, height
        if length < 2:
            return None
        position += 2 + length
    return None


def _bmp_size(head: bytes) -> tuple[int, int] | None:
    header_size = struct.unpack("<I", head[14:18])[0]
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sides
        return struct.unpack("<HH", head[18:22])
    width, height = struct.unpack("<ii", head[18:26])
    return abs(width), abs(height)


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


_TIFF_SIZES = {3: ("H", 2), 4: ("I", 4), 13: ("I", 4), 16: ("Q", 8)}  # SHORT, LONG, IFD, LONG8


def _tiff_size(source: ByteSource) -> tuple[int, int] | None:
    """The largest image any directory of a TIFF (classic or BigTIFF, or a TIFF-based
    RAW) declares, following the directories' offsets wherever they point; None when
    the first directory declares no size."""
    head = source.read_at(0, 16)
    order = "<" if head[:2] == b"II" else ">"
    big = struct.unpack(order + "H", head[2:4])[0] == 43
    count_format, entry_size, offset_format = ("Q", 20, "Q") if big else ("H", 12, "I")
    offset_size = struct.calcsize(offset_format)
    pending = [struct.unpack(order + offset_format, head[8:16] if big else head[4:8])[0]]
    seen: set[int] = set()
    largest: tuple[int, int] | None = None
    while pending and len(seen) < _MAX_TIFF_DIRECTORIES:
        offset = pending.pop(0)
        if not 0 < offset < source.size or offset in seen:
            continue
        first = not seen
        seen.add(offset)
        count_bytes = source.read_at(offset, struct.calcsize(count_format))
        count = min(struct.unpack(order + count_format, count_bytes)[0], 65535)
        table = source.read_at(offset + len(count_bytes), count * entry_size + offset_size)
        width = height = None
        for entry in range(min(count, len(table) // entry_size)):
            raw = table[entry * entry_size : (entry + 1) * entry_size]
            tag, kind = struct.unpack(order + "HH", raw[:4])
            number = struct.unpack(order + ("Q" if big else "I"), raw[4 : 4 + (8 if big else 4)])[0]
            value_bytes = raw[(12 if big else 8) :]
            if tag in (256, 257) and kind in _TIFF_SIZES and number == 1:
                value_format, value_size = _TIFF_SIZES[kind]
                value = struct.unpack(order + value_format, value_bytes[:value_size])[0]
                # A tag given twice counts at its larger value, whichever one libtiff keeps.
                width, height = ((max(value, width or 0), height) if tag == 256 else (width, max(value, height or 0)))
            elif tag == 330 and kind in _TIFF_SIZES:  # SubIFDs: a RAW's full-size image
                value_format, value_size = _TIFF_SIZES[kind]
                number = min(number, _MAX_TIFF_DIRECTORIES)
                values = (value_bytes if number * value_size <= len(value_bytes) else
                          source.read_at(struct.unpack(order + offset_format, value_bytes[:offset_size])[0],
                                         number * value_size))
                pending.extend(struct.unpack(order + value_format * (len(values) // value_size),
                                             values[: len(values) // value_size * value_size]))
        if width is None or height is None:
            if first:
                return None
        elif largest is None or width * height > largest[0] * largest[1]:
            largest = (width, height)
        next_bytes = table[count * entry_size : count * entry_size + offset_size]
        if len(next_bytes) == offset_size:
            pending.append(struct.unpack(order + offset_format, next_bytes)[0])
    return largest
