"""What a path is, in words, and opening a file only when it is a regular file: the one place both are decided.

Files from elsewhere (a hot folder, a session copied from another machine, a path a script
passed) may be a link, a named pipe, a device or a folder where a file belongs. A reader
opens without blocking (a pipe never hangs it) and asks :func:`open_regular`; a sentence
that refuses a path names what it is with :func:`kind_of`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["NotRegularFile", "kind_of", "kind_of_mode", "open_regular"]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFile(Exception):
    """The path opened is not a regular file; ``kind`` says what it is ("a folder", "a named pipe", …)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def kind_of_mode(mode: int) -> str:
    """A file's mode in words: "a symbolic link", "a named pipe", "a device", "a socket", "a folder" or "a file"."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a folder" if stat.S_ISDIR(mode) else "a file"


def kind_of(path: Path | str) -> str:
    """What ``path`` is, without following a link ("a symbolic link to nothing usable" when
    it leads nowhere); "not there" when nothing is."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "not there"
    if stat.S_ISLNK(mode) and not os.path.exists(path):
        return "a symbolic link to nothing usable"
    return kind_of_mode(mode)


@contextlib.contextmanager
def open_regular(path: Path | str, follow_links: bool = True) -> Iterator[tuple[int, os.stat_result]]:
    """The file descriptor and status of ``path``, opened read-only without blocking, when
    it is a regular file (closed on leaving); :class:`NotRegularFile` when it is not, the
    ``OSError`` of the open when it cannot be opened (with ``follow_links`` False, also
    when ``path`` itself is a symbolic link)."""
    fd = os.open(path, _OPEN_FLAGS if follow_links else _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(kind_of_mode(info.st_mode))
        yield fd, info
    finally:
        os.close(fd)
