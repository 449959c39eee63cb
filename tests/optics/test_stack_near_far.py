"""stack-plan's subject given by its near and far ends: two points of one subject, so the
depth is their difference, and the plan is the one its magnification and depth give.

Issue 27: at 1:1 (400 mm from the sensor with a 100 mm lens) a far end 10 mm farther was
run through the focusing equation on its own and read as 37 mm deep: 59 frames for a
subject that needs 17."""

from __future__ import annotations

import json

import pytest

from focuslock.cli import main
from focuslock.optics.dof import depth_of_field
from focuslock.optics.lens_limits import OpticsError
from focuslock.optics.stack import plan_stack

LENS = ["stack-plan", "--focal-length", "100", "--camera", "EOS R5", "--f-number", "8"]


def _plan(capsys, *argv: str) -> dict:
    assert main([*LENS, *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _same_plan(a: dict, b: dict) -> None:
    assert a["frames"] == b["frames"]
    assert a["step_mm"] == pytest.approx(b["step_mm"], rel=1e-9)
    assert a["depth_mm"] == pytest.approx(b["depth_mm"], rel=1e-9)
    assert a["positions_mm"] == pytest.approx(b["positions_mm"], rel=1e-9)
    assert a["magnification"] == pytest.approx(b["magnification"], rel=1e-9)


@pytest.mark.parametrize("method, frames", [("rail", 17), ("lens", 16)])
def test_near_and_far_give_the_plan_of_the_same_magnification_and_depth(capsys, method, frames):
    by_depth = _plan(capsys, "--magnification", "1", "--depth", "10", "--method", method)
    assert by_depth["frames"] == frames and by_depth["depth_mm"] == pytest.approx(10.0)
    # The same 10 mm subject, its near end at 1:1: 400 mm from the sensor, 200 mm from the lens.
    for ends in (["--near", "400", "--far", "410"],
                 ["--near", "400", "--far", "410", "--distance-from", "sensor"],
                 ["--near", "200", "--far", "210", "--distance-from", "lens"],
                 ["--magnification", "1", "--far", "410"],
                 ["--magnification", "1", "--far", "210", "--distance-from", "lens"]):
        _same_plan(_plan(capsys, *ends, "--method", method), by_depth)
    assert main([*LENS, "--near", "400", "--far", "410", "--method", method]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{frames} frames") and "from 200.0 mm to 210.0 mm from the lens (subject depth 10.0 mm)" in out


@pytest.mark.parametrize("method", ["rail", "lens"])
def test_far_from_one_to_one_the_two_forms_still_agree(capsys, method):
    """A subject 40 mm deep at about 1:5: the near end from the sensor or the lens, or as
    the magnification it has there, plans the same frames."""
    near = depth_of_field(100, 8, 0.03, distance_mm=1000, distance_from="sensor")
    by_depth = _plan(capsys, "--magnification", repr(near.magnification), "--depth", "40", "--method", method)
    _same_plan(_plan(capsys, "--near", "1000", "--far", "1040", "--method", method), by_depth)
    _same_plan(_plan(capsys, "--near", repr(near.subject_distance_mm), "--far", repr(near.subject_distance_mm + 40),
                     "--distance-from", "lens", "--method", method), by_depth)


def test_the_depth_is_the_difference_of_the_ends_from_either_place():
    from focuslock.optics.stack import depth_to_far_end_mm

    near = depth_of_field(100, 8, 0.03, magnification=1)  # 200 mm from the lens, 400 mm from the sensor
    assert depth_to_far_end_mm(410, "sensor", near=near, near_mm=400) == pytest.approx(10.0)
    assert depth_to_far_end_mm(410, "sensor", near=near) == pytest.approx(10.0)
    assert depth_to_far_end_mm(210, "lens", near=near) == pytest.approx(10.0)
    plan = plan_stack(200, 200 + depth_to_far_end_mm(410, "sensor", near=near), near)
    assert plan.positions_mm == plan_stack(200, 210, near).positions_mm and plan.frames == 16
    with pytest.raises(OpticsError, match=r"far limit \(390 mm\) is nearer than the near limit \(400 mm from the sensor\)"):
        depth_to_far_end_mm(390, "sensor", near=near)
