"""The side panels: sharpness plot, focus drive, depth of field, camera settings, capture."""

from __future__ import annotations

import math
from collections import deque

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from dataclasses import replace

from focuslock.devices.base import Setting
from focuslock.focus.peaking import DISPLAY_MODES, OPERATORS, PeakingSettings
from focuslock.optics.catalog import Catalog
from focuslock.optics.dof import DofResult
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.runtime.pipeline import OpticsSettings

__all__ = ["CapturePanel", "DofPanel", "DrivePanel", "PeakingPanel", "SettingsPanel", "SharpnessPlot", "StateBanner"]


class StateBanner(QtWidgets.QLabel):
    """The lock state in big letters and its colour: readable from two metres."""

    def __init__(self) -> None:
        super().__init__("NO FEATURE — drag a box around the detail that must be sharp")
        self.setAlignment(QtCore.Qt.AlignCenter)
        self.setMinimumHeight(56)
        # A long reason wraps rather than widening the window past a laptop's screen.
        self.setWordWrap(True)
        self.state: str | None = None
        self.stale = False
        self.show_state(None, None, None)

    def show_stale(self, freshness_text: str, last_verdict: str | None) -> None:
        """No new frame: 'ENDED — verdict from 12 s ago (…)  ·  last SHARP 0.12 CoC', grey,
        so that an old verdict never reads as a live one."""
        key = ("stale", freshness_text, last_verdict)
        if key == getattr(self, "_shown", None):
            return
        self._shown = key
        self.stale = True
        text = freshness_text + (f"  ·  last {last_verdict}" if last_verdict else "")
        self._paint(text, STATE_COLOURS_RGB["stale"], (255, 255, 255))

    def show_state(self, state: str | None, coc_share: float | None, hint: str | None, following: bool = False,
                   reason: str | None = None) -> None:
        key = (state, None if coc_share is None else round(coc_share * 100), hint, following, reason)
        if key == getattr(self, "_shown", None):
            return  # a style sheet change re-polishes the widget: only when it changes
        self._shown = key
        self.state = state
        self.stale = False
        if state is None:
            text = "FOLLOWING — press L to lock" if following else "NO FEATURE — drag a box around the detail that must be sharp"
            colour, ink = (60, 60, 60), (255, 255, 255)
        else:
            text = state.upper()
            if coc_share is not None and state != "lost":
                text += f"  {coc_share:.2f} CoC"
            if reason and state in ("uncertain", "lost"):
                text += f"  —  {reason}"
            elif reason:
                # A verdict set by part of the box: say so (its first clause; the whole
                # sentence, with what to do, is in the HUD and the log).
                text += f"  —  {reason.split(':')[0]}"
            if hint:
                text += f"  —  {hint}"
            colour = STATE_COLOURS_RGB.get(state, (120, 120, 120))
            ink = (0, 0, 0) if state in ("sharp", "softening") else (255, 255, 255)
        self._paint(text, colour, ink)

    def _paint(self, text: str, colour, ink) -> None:
        self.setText(text)
        style = f"QLabel {{ background: rgb{colour}; color: rgb{ink}; font-size: 26px; font-weight: bold; padding: 6px; }}"
        if style != self.styleSheet():
            self.setStyleSheet(style)


class SharpnessPlot(pg.PlotWidget):
    """The locked feature's blur over the last minute (in CoC: 0 = as sharp as at the
    lock), with the SOFTENING and SOFT lines labelled and the sharpest moment marked."""

    # The y axis always shows at least this much (the lock, both lines and some room),
    # and grows to whatever the blur reaches.
    MIN_Y_RANGE = (-0.5, 2.0)

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.setBackground((25, 25, 25))
        self.setMinimumHeight(160)
        # No units: pyqtgraph would rescale them ("seconds (x0.001)").
        self.setLabel("left", "blur (× CoC)")
        self.setLabel("bottom", "seconds before now")
        self.setMouseEnabled(x=False, y=False)
        self.y_range = self.MIN_Y_RANGE
        self.setYRange(*self.y_range, padding=0)
        # The time axis stands still (the last minute, now at the right): the readings
        # move, the axes are not repainted every redraw.
        self.setXRange(-seconds, 0.0, padding=0)
        self.disableAutoRange()
        # No grid: a grid is drawn by the axis across the plot, so every new reading
        # would repaint the axis and its text. The lock (0) and both state lines are
        # the references that matter.
        self.lock_line = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen((110, 110, 110), width=1))
        self.addItem(self.lock_line)
        self.seconds = seconds
        self.times: deque[float] = deque()
        self.values: deque[float] = deque()
        self.curve = self.plot([], [], pen=pg.mkPen((230, 230, 230), width=2))
        self.softening_line = self._threshold_line("softening", "SOFTENING")
        self.soft_line = self._threshold_line("soft", "SOFT")
        self.peak_marker = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(255, 255, 255))
        self.peak_label = pg.TextItem("sharpest", color=(255, 255, 255), anchor=(0.5, 1.3))
        for item in (self.softening_line, self.soft_line, self.peak_marker, self.peak_label):
            self.addItem(item)
        self.softening_line.hide()
        self.soft_line.hide()
        self.peak_label.hide()

    def _threshold_line(self, state: str, name: str) -> pg.InfiniteLine:
        colour = STATE_COLOURS_RGB[state]
        return pg.InfiniteLine(angle=0, pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine), label=name,
                               name=name, labelOpts={"position": 0.08, "color": colour, "anchors": [(0, 1), (0, 1)]})

    def add(self, time_s: float, relative: float | None, softening: float | None, soft: float | None) -> None:
        """Record a reading; nothing is repainted until :meth:`redraw`."""
        if relative is None or not math.isfinite(relative):
            return
        self.times.append(time_s)
        self.values.append(relative)
        self._thresholds = (softening, soft)
        while self.times and time_s - self.times[0] > self.seconds:
            self.times.popleft()
            self.values.popleft()

    def redraw(self) -> None:
        softening, soft = getattr(self, "_thresholds", (None, None))
        for line, value in ((self.softening_line, softening), (self.soft_line, soft)):
            if value is None:
                line.hide()
            else:
                if line.value() != value:
                    line.setValue(value)
                    line.label.setText(f"{line.name()} from {value:g} CoC")
                line.show()
        if not self.times:
            self.curve.setData([], [])
            self.peak_marker.setData([], [])
            self.peak_label.hide()
            return
        origin = self.times[-1]
        xs = [t - origin for t in self.times]
        values = list(self.values)
        self.curve.setData(xs, values)
        # Least blur = sharpest.
        best = min(range(len(values)), key=values.__getitem__)
        self.peak_marker.setData([xs[best]], [values[best]])
        # The label reads towards the middle of the plot, never off its right edge
        # (the sharpest moment is often the latest).
        self.peak_label.setAnchor((1.0, 1.3) if xs[best] > xs[0] / 2 else (0.0, 1.3))
        self.peak_label.setPos(xs[best], values[best])
        self.peak_label.show()
        self._fit_y(min(values), max(values))

    def _fit_y(self, lowest: float, highest: float) -> None:
        """Grow the y axis to the readings (never below the minimum range); changed only
        when a reading leaves it or the readings have come well back inside, so that the
        axes are not repainted every frame."""
        low = min(self.MIN_Y_RANGE[0], lowest - 0.1 * abs(lowest))
        high = max(self.MIN_Y_RANGE[1], highest * 1.1)
        current_low, current_high = self.y_range
        outside = low < current_low or high > current_high
        too_loose = current_high > self.MIN_Y_RANGE[1] and high < 0.6 * current_high
        too_loose = too_loose or (current_low < self.MIN_Y_RANGE[0] and low > 0.6 * current_low)
        if outside or too_loose:
            self.y_range = (low, high)
            self.setYRange(low, high, padding=0)

    def clear_history(self) -> None:
        self.times.clear()
        self.values.clear()
        self.redraw()


class DrivePanel(QtWidgets.QGroupBox):
    """Fine and coarse focus drive, near and far."""

    drive = QtCore.Signal(int)

    def __init__(self, fine_steps: int = 1, coarse_steps: int = 10) -> None:
        super().__init__("Focus drive")
        layout = QtWidgets.QGridLayout(self)
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        # Two rows (fine above coarse), near on the left: fits the panel's column.
        for (row, column), (key, label, steps) in zip(((0, 0), (0, 1), (1, 0), (1, 1)), (
            ("near_fine", "◀ near  [", -fine_steps), ("far_fine", "far ▶  ]", fine_steps),
            ("near_coarse", "◀◀ near  {", -coarse_steps), ("far_coarse", "far ▶▶  }", coarse_steps),
        )):
            button = QtWidgets.QPushButton(label)
            button.setMinimumHeight(32)
            button.setToolTip(f"Drive focus {abs(steps)} step{'s' if abs(steps) > 1 else ''} {'nearer' if steps < 0 else 'farther'}")
            button.clicked.connect(lambda _=False, n=steps: self.drive.emit(n))
            layout.addWidget(button, row, column)
            self.buttons[key] = button
        self.position = QtWidgets.QLabel("driven 0 steps")
        self.position.setWordWrap(True)
        layout.addWidget(self.position, 2, 0, 1, 2)

    def set_available(self, available: bool, reason: str = "") -> None:
        for button in self.buttons.values():
            button.setEnabled(available)
        if not available and reason:
            self.position.setText(reason)


class DofPanel(QtWidgets.QGroupBox):
    """Depth of field for the camera's aperture, with a lens and body from the catalog."""

    opticsChanged = QtCore.Signal(object)  # OpticsSettings

    def __init__(self, catalog: Catalog | None) -> None:
        super().__init__("Depth of field")
        self.catalog = catalog
        form = QtWidgets.QFormLayout(self)
        self.lens = QtWidgets.QComboBox()
        self.lens.addItem("as the camera reports")
        self.body = QtWidgets.QComboBox()
        self.body.addItem("as the camera reports")
        if catalog is not None:
            for lens in catalog.lenses:
                self.lens.addItem(lens.name)
            for camera in catalog.cameras:
                self.body.addItem(camera.name)
        self.magnification = QtWidgets.QDoubleSpinBox()
        self.magnification.setRange(0.0, 20.0)
        self.magnification.setDecimals(3)
        self.magnification.setSingleStep(0.05)
        self.magnification.setSpecialValueText("from the focus distance")
        form.addRow("lens", self.lens)
        form.addRow("body", self.body)
        form.addRow("magnification", self.magnification)
        self.result = QtWidgets.QLabel("—")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        form.addRow(self.result)
        for widget in (self.lens, self.body):
            widget.currentIndexChanged.connect(self._emit)
        self.magnification.valueChanged.connect(self._emit)

    def optics_settings(self) -> OpticsSettings:
        focal = None
        pupil = None
        coc = None
        magnification = self.magnification.value() or None
        if self.catalog is not None and self.lens.currentIndex() > 0:
            lens = self.catalog.lens(self.lens.currentText())
            # An internal-focus macro lens is shorter at close focus (see Lens.focus_at).
            focal, _ = lens.focus_at(magnification=magnification)
            pupil = lens.pupil_ratio
        width = height = None
        if self.catalog is not None and self.body.currentIndex() > 0:
            sensor = self.catalog.camera(self.body.currentText()).sensor
            coc, width, height = sensor.coc_mm, sensor.width_mm, sensor.height_mm
        return OpticsSettings(coc_mm=coc, magnification=magnification, focal_length_mm=focal, pupil_ratio=pupil,
                              sensor_width_mm=width, sensor_height_mm=height)

    def _emit(self, *_args) -> None:
        self.opticsChanged.emit(self.optics_settings())

    def show_result(self, optics: DofResult | None) -> None:
        if optics is None:
            self.result.setText("Not enough known: choose a lens or give a magnification.")
            return
        far = "∞" if math.isinf(optics.far_mm) else f"{optics.far_mm:.2f} mm"
        total = "∞" if math.isinf(optics.total_mm) else f"{optics.total_mm:.3f} mm"
        text = (f"f/{optics.f_number:g} (effective f/{optics.effective_f_number:.3g}), {optics.magnification:.3g}×\n"
                f"near {optics.near_mm:.2f} mm, far {far}\n"
                f"depth {total} (wave optics {optics.wave_dof_mm:.3f} mm)\n"
                f"Airy disk {optics.airy_disk_um:.1f} µm, CoC {optics.coc_mm * 1000:.0f} µm")
        if optics.warnings:
            text += "\n⚠ " + optics.warnings[0]
        self.result.setText(text)


class SettingsPanel(QtWidgets.QGroupBox):
    """The camera's settings, as it reports them; a change is sent to the camera."""

    settingChanged = QtCore.Signal(str, str)

    def __init__(self) -> None:
        super().__init__("Camera settings")
        self.form = QtWidgets.QFormLayout(self)
        self.boxes: dict[str, QtWidgets.QComboBox] = {}
        self.placeholder = QtWidgets.QLabel("waiting for the camera…")
        self.form.addRow(self.placeholder)

    def show_settings(self, settings: dict[str, Setting]) -> None:
        if self.placeholder is not None:
            self.form.removeRow(self.placeholder)
            self.placeholder = None
        for name, setting in settings.items():
            box = self.boxes.get(name)
            if box is None:
                box = QtWidgets.QComboBox()
                box.addItems(list(setting.choices) or [setting.value])
                box.setEnabled(not setting.read_only)
                box.currentTextChanged.connect(lambda value, n=name: self.settingChanged.emit(n, value))
                self.boxes[name] = box
                self.form.addRow(setting.label, box)
            blocked = box.blockSignals(True)
            box.setCurrentText(setting.value)
            box.blockSignals(blocked)
        if not settings:
            self.form.addRow(QtWidgets.QLabel("this source has no settings"))


class CapturePanel(QtWidgets.QGroupBox):
    """Capture with automatic download, and the focus check of what was captured."""

    capture = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__("Capture")
        layout = QtWidgets.QVBoxLayout(self)
        self.button = QtWidgets.QPushButton("Capture  (Space)")
        self.button.setMinimumHeight(40)
        self.button.clicked.connect(self.capture.emit)
        self.result = QtWidgets.QLabel("—")
        self.result.setWordWrap(True)
        layout.addWidget(self.button)
        layout.addWidget(self.result)

    def busy(self) -> None:
        self.button.setEnabled(False)
        self.result.setText("capturing…")

    def done(self, text: str, state: str | None = None) -> None:
        self.button.setEnabled(True)
        colour = STATE_COLOURS_RGB.get(state, (220, 220, 220))
        self.result.setStyleSheet(f"QLabel {{ color: rgb{colour}; }}")
        self.result.setText(text)


class StackPanel(QtWidgets.QGroupBox):
    """Marks A and B on the box's feature, going back to them, and a focus stack from one
    to the other with progress, pause and stop."""

    setMark = QtCore.Signal(str)
    goToMark = QtCore.Signal(str)
    calibrate = QtCore.Signal()
    shoot = QtCore.Signal()
    pauseToggled = QtCore.Signal(bool)
    stop = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__("Marks and focus stack")
        layout = QtWidgets.QGridLayout(self)
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        for row, name in enumerate(("A", "B")):
            for column, (key, label, signal) in enumerate(((f"set_{name}", f"Set {name}", self.setMark),
                                                            (f"go_{name}", f"Go to {name}", self.goToMark))):
                button = QtWidgets.QPushButton(label)
                button.clicked.connect(lambda _=False, n=name, sig=signal: sig.emit(n))
                layout.addWidget(button, row + 1, column)
                self.buttons[key] = button
        self.buttons["set_A"].setToolTip("Mark the feature in the box where it is sharp now")
        self.buttons["go_A"].setToolTip("Drive back to mark A and find its best focus again from the picture")
        self.buttons["calibrate"] = QtWidgets.QPushButton("Calibrate drive")
        self.buttons["calibrate"].setToolTip("Sweep the drive through the boxed feature (sharp now): µm per step and "
                                             "backlash, saved for stacks and marks")
        self.buttons["calibrate"].clicked.connect(self.calibrate.emit)
        layout.addWidget(self.buttons["calibrate"], 0, 0, 1, 2)
        self.buttons["shoot"] = QtWidgets.QPushButton("Shoot stack A → B")
        self.buttons["shoot"].setToolTip("One frame every depth of field × 0.7 from the nearer mark to the farther, "
                                         "from the optics and the drive calibration")
        self.buttons["shoot"].clicked.connect(self.shoot.emit)
        layout.addWidget(self.buttons["shoot"], 3, 0, 1, 2)
        self.buttons["pause"] = QtWidgets.QPushButton("Pause")
        self.buttons["pause"].setCheckable(True)
        self.buttons["pause"].toggled.connect(self._pause_toggled)
        self.buttons["stop"] = QtWidgets.QPushButton("Stop")
        self.buttons["stop"].setToolTip("Stop after the frame being captured; every frame shot is kept")
        self.buttons["stop"].clicked.connect(self.stop.emit)
        layout.addWidget(self.buttons["pause"], 4, 0)
        layout.addWidget(self.buttons["stop"], 4, 1)
        self.status = QtWidgets.QLabel("Once per lens: Calibrate drive on a detailed feature in focus. Then box a detail "
                                       "that must be sharp, focus on it, Set A; the same for B.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status, 5, 0, 1, 2)
        self.marks: dict[str, str] = {}
        self.set_running(False)

    def _pause_toggled(self, paused: bool) -> None:
        self.buttons["pause"].setText("Resume" if paused else "Pause")
        self.pauseToggled.emit(paused)

    def set_running(self, running: bool) -> None:
        """While a job runs (a mark being set or gone to, a stack) only pause and stop work."""
        for key, button in self.buttons.items():
            if key in ("pause", "stop"):
                button.setEnabled(running)
            elif key.startswith("go_"):
                button.setEnabled(not running and key[-1] in self.marks)
            elif key == "shoot":
                button.setEnabled(not running and len(self.marks) == 2)
            else:
                button.setEnabled(not running)
        if not running and self.buttons["pause"].isChecked():
            self.buttons["pause"].setChecked(False)

    def mark_set(self, name: str, text: str) -> None:
        self.marks[name] = text
        self.status.setText("  ".join(f"{n}: {t}" for n, t in sorted(self.marks.items())))

    def say(self, text: str) -> None:
        self.status.setText(text)


PEAKING_COLOURS = {
    "red": (255, 40, 40), "yellow": (255, 230, 20), "green": (40, 230, 60), "cyan": (40, 230, 255),
    "blue": (60, 110, 255), "magenta": (255, 40, 255), "white": (255, 255, 255),
}
AUTO_COLOUR = "auto (contrasts with the scene)"
CUSTOM_COLOUR = "picked colour"
SENSITIVITY_SIGMAS = {"1 (least)": 4.0, "2": 3.2, "3": 2.5, "4": 1.8, "5 (most)": 1.2}


class PeakingPanel(QtWidgets.QGroupBox):
    """How peaking looks: operator, sensitivity (five steps, as on-set monitors offer),
    one colour or three bands, colour over the picture / over mono / outline, thin lines,
    only inside the feature's box."""

    peakingChanged = QtCore.Signal(object)  # PeakingSettings

    def __init__(self, settings: PeakingSettings) -> None:
        super().__init__("Peaking")
        form = QtWidgets.QFormLayout(self)
        self.operator = QtWidgets.QComboBox()
        self.operator.addItems(list(OPERATORS))
        self.operator.setCurrentText(settings.operator)
        self.sensitivity = QtWidgets.QComboBox()
        self.sensitivity.addItems(list(SENSITIVITY_SIGMAS))
        self.sensitivity.setCurrentText("3")
        self.colour = QtWidgets.QComboBox()
        self.colour.addItems([AUTO_COLOUR, *PEAKING_COLOURS, "three bands"])
        self.custom_colour: tuple[int, int, int] | None = None
        self.pick = QtWidgets.QPushButton("pick…")
        self.pick.setToolTip("Choose any peaking colour")
        self.pick.clicked.connect(self._pick_colour)
        self.display = QtWidgets.QComboBox()
        self.display.addItems(list(DISPLAY_MODES))
        self.display.setCurrentText(settings.display)
        self.texture = QtWidgets.QCheckBox("favour fine texture over edges")
        self.thin = QtWidgets.QCheckBox("thin lines")
        self.roi_only = QtWidgets.QCheckBox("only inside the feature's box")
        form.addRow("operator", self.operator)
        form.addRow("sensitivity", self.sensitivity)
        colour_row = QtWidgets.QHBoxLayout()
        colour_row.addWidget(self.colour, 1)
        colour_row.addWidget(self.pick)
        form.addRow("colour", colour_row)
        form.addRow("show", self.display)
        for box in (self.texture, self.thin, self.roi_only):
            form.addRow(box)
        for combo in (self.operator, self.sensitivity, self.colour, self.display):
            combo.currentIndexChanged.connect(self._emit)
        for box in (self.texture, self.thin, self.roi_only):
            box.toggled.connect(self._emit)
        self._base = settings

    def peaking_settings(self) -> PeakingSettings:
        sigma = SENSITIVITY_SIGMAS[self.sensitivity.currentText()]
        choice = self.colour.currentText()
        auto = choice == AUTO_COLOUR
        if choice == "three bands":
            base = PeakingSettings.three_bands()
            levels = (sigma, sigma * 2, sigma * 4)
            colours = base.colours_rgb
        else:
            levels = (sigma,)
            colours = ((self.custom_colour if choice == CUSTOM_COLOUR else PEAKING_COLOURS.get(choice, (255, 40, 40))),)
        return replace(self._base, operator=self.operator.currentText(), threshold_mode="statistical", levels=levels,
                       colours_rgb=colours, auto_colour=auto, display=self.display.currentText(),
                       favour_texture=self.texture.isChecked(), thin_lines=self.thin.isChecked(),
                       roi_only=self.roi_only.isChecked(), enabled=True)

    def set_custom_colour(self, rgb: tuple[int, int, int]) -> None:
        """Paint peaking in ``rgb`` (what the colour picker chose)."""
        self.custom_colour = tuple(int(v) for v in rgb)
        if self.colour.findText(CUSTOM_COLOUR) < 0:
            self.colour.insertItem(self.colour.count() - 1, CUSTOM_COLOUR)
        if self.colour.currentText() == CUSTOM_COLOUR:
            self._emit()
        else:
            self.colour.setCurrentText(CUSTOM_COLOUR)

    def _pick_colour(self) -> None:
        start = QtGui.QColor(*(self.custom_colour or (255, 40, 40)))
        chosen = QtWidgets.QColorDialog.getColor(start, self, "Peaking colour")
        if chosen.isValid():
            self.set_custom_colour((chosen.red(), chosen.green(), chosen.blue()))

    def _emit(self, *_args) -> None:
        self.peakingChanged.emit(self.peaking_settings())
