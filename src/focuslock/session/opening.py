"""Opening a session for writing: what its shots are judged against, and nothing else.

Every command that logs shots in a session folder — ``capture --session``, ``watch``,
the window's ``--session --recipe`` — opens it here, through :func:`open_session`:

* **One setup per session.** A session keeps the setup its first shot was judged against
  (the reference picture copied into the folder, the features, the CoC, the drift limit,
  and the recipe's name when a recipe set it up). Asked to judge against anything else —
  another recipe, the same recipe whose reference picture, features or CoC changed since,
  other boxes or another reference picture — it refuses in one sentence
  (:func:`setup_conflict`, the one comparison), before a camera fires or a file is judged.
  The same setup again resumes the session. (The drift limit is not compared: the
  session's own stays in force.)
* **Nothing before the first shot.** A new session writes nothing until its first shot is
  logged (:class:`NewSessionLog`): then the folder, the log, the setup and the reference
  copy are made. A start that fails (no camera, a bad recipe, a refused setup, a window
  closed before a capture) leaves the session folder as it was, or absent.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.box import BoxError
from focuslock.devices.base import CorruptFrameError
from focuslock.devices.folder import list_images
from focuslock.focus.feature_choice import FeatureChoice
from focuslock.io.files import SaveError, save_new_file
from focuslock.io.limits import decode_image, read_image_bytes
from focuslock.session.database import DATABASE_NAME, SessionError
from focuslock.session.recipe import Recipe, load_recipe_and_picture
from focuslock.session.records import LoggedShot, ShotRecord
from focuslock.session.shot_check import SessionSetup, SetupError, ShotJudge
from focuslock.session.store import ShotStore, relative_to_folder

__all__ = ["NewSessionLog", "RecipeOrigin", "SetupRequest", "open_session", "setup_conflict"]

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class RecipeOrigin:
    """The recipe a session was set up with, as the session keeps it (``"recipe"`` in its
    setup): the recipe's name and its file's name then."""

    name: str
    file_name: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file_name}

    @classmethod
    def from_json(cls, value) -> RecipeOrigin | None:
        """The stored origin; None for a session set up without a recipe (or before
        sessions kept it)."""
        if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
            return None
        file_name = value.get("file")
        return cls(value["name"], file_name if isinstance(file_name, str) else "")

    def describe(self) -> str:
        return f'"{self.name}" ({self.file_name})' if self.file_name else f'"{self.name}"'


@dataclass(frozen=True)
class SetupRequest:
    """What a command asks its session to judge against.

    ``features_px``: the boxes (None: whatever the session holds, for a session resumed
    without them); ``reference``: the picture a new session takes as its reference (None:
    the first picture in the watched folder); the CoC as ``SessionSetup`` takes it;
    ``recipe``: where it all came from, when a recipe gave it. ``choices``: the features
    as the user named them when one is known only from the reference picture
    (``center:WxH``, ``auto``: :mod:`focuslock.focus.feature_choice`), all of them in
    order, resolved in the reference when the session opens (``features_px`` None then).
    ``picture``: ``reference``'s bytes and the picture decoded from them, when the recipe
    that named it has read it already (read and decoded once per session).
    """

    features_px: tuple[Box, ...] | None = None
    reference: Path | None = None
    coc_px: float | None = None
    coc_um: float | None = None
    sensor_width_mm: float | None = None
    camera: str | None = None
    lens: str | None = None
    drift_limit_share: float | None = None
    recipe: RecipeOrigin | None = None
    choices: tuple[FeatureChoice, ...] = ()
    picture: tuple[bytes, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_recipe(cls, path: Path) -> tuple[Recipe, SetupRequest]:
        """The recipe at ``path`` and the session setup it asks for (RecipeError, one
        sentence, for a recipe that cannot be used)."""
        path = Path(path)
        recipe, data, picture = load_recipe_and_picture(path)  # its reference picture and [xmp] table checked there too
        optics = recipe.optics
        boxes = tuple((float(x), float(y), float(w), float(h)) for x, y, w, h in recipe.features_px)
        return recipe, cls(boxes, path.parent / recipe.reference,
                           optics.get("coc_px"), optics.get("coc_um"), optics.get("sensor_width_mm"), recipe.camera_name,
                           recipe.lens, recipe.drift_limit_pct / 100.0, RecipeOrigin(recipe.name, path.name),
                           picture=(data, picture))

    def with_drift_limit_pct(self, percent: float | None) -> SetupRequest:
        """The request with the drift limit given as a share of the width in % (None: as it is)."""
        return self if percent is None else replace(self, drift_limit_share=percent / 100.0)

    def coc(self) -> tuple[float | None, float | None, float | None]:
        return self.coc_px, self.coc_um, self.sensor_width_mm


def open_session(session_dir: Path, folder: Path | None, request: SetupRequest):
    """The session in ``session_dir`` opened for writing, and the judge of its shots:
    ``(store, judge)``, the store a :class:`~focuslock.session.store.ShotStore` (a session
    resumed) or a :class:`NewSessionLog` (a new one, written with its first shot).

    ``folder``: the watched folder, whose first picture a new session without
    ``request.reference`` takes as its reference. Raises :class:`SessionError` (one
    sentence) for a setup the session does not hold, and for anything that keeps it from
    starting — having written nothing.
    """
    session_dir = Path(session_dir)
    _check_can_hold(session_dir)
    store = ShotStore.open(session_dir) if (session_dir / DATABASE_NAME).is_file() else None
    try:
        stored = store.setup() if store is not None else {}
        if stored and store is not None:
            setup = _stored_setup(session_dir, stored)
            reference = _read(session_dir / setup.reference, "The session's reference picture")
            request_reference = None if request.reference is None else _request_bytes(request)
            reference_bgr = _decoded(reference, setup.reference)
            if request.choices:  # resolved in the picture the request names (decoded once)
                request = _resolved(request, reference_bgr if request_reference in (None, reference)
                                    else _decoded(request_reference, Path(request.reference or setup.reference).name))
            conflict = setup_conflict(session_dir, stored, reference, request, request_reference)
            if conflict:
                raise SessionError(conflict)
            logger.info("Session %s resumed (%d shots logged)", session_dir, store.shot_count())
            return store, _judge(reference_bgr, setup)
        if not request.features_px and not request.choices:
            raise SessionError("A new session needs the feature that must be sharp: --roi X,Y,W,H (in the reference "
                               "picture's pixels), or a recipe.")
        source = request.reference or _first_picture(folder)
        if source is None:
            raise SessionError(f"There is no picture in {folder} yet to take as the reference; give one with --reference FILE.")
        data = _request_bytes(request) if request.reference is not None else _read(Path(source), "The reference picture")
        reference_bgr = request.picture[1] if request.picture is not None else _decoded(data, Path(source).name)
        request = _resolved(request, reference_bgr)
        assert request.features_px is not None  # given, or resolved from the choices just now
        name = _free_name(session_dir, f"reference{Path(source).suffix.lower()}")
        setup = SessionSetup(reference=name, features_px=tuple(request.features_px), coc_px=request.coc_px,
                             coc_um=request.coc_um, sensor_width_mm=request.sensor_width_mm,
                             drift_limit_share=0.01 if request.drift_limit_share is None else request.drift_limit_share,
                             camera=request.camera, lens=request.lens)
        judge = _judge(reference_bgr, setup)
        return NewSessionLog(session_dir, setup, data, request, store), judge
    except BaseException:
        if store is not None:
            store.close()
        raise


def setup_conflict(session_dir: Path, stored: dict, stored_reference: bytes, request: SetupRequest,
                   request_reference: bytes | None) -> str | None:
    """The one sentence refusing ``request`` on the session whose setup is ``stored`` (its
    reference copy's bytes ``stored_reference``), or None when the request is the setup
    the session holds. A recipe must be the one the session was set up with, with the same
    reference picture, features and CoC; boxes or a reference picture given as options
    must be the session's own."""
    setup = SessionSetup.from_json(stored)
    changed = []
    if request_reference is not None and _sha(request_reference) != _sha(stored_reference):
        changed.append("another reference picture")
    if request.features_px is not None and _boxes(request.features_px) != _boxes(setup.features_px):
        changed.append("other features")
    if request.recipe is not None and request.coc() != (setup.coc_px, setup.coc_um, setup.sensor_width_mm):
        changed.append("another CoC")
    given, origin = request.recipe, RecipeOrigin.from_json(stored.get("recipe"))
    again = "start a new session folder (--session)"
    if given is None:
        if not changed:
            return None
        what = _and([f"{c} ({_describe_boxes(setup.features_px)})" if c == "other features" else c for c in changed])
        return f"The session {session_dir} was set up with {what}; {again} for these."
    if origin is not None and origin.name != given.name:
        return (f"The session {session_dir} was set up with the recipe {origin.describe()}, not {given.describe()}; "
                f"{again} for \"{given.name}\".")
    if not changed:
        return None
    if origin is not None:
        return (f"The session {session_dir} was set up with the recipe \"{origin.name}\" as it was then, and "
                f"{given.file_name or 'the recipe'} now has {_and(changed)}; {again} for the recipe as it is now.")
    return (f"The session {session_dir} was set up with {_and(changed)} than the recipe {given.describe()} has; "
            f"{again} for \"{given.name}\".")


class NewSessionLog:
    """A new session's log before its first shot: it stands where the
    :class:`~focuslock.session.store.ShotStore` will (the same methods the hot folder and
    the captures use) and writes nothing until :meth:`record_shot`, which makes the folder,
    the log, the reference copy and the setup, then logs the shot. ``store``: a log that
    exists without a setup (a start killed half-way), already opened for writing."""

    def __init__(self, folder: Path, setup: SessionSetup, reference_data: bytes, request: SetupRequest,
                 store: ShotStore | None = None) -> None:
        self.folder = Path(folder)
        self._setup, self._reference_data, self._request = setup, reference_data, request
        self._store = store
        self._started = False
        self.outbox = False  # with a hub: the shots enter the outbox once the log exists
        self._on_close: list[Callable[[], None]] = []

    def start_outbox(self) -> int:
        """As :meth:`ShotStore.start_outbox`, from the first shot on if the log is not made yet."""
        self.outbox = True
        return self._store.start_outbox() if self._started and self._store is not None else 0

    def on_close(self, callback: Callable[[], None]) -> None:
        self._on_close.append(callback)

    def name(self) -> str:
        return self._store.name() if self._store is not None else self.folder.name

    def shot_count(self) -> int:
        return self._store.shot_count() if self._started and self._store is not None else 0

    def logged_paths(self) -> set[str]:
        return self._store.logged_paths() if self._started and self._store is not None else set()

    def logged_checksums(self) -> dict[str, str]:
        return self._store.logged_checksums() if self._started and self._store is not None else {}

    def relative_path(self, path: Path | str) -> str:
        return relative_to_folder(self.folder, path)

    def record_shot(self, shot: ShotRecord, *, replaces: str | None = None) -> LoggedShot:
        if not self._started:
            self._start()
        assert self._store is not None  # started: the log is open
        return self._store.record_shot(shot, replaces=replaces)

    def close(self) -> None:
        callbacks, self._on_close = self._on_close, []
        for callback in reversed(callbacks):
            callback()
        if self._store is not None:
            self._store.close()
            self._store = None
        self._started = False

    def __enter__(self) -> NewSessionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        store = self._store if self._store is not None else ShotStore.open(self.folder)
        self._store = store
        stored = store.setup()
        if stored:
            # Another focuslock started this session since: judged on, only if it is ours.
            setup = _stored_setup(self.folder, stored)
            conflict = setup_conflict(self.folder, stored, _read(self.folder / setup.reference, "The session's reference "
                                      "picture"), self._request, self._reference_data)
            if conflict:
                raise SessionError(conflict)
        else:
            try:
                copy = save_new_file(self.folder, self._setup.reference, self._reference_data)
            except SaveError as error:
                raise SessionError(f"The session's reference picture could not be kept in {self.folder}: {error}") from None
            setup = replace(self._setup, reference=relative_to_folder(self.folder, copy))
            data = setup.to_json()
            if self._request.recipe is not None:
                data["recipe"] = self._request.recipe.to_json()
            store.save_setup(data)
            logger.info("Session %s started, reference %s", self.folder, setup.reference)
        if self.outbox:
            store.start_outbox()
        self._started = True


def _stored_setup(session_dir: Path, stored: dict) -> SessionSetup:
    try:
        return SessionSetup.from_json(stored)
    except SetupError as error:
        raise SessionError(f"The session {session_dir} cannot go on: {error} (its log was changed outside focuslock); "
                           "start a new session folder — the captures themselves are untouched.") from None


def _resolved(request: SetupRequest, reference_bgr: np.ndarray) -> SetupRequest:
    """``request`` with its ``choices`` resolved in the reference picture (decoded): the
    boxes in ``features_px``; SessionError (one sentence) for one not inside it."""
    if not request.choices:
        return request
    try:
        rgb = cv2.cvtColor(reference_bgr, cv2.COLOR_BGR2RGB)
        boxes = tuple(_float_box(choice.resolve(rgb, "reference picture").box.as_tuple()) for choice in request.choices)
    except BoxError as error:
        raise SessionError(str(getattr(error, "user_message", None) or error)) from None
    return replace(request, features_px=boxes)


def _float_box(box: tuple[int, int, int, int]) -> Box:
    x, y, w, h = box
    return float(x), float(y), float(w), float(h)


def _decoded(reference: bytes, name: Path | str) -> np.ndarray:
    """The reference picture decoded from its bytes (once per session)."""
    try:
        return decode_image(reference, Path(name).name)
    except CorruptFrameError as error:
        raise SessionError(f"The session's reference picture cannot be read: {error.reason}") from None


def _request_bytes(request: SetupRequest) -> bytes:
    """The bytes of the reference picture ``request`` names (as its recipe read them, or read now)."""
    if request.picture is not None:
        return request.picture[0]
    assert request.reference is not None
    return _read(request.reference, "The reference picture")


def _judge(reference_bgr: np.ndarray, setup: SessionSetup) -> ShotJudge:
    try:
        return ShotJudge(reference_bgr, setup)
    except SetupError as error:
        raise SessionError(str(error)) from None


def _read(path: Path, what: str) -> bytes:
    """A reference picture's bytes, read only once its header passed and up to the size
    such a picture can take (never a pipe or a device): one sentence otherwise."""
    try:
        return read_image_bytes(path, Path(path).name).tobytes()
    except CorruptFrameError as error:
        raise SessionError(f"{what} {path} cannot be used: {error.reason}") from None


def _check_can_hold(session_dir: Path) -> None:
    """A session folder that could not be made at the first shot is refused now, before a
    camera fires: a file in its place, or no right to write where it would go."""
    # lexists: a link that leads nowhere, or in a loop, is in the way too
    if os.path.lexists(session_dir) and not session_dir.is_dir():
        raise SessionError(f"The session {session_dir} is not a folder.")
    existing = session_dir
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SessionError(f"The session folder {session_dir} cannot be made: {existing} is not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SessionError(f"The session folder {session_dir} cannot be written: {existing} is not writable.")


def _first_picture(folder: Path | None) -> Path | None:
    if folder is None:
        return None
    try:
        pictures = list_images(folder)
    except Exception:  # a missing folder is reported by the caller
        return None
    return pictures[0] if pictures else None


def _free_name(folder: Path, name: str) -> str:
    """``name``, or ``NAME-2.EXT``, … : the first not taken in ``folder`` (as the copy will
    be named when it is saved)."""
    stem, suffix = os.path.splitext(name)
    candidate, counter = name, 2
    while os.path.lexists(folder / candidate):
        candidate, counter = f"{stem}-{counter}{suffix}", counter + 1
    return candidate


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _boxes(features) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in f) for f in features]


def _describe_boxes(features) -> str:
    return "; ".join(",".join(f"{v:g}" for v in f) for f in features)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
