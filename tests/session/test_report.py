"""The session report, opened in headless Chromium (Debian's chromium) as a user would."""

from __future__ import annotations

import csv
import shutil
import subprocess

import cv2
import numpy as np

from focuslock.cli import main
from focuslock.testing.synthetic import degrade
from tests.test_watch import COC_PX, ROI, _save, _scene  # the same pictures as the watch tests

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
if CHROMIUM is None:  # a prerequisite of the test command (README), not a reason to skip
    raise RuntimeError("Chromium is needed by these tests: sudo apt install chromium")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync"]


def test_the_report_opens_in_chromium_with_every_shot_and_its_crops(tmp_path, capsys):
    folder = tmp_path / "hot"
    folder.mkdir()
    scene = _scene()
    for i, blur in enumerate((0.0, 0.5, 2.0 * COC_PX, 0.0)):
        _save(folder / f"IMG_{i:04d}.JPG", degrade(scene, blur, 2.0, seed=i))
    assert main(["watch", str(folder), "--roi", ROI, "--coc-px", str(COC_PX), "--once", "--sidecars", "none"]) == 0
    assert main(["report", str(folder)]) == 0
    capsys.readouterr()
    page = folder / "report.html"
    with open(folder / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["verdict"], r["feature1_state"]) for r in rows] == [
        ("IMG_0000.JPG", "pass", "sharp"), ("IMG_0001.JPG", "pass", "sharp"), ("IMG_0002.JPG", "soft", "soft"),
        ("IMG_0003.JPG", "pass", "sharp")]
    assert abs(float(rows[2]["worst_blur_coc"]) - 2.0) < 0.3

    profile = tmp_path / "chromium-profile"
    dom = subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    # Chromium parsed a page with a row per shot, each with its inline picture and 100 % crop.
    assert dom.count('class="shot"') == 4
    assert dom.count('class="crop"') == 4 and dom.count('class="thumb"') == 4
    assert "SOFT 1 CoC" in dom and "<svg" in dom
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,1400", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120)
    picture = cv2.imread(str(shot))
    assert picture is not None and picture.shape[:2] == (1400, 1200)
    # Not a blank page: the thumbnails and crops are drawn (dark barcode bars on the white page).
    assert np.mean(picture < 80) > 0.05
    # Running it again replaces the report (focuslock's own file) but a named existing file needs --force.
    assert main(["report", str(folder)]) == 0
    assert main(["report", str(folder), "--out", str(folder / "IMG_0000.JPG")]) == 1
    assert "exists" in capsys.readouterr().err
