"""Depth of field for macro and long lenses: thin-lens geometry with pupil ratio,
diffraction, and the wave-optics depth of field.

Conventions (all lengths in mm unless the name says otherwise):

* ``subject_distance_mm`` is measured from the lens's front principal plane; lens scales
  measure from the sensor plane, which matters at close range, so a distance "from the
  sensor" is converted by solving the thin-lens equation (sensor-to-subject = s + v).
* The pupil ratio P is exit-pupil diameter / entrance-pupil diameter (1 for a symmetric
  lens; telephoto designs have P < 1, retrofocus designs P > 1).
* A point at distance s images at v(s) = f·s/(s − f). With the exit pupil P·f/N wide and
  (1 − P)·f behind the rear principal plane, its blur on a sensor set for s_f is
  b = P·(f/N)·|v(s) − v(s_f)| / (v(s) − (1 − P)·f).
  The near and far limits are where b equals the circle of confusion c; solved exactly.
  For P = 1 they reduce to the classic near = s(H − f)/(H + s − 2f) and
  far = s(H − f)/(H − s), infinite from the hyperfocal distance H = f²/(N·c) + f on.
* Effective (working) f-number N_e = N·(1 + m/P). Airy disk diameter (to the first zero)
  2.44·λ·N_e. Wave-optics depth of field λ/NA² with NA = m/(2·N_e) (Zerene Stacker's
  criterion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from focuslock.optics.coc import LiveViewCoc
from focuslock.optics.lens_limits import MAGNIFICATION_RANGE, MAX_DISTANCE_MM, OpticsError, check_lens, positive

# The circle of confusion (optics/coc.py) and the lens checks (optics/lens_limits.py) have
# their own modules.
__all__ = [
    "DEFAULT_WAVELENGTH_NM",
    "DofResult",
    "FULL_STOPS",
    "PlanningDepth",
    "aperture_covering",
    "depth_of_field",
    "depth_for_blur_mm",
    "depth_for_live_view_blur_mm",
    "describe_coverage",
    "describe_depth",
    "hyperfocal_distance_mm",
    "macro_dof_mm",
    "magnification_for_distance",
    "plan_with",
    "subject_distance_from_sensor",
]

DEFAULT_WAVELENGTH_NM = 550.0


@dataclass(frozen=True)
class DofResult:
    """The depth of field of one lens setup, with what diffraction costs at it (lengths in mm)."""

    focal_length_mm: float
    f_number: float
    coc_mm: float
    pupil_ratio: float
    wavelength_nm: float
    subject_distance_mm: float  # from the front principal plane
    distance_from_sensor_mm: float
    magnification: float
    effective_f_number: float
    hyperfocal_mm: float
    near_mm: float
    far_mm: float  # math.inf beyond the hyperfocal distance
    front_mm: float
    back_mm: float
    total_mm: float  # math.inf when far is
    airy_disk_um: float
    wave_dof_mm: float
    pixel_pitch_um: float | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    hiatus_mm: float = 0.0  # principal-plane separation (optics/close_focus.py)
    working_distance_mm: float | None = None  # front of the lens to the subject, where the lens's front is known

    @property
    def geometric_dof_mm(self) -> float:
        return self.total_mm

    @property
    def diffraction_limited(self) -> bool:
        """Diffraction softens more than the allowed defocus: Airy disk > CoC."""
        return self.airy_disk_um > self.coc_mm * 1000.0

    def planning_dof_mm(self, criterion: str | None = "geometric") -> float:
        """The depth per frame to plan a stack with: ``geometric``, ``wave``, or the one
        to plan with (None, or ``larger``: :func:`plan_with`)."""
        if criterion == "geometric":
            return self.total_mm
        if criterion == "wave":
            return self.wave_dof_mm
        if criterion in (None, "larger"):
            return plan_with(self).depth_mm
        raise OpticsError(f"Unknown depth-of-field criterion {criterion!r}; use geometric, wave or larger.")

    def to_json(self) -> dict[str, Any]:
        def finite(value: float) -> float | None:
            return None if math.isinf(value) else round(value, 6)

        return {
            "focal_length_mm": self.focal_length_mm,
            "f_number": self.f_number,
            "coc_mm": self.coc_mm,
            "pupil_ratio": self.pupil_ratio,
            "wavelength_nm": self.wavelength_nm,
            "subject_distance_mm": round(self.subject_distance_mm, 6),
            "distance_from_sensor_mm": round(self.distance_from_sensor_mm, 6),
            "magnification": round(self.magnification, 8),
            "effective_f_number": round(self.effective_f_number, 6),
            "hyperfocal_mm": round(self.hyperfocal_mm, 6),
            "near_mm": round(self.near_mm, 6),
            "far_mm": finite(self.far_mm),
            "front_mm": round(self.front_mm, 6),
            "back_mm": finite(self.back_mm),
            "total_mm": finite(self.total_mm),
            "airy_disk_um": round(self.airy_disk_um, 4),
            "wave_dof_mm": finite(self.wave_dof_mm),
            "pixel_pitch_um": self.pixel_pitch_um,
            "diffraction_limited": self.diffraction_limited,
            "hiatus_mm": round(self.hiatus_mm, 6),
            "working_distance_mm": None if self.working_distance_mm is None else round(self.working_distance_mm, 6),
            "plan_with": plan_with(self).criterion,
            "plan_with_mm": finite(plan_with(self).depth_mm),
            "warnings": list(self.warnings),
        }



@dataclass(frozen=True)
class PlanningDepth:
    """The depth of field to plan with: ``criterion`` "geometric" or "wave"."""

    criterion: str
    depth_mm: float
    geometric_mm: float
    wave_mm: float

    def describe(self) -> str:
        """One sentence: which depth to plan with, and why."""
        if math.isinf(self.depth_mm):
            return "the geometric depth of field, unbounded here: no stack is needed"
        if self.criterion == "wave":
            return (f"the wave-optics depth of field, {describe_depth(self.depth_mm)}, the larger of the two (geometric "
                    f"{describe_depth(self.geometric_mm)}): diffraction alone blurs this much, so closer frames gain "
                    "no sharpness")
        return (f"the geometric depth of field, {describe_depth(self.depth_mm)}, the larger of the two (wave optics "
                f"{describe_depth(self.wave_mm)}): the depth that keeps defocus within the circle of confusion")


def plan_with(result: DofResult) -> PlanningDepth:
    """Which depth of field to plan with — the one function ``dof`` and ``stack-plan``
    ask: the larger of the geometric and the wave-optics depth. Where the wave-optics
    depth (λ/NA²) is the larger, diffraction blurs more than the allowed defocus, and
    frames closer than it gain no sharpness; elsewhere defocus is the limit."""
    geometric, wave = result.total_mm, result.wave_dof_mm
    criterion = "wave" if wave > geometric else "geometric"
    return PlanningDepth(criterion, max(geometric, wave), geometric, wave)


def depth_for_blur_mm(result: DofResult, blur_um_at_sensor: float) -> float | None:
    """How far from the plane of focus (mm, at the subject) a point blurred by
    ``blur_um_at_sensor`` lies: the blur grows in proportion to the distance within the
    depth of field, which spans ±½ of it for a blur of one CoC."""
    if not math.isfinite(result.total_mm):
        return None
    return 0.5 * result.total_mm * blur_um_at_sensor / (result.coc_mm * 1000.0)


def depth_for_live_view_blur_mm(result: DofResult, coc: LiveViewCoc, blur_px: float) -> float | None:
    """How far from the plane of focus (mm, at the subject) a feature lies whose blur has
    grown by ``blur_px`` live-view pixels: None for a blur ≤ 0 (as sharp as the reference
    or sharper: no depth to tell), an unknown pixel pitch or an unbounded depth of field."""
    if blur_px <= 0:
        return None
    blur_um = coc.blur_um(blur_px)
    return None if blur_um is None else depth_for_blur_mm(result, blur_um)


def describe_depth(depth_mm: float) -> str:
    """A depth at the subject as a photographer reads it: '85 µm' below a millimetre,
    '1.56 mm' above."""
    return f"{depth_mm * 1000:.0f} µm" if abs(depth_mm) < 1.0 else f"{depth_mm:.2f} mm"



def hyperfocal_distance_mm(focal_length_mm: float, f_number: float, coc_mm: float) -> float:
    """H = f²/(N·c) + f, from the front principal plane."""
    return focal_length_mm**2 / (f_number * coc_mm) + focal_length_mm


def magnification_for_distance(focal_length_mm: float, subject_distance_mm: float) -> float:
    """m = f/(s − f), ``subject_distance_mm`` from the front principal plane."""
    return focal_length_mm / (subject_distance_mm - focal_length_mm)


def subject_distance_from_sensor(focal_length_mm: float, distance_from_sensor_mm: float) -> float:
    """The subject's distance from the lens for a sensor-to-subject distance D.

    Thin lens: D = s + v, v = f·s/(s − f), so s² − D·s + D·f = 0 and s is the larger root.
    Below D = 4f (1:1) no subject can be focused.
    """
    f, d = focal_length_mm, distance_from_sensor_mm
    # Compared directly, not by the discriminant's sign: with tiny values (a 1e-258 mm
    # lens) d² and 4df both underflow to 0 and a distance inside 4f would pass.
    if d < 4.0 * f:
        raise OpticsError(
            f"A {f:g} mm lens cannot focus {d:g} mm from the sensor; the closest it can focus is {4 * f:g} mm (1:1)."
        )
    return (d + math.sqrt(d * (d - 4.0 * f))) / 2.0


def macro_dof_mm(f_number: float, coc_mm: float, magnification: float, pupil_ratio: float = 1.0) -> float:
    """The classic macro approximation 2·N·c·(1 + m/P)/m²."""
    return 2.0 * f_number * coc_mm * (1.0 + magnification / pupil_ratio) / magnification**2


def depth_of_field(focal_length_mm: float, f_number: float, coc_mm: float, *, distance_mm: float | None = None,
                   distance_from: str = "sensor", magnification: float | None = None, pupil_ratio: float = 1.0,
                   wavelength_nm: float = DEFAULT_WAVELENGTH_NM, pixel_pitch_um: float | None = None,
                   hiatus_mm: float = 0.0, working_distance_known: bool = False) -> DofResult:
    """Depth of field for a subject at ``distance_mm`` (from the sensor or the lens) or at
    a ``magnification``. ``hiatus_mm``: the separation of the principal planes, which a
    distance from the sensor includes (optics/close_focus.py); ``working_distance_known``:
    the front principal plane is the lens's front, so the distance from the lens is the
    working distance. Raises :class:`OpticsError` with one sentence for bad values."""
    check_lens(focal_length_mm, f_number, coc_mm, pupil_ratio, wavelength_nm)
    f, n, c, p = float(focal_length_mm), float(f_number), float(coc_mm), float(pupil_ratio)
    if (distance_mm is None) == (magnification is None):
        raise OpticsError("Give either a focus distance or a magnification.")
    if magnification is not None:
        m = positive("magnification", magnification, "×")
        if not MAGNIFICATION_RANGE[0] <= m <= MAGNIFICATION_RANGE[1]:
            raise OpticsError(f"A magnification of {m:g}× is outside what this model covers "
                              f"({MAGNIFICATION_RANGE[0]:g}× to {MAGNIFICATION_RANGE[1]:g}×).")
        s = f * (1.0 + 1.0 / m)
    else:
        assert distance_mm is not None  # one of the two: checked above
        d = positive("focus distance", distance_mm, " mm")
        if d > MAX_DISTANCE_MM:
            raise OpticsError(f"A focus distance of {d:g} mm is beyond this model (up to {MAX_DISTANCE_MM:g} mm); "
                              "focus at infinity is the hyperfocal case.")
        if distance_from == "sensor":
            s = subject_distance_from_sensor(f, d - hiatus_mm)
        elif distance_from == "lens":
            if d <= f:
                raise OpticsError(f"A focus distance of {d:g} mm from the lens is inside the {f:g} mm focal length; "
                                  "nothing can be focused there.")
            s = d
        else:
            raise OpticsError(f"Distances are measured from the sensor or the lens, not {distance_from!r}.")
        m = magnification_for_distance(f, s)
    v_f = f * s / (s - f)
    hyperfocal = hyperfocal_distance_mm(f, n, c)
    near, far = _limits(f, n, c, p, s, v_f)
    effective_n = n * (1.0 + m / p)
    wavelength_mm = wavelength_nm * 1e-6
    airy_um = 2.44 * wavelength_nm * 1e-3 * effective_n
    numerical_aperture = m / (2.0 * effective_n)
    # A magnification so small that the aperture's square underflows (a 1e-300 mm lens)
    # has no wave-optics limit to speak of: infinite, never a division by zero.
    na_squared = numerical_aperture**2
    wave_dof = wavelength_mm / na_squared if na_squared > 0 else math.inf
    warnings = _warnings(n, c, m, p, airy_um, wavelength_nm, pixel_pitch_um)
    return DofResult(
        focal_length_mm=f, f_number=n, coc_mm=c, pupil_ratio=p, wavelength_nm=float(wavelength_nm),
        subject_distance_mm=s, distance_from_sensor_mm=s + v_f + hiatus_mm, magnification=m, effective_f_number=effective_n,
        hyperfocal_mm=hyperfocal, near_mm=near, far_mm=far, front_mm=s - near, back_mm=far - s,
        total_mm=far - near, airy_disk_um=airy_um, wave_dof_mm=wave_dof, pixel_pitch_um=pixel_pitch_um,
        warnings=warnings, hiatus_mm=float(hiatus_mm), working_distance_mm=s if working_distance_known else None,
    )


def _limits(f: float, n: float, c: float, p: float, s: float, v_f: float) -> tuple[float, float]:
    """Exact near and far limits where the blur b(s) equals c (see the module docstring)."""
    # Near side: the image lies behind the sensor (v > v_f).
    if p * f <= n * c:
        near = f  # blur never reaches c before the lens: everything in front is sharp
    else:
        v_near = f * (p * v_f - n * c * (1.0 - p)) / (p * f - n * c)
        near = f * v_near / (v_near - f)
    # Far side: the image lies in front of the sensor (v < v_f); none beyond H.
    v_far = f * (p * v_f + n * c * (1.0 - p)) / (p * f + n * c)
    far = f * v_far / (v_far - f) if v_far > f * (1.0 + 1e-12) else math.inf
    if far < s:  # numerical edge: at s ≥ H the far limit is infinity
        far = math.inf
    return near, far


def _warnings(n: float, c: float, m: float, p: float, airy_um: float, wavelength_nm: float, pixel_pitch_um: float | None
              ) -> tuple[str, ...]:
    warnings = []
    coc_um = c * 1000.0
    if airy_um > coc_um:
        # The f-number at which the Airy disk equals the circle of confusion.
        limit_n = coc_um / (2.44 * wavelength_nm * 1e-3) / (1.0 + m / p)
        warnings.append(
            f"At f/{n:g} (effective f/{n * (1 + m / p):.3g}) the Airy disk ({airy_um:.1f} µm) is larger than the circle "
            f"of confusion ({coc_um:.0f} µm): diffraction softens the image more than defocus is allowed to; "
            f"f/{limit_n:.2g} or wider keeps it within."
        )
    if pixel_pitch_um is not None and airy_um > 2.0 * pixel_pitch_um and airy_um <= coc_um:
        warnings.append(
            f"The Airy disk ({airy_um:.1f} µm) spans more than two {pixel_pitch_um:.2f} µm pixels: "
            "pixel-level sharpness is already lost to diffraction."
        )
    return tuple(warnings)


# Full stops a lens offers, for "which aperture covers this depth".
FULL_STOPS = (1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0, 22.0, 32.0, 45.0, 64.0)


def aperture_covering(depth_mm: float, optics: DofResult) -> tuple[DofResult | None, DofResult | None]:
    """The widest full stop whose depth of field spans ``depth_mm`` with focus placed
    between its ends (same lens, magnification and CoC as ``optics``), and the stop one
    wider that does not; (None, widest tried) when none up to f/64 does."""
    if not (depth_mm >= 0 and math.isfinite(depth_mm)):
        raise OpticsError(f"A depth to cover must be a finite number of mm ≥ 0, got {depth_mm}.")
    wider: DofResult | None = None
    for stop in FULL_STOPS:
        result = depth_of_field(optics.focal_length_mm, stop, optics.coc_mm, magnification=optics.magnification,
                                pupil_ratio=optics.pupil_ratio, wavelength_nm=optics.wavelength_nm,
                                pixel_pitch_um=optics.pixel_pitch_um)
        if result.total_mm >= depth_mm:
            return result, wider
        wider = result
    return None, wider


def describe_coverage(depth_mm: float, optics: DofResult, names: str = "both") -> str:
    """'f/16 covers both (depth of field 3.05 mm); f/11 does not (2.11 mm)', with what
    diffraction costs at that stop, or that no aperture does (stack instead)."""
    covering, wider = aperture_covering(depth_mm, optics)
    if covering is None:
        return (f"no aperture up to f/{FULL_STOPS[-1]:g} covers {names} ({describe_depth(depth_mm)} apart): shoot a stack")
    text = f"f/{covering.f_number:g} covers {names} (depth of field {describe_depth(covering.total_mm)})"
    if wider is not None:
        text += f"; f/{wider.f_number:g} does not ({describe_depth(wider.total_mm)})"
    if covering.diffraction_limited:
        text += (f"; at f/{covering.f_number:g} diffraction blurs by {covering.airy_disk_um:.0f} µm, more than the "
                 f"{covering.coc_mm * 1000:.0f} µm CoC")
    return text
