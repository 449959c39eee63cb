"""Focus-stack planning: from the subject's near and far limits to frames and steps.

Two ways of moving focus:

* ``rail`` — the camera (or subject) moves on a rail: frames are evenly spaced in
  distance, one depth of field × (1 − overlap) apart.
* ``lens`` — the lens refocuses: its depth of field grows with distance, so frames are
  evenly spaced in 1/distance (dioptres), each step the depth of field at the near end
  × (1 − overlap) in that measure. This keeps the overlap between neighbouring frames
  the same from the front of the subject to the back.

The subject is given by its near end (a distance or a magnification: where the first
frame is focused) and its far end or depth. The near and far ends are two points of one
subject measured from one place (the sensor or the lens), so the subject's depth is their
difference (:func:`depth_to_far_end_mm`), whichever way focus moves — never the far end
run through the focusing equation on its own: at 1:1 the sensor-to-subject distance is at
its minimum, and a point 10 mm farther from the sensor would read as a focus 37 mm
farther from the lens.

With a focus-drive calibration (µm of focus shift at the subject per drive step),
the steps between frames are also given in drive steps.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from focuslock.optics.dof import DofResult, depth_of_field, plan_with
from focuslock.optics.lens_limits import OpticsError

__all__ = ["DriveCalibration", "StackPlan", "depth_to_far_end_mm", "load_drive_calibration", "plan_stack"]

MAX_FRAMES = 10_000


@dataclass(frozen=True)
class DriveCalibration:
    """How far one focus-drive step moves the plane of focus at the subject."""

    step_um: float
    drive_setting: str = ""  # e.g. Canon "Near 1" (the finest step)

    def __post_init__(self) -> None:
        if not (self.step_um > 0 and math.isfinite(self.step_um)):
            raise OpticsError(f"A focus-drive step must move focus by a positive distance, got {self.step_um} µm.")


def load_drive_calibration(path: str | Path, camera: str | None = None, lens: str | None = None) -> DriveCalibration:
    """The focus-drive calibration record (calibration/README.md) from a TOML file: the
    first ``[[focus_drive]]`` entry, or the one whose camera and lens contain the names."""
    from focuslock.core.resources import DataFileError, read_toml

    path = Path(path)
    if not path.exists():
        raise OpticsError(f"The calibration file {path} does not exist.")
    try:
        records = read_toml(path).get("focus_drive", [])
    except DataFileError as error:
        raise OpticsError(str(error)) from None
    if not isinstance(records, list) or not records:
        raise OpticsError(f"{path.name} holds no [[focus_drive]] calibration record.")
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise OpticsError(f"{path.name}: focus_drive record {index} is not a table.")
        if camera and camera.lower() not in str(record.get("camera", "")).lower():
            continue
        if lens and lens.lower() not in str(record.get("lens", "")).lower():
            continue
        step = record.get("step_um")
        if isinstance(step, bool) or not isinstance(step, (int, float)):
            raise OpticsError(f"{path.name}: focus_drive record {index} needs 'step_um', a number of µm, got {step!r}.")
        return DriveCalibration(float(step), str(record.get("drive_setting", "")))
    raise OpticsError(f"{path.name} has no focus_drive record for {camera or 'any camera'} with {lens or 'any lens'}.")


@dataclass(frozen=True)
class StackPlan:
    """A planned focus stack: its method, ends, overlap, and where each frame focuses."""

    method: str
    near_mm: float
    far_mm: float
    overlap: float
    criterion: str  # the depth of field the step rests on: geometric, wave (or larger, when asked)
    frame_dof_mm: float  # depth of field per frame at the near end
    step_mm: float  # between the first two frames
    frames: int
    positions_mm: tuple[float, ...]  # subject distances from the lens, near to far
    drive_steps: tuple[int, ...] | None = None  # between consecutive frames
    drive_setting: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "near_mm": round(self.near_mm, 6),
            "far_mm": round(self.far_mm, 6),
            "depth_mm": round(self.far_mm - self.near_mm, 6),
            "overlap": self.overlap,
            "criterion": self.criterion,
            "frame_dof_mm": round(self.frame_dof_mm, 6),
            "step_mm": round(self.step_mm, 6),
            "frames": self.frames,
            "positions_mm": [round(p, 6) for p in self.positions_mm],
            "drive_steps": list(self.drive_steps) if self.drive_steps is not None else None,
            "drive_setting": self.drive_setting,
        }


def plan_stack(near_mm: float, far_mm: float, dof: DofResult, *, overlap: float = 0.3, method: str = "rail",
               criterion: str | None = None, calibration: DriveCalibration | None = None) -> StackPlan:
    """Plan frames from ``near_mm`` to ``far_mm`` (subject distances from the lens).

    ``dof`` is the depth of field of one frame at the near end (its lens, aperture and
    CoC are used again at every frame for the ``lens`` method). ``criterion``: the depth
    the step rests on, ``geometric``, ``wave`` or ``larger``; None (the default) is the
    one ``dof`` says to plan with (:func:`focuslock.optics.dof.plan_with`).
    """
    if not (0.0 <= overlap < 1.0):
        raise OpticsError(f"The overlap is a fraction of the depth of field from 0 up to (not including) 1, got {overlap:g}.")
    if not (math.isfinite(near_mm) and math.isfinite(far_mm)) or near_mm <= 0 or far_mm <= 0:
        raise OpticsError("The subject's near and far limits must be positive distances in mm.")
    if far_mm < near_mm:
        raise OpticsError(f"The far limit ({far_mm:g} mm) is nearer than the near limit ({near_mm:g} mm).")
    if near_mm <= dof.focal_length_mm:
        raise OpticsError(f"The near limit ({near_mm:g} mm) is inside the {dof.focal_length_mm:g} mm focal length.")
    if method not in ("rail", "lens"):
        raise OpticsError(f"A stack is made with a rail or by focusing the lens, not {method!r}.")
    frame_dof, criterion = _frame_dof(dof, near_mm, criterion)
    step = frame_dof * (1.0 - overlap)
    if not (step > 0 and math.isfinite(step)):
        raise OpticsError("The depth of field per frame is unbounded here; no stack is needed.")
    depth = far_mm - near_mm
    if method == "rail":
        frames = int(math.ceil(depth / step - 1e-9)) + 1 if depth > 0 else 1
        _check_frames(frames)
        positions = tuple(near_mm + i * step for i in range(frames))
    else:
        # Evenly in dioptres: Δ(1/s) = step / near².
        reciprocal_step = step / near_mm**2
        span = 1.0 / near_mm - 1.0 / far_mm
        frames = int(math.ceil(span / reciprocal_step - 1e-9)) + 1 if span > 0 else 1
        _check_frames(frames)
        # The last frame sits at the far limit, never past it: near the hyperfocal
        # distance a whole step would reach beyond infinity (a negative distance).
        far_reciprocal = 1.0 / far_mm
        positions = tuple(1.0 / max(1.0 / near_mm - i * reciprocal_step, far_reciprocal) for i in range(frames))
    drive_steps = None
    if calibration is not None:
        drive_steps = tuple(int(round((b - a) * 1000.0 / calibration.step_um)) for a, b in itertools.pairwise(positions))
        if any(s == 0 for s in drive_steps):
            raise OpticsError(
                f"The step between frames ({step * 1000:.1f} µm) is finer than one focus-drive step "
                f"({calibration.step_um:g} µm); use a rail or a smaller overlap."
            )
    return StackPlan(method, near_mm, far_mm, overlap, criterion, frame_dof, step, frames, positions, drive_steps,
                     calibration.drive_setting if calibration else "")


def depth_to_far_end_mm(far_mm: float, distance_from: str, *, near: DofResult, near_mm: float | None = None) -> float:
    """The subject's depth (mm) from its near end to its far end ``far_mm`` (from the
    sensor or the lens, as ``distance_from`` says).

    ``near_mm``: the near end as the user gave it, from the same place; without it (the
    near end given as a magnification), where the near end's optics ``near`` put it. Both
    ends are points of the subject in one setup, so the depth is their difference: what a
    rail travels, and what the plane of focus crosses when the lens refocuses.
    """
    if distance_from not in ("sensor", "lens"):
        raise OpticsError(f"Distances are measured from the sensor or the lens, not {distance_from!r}.")
    if not (math.isfinite(far_mm) and far_mm > 0):
        raise OpticsError("The subject's near and far limits must be positive distances in mm.")
    if near_mm is None:
        near_mm = near.distance_from_sensor_mm if distance_from == "sensor" else near.subject_distance_mm
    if far_mm < near_mm:
        raise OpticsError(f"The far limit ({far_mm:g} mm) is nearer than the near limit ({near_mm:.4g} mm from the "
                          f"{distance_from}).")
    return far_mm - near_mm


def _frame_dof(dof: DofResult, distance_mm: float, criterion: str | None) -> tuple[float, str]:
    """The depth of field per frame at ``distance_mm`` from the lens and the criterion it
    rests on (None: the one :func:`plan_with` picks, as ``dof`` says)."""
    at_near = depth_of_field(dof.focal_length_mm, dof.f_number, dof.coc_mm, distance_mm=distance_mm, distance_from="lens",
                             pupil_ratio=dof.pupil_ratio, wavelength_nm=dof.wavelength_nm)
    if criterion is None:
        planned = plan_with(at_near)
        return planned.depth_mm, planned.criterion
    return at_near.planning_dof_mm(criterion), criterion


def _check_frames(frames: int) -> None:
    if frames > MAX_FRAMES:
        raise OpticsError(f"That stack needs {frames} frames; more than {MAX_FRAMES} is not a plan. Stop down or shorten the range.")
