"""The focus drive's buttons: fine and coarse, near and far."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["DrivePanel"]


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
        ), strict=True):
            button = QtWidgets.QPushButton(label)
            button.setMinimumHeight(32)
            button.setToolTip(f"Drive focus {abs(steps)} step{'s' if abs(steps) > 1 else ''} {'nearer' if steps < 0 else 'farther'}")
            button.clicked.connect(lambda _=False, n=steps: self.drive.emit(n))
            layout.addWidget(button, row, column)
            self.buttons[key] = button
        self.position = QtWidgets.QLabel("driven 0 steps")
        self.position.setWordWrap(True)
        layout.addWidget(self.position, 2, 0, 1, 2)

    def show_position(self, steps: int) -> None:
        """Where the drive is: ``steps`` from where the window opened."""
        self.position.setText(f"driven {steps:+d} steps")

    def set_available(self, available: bool, reason: str = "") -> None:
        for button in self.buttons.values():
            button.setEnabled(available)
        if not available and reason:
            self.position.setText(reason)
