"""Focus-drive calibration from live view: how far one drive step moves the plane of
focus, and how many steps a change of direction loses (backlash).

No body reports where its focus is, so the drive is measured through the picture: the
locked feature is swept through focus in even drive steps, up and then down, and each
position's blur is read by the lock's own estimator (:mod:`focuslock.focus.defocus`).
A lens out of focus blurs a point by a disc whose diameter grows in proportion to the
focus shift, so the blur is ``g·|x − x₀|`` in drive steps ``x``; against a reference
that was itself blurred by ``b_ref`` the estimator reads ``±sqrt(|b² − b_ref²|)``
(discs add by their second moments), which makes ``sign·reading²`` a parabola in ``x``:
``g²(x − x₀)² − b_ref²``. Its fit gives ``g`` (blur px per step) and ``x₀`` (best
focus). The optics turn ``g`` into µm of focus shift at the subject
(:func:`focuslock.optics.dof.depth_for_live_view_blur_mm`); the best focus found
sweeping up and sweeping down differ by the backlash.

The camera is driven directly, one frame at a time, through the same
:class:`~focuslock.runtime.pipeline.FramePipeline` as live view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from focuslock.devices.base import Camera
from focuslock.devices.body_report import Ability, Answer, body_report
from focuslock.optics.dof import depth_for_live_view_blur_mm
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.workflows.calibration_fit import fit_both, fit_by_parts
from focuslock.workflows.drive_sweep import ARM_BLUR_COC, MIN_BACKLASH_GUARD_STEPS, CalibrationError, DriveSweep, SweepPoint

# The calibration's own two names (its error and its record file: workflows/drive_sweep.py,
# calibration_record.py).
__all__ = ["FocusStepCalibration", "calibrate_focus_steps"]

# The box is also read as a grid of up to this many parts a side (each at least
# drive_sweep's _MIN_GRID_PART_PX): a part of a deep box spans little depth (see
# :func:`~focuslock.workflows.calibration_fit.fit_by_parts`).
_GRID_PER_AXIS = 4


@dataclass(frozen=True)
class FocusStepCalibration:
    """What the sweep found. ``step_um``: focus shift at the subject per drive step;
    ``backlash_steps``: steps lost on a change of direction; ``best_position_steps``:
    best focus of the feature approached from below (drive coordinates)."""

    step_um: float
    backlash_steps: float
    blur_px_per_step: float
    best_position_steps: float
    coc_px: float
    magnification: float | None
    points: list[SweepPoint] = field(repr=False, default_factory=list)

    def record(self, camera: str, lens: str, drive_setting: str = "", at_distance_mm: float | None = None) -> dict:
        """The calibration record (calibration/README.md) for a TOML file."""
        record = {"camera": camera, "lens": lens, "drive_setting": drive_setting, "step_um": round(float(self.step_um), 3),
                  "backlash_steps": round(float(self.backlash_steps), 1)}
        if at_distance_mm is not None:
            record["at_distance_mm"] = round(float(at_distance_mm), 2)
        if self.magnification is not None:
            record["magnification"] = round(float(self.magnification), 4)
        return record


def calibrate_focus_steps(camera: Camera, roi_px, *, settings: PipelineSettings | None = None, points_per_arm: int = 12,
                          frames_per_point: int = 3, settle_frames: int = 1, max_probe_steps: int = 4000,
                          progress: Callable[[str], None] | None = None) -> FocusStepCalibration:
    """Sweep ``camera``'s focus drive through the feature in ``roi_px`` (live-view px),
    which should be in focus when this starts, and measure the drive. The camera must be
    open; it is left at the feature's best focus, approached from below."""
    drive = body_report(camera).of(Ability.FOCUS_DRIVE)
    if drive.answer is Answer.DOES_NOT_WORK:  # why not, in the body report's words (a folder, a lens at MF, …)
        raise CalibrationError(f"Nothing to calibrate: {drive.reason}")
    sweep = DriveSweep(camera, roi_px, settings, frames_per_point, settle_frames, progress)
    if progress:
        progress("locking on the feature …")
    sweep.lock()
    assert sweep.result is not None  # set by lock()
    optics, coc = sweep.result.optics, sweep.result.coc
    if optics is None or coc.pixel_pitch_um is None:
        raise CalibrationError("Calibrating needs the optics: give the focal length, aperture and magnification "
                               "(or a lens that reports its focus distance) and the sensor.")
    coc_px = coc.coc_px
    sweep.read_in_parts(_GRID_PER_AXIS)

    if progress:
        progress("finding how far the drive must go to blur the feature …")
    # How far the blur reaches the arm's end: doubling probes upwards, then back.
    probe = sweep.probe_arm(ARM_BLUR_COC * coc_px, max_probe_steps)
    half_width = max(int(round(probe * 1.25)), points_per_arm)
    stride = max(1, half_width // points_per_arm)
    low, high = -stride * points_per_arm, stride * points_per_arm
    if progress:
        progress(f"sweeping ±{high} steps in steps of {stride}, nearer to farther …")
    # Each sweep starts beyond its range by more than any backlash a drive is likely to
    # have (it is not known yet).
    guard = max(high, MIN_BACKLASH_GUARD_STEPS)
    up = sweep.sweep(low, high, stride, guard, +1)
    if progress:
        progress("sweeping back, farther to nearer (for the backlash) …")
    down = sweep.sweep(low, high, stride, guard, -1)
    if progress:
        progress("fitting the two sweeps …")
    points = up + down
    g, best_up, best_down = fit_both(up, down, coc_px)
    backlash = best_up - best_down
    by_parts = fit_by_parts(up, down, coc_px)
    if by_parts is not None:
        g, backlash = by_parts
    depth_mm = depth_for_live_view_blur_mm(optics, coc, g)
    if depth_mm is None:
        raise CalibrationError("The optics give no finite depth of field here; the step cannot be put in µm.")
    # Leave the lens at best focus, approached from below as the sweep up did.
    if abs(backlash) > 0.8 * guard:
        raise CalibrationError(f"The backlash ({backlash:.0f} steps) is close to the {guard} steps the sweep "
                               "allowed for it; the figures cannot be trusted.")
    if progress:
        progress("driving back to best focus …")
    sweep.settle_at(best_up, guard)
    return FocusStepCalibration(step_um=depth_mm * 1000.0, backlash_steps=backlash, blur_px_per_step=g,
                                best_position_steps=best_up, coc_px=coc_px, magnification=optics.magnification,
                                points=points)
