"""``serve --session --hub``: a capture through the API lands on the hub with its verdict,
its SKU number from the hub in the name, and its two previews (the simulated bench stands
in for a tethered body). The window opens its session with the same
``open_capture_session`` and so syncs the same way."""

from __future__ import annotations

import cv2
import numpy as np
import psycopg

from focuslock.client import FocusClient
from focuslock.hub.connection import migrate
from focuslock.hub.sync import HubLink
from focuslock.runtime.pipeline import OpticsSettings, PipelineSettings
from focuslock.serve.server import start_server
from focuslock.simulators.sim import BenchConfig, SimulatedBench
from focuslock.workflows.capture_session import open_capture_session
from tests.serve.conftest import wait_for
from tests.ui.test_studio_window import _recipe


def test_a_capture_through_the_server_lands_on_the_hub_with_its_previews(hub_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(tmp_path / "config"))
    migrate(hub_url)
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=20.0, capture_width_px=1024))
    bench.open()
    recipe, _ = _recipe(tmp_path, capsys, bench)
    folder = tmp_path / "studio"
    shot_log = open_capture_session(folder, recipe, hub=HubLink(hub_url, "tablet-bench"))
    running = start_server(bench, port=0, settings=PipelineSettings(optics=OpticsSettings(coc_px=2.0)),
                           capture_folder=folder, shot_log=shot_log)
    try:
        client = FocusClient(running.url)
        wait_for(lambda: running.host.latest() is not None, what="a first frame")
        client.set_sku("P-7")
        shot = client.capture()
    finally:
        running.stop()  # closes the session: the sync sends what is left
    assert shot["files"][0].endswith("studio_P-7_001.JPG") and shot["shot"]["verdict"] == "pass"
    with psycopg.connect(hub_url) as connection:
        row = connection.execute("SELECT station_id, name, sku, sku_number, verdict, thumbnail_jpeg, crop_jpeg "
                                 "FROM shots").fetchone()
    assert row[:5] == ("tablet-bench", "studio_P-7_001.JPG", "P-7", 1, "pass")
    thumbnail = cv2.imdecode(np.frombuffer(row[5], np.uint8), cv2.IMREAD_COLOR)
    crop = cv2.imdecode(np.frombuffer(row[6], np.uint8), cv2.IMREAD_COLOR)
    assert max(thumbnail.shape[:2]) == 320 and len(row[5]) <= 40 * 1024
    assert 8 <= min(crop.shape[:2]) and max(crop.shape[:2]) <= 320
