"""A hot folder: pictures that another tether program (Capture One, Smart Shooter, the
camera maker's own) drops into a folder, each handed over once it is completely written.

How a file is known to be complete, since writers differ (one write, many small writes
with pauses, a copy over a network share, a write under a temporary name then a rename):

* its size and modification time have not changed for ``settle_s``, and
* its structure is whole: a JPEG ends with its end-of-image marker, a PNG with its IEND
  chunk (a JPEG cut short would otherwise decode with a grey bottom half).

A file that is stable but whose structure stays broken (an empty file too) is handed over
all the same after ``give_up_s`` (the caller then reports it unreadable); with ``once``,
so is a file still changing after ``give_up_s``, so that a run over what is there ends.
Something under a picture's name that is no regular file (a pipe, a link to a device) is
handed over at once, never opened here (the caller reports it). Names that are
temporary by convention (hidden files, ``*.part``, ``*.tmp``, ``*~``, ``*.crdownload``)
and sidecars are ignored; a rename to the final name is seen as a new file.

Changes are noticed through the operating system's file events (the ``watchdog``
library: inotify, FSEvents, ReadDirectoryChangesW), which only wake the scan early; the
folder is also scanned every ``poll_s``, so that a network share that sends no events, or
an event lost in an overflow, still gets every file (and where ``watchdog`` cannot start,
polling alone does the job). Memory stays flat however many files pass: only files not
yet handed over are remembered with their sizes; those handed over as names.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from focuslock.core.file_kinds import NotRegularFile, open_regular
from focuslock.devices.base import CorruptFrameError
from focuslock.devices.folder import IMAGE_SUFFIXES, natural_key
from focuslock.io.image_format import FileSource
from focuslock.io.limits import check_header, decode_image, max_file_bytes
from focuslock.session.store import log_text

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

__all__ = ["RAW_SUFFIXES", "FileGone", "FileRead", "HotFolder", "ReadyFile", "read_file_once", "structure_complete",
           "wanted_name"]

# Camera RAW files: not judged (focuslock decodes JPEG, PNG, TIFF), kept with their
# JPEG as companions of the shot.
RAW_SUFFIXES = frozenset({".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
                          ".dng", ".pef", ".srw", ".iiq", ".3fr", ".fff", ".x3f", ".erf", ".mos", ".raw"})
_TEMPORARY_SUFFIXES = (".part", ".tmp", ".temp", ".crdownload", ".download", "~", ".xmp")
# A picture refused from its header is read for its checksum only up to this size.
REFUSED_READ_BYTES = 64 << 20
# The longest the folder waits between scans, whatever the poll asked (a day).
_LONGEST_WAIT_S = 86_400.0
# How often a long wait looks whether it was told to stop (a signal sets an event; it cannot wake a wait).
_STOP_CHECK_S = 0.2


@dataclass(frozen=True)
class ReadyFile:
    """A file the hot folder hands over: its path, and whether its structure is whole."""

    path: Path
    complete: bool  # False: stable but its structure never became whole (report it)


def structure_complete(path: Path) -> bool | None:
    """Whether the file's own structure says it is whole: True or False for JPEG and
    PNG, None (cannot tell) for other kinds."""
    suffix = path.suffix.lower()
    try:
        # Without blocking, a regular file only: a pipe put in its place is never waited on.
        with open_regular(path) as (fd, info):
            head = os.pread(fd, 8, 0)
            tail = os.pread(fd, 16, max(0, info.st_size - 16))
    except (OSError, NotRegularFile):
        return False
    if head.startswith(b"\xff\xd8"):
        # JPEG: the end-of-image marker, perhaps followed by a few padding bytes.
        return b"\xff\xd9" in tail
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return b"IEND" in tail
    if suffix in (".jpg", ".jpeg", ".png"):
        return False  # named as one, but not (yet) one
    return None


@dataclass
class _Pending:
    size: int
    mtime_ns: int
    changed_at: float  # monotonic time of the last change seen
    first_seen: float  # monotonic time it was first seen


class HotFolder:
    """Watches ``folder`` (not its sub-folders) for new pictures and RAW files.

    ``done``: names already handled (say, from the session's log), never handed over
    again; ``once``: a file still changing after ``give_up_s`` is handed over too. Call
    :meth:`start`, then :meth:`ready` in a loop with :meth:`wait` between,
    then :meth:`stop`. ``clock``: monotonic seconds (a test may drive it)."""

    def __init__(self, folder: Path, *, settle_s: float = 0.5, give_up_s: float = 20.0, poll_s: float = 1.0,
                 use_events: bool = True, done: set[str] | None = None, clock: Callable[[], float] = time.monotonic,
                 once: bool = False, stop: threading.Event | None = None) -> None:
        self.folder = Path(folder)
        self._stop = stop
        self.settle_s = settle_s
        self.give_up_s = give_up_s
        self.poll_s = poll_s
        self.once = once
        self._use_events = use_events
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._done: set[str] = set(done or ())
        self._wake = threading.Event()
        self._observer: BaseObserver | None = None
        self.events_note: str | None = None

    # ------------------------------------------------------------------ events
    def start(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"The hot folder {self.folder} does not exist or is not a folder.")
        if not self._use_events:
            self.events_note = "polling the folder (file events off)"
            return
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            self.events_note = "polling the folder (the watchdog library is not installed)"
            return
        wake = self._wake

        class _Wake(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # watchdog's callback
                wake.set()

        try:
            observer = Observer()
            observer.daemon = True
            observer.schedule(_Wake(), str(self.folder), recursive=False)
            observer.start()
        except OSError as error:  # an inotify limit reached, a share without events
            self.events_note = f"polling the folder (file events unavailable: {error.strerror or error})"
            return
        self._observer = observer
        self.events_note = f"file events, and a scan every {self.poll_s:g} s"

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def wait(self, timeout_s: float | None = None) -> None:
        """Sleep until a file event, the ``stop`` the folder was given, or ``timeout_s``
        (default: the poll interval), a day at most: a poll of 1e300 s is "scan hardly
        ever", not a wait the clock cannot hold — nor one a stop cannot end."""
        longest = min(self.poll_s if timeout_s is None else timeout_s, _LONGEST_WAIT_S)
        if self._stop is None:
            self._wake.wait(longest)
        else:
            ends = time.monotonic() + longest
            while not self._stop.is_set() and (left := ends - time.monotonic()) > 0:
                if self._wake.wait(min(left, _STOP_CHECK_S)):
                    break
        self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ scanning
    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def mark_done(self, name: str) -> None:
        self._done.add(name)
        self._pending.pop(name, None)

    def ready(self) -> list[ReadyFile]:
        """The files complete since the last call (natural name order), each once."""
        now = self._clock()
        ready = []
        seen = set()
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return []  # the folder went away for a moment (a share reconnecting)
        for entry in entries:
            name = entry.name
            if name in self._done or log_text(name) in self._done or not wanted_name(name):  # (logged names: log_text)
                continue
            try:
                if entry.is_dir():
                    continue
                if not entry.is_file():
                    ready.append(ReadyFile(Path(entry.path), False))  # a pipe, a device: reported, never waited for
                    continue
                info = entry.stat()
            except OSError:
                continue  # renamed or deleted while we looked
            seen.add(name)
            pending = self._pending.get(name)
            if pending is None or (pending.size, pending.mtime_ns) != (info.st_size, info.st_mtime_ns):
                if pending is not None and self.once and now - pending.first_seen >= self.give_up_s:
                    ready.append(ReadyFile(Path(entry.path), False))  # never stops changing: --once still ends
                    continue
                self._pending[name] = _Pending(info.st_size, info.st_mtime_ns, now, now if pending is None else pending.first_seen)
                continue
            if now - pending.changed_at < self.settle_s:
                continue
            whole = structure_complete(Path(entry.path)) if info.st_size else False
            if whole is False and now - pending.changed_at < self.give_up_s:
                continue  # still being written, with a pause longer than settle_s
            ready.append(ReadyFile(Path(entry.path), whole is not False))
        # Files that vanished (a temporary deleted, a rename) are forgotten.
        for name in list(self._pending):
            if name not in seen:
                del self._pending[name]
        for item in ready:
            self.mark_done(item.path.name)
        return sorted(ready, key=lambda r: natural_key(r.path))


def wanted_name(name: str) -> bool:
    """Whether a file named ``name`` is a picture or a RAW to handle (not hidden, not a
    temporary or a sidecar)."""
    if name.startswith("."):
        return False
    lower = name.lower()
    if lower.endswith(_TEMPORARY_SUFFIXES):
        return False
    suffix = os.path.splitext(lower)[1]
    return suffix in IMAGE_SUFFIXES or suffix in RAW_SUFFIXES


class FileGone(Exception):
    """The file was moved or deleted before it was read."""


@dataclass(frozen=True)
class FileRead:
    """A file read once: checksum, size, the picture decoded from those bytes or why not."""

    sha256: str
    size: int
    bgr: np.ndarray | None = None
    reason: str | None = None


def read_file_once(path: Path, decode: bool) -> FileRead:
    """``path`` opened once, never blocking, a regular file only, read at most once and
    bounded; with ``decode``, its header checked first and the picture decoded from the
    bytes hashed. Raises :class:`FileGone`."""
    name = path.name
    try:
        with open_regular(path) as (fd, info):
            read = _read_open_file(fd, info, name, decode)
    except FileNotFoundError:
        raise FileGone(name) from None
    except NotRegularFile:
        return FileRead("", 0, None, f"{name} is not a regular file (a pipe, a device or a folder); it was not read "
                                     "and its focus was not checked.")
    except OSError as error:
        return FileRead("", 0, None, f"{name} could not be opened ({error.strerror or error}); its focus was not checked.")
    if isinstance(read, FileRead):
        return read
    buffer, digest, reason = read
    bgr = None
    if buffer is not None:
        try:
            bgr = decode_image(buffer, name)
        except CorruptFrameError as error:
            reason = str(error)
        except MemoryError:
            reason = f"{name} could not be decoded (not enough memory); its focus was not checked."
    return FileRead(digest, int(info.st_size), bgr, reason)


def _read_open_file(fd: int, info: os.stat_result, name: str, decode: bool
                    ) -> FileRead | tuple[np.ndarray | None, str, str | None]:
    """The open regular file ``fd`` read once (:func:`read_file_once`): why it was not
    read (a :class:`FileRead`), or the bytes to decode (None: not to be decoded), their
    checksum and why they are not decoded."""
    try:
        if info.st_size == 0:
            return FileRead(hashlib.sha256().hexdigest(), 0, None, f"{name} is empty (0 bytes): nothing was saved into "
                                                                   "it; its focus was not checked.")
        if info.st_size > max_file_bytes():
            return FileRead("", info.st_size, None, f"{name} is {info.st_size / 1e9:.1f} GB, larger than any picture "
                                                    "focuslock decodes; it was not read and its focus was not checked.")
        reason = None
        if decode:
            try:
                _, (width, height) = check_header(FileSource(fd, info.st_size), name)
                if info.st_size > max_file_bytes(width * height):
                    reason = (f"{name} is {info.st_size / 1e6:.0f} MB, more than a picture of {width}×{height} can take; "
                              "its focus was not checked.")
            except CorruptFrameError as error:
                reason = str(error)
            if reason is not None and info.st_size > REFUSED_READ_BYTES:
                return FileRead("", info.st_size, None, reason)  # refused unread: no checksum
            decode = reason is None
        buffer = np.empty(info.st_size if decode else 1 << 20, np.uint8)
        view, got, digest = buffer.data, 0, hashlib.sha256()
        # Read once: into the picture's buffer, or (not judged) through one chunk; never
        # more than fstat said, whatever is appended meanwhile.
        with os.fdopen(os.dup(fd), "rb", buffering=0) as handle:
            while got < info.st_size and (count := handle.readinto(view[got:] if decode else view[: info.st_size - got])):
                digest.update(view[got : got + count] if decode else view[:count])
                got += count
        if got != info.st_size:
            return FileRead("", got, None, f"{name} changed while it was read; its focus was not checked.")
    except OSError as error:
        return FileRead("", 0, None, f"{name} could not be read ({error.strerror or error}); its focus was not checked.")
    except MemoryError:
        return FileRead("", 0, None, f"{name} could not be read (not enough memory); its focus was not checked.")
    return (buffer if decode else None), digest.hexdigest(), reason
