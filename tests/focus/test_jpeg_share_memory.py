"""A live lock keeps the JPEG noise share of earlier frames while focus stands still (the
block transforms it spares were a third of the focus work a frame); the user must not see
the difference. On real photographs after a JPEG round trip, still and then softening and
coming back, every reading agrees with what the view's own share gives to within an
eighth of the CoC and 0.4 of its sd (a frame's own share jitters by about 2 % with the
noise, which near focus, where the curve is flat, moves a reading by up to 0.3 sd; the
truth tests of test_jpeg_truth run the live engine with the memory), and a view that has
gone soft never reads with a share remembered from sharper frames."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.blur_curve import view_margin_px
from focuslock.focus.feature import extract_view
from focuslock.focus.jpeg_noise import FeatureScaleMemory
from focuslock.focus.parts import FeatureReference
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"
ROI = (100, 75, 200, 150)
COC_PX = 2.0
NOISE_SD = 2.0


@functools.cache
def _crop(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / f"{name}.jpg")), cv2.COLOR_BGR2RGB)


def _view(name: str, blur_px: float, seed: int) -> np.ndarray:
    """The lock's view of the box in a frame defocused by ``blur_px``, with noise, after
    a quality-90 JPEG round trip (as a body's live view delivers it)."""
    frame = degrade(_crop(name), blur_px, NOISE_SD, seed=seed)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    grey = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
    view = extract_view(grey, ROI, view_margin_px(COC_PX))
    assert view is not None
    return view.astype(np.float32)


def _reference(name: str) -> FeatureReference:
    views = [_view(name, 0.0, seed) for seed in range(6)]
    reference = FeatureReference.from_views(views, NOISE_SD, COC_PX, view_margin_px(COC_PX))
    assert reference.whole.jpeg is not None, "the view's JPEG grid must be found for this test to mean anything"
    return reference


@pytest.mark.parametrize("name", ["text_sw1", "header_pins"])
def test_a_still_then_slowly_softening_feature_reads_as_with_its_own_share(name):
    reference = _reference(name)
    memory = FeatureScaleMemory()
    # Still for 12 frames, then softening 0.04 px a frame to 1.5 CoC and back.
    blurs = [0.0] * 12 + [0.04 * i for i in range(1, 76)] + [3.0 - 0.04 * i for i in range(1, 76)]
    for seed, blur in enumerate(blurs, start=100):
        view = _view(name, blur, seed)
        remembered = reference.estimate(view, NOISE_SD, memory=memory).whole
        own = reference.estimate(view, NOISE_SD).whole
        assert abs(remembered.blur_px - own.blur_px) <= 0.125 * COC_PX, (blur, remembered.blur_px, own.blur_px)
        assert abs(remembered.blur_px - own.blur_px) <= 0.4 * own.blur_sd_px, (blur, remembered, own)


def test_a_view_whose_blur_moved_never_reads_with_the_sharp_frames_share():
    reference = _reference("switch_corner")
    memory = FeatureScaleMemory()
    for seed in range(200, 206):
        reference.estimate(_view("switch_corner", 0.0, seed), NOISE_SD, memory=memory)
    # Focus racked by two CoC at once: the share is the soft view's own, exactly.
    soft = _view("switch_corner", 2.0 * COC_PX, 300)
    remembered = reference.estimate(soft, NOISE_SD, memory=memory).whole
    own = reference.estimate(soft, NOISE_SD).whole
    assert remembered.blur_px == pytest.approx(own.blur_px, abs=1e-9)
    assert remembered.blur_sd_px == pytest.approx(own.blur_sd_px, abs=1e-9)
