from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from focuslock.core.frames import Frame, LatestSlot, SlotClosed


def _frame(sequence: int = 0) -> Frame:
    return Frame(sequence, time.monotonic(), np.zeros((4, 6, 3), np.uint8), {"iso": 100})


def test_frame_is_immutable_and_its_pixels_cannot_be_painted():
    frame = _frame()
    with pytest.raises(ValueError):
        frame.image[0, 0, 0] = 255
    with pytest.raises(TypeError):
        frame.metadata["iso"] = 200  # type: ignore[index]
    with pytest.raises(AttributeError):
        frame.sequence = 3  # type: ignore[misc]
    assert (frame.width_px, frame.height_px) == (6, 4)


@pytest.mark.parametrize("image", [np.zeros((4, 6), np.uint8), np.zeros((4, 6, 3), np.float32), np.zeros((4, 6, 4), np.uint8)])
def test_frame_refuses_anything_but_rgb_uint8(image):
    with pytest.raises(ValueError, match="RGB uint8"):
        Frame(0, 0.0, image)


def test_latest_wins_and_counts_the_frames_nobody_took():
    slot: LatestSlot[int] = LatestSlot()
    for value in range(5):
        slot.put(value)
    assert slot.get(0) == 4
    assert slot.dropped_count == 4
    assert slot.get(0.01) is None  # nothing new: a timeout, not the old item again
    assert slot.peek() == 4


def test_a_waiting_consumer_wakes_on_put_and_on_close():
    slot: LatestSlot[str] = LatestSlot()
    got = []

    def consume():
        got.append(slot.get(5.0))
        try:
            slot.get(5.0)
        except SlotClosed:
            got.append("closed")

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.05)
    slot.put("frame")
    time.sleep(0.05)
    slot.close()
    consumer.join(2.0)
    assert got == ["frame", "closed"]


def test_an_item_put_before_close_is_still_delivered():
    slot: LatestSlot[int] = LatestSlot()
    slot.put(7)
    slot.close()
    slot.put(8)  # ignored once closed
    assert slot.get(0) == 7
    with pytest.raises(SlotClosed):
        slot.get(0)


def test_a_verdict_is_live_while_frames_come_and_says_why_once_they_stop():
    from focuslock.core.frames import CameraStatus, frame_freshness

    live = CameraStatus("live")
    assert frame_freshness(10.0, 10.2, 30.0, live).label == "LIVE"
    # A slow source (an image folder at 1 fps) is not stale between two of its frames.
    assert frame_freshness(10.0, 12.5, 1.0, live).label == "LIVE"
    assert frame_freshness(10.0, 13.5, 1.0, live).label == "NO SIGNAL"
    silent = frame_freshness(10.0, 12.0, 30.0, live)
    assert silent.stale and silent.describe() == "NO SIGNAL — verdict from 2.0 s ago (no new frame from the source)"
    # The last frame of a video is true when it arrives; it goes stale as ENDED.
    ended = CameraStatus("ended", "The video file take.mp4 ended.")
    assert frame_freshness(10.0, 10.1, 30.0, ended).label == "LIVE"
    assert frame_freshness(10.0, 22.0, 30.0, ended).describe() == "ENDED — verdict from 12 s ago (The video file take.mp4 ended.)"
    assert frame_freshness(10.0, 11.0, 30.0, live, busy_with="capture").describe() == \
        "PAUSED — verdict from 1.0 s ago (capture in progress)"
    assert frame_freshness(10.0, 11.0, 30.0, CameraStatus("reconnecting", "The camera was disconnected.")).label == "NO SIGNAL"


def test_camera_states_are_one_enum_whose_text_is_what_the_user_reads():
    import csv
    import io
    import json

    from focuslock.core.frames import CameraState, CameraStatus

    assert [state.value for state in CameraState] == ["starting", "live", "busy", "reconnecting", "error", "ended",
                                                      "stopped"]
    # Given as text (an older caller, a test), the state is the enum member all the same.
    assert CameraStatus("reconnecting").state is CameraState.RECONNECTING
    with pytest.raises(ValueError):
        CameraStatus("asleep")
    # It compares and formats as its text: the CSV, the JSON, the HUD say what they said.
    state = CameraStatus(CameraState.ENDED).state
    assert state == "ended" and f"{state}" == str(state) == "ended" and state.upper() == "ENDED"
    row = io.StringIO()
    csv.writer(row).writerow([CameraState.LIVE, state])
    assert row.getvalue().strip() == "live,ended"
    assert json.dumps({"camera_state": CameraState.BUSY}) == '{"camera_state": "busy"}'


def test_a_frame_s_metadata_is_read_typed_from_its_info():
    from focuslock.core.frames import FrameInfo

    frame = Frame(1, 0.0, np.zeros((4, 6, 3), np.uint8),
                  {"f_number": 5.6, "iso": 100, "live_view_zoom": np.float32(5.0), "live_view_zoom_origin_px": [10, 20],
                   "drive_position_steps": -3, "sensor_width_mm": "36", "source_kind": "sim", "sim_truth": "truth"})
    info = frame.info
    assert (info.f_number, info.iso, info.live_view_zoom, info.drive_position_steps) == (5.6, 100, 5.0, -3)
    assert info.live_view_zoom_origin_px == (10, 20) and info.source_kind == "sim" and info.sim_truth == "truth"
    # What is not a number is not passed off as one; what a source does not say is None.
    assert info.sensor_width_mm is None and info.focal_length_mm is None
    # A frame remade with more metadata (the live session adds the drive's count) is read anew.
    assert dataclasses.replace(frame, metadata={**frame.metadata, "drive_position_steps": 7}).info.drive_position_steps == 7
    assert Frame(2, 0.0, np.zeros((4, 6, 3), np.uint8)).info == FrameInfo()
