"""``focuslock stack-check`` on a real focus stack (tests/data/focus-stacks/pcb: seven frames
of a circuit board seen at a low angle, focus moved from the front to the back; MIT).

What a macro shooter relies on: the whole stack covers the board at a CoC it resolves;
with one frame taken out the gap is reported between the right two frames and nowhere
else; a frame taken twice is reported as "not moved" at the right place; the map shows
front to back; bad input gets one sentence.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.cli import main

PCB = Path(__file__).parent / "data" / "focus-stacks" / "pcb"
# A CoC at which the pcb stack's steps (one frame blurs the next by 1.8–3.8 px of its
# 1024 px width) keep every depth within the depth of field of some frame.
COC_PX = 2.5


def _check(capsys, target, *extra) -> dict:
    assert main(["stack-check", str(target), "--coc-px", str(COC_PX), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _copy(tmp_path, drop=(), twice=()) -> Path:
    folder = tmp_path / "stack"
    folder.mkdir()
    for path in sorted(PCB.glob("*.jpg")):
        if path.name in drop:
            continue
        shutil.copy(path, folder / path.name)
        if path.name in twice:
            shutil.copy(path, folder / (path.stem + "b.jpg"))  # sorts right after it
    return folder


def test_the_whole_stack_has_one_gap_at_its_front(capsys):
    # pcb_001 holds the USB socket sharp (its dust fibres crisp); in pcb_002 it is blurred
    # by several pixels — the first step is the stack's largest by far. The rest move
    # focus by visible amounts within what the CoC allows.
    report = _check(capsys, PCB)
    assert len(report["frames"]) == 7
    gaps = [[report["frames"][i] for i in step["between"]] for step in report["steps"] if step["gap"]]
    assert gaps == [["pcb_001.jpg", "pcb_002.jpg"]]
    assert not any(step["not_moved"] for step in report["steps"])
    assert all(0.5 < step["blur_coc"] <= 2.0 for step in report["steps"][1:]), report["steps"]
    assert report["parts_judged"] > 100
    assert any(line.startswith("Gap: between frames 1 and 2 (pcb_001.jpg, pcb_002.jpg)") for line in report["report"])


@functools.lru_cache(maxsize=1)
def _barcode_plane():
    from focuslock.testing.synthetic import TiltedPlane

    rgb = cv2.cvtColor(cv2.imread(str(PCB.parent / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    return TiltedPlane(rgb, max_blur_px=9.0)


@pytest.mark.parametrize("step_px", [0.5, 1.4, 2.5])
def test_steps_are_read_within_a_tenth_on_a_stack_of_known_steps(step_px):
    """A photograph on a plane tilted away from the lens (the barcode crop, MIT), stacked
    by moving the plane of focus across it in even steps that blur one frame against the
    next by ``step_px``: the truth is known. With a CoC of 1 px, steps of 2.5 px leave a
    gap between every pair (half a step is past the CoC), steps of 1.4 px none; at 0.5 px
    every other frame could go (the frames kept would be 1 px apart), at 1.4 none."""
    from focuslock.focus.coverage import check_coverage

    rgb = cv2.cvtColor(cv2.imread(str(PCB.parent / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    slope = 0.02  # blur px per column away from the plane of focus
    plane = _barcode_plane()
    columns = np.arange(float(rgb.shape[1]))
    planes = np.arange(0.0, rgb.shape[1] + step_px / slope, step_px / slope)
    frames = [cv2.cvtColor(plane.frame(slope * np.abs(columns - p), 1.0, seed=i), cv2.COLOR_RGB2GRAY).astype(np.float32)
              for i, p in enumerate(planes)]
    coverage = check_coverage(frames, [f"{i}" for i in range(len(frames))], coc_px=1.0)
    judged = [step for step in coverage.steps if step.tiles >= 3]
    assert len(judged) >= 3
    readings = [step.blur_px for step in judged]
    # Each within a tenth, or a quarter of the CoC for the smallest steps (the readings'
    # own noise: 0.5 px steps read 0.37–0.75 px, on the old noise estimate as on the new);
    # together within an eighth of a pixel (0.5 px steps read 0.58–0.61 in the median: the
    # estimator over-reads small blurs by about a tenth of a pixel, FOCUS-TRUTH.md).
    assert float(np.median(readings)) == pytest.approx(step_px, rel=0.10, abs=0.125), readings
    for step in judged:
        assert step.blur_px == pytest.approx(step_px, rel=0.10, abs=0.25), readings
        assert step.gap == (step_px / 2.0 > 1.0)
    if step_px < 1.0:
        assert len(coverage.redundant) >= (len(frames) - 2) // 2 - 1
        # The frames kept are truly (by the known steps) within 2 CoC of each other.
        kept = [i for i in range(len(frames)) if i not in coverage.redundant]
        assert all((b - a) * step_px <= 2.0 for a, b in zip(kept, kept[1:]))
    else:
        assert coverage.redundant == []


def test_frames_taken_out_of_the_middle_leave_a_gap_where_they_were(tmp_path, capsys):
    report = _check(capsys, _copy(tmp_path, drop=("pcb_004.jpg", "pcb_005.jpg")))
    gaps = [step for step in report["steps"] if step["gap"]]
    # The front gap of the whole stack, and the new one where the frames were.
    assert [[report["frames"][i] for i in gap["between"]] for gap in gaps] == [["pcb_001.jpg", "pcb_002.jpg"],
                                                                                ["pcb_003.jpg", "pcb_006.jpg"]]
    assert gaps[1]["blur_coc"] > 2.0
    assert report["parts_soft"] > 0
    assert any(line.startswith("Gap: between frames 3 and 4 (pcb_003.jpg, pcb_006.jpg)") for line in report["report"])


def test_one_frame_taken_out_makes_the_largest_step_where_it_was(tmp_path, capsys):
    whole = _check(capsys, PCB)
    report = _check(capsys, _copy(tmp_path, drop=("pcb_004.jpg",)))
    largest = max(report["steps"], key=lambda step: step["blur_px"])
    assert [report["frames"][i] for i in largest["between"]] == ["pcb_003.jpg", "pcb_005.jpg"]
    # About the two steps it replaced (blur adds up along the depth), well past any of
    # the whole stack's steps.
    replaced = whole["steps"][2]["blur_px"] + whole["steps"][3]["blur_px"]
    assert 0.7 * replaced < largest["blur_px"] < 1.3 * replaced
    assert largest["blur_px"] > 1.3 * max(step["blur_px"] for step in whole["steps"])


def test_a_frame_taken_twice_is_reported_as_not_moved(tmp_path, capsys):
    report = _check(capsys, _copy(tmp_path, twice=("pcb_004.jpg",)))
    still = [[report["frames"][i] for i in step["between"]] for step in report["steps"] if step["not_moved"]]
    assert still == [["pcb_004.jpg", "pcb_004b.jpg"]]
    # The front gap is still found. (Known: beside a frame taken twice, the split of
    # blur between the two steps after it is poorly fixed — one read 2.5 CoC where the
    # whole stack reads 1.8 — so no claim is made about those two here; see the issue.)
    gaps = [[report["frames"][i] for i in step["between"]] for step in report["steps"] if step["gap"]]
    assert gaps[0] == ["pcb_001.jpg", "pcb_002.jpg"]
    assert any(line.startswith("Not moved: frames 4 and 5") for line in report["report"])


def test_gaps_are_placed_in_millimetres_when_the_step_is_known(tmp_path, capsys):
    folder = _copy(tmp_path, drop=("pcb_004.jpg", "pcb_005.jpg"))
    assert main(["stack-check", str(folder), "--coc-px", str(COC_PX), "--step-mm", "0.1"]) == 0
    out = capsys.readouterr().out
    # The gap lies between the 3rd and 4th frames kept: 2.5 steps from the first (the
    # frames are taken to be evenly spaced).
    assert "at about +0.250 mm from the first frame" in out


def test_the_coverage_map_shows_front_to_back(tmp_path, capsys):
    target = tmp_path / "map.png"
    _check(capsys, PCB, "--map", str(target))
    picture = cv2.imread(str(target))
    assert picture is not None and picture.shape[1] == 1024 and picture.shape[0] > 768  # the map and its legend
    # The board's front edge (bottom) is sharpest in the first frames, the card at the
    # back (top) in the last: the tints run along OpenCV's turbo scale from blue to red, on a
    # grey picture, so the tint shows in red against blue.
    top, bottom = picture[40:200, 300:900].astype(float), picture[640:720, 300:900].astype(float)
    blue, red = 0, 2
    assert top[..., red].mean() > top[..., blue].mean() + 20
    assert bottom[..., blue].mean() > bottom[..., red].mean() + 20


def test_nonsense_input_gets_one_sentence(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["stack-check", str(empty)]) != 0
    assert "a stack needs at least two" in capsys.readouterr().err
    folder = _copy(tmp_path)
    (folder / "pcb_002.jpg").write_bytes(b"not a jpeg")
    report = _check(capsys, folder)
    assert len(report["frames"]) == 6 and any("pcb_002.jpg" in w for w in report["warnings"])
    with pytest.raises(SystemExit):
        main(["stack-check", str(folder), "--coc-px", "-1"])
    # The map never replaces a frame of the stack.
    assert main(["stack-check", str(folder), "--map", str(folder / "pcb_001.jpg"), "--force"]) != 0
    assert cv2.imread(str(folder / "pcb_001.jpg")) is not None
