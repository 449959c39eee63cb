"""``focuslock watch``: check every picture another tether program drops into a folder.

Each complete picture (:mod:`focuslock.session.hotfolder`) is judged against the
session's reference (:mod:`focuslock.session.shot_check`: the capture check's estimator),
its sidecars written (:mod:`focuslock.session.xmp`), and the shot logged in the
session's database (:mod:`focuslock.session.store`). RAW files travel with the JPEG of
the same name (RAW+JPEG) as companions of its shot.

Order of work per shot, so that a killed process loses nothing and repeats nothing:
the sidecars first (a merge, harmless to repeat), then the shot's one transaction in the
log. A file is handled once it is in the log; after a crash, the next run (``--once`` or
not) handles exactly the files that are not.

One file costs only itself (issue 28.5): a picture is opened once, never blocking, a
regular file only; its header is checked (:mod:`focuslock.io.limits`), then it is
read once, bounded, and its checksum taken from the bytes judged. Any failure judging it
makes its shot UNCERTAIN with the reason; a file moved away before it was logged is said
in one line and not logged; the watch goes on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.devices.base import Camera
from focuslock.devices.folder import IMAGE_SUFFIXES
from focuslock.io.terminal import shown
from focuslock.overlay.readouts import STATE_WORDS
from focuslock.session import opening
from focuslock.session.database import SessionError
from focuslock.session.hotfolder import RAW_SUFFIXES, FileGone, HotFolder
from focuslock.session.naming import NamePattern, name_shot
from focuslock.session.opening import SetupRequest
from focuslock.session.recipe import settings_of
from focuslock.session.review import ShotReview, review_shot
from focuslock.session.shot_check import ShotJudge
from focuslock.session.store import ShotStore
from focuslock.session.verdict import ShotOutcome, share_words
from focuslock.session.xmp import RatingPolicy
from focuslock.workflows.shot_log import gone_result, judge_shot, log_judged

__all__ = ["LEFT", "WatchError", "WatchOptions", "open_session", "run_watch"]

logger = logging.getLogger(__name__)

# The count, in what :func:`run_watch` returns, of the pictures a stop left unjudged.
LEFT = "left"
# How long a RAW waits for its JPEG before it is logged alone (seconds after it is complete).
_PAIR_WAIT_S = 5.0


class WatchError(FocuslockError):
    """The watch cannot start or go on; ``str()`` is one sentence."""


@dataclass
class WatchOptions:
    """How ``watch`` runs: once or on, the sidecars it writes, and the rest of its choices."""

    once: bool = False
    sidecars: str = "both"  # both | lightroom | darktable | none
    policy: RatingPolicy = field(default_factory=RatingPolicy)
    settle_s: float = 0.5
    poll_s: float = 1.0
    use_events: bool = True
    give_up_s: float = 20.0


def open_session(session_dir: Path, folder: Path, features_px: list[tuple[int, int, int, int]] | None,
                 reference: Path | None, coc: dict, drift_limit_share: float | None) -> tuple[ShotStore, ShotJudge]:
    """Open (or start) the session and its judge from options (boxes, a reference, the CoC
    arguments of ``SessionSetup``): :func:`focuslock.session.opening.open_session`, where
    every session is opened (a recipe's too) and nothing is written before the first shot."""
    boxes = None if not features_px else tuple((float(x), float(y), float(w), float(h)) for x, y, w, h in features_px)
    request = SetupRequest(boxes,
                           None if reference is None else Path(reference), drift_limit_share=drift_limit_share, **coc)
    try:
        return opening.open_session(session_dir, folder, request)
    except SessionError as error:
        raise WatchError(str(error)) from None


def run_watch(folder: Path, store: ShotStore, judge: ShotJudge, options: WatchOptions,
              say: Callable[[str], None] = print, stop: threading.Event | None = None,
              on_shot: Callable[[dict], None] | None = None,
              on_review: Callable[[dict, np.ndarray | None], None] | None = None) -> dict:
    """Watch ``folder`` until ``stop`` is set (or, with ``options.once``, until what is
    there is handled). Returns counts of shots by verdict and unreadable files, and
    ``LEFT``: the pictures seen but not yet judged when ``stop`` came (unlogged, so the
    next run judges them).
    ``on_shot``: each logged shot's result; ``on_review``: the same with the picture as it
    was decoded to be judged (None when it was not), so a review need not read it again."""
    stop = stop or threading.Event()
    folder = Path(folder)
    # Names in the log live relative to the session folder, or absolute; a name's own link
    # is not followed (a link to /dev/zero logged once stays logged).
    done = {Path(p).name for p in store.logged_paths() if (store.folder / p).parent.resolve() == folder.resolve()}
    reference = (store.folder / judge.setup.reference).resolve()
    if reference.parent == folder.resolve():
        done.add(reference.name)  # the copy kept in the session is not a shot
    hot = HotFolder(folder, settle_s=options.settle_s, poll_s=options.poll_s, use_events=options.use_events,
                    give_up_s=options.give_up_s, done=done, once=options.once, stop=stop)
    try:
        hot.start()
    except FileNotFoundError as error:
        raise WatchError(str(error)) from None
    counts = {ShotOutcome.PASS: 0, ShotOutcome.SOFT: 0, ShotOutcome.DRIFT: 0, ShotOutcome.UNCERTAIN: 0, "unreadable": 0, "gone": 0,
              LEFT: 0}
    waiting_raw: dict[str, tuple[Path, float]] = {}
    say(shown(f"Watching {folder} ({hot.events_note}); session {store.folder}; {store.shot_count()} shots logged so far."))
    for warning in judge.warnings:
        say(shown(f"Warning: {warning}"))
    try:
        while True:
            ready = hot.ready()
            pictures = [r for r in ready if r.path.suffix.lower() in IMAGE_SUFFIXES]
            for item in ready:
                if item.path.suffix.lower() in RAW_SUFFIXES:
                    waiting_raw[item.path.stem] = (item.path, time.monotonic())
            handled = 0
            for item in pictures:
                if stop.is_set():
                    break
                handled += 1
                companions = []
                raw = waiting_raw.pop(item.path.stem, None)
                if raw is not None:
                    companions.append(raw[0])
                result, picture = _handle_shot(item.path, item.complete, companions, store, judge, options)
                say(result["text"])
                if result["gone"]:
                    counts["gone"] += 1
                    continue
                counts[result["verdict"] if result["readable"] else "unreadable"] += 1
                if on_shot is not None:
                    on_shot(result)
                if on_review is not None:
                    on_review(result, picture)
            # A RAW whose JPEG never came: logged alone, unjudged (uncertain).
            now = time.monotonic()
            for stem, (path, since) in list(waiting_raw.items()):
                if options.once or now - since >= _PAIR_WAIT_S:
                    del waiting_raw[stem]
                    result = _handle(path, True, [], store, judge, options)
                    counts["gone" if result["gone"] else ShotOutcome.UNCERTAIN] += 1
                    say(result["text"])
                    if on_shot is not None and not result["gone"]:
                        on_shot(result)
                    if on_review is not None and not result["gone"]:
                        on_review(result, None)
            if stop.is_set():
                unjudged = {item.path.stem for item in pictures[handled:]} | set(waiting_raw)
                counts[LEFT] = len(unjudged) + hot.pending_count
                break
            if options.once and not hot.pending_count and not waiting_raw and not ready:
                break
            hot.wait(min(options.poll_s, options.settle_s) if hot.pending_count or options.once else None)
    finally:
        hot.stop()
    return counts


def log_capture(files: list[Path], store: ShotStore, judge: ShotJudge, options: WatchOptions, *,
                pattern: NamePattern | None = None, sku: str | None = None, camera: str | None = None,
                camera_settings: dict | None = None, sku_number: int | None = None) -> dict:
    """One capture's downloaded files (a JPEG, or RAW+JPEG) named by ``pattern`` (the
    pair keeps one stem), judged, given sidecars and logged as one shot, as the hot
    folder does; ``sku`` the product's code, ``camera_settings`` the body's settings when
    it was taken (logged with the shot). Returns what to tell the user."""
    return _log_capture(files, store, judge, options, pattern, sku, camera, camera_settings, sku_number)[0]


def _log_capture(files: list[Path], store: ShotStore, judge: ShotJudge, options: WatchOptions,
                 pattern: NamePattern | None, sku: str | None, camera: str | None,
                 camera_settings: dict | None, sku_number: int | None = None) -> tuple[dict, np.ndarray | None]:
    """:func:`log_capture`, and the picture judged as it was decoded (None: not decoded);
    ``sku_number``: the name's {seq} when the studio's hub numbers the SKU's shots."""
    if pattern is not None:
        sequence = sku_number if sku_number is not None else store.shot_count() + 1
        when = datetime.now()
        renamed = []
        for file in files:
            name = pattern.render(session=store.name(), sequence=sequence, when=when, extension=file.suffix, sku=sku,
                                  camera=camera, original=file.stem)
            renamed.append(name_shot(file, name))
        files = renamed
    pictures = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    judged = pictures[0] if pictures else files[0]
    camera_record = {"name": camera, **(camera_settings or {})} if camera or camera_settings else {}
    result, picture = _handle_shot(judged, True, [f for f in files if f != judged], store, judge, options, sku,
                                   camera_record, sku_number)
    if result["gone"]:
        raise WatchError(result["text"])
    return result, picture


def review_of_shot(result: dict, judge: ShotJudge, picture_bgr: np.ndarray | None = None) -> ShotReview:
    """A shot as the hot folder or a capture logged it (``_handle``'s result): each
    feature where it was found, at 100 %, with its verdict — for the window's review;
    ``picture_bgr``: the picture as it was decoded to be judged (None: read again)."""
    sizes = [tuple(f[2:]) for f in judge.setup.features_px]
    boxes = []
    for feature in result["features"]:
        index = feature["feature"] - 1
        if feature["found_px"] is None or index >= len(sizes):
            continue
        state = feature["state"]
        title = f"feature {feature['feature']}: {STATE_WORDS.get(state, state).upper()}"
        if feature["coc_share"] is not None and feature["coc_share"] >= 0:
            title += f" ({share_words(feature['coc_share'])})"
        boxes.append(((*feature["found_px"], *sizes[index]), feature["state"], title))
    return review_shot(Path(result["path"]), result["verdict"], result["text"], boxes, picture_bgr=picture_bgr)


class CaptureLog:
    """A tethered session's captures (``capture --session``, the window with ``--session``):
    each capture's files named by ``pattern``, judged, given sidecars and logged, with the
    product code ``sku`` (settable: the window's confirmed code names the next shots)."""

    def __init__(self, store: ShotStore, judge: ShotJudge, options: WatchOptions, pattern: NamePattern | None,
                 sku: str | None = None, numbers: Callable[[str], int | None] | None = None) -> None:
        self.store, self.judge, self.options, self.pattern, self.sku = store, judge, options, pattern, sku
        # With a studio's hub: a SKU's next number for {seq} (hub/numbers.py), unique across stations.
        self.numbers = numbers
        # The last shot's picture as it was decoded to be judged (its path, the picture):
        # the review shows it without decoding the file again.
        self._judged: tuple[str, np.ndarray] | None = None

    @property
    def wants_code(self) -> bool:
        """True when file names carry the product's code (the pattern has {sku})."""
        return self.pattern is not None and "sku" in self.pattern.fields

    def __call__(self, paths: list[Path], camera_name: str | None, *, sku: str | None = None,
                 camera_settings: dict | None = None) -> dict:
        """Log one capture's files; ``sku`` as it was when the shot was taken (default: now),
        ``camera_settings`` as the body reported them then."""
        sku = sku if sku is not None else self.sku
        result, picture = _log_capture(paths, self.store, self.judge, self.options, self.pattern, sku, camera_name,
                                       camera_settings, self._sku_number(sku))
        self._judged = None if picture is None else (result["path"], picture)
        return result

    def take(self, camera: Camera, folder: Path, *, sku: str | None = None) -> dict:
        """Capture with ``camera`` into ``folder`` and log the shot: each file saved once,
        under the pattern's name (no rename after the download), with the body's settings
        as it reports them then; ``sku`` as :meth:`__call__` takes it."""
        sku = sku if sku is not None else self.sku
        name = None
        number = self._sku_number(sku)
        if self.pattern is not None:
            pattern, session, when = self.pattern, self.store.name(), datetime.now()
            sequence = number if number is not None else self.store.shot_count() + 1

            def name(card_name: str) -> str:
                card = Path(card_name)
                return pattern.render(session=session, sequence=sequence, when=when, extension=card.suffix, sku=sku,
                                      camera=camera.name, original=card.stem)
        paths = camera.capture(folder, name)
        result, picture = _log_capture(paths, self.store, self.judge, self.options, None, sku, camera.name,
                                       settings_of(camera), number)
        self._judged = None if picture is None else (result["path"], picture)
        return result

    def _sku_number(self, sku: str | None) -> int | None:
        """The SKU's next number when the hub numbers names and the pattern shows {seq}."""
        if self.numbers is None or not sku or self.pattern is None or "seq" not in self.pattern.fields:
            return None
        return self.numbers(sku)

    def review(self, result: dict) -> ShotReview:
        """The logged shot laid out for review (:func:`review_of_shot`), from the picture
        decoded to judge it when it is the last shot logged."""
        judged, self._judged = self._judged, None
        picture = judged[1] if judged is not None and judged[0] == result["path"] else None
        return review_of_shot(result, self.judge, picture)

    def close(self) -> None:
        self.store.close()


def _handle(path: Path, complete: bool, companions: list[Path], store: ShotStore, judge: ShotJudge,
            options: WatchOptions, sku: str | None = None, camera: dict | None = None) -> dict:
    """Judge one picture, write its sidecars, log it; returns what to tell the user (with
    ``gone``: the picture was moved or deleted before it was logged, and is not)."""
    return _handle_shot(path, complete, companions, store, judge, options, sku, camera)[0]


def _handle_shot(path: Path, complete: bool, companions: list[Path], store: ShotStore, judge: ShotJudge,
                 options: WatchOptions, sku: str | None = None, camera: dict | None = None, sku_number: int | None = None
                 ) -> tuple[dict, np.ndarray | None]:
    """:func:`_handle`, and the picture as it was decoded to be judged: the one shot
    judge (:func:`focuslock.workflows.shot_log.judge_shot`), then the log (:func:`log_judged`)."""
    try:
        judged = judge_shot(path, complete, companions, judge, keep_picture=True)
    except FileGone:
        return gone_result(path), None
    if not os.path.lexists(path):
        return gone_result(path), None  # moved away while it was judged: no sidecar for a picture not there
    try:
        result = log_judged(judged, store, judge.setup, sidecars=options.sidecars, policy=options.policy, sku=sku,
                            camera=camera, sku_number=sku_number)
    except SessionError as error:
        raise WatchError(str(error)) from None
    return result, judged.picture
