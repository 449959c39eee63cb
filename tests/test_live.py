"""The live session over real sources: the simulated bench and real image folders.

Faults come from the bench's own simulated cable (BenchLink), not from a mock.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from focuslock.devices.base import CameraError
from focuslock.devices.folder import FolderCamera
from focuslock.runtime.live import LiveSession
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.bench_link import BenchLink
from focuslock.simulators.sim import SimulatedBench
from tests.camera.test_contract import _textured

FAST = dict(live_view_size_px=(256, 170), frame_rate_hz=60.0, motion_margin_px=8)


def _wait_for(predicate, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_analyses_flow_and_start_stop_are_idempotent():
    session = LiveSession(SimulatedBench(BenchConfig(**FAST)))
    session.start()
    session.start()
    sequences = []
    for _ in range(5):
        analysis = session.next_analysis(timeout_s=3.0)
        assert analysis is not None
        sequences.append(analysis.frame.sequence)
        assert analysis.processing_ms >= 0 and analysis.latency_ms >= 0
        assert analysis.camera_status.state == "live"
    assert sequences == sorted(sequences) and len(set(sequences)) == 5
    session.stop()
    session.stop()
    assert session.status.state == "stopped"
    assert session.next_analysis(timeout_s=0.1) is None


def test_commands_run_on_the_acquisition_thread_between_frames(tmp_path):
    with LiveSession(SimulatedBench(BenchConfig(**FAST, capture_width_px=600))) as session:
        assert session.next_analysis(3.0) is not None
        thread_name = session.submit(lambda camera: threading.current_thread().name).result(3.0)
        assert thread_name == "focuslock-acquisition"
        assert session.drive_focus(7).result(3.0) == 7
        _wait_for(lambda: (a := session.next_analysis(0.5)) is not None and a.frame.metadata["sim_truth"].focus_position_steps == 7)
        paths = session.capture(tmp_path).result(10.0)
        assert paths and paths[0].exists()
        session.set_setting("aperture", "11").result(3.0)
        assert _wait_for(lambda: (a := session.next_analysis(0.5)) is not None and a.frame.metadata["f_number"] == 11.0)
        with pytest.raises(CameraError, match="no aperture"):
            session.set_setting("aperture", "1.0").result(3.0)
        assert any("no aperture" in e.message for e in session.events())


def test_a_pulled_cable_reconnects_with_a_new_camera_object():
    link = BenchLink()
    made = []

    def factory():
        made.append(SimulatedBench(BenchConfig(**FAST), link=link))
        return made[-1]

    with LiveSession(factory) as session:
        assert session.next_analysis(3.0) is not None
        link.unplug()
        assert _wait_for(lambda: session.status.state == "reconnecting")
        time.sleep(0.3)  # attempts keep failing while unplugged
        assert session.status.state == "reconnecting"
        link.plug()
        assert _wait_for(lambda: session.status.state == "live")
        analysis = session.next_analysis(3.0)
        assert analysis is not None and analysis.camera_status.state == "live"
    assert len(made) >= 2 and made[-1] is not made[0]
    assert session.reconnect_count == 1
    messages = [e.message for e in session.events()]
    assert any("stopped answering" in m for m in messages)
    assert any("Reconnected" in m for m in messages)


def test_a_busy_camera_is_reported_and_live_view_resumes():
    link = BenchLink()
    with LiveSession(SimulatedBench(BenchConfig(**FAST), link=link)) as session:
        assert session.next_analysis(3.0) is not None
        link.make_busy(3)
        assert _wait_for(lambda: session.status.state == "busy")
        assert _wait_for(lambda: session.status.state == "live")
        assert any(e.kind == "error" and "busy" in e.message for e in session.events())


def test_a_processing_failure_is_reported_and_the_session_goes_on():
    calls = {"n": 0}

    def flaky(frame, settings):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return calls["n"]

    with LiveSession(SimulatedBench(BenchConfig(**FAST)), processor=flaky) as session:
        seen = [session.next_analysis(3.0) for _ in range(4)]
    errors = [a for a in seen if a is not None and a.error]
    assert errors and "boom" in errors[0].error
    assert seen[-1] is not None and seen[-1].error is None and seen[-1].result >= 3


def test_a_slow_consumer_drops_frames_instead_of_building_latency():
    # The processor holds the first frame until the camera has delivered several more; the
    # next frame it is handed must be the newest, not the one after the first (a queue),
    # whatever the machine's speed: the test waits on events, never on the clock.
    release = threading.Event()
    processed = []

    def slow(frame, settings):
        processed.append(frame.sequence)
        if len(processed) == 1:
            release.wait(20.0)
        return {}

    config = BenchConfig(**{**FAST, "frame_rate_hz": None})
    with LiveSession(SimulatedBench(config), processor=slow) as session:
        assert _wait_for(lambda: processed)
        # Frames dropped before the processor took its first one do not count.
        dropped_before = session.frames.dropped_count
        assert _wait_for(lambda: session.frames.dropped_count >= dropped_before + 3)
        release.set()
        assert _wait_for(lambda: len(processed) >= 3)
        last = session.next_analysis(10.0)
    assert processed[1] >= processed[0] + 4
    assert last is not None and last.dropped_frames >= 3


def test_settings_snapshot_is_replaced_whole():
    seen = []
    with LiveSession(SimulatedBench(BenchConfig(**FAST)), processor=lambda f, s: seen.append(s) or {}, settings="A") as session:
        assert session.next_analysis(3.0) is not None
        session.set_settings("B")
        assert _wait_for(lambda: seen and seen[-1] == "B")
    assert seen[0] == "A"


def test_a_folder_that_ends_keeps_serving_commands_and_reports_corrupt_frames(tmp_path):
    for index in range(4):
        cv2.imwrite(str(tmp_path / f"img_{index}.png"), _textured(index))
    (tmp_path / "img_2.png").write_bytes(b"not a png")
    with LiveSession(FolderCamera(tmp_path, rate_hz=100.0)) as session:
        assert _wait_for(lambda: session.status.state == "ended")
        paths = session.capture(tmp_path / "grabs").result(3.0)
        assert paths[0].name.startswith("grab_")
        last = session.latest_analysis()
        assert last is not None and last.frame.source.endswith("img_3.png")
    assert any("img_2.png" in e.message and e.kind == "warning" for e in session.events())


def test_an_unopenable_source_is_reported_and_stopping_still_works(tmp_path):
    session = LiveSession(FolderCamera(tmp_path / "missing"))
    session.start()
    assert _wait_for(lambda: session.status.state == "error")
    assert "neither a folder" in session.status.message
    future = session.drive_focus(1)
    session.stop()
    with pytest.raises(CameraError):
        future.result(3.0)


def test_commands_to_a_stopped_session_fail_with_a_sentence():
    session = LiveSession(SimulatedBench(BenchConfig(**FAST)))
    with pytest.raises(CameraError, match="not running"):
        session.drive_focus(1).result(1.0)


def test_a_headless_recording_shows_reconnecting_while_the_camera_is_away(tmp_path):
    import csv

    from focuslock.runtime.headless import record_session

    link = BenchLink()
    session = LiveSession(lambda: SimulatedBench(BenchConfig(**FAST), link=link))
    seen = []

    # The cable is pulled once frames flow, plugged back once the recording has had a
    # stale row while reconnecting (the script runs before each row), and the run ends
    # once it is live again: events, not a clock (the minute is only a cap for a hang).
    def cable(session, elapsed_s):
        state = session.status.state
        stale = session.latest_analysis() is not None and session.freshness().stale
        seen.append("stale reconnecting" if state == "reconnecting" and stale else state)
        if state == "live" and link.connected and len(seen) > 3 and "reconnecting" not in "".join(seen):
            link.unplug()
        elif seen[-2:] == ["stale reconnecting"] * 2 and not link.connected:
            link.plug()
        return "stale reconnecting" in seen and seen[-5:] == ["live"] * 5

    result = record_session(session, 60.0, tmp_path, name="take", frame_rate_hz=60.0, script=cable)
    with open(tmp_path / "take.csv", newline="") as handle:
        states = [row["camera_state"] for row in csv.DictReader(handle)]
    assert "reconnecting" in states
    first = states.index("reconnecting")
    assert "live" in states[first:]  # and live again afterwards
    assert "reconnecting" in result.camera_states

def test_a_recording_of_a_file_keeps_every_frame_however_slow_the_processing(tmp_path):
    # A file is not live: with keep_every_frame a slow processor slows the source down
    # instead of dropping frames (what `live --headless` on a video or folder uses).
    folder = tmp_path / "stack"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for index in range(12):
        cv2.imwrite(str(folder / f"frame_{index:03d}.png"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    processed = []

    def slow(frame, settings):
        processed.append(frame.sequence)
        time.sleep(0.05)
        return {}

    taken = []
    with LiveSession(FolderCamera(folder), processor=slow, keep_every_frame=True) as session:
        while (analysis := session.next_analysis(5.0)) is not None:
            taken.append(analysis.frame.sequence)
            time.sleep(0.03)  # a slow consumer too (the recorder)
            if session.status.state == "ended" and len(taken) == 12:
                break
    assert processed == list(range(12))
    assert taken == list(range(12))
    assert session.frames.dropped_count == 0 and session.analyses.dropped_count == 0


def test_a_session_leaves_the_process_allocator_alone_the_command_tunes_it(monkeypatch):
    """A library constructor never retunes the host's allocator (issue 29): the
    ``focuslock`` command does, once, through runtime/allocator.py."""
    import ctypes

    from focuslock.runtime import allocator

    opened = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name, *args, **kwargs: opened.append(name) or ctypes.cdll.LoadLibrary(name))
    LiveSession(SimulatedBench(BenchConfig(**FAST)))
    assert opened == []
    allocator.tune_allocator()
    assert opened == ["libc.so.6"]
