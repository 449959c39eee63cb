"""Recipes: a studio setup saved once and shot again for hundreds of products.

A recipe is a TOML file (readable and editable by hand, diffable in version control) with
the reference picture beside it as PNG (lossless: the lock is taken on it again). It
holds what repeating the setup needs:

* ``[camera]``: the body's name and every setting it let us change (``[camera.settings]``,
  values exactly as the body spells them), read from the camera itself;
* ``[optics]``: lens, sensor width, CoC (µm on the sensor, or px of the reference), and
  the depth-of-field parameters (focal length, f-number, magnification, pupil ratio);
* ``[[features]]``: the boxes that must be sharp, in the reference picture's pixels;
  ``marks``: the names of the focus marks the setup uses (kept by ``focuslock mark``);
* ``[overlay]``, ``[naming]``, ``[xmp]`` (rating and label per verdict), ``[check]``
  (drift limit).

Loading a recipe while a camera is connected lists every difference between the camera
and the recipe (:func:`diff_settings`); :func:`apply_settings` makes the camera match,
one setting at a time, and says which it could not set. TOML is read with the standard
library (``tomllib``); it is written here (the recipe's tables are flat and known).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.core.resources import DataFileError, is_box, is_finite_number, read_user_file
from focuslock.devices.base import Camera, CameraError, CorruptFrameError
from focuslock.io.files import SaveError, replace_file_atomically
from focuslock.io.limits import decode_image, read_image_bytes
from focuslock.session.naming import DEFAULT_PATTERN, NamePattern, NamingError
from focuslock.session.xmp import RatingPolicy

__all__ = ["Recipe", "RecipeError", "SettingDifference", "apply_settings", "default_xmp_table", "diff_settings", "load_recipe",
           "load_recipe_and_picture", "read_camera_settings", "save_recipe", "settings_of", "with_studio_defaults"]

FORMAT = 1
_OPTICS_NUMBERS = ("sensor_width_mm", "coc_um", "coc_px", "focal_length_mm", "f_number", "magnification", "pupil_ratio")


class RecipeError(FocuslockError, ValueError):
    """A recipe that cannot be read, written or applied, in one sentence."""


@dataclass(frozen=True)
class SettingDifference:
    """One camera setting where the camera and the recipe differ: the recipe's value,
    the camera's (None: the camera has no such setting), and whether it can be set."""

    name: str
    recipe_value: str
    camera_value: str | None
    settable: bool

    def describe(self) -> str:
        if self.camera_value is None:
            return f"{self.name}: the recipe says {self.recipe_value}; this camera has no such setting"
        text = f"{self.name}: camera {self.camera_value}, recipe {self.recipe_value}"
        return text if self.settable else text + " (read-only on this camera: set it on the body)"


@dataclass(frozen=True)
class Recipe:
    """A saved studio setup: the reference picture and its features, the camera's settings,
    the lens and optics, the marks, the overlay, naming and ratings."""

    name: str
    reference: str  # the PNG's file name, beside the recipe
    features_px: tuple[tuple[float, float, float, float], ...]
    camera_name: str | None = None
    camera_settings: dict[str, str] = field(default_factory=dict)
    lens: str | None = None
    optics: dict[str, float] = field(default_factory=dict)
    marks: tuple[str, ...] = ()
    overlay: dict = field(default_factory=dict)
    naming: dict = field(default_factory=dict)
    xmp: dict = field(default_factory=dict)
    drift_limit_pct: float = 1.0

    def rating_policy(self) -> RatingPolicy:
        try:
            return RatingPolicy.from_mapping(self.xmp)
        except (ValueError, TypeError) as error:
            raise RecipeError(f"The recipe's [xmp] table is not usable: {error}") from None


def read_camera_settings(camera: Camera) -> dict[str, str]:
    """Every setting the camera lets the computer change, as the body spells it."""
    try:
        return {name: s.value for name, s in sorted(camera.get_settings().items()) if not s.read_only}
    except CameraError as error:
        raise RecipeError(f"The camera's settings could not be read: {error.user_message}") from None


def settings_of(camera: Camera) -> dict[str, str]:
    """The camera's changeable settings now, for a shot's log entry; empty when the body
    does not give them (a log entry is still written: the settings are a record, not a need)."""
    try:
        return read_camera_settings(camera)
    except RecipeError:
        return {}


def diff_settings(recipe: Recipe, camera: Camera) -> list[SettingDifference]:
    """Every setting of the recipe that the camera does not have now (by name order)."""
    try:
        now = camera.get_settings()
    except CameraError as error:
        raise RecipeError(f"The camera's settings could not be read: {error.user_message}") from None
    differences = []
    for name, wanted in sorted(recipe.camera_settings.items()):
        current = now.get(name)
        if current is None:
            differences.append(SettingDifference(name, wanted, None, False))
        elif current.value != wanted:
            differences.append(SettingDifference(name, wanted, current.value, not current.read_only))
    return differences


def apply_settings(recipe: Recipe, camera: Camera) -> tuple[list[SettingDifference], list[str]]:
    """Set every differing setting the camera can take; returns what was set and one
    sentence for each that could not be (the rest are still set)."""
    applied, problems = [], []
    for difference in diff_settings(recipe, camera):
        if not difference.settable:
            problems.append(difference.describe() + ".")
            continue
        try:
            camera.set_setting(difference.name, difference.recipe_value)
        except CameraError as error:
            problems.append(f"{difference.name} could not be set to {difference.recipe_value}: {error.user_message}")
            continue
        applied.append(difference)
    return applied, problems


# ---------------------------------------------------------------------------- files

def save_recipe(path: Path, recipe: Recipe, reference_bgr: np.ndarray, *, force: bool = False) -> Path:
    """Write the recipe at ``path`` (.toml) and its reference as PNG beside it; returns the
    PNG's path. Refuses to replace existing files unless ``force``."""
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise RecipeError(f"A recipe is a .toml file; {path.name} is not.")
    png = path.with_suffix(".png")
    for target in (path, png):
        if os.path.lexists(target) and not force:  # a link, even a broken one, is there too
            raise RecipeError(f"{target} exists; choose another name or replace it with --force.")
    _make_folder(path.parent)
    recipe = with_studio_defaults(replace(recipe, reference=png.name))
    ok, encoded = cv2.imencode(".png", reference_bgr)
    if not ok:
        raise RecipeError("The reference picture could not be encoded as PNG.")
    try:
        replace_file_atomically(png, encoded.tobytes())
        replace_file_atomically(path, _to_toml(recipe).encode("utf-8"))
    except SaveError as error:
        raise RecipeError(str(error)) from None
    return png


def _make_folder(folder: Path) -> None:
    """The recipe's folder, made with its parents when missing; one sentence when it cannot be."""
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RecipeError(f"The recipe's folder {folder} is a file (or a link to one); choose a folder.") from None
    except NotADirectoryError:
        raise RecipeError(f"The recipe's folder {folder} cannot be made: part of its path is a file.") from None
    except OSError as error:
        raise RecipeError(f"The recipe's folder {folder} could not be made ({error.strerror or error}).") from None


def default_xmp_table() -> dict:
    """The ``[xmp]`` table of the rating policy focuslock uses when a recipe gives none."""
    policy = RatingPolicy()
    return {"rating": {str(verdict): stars for verdict, stars in policy.ratings},
            "label": {str(verdict): label for verdict, label in policy.labels}}


def with_studio_defaults(recipe: Recipe) -> Recipe:
    """``recipe`` with a working ``[naming]`` pattern and ``[xmp]`` ratings where it has
    none (the defaults a session uses anyway, written out to be edited)."""
    naming = recipe.naming if recipe.naming.get("pattern") else {**recipe.naming, "pattern": DEFAULT_PATTERN}
    return replace(recipe, naming=naming, xmp=recipe.xmp or default_xmp_table())


def load_recipe(path: Path) -> tuple[Recipe, np.ndarray]:
    """The recipe at ``path`` and its reference picture (BGR)."""
    recipe, _, reference = load_recipe_and_picture(path)
    return recipe, reference


def load_recipe_and_picture(path: Path) -> tuple[Recipe, bytes, np.ndarray]:
    """The recipe at ``path``, its reference picture's bytes as read (bounded) and the
    picture decoded from them (BGR): read and decoded once, for a session to keep."""
    path = Path(path)
    if not os.path.lexists(path):
        raise RecipeError(f"There is no recipe at {path}.")
    try:
        data = tomllib.loads(read_user_file(path, "recipe file").decode("utf-8"))
    except DataFileError as error:
        raise RecipeError(str(error)) from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path.name} is not a text file (a recipe is TOML).") from None
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"{path.name} is not valid TOML ({error}).") from None
    except RecursionError:  # tomllib descends once per nested array or table
        raise RecipeError(f"{path.name}: its values are nested too deeply to be a recipe.") from None
    recipe = _from_mapping(data, path.name)
    reference_path = path.parent / recipe.reference
    if Path(recipe.reference).name != recipe.reference:
        raise RecipeError(f"{path.name}: the reference must be a file name beside the recipe, not {recipe.reference!r}.")
    if not reference_path.is_file():
        raise RecipeError(f"{path.name}: its reference picture {recipe.reference} is missing or unreadable beside it.")
    try:
        picture = read_image_bytes(reference_path).tobytes()
        reference = decode_image(picture, reference_path.name)
    except CorruptFrameError as error:
        raise RecipeError(f"{path.name}: {error}") from None
    return recipe, picture, reference


def _from_mapping(data: dict, file_name: str) -> Recipe:
    def fail(what: str) -> RecipeError:
        return RecipeError(f"{file_name}: {what}.")

    if data.get("format", FORMAT) != FORMAT:
        raise fail(f"written by a newer focuslock (recipe format {data.get('format')!r}); update focuslock to read it")
    name, reference = data.get("name"), data.get("reference")
    if not isinstance(name, str) or not name.strip():
        raise fail("it needs a name (name = \"…\")")
    if not isinstance(reference, str) or not reference:
        raise fail("it needs its reference picture (reference = \"NAME.png\")")
    features: list[tuple[float, float, float, float]] = []
    if not isinstance(data.get("features", []), list):
        raise fail("features must be [[features]] tables, each with box = [x, y, width, height]")
    for index, feature in enumerate(data.get("features", [])):
        box = feature.get("box") if isinstance(feature, dict) else None
        if not is_box(box):
            raise fail(f"feature {index + 1} needs box = [x, y, width, height] in the reference's pixels")
        x, y, w, h = (float(v) for v in box)
        features.append((x, y, w, h))
    if not features:
        raise fail("it names no feature that must be sharp ([[features]] with box = [x, y, width, height])")
    if len(features) > 4:
        raise fail("it names more than four features; focuslock checks up to four")
    camera = _table(data, "camera", fail)
    if not isinstance(camera.get("name", ""), str):
        raise fail(f"camera.name must be the body's name as text, got {camera['name']!r}")
    settings = _table(camera, "settings", fail)
    if not all(isinstance(v, str) for v in settings.values()):
        raise fail("camera settings must be text, exactly as the body spells them (iso = \"400\")")
    optics_table = _table(data, "optics", fail)
    optics = {}
    for key in _OPTICS_NUMBERS:
        if key in optics_table:
            value = optics_table[key]
            if not is_finite_number(value) or value <= 0:
                raise fail(f"optics.{key} must be a positive number, got {value!r}")
            optics[key] = float(value)
    lens = optics_table.get("lens")
    check = _table(data, "check", fail)
    drift = check.get("drift_limit_pct", 1.0)
    if isinstance(drift, bool) or not isinstance(drift, (int, float)) or not 0 < drift < 100:
        raise fail(f"check.drift_limit_pct must be a share of the width between 0 and 100, got {drift!r}")
    marks = data.get("marks", [])
    if not isinstance(marks, list) or not all(isinstance(m, str) for m in marks):
        raise fail("marks must be a list of mark names")
    naming = _table(data, "naming", fail)
    if "pattern" in naming:
        try:
            NamePattern(str(naming["pattern"]))
        except NamingError as error:
            raise RecipeError(f"{file_name}: {error}") from None
    recipe = Recipe(name.strip(), reference, tuple(features), camera.get("name"), dict(settings),
                    lens if isinstance(lens, str) else None, optics, tuple(marks), _table(data, "overlay", fail),
                    naming, _table(data, "xmp", fail), float(drift))
    try:  # refuse a bad [xmp] table now, not at the first shot
        RatingPolicy.from_mapping(recipe.xmp)
    except (ValueError, TypeError) as error:
        text = str(error).rstrip(".")
        raise fail(f"in [xmp], {text[:1].lower()}{text[1:]}") from None
    return recipe


def _table(data: dict, key: str, fail) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"[{key}] must be a table")
    return value


def _to_toml(recipe: Recipe) -> str:
    lines = ["# focuslock recipe: edit by hand if you like; the reference picture is the PNG beside it.",
             f"format = {FORMAT}", f"name = {_value(recipe.name)}", f"reference = {_value(recipe.reference)}"]
    if recipe.marks:
        lines.append(f"marks = {_value(list(recipe.marks))}")
    lines += ["", "[camera]"]
    if recipe.camera_name:
        lines.append(f"name = {_value(recipe.camera_name)}")
    lines += ["", "[camera.settings]"] + [f"{_key(k)} = {_value(v)}" for k, v in sorted(recipe.camera_settings.items())]
    lines += ["", "[optics]"]
    if recipe.lens:
        lines.append(f"lens = {_value(recipe.lens)}")
    lines += [f"{k} = {_value(v)}" for k, v in recipe.optics.items()]
    lines += ["", "[check]", f"drift_limit_pct = {_value(recipe.drift_limit_pct)}"]
    lines += ["", "[overlay]"] + [f"{_key(k)} = {_value(v)}" for k, v in recipe.overlay.items()]
    lines += ["", "[naming]"] + _NAMING_COMMENTS + [f"{_key(k)} = {_value(v)}" for k, v in recipe.naming.items()]
    lines += ["", "[xmp]"] + _XMP_COMMENTS
    for sub, values in recipe.xmp.items():
        lines.append(f"{_key(sub)} = {_value(values)}")
    for box in recipe.features_px:
        lines += ["", "[[features]]", f"box = {_value([float(v) for v in box])}"]
    return "\n".join(lines) + "\n"


# Written above the [naming] and [xmp] tables of every recipe: what can go there, with
# examples (tomllib reads the comments as nothing; the values below them are the ones in use).
_NAMING_COMMENTS = [
    "# How a session names each capture (capture --session, the window's --session): tokens",
    "# {session} {sku} {seq:04d} {date} {time} {verdict} {camera} {original}; the extension is kept,",
    "# a taken name gets -2. Examples:",
    '#   pattern = "{session}_{sku}_{seq:04d}"       # bottles_4006381333931_0042.JPG',
    '#   pattern = "{date}_{sku}_{seq:03d}"           # 20261207_A123_007.JPG',
    '#   pattern = "{session}_{original}"            # bottles_IMG_1234.CR3',
]
_XMP_COMMENTS = [
    "# The XMP sidecar's star rating (-1 rejected, 0 to 5) and colour label (Red, Yellow, Green,",
    "# Blue, Purple, or \"\" for none) for each verdict: pass, uncertain, drift, soft. A rating you set",
    "# yourself in Lightroom or darktable is kept. Examples:",
    "#   rating = {pass = 4, uncertain = 2, drift = 1, soft = -1}   # soft shots rejected",
    '#   label = {pass = "", soft = "Red"}                          # only soft shots labelled',
]


def _key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "-_" for c in key) else _value(key)


def _value(value) -> str:
    """A TOML value: strings as basic strings (JSON's escapes are TOML's), numbers, booleans,
    arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecipeError(f"A recipe cannot hold the number {value}.")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise RecipeError(f"A recipe cannot hold {value!r}.")
