"""Output files that never overwrite what the user has: checked before a run, written
whole or not at all.

* :func:`check_outputs` refuses, before any work, an output that is one of the run's
  inputs (never allowed, not even with ``--force``), two outputs of one name, and an
  output that exists (unless ``force``), each in one sentence.
* :func:`replace_file` writes a finished output through a temporary file and a rename,
  so a crash leaves the old file or the new one, never half of one.
* :func:`claim_run_paths` picks ``NAME.mp4`` + ``NAME.csv``, or ``NAME-2.*``, ... so
  that a second run into one folder never replaces the first run's files.
* :func:`claim_run_folder` gives a run that fills a folder (a focus stack) the folder
  asked for when it is new or empty, else ``NAME-2``, ...: two stacks never mix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.core.file_kinds import kind_of
from focuslock.io.files import SaveError, create_exclusively, replace_file_atomically, save_error_for

__all__ = ["OutputError", "check_outputs", "claim_run_folder", "claim_run_paths", "replace_file"]


class OutputError(FocuslockError):
    """An output that must not or cannot be written; ``str()`` is one sentence."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _resolved(a) == _resolved(b)


def check_outputs(outputs: dict[str, Path], inputs: Iterable[Path], force: bool = False) -> None:
    """Refuse, in one sentence, outputs that would destroy an input, collide, or replace
    an existing file without ``force``. ``outputs`` maps what the user calls each
    output (``"--csv"``, ``"the plot beside --csv"``) to its path."""
    inputs = [Path(p) for p in inputs]
    seen: dict[Path, str] = {}
    for label, path in outputs.items():
        path = Path(path)
        for source in inputs:
            if _same_file(path, source):
                raise OutputError(f"{label} ({path}) is one of the input files; it would be destroyed. Choose another name.")
        resolved = _resolved(path)
        if resolved in seen:
            raise OutputError(f"{label} and {seen[resolved]} would both be written to {path}; choose different names.")
        seen[resolved] = label
        if path.is_dir():
            raise OutputError(f"{label} ({path}) is a folder; give a file name.")
        # lexists: a link (even one that leads nowhere, or in a loop), a pipe or a device is there too
        if os.path.lexists(path) and not force:
            raise OutputError(f"{path} exists ({label}); choose another name, or add --force to replace it.")
        if os.path.lexists(path) and not path.is_file():
            raise OutputError(f"{label} ({path}) is {_kind(path)}, not a file; focuslock replaces only files.")
        existing = _nearest_existing(path.parent)
        if not existing.is_dir():
            raise OutputError(f"{label} ({path}) cannot be written: {existing} is {_kind(existing)}, not a folder.")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(f"{label} ({path}) cannot be written: {existing} is not writable; choose another folder.")


def replace_file(path: Path, data: bytes) -> Path:
    """Write ``data`` as ``path`` whole: temporary file, fsync, rename over ``path``."""
    try:
        return replace_file_atomically(path, data)
    except SaveError as error:
        raise OutputError(str(error)) from None


def claim_run_paths(folder: Path, name: str, suffixes: tuple[str, ...]) -> tuple[Path, ...]:
    """Create empty files ``NAME<suffix>`` for every suffix, or ``NAME-2<suffix>``, ...:
    the first number for which none of them exists; each created exclusively, so two
    runs started at once into one folder get different numbers too."""
    folder = Path(folder)
    _check_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(str(save_error_for(error, name, folder))) from None
    number = 1
    while True:
        stem = name if number == 1 else f"{name}-{number}"
        paths = tuple(folder / f"{stem}{suffix}" for suffix in suffixes)
        if not any(p.exists() or p.is_symlink() for p in paths):
            created: list[Path] = []
            try:
                for path in paths:
                    create_exclusively(path)
                    created.append(path)
                return paths
            except FileExistsError:
                for path in created:
                    path.unlink(missing_ok=True)
            except OSError as error:
                for path in created:
                    path.unlink(missing_ok=True)
                raise OutputError(str(save_error_for(error, paths[0].name, folder))) from None
        number += 1


def claim_run_folder(folder: Path) -> Path:
    """``folder`` if it does not exist yet (then made) or is an empty folder, else the
    first of ``folder-2``, ``folder-3``, ... that can be made: each made with a plain
    ``mkdir``, which fails on an existing name, so two runs started at once get two
    folders. A second stack shot into ``stack`` would otherwise mix its frames with the
    first's (and replace its ``stack.json``), and no stacking program can tell them apart."""
    folder = Path(folder)
    _check_folder(folder)
    number = 1
    while True:
        candidate = folder if number == 1 else folder.with_name(f"{folder.name}-{number}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            if number == 1 and candidate.is_dir() and not any(candidate.iterdir()):
                return candidate
        except OSError as error:
            raise OutputError(str(save_error_for(error, candidate.name, candidate.parent))) from None
        number += 1


def _nearest_existing(path: Path) -> Path:
    """``path``, or its nearest ancestor that exists (a link that leads nowhere too):
    where a write would first land."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _resolved(path: Path) -> Path:
    """``path`` with its links followed; as it is written when they run in a loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _check_folder(folder: Path) -> None:
    """Refuse a folder output that is there as something else than a folder (a file, a
    link that leads nowhere or in a loop, a pipe, a device): it would be written past."""
    if os.path.lexists(folder) and not folder.is_dir():
        raise OutputError(f"{folder} is {_kind(folder)}, not a folder; give --out a folder.")
    existing = _nearest_existing(folder.parent)
    if not existing.is_dir():
        raise OutputError(f"{existing} is {_kind(existing)}, not a folder; give --out a folder.")


def _kind(path: Path) -> str:
    """What ``path`` is, in words, for a sentence (:func:`focuslock.core.file_kinds.kind_of`)."""
    return kind_of(path)
