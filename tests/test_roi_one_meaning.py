"""--roi has one meaning everywhere (issue 30, round two): one parser (X,Y,W,H, center:WxH,
auto) for every command that takes it — calibrate too —, one minimum size (core/box),
one sentence for a box too small; and auto on a stack chooses in its most detailed frame."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest

from focuslock.cli import arguments as arg
from focuslock.cli import main
from focuslock.cli.examples import _subcommands
from focuslock.cli.parser import build_parser
from focuslock.core.box import MIN_FEATURE_PX
from focuslock.focus.auto_feature import auto_feature
from focuslock.focus.feature import extract_view
from tests.conftest import REDUCED_STACKS


def _roi_options(parser: argparse.ArgumentParser, words: str = "") -> list[tuple[str, argparse.Action]]:
    found = [(words, action) for action in parser._actions if "--roi" in action.option_strings]
    for name, sub in _subcommands(parser).items():
        found += _roi_options(sub, f"{words} {name}".strip())
    return found


def test_every_roi_option_is_read_by_the_one_parser():
    options = _roi_options(build_parser())
    assert {"calibrate focus-steps", "live", "analyze", "watch", "mark set", "recipe save"} <= {w for w, _ in options}
    for words, action in options:
        assert action.type is arg.feature, words
    assert not hasattr(arg, "roi")  # the 3-pixel box of old is gone


def test_a_view_is_cut_only_for_a_box_a_feature_may_be():
    grey = np.zeros((100, 100), np.float32)
    small = MIN_FEATURE_PX - 1
    assert extract_view(grey, (10, 10, small, small), 4) is None
    assert extract_view(grey, (10, 10, MIN_FEATURE_PX, MIN_FEATURE_PX), 4).shape == (MIN_FEATURE_PX + 8,) * 2


@pytest.mark.parametrize(("roi", "said"), [
    ("3,3,5,5", f"too small to follow: choose one at least {MIN_FEATURE_PX}×{MIN_FEATURE_PX} pixels"),
    ("center:5x40", f"too small to follow: choose one at least {MIN_FEATURE_PX}×{MIN_FEATURE_PX} pixels"),
    ("center:9000x40", "larger than the"),
    ("center:40x30", "cannot drive focus"),  # read, placed in the first frame; then the folder has no drive
    ("auto", "cannot drive focus"),
])
def test_calibrate_takes_the_roi_every_command_takes(tmp_path, capsys, roi, said):
    from tests.camera.test_contract import write_folder

    folder = write_folder(tmp_path / "frames", 3)
    code = main(["calibrate", "focus-steps", "--source", f"folder:{folder}", "--roi", roi, "--dry-run"])
    err = capsys.readouterr().err
    assert code == 1 and said in err, err
    # One sentence, not a usage error (auto first says the box it chose).
    assert err.count("focuslock: ") == 1 and "usage:" not in err, err
    assert ("calibrate: feature chosen automatically: " in err) == (roi == "auto"), err


def test_auto_on_a_stack_chooses_in_its_most_detailed_frame_and_says_which(capsys):
    import cv2

    stack = REDUCED_STACKS / "pcb"
    energies = [auto_feature(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)).energy for p in sorted(stack.iterdir())]
    richest = int(np.argmax(energies))
    assert richest != 0  # frame 0 is not where this stack's detail is: the test tells the two apart
    assert main(["analyze", str(stack), "--roi", "auto"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"feature chosen automatically: \d+,\d+,\d+,\d+ .*in frame {richest}\b", out), out
    assert f"lock frame {richest}" in out, out
