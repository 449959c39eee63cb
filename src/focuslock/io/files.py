"""Saving captured files so that nothing is ever half-written, overwritten or misplaced.

Every source's ``capture`` goes through :func:`save_new_file`:

* the bytes go to a temporary file of a random name in the target folder, created
  exclusively (``O_EXCL``: a planted symlink or another writer's file is never opened),
  flushed and fsynced;
* the file on disk is read back and compared with the bytes by SHA-256;
* the final name is claimed atomically with ``os.link`` — it fails when the name exists,
  so two writers of one name (two downloads, a user's own file) each keep their file,
  the second as ``NAME-2.EXT``; where a file system has no hard links (FAT, exFAT), the
  name is claimed with an exclusive create and the finished file renamed over it.

A crash leaves either the whole file under its final name or a hidden ``.NAME.*.part``
file, never a truncated picture under its real name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from focuslock.core.errors import FocuslockError

__all__ = ["SaveError", "DiskFullError", "claim_name_for", "claim_new_path", "create_exclusively", "fsync_folder", "save_capture",
           "replace_file_atomically", "save_error_for", "save_new_file", "sanitise_file_name", "sha256_of", "written_temporary"]

# Longest name we write, in UTF-8 bytes (file systems allow 255; room for "-NNN").
MAX_NAME_BYTES = _MAX_NAME_BYTES = 120
# Anything but letters, digits (any script), dot, dash and underscore.
_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


class SaveError(FocuslockError, OSError):
    """A file could not be saved completely; ``str()`` is one sentence for the user."""


class DiskFullError(SaveError):
    """The disk (or the user's quota) is full."""


def sanitise_file_name(name: str, fallback: str = "capture") -> str:
    """A safe base name from an untrusted one (camera-supplied names are untrusted).

    Drops any folder part, keeps letters and digits of every script (``写真.JPG`` stays
    ``写真.JPG``), dot, dash and underscore, replaces the rest, never starts a name with a
    dot or a dash, and keeps the extension when the name must be shortened or its stem
    is empty (``.JPG`` → ``capture.JPG``).
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base)
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    # No leading dash either: a command given the name would take it for an option.
    stem = stem.lstrip("-._").rstrip("._") or fallback
    extension = extension.strip("._")[:16]
    if stem.upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    suffix = f".{extension}" if extension else ""
    room = _MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode(errors="ignore") or fallback
    return stem + suffix


def sha256_of(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """The SHA-256 of the file at ``path`` in hex, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _candidates(folder: Path, name: str):
    stem, suffix = os.path.splitext(name)
    yield folder / name
    counter = 2
    while True:
        yield folder / f"{stem}-{counter}{suffix}"
        counter += 1


def create_exclusively(path: Path) -> None:
    """Create the empty file ``path``; FileExistsError if anything (a symlink too) is there."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644))


def claim_new_path(folder: Path, name: str) -> Path:
    """Create an empty file under ``folder/name`` (or ``stem-2.ext``, ...) exclusively and
    return its path: for outputs written by a library that opens its file by name."""
    for candidate in _candidates(Path(folder), name):
        try:
            create_exclusively(candidate)
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _read_umask()


@contextlib.contextmanager
def written_temporary(folder: Path, name: str, data: bytes) -> Iterator[Path]:
    """``data`` in a new hidden temporary file ``.NAME.*.part`` of ``folder``, created
    exclusively (``O_EXCL``: never through a planted symlink), flushed and fsynced;
    removed on leaving unless it was renamed away. Failures are :class:`SaveError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    except OSError as error:
        raise save_error_for(error, name, folder) from None
    path = Path(temporary)
    try:
        try:
            # mkstemp makes the file private (0600); a picture, a sidecar or a report is
            # the user's ordinary file, readable as their umask says (a studio's share).
            with contextlib.suppress(OSError, AttributeError):
                os.fchmod(fd, 0o666 & ~_UMASK)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise save_error_for(error, name, folder) from None
        yield path
    finally:
        try:
            path.unlink()
        except OSError:
            pass  # renamed into place, or a disk that refuses even this: nothing to save


def replace_file_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` as ``path`` whole: temporary file, fsync, rename over ``path``, so a
    crash leaves the old file or the new one, never half of one. Raises :class:`SaveError`."""
    path = Path(path)
    with written_temporary(path.parent, path.name, data) as temporary:
        return move_into_place(temporary, path, synced=True)


def move_into_place(temporary: Path, path: Path, *, synced: bool = False) -> Path:
    """The finished file ``temporary`` (written by someone else beside ``path``: a video
    recorder's) renamed over ``path`` durably: its data flushed first (unless ``synced``),
    then the rename, then the folder's entry. Raises :class:`SaveError` (one sentence)."""
    path = Path(path)
    try:
        if not synced:
            fd = os.open(temporary, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(temporary, path)
    except OSError as error:
        raise save_error_for(error, path.name, path.parent) from None
    fsync_folder(path.parent)
    return path


def save_new_file(folder: Path, name: str, data: bytes) -> Path:
    """Save ``data`` as a new file in ``folder`` named after ``name`` (sanitised; numbered
    when taken) and return its path, complete, verified and durable.

    Raises :class:`DiskFullError` or :class:`SaveError` (one sentence); nothing
    partial is left under a real name, and no existing file is touched.
    """
    folder = Path(folder)
    safe = sanitise_file_name(name)
    with written_temporary(folder, safe, data) as temporary:
        try:
            if temporary.stat().st_size != len(data) or sha256_of(temporary) != hashlib.sha256(data).hexdigest():
                raise SaveError(f"{safe} read back from {folder} differs from what was written; the disk may be failing.")
            final = claim_name_for(temporary, folder, safe)
            fsync_folder(folder)
            return final
        except SaveError:
            raise
        except OSError as error:
            raise save_error_for(error, safe, folder) from None


def save_capture(folder: Path, name: str, data: bytes, *, stays_on_camera: bool = False) -> Path:
    """:func:`save_new_file` for a camera's capture: failures become
    :class:`~focuslock.core.errors.DiskError` with one sentence."""
    from focuslock.core.errors import DiskError

    try:
        return save_new_file(folder, name, data)
    except SaveError as error:
        tail = " The file stays on the camera." if stays_on_camera else ""
        raise DiskError(f"{error}{tail}") from None


def claim_name_for(existing: Path, folder: Path, name: str) -> Path:
    """Give the file ``existing`` (on the same file system) the first free name of
    ``folder/name``, ``stem-2.ext``, … and return it, never replacing a file: a hard link
    where the file system has them (``existing`` stays; the caller removes it), else an
    exclusive claim and a rename over it (``existing`` is moved)."""
    for candidate in _candidates(folder, name):
        try:
            os.link(existing, candidate)
            return candidate
        except FileExistsError:
            continue
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            break  # no hard links here: claim by exclusive create, then rename over it
    placeholder = claim_new_path(folder, name)
    os.replace(existing, placeholder)
    return placeholder


def save_error_for(error: OSError, name: str, folder: Path) -> SaveError:
    """The sentence for an ``error`` saving ``name`` in ``folder``: a full disk, a folder that cannot be written, else the error."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"The disk is full: {name} could not be saved in {folder}; free some space and try again.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SaveError(f"{folder} cannot be written to ({error.strerror}); choose another folder.")
    return SaveError(f"{name} could not be saved in {folder}: {error.strerror or error}.")


def fsync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries to disk, where the system allows it."""
    # The new name itself is durable only once the folder entry is flushed (POSIX).
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
