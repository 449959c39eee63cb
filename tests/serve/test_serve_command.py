"""The command itself, as a user starts it: ``focuslock serve --source sim --port 0 --roi
center:WxH`` prints where it listens, locks the feature chosen with the one --roi parser
every command uses, answers on loopback, and stops cleanly on SIGTERM. (The simulated
bench stands in for a body's live view.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request


def _status(url: str) -> dict:
    with urllib.request.urlopen(url + "api/status", timeout=10) as response:
        return json.loads(response.read())


def test_serve_locks_the_centred_feature_it_was_given_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "FOCUSLOCK_CONFIG_DIR": str(tmp_path / "config")}
    server = subprocess.Popen([sys.executable, "-m", "focuslock", "serve", "--source", "sim", "--port", "0",
                               "--roi", "center:96x64", "--out", str(tmp_path / "out")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = None
        assert server.stdout is not None
        for line in server.stdout:
            found = re.search(r"focus monitor and API on (http://\S+/)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, server.stderr.read() if server.stderr else ""
        assert url.startswith("http://127.0.0.1:"), url  # loopback unless told otherwise
        deadline = time.monotonic() + 60
        status = _status(url)
        while status["state"] == "unlocked" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = _status(url)
        assert status["state"] != "unlocked", status
        [feature] = status["features"]
        _, _, w, h = feature["roi"]
        assert (round(w), round(h)) == (96, 64)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
