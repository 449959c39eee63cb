"""Issue 27, "no false all-clear anywhere": ``stack-check`` judges the ends of a stack.

A part of the picture whose sharpness is still rising at the first or last frame has its
best focus beyond the stack; if it is soft there, the stack does not cover it, whatever
the steps between the frames. The check says so — "not covered: extend the stack nearer
/ farther by about N frames" — and says "No gap" only when every part with detail is
sharp in some frame. Where it cannot tell, it says UNCERTAIN and why.

The stacks here: the simulated bench (its truth known: where each part lies), a
photograph on a tilted plane stacked in known steps of blur (tests/data, MIT), and the
real pcb stack of tests/data/focus-stacks with frames taken off an end.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.cli import main

DATA = Path(__file__).parent / "data" / "focus-stacks"


def _json(capsys, *args) -> dict:
    assert main(["stack-check", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- the simulated bench


def test_the_issue_stack_is_not_covered_at_either_end(tmp_path, capsys):
    """The issue's stack: ±1.5 mm of a bench whose detail spans some 30 mm. Before, the
    check said "255 of 255 parts … are sharp in at least one frame. No gap"; its own map
    showed the star and the bars blurred in every frame."""
    folder = tmp_path / "sc1"
    assert main(["stack-shoot", "--source", "sim", "--near-steps", "60", "--far-steps", "60", "--step-um", "25",
                 "--capture-width-px", "1024", "--out", str(folder)]) == 0
    shot = capsys.readouterr().out
    # The check stack-shoot runs on its own frames says it too.
    assert "No gap" not in shot
    assert "extend the stack nearer by" in shot and "extend the stack farther by" in shot
    report = _json(capsys, folder)
    assert not report["covered"] and not any(line.startswith("No gap") for line in report["report"])
    first, last = report["ends"]
    # stack.json lists the frames from the nearest (−60 steps) to the farthest (+60).
    assert (first["extend"], last["extend"]) == ("nearer", "farther")
    assert not first["covered"] and not last["covered"]
    # The bench's detail runs some 13 mm past either end at frames 1 mm apart (about a
    # CoC of blur each): a dozen frames; large blurs read low, so at least half that.
    assert first["frames_to_add"] >= 6 and last["frames_to_add"] >= 6
    assert report["parts_soft"] > report["parts_judged"] / 2
    lines = report["report"]
    assert any(line.startswith("Not covered:") and "nearer than the first frame (SIM_0001.JPG)" in line for line in lines)
    assert any(line.startswith("Not covered:") and "farther than the last frame (SIM_0004.JPG)" in line for line in lines)


@pytest.fixture(scope="module")
def bench_stacks(tmp_path_factory):
    """Two stacks of the bench at 0.5×, 1024 px captures: one frame every 0.7 depth of
    field from the optics, (a) ±60 drive steps around the middle at f/5.6 (the issue's),
    (b) the whole depth of the picture at f/11. stack.json records the step and the CoC."""
    from focuslock.simulators.bench_config import BenchConfig
    from focuslock.simulators.sim import SimulatedBench
    from focuslock.workflows.stack_shoot import frame_step_steps, optics_of, plan_slices, shoot_stack

    out = {}
    for name, f_number, whole in (("ends", 5.6, False), ("whole", 11.0, True)):
        config = BenchConfig(f_number=f_number, capture_width_px=1024, frame_rate_hz=None)
        bench = SimulatedBench(config)
        bench.open()
        try:
            optics, sensor_width_mm = optics_of(bench)
            every = frame_step_steps(optics, config.focus_step_um, 0.3)
            if whole:
                depth = bench.truth_depth_map_mm()
                near = math.ceil((bench.focus_distance_mm - float(depth.min())) * 1000 / config.focus_step_um)
                far = math.ceil((float(depth.max()) - bench.focus_distance_mm) * 1000 / config.focus_step_um)
                positions = plan_slices(near, far, every)
            else:
                positions = plan_slices(60, 60, every)
            folder = tmp_path_factory.mktemp(name)
            shot = shoot_stack(bench, positions, folder, step_um=config.focus_step_um, optics=optics,
                               sensor_width_mm=sensor_width_mm)
            assert shot.stopped is None
            dof_steps = optics.planning_dof_mm() * 1000 / config.focus_step_um
            best = {}  # each tile's best focus (drive steps), weighted by its detail
            out[name] = {"folder": folder, "positions": positions, "every": every, "dof_steps": dof_steps,
                         "bench": bench, "best": best, "optics": optics}
        finally:
            bench.close()
    return out


def _best_steps(stack, box) -> float:
    if box not in stack["best"]:
        stack["best"][box] = stack["bench"].best_focus_position_steps(box)
    return stack["best"][box]


def test_parts_beyond_the_ends_of_a_bench_stack_lie_beyond_them(bench_stacks):
    """Against the bench's truth (where each part's detail is sharpest): every part called
    beyond the first frame lies nearer than it, every part beyond the last farther; parts
    called covered lie within a depth of field of the stack; parts more than a depth of
    field beyond an end are not called covered; the frames to add reach the farthest."""
    from focuslock.focus.stack_ends import TileState
    from focuslock.workflows.stack_check import run_stack_check

    stack = bench_stacks["ends"]
    coverage, _ = run_stack_check(stack["folder"])
    first, last, dof = stack["positions"][0], stack["positions"][-1], stack["dof_steps"]
    beyond_far = []
    for tile in coverage.tiles:
        best = _best_steps(stack, tile.box_px)
        if tile.state is TileState.BEYOND_FIRST:
            assert best < first, (tile, best)
        elif tile.state is TileState.BEYOND_LAST:
            assert best > last, (tile, best)
        elif tile.state is TileState.COVERED:
            assert first - dof <= best <= last + dof, (tile, best)
        if best < first - dof or best > last + dof:
            beyond_far.append(tile)
    assert len(beyond_far) > len(coverage.tiles) / 2
    assert sum(t.covered for t in beyond_far) == 0
    # The truth's frames to add at each end, at the stack's own step, from the farthest
    # part: half a depth of field is one CoC of blur.
    for end, position in zip(coverage.ends, (first, last)):
        farthest = max(abs(_best_steps(stack, t.box_px) - position) for t in coverage.tiles
                       if t.state in (TileState.BEYOND_FIRST, TileState.BEYOND_LAST)
                       and (t.sharpest_frame == end.frame))
        spacing = stack["positions"][1] - stack["positions"][0]  # evenly, at most one every 0.7 DoF
        truth = math.ceil((farthest - dof / 2) / spacing)
        assert 0.6 * truth <= end.frames_to_add <= 1.3 * truth, (end, truth)


def test_a_bench_stack_over_the_whole_subject_says_no_gap(bench_stacks, capsys):
    """No false alarm: a stack from the nearest detail of the picture to the farthest, a
    frame every 0.7 depth of field, is sharp everywhere and says so."""
    stack = bench_stacks["whole"]
    report = _json(capsys, stack["folder"])
    assert report["covered"] and report["parts_soft"] == 0 and report["parts_uncertain"] == 0
    assert all(end["covered"] for end in report["ends"])
    assert report["report"][-1].startswith("No gap:")
    assert report["coc_from"] == "stack.json"
    # The effective CoC: frames 0.7 depth of field apart blur a point midway between them
    # by 0.7 CoC; the largest of the steps read, a little more.
    effective = report["effective_coc"]
    assert 0.6 <= effective["share_of_planned_coc"] <= 0.9, effective
    step_um = stack["every"] * 25.0
    assert effective["step_um"] == pytest.approx(step_um, rel=0.25)
    assert any(line.startswith("Effective CoC:") and "µm at the subject" in line for line in report["report"])


# ------------------------------------------------- a photograph on a tilted plane


def _load(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / name)), cv2.COLOR_BGR2RGB)


@functools.lru_cache(maxsize=1)
def _barcode_plane():
    """The barcode with its bottom 24 rows flat grey, on a tilted plane blurred as a whole
    (the flat rows take the blur that spills into them, as through a lens)."""
    from focuslock.testing.synthetic import TiltedPlane

    barcode = _load("barcode.jpg")
    barcode[276:] = 128
    return TiltedPlane(barcode, max_blur_px=9.0)


def _text_facing(blur_px: float, seed: int) -> np.ndarray:
    """The text photograph below 24 flat grey rows, facing the lens: blurred by one disc."""
    from focuslock.testing.synthetic import lens_defocus

    text = _load("text_sw1.jpg")
    text = np.vstack([np.full((24, text.shape[1], 3), 128, np.uint8), text]).astype(np.float32)
    noisy = lens_defocus(text, blur_px) + np.random.default_rng(seed).normal(0.0, 1.0, text.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


STEP_PX, SLOPE = 1.4, 0.02  # blur one frame adds to the next; blur px per column from the plane of focus


def _write_stack(folder: Path, below: str, drop_first: int = 0, beyond_px: float = 6.0) -> list[str]:
    """The barcode on a plane tilted along x, the plane of focus swept across it in even
    steps of ``STEP_PX`` (every column within half a step of a frame: covered); below it
    ``below``: "plain" (a flat grey, noise only), or "beyond" (a text photograph facing
    the lens ``beyond_px`` of blur nearer than the first frame: soft in every frame, its
    blur growing by a step a frame). PNG, lossless. Returns the file names."""
    barcode = _barcode_plane()
    width = barcode.levels.shape[2]
    columns = np.arange(float(width))
    planes = np.arange(0.0, width + STEP_PX / SLOPE, STEP_PX / SLOPE)
    folder.mkdir()
    names = []
    for i, plane in enumerate(planes):
        # The barcode above row 276 and flat grey below (tiles, 48 px from row 12, hold
        # one or the other but for the row from 252).
        top = barcode.frame(SLOPE * np.abs(columns - plane), 1.0, seed=i)
        if below == "beyond":
            bottom = _text_facing(beyond_px + i * STEP_PX, seed=100 + i)
        else:
            noise = np.random.default_rng(100 + i).normal(128.0, 1.0, (324, width, 3))
            bottom = np.clip(np.rint(noise), 0, 255).astype(np.uint8)
        if i < drop_first:
            continue
        names.append(f"frame_{i:03d}.png")
        cv2.imwrite(str(folder / names[-1]), cv2.cvtColor(np.vstack([top, bottom]), cv2.COLOR_RGB2BGR))
    return names


def test_a_plain_background_is_not_flagged_and_the_effective_coc_is_half_the_step(tmp_path, capsys):
    """A stack that covers its subject, with a plain grey area (no contrast at any scale)
    below it: no gap, nothing uncertain. The steps are known (1.4 px of blur at a CoC of
    1 px): the effective CoC is half of one, 0.7 of the CoC, and with the frames 0.05 mm
    apart that step is 50 µm at the subject."""
    folder = tmp_path / "plain"
    _write_stack(folder, "plain")
    report = _json(capsys, folder, "--coc-px", "1", "--step-mm", "0.05")
    assert report["covered"], report["report"]
    assert report["parts_uncertain"] == 0 and report["parts_soft"] == 0
    # The grey area's tiles are not parts with detail at all.
    from focuslock.workflows.stack_check import run_stack_check

    coverage, _ = run_stack_check(folder, 1.0)
    assert all(tile.box_px[1] < 300 for tile in coverage.tiles)
    effective = report["effective_coc"]
    assert effective["effective_coc_px"] == pytest.approx(STEP_PX / 2, rel=0.12)
    assert effective["share_of_planned_coc"] == pytest.approx(STEP_PX / 2, rel=0.12)
    assert effective["step_um"] == pytest.approx(50.0, rel=0.12)
    assert effective["planned_coc_from"] == "--coc-px"


def test_a_subject_soft_in_every_frame_beyond_the_first_is_not_covered(tmp_path, capsys):
    """Below the covered barcode, a text photograph 6 px of blur nearer than the first
    frame, blurrier by a step in each frame after: its sharpness rises to the first frame
    and it is soft there. Not covered, before the first frame: (6 − 1) / 1.4 → 4 frames to
    add. With a stack.json that lists the frames from the farthest to the nearest, the
    same end is the farther one."""
    folder = tmp_path / "beyond"
    names = _write_stack(folder, "beyond")
    report = _json(capsys, folder, "--coc-px", "1")
    first, last = report["ends"]
    assert not report["covered"]
    assert first["extend"] == "before the first frame" and not first["covered"] and last["covered"]
    assert first["parts_beyond"] >= 10
    # About 4: read against a reference itself blurred by 6 CoC the estimator's blurs run
    # up to half again too large (6.9–9.3 CoC beyond read here), never too small.
    assert 4 <= first["frames_to_add"] <= 7, first
    assert any(line.startswith("Not covered:") and "before the first frame (frame_000.png)" in line
               and "extend the stack before the first frame by" in line for line in report["report"])
    # The text's tiles are all not covered; none is called sharp.
    from focuslock.workflows.stack_check import run_stack_check

    coverage, _ = run_stack_check(folder, 1.0)
    text_tiles = [t for t in coverage.tiles if t.box_px[1] >= 324]
    assert len(text_tiles) >= 10 and not any(t.covered for t in text_tiles)
    (folder / "stack.json").write_text(json.dumps(
        {"slices": [{"position_steps": -10 * i, "files": [name]} for i, name in enumerate(names)]}))
    first = _json(capsys, folder, "--coc-px", "1")["ends"][0]
    assert first["extend"] == "farther" and first["beyond_is"] == "farther than the first frame"


def test_frames_taken_off_the_start_leave_the_start_not_covered(tmp_path, capsys):
    """The covered stack without its first two frames: the columns they held sharp lie
    before the new first frame, by up to two steps of blur (2.8 CoC)."""
    folder = tmp_path / "cut"
    _write_stack(folder, "plain", drop_first=2)
    report = _json(capsys, folder, "--coc-px", "1")
    first, last = report["ends"]
    assert not report["covered"] and not first["covered"] and last["covered"]
    assert first["parts_beyond"] >= 3 and first["frames_to_add"] in (1, 2)
    assert not any(line.startswith("No gap") for line in report["report"])


def test_two_frames_cannot_judge_their_ends(tmp_path, capsys):
    """With two frames, no part sits between frames to measure the step by: a part
    sharpest in either could lie beyond it. UNCERTAIN, never an all-clear."""
    folder = tmp_path / "two"
    names = _write_stack(folder, "plain")
    for name in names[2:]:
        (folder / name).unlink()
    report = _json(capsys, folder, "--coc-px", "1")
    assert not report["covered"] and not any(end["judged"] for end in report["ends"])
    assert any(line.startswith("UNCERTAIN: whether the subject goes on") and "two frames" in line
               for line in report["report"])
    assert not any(line.startswith("No gap") for line in report["report"])


def test_three_frames_judge_their_ends_without_reading_past_them(tmp_path, capsys):
    """A stack of three frames (a stack planned at a coarse CoC): each end has fewer
    frames behind it than the end's reading uses, and the check says what it can — the
    subject before the first frame is still not covered (it crashed: 'list index out of
    range', in the window's stack panel too)."""
    folder = tmp_path / "three"
    names = _write_stack(folder, "beyond")
    for name in names[3:]:
        (folder / name).unlink()
    report = _json(capsys, folder, "--coc-px", "1")
    assert not report["covered"]
    assert not any(line.startswith("No gap") for line in report["report"])
    first = report["ends"][0]
    assert not first["covered"]


# ------------------------------------------------------- the real pcb stack (MIT)

COC_PX = 2.5  # as tests/test_stack_check.py: the pcb stack's steps are 0.8–2.5 CoC


def _copy(tmp_path, names) -> Path:
    folder = tmp_path / "pcb"
    folder.mkdir()
    for name in names:
        shutil.copy(DATA / "pcb" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def whole_pcb():
    from focuslock.workflows.stack_check import run_stack_check

    return run_stack_check(DATA / "pcb", COC_PX)[0]


def _blur_between(coverage, position: float, frame: int) -> float:
    """Blur (px) the stack's steps put between a fractional position and a frame."""
    low, high = sorted((position, float(frame)))
    total = 0.0
    for index, step in enumerate(coverage.steps):
        overlap = min(high, index + 1) - max(low, index)
        if overlap > 0:
            total += overlap * step.blur_px
    return total


@pytest.mark.parametrize("end", ["first", "last"])
def test_frames_taken_off_an_end_of_the_pcb_stack_leave_that_end_not_covered(whole_pcb, tmp_path, capsys, end):
    """pcb without its first (or last) two frames. The parts that only those frames held
    sharp — more than 1.5 CoC of blur beyond the new end by the whole stack's steps — are
    mostly reported soft or uncertain there, not sharp; the report says that end is not
    covered (before the first frame, after the last: no stack.json), more parts are not
    covered there than in the whole stack, and nothing says "No gap"."""
    from focuslock.workflows.stack_check import run_stack_check

    names = sorted(path.name for path in (DATA / "pcb").glob("*.jpg"))
    kept = names[2:] if end == "first" else names[:-2]
    folder = _copy(tmp_path, kept)
    report = _json(capsys, folder, "--coc-px", COC_PX)
    index = 0 if end == "first" else 1
    cut_end = report["ends"][index]
    assert not cut_end["covered"] and cut_end["parts_beyond"] > 0
    words = "before the first frame" if end == "first" else "after the last frame"
    assert any(line.startswith("Not covered:") and words in line for line in report["report"]), report["report"]
    whole_end = whole_pcb.ends[index]
    assert (cut_end["parts_beyond"] + cut_end["parts_uncertain"]
            > whole_end.parts_beyond + whole_end.parts_uncertain)
    assert not any(line.startswith("No gap") for line in report["report"])
    # The parts it cannot tell at that end are other parts than those not covered (each
    # part said once): never read as the same parts both beyond and unknown.
    doubts = [line for line in report["report"] if line.startswith("UNCERTAIN:") and words in line]
    assert doubts and all(" other part" in line for line in doubts), doubts

    cut, _ = run_stack_check(folder, COC_PX)
    new_end = 2 if end == "first" else len(names) - 3
    held = [t for t in whole_pcb.tiles if t.covered
            and (t.position_frames < new_end if end == "first" else t.position_frames > new_end)
            and _blur_between(whole_pcb, t.position_frames, new_end) > 1.5 * COC_PX]
    states = {t.box_px: t for t in cut.tiles}
    still_sharp = [t for t in held if t.box_px in states and states[t.box_px].covered]
    assert len(held) >= 8
    assert len(still_sharp) <= 0.3 * len(held), (len(still_sharp), len(held))


def test_a_stack_json_edited_by_hand_is_read_strictly(tmp_path, capsys):
    """stack.json sits beside the frames where anyone may edit it: values of the wrong kind
    are left out (the check goes on without them), a damaged file is no record at all."""
    folder = tmp_path / "edited"
    names = _write_stack(folder, "beyond")
    for text in ("{not json", "[1, 2]", json.dumps({"slices": "all", "step_um": "25", "coc_mm": -1}),
                 json.dumps({"slices": [{"position_steps": True, "files": names}], "coc_mm": None,
                             "sensor_width_mm": 0})):
        (folder / "stack.json").write_text(text)
        report = _json(capsys, folder)
        assert report["coc_from"] == "the frame's diagonal / 1500"
        assert report["first_is_nearest"] is None and report["ends"][0]["extend"] == "before the first frame"
    # Positions that neither rise nor fall throughout say nothing about which end is nearer.
    slices = [{"position_steps": p, "files": [name]} for p, name in zip([0, 5, 3, 9, 12, 15, 20], names)]
    (folder / "stack.json").write_text(json.dumps({"slices": slices, "step_um": 10.0}))
    report = _json(capsys, folder, "--coc-px", "1")
    assert report["first_is_nearest"] is None and report["ends"][0]["extend"] == "before the first frame"
