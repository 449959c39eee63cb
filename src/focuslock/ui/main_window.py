"""The main window: live view with overlays, the lock state, focus drive, plots, panels.

The window never waits on the camera. A QTimer pulls the newest Analysis from the live
session (no per-frame signals cross threads); commands go to the session and come back
as Futures whose completion is handed to the UI thread by a queued signal.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import cv2
from PySide6 import QtCore, QtGui, QtWidgets

from focuslock.devices.base import CameraError, CorruptFrameError, NotSupportedError
from focuslock.io.limits import read_image_file
from focuslock.core.frames import Analysis
from focuslock.runtime.headless import hud_lines, stale_picture
from focuslock.runtime.live import LiveSession
from focuslock.optics.catalog import CatalogError, load_catalog
from focuslock.overlay.render import GHOST_MODES, overlay_choices, with_overlay_choices
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.session.checks import check_captured_files
from focuslock.session.naming import read_product_code
from focuslock.session.recipe import Recipe, RecipeError, apply_settings, diff_settings, save_recipe, settings_of
from focuslock.session.review import ShotReview, review_shot
from focuslock.ui.focus_map_key import toggle_focus_map
from focuslock.ui.frame_view import UNSCALED_SLACK_PX, FrameView
from focuslock.ui.panels import (CapturePanel, DofPanel, DrivePanel, PeakingPanel, SettingsPanel, SharpnessPlot, StackPanel,
                                 StateBanner)
from focuslock.ui.review_panel import CodePanel, RecipePanel, ReviewPanel
from focuslock.ui.settings_store import SettingsStore

__all__ = ["MainWindow", "SHORTCUTS"]

# The window's default size (shrunk to fit smaller screens) and the panels' column.
DEFAULT_SIZE_PX = (1500, 900)
DOCK_DEFAULT_WIDTH_PX = 340
DOCK_MIN_WIDTH_PX = 260
# How long closing the window waits for a capture still downloading.
CLOSE_WAIT_FOR_CAPTURE_S = 120.0

SHORTCUTS = (
    ("drag", "choose the feature that must be sharp"),
    ("Ctrl+drag", "add a feature (up to four, locked together, each with its state)"),
    ("C", "clear the added features (keep the first)"),
    ("L", "lock on the feature / unlock"),
    ("[  ]", "drive focus one fine step near / far"),
    ("{  }", "drive focus one coarse step near / far"),
    ("Space", "capture (downloaded and checked)"),
    ("P", "peaking on / off"),
    ("D", "focus map: green within the depth of field, amber at its edge, red beyond (rack focus through once)"),
    ("G", "grid and centre mark"),
    ("Z", "zebras on clipped highlights"),
    ("H", "histogram: off, luma, RGB"),
    ("M", "loupe: off, 2×, 4×, 8×  (Shift+M: under the pointer)"),
    ("V", "the camera's live-view zoom on the box: 1×, 5×, 10× (the CoC grows with it; lock again)"),
    ("R", "take the current frame as the reference"),
    ("B", "reference ghost: off, blend, difference, split, blink"),
    ("S", "sound on SOFT"),
    ("F1 or ?", "this help"),
)

FINE_STEPS = 1
COARSE_STEPS = 10
# Polling the newest analysis is a peek: cheap enough to look every 4 ms, so that no
# frame of a 60 fps source waits out a whole tick and is overtaken by the next.
UI_TICK_MS = 4
PLOT_EVERY_S = 0.1
# How often live view is searched for a product code (in a session named by {sku}).
CODE_READ_EVERY_S = 0.4


class _Bridge(QtCore.QObject):
    """Carries a finished Future's callback into the UI thread."""

    done = QtCore.Signal(object)


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, session: LiveSession, settings: PipelineSettings | None = None, *, title: str = "focuslock",
                 capture_folder: Path | None = None, store: SettingsStore | None = None, shot_log=None,
                 recipe: Recipe | None = None) -> None:
        """``shot_log``: a studio session's log of captures (focuslock.workflows.watch.CaptureLog):
        each capture is then named by its pattern, judged against its recipe, given
        sidecars and logged; with {sku} in its names, the window reads product codes.
        ``recipe``: the setup's recipe; the camera is checked against it when it connects
        (and after each reconnect), with every difference listed and settable."""
        super().__init__()
        self.session = session
        self.shot_log = shot_log
        self.recipe = recipe
        self._reconnects_seen = 0
        # Product codes are read off live view a few times a second, one read at a time,
        # on a worker thread (a QR search costs tens of ms: never on the window's thread).
        self._code_reader = ThreadPoolExecutor(1, thread_name_prefix="focuslock-code") \
            if shot_log is not None and shot_log.wants_code else None
        self._code_read_in_flight = False
        self._last_code_read_s = 0.0
        self.settings = settings or session.settings or PipelineSettings()
        self.capture_folder = Path(capture_folder) if capture_folder else Path.cwd() / "captures"
        self.store = store or SettingsStore()
        self.setWindowTitle(title)
        self._bridge = _Bridge()
        self._bridge.done.connect(lambda callback: callback())
        self._last_sequence: int | None = None
        self._last_analysis: Analysis | None = None
        self._stale_shown: tuple | None = None
        self._last_plot_s = 0.0
        self._last_event = 0
        # Only a JSON true turns it on: bool("false") of a hand-edited file is True.
        self._beep_on_soft = self.store.get("beep_on_soft", False) is True
        self._previous_state: str | None = None
        self._drive_total = 0
        # The drive's calibration (µm a step), read once and again after calibrating; None
        # when there is none (the HUD then takes the step from the rack's blur slope).
        self._drive_step_um: float | None | bool = False
        # Focus-drive presses coalesce: one move in flight, at most one waiting (the
        # latest press), so a held key never queues moves that run on after its release.
        self._drive_in_flight: Future | None = None
        self._drive_waiting: int | None = None
        self._capture_in_flight: Future | None = None
        # The last capture the lock checked (its file, box and CoC): a recipe's reference.
        self.last_capture: _CaptureOutcome | None = None
        self._camera_settings: dict = {}
        # Marks A and B (focuslock.workflows.marks.Mark) and the stack between them.
        self.marks: dict = {}
        self.stack_job: Future | None = None
        # The camera's live-view zooms and the window now shown (focuslock.devices.zoom).
        self.live_view_zooms: tuple[float, ...] = ()
        self.zoom_window = None
        self._unzoomed_box: tuple[int, int, int, int] | None = None
        self._stack_pause = threading.Event()
        self._stack_stop = threading.Event()
        self.closing_note: str | None = None
        self._settings_requested = False
        self._loupe_under_pointer = False
        self.max_tick_gap_ms = 0.0
        self._last_tick_s: float | None = None
        self.started_s = time.monotonic()
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
        self.code_panel = CodePanel(shot_log.sku) if self._code_reader is not None else None
        self.recipe_panel = RecipePanel(recipe.name) if recipe is not None else None
        side = QtWidgets.QWidget()
        side_layout = QtWidgets.QVBoxLayout(side)
        for widget in (self.plot, self.drive_panel, self.recipe_panel, self.code_panel, self.capture_panel, self.stack_panel,
                       self.dof_panel, self.settings_panel, self.peaking_panel):
            if widget is not None:
                side_layout.addWidget(widget)
        side_layout.addStretch(1)
        # The column scrolls up and down, never sideways: long choices (lens names) are
        # cut in their boxes, not the panels in the dock.
        for combo in side.findChildren(QtWidgets.QComboBox):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.dock = QtWidgets.QDockWidget("Focus", self)
        self.dock.setObjectName("focus-dock")
        self.dock.setWidget(scroll)
        # Never squeezed to a sliver by a remembered layout: the panels stay readable.
        self.dock.setMinimumWidth(DOCK_MIN_WIDTH_PX)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, self.dock)
        # The last shot at 100 %: a tab beside the panels, brought to the front by each
        # capture (the focus panels are one click away; the keys work either way).
        review_scroll = QtWidgets.QScrollArea()
        review_scroll.setWidget(self.review_panel)
        review_scroll.setWidgetResizable(True)
        self.review_dock = QtWidgets.QDockWidget("Last shot", self)
        self.review_dock.setObjectName("review-dock")
        self.review_dock.setWidget(review_scroll)
        self.review_dock.setMinimumWidth(DOCK_MIN_WIDTH_PX)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, self.review_dock)
        self.tabifyDockWidget(self.dock, self.review_dock)
        self.dock.raise_()
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Save setup as recipe…").triggered.connect(self._save_recipe_dialog)
        view_menu = self.menuBar().addMenu("&View")
        reset = view_menu.addAction("Reset layout")
        reset.triggered.connect(self.reset_layout)
        view_menu.addAction(self.dock.toggleViewAction())
        view_menu.addAction(self.review_dock.toggleViewAction())

        self.status_label = QtWidgets.QLabel("starting…")
        self.rate_label = QtWidgets.QLabel("")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.rate_label)

        self.help = QtWidgets.QLabel(self._help_text(), self.view)
        self.help.setStyleSheet("QLabel { background: rgba(0,0,0,210); color: white; font-size: 15px; padding: 18px; }")
        self.help.setTextFormat(QtCore.Qt.RichText)
        self.help.hide()

        self.view.featureChosen.connect(self.choose_feature)
        self.view.featureAdded.connect(self.add_feature)
        self.view.pointerMoved.connect(self._pointer_moved)
        self.drive_panel.drive.connect(self.drive_focus)
        self.dof_panel.opticsChanged.connect(self._optics_changed)
        self.settings_panel.settingChanged.connect(self._setting_changed)
        self.capture_panel.capture.connect(self.capture)
        if self.code_panel is not None:
            self.code_panel.codeConfirmed.connect(self.use_product_code)
        if self.recipe_panel is not None:
            self.recipe_panel.apply.connect(self.apply_recipe_settings)
        self.stack_panel.setMark.connect(self.set_mark)
        self.stack_panel.goToMark.connect(self.go_to_mark)
        self.stack_panel.shoot.connect(self.shoot_stack)
        self.stack_panel.calibrate.connect(self.calibrate_drive)
        self.stack_panel.pauseToggled.connect(lambda paused: self._stack_pause.set() if paused else self._stack_pause.clear())
        self.stack_panel.stop.connect(self._stack_stop.set)
        self.peaking_panel.peakingChanged.connect(self._peaking_changed)
        self._restore()

        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start(UI_TICK_MS)

    # ----------------------------------------------------------- user actions
    def choose_feature(self, x: int, y: int, w: int, h: int) -> None:
        """Follow the feature in this box (a new choice drops any lock)."""
        self._apply(replace(self.settings, focus=self.settings.focus.follow((x, y, w, h))))
        self.plot.clear_history()

    def add_feature(self, x: int, y: int, w: int, h: int) -> None:
        """Also follow the feature in this box (locked at once when the others are);
        rack focus through them all to place them in depth."""
        try:
            focus = self.settings.focus.add_feature((x, y, w, h))
        except ValueError as error:
            self.status_label.setText(str(error))
            return
        self._apply(replace(self.settings, focus=focus))
        self.status_label.setText(f"{len(focus.more_roi_px) + 1} features followed; rack focus through them to place "
                                  "them in depth.")

    def clear_added_features(self) -> None:
        self._apply(replace(self.settings, focus=self.settings.focus.without_more_features()))

    def toggle_lock(self) -> None:
        focus = self.settings.focus
        if focus.roi_px is None:
            self.status_label.setText("Drag a box around the detail that must be sharp, then press L.")
            return
        self._apply(replace(self.settings, focus=focus.with_lock(not focus.locked)))
        if focus.locked:
            self.plot.clear_history()

    def lock_when_found(self) -> None:
        """Lock on the followed feature in the first frame where it is measured."""
        focus = self._last_analysis.results.get("focus") if self._last_analysis is not None else None
        if focus is not None and focus.reading is not None and self.settings.focus.roi_px is not None:
            if not self.settings.focus.locked:
                self.toggle_lock()
            return
        QtCore.QTimer.singleShot(50, self.lock_when_found)

    def lock_after(self, seconds: float) -> None:
        """Lock on the followed feature in a moment (once frames of it have arrived)."""
        QtCore.QTimer.singleShot(int(seconds * 1000), self.toggle_lock)

    def drive_focus(self, steps: int) -> None:
        # In flight until _drive_done has run on this thread, not merely until the future
        # is done on the worker: a press in between would start a second chain of moves.
        if self._drive_in_flight is not None:
            self._drive_waiting = int(steps)  # replaces an earlier waiting press, never adds up
            return
        self._drive_in_flight = self.session.drive_focus(steps)
        self._when_done(self._drive_in_flight, lambda f: self._drive_done(f))

    def capture(self) -> None:
        self.capture_panel.busy()
        status = self._last_analysis.results.get("focus") if self._last_analysis else None
        frame_size = (self._last_analysis.frame.width_px, self._last_analysis.frame.height_px) if self._last_analysis else None
        lock = status.lock if status is not None else None
        roi = status.roi_px if status is not None else None
        folder = self.capture_folder
        shot_log = self.shot_log
        sku = shot_log.sku if shot_log is not None else None

        def command(camera):
            paths = camera.capture(folder)
            # The focus check runs here, on the acquisition thread: live view pauses for
            # a capture on a real body anyway, and the window's thread stays free.
            if shot_log is not None:
                # A studio session: named, judged against the recipe, logged (as `capture
                # --session` and the hot folder do), and laid out for review.
                shot = shot_log(paths, camera.name, sku=sku, camera_settings=settings_of(camera))
                return _CaptureOutcome(paths, [], shot, shot_log.review(shot))
            checks = []
            coc_px_in_file = None
            if lock is not None and lock.reference is not None and roi is not None and frame_size is not None:
                checks = check_captured_files(paths, frame_size, roi, lock.reference)
                judged = next((c for c in checks if c.box_px is not None), None)
                if judged is not None:  # the CoC in the file's pixels: for a recipe made from it
                    coc_px_in_file = lock.reference.coc_px * judged.box_px[2] / roi[2]
            return _CaptureOutcome(paths, checks, None, _review_of_checks(paths, checks), coc_px_in_file)

        self._capture_in_flight = self.session.submit(command, label="capture")
        self._when_done(self._capture_in_flight, self._capture_done)

    # ----------------------------------------------------- marks and the stack
    def _box_now(self) -> tuple[int, int, int, int] | None:
        """The feature's box now (where the tracker has it), in the present view's pixels;
        the box as chosen while no frame of the present zoom has been analysed yet."""
        chosen = self.settings.focus.roi_px
        if chosen is None:
            return None
        analysis = self._last_analysis
        status = analysis.results.get("focus") if analysis is not None else None
        zoom = self.zoom_window.zoom if self.zoom_window is not None else 1.0
        if status is None or status.roi_px is None or float(analysis.frame.metadata.get("live_view_zoom") or 1.0) != zoom:
            return tuple(int(v) for v in chosen)
        return tuple(int(round(v)) for v in status.roi_px)

    def _stack_job(self, command, label: str, done: Callable[[object], None]) -> None:
        """Run ``command`` on the camera's thread (live view waits, as for a capture); the
        panel is busy until ``done`` has taken its result, and says what went wrong."""
        from focuslock.workflows.calibrate import CalibrationError
        from focuslock.workflows.stack_shoot import StackShootError

        self.stack_panel.set_running(True)
        self.stack_job = self.session.submit(command, label=label)

        def finished(future: Future) -> None:
            try:
                done(future.result())
            except (CalibrationError, StackShootError) as error:
                self.stack_panel.say(str(error))
            except Exception as error:  # noqa: BLE001 - a camera failure: one sentence, the panel usable again
                self.stack_panel.say(error.user_message if isinstance(error, CameraError) else f"{label} failed: {error}.")
            finally:
                # After ``done``: a mark it added enables its Go and Shoot buttons.
                self.stack_panel.set_running(False)

        self._when_done(self.stack_job, finished)

    def set_mark(self, name: str) -> None:
        """Mark the boxed feature, sharp now, at the drive's present count."""
        from focuslock.workflows.marks import take_mark

        roi = self._box_now()
        if roi is None:
            self.stack_panel.say(f"Drag a box around the detail to mark, focus on it, then Set {name}.")
            return
        position, settings = self._drive_total, self.settings
        self.stack_panel.say(f"setting mark {name}…")

        def done(mark) -> None:
            self.marks[name] = mark
            self.stack_panel.mark_set(name, f"drive step {mark.position_steps:+d}")
            if len(self.marks) == 2:
                self.stack_panel.say(self.stack_panel.status.text() + "\n" + self._marks_apart())

        self._stack_job(lambda camera: take_mark(camera, name, roi, position, settings), f"setting mark {name}", done)

    def calibrate_drive(self) -> None:
        """Measure the focus drive on the boxed feature (sharp now) and keep the record in
        the user's calibration file, as `focuslock calibrate focus-steps` does."""
        from focuslock.workflows.calibrate import calibrate_focus_steps, save_record, user_calibration_path

        roi = self._box_now()
        if roi is None:
            self.stack_panel.say("Drag a box around a detailed feature, focus on it, then Calibrate drive.")
            return
        settings, start = self.settings, self._drive_total
        path = user_calibration_path()
        self.stack_panel.say("calibrating: sweeping the drive through the feature, up and down…")

        def command(camera):
            result = calibrate_focus_steps(camera, roi, settings=settings)
            save_record(path, result.record(camera.name, ""))
            return result

        def done(result) -> None:
            # The sweep leaves the lens at the feature's best focus, approached from below.
            self._drive_total = start + int(round(result.best_position_steps))
            self._drive_step_um = result.step_um
            self.drive_panel.position.setText(f"driven {self._drive_total:+d} steps")
            self.stack_panel.say(f"one drive step moves focus {result.step_um:.1f} µm; backlash {result.backlash_steps:.1f} "
                                 f"steps — saved to {path.name}")

        self._stack_job(command, "calibrating the drive", done)

    def _calibrated_step_um(self) -> float | None:
        if self._drive_step_um is False:
            from focuslock.workflows.calibrate import user_calibration_path
            from focuslock.optics.dof import OpticsError
            from focuslock.optics.stack import load_drive_calibration

            try:
                self._drive_step_um = load_drive_calibration(user_calibration_path()).step_um
            except OpticsError:
                self._drive_step_um = None
        return self._drive_step_um

    def _marks_apart(self) -> str:
        """How far apart the marks lie, in mm at the subject (drive steps × the drive
        calibration), and which aperture's depth of field covers both."""
        from focuslock.workflows.calibrate import user_calibration_path
        from focuslock.optics.dof import OpticsError, describe_coverage, describe_depth
        from focuslock.optics.stack import load_drive_calibration

        steps = abs(self.marks["B"].position_steps - self.marks["A"].position_steps)
        optics = self._last_analysis.results.get("optics") if self._last_analysis is not None else None
        try:
            step_um = load_drive_calibration(user_calibration_path(), camera=self.marks["A"].camera or None).step_um
        except OpticsError:
            return f"A and B lie {steps} drive steps apart; calibrate the drive (focuslock calibrate focus-steps) for mm."
        depth_mm = steps * step_um / 1000.0
        text = f"A and B lie {describe_depth(depth_mm)} apart ({steps} steps at {step_um:g} µm)"
        if optics is None:
            return text + "."
        return f"{text}: {describe_coverage(depth_mm, optics)}."

    def go_to_mark(self, name: str) -> None:
        from focuslock.workflows.marks import go_to_mark

        mark = self.marks.get(name)
        if mark is None:
            return
        position, settings = self._drive_total, self.settings
        self.stack_panel.say(f"going to mark {name}: driving there and finding best focus…")

        def done(result) -> None:
            self._drive_total = result.position_steps
            self.drive_panel.position.setText(f"driven {self._drive_total:+d} steps")
            self.stack_panel.say(f"at mark {name}: best focus {result.moved_from_mark_steps:+.1f} steps from where it was set")

        self._stack_job(lambda camera: go_to_mark(camera, mark, position, settings=settings), f"going to mark {name}", done)

    def shoot_stack(self) -> None:
        """A focus stack from mark A to mark B (nearer first) into the capture folder,
        then its coverage check."""
        from focuslock.workflows.calibrate import user_calibration_path
        from focuslock.workflows.marks import DriveCounter
        from focuslock.optics.dof import OpticsError
        from focuslock.optics.stack import load_drive_calibration
        from focuslock.io.outputs import OutputError, claim_run_folder
        from focuslock.workflows.stack_check import StackCheckError, report_lines
        from focuslock.workflows.stack_shoot import StackShootError, check_shot, shoot_between_marks

        if set(self.marks) != {"A", "B"}:
            return
        first, second = self.marks["A"], self.marks["B"]
        position, settings = self._drive_total, self.settings
        # The coverage check afterwards judges at the optics' CoC live view reports now
        # (the stack itself plans from a fresh frame's optics).
        analysis = self._last_analysis
        optics = analysis.results.get("optics") if analysis is not None else None
        sensor_width_mm = analysis.frame.metadata.get("sensor_width_mm") if optics is not None else None
        try:  # two stacks started within one second get two folders
            folder = claim_run_folder(self.capture_folder / time.strftime("stack-%Y%m%d-%H%M%S"))
        except OutputError as error:
            self.stack_panel.say(str(error))
            return
        self._stack_stop.clear()
        self._stack_pause.clear()
        panel = self.stack_panel

        def progress(index: int, count: int, files) -> None:
            text = f"frame {index + 1} of {count}: {files[0].name if files else '—'}"
            self._bridge.done.emit(lambda: panel.say(text))

        def command(camera):
            counter = DriveCounter(camera, position)
            try:
                step_um = load_drive_calibration(user_calibration_path(), camera=camera.name).step_um
            except OpticsError as error:
                raise StackShootError(f"{error} Measure the drive first: focuslock calibrate focus-steps.") from None
            shot, _ = shoot_between_marks(counter, first, second, position, step_um, folder, settings=settings,
                                          progress=progress, should_stop=self._stack_stop.is_set,
                                          should_pause=self._stack_pause.is_set)
            report = []
            if len(shot.all_files) >= 2:
                try:
                    report = report_lines(check_shot(shot, optics, sensor_width_mm)[0])
                except StackCheckError as error:
                    report = [f"stack-check: {error}"]
            return shot, counter.position_steps, report

        def done(outcome) -> None:
            shot, self._drive_total, report = outcome
            self.drive_panel.position.setText(f"driven {self._drive_total:+d} steps")
            head = f"{len(shot.all_files)} frame(s) in {shot.folder.name}"
            if shot.stopped:
                head += f" — stopped: {shot.stopped}"
            # The verdict lines of the check: gaps, ends not covered, what it cannot tell,
            # not moved, redundant, or none; and the CoC the stack reached.
            panel.say("\n".join([head, *[line for line in report if line.startswith(
                ("Gap", "No gap", "Not covered", "UNCERTAIN", "Not moved", "Redundant", "Effective CoC"))]]))

        panel.say("going back to the nearer mark…")
        self._stack_job(command, "the focus stack", done)

    def zoom_live_view(self, zoom: float | None = None) -> None:
        """The camera's live-view zoom (the next one offered, or ``zoom``) centred on the
        box (else the middle). The box follows into the zoomed view; a lock is dropped,
        since the CoC in live-view pixels grows with the zoom: lock again where sharp."""
        if not self.live_view_zooms:
            self.statusBar().showMessage("This source has no live-view zoom from the computer.", 8000)
            return
        current = self.zoom_window.zoom if self.zoom_window is not None else 1.0
        if zoom is None:
            later = [z for z in self.live_view_zooms if z > current]
            zoom = later[0] if later else 1.0
        box = self._box_now()
        if box is not None and self.zoom_window is not None:
            box = self.zoom_window.to_unzoomed(box)  # the box in the unzoomed view
        box = box or self._unzoomed_box  # a box too large for the last zoom comes back
        centre = (box[0] + box[2] / 2.0, box[1] + box[3] / 2.0) if box is not None else None
        self.statusBar().showMessage(f"zooming live view {zoom:g}×…")

        def arrived(future: Future) -> None:
            try:
                window = future.result()
            except CameraError as error:
                self.statusBar().showMessage(error.user_message, 10000)
                return
            except Exception as error:  # noqa: BLE001 - a zoom the source refuses: say so
                self.statusBar().showMessage(str(error), 10000)
                return
            self.zoom_window = window if window.zoom != 1.0 else None
            self._unzoomed_box = box
            if box is None:
                self.statusBar().showMessage(f"live view {window.zoom:g}×", 10000)
            elif window.zoom == 1.0 or window.contains(box):
                self.choose_feature(*window.to_zoomed(box))
                self.statusBar().showMessage(f"live view {window.zoom:g}×: the box followed; press L to lock again where it "
                                             "is sharp", 10000)
            else:
                # The box is larger than the zoomed view: nothing to follow until one is drawn.
                self._apply(replace(self.settings, focus=self.settings.focus.follow(None)))
                self.statusBar().showMessage(f"live view {window.zoom:g}×: the box is larger than this view; draw a smaller one "
                                             "(it comes back when you zoom out)", 10000)

        self._when_done(self.session.submit(lambda camera: camera.set_live_view_zoom(zoom, centre), label="live-view zoom"),
                        arrived)

    def set_overlay(self, **changes) -> None:
        self._apply(replace(self.settings, overlay=replace(self.settings.overlay, **changes)))

    def take_reference(self) -> None:
        if self._last_analysis is not None:
            self._apply(replace(self.settings, reference_rgb=self._last_analysis.frame.image))
            if self.settings.overlay.ghost_mode == "off":
                self.set_overlay(ghost_mode="blend")

    # -------------------------------------------------------------- keyboard
    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802
        key, text = event.key(), event.text()
        overlay = self.settings.overlay
        if key == QtCore.Qt.Key_L:
            self.toggle_lock()
        elif text == "[":
            self.drive_focus(-FINE_STEPS)
        elif text == "]":
            self.drive_focus(FINE_STEPS)
        elif text == "{":
            self.drive_focus(-COARSE_STEPS)
        elif text == "}":
            self.drive_focus(COARSE_STEPS)
        elif key == QtCore.Qt.Key_Space:
            self.capture()
        elif key == QtCore.Qt.Key_P:
            self.set_overlay(peaking=not overlay.peaking)
        elif key == QtCore.Qt.Key_D:
            self.status_label.setText(toggle_focus_map(self.peaking_panel))
        elif key == QtCore.Qt.Key_G:
            self.set_overlay(grid=not overlay.grid, centre_mark=not overlay.grid)
        elif key == QtCore.Qt.Key_Z:
            self.set_overlay(zebras=not overlay.zebras)
        elif key == QtCore.Qt.Key_H:
            self.set_overlay(histogram={"off": "luma", "luma": "rgb", "rgb": "off"}[overlay.histogram])
        elif key == QtCore.Qt.Key_M:
            under_pointer = bool(event.modifiers() & QtCore.Qt.ShiftModifier)
            zoom = {0: 2, 2: 4, 4: 8, 8: 0}[overlay.loupe_zoom] if not under_pointer else (overlay.loupe_zoom or 4)
            self._loupe_under_pointer = under_pointer
            self.set_overlay(loupe_zoom=zoom, loupe_at=None)
        elif key == QtCore.Qt.Key_V:
            self.zoom_live_view()
        elif key == QtCore.Qt.Key_C:
            self.clear_added_features()
        elif key == QtCore.Qt.Key_R:
            self.take_reference()
        elif key == QtCore.Qt.Key_B:
            modes = list(GHOST_MODES)
            self.set_overlay(ghost_mode=modes[(modes.index(overlay.ghost_mode) + 1) % len(modes)])
        elif key == QtCore.Qt.Key_S:
            self._beep_on_soft = not self._beep_on_soft
            self.status_label.setText(f"sound on SOFT {'on' if self._beep_on_soft else 'off'}")
        elif key == QtCore.Qt.Key_F1 or text == "?":
            self.toggle_help()
        elif key == QtCore.Qt.Key_Escape and self.help.isVisible():
            self.help.hide()
        else:
            super().keyPressEvent(event)

    def toggle_help(self) -> None:
        if self.help.isVisible():
            self.help.hide()
            return
        self.help.adjustSize()
        self.help.move(max(0, (self.view.width() - self.help.width()) // 2), max(0, (self.view.height() - self.help.height()) // 2))
        self.help.show()
        self.help.raise_()

    @staticmethod
    def _help_text() -> str:
        rows = "".join(f"<tr><td style='padding-right:18px'><b>{key}</b></td><td>{what}</td></tr>" for key, what in SHORTCUTS)
        return f"<h2>focuslock — keys</h2><table>{rows}</table><p>F1 or Esc closes this.</p>"

    # ------------------------------------------------------------------ timer
    def tick(self) -> None:
        """Show the newest analysis (if new) and the session's status; never blocks."""
        now = time.monotonic()
        if self._last_tick_s is not None:
            self.max_tick_gap_ms = max(self.max_tick_gap_ms, (now - self._last_tick_s) * 1000.0)
        self._last_tick_s = now
        analysis = self.session.latest_analysis()
        if analysis is not None and analysis.frame.sequence != self._last_sequence:
            self._last_sequence = analysis.frame.sequence
            self._last_analysis = analysis
            self._stale_shown = None
            self._show(analysis, now)
        if analysis is not None:
            self._show_freshness(analysis, now)
        self._show_status(analysis)
        self._follow_display_size()
        self._read_product_code(now)
        if self.session.reconnect_count != self._reconnects_seen and self.session.status.state == "live":
            # Another body, or the same one after a pulled cable: read it (and check it
            # against the recipe) again.
            self._reconnects_seen = self.session.reconnect_count
            self._settings_requested = False
        if not self._settings_requested and self.session.status.state == "live":
            self._settings_requested = True
            self.check_recipe()
            self._when_done(self.session.get_settings(), self._settings_arrived)
            self._when_done(self.session.submit(lambda camera: camera.capabilities), self._capabilities_arrived)

    def save_recipe_to(self, path: Path) -> str:
        """Save this setup as a recipe at ``path`` (.toml, its reference PNG beside it): the
        last checked capture as the reference (full resolution, as the session's shots
        will be), the locked box in its pixels with the CoC there, the camera's settings,
        the lens's optics, the marks and the overlay choices. Returns what to tell the user."""
        capture = self.last_capture
        if capture is None:
            return "Lock the feature and take a capture first: a recipe's reference is a full-resolution shot."
        check = next(c for c in capture.checks if c.box_px is not None)
        optics = {"coc_px": round(capture.coc_px_in_file, 4)}
        for name in ("sensor_width_mm", "focal_length_mm", "magnification", "pupil_ratio"):
            value = getattr(self.settings.optics, name)
            if value is not None:
                optics[name] = value
        settings = {name: s.value for name, s in sorted(self._camera_settings.items()) if not s.read_only}
        camera = self.session.camera
        recipe = Recipe(Path(path).stem, Path(path).with_suffix(".png").name, (tuple(round(v, 1) for v in check.box_px),),
                        camera.name if camera is not None else None, settings, None, optics, tuple(sorted(self.marks)),
                        overlay_choices(self.settings.overlay))
        try:
            picture = read_image_file(check.path, check.path.name)
            png = save_recipe(Path(path), recipe, picture)
        except (RecipeError, CorruptFrameError, OSError, ValueError) as error:
            return f"The recipe was not saved: {getattr(error, 'user_message', None) or error}"
        return f"Recipe saved: {path} (reference {png.name}, {len(settings)} camera settings)."

    def _save_recipe_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the setup as a recipe", str(self.capture_folder / "setup.toml"),
                                                        "Recipes (*.toml)")
        if path:
            self.status_label.setText(self.save_recipe_to(Path(path)))

    def check_recipe(self) -> None:
        """List every camera setting that differs from the recipe (on the camera's thread)."""
        if self.recipe is None:
            return
        recipe = self.recipe
        self._when_done(self.session.submit(lambda camera: diff_settings(recipe, camera), label="checking the recipe"),
                        self._recipe_checked)

    def apply_recipe_settings(self) -> None:
        """Set the camera as the recipe says; then check again and show the settings."""
        if self.recipe is None:
            return
        recipe = self.recipe
        self.recipe_panel.say("setting the camera as the recipe says…")
        self._when_done(self.session.submit(lambda camera: (apply_settings(recipe, camera), diff_settings(recipe, camera)),
                                            label="applying the recipe"), self._recipe_applied)

    def _recipe_checked(self, future: Future) -> None:
        try:
            self.recipe_panel.show_differences(future.result())
        except (RecipeError, CameraError) as error:
            self.recipe_panel.say(str(error))

    def _recipe_applied(self, future: Future) -> None:
        try:
            (_, problems), remaining = future.result()
        except (RecipeError, CameraError) as error:
            self.recipe_panel.say(str(error))
            return
        self.recipe_panel.show_differences(remaining, problems)
        self._when_done(self.session.get_settings(), self._settings_arrived)

    def use_product_code(self, code: str) -> None:
        """Name the next shots with this product code (confirmed or typed by the user)."""
        if self.shot_log is None:
            return
        self.shot_log.sku = code or None
        self.status_label.setText(f"Next shots are named with {code}." if code else "Next shots carry no product code.")

    def _read_product_code(self, now: float) -> None:
        """Look for a barcode or QR card in the newest frame, a few times a second."""
        if self._code_reader is None or self._code_read_in_flight or self._last_analysis is None \
                or now - self._last_code_read_s < CODE_READ_EVERY_S:
            return
        self._last_code_read_s = now
        self._code_read_in_flight = True
        rgb = self._last_analysis.frame.image
        future = self._code_reader.submit(lambda: read_product_code(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))
        self._when_done(future, self._code_read)

    def _code_read(self, future: Future) -> None:
        self._code_read_in_flight = False
        try:
            code = future.result()
        except Exception:  # noqa: BLE001 - a failed read is no code; the next look tries again
            return
        if code is not None and self.code_panel is not None:
            self.code_panel.offer_code(code.text, "QR code" if code.kind == "QR" else f"barcode ({code.kind})")

    def _follow_display_size(self) -> None:
        """Overlays are drawn at the size the picture is shown (never for pixels the
        screen cannot show): tell the pipeline when the view's size changes."""
        size = self.view.display_size_px()
        sent = self.settings.overlay.display_size_px
        # Within the view's slack the picture is drawn at its own size (no scaling): the
        # same bound decides when a new size is worth asking for.
        if sent is None or abs(size[0] - sent[0]) > UNSCALED_SLACK_PX or abs(size[1] - sent[1]) > UNSCALED_SLACK_PX:
            self.set_overlay(display_size_px=size)

    def _show(self, analysis: Analysis, now: float) -> None:
        self.view.show_frame(analysis.results.get("display", analysis.frame.image),
                             (analysis.frame.width_px, analysis.frame.height_px))
        focus = analysis.results.get("focus")
        lock = focus.lock if focus is not None else None
        if lock is not None:
            self.banner.show_state(lock.state.value, lock.coc_share, lock.hint, reason=lock.reason or lock.warning)
            self.plot.add(now - self.started_s, lock.coc_share, 0.5, 1.0)
            if self._beep_on_soft and lock.state.value == "soft" and self._previous_state != "soft":
                QtWidgets.QApplication.beep()
            self._previous_state = lock.state.value
        else:
            self.banner.show_state(None, None, None, following=focus is not None and focus.roi_px is not None)
            self._previous_state = None
        if now - self._last_plot_s > PLOT_EVERY_S:
            # Text and plots change ten times a second; the picture, every frame.
            self._last_plot_s = now
            self.view.set_hud(hud_lines(analysis, self.session.freshness(analysis, now), self._calibrated_step_um()))
            self.plot.redraw()
            self.dof_panel.show_result(analysis.results.get("optics"))

    def _show_freshness(self, analysis: Analysis, now: float) -> None:
        """Frame age and rate beside the verdict; once no frame comes, the banner, the
        box and the HUD say how old the verdict is and why (ENDED, PAUSED, NO SIGNAL)."""
        freshness = self.session.freshness(analysis, now)
        rate = f"{analysis.frame_rate_hz:.1f} fps" if analysis.frame_rate_hz else "-- fps"
        age = f"frame age {freshness.age_s:.1f} s" if freshness.age_s < 10 else f"frame age {freshness.age_s:.0f} s"
        rate_text = f"{freshness.label}   {age}   {rate}   dropped {analysis.dropped_frames}   shown {self.view.frames_shown}"
        if rate_text != self.rate_label.text():
            self.rate_label.setText(rate_text)
        if not freshness.stale:
            return
        # Redrawn when the shown age changes (whole seconds), not every tick.
        key = (freshness.label, int(freshness.age_s))
        if key == self._stale_shown:
            return
        self._stale_shown = key
        focus = analysis.results.get("focus")
        lock = focus.lock if focus is not None else None
        last = None
        if lock is not None:
            last = lock.state.value.upper() + (f" {lock.coc_share:.2f} CoC" if lock.coc_share is not None else "")
        # The banner stays short (read from two metres); the status bar says why.
        self.banner.show_stale(freshness.headline(), last)
        self.view.show_frame(stale_picture(analysis, freshness))
        self.view.set_hud(hud_lines(analysis, freshness, self._calibrated_step_um()))
        self._previous_state = None

    def _show_status(self, analysis: Analysis | None) -> None:
        status = self.session.status
        text = status.state.upper() + (f" — {status.message}" if status.message and status.state != "live" else "")
        for event in self.session.events(after=self._last_event):
            self._last_event = event.number
            if event.kind == "error" and status.state == "live":
                text = f"LIVE — {event.message}"
        if text != self.status_label.text() and (status.state != "live" or not self.status_label.text().startswith("LIVE —")):
            self.status_label.setText(text)

    # -------------------------------------------------------------- internals
    def _apply(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self.session.set_settings(settings)
        self._remember_overlay()

    def _when_done(self, future: Future, callback: Callable[[Future], None]) -> None:
        future.add_done_callback(lambda f: self._bridge.done.emit(lambda: callback(f)))

    def _drive_done(self, future: Future) -> None:
        if future is not self._drive_in_flight:
            return
        self._drive_in_flight = None
        waiting, self._drive_waiting = self._drive_waiting, None
        if waiting is not None:
            self.drive_focus(waiting)
        try:
            moved = future.result()
        except NotSupportedError as error:
            self.drive_panel.set_available(False, error.user_message)
            return
        except Exception as error:  # noqa: BLE001 - busy, unplugged: say so, keep the drive usable
            self.statusBar().showMessage(error.user_message if isinstance(error, CameraError) else f"Focus drive failed: {error}.", 8000)
            return
        self._drive_total += moved
        self.drive_panel.position.setText(f"driven {self._drive_total:+d} steps")

    def _capture_done(self, future: Future) -> None:
        try:
            outcome = future.result()
            paths, checks, shot, review = outcome.paths, outcome.checks, outcome.shot, outcome.review
        except Exception as error:  # noqa: BLE001 - any failure: one sentence, and the panel usable again
            message = error.user_message if isinstance(error, CameraError) else f"The capture failed: {error}."
            saved = getattr(error, "saved_paths", [])
            if saved:
                message += "\n" + "\n".join(f"{p.name}: saved before the failure" for p in saved)
            self.capture_panel.done(message, "soft")
            return
        if outcome.coc_px_in_file is not None:
            self.last_capture = outcome
        if review is not None:
            self.review_panel.show_review(review)
            self.review_dock.show()
            self.review_dock.raise_()
        if shot is not None:
            self.capture_panel.done(shot["text"], {"pass": "sharp", "drift": "softening"}.get(shot["verdict"], shot["verdict"]))
        elif checks:
            worst = max(checks, key=lambda c: c.blur_px if c.blur_px is not None else -1e9)
            self.capture_panel.done("\n".join(c.message for c in checks), worst.state)
        else:
            self.capture_panel.done("\n".join(f"{p.name}: saved (lock a feature to have captures checked)" for p in paths))

    def _finish_capture_before_closing(self, timeout_s: float = CLOSE_WAIT_FOR_CAPTURE_S, future: Future | None = None,
                                       what: str = "the capture") -> None:
        """A capture still downloading (or ``future``: a stack stopping after its frame) is
        waited for, with a visible message, so that closing never abandons a file half-way;
        what happened stays in ``closing_note``."""
        future = future or self._capture_in_flight
        if future is None or future.done():
            return
        self.capture_panel.result.setText(f"Waiting for {what} to finish downloading before closing…")
        self.statusBar().showMessage(f"Waiting for {what} to finish downloading before closing…")
        deadline = time.monotonic() + timeout_s
        while not future.done() and time.monotonic() < deadline:
            QtWidgets.QApplication.processEvents(QtCore.QEventLoop.AllEvents, 50)
            time.sleep(0.02)
        if future.done():
            error = future.exception()
            self.closing_note = (f"{what.capitalize()} finished before closing." if error is None else
                                 f"{what.capitalize()} running at closing failed: {getattr(error, 'user_message', error)}")
        else:
            self.closing_note = (f"Closed after waiting {timeout_s:.0f} s for {what}, which did not finish; "
                                 "files it had saved are in the capture folder, the rest stays on the camera.")
        print(f"focuslock: {self.closing_note}", file=sys.stderr)

    def _capabilities_arrived(self, future: Future) -> None:
        try:
            capabilities = future.result()
        except CameraError:
            return
        if not capabilities.focus_drive:
            self.drive_panel.set_available(False, "This source cannot drive focus: rack by hand and watch the lock.")
        if not capabilities.capture:
            self.capture_panel.button.setEnabled(False)
        self.live_view_zooms = tuple(capabilities.live_view_zooms)

    def _settings_arrived(self, future: Future) -> None:
        try:
            self._camera_settings = future.result()
            self.settings_panel.show_settings(self._camera_settings)
        except CameraError as error:
            self.status_label.setText(error.user_message)

    def _setting_changed(self, name: str, value: str) -> None:
        self._when_done(self.session.set_setting(name, value), lambda f: self._setting_done(f, name))

    def _setting_done(self, future: Future, name: str) -> None:
        try:
            future.result()
        except CameraError as error:
            self.status_label.setText(error.user_message)
        self._when_done(self.session.get_settings(), self._settings_arrived)

    def _peaking_changed(self, peaking) -> None:
        self._apply(replace(self.settings, focus=replace(self.settings.focus, peaking=peaking)))

    def _optics_changed(self, optics) -> None:
        self._apply(replace(self.settings, optics=optics))

    def _pointer_moved(self, x: int, y: int) -> None:
        if self._loupe_under_pointer and self.settings.overlay.loupe_zoom:
            self.set_overlay(loupe_at=(x, y))

    def _remember_overlay(self) -> None:
        self.store.set("overlay", overlay_choices(self.settings.overlay))
        self.store.set("beep_on_soft", self._beep_on_soft)

    def apply_overlay_choices(self, choices: dict) -> str | None:
        """The overlay as ``choices`` (a recipe's [overlay], the remembered ones) set it;
        a sentence when they cannot be used (the overlay is left as it was)."""
        try:
            overlay = with_overlay_choices(self.settings.overlay, choices)
        except (TypeError, ValueError) as error:
            return f"The overlay choices could not be used ({error}); the overlay is as it was."
        self._apply(replace(self.settings, overlay=overlay))
        return None

    def _restore(self) -> None:
        saved = self.store.get("overlay")
        if isinstance(saved, dict):
            self.apply_overlay_choices(saved)  # an old or hand-edited file: the defaults stay
        geometry = self.store.get("geometry")
        state = self.store.get("window_state")
        if isinstance(geometry, str) and isinstance(state, str):
            self.restoreGeometry(QtCore.QByteArray.fromBase64(geometry.encode()))
            self.restoreState(QtCore.QByteArray.fromBase64(state.encode()))
        else:
            self._default_layout()

    def reset_layout(self) -> None:
        """View ▸ Reset layout: the default size for this screen, the panels docked on
        the right at their default width, the remembered layout forgotten."""
        self.store.set("geometry", None)
        self.store.set("window_state", None)
        for dock in (self.dock, self.review_dock):
            if dock.isFloating():
                dock.setFloating(False)
            self.removeDockWidget(dock)
            self.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
            dock.show()
        self.tabifyDockWidget(self.dock, self.review_dock)
        self.dock.raise_()
        self._default_layout()

    def _default_layout(self) -> None:
        """A window that fits the screen it opens on (a 1366×768 laptop too), the view
        taking most of it and the panels a readable column."""
        screen = self.screen() or QtWidgets.QApplication.primaryScreen()
        if screen is None or QtGui.QGuiApplication.platformName() == "offscreen":
            # No screen to fit (an offscreen screenshot): fit the default size instead.
            available = QtCore.QRect(0, 0, *DEFAULT_SIZE_PX)
        else:
            available = screen.availableGeometry()
        width = min(DEFAULT_SIZE_PX[0], int(available.width() * 0.96))
        height = min(DEFAULT_SIZE_PX[1], int(available.height() * 0.94))
        self.resize(width, height)
        self.move(available.x() + (available.width() - width) // 2, available.y() + (available.height() - height) // 2)
        self.resizeDocks([self.dock], [max(DOCK_MIN_WIDTH_PX, min(DOCK_DEFAULT_WIDTH_PX, width // 4))], QtCore.Qt.Horizontal)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.stack_job is not None and not self.stack_job.done():
            # A stack stops after the frame being captured; that frame is downloaded.
            self._stack_stop.set()
            self._stack_pause.clear()
            self._finish_capture_before_closing(future=self.stack_job, what="the focus stack")
        self._finish_capture_before_closing()
        self.timer.stop()
        if self._code_reader is not None:
            self._code_reader.shutdown(wait=True)  # one read of one frame at most
        self.store.set("geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.store.set("window_state", bytes(self.saveState().toBase64()).decode())
        self._remember_overlay()
        try:
            self.store.save()
        except OSError:
            pass  # settings are a convenience; never block closing
        super().closeEvent(event)


def _review_of_checks(paths: list[Path], checks) -> ShotReview | None:
    """A plain capture (no studio session) laid out for review: the first file the lock
    checked, its feature at 100 %; or the first file saved, with why it has no crop."""
    for check in checks:
        if check.box_px is not None:
            return review_shot(check.path, check.state, check.message, [(check.box_px, check.state, check.message)])
    if checks:
        return ShotReview(checks[0].path, checks[0].state, checks[0].message, ())
    if paths:
        return ShotReview(Path(paths[0]), None, f"{Path(paths[0]).name}: saved", (),
                          "Lock a feature to have captures checked and shown at 100 %.")
    return None


@dataclass
class _CaptureOutcome:
    """What one capture gave the window: its files, the lock's checks of them or the
    session's logged shot, the review to show, and the CoC in the file's pixels."""

    paths: list
    checks: list
    shot: dict | None
    review: ShotReview | None
    coc_px_in_file: float | None = None
