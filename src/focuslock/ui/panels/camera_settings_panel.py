"""The camera's settings as it reports them."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from focuslock.devices.base import Setting

__all__ = ["SettingsPanel"]


class SettingsPanel(QtWidgets.QGroupBox):
    """The camera's settings, as it reports them; a change is sent to the camera."""

    settingChanged = QtCore.Signal(str, str)

    def __init__(self) -> None:
        super().__init__("Camera settings")
        self.form = QtWidgets.QFormLayout(self)
        self.boxes: dict[str, QtWidgets.QComboBox] = {}
        self.placeholder: QtWidgets.QLabel | None = QtWidgets.QLabel("waiting for the camera…")
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
