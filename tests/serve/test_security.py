"""Beyond loopback the server needs its token. 127.0.0.2 stands in for a network address
(any host but 127.0.0.1, ::1 or localhost asks for the token, as a LAN address would)."""

from __future__ import annotations

import http.client
import json
import os
import stat
import urllib.parse
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from focuslock.client import FocusClient, FocusServerError
from focuslock.serve.auth import TokenError, load_or_make_token
from tests.serve.conftest import serve_bench


def _call(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
          host: str = "127.0.0.2") -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


@pytest.fixture
def remote(tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(tmp_path / "config"))
    running, view = serve_bench(host="127.0.0.2")
    try:
        yield running, view
    finally:
        running.stop()


def test_the_token_is_made_private_in_the_config_folder(remote, tmp_path):
    running, _ = remote
    assert running.token_path == tmp_path / "config" / "serve-token"
    assert stat.S_IMODE(os.stat(running.token_path).st_mode) == 0o600
    token = running.token_path.read_text().strip()
    assert len(token) >= 40
    assert load_or_make_token(running.token_path)[0] == token  # the same token next time


def test_no_token_or_a_wrong_one_gets_401_and_changes_nothing(remote):
    running, view = remote
    port = running.port
    token = running.token_path.read_text().strip()
    settings_before = running.host.session.settings
    steps_before = running.host.latest().analysis.frame.metadata["sim_truth"].focus_position_steps
    json_body = {"Content-Type": "application/json"}
    for headers in ({}, {"Authorization": "Bearer " + token[:-1] + ("A" if token[-1] != "A" else "B")},
                    {"Authorization": token}, {"Cookie": "focuslock_token=" + token}):
        assert _call(port, "GET", "/api/status", headers)[0] == 401
        assert _call(port, "POST", "/api/drive", {**headers, **json_body}, b"{\"steps\": 300}")[0] == 401
        assert _call(port, "POST", "/api/lock", {**headers, **json_body}, json.dumps({"roi": list(view.roi_px)}).encode())[0] == 401
        assert _call(port, "GET", "/api/frame.jpg", headers)[0] == 401
        assert _call(port, "GET", "/openapi.json", headers)[0] == 401
    with pytest.raises(FocusServerError) as refused:
        FocusClient(running.url).drive(300)
    assert refused.value.status == 401
    with pytest.raises(InvalidStatus) as denied:
        connect(f"ws://127.0.0.2:{port}/api/events", open_timeout=10).close()
    assert denied.value.response.status_code == 401  # the same answer as any request without the token
    # Nothing changed: no drive, no lock.
    client = FocusClient(running.url, token=token)
    assert running.host.session.settings is settings_before
    assert client.status()["drive_position_steps"] == 0
    assert running.host.latest().analysis.frame.metadata["sim_truth"].focus_position_steps == steps_before
    # The right token: 200, and the drive moves.
    assert _call(port, "GET", "/api/status", {"Authorization": "Bearer " + token})[0] == 200
    assert client.drive(30)["moved_steps"] == 30
    with connect(f"ws://127.0.0.2:{port}/api/events", additional_headers={"Authorization": "Bearer " + token},
                 open_timeout=10) as socket:
        assert '"type":"focus"' in socket.recv(timeout=20)


def test_the_page_logs_in_once_and_then_rides_on_its_cookie(remote):
    running, _ = remote
    port = running.port
    token = running.token_path.read_text().strip()
    code, headers, _ = _call(port, "GET", "/")
    assert code == 303 and headers["location"] == "/login"
    assert _call(port, "GET", "/login")[0] == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    code, headers, page = _call(port, "POST", "/login", form, b"token=wrong-token-wrong-token")
    assert code == 401 and b"not the token" in page and "set-cookie" not in {k.lower() for k in headers}
    code, headers, _ = _call(port, "POST", "/login", form, urllib.parse.urlencode({"token": token}).encode())
    assert code == 303
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and token not in cookie
    jar = {"Cookie": cookie.split(";")[0]}
    assert _call(port, "GET", "/", jar)[0] == 200
    assert _call(port, "GET", "/api/status", jar)[0] == 200
    with connect(f"ws://127.0.0.2:{port}/api/events", additional_headers=jar, open_timeout=10) as socket:
        assert '"type":"focus"' in socket.recv(timeout=20)


def test_other_sites_cannot_reach_a_loopback_server_through_a_browser(served):
    port = served.running.port
    settings_before = served.running.host.session.settings
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    assert _call(port, "GET", "/api/status", {"Host": f"evil.example:{port}"}, host="127.0.0.1")[0] == 400
    # A page of another site posting to the loopback server (a form needs no pre-flight).
    body = json.dumps({"roi": served.roi}).encode()
    code, _, _ = _call(port, "POST", "/api/lock", {"Origin": "http://evil.example", "Content-Type": "application/json"},
                       body, host="127.0.0.1")
    assert code == 403
    assert _call(port, "POST", "/api/unlock", {"Origin": "http://evil.example"}, b"", host="127.0.0.1")[0] == 403
    with pytest.raises(InvalidStatus) as denied:
        connect(f"ws://127.0.0.1:{port}/api/events", origin="http://evil.example", open_timeout=10).close()
    assert denied.value.response.status_code == 403
    # No CORS: a pre-flight is not granted.
    code, headers, _ = _call(port, "OPTIONS", "/api/lock", {"Origin": "http://evil.example",
                                                             "Access-Control-Request-Method": "POST"}, host="127.0.0.1")
    assert code >= 400 and not any(k.lower().startswith("access-control-allow") for k in headers)
    assert served.running.host.session.settings is settings_before


def test_a_token_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("a-token-long-enough-to-be-one\n")
    path.chmod(0o644)
    with pytest.raises(TokenError, match="chmod 600"):
        load_or_make_token(path)
    path.chmod(0o600)
    assert load_or_make_token(path) == ("a-token-long-enough-to-be-one", path)


def test_a_token_file_that_is_not_a_private_regular_file_is_one_sentence(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    (tmp_path / "folder").mkdir()
    short = tmp_path / "short"
    short.write_text("abc\n")
    short.chmod(0o600)
    for path in (fifo, loop, tmp_path / "folder", short, Path("/dev/zero")):
        with pytest.raises(TokenError) as refused:
            load_or_make_token(path)
        assert str(path) in refused.value.user_message and refused.value.user_message.endswith(".")
