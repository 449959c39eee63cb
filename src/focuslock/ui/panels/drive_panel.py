"""The focus drive's buttons: fine and coarse, near and far."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["DrivePanel"]


class DrivePanel(QtWidgets.QGroupBox):
    """Fine and coarse focus drive, near and far."""

    drive = QtCore.Signal(int)
    # The live-view zoom button (V).
    zoom = QtCore.Signal()

    def __init__(self, fine_steps: int = 1, coarse_steps: int = 10) -> None:
        super().__init__("Focus drive")
        layout = QtWidgets.QGridLayout(self)
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        self._tips: dict[str, str] = {}  # each button's own tooltip, a reason added to it
        # Two rows (fine above coarse), near on the left: fits the panel's column.
        for (row, column), (key, label, steps) in zip(((0, 0), (0, 1), (1, 0), (1, 1)), (
            ("near_fine", "◀ near  [", -fine_steps), ("far_fine", "far ▶  ]", fine_steps),
            ("near_coarse", "◀◀ near  {", -coarse_steps), ("far_coarse", "far ▶▶  }", coarse_steps),
        ), strict=True):
            button = QtWidgets.QPushButton(label)
            button.setMinimumHeight(30)
            tip = f"Drive focus {abs(steps)} step{'s' if abs(steps) > 1 else ''} {'nearer' if steps < 0 else 'farther'}"
            button.setToolTip(tip)
            self._tips[key] = tip
            button.clicked.connect(lambda _=False, n=steps: self.drive.emit(n))
            layout.addWidget(button, row, column)
            self.buttons[key] = button
        self.zoom_button = QtWidgets.QPushButton("live-view zoom  V")
        self.zoom_button.setToolTip("Zoom the camera's live view 5×, 10×, back to 1×, on the box")
        self.zoom_button.clicked.connect(self.zoom.emit)
        layout.addWidget(self.zoom_button, 2, 0, 1, 2)
        self.position = QtWidgets.QLabel("driven 0 steps")
        self.position.setWordWrap(True)
        layout.addWidget(self.position, 3, 0, 1, 2)

    def show_position(self, steps: int) -> None:
        """Where the drive is: ``steps`` from where the window opened."""
        self.position.setText(f"driven {steps:+d} steps")

    def set_available(self, available: bool, reason: str = "") -> None:
        """The drive's buttons on or off; off, the reason is on each and under them."""
        for key, button in self.buttons.items():
            button.setEnabled(available)
            button.setToolTip(reason if not available and reason else self._tips[key])
        if not available and reason:
            self.position.setText(reason)

    def set_doubt(self, reason: str) -> None:
        """The drive is offered but may not move the lens: ``reason`` on its buttons."""
        for key, button in self.buttons.items():
            button.setToolTip(f"{self._tips[key]}. {reason}")

    def set_zoom_available(self, available: bool, reason: str = "") -> None:
        self.zoom_button.setEnabled(available)
        if not available and reason:
            self.zoom_button.setToolTip(reason)
