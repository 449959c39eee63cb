from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from focuslock.frames import Frame, LatestSlot, SlotClosed


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
