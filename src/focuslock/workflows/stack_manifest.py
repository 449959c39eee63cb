"""``stack.json``: the record ``stack-shoot`` writes beside a shot stack's frames and
``stack-check`` reads back.

It lists the slices in the order they were shot, each with its drive position (steps,
nearer < 0 < farther) and its files, and — where the shooter knew them — the focus moved
per drive step (µm at the subject) and the planned circle of confusion (mm on the sensor,
with the sensor's width, so that it can be had in any file's pixels). From it the check
knows which end of the stack is the nearer, how far apart the frames' planes of focus
lie, and the CoC the stack was planned for.

The file sits beside the frames, where anyone may edit it: every value is read strictly,
and one that is not what it should be is left out (the check works without it).
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from focuslock.core.resources import DataFileError, is_finite_number, read_user_file
from focuslock.optics.coc import coc_in_picture
from focuslock.optics.lens_limits import OpticsError

__all__ = ["MANIFEST_NAME", "StackManifest", "manifest_fields", "read_manifest"]

MANIFEST_NAME = "stack.json"
# Larger than any file a stack's record needs (a slice per frame, a few names each).
_MAX_BYTES = 4 * 1024 * 1024


def _positive(value) -> float | None:
    return float(value) if is_finite_number(value) and value > 0 else None


@dataclass(frozen=True)
class StackManifest:
    """What ``stack.json`` says: each file's drive position (steps), the focus moved per
    drive step (µm at the subject), the planned CoC (mm on the sensor) and the sensor's
    width (mm); None where it does not say."""

    positions_steps: dict[str, int] = field(default_factory=dict)
    step_um: float | None = None
    coc_mm: float | None = None
    sensor_width_mm: float | None = None

    def positions(self, names: Sequence[str]) -> list[int] | None:
        """The drive position of each of ``names``, or None unless every one is listed."""
        if not names or any(name not in self.positions_steps for name in names):
            return None
        return [self.positions_steps[name] for name in names]

    def first_is_nearest(self, names: Sequence[str]) -> bool | None:
        """Whether the first of ``names`` (the frames in the check's order) is the nearest:
        the positions rise (farther) or fall frame by frame; None when they do not say."""
        positions = self.positions(names)
        if positions is None or len(positions) < 2:
            return None
        steps = [b - a for a, b in itertools.pairwise(positions)]
        if all(step > 0 for step in steps):
            return True
        if all(step < 0 for step in steps):
            return False
        return None

    def frame_steps_mm(self, names: Sequence[str]) -> list[float] | None:
        """How far the plane of focus moved between neighbouring frames (mm at the subject)."""
        positions = self.positions(names)
        if positions is None or self.step_um is None or len(positions) < 2:
            return None
        return [abs(b - a) * self.step_um / 1000.0 for a, b in itertools.pairwise(positions)]

    def coc_px(self, width_px: int) -> float | None:
        """The planned CoC in the pixels of a file ``width_px`` wide (spanning the sensor)."""
        if self.coc_mm is None or self.sensor_width_mm is None or width_px <= 0:
            return None
        try:
            return coc_in_picture(width_px, 0, coc_um=self.coc_mm * 1000.0, sensor_width_mm=self.sensor_width_mm).coc_px
        except OpticsError:
            return None  # a record from elsewhere with a CoC no picture has: the check uses the convention, and says so


def manifest_fields(step_um: float | None, coc_mm: float | None, sensor_width_mm: float | None) -> dict:
    """The optional fields ``stack-shoot`` adds to the slices it records."""
    out = {}
    for key, value in (("step_um", step_um), ("coc_mm", coc_mm), ("sensor_width_mm", sensor_width_mm)):
        if value is not None and math.isfinite(value) and value > 0:
            out[key] = float(value)
    return out


def read_manifest(folder: Path) -> StackManifest | None:
    """``stack.json`` in ``folder``, or None when there is none or it cannot be read as one."""
    path = Path(folder) / MANIFEST_NAME
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(read_user_file(path, "stack manifest", _MAX_BYTES).decode("utf-8"))
    except (DataFileError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    positions: dict[str, int] = {}
    slices = data.get("slices")
    for entry in slices if isinstance(slices, list) else []:
        if not isinstance(entry, dict):
            continue
        position, files = entry.get("position_steps"), entry.get("files")
        if not (isinstance(position, int) and not isinstance(position, bool)) or not isinstance(files, list):
            continue
        for name in files:
            if isinstance(name, str):
                positions[name] = position
    return StackManifest(positions, _positive(data.get("step_um")), _positive(data.get("coc_mm")),
                         _positive(data.get("sensor_width_mm")))
