"""Opening a tethered session from a recipe: ``capture --session``, the window's
``--session --recipe`` (``demo`` and ``live``), and the recipe ``watch --recipe`` reads.

A recipe that cannot be read, a naming pattern it cannot use, or a session that refuses
the recipe's setup ends as a :class:`CaptureSessionError` with one sentence, before a
camera fires.
"""

from __future__ import annotations

from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.hub.sync import HubLink, attach_hub
from focuslock.session.database import SessionError
from focuslock.session.naming import DEFAULT_PATTERN, NamePattern, NamingError
from focuslock.session.opening import SetupRequest, open_session
from focuslock.session.recipe import Recipe, RecipeError
from focuslock.workflows.watch import CaptureLog, WatchOptions

__all__ = ["CaptureSessionError", "open_capture_session", "recipe_request"]


class CaptureSessionError(FocuslockError):
    """The recipe or the session cannot be used; ``user_message`` says why."""


def recipe_request(path: Path) -> tuple[Recipe, SetupRequest]:
    """A recipe and the session setup it asks for."""
    try:
        return SetupRequest.from_recipe(path)
    except RecipeError as error:
        raise CaptureSessionError(str(error)) from None


def open_capture_session(session: Path, recipe: Path, sku: str | None = None, hub: HubLink | None = None) -> CaptureLog:
    """The log of a tethered session in the folder ``session``, judged against ``recipe``,
    its shots named by the recipe's pattern with the product's code ``sku``; with ``hub``,
    synced to the studio's hub, which numbers the SKU's shots (``hub/sync.py``)."""
    loaded, request = recipe_request(recipe)
    try:
        pattern = NamePattern(str(loaded.naming.get("pattern", DEFAULT_PATTERN)))
        store, judge = open_session(session, None, request)
    except (NamingError, SessionError) as error:
        raise CaptureSessionError(str(error)) from None
    numbers = None
    if hub is not None:
        try:
            numbers = attach_hub(store, hub)
        except BaseException:
            store.close()
            raise
    return CaptureLog(store, judge, WatchOptions(policy=loaded.rating_policy()), pattern, sku, numbers)
