"""The session's own files (its lock and its database), opened only as what they claim to be.

With ``watch DIR`` the session folder is the hot folder, where other programs (and other
machines, through a share) write. A symbolic link planted there under the lock's name
would have the lock opened on, and written into, any file the user can write; one under
the database's name would put the shot log (and its write-ahead log) anywhere. A named
pipe would block the opening for ever. So each of these files is:

* never followed through a symbolic link (``O_NOFOLLOW``, and ``lstat`` first);
* opened without blocking (``O_NONBLOCK``) and used only when ``fstat`` says it is a
  regular file — a pipe, a device or a folder is refused;
* created when missing (``O_CREAT`` without ``O_TRUNC``): nothing already there is
  truncated.

Each refusal is one sentence naming the file; nothing is written to it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.core.file_kinds import kind_of_mode

__all__ = ["SessionFileError", "check_own_file", "file_kind", "open_own_file"]


class SessionFileError(FocuslockError):
    """A session file that is a link or not a regular file (one sentence)."""


def file_kind(path: Path) -> str:
    """What ``path`` is, in words ("a symbolic link", "a named pipe", …), without following
    a link; "not a regular file" when it cannot be told."""
    try:
        return _what(os.lstat(path).st_mode)
    except OSError:
        return "not a regular file"


def _what(mode: int) -> str:
    kind = kind_of_mode(mode)
    return "not a regular file" if kind == "a file" else kind


def _refusal(path: Path, mode: int, role: str) -> SessionFileError:
    if stat.S_ISLNK(mode):
        try:
            target = f" (to {os.readlink(path)})"
        except OSError:
            target = ""
        return SessionFileError(f"{path} is a symbolic link{target}, which focuslock never follows for a session's "
                                f"{role}: it was left untouched; remove it, then start the session again.")
    return SessionFileError(f"{path} is {_what(mode)}, not a regular file, so focuslock does not use it as the "
                            f"session's {role}; remove it, then start the session again.")


def check_own_file(path: Path, role: str) -> os.stat_result | None:
    """``path``'s own status (not a link's target) when it is a regular file, None when
    it does not exist. Raises :class:`SessionFileError` for anything else."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise _refusal(path, info.st_mode, role)
    return info


def open_own_file(path: Path, role: str, *, write: bool, create: bool = False) -> int:
    """A file descriptor on the regular file ``path`` itself (created empty when missing
    and ``create``; never truncated). Raises :class:`SessionFileError` for a link or a
    file that is not regular, and ``OSError`` for anything else (permissions, ...)."""
    check_own_file(path, role)
    flags = ((os.O_RDWR if write else os.O_RDONLY) | (os.O_CREAT if create else 0) | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EMLINK):
            raise
        info = os.lstat(path)  # replaced between the check and the opening
        raise _refusal(path, info.st_mode, role) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _refusal(path, info.st_mode, role)
    return fd
