from __future__ import annotations

import math

import pytest

from focuslock.optics.dof import depth_of_field
from focuslock.optics.lens_limits import OpticsError
from focuslock.optics.stack import DriveCalibration, plan_stack


def test_rail_stack_is_evenly_spaced_and_covers_the_subject():
    dof = depth_of_field(100, 8, 0.03, magnification=1)  # 0.96 mm per frame
    near = dof.subject_distance_mm
    plan = plan_stack(near, near + 5.0, dof, overlap=0.3)
    assert plan.step_mm == pytest.approx(dof.total_mm * 0.7, rel=1e-3)
    gaps = [b - a for a, b in zip(plan.positions_mm, plan.positions_mm[1:])]
    assert all(g == pytest.approx(plan.step_mm) for g in gaps)
    assert plan.positions_mm[0] == near and plan.positions_mm[-1] >= near + 5.0
    assert plan.positions_mm[-2] < near + 5.0  # no frame more than needed
    assert plan.frames == math.ceil(5.0 / plan.step_mm) + 1


def test_lens_stack_is_even_in_dioptres_and_steps_grow_with_distance():
    dof = depth_of_field(100, 8, 0.03, distance_mm=1000)
    near = dof.subject_distance_mm
    plan = plan_stack(near, near * 3, dof, overlap=0.3, method="lens")
    reciprocal_gaps = [1 / a - 1 / b for a, b in zip(plan.positions_mm, plan.positions_mm[1:])]
    # Even in dioptres; the last frame sits on the far limit, so its gap may be shorter.
    assert all(g == pytest.approx(reciprocal_gaps[0], rel=1e-9) for g in reciprocal_gaps[:-1])
    assert 0 < reciprocal_gaps[-1] <= reciprocal_gaps[0] * (1 + 1e-9)
    gaps = [b - a for a, b in zip(plan.positions_mm, plan.positions_mm[1:])]
    assert gaps[:-1] == sorted(gaps[:-1])
    # The first step is the depth of field at the near end, less the overlap (a little
    # more in distance than in dioptres at the near end: step / (1 − step/near)).
    assert gaps[0] == pytest.approx(plan.step_mm / (1 - plan.step_mm / near), rel=1e-6)
    assert plan.positions_mm[-1] == pytest.approx(near * 3, rel=1e-9)


def test_overlap_and_criterion_change_the_plan():
    dof = depth_of_field(65, 4, 0.018, magnification=5)
    near = dof.subject_distance_mm
    loose = plan_stack(near, near + 1, dof, overlap=0.0)
    tight = plan_stack(near, near + 1, dof, overlap=0.5)
    assert tight.frames > loose.frames
    wave = plan_stack(near, near + 1, dof, criterion="wave")
    assert wave.frame_dof_mm == pytest.approx(dof.wave_dof_mm, rel=1e-3)


def test_drive_steps_from_a_calibration():
    dof = depth_of_field(100, 8, 0.03, magnification=1)
    near = dof.subject_distance_mm
    plan = plan_stack(near, near + 3, dof, overlap=0.3, calibration=DriveCalibration(20.0, "Near 1"))
    assert plan.drive_steps is not None and len(plan.drive_steps) == plan.frames - 1
    assert all(s == round(plan.step_mm * 1000 / 20.0) for s in plan.drive_steps)
    assert plan.to_json()["drive_setting"] == "Near 1"
    with pytest.raises(OpticsError, match="finer than one focus-drive step"):
        plan_stack(near, near + 3, dof, calibration=DriveCalibration(5000.0))


@pytest.mark.parametrize(
    "near, far, overlap, message",
    [(300, 200, 0.3, "nearer than the near limit"), (300, 310, 1.0, "overlap"), (50, 310, 0.3, "inside the 100 mm focal length"),
     (-1, 310, 0.3, "positive distances")],
)
def test_bad_plans_are_refused(near, far, overlap, message):
    dof = depth_of_field(100, 8, 0.03, magnification=0.5)
    with pytest.raises(OpticsError, match=message):
        plan_stack(near, far, dof, overlap=overlap)


def test_an_absurd_stack_is_refused():
    dof = depth_of_field(65, 2.8, 0.005, magnification=5)
    with pytest.raises(OpticsError, match="frames"):
        plan_stack(dof.subject_distance_mm, dof.subject_distance_mm + 500, dof)
