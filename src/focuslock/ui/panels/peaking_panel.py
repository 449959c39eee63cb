"""How peaking looks."""

from __future__ import annotations

from dataclasses import replace

from PySide6 import QtCore, QtGui, QtWidgets

from focuslock.focus.peaking import DISPLAY_MODES, OPERATORS, PeakingSettings

__all__ = ["AUTO_COLOUR", "CUSTOM_COLOUR", "PEAKING_COLOURS", "PeakingPanel", "SENSITIVITY_SIGMAS"]


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
        levels: tuple[float, ...]
        colours: tuple[tuple[int, int, int], ...]
        if choice == "three bands":
            base = PeakingSettings.three_bands()
            levels = (sigma, sigma * 2, sigma * 4)
            colours = base.colours_rgb
        else:
            levels = (sigma,)
            custom = self.custom_colour if choice == CUSTOM_COLOUR else None
            colours = (custom or PEAKING_COLOURS.get(choice, (255, 40, 40)),)
        return replace(self._base, operator=self.operator.currentText(), threshold_mode="statistical", levels=levels,
                       colours_rgb=colours, auto_colour=auto, display=self.display.currentText(),
                       favour_texture=self.texture.isChecked(), thin_lines=self.thin.isChecked(),
                       roi_only=self.roi_only.isChecked(), enabled=True)

    def set_custom_colour(self, rgb: tuple[int, int, int]) -> None:
        """Paint peaking in ``rgb`` (what the colour picker chose)."""
        red, green, blue = rgb
        self.custom_colour = (int(red), int(green), int(blue))
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
