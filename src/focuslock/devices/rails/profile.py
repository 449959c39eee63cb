"""Rail and turntable profiles (``drivers/rails/*.toml``): which backend, where, and the
bounds; so that a new rail is a file. The fields are in ``drivers/rails/README.md``.

A profile is named by its path or by its file's stem (``--rail grbl-z`` finds
``drivers/rails/grbl-z.toml``, or the user's own in the config folder's
``drivers/rails/``)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from focuslock.core.resources import DataFileError, data_folders, read_toml
from focuslock.devices.rails.base import Axis, BoundedStage, Limits, MotionError, Stage

__all__ = ["BACKENDS", "StageProfile", "find_stage_profile", "load_stage_profile", "open_stage"]

BACKENDS = ("sim", "gcode", "stackshot", "http")


@dataclass(frozen=True)
class StageProfile:
    """One rail or turntable: its backend, its connection and its bounds (µm or degrees)."""

    key: str
    name: str
    axis: Axis
    backend: str
    limits: Limits
    port: str | None = None
    baud: int = 115200
    url: str | None = None
    token_env: str | None = None
    gcode_axis: str = "Z"
    gcode_flavour: str = "grbl"
    unit_per_step: float | None = None
    backlash: float = 0.0
    approach: int = 1
    settle_timeout_s: float = 5.0  # the longest the picture is waited for to stop changing


# Every field a profile may have (drivers/rails/README.md); any other is a typo, named.
FIELDS = ("name", "kind", "backend", "port", "baud", "url", "token_env", "gcode_axis", "gcode_flavour", "unit_per_step",
          "travel_min", "travel_max", "max_move", "max_speed", "backlash", "approach", "settle_timeout_s")


def _number(path: Path, data: dict, key: str, default: float | None = None) -> float:
    if key not in data and default is None:
        raise MotionError(f"{path}: '{key}' is missing (a number; see drivers/rails/README.md).")
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MotionError(f"{path}: '{key}' must be a number, got {value!r}.")
    return float(value)


def _text(path: Path, data: dict, key: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise MotionError(f"{path}: '{key}' must be text, got {value!r}.")
    return value


def load_stage_profile(path: Path) -> StageProfile:
    """Read and check one profile; :class:`MotionError` names the file and the field."""
    path = Path(path)
    try:
        data = read_toml(path)
    except DataFileError as error:
        raise MotionError(str(error)) from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        verb = "is not a field" if len(unknown) == 1 else "are not fields"
        raise MotionError(f"{path}: {', '.join(repr(k) for k in unknown)} {verb} of a rail profile (a typo? the fields: "
                          f"{', '.join(FIELDS)}).")
    kind = _text(path, data, "kind", "rail")
    if kind not in ("rail", "turntable"):
        raise MotionError(f"{path}: 'kind' is rail or turntable, not {kind!r}.")
    backend = _text(path, data, "backend")
    if backend not in BACKENDS:
        raise MotionError(f"{path}: 'backend' is one of {', '.join(BACKENDS)}, not {backend!r}.")
    try:
        limits = Limits(_number(path, data, "travel_min"), _number(path, data, "travel_max"),
                        _number(path, data, "max_move"), _number(path, data, "max_speed"))
    except MotionError as error:
        message = error.user_message
        raise MotionError(message if message.startswith(str(path)) else f"{path}: {message[0].lower()}{message[1:]}") from None
    approach = int(_number(path, data, "approach", 1))
    if approach not in (1, -1):
        raise MotionError(f"{path}: 'approach' is 1 (moves arrive going forward) or -1, not {approach}.")
    profile = StageProfile(
        key=path.stem, name=_text(path, data, "name", path.stem) or path.stem, axis=Axis(kind), backend=backend,
        limits=limits, port=_text(path, data, "port"), baud=int(_number(path, data, "baud", 115200)),
        url=_text(path, data, "url"), token_env=_text(path, data, "token_env"),
        gcode_axis=_text(path, data, "gcode_axis", "Z" if kind == "rail" else "A") or "Z",
        gcode_flavour=_text(path, data, "gcode_flavour", "grbl") or "grbl",
        unit_per_step=_number(path, data, "unit_per_step") if "unit_per_step" in data else None,
        backlash=_number(path, data, "backlash", 0.0), approach=approach,
        settle_timeout_s=_number(path, data, "settle_timeout_s", 5.0))
    if backend in ("gcode", "stackshot") and not profile.port:
        raise MotionError(f"{path}: a {backend} stage needs 'port' (the serial device, e.g. /dev/ttyUSB0).")
    if backend == "http" and not profile.url:
        raise MotionError(f"{path}: an HTTP stage needs 'url'.")
    if backend == "stackshot" and not profile.unit_per_step:
        raise MotionError(f"{path}: a StackShot needs 'unit_per_step' (µm or degrees per motor step).")
    if profile.backlash < 0 or profile.settle_timeout_s <= 0:
        raise MotionError(f"{path}: 'backlash' must be 0 or more and 'settle_timeout_s' positive.")
    return profile


def find_stage_profile(name_or_path: str) -> StageProfile:
    """A profile by path, or by name in the shipped and the user's ``drivers/rails/``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or os.sep in name_or_path:
        if not os.path.lexists(candidate):
            raise MotionError(f"The rail profile {name_or_path} does not exist.")
        return load_stage_profile(candidate)
    found = None
    for folder in data_folders("drivers/rails"):
        if (folder / f"{name_or_path}.toml").is_file():
            found = folder / f"{name_or_path}.toml"  # the user's own, later, wins
    if found is None:
        names = sorted({p.stem for folder in data_folders("drivers/rails") for p in folder.glob("*.toml")})
        raise MotionError(f"No rail profile named {name_or_path!r}; there are: {', '.join(names)}.")
    return load_stage_profile(found)


def open_stage(profile: StageProfile, simulated: Callable[[StageProfile], Stage] | None = None) -> BoundedStage:
    """Open the profile's backend, held to its bounds. ``simulated`` makes the ``sim``
    backend (the simulated bench's rail or turntable, from the layer above)."""
    stage: Stage
    if profile.backend == "sim":
        if simulated is None:
            raise MotionError(f"{profile.name} is the simulated bench's; use it with --source sim.")
        stage = simulated(profile)
    elif profile.backend == "gcode":
        from focuslock.devices.rails.gcode import GcodeStage

        assert profile.port is not None
        stage = GcodeStage(profile.port, baud=profile.baud, name=profile.name, axis=profile.axis,
                           letter=profile.gcode_axis, flavour=profile.gcode_flavour)
    elif profile.backend == "stackshot":
        from focuslock.devices.rails.stackshot import StackShotStage

        assert profile.port is not None and profile.unit_per_step is not None
        stage = StackShotStage(profile.port, unit_per_step=profile.unit_per_step, name=profile.name, axis=profile.axis,
                               baud=profile.baud)
    else:
        from focuslock.devices.rails.http_rail import HttpStage

        assert profile.url is not None
        token = os.environ.get(profile.token_env) if profile.token_env else None
        stage = HttpStage(profile.url, name=profile.name, axis=profile.axis, token=token, token_env=profile.token_env)
    return BoundedStage(stage, profile.limits, backlash=profile.backlash, approach=profile.approach)
