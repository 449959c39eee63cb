"""Input from other machines is untrusted (issue 28): a session log whose every text cell
was written by someone hostile, and file names that are formulas. The report is opened in
headless Chromium (as a user opens it) and its CSV read with the csv module (as a
spreadsheet would take it)."""

from __future__ import annotations

import csv
import re
import sqlite3
import subprocess
from pathlib import Path

import cv2
import numpy as np

from focuslock.cli import main
from focuslock.io.csv_safe import FORMULA_STARTS
from focuslock.session.database import DATABASE_NAME
from focuslock.session.records import FeatureVerdict, ShotFile, ShotRecord
from focuslock.session.store import ShotStore
from tests.session.test_report import _FLAGS, CHROMIUM
from tests.test_watch import ROI, _save, _scene

# A script that ran leaves "PWNED" in the page (title or body); the text of the payload
# itself only holds 'PW'+'NED', so an escaped payload never matches.
_RUN = "document.title='PW'+'NED';document.body.setAttribute('data-x','PW'+'NED')"


def _hostile(start: str, where: str) -> str:
    """A cell that is a spreadsheet formula and, unescaped, breaks out of any HTML or SVG
    context (text, attribute, <title>) to run a script."""
    return (f'{start}HYPERLINK("http://evil.example/{where}","open")"\'></title></circle></svg>'
            f"<script>{_RUN}</script><img src=x onerror=\"{_RUN}\"><svg onload=\"{_RUN}\">")


# A picture in a hot folder from another machine: its name a formula and markup (no '/').
_PICTURE_NAME = "=HYPERLINK(\"https:evil.example\",\"x\")<img src=x onerror=\"document.title='PW'+'NED'\">.JPG"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _checksum(number: int) -> str:
    # The page shows a checksum's first 12 characters: room for an element.
    return _hostile("\t", "sha-1") if number == 1 else "<i id=pw>" + _hostile("=", "sha-2")


def _hostile_session(folder: Path) -> None:
    """A session log with hostile text in every text cell, including cells where a number
    belongs (a shot's sequence, a feature's index) and a verdict past the CHECK."""
    folder.mkdir()
    _save(folder / _PICTURE_NAME, _scene())
    setup = {"reference": _hostile("=", "reference"), "camera": _hostile("+", "camera"), "lens": _hostile("-", "lens"),
             "optics": {_hostile("@", "optics-key"): _hostile("=", "optics")},
             "features_px": [[_hostile("=", "box"), 1, 2, 3], _hostile("=", "boxes")], "drift_limit_share": _hostile("=", "drift")}
    with ShotStore.open(folder, name=_hostile("=", "name"), setup=setup) as store:
        for number, path in enumerate((_PICTURE_NAME, _hostile("@", "path")), start=1):
            camera = {"focuslock_exposure": {"note": _hostile("\r", "note"), "stops": 1.5}, "iso": _hostile("=", "iso")}
            store.record_shot(ShotRecord(
                _hostile("=", f"shot-{number}"), (ShotFile(path, _checksum(number), 1234),
                                                  ShotFile(_hostile("-", f"raw-{number}"), _hostile("=", "sha"), 10, "companion")),
                "pass", _hostile("+", "reason"),
                (FeatureVerdict(0, _hostile("-", "state"), _hostile("@", "feature-reason"), -0.4, 0.1, -2.1, -0.13, (10.0, 20.0), 1.5),
                 FeatureVerdict(1, "sharp", None, 0.2, 0.1, 1.0, 0.1)),
                1.5, 0.001, camera, {"f": _hostile("=", "optics")}, _hostile("=", f"sku-{number}")))
    with sqlite3.connect(folder / DATABASE_NAME) as db:
        db.execute("PRAGMA ignore_check_constraints = ON")  # a log not written by focuslock has no CHECK
        db.execute("UPDATE shots SET verdict = ?", (_hostile("=", "verdict"),))
        db.execute("UPDATE session SET created_utc = ?", (_hostile("=", "created"),))
        db.execute("UPDATE shots SET logged_utc = ?", (_hostile("-", "logged"),))
        db.execute("UPDATE shots SET sequence = ? WHERE sequence = 2", (_hostile("=", "sequence"),))
        db.execute("UPDATE feature_verdicts SET feature = ? WHERE feature = 1", (_hostile("=", "feature"),))


def _dom(page: Path, profile: Path) -> str:
    return subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120).stdout


def test_a_hostile_session_log_gives_a_report_that_runs_nothing_and_a_csv_with_no_formula(tmp_path, capsys):
    folder = tmp_path / "session"
    _hostile_session(folder)
    assert main(["report", str(folder)]) == 0
    capsys.readouterr()
    page = folder / "report.html"
    profile = tmp_path / "chromium-profile"
    dom = _dom(page, profile)
    assert "</html>" in dom  # Chromium loaded and dumped the page
    assert "PWNED" not in dom  # no script, handler or onload ran
    assert "<script" not in dom and "<img src=\"x\"" not in dom  # no element made from the log's text
    assert dom.count('class="shot"') == 2
    # The hostile texts are shown as text, whole: the user sees what the log holds.
    assert "=HYPERLINK(\"http://evil.example/verdict\"" in dom  # in the SVG's <title>
    assert "=HYPERLINK(\"HTTP://EVIL.EXAMPLE/VERDICT\"" in dom  # on the row's badge
    assert 'id="pw"' not in dom and "&lt;i id=pw&gt;" in dom  # the checksum's first 12 characters, as text
    # Numbers where the log holds text: the shot is shown, its number is not the text.
    assert "evil.example/sequence" not in dom and "evil.example/feature" not in dom
    assert "evil.example/box" in dom and "evil.example/drift" in dom  # the setup's cells that were no numbers, as text

    # The Content-Security-Policy allows what the page needs: its data: pictures and inline styles are drawn.
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,1400", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120)
    picture = cv2.imread(str(shot))
    assert picture is not None
    assert np.mean(picture < 80) > 0.02  # the thumbnail's barcode bars
    pass_badge = np.all(np.abs(picture.astype(int) - (0x4a, 0x9d, 0x2e)) <= 6, axis=2)  # BGR of the "pass" badge
    assert pass_badge.sum() > 50

    with open(folder / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert len(body) == 2
    for row in body:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or _PLAIN_NUMBER.fullmatch(cell), cell
    first = dict(zip(header, body[0]))
    # The text kept whole behind the quote; numbers stay numbers (a negative blur too).
    assert first["sku"] == "'" + _hostile("=", "sku-1")
    assert first["file"] == "'" + _hostile("=", "shot-1")
    assert first["sha256"] == "'" + _hostile("\t", "sha-1")
    assert first["exposure_note"] == "'" + _hostile("\r", "note")
    assert first["sequence"] == "1" and first["feature1_blur_px"] == "-0.400" and first["exposure_stops"] == "+1.50"
    assert body[1][0] == ""  # the sequence that held text


def test_the_policy_alone_stops_a_script_that_got_into_the_page(tmp_path, capsys):
    """Escaping is the first guard; the Content-Security-Policy the second: a script put
    into the page by hand does not run with it, and does without it (so the probe works)."""
    folder = tmp_path / "session"
    folder.mkdir()
    _save(folder / "IMG_0001.JPG", _scene())
    with ShotStore.open(folder, setup={"reference": "IMG_0001.JPG"}) as store:
        store.record_shot(ShotRecord("IMG_0001.JPG", (ShotFile("IMG_0001.JPG", "ab" * 32, 1234),), "pass"))
    assert main(["report", str(folder)]) == 0
    capsys.readouterr()
    html = (folder / "report.html").read_text(encoding="utf-8")
    injected = html.replace("<body>", f"<body><script>{_RUN}</script><img src=x onerror=\"{_RUN}\">", 1)
    with_policy, without = folder / "with.html", folder / "without.html"
    with_policy.write_text(injected, encoding="utf-8")
    without.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", injected), encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    assert "PWNED" not in _dom(with_policy, profile)
    assert "PWNED" in _dom(without, profile)


def test_analyze_writes_formula_file_names_as_text(tmp_path, capsys):
    folder = tmp_path / "take"
    folder.mkdir()
    names = ["=HYPERLINK(\"https:evil.example\",\"x\").jpg", "+1+cmd|' -C calc'!A0.jpg", "@SUM(1+1).jpg"]
    for name in names:
        _save(folder / name, _scene())
    out = tmp_path / "take.csv"
    assert main(["analyze", str(folder), "--roi", ROI, "--csv", str(out)]) == 0
    capsys.readouterr()
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["file"] for r in rows) == sorted("'" + name for name in names)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(FORMULA_STARTS) or _PLAIN_NUMBER.fullmatch(cell), cell
