"""``focuslock dof`` and ``focuslock stack-plan``: depth of field and a stack's steps,
from a lens setup (:mod:`focuslock.optics.lens_setup`) and the optics."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from focuslock.cli import arguments as arg
from focuslock.cli.common import EXIT_OK, UserError, print_json

__all__ = ["add_dof", "add_stack_plan"]


def add_dof(commands) -> None:
    """Add ``dof`` to the sub-commands ``commands``."""
    dof = commands.add_parser("dof", help="depth of field for macro and long lenses, with diffraction")
    _add_lens_options(dof)
    where = dof.add_mutually_exclusive_group(required=True)
    where.add_argument("--distance", type=arg.finite_float, help="focus distance in mm")
    where.add_argument("--magnification", type=arg.finite_float, help="magnification instead of a distance (1 = life size)")
    dof.add_argument("--distance-from", choices=("sensor", "lens"), default="sensor",
                     help="measure the distance from the sensor plane, as lens scales do (default), or from the lens")
    dof.add_argument("--json", action="store_true", help="print one JSON object")
    dof.set_defaults(run=_dof)


def add_stack_plan(commands) -> None:
    """Add ``stack-plan`` to the sub-commands ``commands``."""
    stack = commands.add_parser("stack-plan", help="plan a focus stack: step size and number of frames")
    _add_lens_options(stack)
    stack.add_argument("--near", type=arg.finite_float, help="the subject's nearest point, mm (from --distance-from)")
    stack.add_argument("--far", type=arg.finite_float, help="the subject's farthest point, mm (from where --near is)")
    stack.add_argument("--magnification", type=arg.finite_float, help="magnification at the near end, instead of --near")
    stack.add_argument("--depth", type=arg.finite_float, help="the subject's depth in mm, instead of --far")
    stack.add_argument("--distance-from", choices=("sensor", "lens"), default="sensor",
                       help="where --near and --far are measured from (default: the sensor)")
    stack.add_argument("--overlap", type=arg.finite_float, default=0.3,
                       help="overlap between frames as a fraction of the depth of field (default 0.3)")
    stack.add_argument("--method", choices=("rail", "lens"), default="rail",
                       help="move the camera on a rail (even steps) or refocus the lens (even in 1/distance)")
    stack.add_argument("--criterion", choices=("geometric", "wave", "larger"), default=None,
                       help="which depth of field sets the step (default: the one dof says to plan with)")
    calibration = stack.add_mutually_exclusive_group()
    calibration.add_argument("--step-um", type=arg.finite_float,
                             help="focus-drive calibration: µm of focus shift at the subject per drive step")
    calibration.add_argument("--calibration", type=Path, help="a focus-drive calibration record (TOML, see calibration/README.md)")
    stack.add_argument("--json", action="store_true", help="print one JSON object")
    stack.set_defaults(run=_stack_plan)


def _add_lens_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--focal-length", type=arg.finite_float, help="focal length in mm (or from --lens)")
    parser.add_argument("--f-number", type=arg.finite_float, required=True, help="the aperture set on the lens")
    parser.add_argument("--lens", help="a lens from the catalog (focal length, pupil ratio, limits)")
    coc = parser.add_mutually_exclusive_group(required=True)
    coc.add_argument("--sensor", help="a sensor format from the catalog (its CoC is the diagonal / 1500)")
    coc.add_argument("--camera", help="a camera body from the catalog (its sensor and pixel pitch)")
    coc.add_argument("--coc", type=arg.finite_float, help="circle of confusion in mm")
    parser.add_argument("--pupil-ratio", type=arg.finite_float, help="exit / entrance pupil diameter (default 1, or the lens's)")
    parser.add_argument("--wavelength-nm", type=arg.finite_float, default=550.0, help="wavelength for diffraction (default 550)")


def _lens_setup(args: argparse.Namespace, distance_mm: float | None):
    """The lens setup of the options; ``distance_mm``: dof's focus distance, or
    stack-plan's near end."""
    from focuslock.optics.lens_setup import lens_setup

    return lens_setup(f_number=args.f_number, focal_length_mm=args.focal_length, lens=args.lens, camera=args.camera,
                      sensor=args.sensor, coc_mm=args.coc, pupil_ratio=args.pupil_ratio, magnification=args.magnification,
                      distance_mm=distance_mm, distance_from=args.distance_from)


def _dof(args: argparse.Namespace) -> int:
    from focuslock.optics.lens_dof import lens_depth_of_field
    from focuslock.optics.lens_limits import OpticsError

    setup = _lens_setup(args, args.distance)
    try:
        result = lens_depth_of_field(setup, args.f_number, distance_mm=args.distance, distance_from=args.distance_from,
                                     magnification=args.magnification, wavelength_nm=args.wavelength_nm)
    except OpticsError as error:
        raise UserError(str(error)) from None
    lens = setup.lens
    notes = [*setup.notes, *result.warnings]
    if lens is not None and result.magnification > lens.max_magnification * 1.02:
        notes.append(f"The {lens.name} reaches {lens.max_magnification:g}× at most; {result.magnification:.3g}× needs "
                     "extension tubes or a close-up lens.")
    if args.json:
        payload = result.to_json()
        payload["warnings"] = notes
        print_json(payload)
        return EXIT_OK
    print("\n".join(_dof_table(result, setup, notes)))
    return EXIT_OK


def _mm(value: float) -> str:
    if math.isinf(value):
        return "infinity"
    if value >= 10000:
        return f"{value / 1000:.2f} m"
    if value >= 10:
        return f"{value:.1f} mm"
    return f"{value:.3f} mm" if value >= 0.1 else f"{value * 1000:.1f} µm"


def _limit_mm(value: float, total_mm: float) -> str:
    """A near or far limit with enough digits that near and far differ when they do."""
    if math.isinf(value):
        return "infinity"
    if math.isinf(total_mm) or total_mm >= 100:
        return _mm(value)
    digits = min(4, max(1, 2 - int(math.floor(math.log10(max(total_mm, 1e-6))))))
    return f"{value:.{digits}f} mm"


def _dof_table(result, setup, notes: list[str]) -> list[str]:
    from focuslock.optics.dof import plan_with

    described = ", ".join(x for x in (
        setup.lens.name if setup.lens else f"{result.focal_length_mm:g} mm",
        f"f/{result.f_number:g}",
        setup.camera.name if setup.camera else (setup.sensor.name if setup.sensor else None),
    ) if x)
    lines = [
        described,
        f"  focus distance      {_mm(result.distance_from_sensor_mm)} from the sensor "
        f"({_mm(result.subject_distance_mm)} from the lens)",
        f"  magnification       {result.magnification:.4g}×   effective aperture f/{result.effective_f_number:.3g}",
        f"  circle of confusion {result.coc_mm * 1000:.1f} µm",
        f"  hyperfocal distance {_mm(result.hyperfocal_mm)}",
        f"  near limit          {_limit_mm(result.near_mm, result.total_mm)} from the lens   ({_mm(result.front_mm)} in front)",
        f"  far limit           {_limit_mm(result.far_mm, result.total_mm)} from the lens   ({_mm(result.back_mm)} behind)",
        f"  depth of field      {_mm(result.total_mm)} (geometric)   {_mm(result.wave_dof_mm)} (wave optics)",
        f"  plan with           {plan_with(result).describe()}",
        f"  Airy disk           {result.airy_disk_um:.1f} µm"
        + (f" ({result.airy_disk_um / result.pixel_pitch_um:.1f} pixels)" if result.pixel_pitch_um else ""),
    ]
    lines += [f"note: {note}" for note in notes]
    return lines


def _stack_plan(args: argparse.Namespace) -> int:
    from focuslock.optics.lens_dof import lens_depth_of_field
    from focuslock.optics.lens_limits import OpticsError
    from focuslock.optics.stack import DriveCalibration, depth_to_far_end_mm, load_drive_calibration, plan_stack

    setup = _lens_setup(args, args.near)
    try:
        if (args.near is None) == (args.magnification is None):
            raise UserError("Give the subject's near end as --near MM or as --magnification M.")
        if (args.far is None) == (args.depth is None):
            raise UserError("Give the subject's far end as --far MM or its depth as --depth MM.")
        near_dof = lens_depth_of_field(setup, args.f_number, distance_mm=args.near, distance_from=args.distance_from,
                                       magnification=args.magnification, wavelength_nm=args.wavelength_nm)
        near = near_dof.subject_distance_mm
        if args.far is not None:  # the far end measured from where the near end is: their difference is the depth
            far = near + depth_to_far_end_mm(args.far, args.distance_from, near=near_dof, near_mm=args.near)
        else:
            if not args.depth > 0:
                raise UserError(f"The subject's depth must be a positive number of mm, got {args.depth:g}.")
            far = near + args.depth
        calibration: DriveCalibration | None
        if args.calibration is not None:
            calibration = load_drive_calibration(args.calibration, args.camera, args.lens)
        else:
            calibration = DriveCalibration(args.step_um) if args.step_um is not None else None
        plan = plan_stack(near, far, near_dof, overlap=args.overlap, method=args.method, criterion=args.criterion,
                          calibration=calibration)
    except OpticsError as error:
        raise UserError(str(error)) from None
    if args.json:
        payload = plan.to_json()
        payload["magnification"] = round(near_dof.magnification, 6)
        payload["effective_f_number"] = round(near_dof.effective_f_number, 4)
        payload["warnings"] = [*setup.notes, *near_dof.warnings]
        print_json(payload)
        return EXIT_OK
    lines = [
        f"{plan.frames} frames, {'a rail' if plan.method == 'rail' else 'refocusing the lens'}, "
        f"step {_mm(plan.step_mm)} ({plan.overlap * 100:.0f} % overlap of a {_mm(plan.frame_dof_mm)} {plan.criterion} depth of field)",
        f"  from {_mm(plan.near_mm)} to {_mm(plan.far_mm)} from the lens (subject depth {_mm(plan.far_mm - plan.near_mm)}), "
        f"magnification {near_dof.magnification:.3g}× at the near end, effective f/{near_dof.effective_f_number:.3g}",
    ]
    if plan.drive_steps is not None and calibration is not None:
        step_um = calibration.step_um
        setting = f" ({calibration.drive_setting})" if calibration.drive_setting else ""
        lines.append(f"  focus drive between frames, in order: {_runs(plan.drive_steps)} steps{setting} at {step_um:g} µm a step")
    lines += [f"note: {note}" for note in [*setup.notes, *near_dof.warnings]]
    print("\n".join(lines))
    return EXIT_OK


def _runs(values) -> str:
    """``40, 40, 40, 37`` as ``3 × 40, 37``: in order, repeats counted."""
    parts, previous, count = [], None, 0
    for value in list(values) + [None]:
        if value == previous:
            count += 1
            continue
        if previous is not None:
            parts.append(f"{count} × {previous}" if count > 1 else str(previous))
        previous, count = value, 1
    return ", ".join(parts)
