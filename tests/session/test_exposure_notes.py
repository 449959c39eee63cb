"""Exposure beside focus, on real photographs saved as real files: a shot a stop darker or
brighter than the reference keeps its focus verdict and carries an exposure note — in the
verdict, in its XMP sidecar (read by exiftool), in the session's log (real SQLite) and in
the report and its CSV.

A stop is a factor 2 in linear light: the pictures are decoded through the sRGB curve,
scaled and encoded again (8-bit levels are gamma-encoded; doubling them is two stops and
more). The reference is exposed a stop under the photograph, as a studio keeps headroom,
so that a stop brighter does not clip.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.exposure import KEYWORD_BRIGHTER, KEYWORD_CLIPPED, KEYWORD_DARKER, srgb_to_linear
from focuslock.session.records import ShotFile, ShotRecord
from focuslock.session.report import render_report
from focuslock.session.shot_check import SessionSetup, ShotJudge, ShotOutcome
from focuslock.session.store import ShotStore
from focuslock.session.verdict import EXPOSURE_LOG_KEY
from focuslock.session.xmp import RatingPolicy, XmpFields, write_sidecar
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"
EXIFTOOL = shutil.which("exiftool")
if EXIFTOOL is None:  # a prerequisite of the test command (README), not a reason to skip
    raise RuntimeError("exiftool is needed by these tests: sudo apt install libimage-exiftool-perl (macOS: brew install exiftool)")
BOX = (450, 300, 300, 240)
COC_PX = 6.0


def exposed(bgr: np.ndarray, stops: float) -> np.ndarray:
    """``bgr`` with ``stops`` more light (linear light × 2^stops), clipped as a sensor clips."""
    linear = np.clip(srgb_to_linear(bgr) * 2.0**stops, 0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def _scene(name: str) -> np.ndarray:
    return cv2.resize(cv2.imread(str(DATA / f"{name}.jpg")), (1200, 900), interpolation=cv2.INTER_CUBIC)


def _save(path: Path, bgr: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def _judge(tmp_path: Path, picture: np.ndarray) -> ShotJudge:
    reference = _save(tmp_path / "reference.jpg", degrade(exposed(picture, -1.0), 0.0, 1.5, seed=1))
    return ShotJudge(cv2.imread(str(reference)), SessionSetup("reference.jpg", (BOX,), coc_px=COC_PX))


@pytest.mark.parametrize("name", ["barcode", "header_pins"])
def test_a_stop_darker_or_brighter_keeps_the_focus_verdict_and_says_so(tmp_path, name):
    picture = _scene(name)
    judge = _judge(tmp_path, picture)
    same = judge.judge_file(_save(tmp_path / "same.jpg", degrade(exposed(picture, -1.0), 0.0, 1.5, seed=2)))
    assert same.verdict == ShotOutcome.PASS and same.exposure_note is None, same.describe()
    assert abs(same.exposure.stops) < 0.05
    half = judge.judge_file(_save(tmp_path / "half.jpg", degrade(exposed(picture, -0.5), 0.0, 1.5, seed=3)))
    assert half.verdict == ShotOutcome.PASS and half.exposure_note is None, half.describe()  # half a stop: no note
    for stops, word, keyword in ((-1.0, "darker", KEYWORD_DARKER), (1.0, "brighter", KEYWORD_BRIGHTER)):
        shot = judge.judge_file(_save(tmp_path / f"{word}.jpg", degrade(exposed(picture, -1.0 + stops), 0.0, 1.5, seed=4)))
        # The focus verdict is the light's business not at all: PASS, the feature SHARP.
        assert shot.verdict == ShotOutcome.PASS, shot.describe()
        assert shot.features[0].state == "sharp", shot.describe()
        assert abs(shot.features[0].coc_share) < 0.25, shot.describe()
        # The stop, measured in linear light, within a twentieth; the note says it.
        assert shot.exposure.stops == pytest.approx(stops, abs=0.05)
        assert shot.exposure_note == f"exposure: {stops:+.1f} stops {word} than the reference", shot.describe()
        assert shot.describe().endswith(f" · exposure: {stops:+.1f} stops {word} than the reference")
        assert shot.exposure.keywords() == (keyword,)
    # A blurred shot a stop darker is SOFT as ever, with the note beside it.
    soft = judge.judge_file(_save(tmp_path / "soft.jpg", degrade(exposed(picture, -2.0), 2.0 * COC_PX, 1.5, seed=5)))
    assert soft.verdict == ShotOutcome.SOFT and "darker" in soft.exposure_note, soft.describe()


def test_clipped_highlights_are_noted_and_make_the_focus_uncertain(tmp_path):
    picture = _scene("barcode")
    judge = _judge(tmp_path, picture)
    # Two stops over the reference: the white paper between the bars clips.
    shot = judge.judge_file(_save(tmp_path / "over.jpg", degrade(exposed(picture, 1.0), 0.0, 1.5, seed=6)))
    assert shot.verdict == ShotOutcome.UNCERTAIN and "clipped" in shot.reason, shot.describe()
    assert shot.exposure.clipped_features == (0,)
    assert shot.exposure_note.startswith("exposure: +")  # also far brighter (clipping caps the measured stops)
    assert "highlights clipped in feature 1 (" in shot.exposure_note and "0 % in the reference)" in shot.exposure_note
    assert set(shot.exposure.keywords()) == {KEYWORD_BRIGHTER, KEYWORD_CLIPPED}


def test_the_note_reaches_the_sidecar_the_log_the_report_and_the_csv(tmp_path):
    picture = _scene("header_pins")
    judge = _judge(tmp_path, picture)
    path = _save(tmp_path / "IMG_0002.JPG", degrade(exposed(picture, 0.0), 0.0, 1.5, seed=7))
    verdict = judge.judge_file(path)
    note = verdict.exposure_note
    assert verdict.verdict == ShotOutcome.PASS and note == "exposure: +1.0 stops brighter than the reference"
    # The sidecar: the rating is the focus verdict's, the note a keyword and a sentence.
    sidecar = write_sidecar(tmp_path / "IMG_0002.JPG.xmp", XmpFields(verdict.verdict, verdict.reason, "s", 1, "2026-01-01T00:00:00Z",
                                                                     exposure=verdict.exposure), RatingPolicy())
    [tags] = json.loads(subprocess.run([EXIFTOOL, "-j", "-G1", str(sidecar)], capture_output=True, text=True, check=True).stdout)
    assert tags["XMP-xmp:Rating"] == 5 and tags["XMP-dc:Subject"] == KEYWORD_BRIGHTER  # exiftool: one keyword reads as a value
    assert tags["XMP-focuslock:Exposure"] == note
    # The log keeps it in the shot's camera record, beside the body's settings.
    session = tmp_path / "session"
    camera = verdict.camera_record({"name": "EOS R5", "iso": "100"})
    assert camera["iso"] == "100" and camera[EXPOSURE_LOG_KEY]["note"] == note
    with ShotStore.open(session) as store:
        store.record_shot(ShotRecord(path.name, (ShotFile(str(path), "0" * 64, path.stat().st_size),), verdict.verdict,
                                     verdict.reason, verdict.features, camera=camera))
        # A second shot whose logged note was edited outside focuslock into markup.
        hostile = dict(camera, **{EXPOSURE_LOG_KEY: {"note": "<script>alert(1)</script> & co", "stops": "lots"}})
        store.record_shot(ShotRecord("IMG_0003.JPG", (ShotFile(str(path) + "3", "1" * 64, 1),), "pass", camera=hostile))
    with ShotStore.read(session) as store:
        page, csv_text = render_report(store)
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert (rows[0]["verdict"], rows[0]["exposure_note"], rows[0]["exposure_stops"][:4]) == ("pass", note, "+1.0")
    assert rows[1]["exposure_note"] == "<script>alert(1)</script> & co" and rows[1]["exposure_stops"] == ""
    assert f'<div class="exposure">{note}</div>' in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "2 with an exposure note" in page
