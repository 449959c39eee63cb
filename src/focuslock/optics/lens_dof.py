"""The depth of field of a lens setup (:mod:`focuslock.optics.lens_setup`): a catalogued
lens at its real close-focus optics — effective focal length and hiatus from the maker's
figures (:mod:`focuslock.optics.close_focus`) — so that the distances ``dof`` and
``stack-plan`` print are the maker's at the lens's closest focus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuslock.optics.dof import DEFAULT_WAVELENGTH_NM, DofResult, depth_of_field

if TYPE_CHECKING:
    from focuslock.optics.lens_setup import LensSetup

__all__ = ["lens_depth_of_field"]


def lens_depth_of_field(setup: LensSetup, f_number: float, *, distance_mm: float | None = None, distance_from: str = "sensor",
                        magnification: float | None = None,
                        wavelength_nm: float = DEFAULT_WAVELENGTH_NM) -> DofResult:
    """Depth of field for ``setup`` (a :class:`~focuslock.optics.lens_setup.LensSetup`)
    at a distance (from the sensor or the lens) or a magnification.

    A catalogued lens taken at its own focal length (no ``--focal-length`` given) that
    follows the close-focus model is computed at the effective focal length and hiatus it
    has there; the distance from the lens is then its working distance where the maker
    publishes one. Anything else is the thin lens of the setup's focal length."""
    lens = setup.lens
    state = None
    if lens is not None and lens.follows_close_focus_model:
        from_lens = distance_from == "lens"
        state = lens.focus_state(
            magnification=magnification,
            distance_from_sensor_mm=None if (magnification is not None or from_lens) else distance_mm,
            distance_from_lens_mm=distance_mm if (magnification is None and from_lens) else None)
        if state is not None and abs(state.focal_length_mm - setup.focal_length_mm) > 1e-6 * setup.focal_length_mm:
            state = None  # the user's own focal length: a thin lens of it
    if state is None:
        by_magnification = setup.focused_magnification
        return depth_of_field(setup.focal_length_mm, f_number, setup.coc_mm,
                              distance_mm=distance_mm if by_magnification is None else None, distance_from=distance_from,
                              magnification=magnification if by_magnification is None else by_magnification,
                              pupil_ratio=setup.pupil_ratio, wavelength_nm=wavelength_nm, pixel_pitch_um=setup.pixel_pitch_um)
    return depth_of_field(state.focal_length_mm, f_number, setup.coc_mm, magnification=state.magnification,
                          hiatus_mm=state.hiatus_mm,
                          working_distance_known=lens is not None and lens.working_distance_mm is not None,
                          pupil_ratio=setup.pupil_ratio, wavelength_nm=wavelength_nm, pixel_pitch_um=setup.pixel_pitch_um)
