"""The optics a question rests on, taken from what the user gave and the catalog, checked.

Two setups, each a frozen value:

* :func:`lens_setup` — focal length, CoC, pupil ratio and pixel pitch for a depth of
  field or a stack plan (``focuslock dof``, ``stack-plan``; the window's depth-of-field
  panel may ask the same): a lens from the catalog and a focal length that contradict
  each other, a magnification or a distance the lens cannot focus at, an aperture it
  does not have, are refused with one sentence.
* :func:`take_sensor` and :func:`take_aperture` — the sensor (and its CoC) and the
  aperture a take or a picture was shot with (``analyze``, ``watch``, ``recipe save``).

Every refusal is a :class:`LensSetupError` whose ``user_message`` is that sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from focuslock.core.errors import FocuslockError
from focuslock.optics.catalog import Camera, Catalog, CatalogError, Lens, SensorFormat, load_catalog
from focuslock.optics.coc import LiveViewCoc, coc_in_live_view
from focuslock.optics.dof import DofResult, depth_of_field

__all__ = ["ApertureSetup", "LensSetup", "LensSetupError", "SensorSetup", "lens_setup", "take_aperture", "take_sensor"]


class LensSetupError(FocuslockError):
    """The optics given cannot be used together; ``user_message`` says why and what to give."""


@dataclass(frozen=True)
class LensSetup:
    """What a depth of field is computed from, with what it was taken from."""

    focal_length_mm: float
    coc_mm: float
    pupil_ratio: float
    pixel_pitch_um: float | None = None
    lens: Lens | None = None
    camera: Camera | None = None
    sensor: SensorFormat | None = None
    # Sentences for the user ("the lens focuses by shortening its focal length ...").
    notes: tuple[str, ...] = ()
    # Set when a distance was given for a lens that shortens as it focuses: the
    # magnification there (a thin lens of that focal length has two focus solutions).
    focused_magnification: float | None = None


@dataclass(frozen=True)
class SensorSetup:
    """The sensor a take was shot with: ``coc_mm`` None is its conventional diagonal / 1500."""

    width_mm: float
    height_mm: float | None = None
    coc_mm: float | None = None

    def coc(self, frame_width_px: int) -> LiveViewCoc:
        """The CoC in pixels of a take (or picture) ``frame_width_px`` wide shot on this sensor."""
        return coc_in_live_view(frame_width_px, coc_mm=self.coc_mm, sensor_width_mm=self.width_mm,
                                sensor_height_mm=self.height_mm)


@dataclass(frozen=True)
class ApertureSetup:
    """The aperture and magnification a take was shot at (its defocus at the subject):
    with the sensor's CoC they give the depth of field, and each blur becomes a distance
    from the plane of focus. The focal length matters little at macro magnifications
    (the depth of field there depends on N·c·(1 + m/p)/m²), hence its default."""

    f_number: float
    magnification: float
    focal_length_mm: float = 100.0
    pupil_ratio: float = 1.0

    def depth_of_field(self, coc_um: float) -> DofResult:
        """The depth of field at a CoC of ``coc_um`` µm (:class:`~focuslock.optics.lens_limits.OpticsError` for impossible optics)."""
        return depth_of_field(self.focal_length_mm, self.f_number, coc_um / 1000.0, magnification=self.magnification,
                              pupil_ratio=self.pupil_ratio)


def _catalog_entries(catalog: Catalog | None, lens: str | None, camera: str | None,
                     sensor: str | None) -> tuple[Lens | None, Camera | None, SensorFormat | None]:
    try:
        catalog = catalog or load_catalog()
        found_lens = catalog.lens(lens) if lens else None
        found_camera = catalog.camera(camera) if camera else None
        found_sensor = catalog.sensor(sensor) if sensor else (found_camera.sensor if found_camera else None)
    except CatalogError as error:
        raise LensSetupError(str(error)) from None
    return found_lens, found_camera, found_sensor


def _check_reachable(lens: Lens, distance_mm: float, from_lens: bool) -> None:
    """A :class:`LensSetupError` when ``distance_mm`` (from the lens or the sensor) lies
    beyond the range the maker's figures give the lens (the close-focus model would
    otherwise give its nearest end, and the distances printed would be that end's)."""
    state = lens.focus_state(distance_from_sensor_mm=None if from_lens else distance_mm,
                             distance_from_lens_mm=distance_mm if from_lens else None)
    if state is None:
        return

    def reach(m: float) -> float:
        end = lens.focus_state(magnification=m)
        assert end is not None  # a lens that follows the model has a state at every magnification
        return end.subject_distance_mm if from_lens else end.distance_from_sensor_mm

    reached = reach(state.magnification)
    if abs(reached - distance_mm) <= max(0.5, 0.01 * distance_mm):
        return
    where = "lens" if from_lens else "sensor"
    near = reach(lens.max_magnification)
    if lens.min_magnification > 0:
        far = reach(lens.min_magnification)
        span = (f"from {min(near, far):.1f} to {max(near, far):.1f} mm from the {where} "
                f"({lens.min_magnification:g}× to {lens.max_magnification:g}×)")
    else:
        span = f"from {near:.1f} mm from the {where} ({lens.max_magnification:g}×) to infinity"
    raise LensSetupError(f"{distance_mm:g} mm from the {where} is beyond the {lens.name}'s measured range: by the "
                         f"maker's figures it focuses {span}.")


def lens_setup(*, f_number: float, focal_length_mm: float | None = None, lens: str | None = None,
               camera: str | None = None, sensor: str | None = None, coc_mm: float | None = None,
               pupil_ratio: float | None = None, magnification: float | None = None, distance_mm: float | None = None,
               distance_from: str = "sensor", catalog: Catalog | None = None) -> LensSetup:
    """Focal length, CoC, pupil ratio and pixel pitch from the values given and the catalog.

    ``lens``, ``camera`` and ``sensor`` are catalog names; ``coc_mm`` overrides the
    sensor's CoC. ``magnification`` or ``distance_mm`` (from ``distance_from``, "sensor"
    or "lens") is where the lens focuses: a lens that shortens as it focuses close is
    taken at the focal length it has there.
    """
    found_lens, found_camera, found_sensor = _catalog_entries(catalog, lens, camera, sensor)
    if found_lens is not None and focal_length_mm is not None:
        shortest = found_lens.focal_length_min_mm or found_lens.focal_length_mm
        if not shortest - 1e-6 <= focal_length_mm <= found_lens.focal_length_mm + 1e-6:
            span = (f"{found_lens.focal_length_mm:g} mm" if found_lens.focal_length_min_mm is None
                    else f"{shortest:g}–{found_lens.focal_length_mm:g} mm")
            raise LensSetupError(f"The {found_lens.name} is {span}; --focal-length {focal_length_mm:g} contradicts it "
                                 "(give only --lens, or only --focal-length).")
    from_lens = distance_from == "lens"
    focal = focal_length_mm
    breathing_note, focused_magnification = None, None
    if focal is None and found_lens is not None:
        # Internal-focus lenses shorten as they focus close (the RF 100 Macro is about
        # 63 mm at its 260 mm closest focus): the optics use the focal length there, and
        # a distance is turned into the magnification the lens has there.
        focal, focused_magnification = found_lens.focus_at(
            magnification=magnification, distance_from_sensor_mm=None if from_lens else distance_mm,
            distance_from_lens_mm=distance_mm if from_lens else None)
        if focal < found_lens.focal_length_mm * 0.98:
            breathing_note = (f"The {found_lens.name} focuses by shortening its focal length: about {focal:.0f} mm "
                              f"here (the optics use that).")
        else:
            focused_magnification = None
    if found_lens is not None and magnification is not None:
        if magnification < found_lens.min_magnification - 1e-9:
            raise LensSetupError(f"The {found_lens.name} focuses from {found_lens.min_magnification:g}× to "
                                 f"{found_lens.max_magnification:g}×; {magnification:g}× is outside its range.")
        if magnification > found_lens.max_magnification * 1.02:
            raise LensSetupError(f"The {found_lens.name} reaches {found_lens.max_magnification:g}× at most; for "
                                 f"{magnification:g}× with extension tubes give --focal-length (and --pupil-ratio) "
                                 "instead of --lens.")
    if found_lens is not None and distance_mm is not None and not from_lens \
            and distance_mm < found_lens.min_focus_mm - 1e-6:
        raise LensSetupError(f"The {found_lens.name} focuses no closer than {found_lens.min_focus_mm:g} mm from the "
                             f"sensor; {distance_mm:g} mm is closer.")
    if found_lens is not None and distance_mm is not None and focal_length_mm is None:
        _check_reachable(found_lens, distance_mm, from_lens)
    if focal is None:
        raise LensSetupError("Give the focal length (--focal-length MM) or a lens from the catalog (--lens NAME).")
    pupil = pupil_ratio if pupil_ratio is not None else ((found_lens.pupil_ratio if found_lens else None) or 1.0)
    if found_lens is not None and not (found_lens.f_number_min - 1e-9 <= f_number <= found_lens.f_number_max + 1e-9):
        raise LensSetupError(f"The {found_lens.name} stops from f/{found_lens.f_number_min:g} to "
                             f"f/{found_lens.f_number_max:g}; f/{f_number:g} is outside that range.")
    if coc_mm is None:
        if found_sensor is None:
            raise LensSetupError("Give the circle of confusion (--coc MM), a sensor (--sensor NAME) or a camera "
                                 "(--camera NAME).")
        coc_mm = found_sensor.coc_mm
    return LensSetup(
        focal_length_mm=focal, coc_mm=coc_mm, pupil_ratio=pupil,
        pixel_pitch_um=found_camera.pixel_pitch_um if found_camera else None,
        lens=found_lens, camera=found_camera, sensor=found_sensor,
        notes=(breathing_note,) if breathing_note else (),
        focused_magnification=focused_magnification if magnification is None else None,
    )


def take_sensor(*, coc_px: float | None = None, coc_um: float | None = None, camera: str | None = None,
                sensor_width_mm: float | None = None, catalog: Catalog | None = None) -> SensorSetup | None:
    """The sensor behind a take's CoC: a catalog body, or a width (with ``coc_um``); None
    when the CoC is given in pixels or not at all."""
    if coc_px is not None and (coc_um is not None or camera or sensor_width_mm):
        raise LensSetupError("Give the CoC either in pixels (--coc-px) or through the optics (--coc-um, --camera, "
                             "--sensor-width-mm), not both.")
    if camera and sensor_width_mm:
        raise LensSetupError("Give either --camera or --sensor-width-mm, not both.")
    coc_mm = coc_um / 1000.0 if coc_um is not None else None
    if coc_mm is not None and coc_mm > 1.0:
        raise LensSetupError(f"A circle of confusion of {coc_um:g} µm is far too large; it is a few tens of µm "
                             "(30 for full frame).")
    if camera:
        try:
            body = (catalog or load_catalog()).camera(camera)
        except CatalogError as error:
            raise LensSetupError(str(error)) from None
        return SensorSetup(body.sensor.width_mm, body.sensor.height_mm, coc_mm if coc_mm is not None else body.sensor.coc_mm)
    if sensor_width_mm:
        return SensorSetup(sensor_width_mm, None, coc_mm)
    if coc_mm is not None:
        raise LensSetupError("--coc-um needs the sensor: add --camera NAME (see the catalog) or --sensor-width-mm MM.")
    return None


def take_aperture(*, f_number: float | None, magnification: float | None, focal_length_mm: float = 100.0,
                  sensor: SensorSetup | None) -> ApertureSetup | None:
    """The aperture and magnification behind a take's defocus at the subject; None when
    neither is given."""
    if f_number is None and magnification is None:
        return None
    if f_number is None or magnification is None:
        raise LensSetupError("The defocus at the subject needs both --f-number and --magnification.")
    if sensor is None:
        raise LensSetupError("The defocus at the subject needs the sensor too: add --camera NAME or "
                             "--sensor-width-mm MM.")
    return ApertureSetup(f_number, magnification, focal_length_mm)
