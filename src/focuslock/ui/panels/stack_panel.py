"""Marks A and B and the focus stack between them."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["StackPanel"]


class StackPanel(QtWidgets.QGroupBox):
    """Marks A and B on the box's feature, going back to them, and a focus stack from one
    to the other with progress, pause and stop."""

    setMark = QtCore.Signal(str)
    goToMark = QtCore.Signal(str)
    calibrate = QtCore.Signal()
    shoot = QtCore.Signal()
    pauseToggled = QtCore.Signal(bool)
    stop = QtCore.Signal()
    checkStepsToggled = QtCore.Signal(bool)
    spin = QtCore.Signal(str, int)  # a turntable profile, the angles in a turn

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
        layout.addWidget(self.buttons["calibrate"], 0, 0)
        self.buttons["shoot"] = QtWidgets.QPushButton("Shoot stack A → B")
        self.buttons["shoot"].setToolTip("One frame every depth of field × 0.7 from the nearer mark to the farther, "
                                         "from the optics and the drive calibration")
        self.buttons["shoot"].clicked.connect(self.shoot.emit)
        self.check_steps = QtWidgets.QCheckBox("Check each step")
        self.check_steps.setToolTip("Check each step on live view: before each frame, wait until live view stops changing, "
                                    "measure the step against the plan, move again when it fell short; the status lists "
                                    "planned and measured shift")
        self.check_steps.toggled.connect(self.checkStepsToggled.emit)
        layout.addWidget(self.check_steps, 0, 1)
        self.turntable = QtWidgets.QLineEdit("sim-turntable")
        self.turntable.setToolTip("The turntable's profile: a name in drivers/rails/ or a .toml path")
        self.spin_steps = QtWidgets.QSpinBox()
        self.spin_steps.setRange(1, 360)
        self.spin_steps.setValue(24)
        self.spin_steps.setSuffix(" angles")
        self.buttons["spin"] = QtWidgets.QPushButton("Spin")
        self.buttons["spin"].setToolTip("Turn through the angles; at each, find the boxed feature, refocus it when it is "
                                        "not sharp, capture (named by the angle)")
        self.buttons["spin"].clicked.connect(lambda: self.spin.emit(self.turntable.text().strip(), self.spin_steps.value()))
        spin_row = QtWidgets.QHBoxLayout()
        spin_row.addWidget(self.turntable, 2)
        spin_row.addWidget(self.spin_steps, 1)
        spin_row.addWidget(self.buttons["spin"], 1)
        layout.addLayout(spin_row, 5, 0, 1, 2)
        self.buttons["pause"] = QtWidgets.QPushButton("Pause")
        self.buttons["pause"].setCheckable(True)
        self.buttons["pause"].toggled.connect(self._pause_toggled)
        self.buttons["stop"] = QtWidgets.QPushButton("Stop")
        self.buttons["stop"].setToolTip("Stop after the frame being captured; every frame shot is kept")
        self.buttons["stop"].clicked.connect(self.stop.emit)
        # The stack, its pause and its stop in one row: the side column fits a 1366×768 laptop.
        shoot_row = QtWidgets.QHBoxLayout()
        shoot_row.addWidget(self.buttons["shoot"], 2)
        shoot_row.addWidget(self.buttons["pause"], 1)
        shoot_row.addWidget(self.buttons["stop"], 1)
        layout.addLayout(shoot_row, 3, 0, 1, 2)
        # Two lines in the side column at 1366×768.
        self.status = QtWidgets.QLabel("Calibrate drive once per lens. Box what must be sharp, focus, Set A; then B.")
        self.status.setToolTip("Once per lens: Calibrate drive on a detailed feature in focus. Then box a detail that "
                               "must be sharp, focus on it, Set A; the same for B.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status, 4, 0, 1, 2)
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
