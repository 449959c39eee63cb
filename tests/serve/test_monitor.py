"""The focus monitor page in headless Chromium (Debian's chromium), as a tablet on the set
would show it: the state readable, the picture streaming and changing as focus racks."""

from __future__ import annotations

import cv2
import numpy as np

from focuslock.testing.chromium import HeadlessPage
from tests.serve.conftest import wait_for

_BANNER = "document.getElementById('banner').textContent"
_PICTURE_SIZE = "(() => { const i = document.getElementById('live'); return i.naturalWidth > 0 ? i.naturalWidth : 0; })()"


def _picture(path) -> np.ndarray:
    picture = cv2.imread(str(path))
    assert picture is not None
    return picture


def test_the_monitor_shows_the_state_and_a_live_picture_that_changes_as_focus_racks(served, tmp_path):
    served.focus_on_feature()
    served.client.lock(served.roi)
    assert served.client.wait_sharp(timeout_s=20)["sharp"] is True
    with HeadlessPage(served.running.url, tmp_path / "profile", width=1000, height=800) as page:
        assert page.wait_until(_PICTURE_SIZE) == 512  # the stream's pictures arrive at the frame's size
        assert page.wait_until(f"{_BANNER} === 'IN FOCUS'")  # the window's words, not the API's
        assert "sharp" in page.evaluate("document.getElementById('banner').className")
        assert page.evaluate("document.getElementById('age').textContent").endswith(" s")
        sharp = _picture(page.screenshot(tmp_path / "sharp.png"))
        served.client.drive(400)
        wait_for(lambda: served.client.status()["state"] == "soft", what="SOFT")
        assert page.wait_until(f"{_BANNER} === 'OUT OF FOCUS'")
        assert page.evaluate("document.getElementById('share').textContent").endswith("%")
        soft = _picture(page.screenshot(tmp_path / "soft.png"))
    assert sharp.shape == soft.shape
    # The banner turned from green to red, and the live view changed with focus.
    difference = np.abs(sharp.astype(np.int16) - soft.astype(np.int16)).max(axis=2) > 40
    assert difference.mean() > 0.05
    top_left_sharp, top_left_soft = sharp[10, 10], soft[10, 10]  # the banner's colour (BGR)
    assert top_left_sharp[1] > top_left_sharp[2] and top_left_soft[2] > top_left_soft[1]
