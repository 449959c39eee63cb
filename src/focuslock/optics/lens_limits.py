"""The lens values a real lens can have: each checked with one sentence naming the bad
value (:class:`OpticsError`), before they reach the maths they would overflow."""

from __future__ import annotations

import math

from focuslock.core.errors import FocuslockError

__all__ = ["MAGNIFICATION_RANGE", "MAX_DISTANCE_MM", "MAX_FOCAL_LENGTH_MM", "MAX_F_NUMBER", "OpticsError",
           "WAVELENGTH_RANGE_NM", "check_lens", "positive"]


class OpticsError(FocuslockError, ValueError):
    """A lens value that cannot be: the text is one sentence naming the bad value."""


def positive(name: str, value: float, unit: str) -> float:
    """``value`` as a finite positive float; OpticsError naming ``name`` otherwise."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise OpticsError(f"The {name} must be a number, got {value!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise OpticsError(f"The {name} must be a positive number, got {value:g}{unit}.")
    return value


# What real optics span; values outside are typing errors, and would overflow the maths.
MAX_FOCAL_LENGTH_MM = 20_000.0
MAX_F_NUMBER = 1024.0
WAVELENGTH_RANGE_NM = (380.0, 1000.0)  # visible light to the near infrared silicon records
MAX_DISTANCE_MM = 1e10
MAGNIFICATION_RANGE = (1e-7, 20.0)  # beyond 20× is a microscope objective, not this model


def check_lens(focal_length_mm: float, f_number: float, coc_mm: float, pupil_ratio: float, wavelength_nm: float) -> None:
    """OpticsError in one sentence for the first value no real lens has."""
    focal_length_mm = positive("focal length", focal_length_mm, " mm")
    if focal_length_mm > MAX_FOCAL_LENGTH_MM:
        raise OpticsError(f"A focal length of {focal_length_mm:g} mm is beyond any lens (up to {MAX_FOCAL_LENGTH_MM:g} mm).")
    try:
        f_number = float(f_number)
    except (TypeError, ValueError):
        raise OpticsError(f"The f-number must be a number, got {f_number!r}.") from None
    if not math.isfinite(f_number) or f_number < 0.5:
        raise OpticsError(f"An f-number of {f_number:g} is not possible; lenses start at about f/0.5.")
    if f_number > MAX_F_NUMBER:
        raise OpticsError(f"An f-number of {f_number:g} is beyond any lens (pinholes reach about f/{MAX_F_NUMBER:g}).")
    positive("circle of confusion", coc_mm, " mm")
    if coc_mm > 1.0:
        raise OpticsError(f"A circle of confusion of {coc_mm:g} mm is far too large; it is a fraction of a millimetre "
                          "(0.03 for full frame).")
    positive("pupil ratio", pupil_ratio, "")
    if not 0.05 <= pupil_ratio <= 20:
        raise OpticsError(f"A pupil ratio of {pupil_ratio:g} is not a real lens's; it lies between about 0.2 and 5.")
    wavelength_nm = positive("wavelength", wavelength_nm, " nm")
    low, high = WAVELENGTH_RANGE_NM
    if not low <= wavelength_nm <= high:
        raise OpticsError(f"A wavelength of {wavelength_nm:g} nm is not light a camera records ({low:g}–{high:g} nm; 550 is green).")
