"""Writing captured files so that nothing is ever half-written or overwritten.

Every source's ``capture`` goes through here: a temporary name in the target folder,
flush, fsync, rename. A crash or a pulled cable leaves either the whole file or a
``.part`` file, never a truncated picture under its real name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["sanitise_file_name", "unique_path", "write_file_atomically"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitise_file_name(name: str, fallback: str = "capture") -> str:
    """A safe base name from an untrusted one (camera-supplied names are untrusted).

    Drops any folder part, replaces characters other than letters, digits, dot, dash
    and underscore, and refuses names that are empty or only dots.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip("._") or fallback
    return base[:120]


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.ext``, ``-3``, ... if that exists already."""
    candidate = folder / name
    stem, suffix = os.path.splitext(name)
    counter = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def write_file_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename."""
    path = Path(path)
    temporary = path.with_name(path.name + ".part")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    # The rename itself is durable only once the folder entry is flushed (POSIX).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
