"""A real station into the QC page: ``focuslock watch --once --hub URL`` (a process, the
station's own sync) judges a hot folder's pictures, and a page's WebSocket open on
``focuslock hub serve`` gets each shot with the verdict the station logged and its
previews."""

from __future__ import annotations

import json
import urllib.request

from websockets.sync.client import connect

from focuslock.hub.connection import migrate
from focuslock.serve.qc_server import start_qc_server
from tests.hub.stations import local_rows, pictures, run, station_env, watch_command


def test_a_watch_stations_shots_reach_an_open_page_with_the_verdicts_it_logged(hub_url, tmp_path):
    migrate(hub_url)
    names = pictures(tmp_path / "hot", "BENCH", 3)  # the third blurred past the CoC
    running = start_qc_server(hub_url, port=0)
    try:
        with connect(running.url.replace("http://", "ws://") + "api/events", open_timeout=30) as socket:
            while not json.loads(socket.recv(timeout=30))["hub"]["up"]:
                pass
            result = run(watch_command(tmp_path / "hot", tmp_path / "session", hub_url, "bench-1"),
                         station_env(tmp_path / "config"))
            assert result.returncode == 0, result.stderr
            seen: dict[str, dict] = {}
            while len(seen) < len(names):
                message = json.loads(socket.recv(timeout=60))
                seen |= {shot["name"]: shot for shot in message.get("shots", [])}
        logged = {row[1]: row[2] for row in local_rows(tmp_path / "session")}
        assert {name: shot["verdict"] for name, shot in seen.items()} == logged
        assert "soft" in logged.values() and "pass" in logged.values()
        shot = seen[names[0]]
        assert shot["station"] == "bench-1" and shot["thumbnail"] and shot["crop"]
        with urllib.request.urlopen(f"{running.url}api/shots/{shot['id']}/thumbnail.jpg", timeout=30) as answer:
            assert answer.headers["Content-Type"] == "image/jpeg" and answer.read(3) == b"\xff\xd8\xff"
    finally:
        running.stop()
