"""The JSON API against a real server on a loopback port: status, lock, the focus gate
(wait-sharp), the drive, refusals, and the OpenAPI schema."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route, WebSocketRoute

from focuslock.client import FocusServerError
from focuslock.serve.app import routes
from tests.serve.conftest import wait_for


def test_status_before_any_lock_says_unlocked_live_and_names_the_camera(served):
    wait_for(lambda: served.client.status()["fps"] is not None, what="a frame rate")
    status = served.client.status()
    assert status["state"] == "unlocked" and status["locked"] is False
    assert status["fresh"] is True and status["freshness"] == "LIVE"
    assert status["camera"] and status["camera_state"] == "live"
    assert status["frame_size"] == [512, 340]
    assert status["coc_px"] == pytest.approx(served.view.coc_px, rel=1e-3)
    assert status["features"] == []


def test_wait_sharp_is_true_in_focus_and_false_once_the_drive_racks_focus_away(served):
    served.focus_on_feature()
    locked = served.client.lock(served.roi)
    assert locked["locked"] is True and len(locked["features"]) == 1
    gate = served.client.wait_sharp(timeout_s=20)
    assert gate["sharp"] is True, gate
    assert gate["state"] == "sharp"
    assert gate["status"]["coc_share"] is None or gate["status"]["coc_share"] <= 0.5

    moved = served.client.drive(400)
    assert moved["moved_steps"] == 400
    gate = served.client.wait_sharp(timeout_s=2)
    assert gate["sharp"] is False
    # It waited its whole time for a sharp frame that never came.
    assert gate["waited_s"] >= 2
    wait_for(lambda: served.client.status()["state"] == "soft", what="SOFT after racking away")
    assert served.client.status()["blur_px"] > served.client.status()["coc_px"]


def test_wait_sharp_is_false_on_a_stale_frame(served):
    served.focus_on_feature()
    served.client.lock(served.roi)
    assert served.client.wait_sharp(timeout_s=20)["sharp"] is True
    # The cable pulled: no frame follows the last sharp one (as a body's live view that stops).
    served.view.bench.link.unplug()
    try:
        wait_for(lambda: served.client.status()["fresh"] is False, what="a stale status")
        stale = served.client.status()
        assert stale["state"] == "sharp" and stale["freshness"] == "NO SIGNAL"  # the last verdict, old
        gate = served.client.wait_sharp(timeout_s=1.5)
        assert gate["sharp"] is False
    finally:
        served.view.bench.link.plug()
    assert served.client.wait_sharp(timeout_s=30)["sharp"] is True  # live again, and sharp


def test_several_features_lock_together(served):
    served.focus_on_feature()
    x, y, w, h = served.roi
    halves = [[x, y, w // 2, h], [x + w // 2, y, w - w // 2, h]]
    locked = served.client.lock(*halves)
    assert locked["locked"] is True and len(locked["features"]) == 2
    served.client.unlock()
    wait_for(lambda: served.client.status()["state"] == "unlocked", what="unlocked")


def _post_raw(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_bad_requests_get_one_sentence_and_change_nothing(served):
    base = served.running.url.rstrip("/")
    before = served.running.host.session.settings
    steps_before = served.client.status()["drive_position_steps"]
    code, answer = _post_raw(base + "/api/drive", b"{\"steps\": 10,")
    assert code == 400 and answer["error"].startswith("The request body is not valid JSON")
    code, answer = _post_raw(base + "/api/drive", b"[1, 2]")
    assert code == 400 and "JSON object" in answer["error"]
    code, answer = _post_raw(base + "/api/drive", b"{\"steps\": 10}", "text/plain")
    assert code == 415
    code, answer = _post_raw(base + "/api/drive", b"{\"steps\": NaN}")
    assert code == 400
    code, answer = _post_raw(base + "/api/drive", json.dumps({"steps": 1, "pad": "x" * 20000}).encode())
    assert code == 413
    for steps in (5001, -99999, 1.5, True, "10"):
        with pytest.raises(FocusServerError) as refused:
            served.client.drive(steps) if not isinstance(steps, (str, bool, float)) else served.client.request(
                "POST", "/api/drive", {"steps": steps})
        assert refused.value.status == 400 and refused.value.message.endswith(".")
    for body in ({"timeout_s": 1e9}, {"timeout_s": -1}, {"max_coc_share": 0}):
        with pytest.raises(FocusServerError) as refused:
            served.client.request("POST", "/api/wait-sharp", body)
        assert refused.value.status == 400
    for body in ({"roi": [0, 0, 4, 4]}, {"roi": [500, 300, 100, 100]}, {"rois": [[10, 10, 20, 20]] * 5}, {}):
        with pytest.raises(FocusServerError) as refused:
            served.client.request("POST", "/api/lock", body)
        assert refused.value.status == 400, body
    assert served.running.host.session.settings is before  # no lock, no feature changed
    assert served.client.status()["drive_position_steps"] == steps_before


def test_the_openapi_schema_is_valid_and_lists_every_route(served):
    schema = served.client.request("GET", "/openapi.json")
    validate(schema)
    listed = {(path, method.upper()) for path, item in schema["paths"].items() for method in item}
    served_routes = set()
    for route in routes():
        if isinstance(route, WebSocketRoute):
            served_routes.add((route.path, "GET"))
        elif isinstance(route, Route):
            served_routes |= {(route.path, method) for method in route.methods if method != "HEAD"}
    assert listed == served_routes
