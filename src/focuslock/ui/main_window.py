"""The main window: live view with overlays, the lock state, the panels, the keys.

The window is thin: it lays out the widgets, maps keys and panel signals to the
controllers (focuslock.ui.controllers), which own what the window does, and shows what
they say. It never waits on the camera. A QTimer pulls the newest Analysis from the live
session (no per-frame signals cross threads); commands go to the session and come back as
Futures whose completion is handed to the window's thread by a queued signal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from focuslock.optics.catalog import CatalogError, load_catalog
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.session.recipe import Recipe
from focuslock.ui.controllers import (
    CameraController,
    CaptureController,
    FocusDriveController,
    LiveViewController,
    ProductCodeController,
    RecipeController,
    StackController,
    UiThread,
    ZoomController,
)
from focuslock.ui.controllers.threads import wait_before_closing
from focuslock.ui.focus_map_key import toggle_focus_map
from focuslock.ui.frame_view import FrameView
from focuslock.ui.help_overlay import SHORTCUTS, HelpOverlay
from focuslock.ui.live_display import LiveDisplay
from focuslock.ui.panels import CapturePanel, DofPanel, DrivePanel, PeakingPanel, SettingsPanel, SharpnessPlot, StackPanel, StateBanner
from focuslock.ui.review_panel import CodePanel, RecipePanel, ReviewPanel
from focuslock.ui.settings_store import SettingsStore
from focuslock.ui.window_layout import (
    DOCK_MIN_WIDTH_PX,
    add_docks,
    available_geometry,
    fit_to_screen,
    layout_fits,
    redock,
    saved_geometry,
)

__all__ = ["DOCK_MIN_WIDTH_PX", "MainWindow", "SHORTCUTS"]

logger = logging.getLogger(__name__)

# How long closing the window waits for a capture still downloading.
CLOSE_WAIT_FOR_CAPTURE_S = 120.0
FINE_STEPS = 1
COARSE_STEPS = 10
# Polling the newest analysis is a peek: cheap enough to look every 4 ms, so that no
# frame of a 60 fps source waits out a whole tick and is overtaken by the next.
UI_TICK_MS = 4
# How long the status line says what the body cannot do, once it is known.
REPORT_SHOWN_MS = 30000


class MainWindow(QtWidgets.QMainWindow):
    """Live view and its panels on one ``session``.

    ``shot_log``: a studio session's log of captures (focuslock.workflows.watch.CaptureLog):
    each capture is then named by its pattern, judged against its recipe, given sidecars
    and logged; with {sku} in its names, the window reads product codes. ``recipe``: the
    setup's recipe; the camera is checked against it when it connects (and after each
    reconnect), with every difference listed and settable. ``remember_layout``: False to
    open at the default layout and leave the remembered one as it is (a scripted screenshot).

    The controllers: ``live`` (settings, features, lock, overlay), ``zoom`` (the camera's
    live-view zoom), ``focus_drive``, ``camera`` (its settings and abilities), ``captures``,
    ``stack`` (marks, drive calibration, focus stacks), ``recipes``, ``product_code``.
    """

    def __init__(self, session: LiveSession, settings: PipelineSettings | None = None, *, title: str = "focuslock",
                 capture_folder: Path | None = None, store: SettingsStore | None = None, shot_log=None,
                 recipe: Recipe | None = None, remember_layout: bool = True) -> None:
        super().__init__()
        self.session = session
        self.store = store or SettingsStore()
        # False (a --screenshot run): the remembered layout is neither restored nor saved.
        self.remember_layout = remember_layout
        self.setWindowTitle(title)
        self.closing_note: str | None = None
        # What the source can do for focus and why not (focuslock.devices.body_report), once read.
        self.body_report = None
        self.max_tick_gap_ms = 0.0
        self._last_tick_s: float | None = None

        ui = UiThread(self)
        folder = Path(capture_folder) if capture_folder else Path.cwd() / "captures"
        self.live = LiveViewController(session, settings or session.settings or PipelineSettings(), self.store, self)
        self.zoom = ZoomController(session, self.live, ui, self)
        self.focus_drive = FocusDriveController(session, ui, self)
        self.camera = CameraController(session, ui, self)
        self.captures = CaptureController(session, self.live, ui, folder, shot_log, self)
        self.stack = StackController(session, self.live, self.focus_drive, ui, lambda: self.captures.folder, self)
        self.recipes = RecipeController(session, recipe, ui, live=self.live, camera=self.camera, captures=self.captures,
                                        marks=self.stack.marks, parent=self)
        self.product_code = ProductCodeController(shot_log, ui, self)
        self._build(recipe, shot_log)
        self._connect()
        self.live.restore()
        self._restore_layout()

        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start(UI_TICK_MS)

    def _build(self, recipe: Recipe | None, shot_log) -> None:
        try:
            catalog = load_catalog()
        except CatalogError:
            catalog = None
        self.view = FrameView()
        self.banner = StateBanner()
        centre = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(centre)

        self.plot = SharpnessPlot()
        self.drive_panel = DrivePanel(FINE_STEPS, COARSE_STEPS)
        self.dof_panel = DofPanel(catalog)
        self.settings_panel = SettingsPanel()
        self.capture_panel = CapturePanel()
        self.stack_panel = StackPanel()
        self.peaking_panel = PeakingPanel(self.settings.focus.peaking)
        self.review_panel = ReviewPanel()
        self.code_panel = CodePanel(shot_log.sku) if self.product_code.active else None
        self.recipe_panel = RecipePanel(recipe.name) if recipe is not None else None
        # What a shoot needs in front (drive, capture, marks); the lens, the camera's
        # settings and peaking a tab away: the column fits 1366×768 without scrolling.
        self.dock, self.review_dock = add_docks(self, self.plot, [
            ("Shoot", [self.recipe_panel, self.code_panel, self.drive_panel, self.capture_panel, self.stack_panel]),
            ("Lens", [self.dof_panel]),
            ("Camera", [self.settings_panel, self.peaking_panel]),
        ], self.review_panel)
        tabs = self.dock.findChild(QtWidgets.QTabWidget, "side-tabs")
        assert tabs is not None  # made by add_docks
        self.side_tabs: QtWidgets.QTabWidget = tabs
        tab = self.store.get("side_tab")
        if isinstance(tab, int) and 0 <= tab < self.side_tabs.count():
            self.side_tabs.setCurrentIndex(tab)  # the tab in front when the window was last closed
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Save setup as recipe…").triggered.connect(self._save_recipe_dialog)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction("Reset layout").triggered.connect(self.reset_layout)
        view_menu.addAction(self.dock.toggleViewAction())
        view_menu.addAction(self.review_dock.toggleViewAction())

        self.status_label = QtWidgets.QLabel("starting…")
        self.rate_label = QtWidgets.QLabel("")
        # The engineer's figures (CoC, σ, px; the whole HUD) on demand, remembered.
        self.details_box = QtWidgets.QCheckBox("Details (I)")
        self.details_box.setToolTip("Show the engineer's figures: blur in px and CoC, σ, the whole HUD")
        self.details_box.setChecked(bool(self.store.get("hud_details", False)))
        self.details_box.toggled.connect(self._details_toggled)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.details_box)
        self.statusBar().addPermanentWidget(self.rate_label)
        details_action = view_menu.addAction("Details: CoC, σ, px  (I)")
        details_action.setCheckable(True)
        details_action.setChecked(self.details_box.isChecked())
        details_action.toggled.connect(self.details_box.setChecked)
        self.details_box.toggled.connect(details_action.setChecked)
        self.help = HelpOverlay(self.view)
        self.display = LiveDisplay(self.session, self.view, self.banner, self.plot, self.dof_panel, self.rate_label,
                                   self.status_label, step_um=self.focus_drive.step_um, beep_on_soft=lambda: self.live.beep_on_soft,
                                   details=self.details_box.isChecked)

    def _connect(self) -> None:
        """The panels' signals to the controllers, the controllers' to the panels."""
        live, drive, stack = self.live, self.focus_drive, self.stack
        self.view.featureChosen.connect(live.choose_feature)
        self.view.featureAdded.connect(live.add_feature)
        self.view.pointerMoved.connect(live.pointer_moved)
        live.message.connect(self.status_label.setText)
        live.historyCleared.connect(self.plot.clear_history)
        self.zoom.notice.connect(self.statusBar().showMessage)

        self.drive_panel.drive.connect(drive.drive)
        drive.moved.connect(self.drive_panel.show_position)
        drive.unavailable.connect(lambda reason: self.drive_panel.set_available(False, reason))
        drive.doubtful.connect(self.drive_panel.set_doubt)
        drive.available.connect(lambda: self.drive_panel.set_available(True))
        self.drive_panel.zoom.connect(self.zoom.step)
        drive.failed.connect(lambda text: self.statusBar().showMessage(text, 8000))

        self.dof_panel.opticsChanged.connect(live.set_optics)
        self.peaking_panel.peakingChanged.connect(live.set_peaking)
        self.settings_panel.settingChanged.connect(self.camera.set_setting)
        self.camera.settingsArrived.connect(self.settings_panel.show_settings)
        self.camera.failed.connect(self.status_label.setText)
        self.camera.capabilitiesArrived.connect(self.zoom.use_capabilities)
        # What the body can do for focus and why not: on the buttons and in the status line.
        self.camera.reportArrived.connect(drive.use_report)
        self.camera.reportArrived.connect(self.captures.use_report)
        self.camera.reportArrived.connect(self.zoom.use_report)
        self.camera.reportArrived.connect(self._show_report)

        self.capture_panel.capture.connect(self.captures.capture)
        self.captures.started.connect(self.capture_panel.busy)
        self.captures.finished.connect(self.capture_panel.done)
        self.captures.available.connect(self.capture_panel.set_available)
        self.captures.reviewReady.connect(self._show_review)
        self.captures.finished.connect(lambda *_: self.camera.read_report())

        self.stack_panel.setMark.connect(stack.set_mark)
        self.stack_panel.goToMark.connect(stack.go_to_mark)
        self.stack_panel.shoot.connect(stack.shoot_stack)
        self.stack_panel.calibrate.connect(stack.calibrate_drive)
        self.stack_panel.pauseToggled.connect(stack.set_paused)
        self.stack_panel.stop.connect(stack.stop)
        self.stack_panel.checkStepsToggled.connect(stack.set_check_steps)
        self.stack_panel.spin.connect(stack.spin_turntable)
        stack.said.connect(self.stack_panel.say)
        stack.markSet.connect(self.stack_panel.mark_set)
        stack.runningChanged.connect(self.stack_panel.set_running)

        self.camera.connected.connect(self.recipes.check)
        if self.recipe_panel is not None:
            self.recipe_panel.apply.connect(self.recipes.apply_settings)
            self.recipes.differencesFound.connect(self.recipe_panel.show_differences)
            self.recipes.said.connect(self.recipe_panel.say)
        if self.code_panel is not None:
            self.code_panel.codeConfirmed.connect(self.product_code.use)
            self.product_code.offered.connect(self.code_panel.offer_code)
        self.product_code.said.connect(self.status_label.setText)

    # ------------------------------------------ what the demo and scripts call
    @property
    def settings(self) -> PipelineSettings:
        """The session's settings as the window set them last."""
        return self.live.settings

    def choose_feature(self, x: int, y: int, w: int, h: int) -> None:
        self.live.choose_feature(x, y, w, h)

    def toggle_lock(self) -> None:
        self.live.toggle_lock()

    def lock_when_found(self) -> None:
        self.live.lock_when_found()

    def lock_after(self, seconds: float) -> None:
        self.live.lock_after(seconds)

    def drive_focus(self, steps: int) -> None:
        self.focus_drive.drive(steps)

    def apply_overlay_choices(self, choices: dict) -> str | None:
        return self.live.apply_overlay_choices(choices)

    def toggle_details(self) -> None:
        """I: the engineer's figures (the whole HUD; CoC, σ and px in the banner) or the
        photographer's three lines."""
        self.details_box.toggle()

    def _details_toggled(self, on: bool) -> None:
        self.store.set("hud_details", on)
        self.display.redraw_text()
        self.status_label.setText("details on: CoC, σ and px shown" if on else "details off: plain words (I shows the figures)")

    # -------------------------------------------------------------- keyboard
    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key, text, live = event.key(), event.text(), self.live
        drive_steps = {"[": -FINE_STEPS, "]": FINE_STEPS, "{": -COARSE_STEPS, "}": COARSE_STEPS}
        keys: dict[int, Callable[[], object]] = {
                QtCore.Qt.Key.Key_Space: self.captures.capture,
                QtCore.Qt.Key.Key_P: live.toggle_peaking, QtCore.Qt.Key.Key_G: live.toggle_grid,
                QtCore.Qt.Key.Key_Z: live.toggle_zebras,
                QtCore.Qt.Key.Key_H: live.next_histogram, QtCore.Qt.Key.Key_V: self.zoom.step,
                QtCore.Qt.Key.Key_C: live.clear_added_features, QtCore.Qt.Key.Key_R: live.take_reference,
                QtCore.Qt.Key.Key_B: live.next_ghost_mode, QtCore.Qt.Key.Key_S: live.toggle_beep_on_soft,
                QtCore.Qt.Key.Key_I: self.toggle_details,
                QtCore.Qt.Key.Key_D: lambda: self.status_label.setText(toggle_focus_map(self.peaking_panel)),
                QtCore.Qt.Key.Key_M: lambda: live.next_loupe(bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))}
        if key == QtCore.Qt.Key.Key_L:
            live.toggle_lock()
        elif text in drive_steps:
            self.focus_drive.drive(drive_steps[text])
        elif key in keys:
            keys[key]()
        elif key == QtCore.Qt.Key.Key_F1 or text == "?":
            self.help.toggle()
        elif key == QtCore.Qt.Key.Key_Escape and self.help.isVisible():
            self.help.hide()
        else:
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ timer
    def tick(self) -> None:
        """Show the newest analysis (if new) and the session's status; never blocks."""
        now = time.monotonic()
        if self._last_tick_s is not None:
            self.max_tick_gap_ms = max(self.max_tick_gap_ms, (now - self._last_tick_s) * 1000.0)
        self._last_tick_s = now
        analysis, new = self.live.newest()
        self.display.show(analysis, new, now)
        self.live.follow_display_size(self.view.display_size_px())
        self.product_code.look(self.live.last_analysis, now)
        self.camera.poll()

    def _show_report(self, report) -> None:
        """The body report (focuslock.devices.body_report): the zoom button, and every
        ability that does not work, with its reason, in the status line."""
        from focuslock.devices.body_report import Ability, Answer

        self.body_report = report
        zoom = report.of(Ability.LIVE_VIEW_ZOOM)
        self.drive_panel.set_zoom_available(zoom.answer is not Answer.DOES_NOT_WORK, zoom.reason)
        missing = [a.sentence() for a in report.abilities if a.answer is Answer.DOES_NOT_WORK]
        if missing:
            self.statusBar().showMessage("  ·  ".join(missing), REPORT_SHOWN_MS)

    def _show_review(self, review) -> None:
        self.review_panel.show_review(review)
        self.review_dock.show()
        self.review_dock.raise_()

    def _save_recipe_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the setup as a recipe", str(self.captures.folder / "setup.toml"),
                                                        "Recipes (*.toml)")
        if path:
            self.status_label.setText(self.recipes.save_to(Path(path)))

    # ----------------------------------------------------------------- layout
    def _restore_layout(self) -> None:
        """The remembered layout where it fits this screen and is not much smaller than
        it (remembered on a smaller screen); otherwise a layout fitted to the screen."""
        geometry = self.store.get("geometry")
        state = self.store.get("window_state")
        if self.remember_layout and isinstance(geometry, str) and isinstance(state, str):
            saved = QtCore.QByteArray.fromBase64(geometry.encode())
            remembered = saved_geometry(saved)
            if remembered is not None and layout_fits(remembered[0], available_geometry(self)):
                self.restoreGeometry(saved)
                if QtGui.QGuiApplication.platformName() == "offscreen":
                    # Offscreen, Qt fits the window to its 800×800 stand-in screen; the
                    # window's own stand-in is the default size (available_geometry).
                    self.setGeometry(remembered[1])
                self.restoreState(QtCore.QByteArray.fromBase64(state.encode()))
                return
        fit_to_screen(self, self.dock)

    def reset_layout(self) -> None:
        """View ▸ Reset layout: the default size for this screen, the panels docked on
        the right at their default width, the remembered layout forgotten."""
        self.store.set("geometry", None)
        self.store.set("window_state", None)
        redock(self, self.dock, self.review_dock)
        fit_to_screen(self, self.dock)

    # ---------------------------------------------------------------- closing
    def _wait_before_closing(self, future: Future | None, what: str) -> None:
        """Wait for a capture or a stack still running (see wait_before_closing); what
        happened stays in ``closing_note``."""
        note = wait_before_closing(future, what, CLOSE_WAIT_FOR_CAPTURE_S, self._say_while_closing)
        if note is not None:
            self.closing_note = note
            logger.warning("%s", note)

    def _say_while_closing(self, text: str) -> None:
        self.capture_panel.result.setText(text)
        self.statusBar().showMessage(text)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        # A stack stops after the frame being captured; that frame is downloaded.
        self._wait_before_closing(self.stack.stop_for_closing(), "the focus stack")
        self._wait_before_closing(self.captures.in_flight, "the capture")
        self.timer.stop()
        self.product_code.close()
        if self.remember_layout:
            self.store.set("geometry", bytes(self.saveGeometry().toBase64().data()).decode())
            self.store.set("window_state", bytes(self.saveState().toBase64().data()).decode())
            self.store.set("side_tab", self.side_tabs.currentIndex())
        self.live.remember()
        try:
            self.store.save()
        except OSError:
            pass  # settings are a convenience; never block closing
        super().closeEvent(event)
