"""A hot folder started before the first shot: its first complete picture becomes the reference.

The studio's natural order is to start the watcher, then shoot. A new session without a
reference (no ``--reference``, no recipe) and a folder without a picture waits here for
the first complete picture (the hot folder's own test of "completely written"), says
which one it took, and opens the session with it; that picture is then judged like any
other (against itself: it passes). A first picture that cannot be a reference (it does
not decode, it is too small for the features) is said in one sentence and the next one
is awaited. Nothing is written before a reference is taken: a watch stopped while it
waits leaves the folder as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from focuslock.devices.folder import IMAGE_SUFFIXES, list_images
from focuslock.session import opening
from focuslock.session.database import DATABASE_NAME, SessionError
from focuslock.session.hotfolder import HotFolder
from focuslock.session.opening import SetupRequest
from focuslock.session.shot_check import ShotJudge
from focuslock.session.store import ShotStore

__all__ = ["needs_a_first_picture", "open_on_first_picture"]

logger = logging.getLogger(__name__)


def needs_a_first_picture(session_dir: Path, folder: Path, request: SetupRequest) -> bool:
    """True when the session can only start from a picture that is not there yet: a new
    session (no log in ``session_dir``), no reference given, features given (as boxes or
    as choices made in the reference), and no picture in ``folder``."""
    if request.reference is not None or not (request.features_px or request.choices):
        return False
    if (Path(session_dir) / DATABASE_NAME).exists():
        return False
    try:
        return not list_images(folder)
    except Exception:  # a folder that cannot be listed is reported by the watch itself
        return False


def open_on_first_picture(session_dir: Path, folder: Path, request: SetupRequest, *, stop: threading.Event,
                          say: Callable[[str], None], once: bool = False, settle_s: float = 0.5,
                          poll_s: float = 1.0, use_events: bool = True,
                          give_up_s: float = 20.0) -> tuple[ShotStore, ShotJudge] | None:
    """Wait for the first complete picture in ``folder`` that can be the reference, then
    open the session with it (:func:`focuslock.session.opening.open_session`).

    Returns ``(store, judge)``, or None when ``stop`` is set first (or, with ``once``,
    when the folder holds nothing complete): then nothing was written.
    """
    say(f"No picture in {folder} yet: the first complete picture will be the session's reference.")
    refused: set[str] = set()
    hot = HotFolder(folder, settle_s=settle_s, poll_s=poll_s, use_events=use_events, give_up_s=give_up_s,
                    done=set(), once=once)
    hot.start()
    try:
        while not stop.is_set():
            ready = hot.ready()
            for item in ready:
                if item.path.suffix.lower() not in IMAGE_SUFFIXES or item.path.name in refused:
                    continue
                if not item.complete:
                    refused.add(item.path.name)
                    say(f"{item.path.name} is not a complete picture (still changing, or not a file) and cannot be "
                        "the reference; waiting for the next picture.")
                    continue
                try:
                    opened = opening.open_session(session_dir, folder, replace(request, reference=item.path))
                except SessionError as error:
                    refused.add(item.path.name)
                    say(f"{item.path.name} cannot be the reference: {error} Waiting for the next picture.")
                    continue
                say(f"Took {item.path.name} as the reference.")
                logger.info("reference %s taken from the hot folder %s", item.path, folder)
                return opened
            if once and not hot.pending_count and not ready:
                return None
            hot.wait(min(poll_s, settle_s) if hot.pending_count or once else None)
        return None
    finally:
        hot.stop()
