"""A focus stack that proves every step moved before the shutter fires.

For each slice: move (the lens drive or a rail, always arriving from the same side) →
wait until live view stops changing (measured, :meth:`StepWatch.settle`) → measure the
step on the picture against the plan (:meth:`StepWatch.judge`) → a step that did not
move, or fell short of the plan by more than a third, is moved again (at most
``max_retakes`` times) → capture. A step the picture still shows as not moved after the
retakes stops the stack in one sentence: a lost step never becomes a duplicate frame. An
alarm, a limit switch or a failed capture stops it too, and every frame already saved
is kept and listed in ``stack.json`` with each frame's planned and measured shift.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from focuslock.devices.base import Camera, CameraError
from focuslock.devices.rails.base import BoundedStage, MotionError, Stage, StageLimitError
from focuslock.optics.dof import DofResult
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.workflows.drive_sweep import MIN_BACKLASH_GUARD_STEPS
from focuslock.workflows.marks import Mark
from focuslock.workflows.stack_shoot import (
    StackShot,
    capture_slice,
    frame_step_steps,
    go_to_nearer_mark,
    optics_of,
    stopped_between_slices,
    write_manifest,
)
from focuslock.workflows.step_check import Settled, StepMeasure, StepVerdict, StepWatch

__all__ = ["FocusMover", "SliceCheck", "check_lines", "check_rail_plan", "lens_mover", "rail_mover", "shoot_checked_between_marks",
           "shoot_closed_loop"]


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FocusMover:
    """How a stack moves focus: ``move(units)`` relative (lens: drive steps; rail: µm),
    ``um_per_unit`` the focus shift of one unit, ``guard`` the units moved back past the
    first slice so that it too is approached from below (backlash taken up)."""

    kind: str  # "lens" or "rail"
    name: str
    um_per_unit: float
    move: Callable[[float], object]
    guard: float


def lens_mover(camera: Camera, step_um: float) -> FocusMover:
    """The camera's focus drive, ``step_um`` µm of focus per step."""
    return FocusMover("lens", f"{camera.name}'s focus drive", step_um, lambda units: camera.drive_focus(int(round(units))),
                      MIN_BACKLASH_GUARD_STEPS)


def rail_mover(stage: Stage, backlash_um: float) -> FocusMover:
    """A rail, in µm; the guard at least its backlash (and 50 µm)."""
    return FocusMover("rail", stage.name, 1.0, lambda units: stage.move(units), max(50.0, 2.0 * backlash_um))


def planned_moves(mover: FocusMover, positions: list[int]) -> list[float]:
    """The relative moves :func:`shoot_closed_loop` makes (before any retake): back past
    the first slice by the guard, up to it, then slice to slice."""
    return [positions[0] - mover.guard, mover.guard] + [float(b - a) for a, b in zip(positions, positions[1:], strict=False)]


def check_rail_plan(stage: BoundedStage, mover: FocusMover, positions: list[int]) -> None:
    """Refuse, before the first move, a stack whose moves would leave the rail's travel
    (from the position it reports now) or exceed its longest move; one sentence with the
    numbers and what to change."""
    unit, lim, moves = stage.axis.unit, stage.limits, planned_moves(mover, positions)
    longest = max(abs(m) for m in moves)
    if longest > lim.max_move + 1e-9:
        which = "its first move (back to the near end, past it by the backlash guard)" if longest == abs(moves[0]) \
            else "a step between frames"
        raise StageLimitError(f"The stack was not started: {which} is {longest:.0f} {unit}, longer than {stage.name}'s "
                              f"longest move ({lim.max_move:g} {unit}); bring --near-um nearer 0, or raise max_move "
                              "in the rail's profile.")
    start = stage.position()
    low, high = stage.reach(start, moves)
    if low < lim.travel_min - 1e-9 or high > lim.travel_max + 1e-9:
        near_max = start - lim.travel_min - mover.guard - stage.backlash
        raise StageLimitError(f"The stack was not started: from {start:+g} {unit}, where {stage.name} reports it is, its "
                              f"{len(positions)} frames ({positions[0]:+d} to {positions[-1]:+d} {unit}, with a "
                              f"{mover.guard:.0f} {unit} backlash guard) would take it from {low:+.0f} to {high:+.0f} "
                              f"{unit}, beyond its travel ({lim.travel_min:+g} to {lim.travel_max:+g} {unit}); keep "
                              f"--near-um at {near_max:.0f} or less and --far-um at {lim.travel_max - start:.0f} or less, "
                              "or move the rail first.")


@dataclass(frozen=True)
class SliceCheck:
    """One frame's step: planned and measured shift (µm), the verdict and its reason,
    retakes, and the live-view frames read before the picture stood still."""

    planned_um: float
    measured_um: float | None
    verdict: str
    reason: str
    retakes: int
    settle_frames: int = 0

    def fields(self) -> dict:
        return {"planned_shift_um": round(self.planned_um, 2),
                "measured_shift_um": None if self.measured_um is None else round(self.measured_um, 2),
                "step": self.verdict, **({"step_reason": self.reason} if self.reason else {}), "retakes": self.retakes,
                "settle_frames": self.settle_frames}


def shoot_closed_loop(camera: Camera, mover: FocusMover, positions: list[int], folder: Path, *, optics: DofResult,
                      sensor_width_mm: float | None = None, settle_timeout_s: float = 5.0, max_retakes: int = 2,
                      progress: Callable[[int, int, list[Path]], None] | None = None,
                      should_stop: Callable[[], bool] | None = None,
                      should_pause: Callable[[], bool] | None = None) -> StackShot:
    """Shoot ``positions`` (units of ``mover`` from here, rising) into ``folder``, each step
    measured before its frame. Stops between slices on ``should_stop``, an alarm, a step
    that will not move, or a camera failure; what was saved is in the result."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shot = StackShot(folder, list(positions), step_um=mover.um_per_unit, coc_mm=optics.coc_mm,
                     sensor_width_mm=sensor_width_mm, drive=f"{mover.kind}: {mover.name}")
    watch = StepWatch(camera, dof_um=optics.planning_dof_mm() * 1000.0, coc_mm=optics.coc_mm,
                      settle_timeout_s=settle_timeout_s)
    history: list[Settled] = []
    try:
        mover.move(positions[0] - mover.guard)
        mover.move(mover.guard)
        for index, target in enumerate(positions):
            if stopped_between_slices(should_pause, should_stop):
                shot.stopped = "stopped by the user"
                break
            if index == 0:
                settled = watch.settle()
                check = SliceCheck(0.0, None, "first frame", "", 0, settled.frames)
            else:
                planned_units = target - positions[index - 1]
                mover.move(planned_units)
                settled, measure, retakes = _checked_step(watch, mover, history, planned_units, max_retakes)
                check = SliceCheck(measure.planned_um, measure.measured_um, measure.verdict.value, measure.reason, retakes,
                                   settled.frames)
                if measure.verdict is StepVerdict.NOT_MOVED:
                    shot.checks.append(check)
                    shot.stopped = (f"{mover.name} did not move focus at frame {index + 1} after {retakes + 1} tries "
                                    "(the picture did not change); no frame was taken there")
                    break
            history.append(settled)
            files = capture_slice(camera, folder, shot)
            if files or not shot.stopped:
                shot.checks.append(check)  # a frame kept, its step's check beside it
            if shot.stopped:
                break
            if progress is not None:
                progress(index, len(positions), files)
    except MotionError as error:
        shot.stopped = error.user_message
    except CameraError as error:
        shot.stopped = error.user_message
    write_manifest(shot)
    return shot


def _checked_step(watch: StepWatch, mover: FocusMover, history: list, planned_units: float,
                  max_retakes: int) -> tuple:
    """Settle and judge one step; move again while it did not move or fell short."""
    planned_um = planned_units * mover.um_per_unit
    settled = watch.settle()
    measure: StepMeasure = watch.judge(history, settled, planned_um)
    retakes = 0
    while measure.verdict in (StepVerdict.NOT_MOVED, StepVerdict.SHORT) and retakes < max_retakes:
        made = (measure.measured_um or 0.0) / mover.um_per_unit
        again = planned_units - made if measure.verdict is StepVerdict.SHORT else planned_units
        logger.info("step %s (%s): moving %.1f more", measure.verdict.value, measure.reason, again)
        mover.move(again)
        retakes += 1
        settled = watch.settle()
        measure = watch.judge(history, settled, planned_um)
    return settled, measure, retakes


def shoot_checked_between_marks(camera: Camera, first: Mark, second: Mark, position_steps: int, step_um: float,
                                folder: Path, *, overlap: float = 0.3, settings: PipelineSettings | None = None,
                                progress: Callable[[int, int, list[Path]], None] | None = None,
                                should_stop: Callable[[], bool] | None = None,
                                should_pause: Callable[[], bool] | None = None) -> StackShot:
    """The window's stack from one mark to the other with every drive step measured
    (:func:`~focuslock.workflows.stack_shoot.go_to_nearer_mark`, then :func:`shoot_closed_loop`)."""
    optics, sensor_width_mm = optics_of(camera, settings)
    every = frame_step_steps(optics, step_um, overlap)
    positions, _ = go_to_nearer_mark(camera, first, second, position_steps, every, settings=settings)
    return shoot_closed_loop(camera, lens_mover(camera, step_um), positions, folder, optics=optics,
                             sensor_width_mm=sensor_width_mm, progress=progress, should_stop=should_stop,
                             should_pause=should_pause)


def check_lines(shot: StackShot) -> list[str]:
    """Each measured step in a line: planned and measured shift, the verdict, retakes."""
    lines = []
    for index, check in enumerate(shot.checks[1:], start=2):
        measured = "not measured" if check.measured_um is None else f"measured {check.measured_um:.0f} µm"
        lines.append(f"step to frame {index}: planned {check.planned_um:.0f} µm, {measured}: {check.verdict}"
                     + (f" ({check.reason})" if check.reason else "")
                     + (f", moved again {check.retakes}×" if check.retakes else ""))
    untold = [index for index, check in enumerate(shot.checks[1:], start=2) if check.verdict == StepVerdict.UNCERTAIN.value]
    if untold:  # never let a list of steps read as all moved when some could not be told
        total = len(shot.checks) - 1
        lines.append(f"{total - len(untold)} of {total} step(s) measured; {len(untold)} step(s) could not be told "
                     "from live view (to frame "
                     f"{', '.join(str(i) for i in untold)}): run `focuslock stack-check` on the stack before striking the set.")
    return lines
