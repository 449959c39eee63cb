"""Capture through the API in a studio session: named, downloaded verified, judged against
the recipe and logged by the same CaptureLog as ``capture --session`` and the window."""

from __future__ import annotations

import pytest

from focuslock.client import FocusClient, FocusServerError
from focuslock.runtime.pipeline import OpticsSettings, PipelineSettings
from focuslock.serve.server import start_server
from focuslock.session.store import ShotStore
from focuslock.simulators.sim import BenchConfig, SimulatedBench
from focuslock.workflows.capture_session import open_capture_session
from tests.serve.conftest import wait_for
from tests.ui.test_studio_window import _recipe

CODE = "SKU-48213-B"


def test_capture_through_the_api_names_verifies_judges_and_logs_the_shot(tmp_path, capsys):
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=20.0, capture_width_px=1024))
    bench.open()
    recipe, roi = _recipe(tmp_path, capsys, bench)  # a recipe saved from a sharp capture, as a studio makes one
    folder = tmp_path / "studio"
    running = start_server(bench, port=0, settings=PipelineSettings(optics=OpticsSettings(coc_px=2.0)),
                           capture_folder=folder, shot_log=open_capture_session(folder, recipe))
    client = FocusClient(running.url)
    try:
        wait_for(lambda: running.host.latest() is not None, what="a first frame")
        assert client.set_sku(CODE) == {"sku": CODE}
        events = client.events()
        first = client.capture()
        assert [p.rsplit("/", 1)[-1] for p in first["files"]] == [f"studio_{CODE}_001.JPG"]
        assert first["shot"]["verdict"] == "pass" and "PASS" in first["text"].upper()
        kinds = []
        for message in events:
            if message["type"] != "focus":
                kinds.append(message["type"])
            if kinds[-2:] == ["captured", "checked"]:
                break
        events.close()
        client.drive(250)  # well off the numeral
        second = client.capture(sku="OTHER-1")
        assert second["files"][0].endswith("studio_OTHER-1_002.JPG") and second["shot"]["verdict"] == "soft"
        with pytest.raises(FocusServerError) as refused:
            client.set_sku("\x00bad")
        assert refused.value.status == 400
    finally:
        running.stop()
    with ShotStore.read(folder) as log:
        logged = [(s.record.name, s.record.sku, s.record.verdict) for s in log.shots()]
    assert logged == [(f"studio_{CODE}_001.JPG", CODE, "pass"), ("studio_OTHER-1_002.JPG", "OTHER-1", "soft")]
    assert (folder / f"studio_{CODE}_001.JPG").is_file()


def test_capture_without_a_session_checks_the_shot_against_the_lock(served, tmp_path):
    served.focus_on_feature()
    served.client.lock(served.roi)
    assert served.client.wait_sharp(timeout_s=20)["sharp"] is True
    outcome = served.client.capture()
    (saved,) = outcome["files"]
    assert saved.startswith(str(tmp_path / "captures"))
    (check,) = outcome["checks"]
    assert check["state"] in ("sharp", "softening") and check["blur_px"] is not None
    with pytest.raises(FocusServerError) as refused:
        served.client.set_sku("A-1")
    assert refused.value.status == 409 and "--session" in refused.value.message
