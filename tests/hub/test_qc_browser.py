"""The QC page in headless Chromium (Debian's chromium), as a studio lead's tablet shows
it: a shot a station sends appears on the open page with its verdict and previews, a
station's hostile names stay text, and the page says when the hub is away — and is live
again when it is back."""

from __future__ import annotations

import datetime as _dt

import cv2
import numpy as np
import pytest

from focuslock.hub.connection import migrate
from focuslock.hub.shotlist import import_shot_list
from focuslock.serve.qc_server import start_qc_server
from focuslock.testing.chromium import HeadlessPage
from focuslock.testing.hub_shots import replace_shot
from tests.hub.qc_support import land_shot, shot_list

_STATE = "document.getElementById('state').textContent"
_LATEST = "document.querySelector('#latest .title') ? document.querySelector('#latest .title').textContent : ''"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture
def qc(hub_url):
    migrate(hub_url)
    shot_list(hub_url, [("A1001", "Ceramic mug"), ("B2040", "Desk lamp"), ("C3310", "Steel watch")])
    land_shot(hub_url, "Station 1", 1, "A1001_001.jpg", "A1001", "pass")
    running = start_qc_server(hub_url, port=0)
    try:
        yield hub_url, running
    finally:
        running.stop()


def _picture(path) -> np.ndarray:
    picture = cv2.imread(str(path))
    assert picture is not None
    return picture


def test_the_page_shows_a_shot_as_it_lands_with_its_previews_and_names_as_text(qc, tmp_path):
    hub, running = qc
    with HeadlessPage(running.url, tmp_path / "profile", width=1280, height=800) as page:
        assert page.wait_until(f"{_STATE} === 'LIVE'")
        assert page.wait_until(f"({_LATEST}).includes('A1001_001.jpg')")
        before = _picture(page.screenshot(tmp_path / "before.png"))
        land_shot(hub, "Station 2", 1, HOSTILE, "C3310", "soft", "feature 1 is soft", picture="pcb_001.jpg")
        assert page.wait_until(f"({_LATEST}).includes({HOSTILE!r})")  # the name, as text
        assert page.wait_until("[...document.querySelectorAll('#latest img')].every(i => i.complete && i.naturalWidth > 0)")
        after = _picture(page.screenshot(tmp_path / "after.png"))
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert page.evaluate("document.title") == "focuslock — studio QC"  # the name's script never ran
        assert page.evaluate("document.querySelector('#latest .badge').textContent") == "SOFT"
        assert page.evaluate("document.querySelectorAll('#shots .card').length") == 1  # the earlier shot, smaller
        assert page.evaluate("document.getElementById('n-reshoot').textContent") == "1"
        assert page.evaluate("document.getElementById('n-not-shot').textContent") == "1"
        # A tap on an earlier shot's card shows it large with its crop, until "Back to the latest".
        page.evaluate("document.querySelector('#shots .card').click()")
        assert page.wait_until(f"({_LATEST}).includes('A1001_001.jpg')")
        assert page.evaluate("document.getElementById('big-title').textContent") == "Shot chosen"
        page.evaluate("document.getElementById('follow').click()")
        assert page.wait_until(f"({_LATEST}).includes({HOSTILE!r})")
    assert before.shape == after.shape
    difference = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=2) > 40
    assert difference.mean() > 0.05  # the latest shot, its crop and the lists changed on the page


def test_the_page_says_the_hub_is_away_and_is_live_again_when_it_is_back(qc, tmp_path, postgres_cluster):
    hub, running = qc
    with HeadlessPage(running.url, tmp_path / "profile", width=1280, height=800) as page:
        assert page.wait_until(f"{_STATE} === 'LIVE'")
        postgres_cluster.stop()
        try:
            assert page.wait_until(f"{_STATE} === 'HUB AWAY'")
            assert page.evaluate("document.body.classList.contains('stale')")
            said = page.evaluate("document.getElementById('away').textContent")
            assert "went away" in said and "not live" in said
            page.screenshot(tmp_path / "away.png")
        finally:
            postgres_cluster.start()
        assert page.wait_until(f"{_STATE} === 'LIVE'", timeout_s=60)
        assert not page.evaluate("document.body.classList.contains('stale')")
        land_shot(hub, "Station 1", 2, "B2040_001.jpg", "B2040", "pass")
        assert page.wait_until(f"({_LATEST}).includes('B2040_001.jpg')")
        running.stop()  # the QC server itself gone: the page does not stay "live" either
        assert page.wait_until(f"{_STATE} === 'QC SERVER AWAY'")
        assert page.evaluate("document.body.classList.contains('stale')")


def test_the_page_says_the_views_missing_and_drops_a_replaced_shot_live(hub_url, tmp_path):
    """The new user's audit, on the page itself: an SKU short of views says which views
    (named) or how many (counted) as ``hub status`` does; and a shot set aside on the hub
    (its file judged again, the replacement sent with it) leaves the open page at once —
    it stayed until a reload."""
    migrate(hub_url)
    listed = tmp_path / "list.csv"
    listed.write_text("sku,name,views\nA300,Red cup,front;back;side\nC2,Mug,3\n", encoding="utf-8")
    import_shot_list(hub_url, listed, _dt.date.today())
    land_shot(hub_url, "Station 1", 1, "A300_front.jpg", "A300", "pass")
    land_shot(hub_url, "Station 1", 2, "C2_1.jpg", "C2", "pass")
    running = start_qc_server(hub_url, port=0)
    short = "[...document.querySelectorAll('#short li')].map(li => li.textContent)"
    cards = "[...document.querySelectorAll('#shots .card .name')].map(n => n.textContent)"
    try:
        with HeadlessPage(running.url, tmp_path / "profile", width=1280, height=800) as page:
            assert page.wait_until(f"{_STATE} === 'LIVE'")
            assert page.wait_until(f"{cards}.includes('A300_front.jpg')")
            assert page.evaluate(short) == ["A300Red cupmissing back, side", "C2Mug1 of 3 views (views not told apart)"]
            replace_shot(hub_url, "Station 1", 1, 3, "A300_front.jpg", "A300", "soft", "feature 1 is soft")
            assert page.wait_until(f"({_LATEST}).includes('A300_front.jpg')")  # the replacement, now the latest
            assert page.evaluate("document.querySelector('#latest .badge').textContent") == "SOFT"
            assert page.wait_until(f"!{cards}.includes('A300_front.jpg')")  # the old card is gone, without a reload
            assert page.evaluate(cards) == ["C2_1.jpg"]
            # The old PASS no longer counts: A300 is to reshoot (shot, none passed), C2 still short.
            assert page.wait_until(f"{short}.length === 1")
            assert page.evaluate(short) == ["C2Mug1 of 3 views (views not told apart)"]
            assert "A300" in page.evaluate("document.getElementById('reshoot').textContent")
    finally:
        running.stop()
