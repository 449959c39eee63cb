"""The depth of field panel: lens and body from the catalog, the magnification, the result."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from focuslock.optics.catalog import Catalog
from focuslock.optics.coc import LiveViewCoc
from focuslock.optics.dof import DofResult
from focuslock.runtime.pipeline import OpticsSettings

__all__ = ["DofPanel", "user_coc_note"]


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
        self.result.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
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

    def show_result(self, optics: DofResult | None, coc: LiveViewCoc | None = None) -> None:
        """The depth of field; with ``coc`` (live view's), where the CoC comes from when
        the user gave it in pixels (--coc-px): it sets the depth of field and the stack
        plan too, unless a body's CoC is chosen here."""
        if optics is None:
            self.result.setText("Not enough known: choose a lens or give a magnification."
                                + (f"\n{user_coc_note(None, coc)}" if coc is not None and coc.source == "user" else ""))
            return
        far = "∞" if math.isinf(optics.far_mm) else f"{optics.far_mm:.2f} mm"
        total = "∞" if math.isinf(optics.total_mm) else f"{optics.total_mm:.3f} mm"
        text = (f"f/{optics.f_number:g} (effective f/{optics.effective_f_number:.3g}), {optics.magnification:.3g}×\n"
                f"near {optics.near_mm:.2f} mm, far {far}\n"
                f"depth {total} (wave optics {optics.wave_dof_mm:.3f} mm)\n"
                f"Airy disk {optics.airy_disk_um:.1f} µm, CoC {optics.coc_mm * 1000:.0f} µm")
        note = user_coc_note(optics, coc)
        if note:
            text += "\n" + note
        if optics.warnings:
            text += "\n⚠ " + optics.warnings[0]
        self.result.setText(text)


def user_coc_note(optics: DofResult | None, coc: LiveViewCoc | None) -> str | None:
    """Where a CoC the user gave in pixels (--coc-px, a recipe's) acts, in plain words:
    it always decides in focus / out of focus; it also sets the depth of field shown and
    the stack plan's step (it is the CoC of ``optics``) unless a body's CoC is chosen."""
    if coc is None or coc.source != "user":
        return None
    given = f"The blur limit you gave ({coc.coc_px:g} pixels of live view"
    given += f", {coc.coc_um:.0f} µm on the sensor)" if coc.coc_um is not None else ")"
    if optics is None:
        return given + " decides in focus or not; choose the body to see the depth of field it gives."
    if coc.coc_um is not None and abs(optics.coc_mm * 1000.0 - coc.coc_um) <= 0.05 * coc.coc_um:
        return given + (" decides in focus or not, and also sets this depth of field and the stack plan's step, "
                        "in place of the body's.")
    return given + (f" decides in focus or not; this depth of field and the stack plan use the body's "
                    f"{optics.coc_mm * 1000:.0f} µm.")
