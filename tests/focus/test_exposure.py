"""The one exposure measurement (focus/exposure.py) and the window's capture check, which
asks it: real photographs, a capture saved as a real file and read back."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.defocus import view_margin_px
from focuslock.focus.exposure import ExposureNote, Levels, compare_levels, feature_levels, srgb_to_linear
from focuslock.focus.feature import extract_view
from focuslock.focus.lock import FocusLock, LockSettings
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.session.checks import check_captured_files
from focuslock.testing.synthetic import degrade
from tests.session.test_exposure_notes import exposed

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"
LIVE_ROI = (150, 100, 100, 80)  # in the 400×300 live view
COC_PX = 2.0


def test_levels_are_linear_light_so_a_stop_is_a_factor_two():
    # sRGB level 128 is 22 % of white's light, not 50 %; 188 is about twice as much light.
    assert srgb_to_linear(np.array([0, 128, 188, 255], np.uint8)) == pytest.approx([0.0, 0.2158, 0.5029, 1.0], abs=1e-3)
    picture = cv2.imread(str(DATA / "header_pins.jpg"))
    box = (100, 75, 200, 150)
    reference = feature_levels(picture, box)
    for stops in (-2.0, -1.0, 0.5):
        shot = feature_levels(exposed(picture, stops), box)
        assert compare_levels(0, reference, shot).stops == pytest.approx(stops, abs=0.05)
    # Doubling the 8-bit levels (what a gain on gamma-encoded values does) is over two stops of light.
    doubled = np.clip(picture.astype(np.int32) * 2, 0, 255).astype(np.uint8)
    assert compare_levels(0, reference, feature_levels(doubled, box)).stops > 1.8
    # Grey and colour pictures of the same scene read alike (luminance).
    grey = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)
    assert feature_levels(grey, box).linear_mean == pytest.approx(reference.linear_mean, rel=0.1)


def test_clipping_counts_beyond_the_references_and_a_black_box_has_no_ratio():
    note = ExposureNote((compare_levels(0, Levels(0.2, 0.05), Levels(0.21, 0.06)),
                         compare_levels(1, Levels(0.2, 0.0), Levels(0.19, 0.08))))
    assert note.clipped_features == (1,)  # feature 1 clipped as much as in the reference: no note for it
    assert note.text() == "highlights clipped in feature 2 (8 % of it, 0 % in the reference)"
    assert compare_levels(0, Levels(0.0, 0.0), Levels(0.2, 0.0)).stops is None
    picture = np.zeros((40, 40, 3), np.uint8)
    picture[:20] = 255
    assert feature_levels(picture, (0, 0, 40, 40)).clipped_share == pytest.approx(0.5)
    assert feature_levels(picture, (50, 50, 10, 10)) is None  # outside the picture


def _live_lock(live_bgr: np.ndarray) -> FocusLock:
    grey = cv2.cvtColor(live_bgr, cv2.COLOR_BGR2GRAY)
    view = extract_view(grey, LIVE_ROI, view_margin_px(COC_PX))
    return FocusLock(view, single_frame_noise_sigma(grey), LockSettings(coc_px=COC_PX, take_mode=True))


def test_the_window_capture_check_tells_the_exposure_beside_an_unchanged_verdict(tmp_path):
    # Live view 400×300, locked a stop under the photograph; the captures twice as large.
    picture = cv2.resize(cv2.imread(str(DATA / "barcode.jpg")), (800, 600), interpolation=cv2.INTER_CUBIC)
    live = cv2.resize(degrade(exposed(picture, -1.0), 0.0, 1.0, seed=1), (400, 300), interpolation=cv2.INTER_AREA)
    lock = _live_lock(live)
    paths = []
    for name, stops in (("same", -1.0), ("darker", -2.0), ("brighter", 0.0), ("over", 1.0)):
        path = tmp_path / f"{name}.png"
        cv2.imwrite(str(path), degrade(exposed(picture, stops), 0.0, 1.0, seed=2))
        paths.append(path)
    same, darker, brighter, over = check_captured_files(paths, (400, 300), LIVE_ROI, lock.reference)
    assert same.state == "sharp" and "exposure" not in same.message, same.message
    assert darker.state == "sharp" and darker.message.endswith(" · exposure: -1.0 stops darker than the lock"), darker.message
    assert brighter.state == "sharp" and brighter.message.endswith(" · exposure: +1.0 stops brighter than the lock")
    assert brighter.exposure.stops == pytest.approx(1.0, abs=0.05)
    # Two stops over: the paper clips, the blur cannot be trusted — UNCERTAIN, and why.
    assert over.state == "uncertain" and "clipped" in over.message, over.message
    assert "highlights clipped in feature 1" in over.message and "0 % in the lock)" in over.message
