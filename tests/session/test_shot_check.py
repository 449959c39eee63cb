"""A session's shot check (one reference picture, one shot: the noise of single frames
only) on real photographs defocused by a known disc.

What a user relies on: a detailed feature reads SHARP when sharp and SOFT from about the
CoC; a feature whose detail is too soft or too faint for its noise is never called SHARP
once it is blurred past the CoC — the setup says so at once, in one sentence — however
the single-frame noise estimate errs.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.lock import NO_DETAIL_WARNING
from focuslock.session.shot_check import SessionSetup, ShotJudge
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"
COC_FILE_PX = 6.0
BOX = (450, 300, 300, 240)  # in the 1200×900 picture


def _picture(name: str) -> np.ndarray:
    """A crop enlarged to 1200×900 (RGB): a shot's resolution, its detail at the scale of
    a CoC of 6 px."""
    rgb = cv2.cvtColor(cv2.imread(str(DATA / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (1200, 900), interpolation=cv2.INTER_CUBIC)


def _judge_ramp(name: str, noise_sd: float, contrast: float, cocs: tuple[float, ...]):
    picture = _picture(name)
    reference = cv2.cvtColor(degrade(picture, 0.0, noise_sd, contrast=contrast, seed=1), cv2.COLOR_RGB2BGR)
    judge = ShotJudge(reference, SessionSetup("ramp", (BOX,), coc_px=COC_FILE_PX))
    verdicts = []
    for index, coc in enumerate(cocs):
        shot = cv2.cvtColor(degrade(picture, coc * COC_FILE_PX, noise_sd, contrast=contrast, seed=10 + index),
                            cv2.COLOR_RGB2BGR)
        verdicts.append(judge.judge(Path(f"shot_{index}.jpg"), shot).features[0])
    return judge, verdicts


def test_a_detailed_feature_reads_sharp_then_soft_from_the_coc():
    cocs = (0.0, 0.25, 0.75, 1.25, 2.0)
    judge, verdicts = _judge_ramp("header_pins", 1.0, 1.0, cocs)
    assert judge.warnings == []
    states = [v.state for v in verdicts]
    assert states[:2] == ["sharp", "sharp"], [v.describe() for v in verdicts]
    assert states[2] in ("sharp", "softening")
    assert states[3:] == ["soft", "soft"], [v.describe() for v in verdicts]
    # The blur in the file's pixels reads the disc it was given, within a fifth, at 1.25 CoC.
    assert verdicts[3].blur_px == pytest.approx(1.25 * COC_FILE_PX, rel=0.2)


@pytest.mark.parametrize("contrast", [0.25, 0.5])
def test_a_soft_faint_feature_is_never_sharp_past_the_coc(contrast):
    # The box on the SW1 print: soft letter edges already (the crop is a stack frame), at
    # a quarter or half of its contrast, with ordinary noise. Its through-focus curve is
    # so flat that the single-frame noise estimate's own error (~20 % low here) once read
    # as detail: SHARP up to 3 CoC.
    cocs = (0.0, 1.25, 1.75, 2.5, 3.0)
    judge, verdicts = _judge_ramp("text_sw1", 1.0, contrast, cocs)
    for coc, verdict in zip(cocs, verdicts):
        if coc > 1.0:
            assert verdict.state in ("uncertain", "soft"), (coc, verdict.describe())
        assert verdict.state != "sharp" or coc <= 0.5, (coc, verdict.describe())
    # The setup says at once that this feature cannot be judged, and what to do.
    assert len(judge.warnings) == 1 and judge.warnings[0].endswith(NO_DETAIL_WARNING)
    assert all(v.state == "uncertain" and v.reason for v in verdicts if v.state != "soft")
