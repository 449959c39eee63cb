"""The window's studio session with ``--hub``: a shot taken with Space lands on the hub,
named with the hub's number for its SKU (the simulated bench stands in for a tethered
body; the session is opened as ``focuslock demo --session … --recipe … --hub URL`` does)."""

from __future__ import annotations

import psycopg
from PySide6 import QtCore

from focuslock.hub.connection import migrate
from focuslock.hub.sync import HubLink
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.ui.main_window import MainWindow
from focuslock.ui.settings_store import SettingsStore
from focuslock.workflows.capture_session import open_capture_session
from tests.ui.test_studio_window import SETTINGS, _recipe


def test_a_shot_in_the_window_lands_on_the_hub(qtbot, hub_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(tmp_path / "config"))
    migrate(hub_url)
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=20.0, capture_width_px=1024))
    bench.open()
    recipe, _ = _recipe(tmp_path, capsys, bench)
    folder = tmp_path / "studio"
    shot_log = open_capture_session(folder, recipe, sku="W-1", hub=HubLink(hub_url, "window-bench"))
    session = LiveSession(bench, processor=FramePipeline(), settings=SETTINGS)
    session.start()
    window = MainWindow(session, SETTINGS, capture_folder=folder, store=SettingsStore(tmp_path / "window.json"),
                        shot_log=shot_log)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.view.frames_shown > 3, timeout=10000)
        qtbot.keyClick(window, QtCore.Qt.Key_Space)
        qtbot.waitUntil(lambda: window.review_panel.review is not None, timeout=20000)
        assert window.review_panel.review.path.name == "studio_W-1_001.JPG"
    finally:
        window.close()
        session.stop()
        shot_log.close()  # the sync sends what is left, then stops
    with psycopg.connect(hub_url) as connection:
        rows = connection.execute("SELECT station_id, name, sku, sku_number, verdict FROM shots").fetchall()
    assert rows == [("window-bench", "studio_W-1_001.JPG", "W-1", 1, "pass")]
