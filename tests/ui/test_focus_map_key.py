"""The D key in the real window (offscreen Qt) on the simulated bench: the focus map on
and off, in the help, and drawn over live view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from focuslock.focus.focus_map import TileState
from focuslock.focus.peaking import FOCUS_MAP_DISPLAY
from focuslock.overlay.focus_map_layer import TILE_COLOURS_RGB
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline, OpticsSettings, PipelineSettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.ui.main_window import SHORTCUTS, MainWindow
from focuslock.ui.settings_store import SettingsStore

# As in test_main_window: a CoC the verdict (and the map) can resolve at 512 px.
JUDGEABLE = PipelineSettings(optics=OpticsSettings(coc_px=2.0))


@pytest.fixture
def window_on_the_bench(qtbot, tmp_path):
    # f/5.6: the tilted target spans about ±3 CoC of blur across the view.
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=30.0, f_number=5.6, exposure_s=1 / 60))
    pipeline = FramePipeline()
    session = LiveSession(bench, processor=pipeline, settings=JUDGEABLE)
    session.start()
    window = MainWindow(session, JUDGEABLE, capture_folder=tmp_path / "captures", store=SettingsStore(tmp_path / "window.json"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.view.frames_shown > 3, timeout=10000)
    yield window, bench, session, pipeline
    window.close()
    session.stop()


def _legend_shows(window, state: TileState) -> bool:
    """The legend's swatch of ``state`` (the lock's colour, exact) at the bottom of the picture shown."""
    image = window.view.image
    bottom = image[-image.shape[0] // 6:]
    return bool(np.any(np.all(bottom == TILE_COLOURS_RGB[state], axis=2)))


def test_d_turns_the_focus_map_on_and_off(qtbot, window_on_the_bench):
    window, bench, session, pipeline = window_on_the_bench
    assert any(key == "D" and "focus map" in what for key, what in SHORTCUTS)
    assert "focus map" in window.help.text()
    assert window.settings.focus.peaking.display == "colour"
    qtbot.keyClick(window, QtCore.Qt.Key_D)
    assert window.peaking_panel.display.currentText() == FOCUS_MAP_DISPLAY
    assert window.settings.focus.peaking.display == FOCUS_MAP_DISPLAY
    assert window.status_label.text().startswith("Focus map: rack focus")
    # Lock on the coin (the map judges against the lock's CoC), then rack focus through
    # the scene and back: the legend is drawn over live view, and parts are judged.
    roi = bench.landmark_roi_px("coin-numeral")
    best = int(round(bench.best_focus_position_steps(roi)))
    session.drive_focus(best).result(timeout=5)
    window.choose_feature(*roi)
    qtbot.wait(300)
    window.toggle_lock()
    qtbot.waitUntil(lambda: window.banner.state in ("sharp", "uncertain"), timeout=5000)
    qtbot.waitUntil(lambda: _legend_shows(window, TileState.IN_FOCUS) and _legend_shows(window, TileState.EDGE),
                    timeout=5000)
    for steps in [-900] + [30] * 60 + [-30] * 30:  # far beyond the target, through it, back to the coin
        session.drive_focus(steps).result(timeout=5)
        qtbot.wait(40)
    qtbot.wait(1500)  # the references still due are built, a few a frame
    view = pipeline.overlay.focus_map._last
    assert view is not None and view.result is not None
    states = view.result.states
    assert np.count_nonzero(states == TileState.IN_FOCUS) >= 2, np.bincount(states, minlength=6)
    assert np.count_nonzero(states == TileState.OUT) >= 5, np.bincount(states, minlength=6)
    # D again: back to colour peaking, and the map's legend is gone from the picture.
    qtbot.keyClick(window, QtCore.Qt.Key_D)
    assert window.peaking_panel.display.currentText() == "colour"
    assert window.settings.focus.peaking.display == "colour"
    shown = window.view.frames_shown
    qtbot.waitUntil(lambda: window.view.frames_shown > shown + 3, timeout=5000)
    assert not _legend_shows(window, TileState.EDGE)
    assert pipeline.overlay.focus_map.map is None
