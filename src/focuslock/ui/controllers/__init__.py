"""The window's controllers: what the window does, apart from the widgets that show it.

Each is a plain Qt object (``QObject`` for its signals) that owns one job's logic and
state: the live view's settings and features (:class:`LiveViewController`), the
camera's live-view zoom (:class:`ZoomController`), the focus drive
(:class:`FocusDriveController`), the camera's settings and abilities
(:class:`CameraController`), captures and their focus check (:class:`CaptureController`),
marks and focus stacks (:class:`StackController`), a studio's recipe
(:class:`RecipeController`) and product codes read off live view
(:class:`ProductCodeController`). They talk to the live session, never wait on it (its
commands come back as Futures, handed to the window's thread by :class:`UiThread`), and
say what happened through signals the window connects to its panels. Tests drive them
through these public methods and signals.
"""

from __future__ import annotations

from focuslock.ui.controllers.camera import CameraController
from focuslock.ui.controllers.capture import CaptureController, CaptureOutcome
from focuslock.ui.controllers.focus_drive import FocusDriveController
from focuslock.ui.controllers.live_view import LiveViewController
from focuslock.ui.controllers.product_code import ProductCodeController
from focuslock.ui.controllers.recipe import RecipeController
from focuslock.ui.controllers.stack import StackController
from focuslock.ui.controllers.threads import UiThread
from focuslock.ui.controllers.zoom import ZoomController

__all__ = ["CameraController", "CaptureController", "CaptureOutcome", "FocusDriveController", "LiveViewController",
           "ProductCodeController", "RecipeController", "StackController", "UiThread", "ZoomController"]
