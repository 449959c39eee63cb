"""The Qt binding must survive a window's life: thousands of repaints of a plot."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np, pyqtgraph as pg
from PySide6 import QtWidgets
app = QtWidgets.QApplication([])
plot = pg.PlotWidget(); plot.resize(400, 300); plot.show()
curve = plot.plot([0, 1], [0, 1])
for n in range(300):
    curve.setData(np.arange(100), np.random.rand(100)); plot.setXRange(-n * 0.1, 1)
    app.processEvents()
print("survived")
"""


def test_a_plot_survives_thousands_of_repaints():
    """PySide6 6.12.0 on Python 3.11 aborts within a few thousand axis repaints
    (a reference to None dropped per repaint); pyproject.toml keeps it out. Run against
    6.12.0 in a fresh process it aborts ("deallocating None") within its first 50
    repaints: 300 catch it with room to spare."""
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr[-500:]
