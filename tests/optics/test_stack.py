"""Stack plans against worked numbers and what a plan must do: every frame's depth of
field overlaps the next one's by the overlap asked for (read from the depth of field at
each planned position, not from the planner's step)."""

from __future__ import annotations

import pytest

from focuslock.optics.dof import depth_of_field
from focuslock.optics.lens_limits import OpticsError
from focuslock.optics.stack import DriveCalibration, plan_stack


def _overlaps(positions_mm, f_mm=100, n=8, c_mm=0.03) -> list[float]:
    """How much of each frame's depth of field the next frame's shares (a share of it)."""
    fields = [depth_of_field(f_mm, n, c_mm, distance_mm=p, distance_from="lens") for p in positions_mm]
    return [(a.far_mm - b.near_mm) / a.total_mm for a, b in zip(fields, fields[1:])]


def test_rail_stack_is_evenly_spaced_and_covers_the_subject():
    # Worked by hand: 100 mm at 1:1 and f/8, c = 0.03 mm: 2·N·c·(1 + m)/m² = 0.96 mm a
    # frame; 30 % overlap leaves 0.672 mm between frames; 5 mm of subject is ⌈5 / 0.672⌉ = 8
    # steps: 9 frames, from 200 mm (the lens at 1:1, 2f) to 205.376 mm.
    dof = depth_of_field(100, 8, 0.03, magnification=1)
    assert dof.total_mm == pytest.approx(0.96, rel=1e-4) and dof.subject_distance_mm == pytest.approx(200.0)
    plan = plan_stack(200.0, 205.0, dof, overlap=0.3)
    assert plan.step_mm == pytest.approx(0.672, rel=1e-4) and plan.frames == 9
    assert plan.positions_mm[0] == 200.0 and plan.positions_mm[-1] == pytest.approx(205.376, rel=1e-5)
    gaps = [b - a for a, b in zip(plan.positions_mm, plan.positions_mm[1:])]
    assert max(gaps) - min(gaps) < 1e-9  # a rail moves the same distance each time
    assert plan.positions_mm[-2] < 205.0  # no frame more than needed
    assert all(share >= 0.3 for share in _overlaps(plan.positions_mm))


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
    # 1000 mm from the sensor with a 100 mm lens: the subject 500·(1 + √0.6) = 887.3 mm
    # from the lens; to three times that, 27 frames.
    assert near == pytest.approx(887.298, abs=1e-3) and plan.frames == 27
    assert plan.positions_mm[-1] == pytest.approx(near * 3, rel=1e-9)
    # Each frame's depth of field overlaps the next one's by the 30 % asked for.
    assert all(share >= 0.3 for share in _overlaps(plan.positions_mm))


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
    # 0.672 mm a frame (above) at 20 µm a drive step: 33.6, so 34 steps; 3 mm in 5 moves.
    assert plan.drive_steps == (34, 34, 34, 34, 34) and plan.frames == 6
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
