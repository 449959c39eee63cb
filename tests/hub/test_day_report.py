"""``focuslock hub report``: the studio's day as one HTML page and a CSV, from a real hub
(a throwaway PostgreSQL cluster) that two stations' shots reached through the station
sync's own statements (``focuslock.testing.hub_shots``), previews made from the
repository's pcb stack. The page is opened in headless Chromium (Debian's chromium)."""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import re
import urllib.request

import pytest

from focuslock.cli import main
from focuslock.hub import day_report
from focuslock.hub.connection import connect, migrate
from focuslock.session.records import ShotFile
from focuslock.testing import hub_shots
from focuslock.testing.chromium import HeadlessPage
from tests.hub.qc_support import STACK

SCRIPT_NAME = "<script>document.title='pwned'</script>_1.jpg"
IMG_NAME = "<img src=x onerror=\"document.title='pwned'\">.jpg"
FORMULA_NAME = '=HYPERLINK("http://evil.example","open me").jpg'
FORMULA_SKU = "@SUM(1+1)"


def _file(name: str, role: str = "judged") -> ShotFile:
    return ShotFile(name, hashlib.sha256(name.encode()).hexdigest(), 1000, role)


@pytest.fixture
def studio(hub_url):
    """A day on a real hub: two stations; a PASS, a SOFT, an UNCERTAIN, a misnamed shot with a
    formula for a name, a SKU that looks like a formula, a hostile name without previews; a SKU
    of the list not shot; and a shot of the day before."""
    migrate(hub_url)
    with connect(hub_url) as connection:
        today = connection.execute("SELECT current_date").fetchone()[0]  # the hub's day
    hub_shots.shot_list(hub_url, [("A1001", "Ceramic mug"), ("B2040", "Desk lamp"), ("C3310", "Steel watch"),
                                  ("D4000", "Never shot")], today)
    pcb = STACK / "pcb_004.jpg"
    hub_shots.land_shot(hub_url, "Station 1", 1, "A1001_001.jpg", "A1001", "pass", picture=pcb,
                        files=(_file("A1001_001.jpg"), _file("A1001_001.CR3", "companion")))
    hub_shots.land_shot(hub_url, "Station 1", 2, "B2040_001.jpg", "B2040", "soft", "feature 1 is soft",
                        picture=STACK / "pcb_001.jpg", files=(_file("B2040_001.jpg"),))
    hub_shots.land_shot(hub_url, "Station 2", 1, "C3310_001.jpg", "C3310", "uncertain", "feature 1: too dark to judge",
                        picture=pcb, session="afternoon", files=(_file("C3310_001.jpg"),))
    hub_shots.land_shot(hub_url, "Station 2", 2, FORMULA_NAME, None, "pass", picture=pcb, session="afternoon",
                        files=(_file(FORMULA_NAME),))
    hub_shots.land_shot(hub_url, "Station 2", 3, "odd_name.jpg", FORMULA_SKU, "pass", session="afternoon")
    hub_shots.land_shot(hub_url, "Station 1", 3, SCRIPT_NAME, None, "soft", IMG_NAME)
    yesterday = _dt.datetime.combine(today - _dt.timedelta(days=1), _dt.time(12), _dt.UTC)
    hub_shots.land_shot(hub_url, "Station 1", 9, "A1001_yesterday.jpg", "A1001", "pass", session="yesterday",
                        logged_utc=yesterday)
    return hub_url, today


def _report(url, day, folder, capsys, *more) -> tuple[str, list[dict]]:
    out = folder / "day.html"
    assert main(["hub", "report", url, "--date", day.isoformat(), "--out", str(out), *more]) == 0
    said = capsys.readouterr().out
    assert str(out) in said and str(out.with_suffix(".csv")) in said
    with out.with_suffix(".csv").open(newline="", encoding="utf-8") as handle:
        return out.read_text(encoding="utf-8"), list(csv.DictReader(handle))


def _as_text(text: str) -> str:
    """A text as a spreadsheet-safe CSV cell holds it: OWASP's quote before a formula's start."""
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text


def _section(page: str, state: str) -> str:
    found = re.search(f'<table class="list" data-state="{state}">(.*?)</table>', page, re.S)
    return found.group(1) if found else ""


def test_the_page_says_every_verdict_the_day_s_list_and_the_stations(studio, tmp_path, capsys):
    url, today = studio
    page, _ = _report(url, today, tmp_path, capsys)
    assert f"Studio day {today.isoformat()}" in page
    assert ">2 PASS<" not in page and ">3 PASS<" in page and ">2 SOFT<" in page and ">1 UNCERTAIN<" in page
    assert "D4000" in _section(page, "not shot") and "A1001" not in _section(page, "not shot")
    assert "B2040" in _section(page, "soft or uncertain") and "C3310" in _section(page, "soft or uncertain")
    misnamed = _section(page, "misnamed")
    assert "=HYPERLINK(" in misnamed and "odd_name.jpg" in misnamed and "&lt;script&gt;" in misnamed
    assert "Station 1" in page and "Station 2" in page and "session afternoon" in page
    verdicts = re.findall(r'<tr class="shot" data-verdict="(\w+)">', page)
    assert verdicts == ["pass", "soft", "soft", "uncertain", "pass", "pass"]  # station 1's three, then station 2's
    assert "A1001_yesterday.jpg" not in page  # the day before is not this day
    assert page.count('src="data:image/jpeg;base64,') == 8  # thumbnail and crop of the four shots with previews
    assert page.count("no preview on the hub") == 2
    assert "feature 1: too dark to judge" in page and "A1001_001.CR3" in page
    # The stations' texts are text: no element of theirs is in the page.
    assert "<script>" not in page and "<img src=x" not in page and "&lt;img src=x onerror=" in page


def test_the_csv_matches_the_hub_row_by_row_and_no_cell_becomes_a_formula(studio, tmp_path, capsys):
    url, today = studio
    _, rows = _report(url, today, tmp_path, capsys)
    with connect(url) as connection:
        hub = connection.execute(
            "SELECT st.name, se.name, s.sequence, s.name, COALESCE(s.sku, ''), s.verdict, COALESCE(s.reason, ''), "
            "s.worst_coc_share FROM shots s JOIN stations st ON st.id = s.station_id JOIN sessions se "
            "USING (station_id, session_key) WHERE s.logged_utc >= %s::date AND s.logged_utc < %s::date + 1 "
            "ORDER BY st.name, s.id", (today, today)).fetchall()
        files = {(station, seq, role): (path, sha) for station, seq, role, path, sha in connection.execute(
            "SELECT st.name, f.sequence, f.role, f.path, f.sha256 FROM shot_files f JOIN stations st ON st.id = f.station_id")}
    assert len(rows) == len(hub) == 6
    for row, (station, session, sequence, name, sku, verdict, reason, worst) in zip(rows, hub, strict=True):
        assert (row["station"], row["session"], int(row["sequence"]), row["name"], row["sku"], row["verdict"],
                row["reason"]) == (station, session, sequence, _as_text(name), _as_text(sku), verdict, _as_text(reason))
        assert float(row["worst_blur_coc"]) == pytest.approx(worst, abs=5e-4)
        judged = files.get((station, sequence, "judged"))
        assert (row["file"], row["sha256"]) == (_as_text(judged[0]), judged[1]) if judged else row["file"] == ""
    assert rows[0]["companions"] == "A1001_001.CR3" and rows[0]["companions_sha256"] == _file("A1001_001.CR3").sha256
    # Nothing a spreadsheet would run: every cell starting like a formula carries the quote.
    formulas = [cell for row in rows for cell in row.values() if cell.startswith(("=", "+", "-", "@"))]
    assert formulas == []
    assert {f"'{FORMULA_NAME}", f"'{FORMULA_SKU}"} <= {cell for row in rows for cell in row.values()}


def test_date_picks_the_day(studio, tmp_path, capsys):
    url, today = studio
    page, rows = _report(url, today - _dt.timedelta(days=1), tmp_path, capsys)
    assert [row["name"] for row in rows] == ["A1001_yesterday.jpg"]
    assert "A1001_yesterday.jpg" in page and "B2040_001.jpg" not in page
    assert "No shot list for" in page


def test_previews_are_inlined_for_the_shots_not_passed_first_up_to_the_cap(studio, tmp_path, capsys, monkeypatch):
    url, today = studio
    monkeypatch.setattr(day_report, "PREVIEW_SHOTS", 2)
    page, _ = _report(url, today, tmp_path, capsys)
    inlined = re.findall(r'data-verdict="(\w+)"><td>\d+</td><td class="pictures"><div class="pics"><img', page)
    assert sorted(inlined) == ["soft", "uncertain"]  # the two shots with previews that did not pass
    assert page.count("not inlined (see the rule above)") == 2 and "The previews of 2 shots are not inlined" in page


def test_an_existing_out_is_refused_without_force_and_the_default_is_named_by_the_day(studio, tmp_path, capsys,
                                                                                     monkeypatch):
    url, today = studio
    monkeypatch.chdir(tmp_path)
    assert main(["hub", "report", url]) == 0
    default = tmp_path / f"hub-report-{today.isoformat()}.html"
    assert default.exists() and default.with_suffix(".csv").exists()
    capsys.readouterr()
    default.write_text("the lead's own notes")
    assert main(["hub", "report", url]) == 1
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "--force" in said and "Traceback" not in said
    assert default.read_text() == "the lead's own notes"
    assert main(["hub", "report", url, "--force"]) == 0
    assert "Studio day" in default.read_text()


def test_an_unreachable_hub_is_one_sentence_and_writes_nothing(tmp_path, capsys):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "day.html"
    assert main(["hub", "report", f"postgresql://postgres@127.0.0.1:{port}/studio", "--out", str(out)]) == 1
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and said.startswith("focuslock: ") and "Traceback" not in said
    assert not out.exists() and not out.with_suffix(".csv").exists()


def test_the_page_in_chromium_runs_no_script_and_shows_the_names_as_text(studio, tmp_path, capsys):
    url, today = studio
    page_html, _ = _report(url, today, tmp_path, capsys)
    with HeadlessPage((tmp_path / "day.html").as_uri(), tmp_path / "profile", width=1280, height=1400) as page:
        # (the browser's first page is about:blank until the file has loaded)
        assert page.wait_until("location.protocol === 'file:' && document.readyState === 'complete'")
        assert page.wait_until("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("document.images.length") == 8
        assert page.evaluate("document.title") == f"focuslock studio day {today.isoformat()}"  # nothing ran
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert page.evaluate(f"document.body.innerText.includes({SCRIPT_NAME!r})")
        assert page.evaluate(f"document.body.innerText.includes({IMG_NAME!r})")
        page.screenshot(tmp_path / "day.png")


def test_the_qc_page_serves_the_same_report_for_the_day(studio, tmp_path, capsys):
    from focuslock.serve.qc_server import start_qc_server

    url, today = studio
    written, _ = _report(url, today, tmp_path, capsys)
    running = start_qc_server(url, port=0)
    try:
        with urllib.request.urlopen(f"{running.url}report.html?date={today.isoformat()}", timeout=60) as answer:
            served = answer.read().decode("utf-8")
        with urllib.request.urlopen(running.url, timeout=60) as answer:
            assert b'href="/report.html"' in answer.read()  # the QC page links to it
    finally:
        running.stop()
    made = re.compile(r"made \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert made.sub("", served) == made.sub("", written)
