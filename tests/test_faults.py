"""The live session survives every fault a source can throw at it, on every kind of
source: the fault-injection wrapper (focuslock.testing.faults) around the real bench, a
real video file and a real image folder. A short run of scripts/soak.py too."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.devices.base import CameraDisconnectedError
from focuslock.devices.folder import FolderCamera
from focuslock.devices.video import VideoCamera
from focuslock.io.recording import VideoRecorder
from focuslock.runtime.live import LiveSession
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.testing.faults import FAULT_KINDS, FaultPlan, FaultyCamera, faulty_factory

FRAME_FAULTS = ("busy", "disconnect", "corrupt", "truncated", "resize", "stall")


def _textures(count: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    return [cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (0, 0), 1.0) for _ in range(count)]


def _sources(tmp_path: Path) -> dict:
    video = tmp_path / "take.mp4"
    recorder = VideoRecorder(video, 30)
    for image in _textures():
        recorder.write(image)
    recorder.close()
    folder = tmp_path / "folder"
    folder.mkdir()
    for index, image in enumerate(_textures()):
        cv2.imwrite(str(folder / f"f{index:02d}.png"), image)
    return {
        "bench": lambda: SimulatedBench(BenchConfig(live_view_size_px=(320, 212), frame_rate_hz=30.0)),
        "video": lambda: VideoCamera(video, paced=True, loop=True),
        "folder": lambda: FolderCamera(folder, rate_hz=30.0, loop=True),
    }


def _next_frames(session: LiveSession, count: int, timeout_s: float = 10.0) -> list:
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        analysis = session.next_analysis(timeout_s=0.5)
        if analysis is not None:
            got.append(analysis)
    return got


@pytest.mark.parametrize("source", ["bench", "video", "folder"])
def test_the_session_survives_every_frame_fault_on_every_source(tmp_path, source):
    plan = FaultPlan(stall_s=0.4)
    made: list[FaultyCamera] = []
    factory = _sources(tmp_path)[source]

    def make() -> FaultyCamera:
        camera = faulty_factory(factory, plan)()
        made.append(camera)
        return camera

    session = LiveSession(make)
    session.start()
    try:
        assert len(_next_frames(session, 3)) == 3
        sizes = set()
        for kind in FRAME_FAULTS:
            made[-1].inject(kind)
            after = _next_frames(session, 5)
            assert len(after) == 5, f"no frames after {kind}"
            sizes |= {a.frame.image.shape for a in after}
            assert session.status.state == "live"
        messages = " ".join(event.message for event in session.events())
    finally:
        session.stop()
    assert dict(plan.counts) == {kind: 1 for kind in FRAME_FAULTS}
    assert session.reconnect_count == 1 and len(made) == 2  # a new camera object after the pulled cable
    assert "cut short" in messages and "not a readable image" in messages and "busy" in messages
    assert len(sizes) == 2  # the size change reached the frames


def test_a_cable_pulled_mid_download_reports_the_file_saved_before_it(tmp_path):
    plan = FaultPlan()
    camera = FaultyCamera(SimulatedBench(BenchConfig(live_view_size_px=(320, 212), frame_rate_hz=None,
                                                     capture_width_px=900)), plan)
    camera.open()
    camera.inject("download")
    with pytest.raises(CameraDisconnectedError) as raised:
        camera.capture(tmp_path / "shots")
    camera.close()
    assert [p.parent for p in raised.value.saved_paths] == [tmp_path / "shots"]
    assert sorted((tmp_path / "shots").iterdir()) == raised.value.saved_paths
    assert raised.value.saved_paths[0].read_bytes()[:2] == b"\xff\xd8"


def test_unknown_faults_are_refused():
    with pytest.raises(ValueError, match="Unknown fault 'fire'"):
        FaultPlan({"fire": 1.0})
    assert set(FRAME_FAULTS) | {"download"} == set(FAULT_KINDS)


def test_a_short_soak_keeps_live_view_threads_and_memory(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("soak", Path(__file__).resolve().parents[1] / "scripts" / "soak.py")
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    result = soak.soak(8.0, seed=3, fault_rate=20.0)
    # Faults come per frame read (about one in six at this rate), so however loaded the
    # machine, the session must have served more frames than it met faults, and be live
    # at the end: a fault that hung the acquisition or the processing stops both.
    assert result["faults_total"] >= 5 and result["frames"] > result["faults_total"]
    assert result["live_at_end"]
    assert result["threads_after_stop"] <= result["threads_before_start"]


def test_the_soak_reads_a_slow_leak_through_the_swing_of_its_samples():
    """The memory promise is judged on the trend of the samples, not on two of them: a
    steady 12 MB an hour under ±8 MB swings reads as 12 MB an hour, and the same swings
    over a flat line read as (nearly) nothing."""
    import importlib.util
    import random

    spec = importlib.util.spec_from_file_location("soak", Path(__file__).resolve().parents[1] / "scripts" / "soak.py")
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    rng = random.Random(4)
    swings = [rng.choice((0.0, 8.0, -8.0, 0.0)) for _ in range(60)]
    leaking = [(60 * i, 170.0 + 12.0 * i / 60 + swing) for i, swing in enumerate(swings)]
    flat = [(60 * i, 170.0 + swing) for i, swing in enumerate(swings)]
    leak, steady = soak.held_memory_trend(leaking), soak.held_memory_trend(flat)
    assert 9.0 < leak["rss_slope_mb_per_hour"] < 15.0 and leak["rss_growth_median_mb"] > 6.0
    assert abs(steady["rss_slope_mb_per_hour"]) < 3.0 and abs(steady["rss_growth_median_mb"]) < 3.0
    assert soak.held_memory_trend(flat[:5]) == {}  # too few samples to say anything


@pytest.mark.parametrize("cable_goes", ["after a refused setting", "mid-download"])
def test_a_camera_replaced_after_a_pulled_cable_is_freed_at_once(tmp_path, cable_goes):
    """A setting the body refuses then a pulled cable, or a cable pulled mid-download: the
    old camera object (on a real body, its libgphoto2 buffers; on the bench, its frames)
    must go with the reconnect, not wait for Python's rare full collection. Both kept it:
    the refused command's exception held the acquisition thread's frame, whose locals held
    the future and the camera; the cut download's exception was raised from a local of its
    own frame. Each is a cycle (exception, traceback, frame) that kept every replaced
    camera — an hour's soak rose 4-6 MB a step. The collector is off here so that only
    reference counts free anything."""
    import gc
    import weakref

    plan = FaultPlan(seed=5)
    made: list[weakref.ref] = []
    current: list[FaultyCamera] = []

    def make() -> FaultyCamera:
        camera = faulty_factory(lambda: SimulatedBench(BenchConfig(live_view_size_px=(320, 212), frame_rate_hz=30.0,
                                                                   capture_width_px=600)), plan)()
        made.append(weakref.ref(camera))
        current[:] = [camera]
        return camera

    session = LiveSession(make)
    gc.collect()
    gc.disable()
    try:
        session.start()
        assert len(_next_frames(session, 2)) == 2
        failed = 0
        for _ in range(4):
            reconnects = session.reconnect_count
            if cable_goes == "mid-download":
                current[0].inject("download")
                command = session.capture(tmp_path / "shots")
            else:
                command = session.set_setting("iso", "12")  # the bench offers no ISO 12
            failed += command.exception(timeout=20) is not None
            del command
            if cable_goes != "mid-download":
                current[0].inject("disconnect")
            deadline = time.monotonic() + 10
            while session.reconnect_count == reconnects and time.monotonic() < deadline:
                session.next_analysis(timeout_s=0.2)
            assert len(_next_frames(session, 2)) == 2
        replaced_still_held = sum(ref() is not None for ref in made[:-1])
    finally:
        gc.enable()
        session.stop()
    assert failed == 4 and len(made) == 5
    assert replaced_still_held == 0
