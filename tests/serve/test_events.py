"""The event WebSocket: a ``focus`` message per processed frame, an ``alarm`` when a
feature goes SOFT, ``camera`` when the camera goes and comes back, and a client that
stops reading costs the server one held message, not a queue."""

from __future__ import annotations

import base64
import os
import socket
import time

from focuslock.serve.hub import EVENTS_KEPT
from tests.serve.conftest import wait_for


def test_a_focus_message_arrives_for_each_frame_the_session_processes(served):
    host = served.running.host
    first_published = None
    sequences = []
    for message in served.client.events(limit=60):
        if message["type"] != "focus":
            continue
        if first_published is None:
            first_published = host.frames_published
        sequences.append(message["sequence"])
        assert message["fresh"] is True and message["state"] == "unlocked"
    published = host.frames_published - first_published + 1
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    # A client that reads keeps up with the session: it missed at most a few frames.
    assert len(sequences) >= 0.6 * published, (len(sequences), published)


def test_an_alarm_comes_when_the_locked_feature_goes_soft(served):
    served.focus_on_feature()
    served.client.lock(served.roi)
    assert served.client.wait_sharp(timeout_s=20)["sharp"] is True
    events = served.client.events()
    states = []
    try:
        for message in events:
            if message["type"] == "focus" and not states:
                served.client.drive(400)  # the client is listening now: rack away
            if message["type"] == "focus":
                states.append(message["state"])
            if message["type"] == "alarm":
                assert message["state"] in ("soft", "lost") and message["feature"] == 0
                break
            assert len(states) < 600, "no alarm after 600 frames"
    finally:
        events.close()
    assert "soft" in states or message["state"] == "soft"


def test_camera_gone_and_back_are_events(served):
    events = served.client.events()
    seen = []
    try:
        for message in events:
            if message["type"] == "focus" and not seen:
                served.view.bench.link.unplug()
                seen.append("unplugged")
            if message["type"] == "camera":
                seen.append(message["present"])
                if message["present"] is False:
                    served.view.bench.link.plug()
                else:
                    break
    finally:
        events.close()
        served.view.bench.link.plug()
    assert seen == ["unplugged", False, True]


def _stuck_websocket(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # byte by byte: nothing after the handshake is taken
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def test_a_client_that_stops_reading_holds_one_message_and_slows_nothing(served):
    host = served.running.host
    stuck = _stuck_websocket(served.running.port)
    try:
        wait_for(lambda: len(host.subscribers) == 1, what="the stuck client subscribed")
        subscriber = host.subscribers._all[0]
        start = host.frames_published
        # Long enough for the socket's buffers to fill: the server's sender then waits on it.
        wait_for(lambda: subscriber.skipped >= 100, timeout_s=60, what="frames skipped for the stuck client")
        assert host.frames_published - start >= 100  # the session went on processing
        assert max(host.subscribers.held()) <= 1 + EVENTS_KEPT
        # A client that reads gets today's frames meanwhile, not the stuck one's backlog.
        newest = host.frames_published
        with served.client.events() as events:
            message = next(m for m in events if m["type"] == "focus")
        assert message["sequence"] >= host.latest().status.sequence - 5 and host.frames_published >= newest
        assert max(host.subscribers.held()) <= 1 + EVENTS_KEPT
    finally:
        stuck.close()
    wait_for(lambda: len(host.subscribers) == 0, what="the stuck client's mailbox removed once it left")
    time.sleep(0)
