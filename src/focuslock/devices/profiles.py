"""Camera family profiles (``drivers/*.toml``): per-vendor quirks as data.

A profile names the libgphoto2 widgets of a family and how their values behave; the
focus-drive logic here turns "move focus n finest steps, positive = farther" into the
writes each family needs. It is pure logic (no libgphoto2), tested per profile.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from focuslock.core.errors import FocuslockError
from focuslock.core.resources import DataFileError, data_folders, line_of, read_toml, warn
from focuslock.devices.profile_limits import KnownLimit, parse_limits

__all__ = [
    "FocusDrive",
    "Profile",
    "ProfileError",
    "SETTING_NAMES",
    "load_profiles",
    "match_profile",
]

SETTING_NAMES = ("aperture", "shutterspeed", "iso", "exposurecompensation", "capturetarget", "focal_length")
FOCUS_KINDS = ("radio", "range", "chunked-range", "absolute")


class ProfileError(FocuslockError, ValueError):
    """A profile file is wrong: one sentence naming the file and the field."""


@dataclass(frozen=True)
class FocusDrive:
    """How a body drives focus: the widget, its kind, its near and far values and step units."""

    widget: str
    kind: str
    near: tuple[str, ...] = ()
    far: tuple[str, ...] = ()
    none: str = "None"
    reset_between: bool = False
    step_units: tuple[int, ...] = ()
    minimum: int = -32767
    maximum: int = 32767
    near_sign: int = -1

    def writes(self, steps: int, current: int | None = None) -> list[str]:
        """The values to write, in order, to move ``steps`` finest steps (positive =
        farther). ``current`` is the present position for ``absolute`` drives."""
        steps = int(steps)
        if steps == 0:
            return []
        direction = 1 if steps > 0 else -1
        if self.kind == "radio":
            choices = self.far if direction > 0 else self.near
            units = self.step_units or tuple(1 for _ in choices)
            values: list[str] = []
            remaining = abs(steps)
            # Largest steps first, then finer ones: few writes, exact in finest units.
            for choice, unit in sorted(zip(choices, units, strict=True), key=lambda pair: -pair[1]):
                count, remaining = divmod(remaining, unit)
                for _ in range(count):
                    values.append(choice)
                    if self.reset_between:
                        values.append(self.none)
            return values
        signed = steps if self.near_sign < 0 else -steps
        if self.kind == "range":
            if not self.minimum <= signed <= self.maximum:
                raise ValueError(f"A move of {steps} steps is beyond this body's single move of {self.minimum}…{self.maximum}.")
            return [str(signed)]
        if self.kind == "chunked-range":
            chunk = min(abs(self.minimum), abs(self.maximum))
            values = []
            remaining = abs(signed)
            sign = 1 if signed > 0 else -1
            while remaining > 0:
                part = min(chunk, remaining)
                values.append(str(sign * part))
                remaining -= part
            return values
        # absolute
        if current is None:
            raise ValueError("An absolute focus drive needs the present position.")
        return [str(int(current) + signed)]


@dataclass(frozen=True)
class Profile:
    """A camera family's driver: the bodies it matches, its widgets, focus drive and live-view zoom."""

    key: str
    name: str
    manufacturers: tuple[str, ...]
    models: tuple[str, ...]
    fallback: bool = False
    live_view_widgets: tuple[str, ...] = ()
    live_view_on: str = "1"
    live_view_off: str = "0"
    live_view_size_widget: str | None = None
    zoom_widget: str | None = None
    zoom_values: tuple[str, ...] = ()
    zoom_readable: bool = True
    zoom_position_widget: str | None = None
    # Where the body reports its selected AF point (Canon's ``focusinfo``), if it does.
    af_point_widget: str | None = None
    focus_drive: FocusDrive | None = None
    capture_target_widget: str | None = None
    capture_target_card: str | None = None
    capture_target_ram: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    # What the family is known not to do, or not always (focuslock.devices.profile_limits).
    limits: tuple[KnownLimit, ...] = ()

    def matches(self, manufacturer: str, model: str) -> bool:
        def fits(text: str, patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatch(text.lower(), pattern.lower()) for pattern in patterns)

        return fits(manufacturer or "", self.manufacturers) and fits(model or "", self.models)


def _where(path: Path, field_name: str | None = None) -> str:
    """``canon-eos.toml, line 12``: the file, and the line that sets the field if found."""
    line = line_of(path, field_name) if field_name else None
    return f"{path.name}, line {line}" if line else path.name


def _table(path: Path, data: dict, name: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{_where(path, name)}: [{name}] must be a table.")
    return value


def _flag(path: Path, section: str, data: dict, field_name: str, default: bool) -> bool:
    """A true/false field: the text "no" or the number 0 is not a boolean."""
    value = data.get(field_name, default)
    if not isinstance(value, bool):
        raise ProfileError(f"{_where(path, field_name)}: field '{section}{field_name}' must be true or false, got {value!r}.")
    return value


def _choice_text(path: Path, section: str, data: dict, field_name: str, default: str) -> str:
    """A widget value: a text, or a whole number written without quotes."""
    value = data.get(field_name, default)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProfileError(f"{_where(path, field_name)}: field '{section}{field_name}' must be a text, got {value!r}.")
    return str(value)


@overload
def _text(path: Path, section: str, data: dict, field_name: str, *, optional: Literal[False]) -> str: ...


@overload
def _text(path: Path, section: str, data: dict, field_name: str, *, optional: bool = True) -> str | None: ...


def _text(path: Path, section: str, data: dict, field_name: str, *, optional: bool = True) -> str | None:
    value = data.get(field_name)
    if value is None:
        if optional:
            return None
        raise ProfileError(f"{_where(path, field_name)}: field '{section}{field_name}' is missing.")
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{_where(path, field_name)}: field '{section}{field_name}' must be a text, got {value!r}.")
    return value


def _texts(path: Path, section: str, data: dict, field_name: str) -> tuple[str, ...]:
    value = data.get(field_name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError(f"{_where(path, field_name)}: field '{section}{field_name}' must be a list of texts, got {value!r}.")
    return tuple(value)


_KNOWN = {
    "": {"name", "fallback", "match", "live_view", "zoom", "focus_drive", "capture", "settings", "limits"},
    "match": {"manufacturer", "model"},
    "live_view": {"widget", "on", "off", "size_widget", "af_point_widget"},
    "zoom": {"widget", "values", "readable", "position_widget"},
    "focus_drive": {"widget", "kind", "near", "far", "none", "reset_between", "step_units", "minimum", "maximum", "near_sign"},
    "capture": {"target_widget", "target_card", "target_ram"},
}


def load_profile(path: Path) -> Profile:
    try:
        data = read_toml(path)
    except DataFileError as error:
        raise ProfileError(str(error)) from None
    for section, known in _KNOWN.items():
        table = data if not section else _table(path, data, section)
        unknown = set(table) - known
        if unknown:
            where = f"[{section}]" if section else "the top level"
            field_name = sorted(unknown)[0]
            raise ProfileError(f"{_where(path, field_name)}: unknown field {field_name!r} in {where}.")
    name = _text(path, "", data, "name", optional=False)
    match = _table(path, data, "match")
    manufacturers = _texts(path, "match.", match, "manufacturer")
    models = _texts(path, "match.", match, "model")
    if not manufacturers or not models:
        raise ProfileError(f"{path.name}: [match] needs manufacturer and model patterns.")
    live = _table(path, data, "live_view")
    zoom = _table(path, data, "zoom")
    capture = _table(path, data, "capture")
    settings = _table(path, data, "settings")
    for key, widget in settings.items():
        if key not in SETTING_NAMES:
            raise ProfileError(f"{_where(path, key)}: [settings] names {key!r}; focuslock knows {', '.join(SETTING_NAMES)}.")
        if not isinstance(widget, str) or not widget:
            raise ProfileError(f"{_where(path, key)}: field 'settings.{key}' must be a widget name, got {widget!r}.")
    try:
        limits = parse_limits(data.get("limits"))
    except ValueError as error:
        raise ProfileError(f"{_where(path, 'limits')}: {error}.") from None
    return Profile(
        key=path.stem,
        name=name,
        manufacturers=manufacturers,
        models=models,
        fallback=_flag(path, "", data, "fallback", False),
        live_view_widgets=_texts(path, "live_view.", live, "widget"),
        live_view_on=_choice_text(path, "live_view.", live, "on", "1"),
        live_view_off=_choice_text(path, "live_view.", live, "off", "0"),
        live_view_size_widget=_text(path, "live_view.", live, "size_widget"),
        zoom_widget=_text(path, "zoom.", zoom, "widget"),
        zoom_values=_texts(path, "zoom.", zoom, "values"),
        zoom_readable=_flag(path, "zoom.", zoom, "readable", True),
        zoom_position_widget=_text(path, "zoom.", zoom, "position_widget"),
        af_point_widget=_text(path, "live_view.", live, "af_point_widget"),
        focus_drive=_focus_drive(path, data.get("focus_drive")),
        capture_target_widget=_text(path, "capture.", capture, "target_widget"),
        capture_target_card=_text(path, "capture.", capture, "target_card"),
        capture_target_ram=_text(path, "capture.", capture, "target_ram"),
        settings=dict(settings),
        limits=limits,
    )


def _focus_drive(path: Path, data: object) -> FocusDrive | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ProfileError(f"{_where(path, 'focus_drive')}: [focus_drive] must be a table.")
    widget = _text(path, "focus_drive.", data, "widget", optional=False)
    kind = _text(path, "focus_drive.", data, "kind", optional=False)
    if kind not in FOCUS_KINDS:
        raise ProfileError(f"{_where(path, 'kind')}: field 'focus_drive.kind' is {kind!r}; use one of {', '.join(FOCUS_KINDS)}.")
    near, far = _texts(path, "focus_drive.", data, "near"), _texts(path, "focus_drive.", data, "far")
    units = data.get("step_units", [])
    if not isinstance(units, list) or not all(isinstance(u, int) and u > 0 for u in units):
        raise ProfileError(f"{_where(path, 'step_units')}: field 'focus_drive.step_units' must be a list of positive whole numbers.")
    if kind == "radio":
        if not near or len(near) != len(far):
            raise ProfileError(f"{path.name}: a radio focus drive needs as many 'near' as 'far' choices.")
        if units and len(units) != len(near):
            raise ProfileError(f"{path.name}: field 'focus_drive.step_units' needs one size per choice ({len(near)}).")
        if units and units[0] != 1:
            raise ProfileError(f"{path.name}: the first focus-drive choice must be the finest (step_units starting at 1).")
    minimum, maximum = data.get("minimum", -32767), data.get("maximum", 32767)
    if not (isinstance(minimum, int) and isinstance(maximum, int) and minimum < 0 < maximum):
        raise ProfileError(f"{path.name}: 'focus_drive.minimum' must be negative and 'maximum' positive whole numbers.")
    near_sign = data.get("near_sign", -1)
    if near_sign not in (-1, 1):
        raise ProfileError(f"{_where(path, 'near_sign')}: field 'focus_drive.near_sign' must be -1 or 1.")
    return FocusDrive(widget, kind, near, far, _choice_text(path, "focus_drive.", data, "none", "None"),
                      _flag(path, "focus_drive.", data, "reset_between", False), tuple(units), minimum, maximum, near_sign)


@functools.lru_cache(maxsize=4)
def load_profiles(folder: Path | None = None) -> tuple[Profile, ...]:
    """Every profile, the fallback ones last: the shipped ``drivers/`` and the user's
    own (a user profile of the same file name replaces the shipped one). A profile that
    fails is skipped with a warning naming its file and line; the others work."""
    folders = (Path(folder),) if folder is not None else data_folders("drivers")
    by_key: dict[str, Profile] = {}
    for each in folders:
        for path in sorted(each.glob("*.toml")):
            try:
                by_key[path.stem] = load_profile(path)
            except ProfileError as error:
                warn(f"{error} This profile was skipped; the others work.")
    profiles = list(by_key.values())
    if not profiles:
        raise ProfileError(f"No usable camera profile in {', '.join(map(str, folders))}; reinstall focuslock.")
    return tuple(sorted(profiles, key=lambda p: (p.fallback, p.key)))


def match_profile(manufacturer: str, model: str, profiles: tuple[Profile, ...] | None = None) -> Profile:
    """The first profile that fits (the generic one when none does)."""
    for profile in profiles if profiles is not None else load_profiles():
        if profile.matches(manufacturer, model):
            return profile
    raise ProfileError(f"No camera profile fits {manufacturer} {model}, not even a generic one.")
