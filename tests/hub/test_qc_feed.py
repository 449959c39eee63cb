"""``focuslock hub serve`` on a real PostgreSQL hub and a real uvicorn on a loopback port,
read by real HTTP and WebSocket clients: shots sent as a station's sync sends them reach
an open page's socket (LISTEN/NOTIFY, no polling), the day's list, the hub stopped and
started again, the previews, the OpenAPI schema and the command itself."""

from __future__ import annotations

import datetime as _dt
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route, WebSocketRoute
from websockets.sync.client import connect

from focuslock.hub.connection import connect as connect_hub
from focuslock.hub.connection import migrate
from focuslock.hub.numbers import register_station
from focuslock.hub.send import send_batch, send_session
from focuslock.hub.station import Station
from focuslock.serve.qc_app import qc_routes
from focuslock.serve.qc_server import start_qc_server
from focuslock.session.outbox import OutboxShot, SessionFacts
from focuslock.session.records import LoggedShot, ShotPreviews, ShotRecord
from focuslock.testing.hub_shots import replace_shot
from tests.hub.qc_support import land_shot, shot_list, wait_for


@pytest.fixture
def hub(hub_url):
    migrate(hub_url)
    return hub_url


@pytest.fixture
def qc(hub):
    running = start_qc_server(hub, port=0)
    try:
        yield running
    finally:
        running.stop()


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _socket(qc):
    return connect(qc.url.replace("http://", "ws://") + "api/events", open_timeout=30)


def _next(socket, kind: str, timeout_s: float = 30.0) -> dict:
    """The next message of ``kind`` (pings and others passed over)."""
    while True:
        message = json.loads(socket.recv(timeout=timeout_s))
        if message["type"] == kind:
            return message


def _before(socket, kind: str, timeout_s: float = 30.0) -> list[dict]:
    """The messages (pings left out) up to and with the next of ``kind``."""
    told = []
    while not told or told[-1]["type"] != kind:
        message = json.loads(socket.recv(timeout=timeout_s))
        if message["type"] != "ping":
            told.append(message)
    return told


def _until_shown(socket, name: str) -> None:
    """Read until the page has been given the shot ``name`` (in the whole picture or as it landed)."""
    while True:
        message = json.loads(socket.recv(timeout=30))
        if name in [s["name"] for s in message.get("shots", [])]:
            return


def _live_snapshot(socket) -> dict:
    while True:
        message = _next(socket, "snapshot")
        if message["hub"]["up"]:
            return message


def test_a_shot_a_station_sends_reaches_an_open_page_with_its_verdict_and_previews(hub, qc):
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    with _socket(qc) as socket:
        _until_shown(socket, "A1_001.jpg")
        land_shot(hub, "south", 1, "B2_001.jpg", "B2", "soft", "feature 1 is soft", picture="pcb_001.jpg")
        landed = _next(socket, "shots")
        day = _next(socket, "day")["day"]
    shot = landed["shots"][0]
    assert (shot["station"], shot["name"], shot["sku"], shot["verdict"], shot["reason"]) == \
        ("south", "B2_001.jpg", "B2", "soft", "feature 1 is soft")
    assert day["counts"]["soft"] == 1 and day["counts"]["pass"] == 1
    for which in ("thumbnail", "crop"):
        status, headers, body = _get(f"{qc.url}api/shots/{shot['id']}/{which}.jpg")
        assert status == 200 and headers["content-type"] == "image/jpeg" and body[:3] == b"\xff\xd8\xff"
        assert headers["x-content-type-options"] == "nosniff"
    assert _get(f"{qc.url}api/shots/999999/crop.jpg")[0] == 404


def test_a_resent_batch_adds_no_second_shot_to_the_page(hub, qc):
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    with _socket(qc) as socket:
        _until_shown(socket, "A1_001.jpg")
        land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")  # the station killed before it marked the batch sent
        land_shot(hub, "north", 2, "A1_002.jpg", "A1", "pass")
        landed = _next(socket, "shots")
        day = _next(socket, "day")["day"]
    assert [s["name"] for s in landed["shots"]] == ["A1_002.jpg"]
    assert day["counts"]["pass"] == 2


def test_a_shot_whose_batch_commits_after_later_shots_still_reaches_the_page(hub, qc):
    """A station's batch holds the lower hub id but commits last (another station's shots
    committed meanwhile): the page gets it all the same."""
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    now = _dt.datetime.now(_dt.UTC).isoformat()
    slow = connect_hub(hub)
    try:
        with _socket(qc) as socket:
            _until_shown(socket, "A1_001.jpg")
            station, shot = Station("id-slow", "slow"), ShotRecord(name="SLOW_001.jpg", files=(), verdict="pass")
            number = register_station(slow, station)  # once per connection, as the sync does
            send_session(slow, station, SessionFacts("late", "late", now, {}))
            slow.commit()
            send_batch(slow, station, number, "late", [OutboxShot(LoggedShot(0, 1, now, shot), ShotPreviews())])  # open
            for n in range(2, 5):
                land_shot(hub, "north", n, f"A1_00{n}.jpg", "A1", "pass")
            _until_shown(socket, "A1_004.jpg")
            slow.commit()
            _until_shown(socket, "SLOW_001.jpg")
    finally:
        slow.close()
    shots = json.loads(_get(qc.url + "api/shots")[2])["shots"]
    assert sorted(s["name"] for s in shots) == ["A1_001.jpg", "A1_002.jpg", "A1_003.jpg", "A1_004.jpg", "SLOW_001.jpg"]


def test_a_shot_set_aside_leaves_an_open_page_at_once(hub, qc):
    """The new user's audit: a shot replaced on the hub (its file judged again by
    check-archive: the old row set aside, the new verdict a new shot, in one transaction
    as a station's sync sends them) stayed on an open page until it was reloaded. The
    page is told (``replaced``), then the new shot, and a page opened later never has it."""
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    land_shot(hub, "north", 2, "A1_002.jpg", "A1", "pass")
    with _socket(qc) as socket:
        _until_shown(socket, "A1_002.jpg")
        old = next(s["id"] for s in json.loads(_get(qc.url + "api/shots")[2])["shots"] if s["name"] == "A1_001.jpg")
        replace_shot(hub, "north", 1, 3, "A1_001.jpg", "A1", "soft", "feature 1 is soft")
        told = _before(socket, "shots")  # the page is told before (or with) the replacement's card
        assert [m["ids"] for m in told if m["type"] == "replaced"] == [[old]], told
        landed = told[-1]["shots"]
        day = _next(socket, "day")["day"]
    assert [(s["name"], s["verdict"]) for s in landed] == [("A1_001.jpg", "soft")]
    assert day["counts"]["pass"] == 1 and day["counts"]["soft"] == 1  # the old PASS no longer counted
    with _socket(qc) as socket:
        names = sorted((s["name"], s["verdict"]) for s in _live_snapshot(socket)["shots"])
    assert names == [("A1_001.jpg", "soft"), ("A1_002.jpg", "pass")]


def test_the_days_list_has_the_sku_not_shot_the_soft_one_and_the_misnamed_shot(hub, qc):
    shot_list(hub, [("A1", "mug"), ("B2", "lamp"), ("C3", "watch")])
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    land_shot(hub, "north", 2, "B2_001.jpg", "B2", "soft", "feature 1 is soft")
    land_shot(hub, "south", 1, "X9_001.jpg", "X9", "pass")  # a SKU the list does not have
    land_shot(hub, "south", 2, "nameless.jpg", None, "uncertain", "feature 1: too dark")
    status, _, body = _get(qc.url + "api/day")
    assert status == 200
    day = json.loads(body)
    assert [s["sku"] for s in day["not_shot"]] == ["C3"]
    assert [(s["sku"], s["last_verdict"], s["shots"], s["passed"]) for s in day["to_reshoot"]] == [("B2", "soft", 1, 0)]
    assert sorted((m["name"], m["sku"]) for m in day["misnamed"]) == [("X9_001.jpg", "X9"), ("nameless.jpg", None)]
    assert {s["name"]: (s["sessions"], s["counts"]) for s in day["stations"]} == {
        "north": (1, {"pass": 1, "soft": 1, "drift": 0, "uncertain": 0}),
        "south": (1, {"pass": 1, "soft": 0, "drift": 0, "uncertain": 1})}
    # A SKU shot again and passing leaves the list to reshoot.
    land_shot(hub, "north", 3, "B2_002.jpg", "B2", "pass")
    assert json.loads(_get(qc.url + "api/day")[2])["to_reshoot"] == []


def test_a_long_list_is_sent_in_part_and_counted_whole(hub, qc):
    shot_list(hub, [(f"P{n:04d}", f"product {n}") for n in range(305)])
    day = json.loads(_get(qc.url + "api/day")[2])
    assert len(day["not_shot"]) == 300 and day["sizes"]["not_shot"] == 305 and day["listed"] == 305


def test_without_a_shot_list_nothing_is_called_misnamed_or_not_shot(hub, qc):
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    day = json.loads(_get(qc.url + "api/day")[2])
    assert day["has_list"] is False and day["misnamed"] == [] and day["not_shot"] == []


def test_the_hub_stopped_is_told_at_once_and_the_page_is_live_again_when_it_restarts(hub, qc, postgres_cluster):
    with _socket(qc) as socket:
        _live_snapshot(socket)
        postgres_cluster.stop()
        try:
            away = _next(socket, "hub")
            assert away["hub"]["up"] is False and "went away" in away["hub"]["message"]
            status, _, body = _get(qc.url + "api/day")
            assert status == 503 and "hub" in json.loads(body)["error"]
        finally:
            postgres_cluster.start()
        back = _live_snapshot(socket)  # the whole picture again: shots may have landed meanwhile
        assert back["shots"] == []
        land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
        assert [s["name"] for s in _next(socket, "shots")["shots"]] == ["A1_001.jpg"]


def test_the_openapi_schema_is_valid_and_lists_every_route(qc):
    schema = json.loads(_get(qc.url + "openapi.json")[2])
    validate(schema)
    listed = {(path.replace("{shot_id}", "{shot_id:int}"), method.upper())
              for path, item in schema["paths"].items() for method in item}
    served = set()
    for route in qc_routes():
        if isinstance(route, WebSocketRoute):
            served.add((route.path, "GET"))
        elif isinstance(route, Route):
            served |= {(route.path, method) for method in route.methods if method != "HEAD"}
    assert listed == served


def test_the_command_serves_the_page_until_sigterm(hub, tmp_path):
    land_shot(hub, "north", 1, "A1_001.jpg", "A1", "pass")
    process = subprocess.Popen([sys.executable, "-m", "focuslock", "hub", "serve", hub, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "FOCUSLOCK_CONFIG_DIR": str(tmp_path / "config")})
    try:
        line = process.stdout.readline()
        assert line.startswith("QC page of the hub postgresql://"), line + process.stderr.read()
        url = line.split(" on ", 1)[1].split()[0]
        day = wait_for(lambda: json.loads(_get(url + "api/day")[2]), what="the day from the command's server")
        assert day["counts"]["pass"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_the_command_refuses_a_hub_never_initialised_in_one_sentence(postgres_cluster):
    url = postgres_cluster.create_database()
    result = subprocess.run([sys.executable, "-m", "focuslock", "hub", "serve", url, "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "hub init" in result.stderr + result.stdout


def test_a_hub_away_when_the_server_starts_is_said_and_nothing_is_shown_as_live(hub, postgres_cluster):
    postgres_cluster.stop()
    try:
        running = start_qc_server(hub, port=0)
        try:
            with _socket(running) as socket:
                first = json.loads(socket.recv(timeout=30))
                assert first["type"] == "snapshot" and first["hub"]["up"] is False and first["shots"] == []
                if "cannot be reached" not in first["hub"]["message"]:
                    assert "cannot be reached" in _next(socket, "hub")["hub"]["message"]
                assert _get(running.url + "api/day")[0] == 503
                postgres_cluster.start()
                assert _live_snapshot(socket)["hub"]["up"] is True
        finally:
            running.stop()
    finally:
        if not postgres_cluster.is_running():
            postgres_cluster.start()
