"""One shot judged, then logged: the two halves every command that logs shots shares.

* :func:`judge_shot` reads the picture once (:func:`focuslock.session.hotfolder.read_file_once`:
  header checked, bytes hashed, the same bytes decoded), judges it with the session's one
  judge (:class:`focuslock.session.shot_check.ShotJudge`) and hashes its companions (the
  RAW of a RAW+JPEG pair). It writes nothing, and its result (:class:`JudgedShot`) is a
  plain value: ``check-archive`` runs it in Dask's worker processes and sends the result
  back, ``watch`` and ``capture --session`` run it in their own process.
* :func:`log_judged` writes the sidecars (when asked), then the shot's one transaction
  in the session's log, and returns what to tell the user.

A failure judging one picture costs only that picture: its shot is UNCERTAIN with the
reason (:func:`per_file_reason`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from focuslock.devices.base import CorruptFrameError
from focuslock.devices.folder import IMAGE_SUFFIXES
from focuslock.io.terminal import shown
from focuslock.session.hotfolder import RAW_SUFFIXES, FileGone, read_file_once
from focuslock.session.previews import shot_previews
from focuslock.session.records import FeatureVerdict, ShotFile, ShotPreviews, ShotRecord
from focuslock.session.shot_check import SessionSetup, ShotJudge, ShotVerdict
from focuslock.session.store import now_utc
from focuslock.session.verdict import ShotOutcome
from focuslock.session.xmp import RatingPolicy, SidecarError, XmpFields, sidecar_paths, write_sidecar

__all__ = ["PER_FILE_ERRORS", "FileGone", "HashedFile", "JudgedShot", "feature_json", "gone_result", "judge_shot",
           "log_judged", "per_file_reason"]

logger = logging.getLogger(__name__)

# Failures of judging one picture that cost only that picture (its shot is UNCERTAIN).
PER_FILE_ERRORS = (cv2.error, MemoryError, RecursionError, ValueError, ArithmeticError, CorruptFrameError)


@dataclass(frozen=True)
class HashedFile:
    """A file of a shot as it was read: its path (as given), SHA-256 and size."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class JudgedShot:
    """One picture read once and judged, not yet logged: the verdict, the judged file
    and its companions with their checksums, whether the picture could be judged, notes
    for the user (a companion gone), and the picture as it was decoded (kept only when
    asked: a review shows it without decoding the file again)."""

    verdict: ShotVerdict
    file: HashedFile
    companions: tuple[HashedFile, ...] = ()
    readable: bool = True
    notes: tuple[str, ...] = ()
    picture: np.ndarray | None = field(default=None, repr=False, compare=False)
    # The thumbnail and crop for the studio's hub, made where the picture was decoded
    # (a Dask worker: the picture itself never travels back).
    previews: ShotPreviews | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.file.path


def per_file_reason(name: str, error: BaseException, doing: str) -> str:
    """Why ``name`` could not be ``doing`` (judged, read), in one sentence."""
    if isinstance(error, CorruptFrameError):
        return str(error)
    logger.debug("%s could not be %s", name, doing, exc_info=error)
    known: dict[type[BaseException], str] = {MemoryError: "not enough memory", RecursionError: "nested too deep"}
    detail = known.get(type(error)) or (
        str(error).strip().splitlines() or [type(error).__name__])[-1][:160]
    return f"{name} could not be {doing} ({detail}); its focus was not checked."


def judge_shot(path: Path, complete: bool, companions: list[Path] | tuple[Path, ...], judge: ShotJudge, *,
               keep_picture: bool = False, previews: bool = False) -> JudgedShot:
    """``path`` read once and judged by ``judge`` (``complete``: its structure is whole,
    so it is decoded), its ``companions`` hashed. Raises :class:`FileGone` when ``path``
    is gone before it was read; a companion gone is a note, and the shot goes on without it.
    ``previews``: make the hub's thumbnail and crop from the picture as decoded."""
    path = Path(path)
    picture = path.suffix.lower() in IMAGE_SUFFIXES
    read = read_file_once(path, decode=complete and picture)
    readable = False
    if read.bgr is not None:
        try:
            verdict = judge.judge(path, read.bgr)
            readable = verdict.size_px is not None
        except PER_FILE_ERRORS as error:
            verdict = _uncertain(path, per_file_reason(path.name, error, "judged"))
    elif read.reason is not None:
        verdict = _uncertain(path, read.reason)
    elif path.suffix.lower() in RAW_SUFFIXES:
        verdict = _uncertain(path, "a RAW file alone: its focus was not checked (shoot RAW+JPEG to have it checked)")
    else:
        verdict = _uncertain(path, f"{path.name} never became a whole picture (cut short?); its focus was not checked")
    hashed, notes = [], []
    for companion in companions:
        try:
            extra = read_file_once(Path(companion), decode=False)
        except FileGone:
            notes.append(f"{Path(companion).name} was moved or deleted before it was logged; the shot is logged without it.")
            continue
        hashed.append(HashedFile(Path(companion), extra.sha256, extra.size))
    made = shot_previews(read.bgr, verdict.features, judge.setup.features_px) if previews else None
    return JudgedShot(verdict, HashedFile(path, read.sha256, read.size), tuple(hashed), readable, tuple(notes),
                      read.bgr if keep_picture else None, made)


def _uncertain(path: Path, reason: str) -> ShotVerdict:
    return ShotVerdict(path, ShotOutcome.UNCERTAIN, reason, (), None, None, None)


def gone_result(path: Path) -> dict:
    """What to tell the user of a picture moved or deleted before it was logged (not logged)."""
    return {"gone": True, "file": path.name, "path": str(path),
            "text": shown(f"{path.name} was moved or deleted before it was logged; it is not in the session's log.")}


def log_judged(judged: JudgedShot, store, setup: SessionSetup, *, sidecars: str = "none",
               policy: RatingPolicy | None = None, sku: str | None = None, camera: dict | None = None,
               replaces: str | None = None, sku_number: int | None = None) -> dict:
    """Write ``judged``'s sidecars (``sidecars``: both | lightroom | darktable | none), then
    log it in ``store`` (a :class:`~focuslock.session.store.ShotStore` or a new session's
    log) in one transaction; ``replaces``: the logged path of an earlier shot of the same
    file whose content changed since, replaced in that transaction; ``sku_number``: the
    name's number from the studio's hub (or the station's offline block). With a hub's
    outbox open, the shot's previews are made from the picture as it was judged (kept by
    :func:`judge_shot` when asked). Returns what to tell
    the user (``text``) and the shot as JSON. Raises :class:`~focuslock.session.database.SessionError`."""
    verdict, path = judged.verdict, judged.path
    files = [ShotFile(store.relative_path(path), judged.file.sha256, judged.file.size, "judged")]
    files += [ShotFile(store.relative_path(c.path), c.sha256, c.size, "companion") for c in judged.companions]
    notes = list(judged.notes)
    record = ShotRecord(path.name, tuple(files), verdict.verdict, verdict.reason, verdict.features, verdict.drift_px,
                        verdict.drift_share, verdict.camera_record(camera), dict(setup.optics), sku, sku_number,
                        _previews(judged, setup) if store.outbox else None)
    feature_lines = tuple(f.describe() for f in verdict.features)
    if sidecars != "none":
        # The sequence the log will give it: one writer, so the next one is known beforehand.
        fields = XmpFields(verdict.verdict, verdict.reason, store.name(), store.shot_count() + 1, now_utc(),
                           feature_lines, record.worst_coc_share, verdict.drift_px, sku, verdict.exposure)
        notes += _write_sidecars([path] + [c.path for c in judged.companions], sidecars, fields, policy or RatingPolicy())
    logged = store.record_shot(record) if replaces is None else store.record_shot(record, replaces=replaces)
    text = f"#{logged.sequence} {verdict.describe()}"
    # A lone uncertain feature's reason is already the shot's; otherwise list every feature.
    if (feature_lines and verdict.verdict != ShotOutcome.UNCERTAIN) or len(feature_lines) > 1:
        text += " · " + "; ".join(feature_lines)
    # A file name may hold a newline or an escape: each line printed is ours, one per note.
    text = shown(text)
    for note in notes:
        text += f"\n  {shown(note)}"
    return {"sequence": logged.sequence, "file": path.name, "path": str(path), "verdict": verdict.verdict,
            "reason": verdict.reason,
            "features": [feature_json(f) for f in verdict.features], "drift_px": _round(verdict.drift_px, 1),
            "drift_share": _round(verdict.drift_share, 4), "companions": [c.path.name for c in judged.companions],
            "readable": judged.readable, "notes": notes, "sku": sku, "sku_number": sku_number, "text": text, "gone": False}


def _previews(judged: JudgedShot, setup: SessionSetup) -> ShotPreviews | None:
    """The shot's previews for the hub: made where it was judged, or from the picture kept."""
    if judged.previews is not None:
        return judged.previews
    return shot_previews(judged.picture, judged.verdict.features, setup.features_px) if judged.picture is not None else None


def _write_sidecars(pictures: list[Path], which: str, fields: XmpFields, policy: RatingPolicy) -> list[str]:
    """Each sidecar of ``pictures`` merged once (a RAW+JPEG pair shares Lightroom's
    NAME.xmp); the notes of those that could not be."""
    notes = []
    for sidecar in dict.fromkeys(s for picture in pictures for s in sidecar_paths(picture, which)):
        try:
            write_sidecar(sidecar, fields, policy)
        except SidecarError as error:
            notes.append(str(error))
        except (RecursionError, MemoryError, ValueError) as error:
            logger.debug("the sidecar %s could not be merged", sidecar, exc_info=error)
            notes.append(f"The sidecar {sidecar.name} could not be merged ({type(error).__name__}); it was left as it is.")
    return notes


def feature_json(feature: FeatureVerdict) -> dict:
    """One feature's verdict as the JSON lines of ``watch --json`` and ``check-archive --json`` give it."""
    return {"feature": feature.feature + 1, "state": feature.state, "reason": feature.reason,
            "blur_px": _round(feature.blur_px, 3), "blur_sd_px": _round(feature.blur_sd_px, 3),
            "blur_um": _round(feature.blur_um, 2), "coc_share": _round(feature.coc_share, 3),
            "drift_px": _round(feature.drift_px, 1),
            "found_px": None if feature.found_px is None else [round(float(v), 1) for v in feature.found_px]}


def _round(value, digits: int):
    return None if value is None or not math.isfinite(value) else round(value, digits)

