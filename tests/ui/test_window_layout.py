"""The window's remembered layout (issue 30.4): restored only where it fits and is not
much smaller than the screen; a --screenshot run leaves it alone. Real widgets
(offscreen), the real settings file in FOCUSLOCK_CONFIG_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore

from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline, OpticsSettings, PipelineSettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.ui.main_window import MainWindow
from focuslock.ui.settings_store import SettingsStore
from focuslock.ui.window_layout import DEFAULT_SIZE_PX, layout_fits

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = PipelineSettings(optics=OpticsSettings(coc_px=2.0))


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(tmp_path / "config"))
    sessions = []

    def make() -> MainWindow:
        session = LiveSession(SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=30.0)),
                              processor=FramePipeline(), settings=SETTINGS)
        session.start()
        sessions.append(session)
        window = MainWindow(session, SETTINGS, capture_folder=tmp_path / "captures", store=SettingsStore())
        qtbot.addWidget(window)
        window.show()
        return window

    yield make
    for session in sessions:
        session.stop()


def test_a_layout_remembered_on_a_smaller_screen_is_not_restored(qtbot, tmp_path, open_window):
    window = open_window()
    window.resize(1077, 419)
    qtbot.waitUntil(lambda: window.size() == QtCore.QSize(1077, 419), timeout=2000)
    window.close()
    saved = json.loads((tmp_path / "config" / "window.json").read_text())
    assert saved["geometry"]  # the real file, where the user's config lives
    again = open_window()
    # Fitted to the screen instead (offscreen: the default size, less the margins).
    assert again.width() >= 0.9 * DEFAULT_SIZE_PX[0] and again.height() >= 0.9 * DEFAULT_SIZE_PX[1]
    assert again.size() != QtCore.QSize(1077, 419)


def test_a_layout_that_fits_is_restored(qtbot, tmp_path, open_window):
    window = open_window()
    window.resize(1200, 800)
    window.side_tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: window.size() == QtCore.QSize(1200, 800), timeout=2000)
    window.close()
    again = open_window()
    assert again.size() == QtCore.QSize(1200, 800)
    assert again.side_tabs.tabText(again.side_tabs.currentIndex()) == "Camera"  # the tab in front, too


@pytest.mark.parametrize(("width", "height", "restored"), [
    (1077, 419, False),   # the window on a 1920×1080 screen
    (1366, 728, True),    # a laptop's full screen: 71 % of a 1920×1080 one
    (1100, 1000, False),  # 57 % of its width
    (1800, 1000, True),
    (1920, 1040, True),
    (2400, 1300, False),  # larger than the screen: remembered on a bigger one
])
def test_which_remembered_sizes_fit_a_1920_by_1080_screen(width, height, restored):
    available = QtCore.QRect(0, 0, 1920, 1040)
    assert layout_fits(QtCore.QRect(0, 0, width, height), available) is restored


def test_a_screenshot_run_saves_no_layout(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    remembered = {"geometry": "AdnQywADAAA=", "window_state": "AAAA/w==", "note": "the user's"}
    (config / "window.json").write_text(json.dumps(remembered))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FOCUSLOCK_CONFIG_DIR": str(config)}
    shot = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "focuslock", "live", "--source", "sim", "--screenshot", str(shot),
                           "--quit-after", "2"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    saved = json.loads((config / "window.json").read_text())
    assert saved["geometry"] == remembered["geometry"] and saved["window_state"] == remembered["window_state"]


# The window's inside on a 1366×768 laptop (a 32 px task bar, a 30 px title bar) and on
# a 1920×1080 screen.
@pytest.mark.parametrize(("width", "height"), [(1366, 706), (1920, 1018)])
def test_the_side_column_needs_no_scrolling(qtbot, open_window, width, height):
    window = open_window()
    window.resize(width, height)
    window.resizeDocks([window.dock], [340], QtCore.Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: window.size() == QtCore.QSize(width, height), timeout=2000)
    scroll = window.dock.widget()
    tabs = window.side_tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Shoot", "Lens", "Camera"]
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        qtbot.wait(50)
        assert not scroll.verticalScrollBar().isVisible(), (tabs.tabText(index), scroll.widget().sizeHint(),
                                                            scroll.viewport().size())
    # In front: the drive, Capture and the marks, whole, and the live view keeps most of the width.
    tabs.setCurrentIndex(0)
    qtbot.wait(50)
    for panel in (window.drive_panel, window.capture_panel, window.stack_panel):
        assert panel.isVisible()
        bottom = panel.mapTo(scroll.viewport(), QtCore.QPoint(0, panel.height())).y()
        assert bottom <= scroll.viewport().height(), panel.title()
    assert window.stack_panel.buttons["set_A"].isVisible() and window.capture_panel.button.isVisible()
    assert window.view.width() >= 0.6 * width
