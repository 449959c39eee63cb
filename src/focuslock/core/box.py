"""A box in a picture's pixels, and the one check of whether it can be used: the size and the place.

Two sizes matter. A feature a user chooses must be at least :data:`MIN_FEATURE_PX` on
each side: below it the tracker's template cannot find the feature again, so the command
line, the window, the recipe and every workflow refuse it at once, in one sentence. Any
region focuslock measures (a part of a feature, a tile of the focus map) must be at
least :data:`MIN_MEASURE_PX`: the Laplacian and the noise estimate need a 3×3
neighbourhood.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from focuslock.core.errors import FocuslockError

__all__ = ["MIN_FEATURE_PX", "MIN_MEASURE_PX", "Box", "BoxError", "feature_box"]

MIN_FEATURE_PX = 8
MIN_MEASURE_PX = 3


class BoxError(FocuslockError, ValueError):
    """A box that cannot be used: its sentence says why and what to give instead."""


@dataclass(frozen=True)
class Box:
    """``x, y`` of the top-left corner, ``w, h`` the size, in whole pixels."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Box:
        """A box from four numbers (rounded to the pixel); :class:`BoxError` when they are not."""
        if len(values) != 4:
            raise BoxError(f"A box is four numbers X,Y,W,H, not {len(values)}.")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and abs(v) < 1e9 for v in values):
            raise BoxError(f"The box {','.join(map(str, values))} is not four finite numbers X,Y,W,H.")
        x, y, w, h = (int(round(v)) for v in values)
        return cls(x, y, w, h)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.w, self.h

    def describe(self) -> str:
        return f"{self.x},{self.y},{self.w}×{self.h}"

    def inside(self, width: int, height: int) -> bool:
        return self.x >= 0 and self.y >= 0 and self.x + self.w <= width and self.y + self.h <= height

    def check_inside(self, width: int, height: int, picture: str = "frame") -> Box:
        """The box itself when it lies inside a ``width``×``height`` picture; else :class:`BoxError`."""
        if not self.inside(width, height):
            raise BoxError(f"The feature box {self.describe()} is not inside the {width}×{height} {picture}.")
        return self


def feature_box(values: Sequence[float]) -> Box:
    """The box of a feature a user chose, checked for its size and sign (not yet for a
    picture: :meth:`Box.check_inside` once its size is known)."""
    box = Box.of(values)
    if box.x < 0 or box.y < 0:
        raise BoxError(f"The feature box {box.describe()} starts outside the picture: X and Y are at least 0.")
    if box.w < MIN_FEATURE_PX or box.h < MIN_FEATURE_PX:
        raise BoxError(f"The feature box {box.describe()} is too small to follow: choose one at least "
                       f"{MIN_FEATURE_PX}×{MIN_FEATURE_PX} pixels.")
    return box
