"""The sensor, camera and lens catalog (``calibration/sensors.toml``, ``lenses.toml``).

Loaded once and validated: every error names the file, the entry and the field, so
that adding a body or a lens is an edit to a TOML file with a clear answer when it is
wrong. Names are found case- and punctuation-insensitively ("eos r5" finds
"Canon EOS R5").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, overload

from focuslock.core.errors import FocuslockError
from focuslock.core.resources import DataFileError, data_folders, line_of, read_toml, warn
from focuslock.optics.close_focus import FocusPoint, FocusState, focus_state, magnification_at
from focuslock.optics.coc import conventional_coc_mm

__all__ = ["Camera", "Catalog", "CatalogError", "Lens", "SensorFormat", "load_catalog"]

_T = TypeVar("_T")


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_N = TypeVar("_N", bound=_Named)


class CatalogError(FocuslockError, ValueError):
    """A catalog file is wrong, or a name is not in it: one sentence for the user."""


@dataclass(frozen=True)
class SensorFormat:
    """A sensor format: its size and the conventional CoC for it."""

    key: str
    name: str
    width_mm: float
    height_mm: float
    coc_mm: float

    @property
    def diagonal_mm(self) -> float:
        return math.hypot(self.width_mm, self.height_mm)


@dataclass(frozen=True)
class Camera:
    """A camera body: its sensor format and the pixels its pictures have."""

    name: str
    sensor: SensorFormat
    width_px: int
    height_px: int

    @property
    def pixel_pitch_um(self) -> float:
        return self.sensor.width_mm * 1000.0 / self.width_px


@dataclass(frozen=True)
class Lens:
    """A lens as the catalog knows it: focal length, apertures, close focus and magnification."""

    name: str
    focal_length_mm: float
    f_number_min: float
    f_number_max: float
    min_focus_mm: float
    max_magnification: float
    focal_length_min_mm: float | None = None
    pupil_ratio: float | None = None
    # Macro-only lenses (MP-E 65: 1–5×) do not focus below this.
    min_magnification: float = 0.0
    # The maker's working distance (front of the lens to the subject) at the maximum
    # magnification; where a macro-only lens is not at its closest focus distance at its
    # maximum magnification (its barrel extends), the distance from the sensor there, and
    # its working distance at its minimum magnification (optics/close_focus.py).
    working_distance_mm: float | None = None
    max_magnification_focus_mm: float | None = None
    min_magnification_working_distance_mm: float | None = None

    @property
    def shortens_when_focusing(self) -> bool:
        """Whether the lens must shorten its focal length as it focuses close (internal
        focusing, as most modern macro lenses do): a fixed focal length could not reach
        its catalogued magnification at its closest focus distance (a thin lens of focal
        length f at magnification m sits f·(m+1)²/m from the subject, sensor included).
        Macro-only lenses (extension grows with magnification) are taken as they are."""
        m = self.max_magnification
        return (self.min_magnification <= 0 and m > 0
                and self.focal_length_mm * (m + 1.0) ** 2 / m > self.min_focus_mm * 1.001)

    @property
    def follows_close_focus_model(self) -> bool:
        """Whether the lens is taken at its close-focus optics (optics/close_focus.py):
        it shortens as it focuses, or its maker publishes a working distance."""
        return self.shortens_when_focusing or (self.working_distance_mm is not None and self.max_magnification > 0)

    def focus_points(self) -> tuple[FocusPoint, FocusPoint | None]:
        """The maker's focus at the maximum magnification, and for a macro-only lens the
        one at its minimum magnification (the same one when only one end is published);
        None for a lens that focuses to infinity."""
        closest = FocusPoint(self.max_magnification, self.max_magnification_focus_mm or self.min_focus_mm,
                             self.working_distance_mm)
        if self.min_magnification <= 0:
            return closest, None
        if self.max_magnification_focus_mm is None:  # one end published: its optics throughout
            return closest, closest
        return closest, FocusPoint(self.min_magnification, self.min_focus_mm, self.min_magnification_working_distance_mm)

    def focus_state(self, *, distance_from_sensor_mm: float | None = None, distance_from_lens_mm: float | None = None,
                    magnification: float | None = None) -> FocusState | None:
        """The lens's effective focal length and hiatus focused at a distance (from the
        sensor or from the lens) or a magnification (optics/close_focus.py); None when
        nothing was given or the lens keeps its nominal focal length."""
        if not self.follows_close_focus_model:
            return None
        closest, farthest = self.focus_points()

        def state(m: float) -> FocusState:
            return focus_state(m, nominal_focal_mm=self.focal_length_mm, closest=closest, farthest=farthest)

        if magnification is not None:
            return state(magnification)
        wanted = distance_from_sensor_mm if distance_from_sensor_mm is not None else distance_from_lens_mm
        if wanted is None:
            return None
        return magnification_at(wanted, from_lens=distance_from_sensor_mm is None, state=state,
                                low=self.min_magnification or 1e-9, high=self.max_magnification)

    def focus_at(self, *, distance_from_sensor_mm: float | None = None, distance_from_lens_mm: float | None = None,
                 magnification: float | None = None) -> tuple[float, float | None]:
        """The effective focal length (mm) focused at a distance (from the sensor or from
        the lens) or a magnification, and the magnification there (None when neither was
        given or the lens keeps its focal length): see :meth:`focus_state`."""
        state = self.focus_state(distance_from_sensor_mm=distance_from_sensor_mm,
                                 distance_from_lens_mm=distance_from_lens_mm, magnification=magnification)
        return (self.focal_length_mm, None) if state is None else (state.focal_length_mm, state.magnification)


@dataclass(frozen=True)
class Catalog:
    """The sensor formats, bodies and lenses focuslock knows, found by name."""

    formats: dict[str, SensorFormat]
    cameras: tuple[Camera, ...]
    lenses: tuple[Lens, ...]

    def sensor(self, name: str) -> SensorFormat:
        key = _normalise(name)
        for sensor in self.formats.values():
            if key in (_normalise(sensor.key), _normalise(sensor.name)):
                return sensor
        return self._only("sensor format", name, [s for s in self.formats.values() if key in _normalise(s.name)],
                          [s.key for s in self.formats.values()])

    def camera(self, name: str) -> Camera:
        return self._find("camera", name, self.cameras)

    def lens(self, name: str) -> Lens:
        return self._find("lens", name, self.lenses)

    def _find(self, kind: str, asked: str, items: Sequence[_N]) -> _N:
        """The item named exactly, else the one item whose name contains ``asked``."""
        key = _normalise(asked)
        exact = [item for item in items if _normalise(item.name) == key]
        if exact:
            return exact[0]
        return self._only(kind, asked, [item for item in items if key in _normalise(item.name)], [item.name for item in items])

    @staticmethod
    def _only(kind: str, asked: str, matches: list[_T], known: list[str]) -> _T:
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CatalogError(f"No {kind} called {asked!r} in the catalog; known: {', '.join(known)}.")
        names = ", ".join(getattr(m, "name", str(m)) for m in matches)
        plural = {"lens": "lenses"}.get(kind, f"{kind}s")
        raise CatalogError(f"{asked!r} matches several of the catalog's {plural} ({names}); give more of the name.")


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "", str(text).lower())


@functools.lru_cache(maxsize=4)
def load_catalog(folder: Path | None = None) -> Catalog:
    """Load and validate the catalog: the installed ``calibration/`` and the user's own
    ``sensors.toml`` / ``lenses.toml`` beside it (a user entry of the same name replaces
    the shipped one). A broken entry, or a broken user file, is skipped with a warning
    that names the file and line; the rest works."""
    folders = (Path(folder),) if folder is not None else data_folders("calibration")
    formats: dict[str, SensorFormat] = {}
    cameras: dict[str, Camera] = {}
    lenses: dict[str, Lens] = {}
    for number, each in enumerate(folders):
        shipped = number == 0
        sensors_path, lenses_path = each / "sensors.toml", each / "lenses.toml"
        sensors = _read(sensors_path, required=shipped)
        if sensors is not None:
            try:
                formats.update(_formats(sensors_path, sensors.get("formats", {} if not shipped else None)))
            except CatalogError as error:
                if shipped:
                    raise
                warn(f"{error} Its formats were skipped.")
            for camera in _cameras(sensors_path, sensors.get("bodies", []), formats):
                cameras[_normalise(camera.name)] = camera
        lens_data = _read(lenses_path, required=shipped)
        if lens_data is not None:
            for lens in _lenses(lenses_path, lens_data.get("lenses", [])):
                lenses[_normalise(lens.name)] = lens
    if not formats:
        raise CatalogError("The catalog has no usable sensor format; reinstall focuslock.")
    return Catalog(formats, tuple(cameras.values()), tuple(lenses.values()))


def _read(path: Path, required: bool) -> dict[str, Any] | None:
    """A catalog file; a shipped one must be there and whole, a user's own one is
    skipped with a warning when it is not."""
    if not required and not path.exists():
        return None
    try:
        return read_toml(path)
    except DataFileError as error:
        if required:
            if not path.exists():
                raise CatalogError(f"The catalog file {path} is missing; reinstall focuslock.") from None
            raise CatalogError(str(error)) from None
        warn(f"{error} The file was skipped; the shipped catalog works.")
        return None


def _each_entry(build: Callable[[], _T]) -> _T | None:
    """Run ``build`` for one entry; a :class:`CatalogError` skips the entry with a warning."""
    try:
        return build()
    except CatalogError as error:
        warn(f"{error} The entry was skipped; the rest of the catalog works.")
        return None


class _Entry:
    """Reads one entry's fields, with errors that say where."""

    def __init__(self, path: Path, kind: str, label: str, data: object, allowed: set[str], header: str | None = None) -> None:
        self._path, self._kind, self._label, self._header = path, kind, label, header
        if not isinstance(data, dict):
            raise CatalogError(f"{self.where}: expected a table of fields.")
        unknown = set(data) - allowed
        if unknown:
            raise CatalogError(f"{self.where}: unknown field {sorted(unknown)[0]!r} (known: {', '.join(sorted(allowed))}).")
        self.data = data

    @property
    def where(self) -> str:
        """``lenses.toml, line 40, lens 'MP-E 65'`` (found only when an error needs it)."""
        path = self._path
        line = line_of(path, "", value=self._header) if self._header else line_of(path, "name", value=f'"{self._label}"')
        return f"{path.name}{f', line {line}' if line else ''}, {self._kind} {self._label!r}"

    def text(self, field: str) -> str:
        value = self.data.get(field)
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{self.where}: field {field!r} must be a non-empty text, got {value!r}.")
        return value.strip()

    @overload
    def number(self, field: str, *, minimum: float = 0.0, maximum: float = math.inf, optional: Literal[False] = False,
               integer: bool = False) -> float: ...

    @overload
    def number(self, field: str, *, minimum: float = 0.0, maximum: float = math.inf, optional: bool,
               integer: bool = False) -> float | None: ...

    def number(self, field: str, *, minimum: float = 0.0, maximum: float = math.inf, optional: bool = False,
               integer: bool = False) -> float | None:
        if field not in self.data:
            if optional:
                return None
            raise CatalogError(f"{self.where}: field {field!r} is missing.")
        value = self.data[field]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            kind = "a whole number" if integer else "a number"
            raise CatalogError(f"{self.where}: field {field!r} must be {kind}, got {value!r}.")
        if not (minimum < value <= maximum) or not math.isfinite(value):
            raise CatalogError(f"{self.where}: field {field!r} must be more than {minimum:g}"
                               f"{'' if math.isinf(maximum) else f' and at most {maximum:g}'}, got {value!r}.")
        return value


def _formats(path: Path, data: object) -> dict[str, SensorFormat]:
    if not isinstance(data, dict):
        raise CatalogError(f"{path.name}: no [formats.…] tables.")
    formats = {}
    for key, fields in data.items():
        def build(key: str = key, fields: object = fields) -> SensorFormat:
            entry = _Entry(path, "format", key, fields, {"name", "width_mm", "height_mm", "coc_mm"}, header=f"[formats.{key}]")
            width = entry.number("width_mm", maximum=200)
            height = entry.number("height_mm", maximum=200)
            coc = entry.number("coc_mm", maximum=1.0, optional=True)
            if coc is None:
                coc = conventional_coc_mm(width, height)
            return SensorFormat(key, entry.text("name"), float(width), float(height), float(coc))

        made = _each_entry(build)
        if made is not None:
            formats[key] = made
    return formats


def _cameras(path: Path, data: object, formats: dict[str, SensorFormat]) -> tuple[Camera, ...]:
    if not isinstance(data, list):
        warn(f"{path.name}: [[bodies]] must be a list of tables; the bodies in it were skipped.")
        return ()
    cameras, seen = [], set()
    for index, fields in enumerate(data, start=1):
        def build(index: int = index, fields: Any = fields) -> Camera:
            label = fields.get("name", f"#{index}") if isinstance(fields, dict) else f"#{index}"
            entry = _Entry(path, "body", label, fields, {"name", "sensor", "width_px", "height_px"})
            name = entry.text("name")
            if _normalise(name) in seen:
                raise CatalogError(f"{entry.where}: the name appears twice.")
            sensor_key = entry.text("sensor")
            if sensor_key not in formats:
                raise CatalogError(f"{entry.where}: field 'sensor' names {sensor_key!r}, which is not a format "
                                   f"(known: {', '.join(formats)}).")
            width = int(entry.number("width_px", maximum=100_000, integer=True))
            height = int(entry.number("height_px", maximum=100_000, integer=True))
            seen.add(_normalise(name))
            return Camera(name, formats[sensor_key], width, height)

        made = _each_entry(build)
        if made is not None:
            cameras.append(made)
    return tuple(cameras)


def _lenses(path: Path, data: object) -> tuple[Lens, ...]:
    if not isinstance(data, list):
        warn(f"{path.name}: [[lenses]] must be a list of tables; the lenses in it were skipped.")
        return ()
    lenses, seen = [], set()
    allowed = {"name", "focal_length_mm", "focal_length_min_mm", "f_number_min", "f_number_max", "min_focus_mm",
               "max_magnification", "pupil_ratio", "min_magnification", "working_distance_mm",
               "max_magnification_focus_mm", "min_magnification_working_distance_mm"}
    for index, fields in enumerate(data, start=1):
        def build(index: int = index, fields: Any = fields) -> Lens:
            label = fields.get("name", f"#{index}") if isinstance(fields, dict) else f"#{index}"
            entry = _Entry(path, "lens", label, fields, allowed)
            name = entry.text("name")
            if _normalise(name) in seen:
                raise CatalogError(f"{entry.where}: the name appears twice.")
            focal = entry.number("focal_length_mm", maximum=5000)
            focal_min = entry.number("focal_length_min_mm", maximum=5000, optional=True)
            if focal_min is not None and focal_min > focal:
                raise CatalogError(f"{entry.where}: field 'focal_length_min_mm' ({focal_min:g}) is longer than "
                                   f"'focal_length_mm' ({focal:g}).")
            n_min = entry.number("f_number_min", minimum=0.49, maximum=128)
            n_max = entry.number("f_number_max", minimum=0.49, maximum=128)
            if n_max < n_min:
                raise CatalogError(f"{entry.where}: field 'f_number_max' ({n_max:g}) is wider than 'f_number_min' ({n_min:g}).")
            min_focus = entry.number("min_focus_mm", maximum=100_000)
            if min_focus < 4 * (focal_min or focal) * 0.5:
                # A thin lens focuses no closer than 4f (1:1) from the sensor; real internal-
                # focus designs shorten their focal length, but not by half.
                raise CatalogError(f"{entry.where}: field 'min_focus_mm' ({min_focus:g}) is too close for a {focal:g} mm lens.")
            working = entry.number("working_distance_mm", maximum=100_000, optional=True)
            at_max = entry.number("max_magnification_focus_mm", maximum=100_000, optional=True) or min_focus
            if working is not None and working >= at_max:
                raise CatalogError(f"{entry.where}: field 'working_distance_mm' ({working:g}) must be shorter than the "
                                   f"distance from the sensor at the maximum magnification ({at_max:g}).")
            seen.add(_normalise(name))
            return Lens(
                name=name, focal_length_mm=float(focal), f_number_min=float(n_min), f_number_max=float(n_max),
                min_focus_mm=float(min_focus), max_magnification=float(entry.number("max_magnification", maximum=100)),
                focal_length_min_mm=None if focal_min is None else float(focal_min),
                pupil_ratio=entry.number("pupil_ratio", minimum=0.05, maximum=20, optional=True),
                min_magnification=float(entry.number("min_magnification", maximum=100, optional=True) or 0.0),
                **{key: entry.number(key, maximum=100_000, optional=True) for key in
                   ("working_distance_mm", "max_magnification_focus_mm", "min_magnification_working_distance_mm")},
            )

        made = _each_entry(build)
        if made is not None:
            lenses.append(made)
    return tuple(lenses)
