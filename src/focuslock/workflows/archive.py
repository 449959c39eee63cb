"""``focuslock check-archive``: every picture under a folder judged against a recipe, on Dask.

The same judge as ``watch`` (:func:`focuslock.workflows.shot_log.judge_shot`, run in
Dask's workers by :mod:`focuslock.workflows.archive_dask`), the same log
(:func:`focuslock.workflows.shot_log.log_judged`: one transaction per picture, its
files with their SHA-256), the same session opening (:mod:`focuslock.session.opening`:
a session set up with another recipe refuses in one sentence).

* **Which files.** Every picture ``watch`` takes (JPEG, PNG, TIFF, …: not hidden, not a
  temporary name, not a sidecar), in every sub-folder (hidden folders and links to
  folders are not entered); a RAW travels with the picture of the same name in its
  folder as its companion, as ``watch`` pairs them, and a RAW alone is logged unjudged.
  The session's own reference copy is not a shot. Nothing is written beside the
  pictures (no sidecars): an archive is read, the session folder alone is written.
* **Resumable.** A picture whose path is logged with the same checksum is not judged
  again (its worker hashes it and stops there); one whose checksum changed is judged
  again and its new shot replaces the old in one transaction, and the line says so. Each
  result is committed as it arrives: a run killed half-way, run again, judges the rest.
* **Where results go** is a :class:`ArchiveSink`: the session's log
  (:class:`SessionSink`) today; another sink (a studio hub) needs only its two methods.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from focuslock.core.errors import FocuslockError
from focuslock.devices.folder import IMAGE_SUFFIXES, natural_key
from focuslock.io.terminal import shown
from focuslock.session.database import DATABASE_NAME, SessionError
from focuslock.session.hotfolder import RAW_SUFFIXES, wanted_name
from focuslock.session.opening import open_session
from focuslock.session.shot_check import ShotJudge
from focuslock.session.store import ShotStore
from focuslock.session.verdict import ShotOutcome
from focuslock.workflows.archive_dask import ArchiveTask, JudgeSpec, TaskOutcome, run_on_dask
from focuslock.workflows.capture_session import recipe_request
from focuslock.workflows.shot_log import JudgedShot, gone_result, log_judged

__all__ = ["ArchiveError", "ArchiveProgress", "ArchiveSink", "ArchiveSummary", "SessionSink", "check_archive",
           "find_pictures", "open_session_sink"]

logger = logging.getLogger(__name__)


class ArchiveError(FocuslockError):
    """The archive cannot be checked; ``str()`` is one sentence."""


class ArchiveSink(Protocol):
    """Where ``check-archive`` keeps its results (one committed per picture)."""

    def logged_checksum(self, path: Path) -> str | None:
        """The SHA-256 ``path`` was judged with, or None when it was not judged yet."""

    @property
    def wants_previews(self) -> bool:
        """Whether each picture's thumbnail and crop are kept (for the studio's hub)."""

    def record(self, judged: JudgedShot, *, changed: bool) -> dict:
        """Keep one judged picture (``changed``: it replaces the result of its earlier
        content); returns the shot as ``watch --json`` gives it, with ``text``."""

    def close(self) -> None:
        """Release what the sink holds."""


class SessionSink:
    """The session's log as an :class:`ArchiveSink`: ``log_judged`` with no sidecars."""

    def __init__(self, store, judge: ShotJudge) -> None:
        self.store, self.judge = store, judge
        self._logged = store.logged_checksums()  # read once: path as logged -> SHA-256

    @property
    def reference_copy(self) -> Path:
        """The session's copy of the reference (not a shot)."""
        return Path(os.path.abspath(self.store.folder / self.judge.setup.reference))

    @property
    def wants_previews(self) -> bool:
        return bool(self.store.outbox)  # a session synced to a hub (hub/sync.py attach_hub)

    def logged_checksum(self, path: Path) -> str | None:
        return self._logged.get(self.store.relative_path(path))

    def record(self, judged: JudgedShot, *, changed: bool) -> dict:
        logged = self.store.relative_path(judged.path)
        # A RAW logged with another shot stays with it (one file, one row); one of the
        # shot this one replaces comes along.
        replaced = self._shot_of(logged) if changed else None
        companions = tuple(c for c in judged.companions if self._shot_of(self.store.relative_path(c.path)) in (None, replaced))
        judged = replace(judged, companions=companions) if companions != judged.companions else judged
        try:
            result = log_judged(judged, self.store, self.judge.setup, replaces=logged if changed else None)
        except SessionError as error:
            raise ArchiveError(str(error)) from None
        self._logged[logged] = judged.file.sha256
        return result

    def _shot_of(self, logged: str) -> int | None:
        shot_id_of = getattr(self.store, "shot_id_of", None)  # a new session's log holds nothing yet
        return None if shot_id_of is None else shot_id_of(logged)

    def close(self) -> None:
        self.store.close()


def open_session_sink(session_dir: Path, recipe: Path) -> SessionSink:
    """The session in ``session_dir`` opened (or started) with ``recipe``, as
    ``watch --session`` and ``capture --session`` open it; ArchiveError (one sentence)
    for a recipe that cannot be used or a session set up otherwise."""
    try:
        _, request = recipe_request(recipe)
        store, judge = open_session(session_dir, None, request)
    except (SessionError, FocuslockError) as error:
        raise ArchiveError(str(getattr(error, "user_message", None) or error)) from None
    return SessionSink(store, judge)


@dataclass(frozen=True)
class ArchiveProgress:
    """How far a run is: pictures handled of ``total`` (judged, or skipped as judged
    before), in ``elapsed_s``."""

    done: int
    total: int
    skipped: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        """Pictures handled per second."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def left_s(self) -> float | None:
        """The time left at this rate (None before the first picture)."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass
class ArchiveSummary:
    """A run's end: shots by verdict (unreadable pictures apart, as ``watch`` counts
    them), pictures skipped as judged before, judged again as changed, gone; whether the
    run was stopped before the end."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in ShotOutcome} | {"unreadable": 0})
    skipped: int = 0
    changed: int = 0
    gone: int = 0
    elapsed_s: float = 0.0
    workers: int = 0
    stopped: bool = False

    @property
    def judged(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        """Pictures judged per second (those skipped as judged before apart)."""
        return self.judged / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict:
        return {"total": self.total, "judged": self.judged, "counts": dict(self.counts), "skipped": self.skipped,
                "changed": self.changed, "gone": self.gone, "elapsed_s": round(self.elapsed_s, 2),
                "pictures_per_s": round(self.rate, 2), "workers": self.workers, "stopped": self.stopped}


def find_pictures(folder: Path, skip: set[Path] | None = None) -> Iterator[tuple[Path, tuple[Path, ...]]]:
    """Each picture under ``folder`` with its RAW companions (a RAW alone on its own), in
    natural order folder by folder; ``skip``: absolute paths that are not shots."""
    skip = skip or set()
    def unreadable(error: OSError) -> None:
        logger.warning("%s could not be read (%s); the pictures in it were not judged.", shown(str(error.filename)),
                       error.strerror or error)

    for root, folders, names in os.walk(folder, onerror=unreadable, followlinks=False):
        folders[:] = sorted((f for f in folders if not f.startswith(".")), key=natural_key)
        here = Path(os.path.abspath(root))
        if DATABASE_NAME in names:  # a session folder: its copy of the recipe's reference is no shot
            skip = skip | _session_reference(here)
        files = sorted((here / n for n in names if wanted_name(n) and (here / n) not in skip), key=natural_key)
        pictures = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        raws: dict[str, list[Path]] = {}
        for raw in (f for f in files if f.suffix.lower() in RAW_SUFFIXES):
            raws.setdefault(raw.stem, []).append(raw)
        for picture in pictures:
            yield picture, tuple(raws.pop(picture.stem, ()))
        for left in raws.values():
            for raw in left:
                yield raw, ()


def _session_reference(folder: Path) -> set[Path]:
    """The copy of the reference picture a session folder keeps (empty when it cannot be read)."""
    try:
        with ShotStore.read(folder) as store:
            reference = store.setup().get("reference")
    except (SessionError, OSError):
        return set()
    return {Path(os.path.abspath(folder / reference))} if isinstance(reference, str) and reference else set()


def check_archive(folder: Path, sink: ArchiveSink, judge: ShotJudge, *, scheduler: str | None = None,
                  workers: int | None = None, stop: threading.Event | None = None, skip: set[Path] | None = None,
                  on_shot: Callable[[dict], None] | None = None,
                  on_progress: Callable[[ArchiveProgress], None] | None = None) -> ArchiveSummary:
    """Judge every picture under ``folder`` with ``judge`` on Dask (a local cluster of
    ``workers`` processes, or the scheduler at ``scheduler``) and keep each result in
    ``sink`` as it arrives. ``on_shot``: each shot kept (``watch --json``'s fields, with
    ``changed``); ``on_progress``: after each picture. Ends early when ``stop`` is set."""
    folder = Path(os.path.abspath(folder))
    if not folder.is_dir():
        raise ArchiveError(f"The archive folder {folder} does not exist or is not a folder.")
    stop = stop or threading.Event()
    found = list(find_pictures(folder, skip))
    summary = ArchiveSummary(total=len(found))
    started = time.monotonic()
    done = 0

    def tasks() -> Iterator[ArchiveTask]:
        for path, companions in found:
            yield ArchiveTask(str(path), tuple(map(str, companions)), sink.logged_checksum(path))

    def take(outcome: TaskOutcome) -> None:
        nonlocal done
        done += 1
        if outcome.unchanged:
            summary.skipped += 1
        elif outcome.gone or outcome.judged is None or not os.path.lexists(outcome.task.path):
            summary.gone += 1
            if on_shot is not None:
                on_shot(gone_result(Path(outcome.task.path)))
        else:
            changed = outcome.task.logged_sha256 is not None
            result = sink.record(outcome.judged, changed=changed)
            summary.changed += changed
            summary.counts[result["verdict"] if result["readable"] else "unreadable"] += 1
            if changed:
                why = ("it could not be read or judged before" if not outcome.task.logged_sha256
                       else "its content changed since it was logged")
                result["text"] += "\n  " + shown(f"{outcome.judged.path.name} was judged again: {why}; this verdict "
                                                 "replaces the earlier one.")
            if on_shot is not None:
                on_shot(result | {"changed": changed})
        if on_progress is not None:
            on_progress(ArchiveProgress(done, summary.total, summary.skipped, time.monotonic() - started))

    def ready() -> None:  # the rate counts from the cluster up, not its start
        nonlocal started
        started = time.monotonic()

    if found:
        spec = JudgeSpec.of(judge, previews=sink.wants_previews)
        summary.workers = run_on_dask(tasks(), spec, take, scheduler=scheduler, workers=workers, stop=stop,
                                      on_ready=ready)
    summary.elapsed_s = time.monotonic() - started
    summary.stopped = done < summary.total
    return summary
