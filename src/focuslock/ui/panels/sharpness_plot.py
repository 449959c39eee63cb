"""The locked feature's blur over the last minute."""

from __future__ import annotations

import math
from collections import deque

import pyqtgraph as pg
from PySide6 import QtCore

from focuslock.overlay.focus_layer import STATE_COLOURS_RGB

__all__ = ["SharpnessPlot"]


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
        self.setLabel("left", "blur (1 = DoF edge)")
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
        self.softening_line = self._threshold_line("softening", "softening")
        self.soft_line = self._threshold_line("soft", "out of focus")
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
                    line.label.setText(f"{line.name()} from {value:g}")
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
