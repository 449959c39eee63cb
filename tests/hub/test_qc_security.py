"""``focuslock hub serve`` under ``focuslock serve``'s rules (the same Guard and token):
beyond loopback nothing without the token, not a page, a preview or the WebSocket; on
loopback another site's name (DNS rebinding) gets 400 and another site's page 403.
127.0.0.2 stands in for a network address (any host but 127.0.0.1, ::1 or localhost
asks for the token, as a LAN address would)."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from focuslock.hub.connection import migrate
from focuslock.serve.qc_server import start_qc_server
from focuslock.session.report_html import CONTENT_SECURITY_POLICY
from tests.hub.qc_support import land_shot


def _call(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
          host: str = "127.0.0.2") -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


@pytest.fixture
def hub(hub_url):
    migrate(hub_url)
    land_shot(hub_url, "north", 1, "A1_001.jpg", "A1", "pass")
    return hub_url


@pytest.fixture
def remote(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(tmp_path / "config"))
    running = start_qc_server(hub, host="127.0.0.2", port=0)
    try:
        yield running
    finally:
        running.stop()


def test_beyond_loopback_nothing_is_shown_without_the_token(remote):
    port = remote.port
    token = remote.token_path.read_text().strip()
    wrong = "Bearer " + token[:-1] + ("A" if token[-1] != "A" else "B")
    for headers in ({}, {"Authorization": wrong}, {"Cookie": "focuslock_token=" + token}):
        for path in ("/api/day", "/api/shots", "/api/shots/1/thumbnail.jpg", "/api/shots/1/crop.jpg", "/openapi.json",
                     "/report.html"):
            code, _, body = _call(port, "GET", path, headers)
            assert code == 401 and b"\xff\xd8" not in body, path
        code, answer, _ = _call(port, "GET", "/", headers)
        assert code == 303 and answer["location"] == "/login"  # the page asks for the token
    with pytest.raises(InvalidStatus) as denied:
        connect(f"ws://127.0.0.2:{port}/api/events", open_timeout=10).close()
    assert denied.value.response.status_code == 401
    bearer = {"Authorization": "Bearer " + token}
    code, answer, body = _call(port, "GET", "/api/shots/1/crop.jpg", bearer)
    assert code == 200 and answer["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert json.loads(_call(port, "GET", "/api/day", bearer)[2])["counts"]["pass"] == 1
    code, answer, body = _call(port, "GET", "/report.html", bearer)  # the day's report, as `hub report` writes it
    assert code == 200 and b"A1_001.jpg" in body and answer["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert _call(port, "GET", "/report.html?date=yesterday", bearer)[0] == 400
    with connect(f"ws://127.0.0.2:{port}/api/events", additional_headers=bearer, open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=20))["type"] == "snapshot"


def test_the_page_logs_in_with_serves_form_and_rides_on_its_cookie(remote):
    port = remote.port
    token = remote.token_path.read_text().strip()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert _call(port, "POST", "/login", form, b"token=wrong-token-wrong-token")[0] == 401
    code, headers, _ = _call(port, "POST", "/login", form, urllib.parse.urlencode({"token": token}).encode())
    assert code == 303
    jar = {"Cookie": headers["set-cookie"].split(";")[0]}
    code, headers, page = _call(port, "GET", "/", jar)
    assert code == 200 and b"Studio QC" in page
    assert "script-src 'nonce-" in headers["content-security-policy"]
    with connect(f"ws://127.0.0.2:{port}/api/events", additional_headers=jar, open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=20))["type"] == "snapshot"


def test_other_sites_cannot_read_a_loopback_qc_server_through_a_browser(hub):
    running = start_qc_server(hub, port=0)
    try:
        port = running.port
        # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
        assert _call(port, "GET", "/api/day", {"Host": f"evil.example:{port}"}, host="127.0.0.1")[0] == 400
        assert _call(port, "GET", "/api/shots/1/crop.jpg", {"Host": f"evil.example:{port}"}, host="127.0.0.1")[0] == 400
        with pytest.raises(InvalidStatus) as denied:
            connect(f"ws://127.0.0.1:{port}/api/events", origin="http://evil.example", open_timeout=10).close()
        assert denied.value.response.status_code == 403
        # No CORS: another site's page cannot read an answer either.
        code, headers, _ = _call(port, "GET", "/api/day", {"Origin": "http://evil.example"}, host="127.0.0.1")
        assert not any(k.startswith("access-control-allow") for k in headers)
        with connect(f"ws://127.0.0.1:{port}/api/events", origin=f"http://127.0.0.1:{port}", open_timeout=10) as socket:
            assert json.loads(socket.recv(timeout=20))["type"] == "snapshot"
    finally:
        running.stop()
