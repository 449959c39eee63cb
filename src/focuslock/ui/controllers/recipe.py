"""A studio's recipe from the window: the camera checked against it and set from it, and
the setup saved as a recipe."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from PySide6 import QtCore

from focuslock.devices.base import CameraError, CorruptFrameError
from focuslock.io.limits import read_image_file
from focuslock.overlay.settings import overlay_choices
from focuslock.runtime.live import LiveSession
from focuslock.session.recipe import Recipe, RecipeError, apply_settings, diff_settings, save_recipe
from focuslock.ui.controllers.camera import CameraController
from focuslock.ui.controllers.capture import CaptureController
from focuslock.ui.controllers.live_view import LiveViewController
from focuslock.ui.controllers.threads import UiThread

__all__ = ["RecipeController"]


class RecipeController(QtCore.QObject):
    """Checks the camera against ``recipe`` (the setup's, or None) when it connects and
    after each reconnect, sets it as the recipe says, and saves the window's setup as a
    new recipe (:meth:`save_to`)."""

    # The camera's settings that differ from the recipe (focuslock.session.recipe
    # differences), and what could not be set (a list of sentences, or None).
    differencesFound = QtCore.Signal(object, object)
    # What is happening or what went wrong, in one sentence.
    said = QtCore.Signal(str)

    def __init__(self, session: LiveSession, recipe: Recipe | None, ui: UiThread, *, live: LiveViewController,
                 camera: CameraController, captures: CaptureController, marks: dict,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.recipe = recipe
        self.ui = ui
        self.live = live
        self.camera = camera
        self.captures = captures
        self.marks = marks

    def check(self) -> None:
        """List every camera setting that differs from the recipe (on the camera's thread)."""
        if self.recipe is None:
            return
        recipe = self.recipe
        self.ui.when_done(self.session.submit(lambda camera: diff_settings(recipe, camera), label="checking the recipe"),
                          self._checked)

    def apply_settings(self) -> None:
        """Set the camera as the recipe says; then check again and read its settings."""
        if self.recipe is None:
            return
        recipe = self.recipe
        self.said.emit("setting the camera as the recipe says…")
        self.ui.when_done(self.session.submit(lambda camera: (apply_settings(recipe, camera), diff_settings(recipe, camera)),
                                              label="applying the recipe"), self._applied)

    def _checked(self, future: Future) -> None:
        try:
            self.differencesFound.emit(list(future.result()), None)
        except (RecipeError, CameraError) as error:
            self.said.emit(str(error))

    def _applied(self, future: Future) -> None:
        try:
            (_, problems), remaining = future.result()
        except (RecipeError, CameraError) as error:
            self.said.emit(str(error))
            return
        self.differencesFound.emit(list(remaining), problems)
        self.camera.refresh()

    def save_to(self, path: Path) -> str:
        """Save this setup as a recipe at ``path`` (.toml, its reference PNG beside it): the
        last checked capture as the reference (full resolution, as the session's shots
        will be), the locked box in its pixels with the CoC there, the camera's settings,
        the lens's optics, the marks and the overlay choices. Returns what to tell the user."""
        capture = self.captures.last_capture
        if capture is None:
            return "Lock the feature and take a capture first: a recipe's reference is a full-resolution shot."
        check = next(c for c in capture.checks if c.box_px is not None)
        assert capture.coc_px_in_file is not None  # a check with a box gave the CoC in the file's pixels
        settings = self.live.settings
        optics = {"coc_px": round(capture.coc_px_in_file, 4)}
        for name in ("sensor_width_mm", "focal_length_mm", "magnification", "pupil_ratio"):
            value = getattr(settings.optics, name)
            if value is not None:
                optics[name] = value
        camera_settings = {name: s.value for name, s in sorted(self.camera.settings.items()) if not s.read_only}
        camera = self.session.camera
        recipe = Recipe(Path(path).stem, Path(path).with_suffix(".png").name, (tuple(round(v, 1) for v in check.box_px),),
                        camera.name if camera is not None else None, camera_settings, None, optics, tuple(sorted(self.marks)),
                        overlay_choices(settings.overlay))
        try:
            picture = read_image_file(check.path, check.path.name)
            png = save_recipe(Path(path), recipe, picture)
        except (RecipeError, CorruptFrameError, OSError, ValueError) as error:
            return f"The recipe was not saved: {getattr(error, 'user_message', None) or error}"
        return f"Recipe saved: {path} (reference {png.name}, {len(camera_settings)} camera settings)."
