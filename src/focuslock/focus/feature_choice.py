"""How a user names a feature: a box ``X,Y,W,H``, a box of a size centred in the frame
(``center:WxH``), or ``auto`` (:mod:`.auto_feature`). The last two are resolved once the
frame is known (the first frame, the reference picture); every box is checked inside
that frame before any work starts (:meth:`focuslock.core.box.Box.check_inside`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from focuslock.core.box import MIN_FEATURE_PX, Box, BoxError, feature_box
from focuslock.focus.auto_feature import auto_feature

__all__ = ["FEATURE_CHOICE_HELP", "FeatureChoice", "ResolvedFeature", "parse_feature_choice"]

FEATURE_CHOICE_HELP = ("X,Y,W,H in pixels, center:WxH (a box of that size centred in the frame) or auto "
                       "(the most detailed place near the centre)")

_CENTER = re.compile(r"^(?:center|centre):(\d+)\s*[x×X]\s*(\d+)$")


@dataclass(frozen=True)
class ResolvedFeature:
    """The box a choice came to in one frame, and the line to print when focuslock chose
    it (``said``: None for a box the user gave)."""

    box: Box
    said: str | None = None


@dataclass(frozen=True)
class FeatureChoice:
    """``kind``: "box" (``box`` given), "center" (``size`` W, H) or "auto"."""

    kind: str
    box: Box | None = None
    size: tuple[int, int] | None = None

    @property
    def text(self) -> str:
        if self.kind == "box":
            assert self.box is not None
            return ",".join(map(str, self.box.as_tuple()))
        if self.kind == "center":
            assert self.size is not None
            return f"center:{self.size[0]}x{self.size[1]}"
        return "auto"

    @property
    def needs_frame(self) -> bool:
        """True when the box is known only once a frame is (center, auto)."""
        return self.kind != "box"

    def resolve(self, image: np.ndarray, picture: str = "frame") -> ResolvedFeature:
        """The box in ``image`` (a frame, RGB or grey), checked inside it; :class:`BoxError`
        (one sentence) when it is not."""
        height, width = image.shape[:2]
        if self.kind == "auto":
            try:
                chosen = auto_feature(image)
            except ValueError as error:
                raise BoxError(str(error)) from None
            return ResolvedFeature(chosen.box, chosen.sentence())
        return ResolvedFeature(self.resolve_size(width, height, picture))

    def resolve_size(self, width: int, height: int, picture: str = "frame") -> Box:
        """The box in a ``width``×``height`` picture (a box or center: no pixels needed)."""
        if self.kind == "box":
            assert self.box is not None
            return self.box.check_inside(width, height, picture)
        if self.kind == "center":
            assert self.size is not None
            w, h = self.size
            if w > width or h > height:
                raise BoxError(f"The box {self.text} is larger than the {width}×{height} {picture}: "
                               f"give at most center:{width}x{height}.")
            return Box((width - w) // 2, (height - h) // 2, w, h)
        raise BoxError("--roi auto chooses from the picture itself, which is not at hand here.")


def parse_feature_choice(text: str) -> FeatureChoice:
    """``X,Y,W,H``, ``center:WxH`` or ``auto``; :class:`BoxError` (one sentence) otherwise."""
    spec = text.strip()
    if spec.lower() == "auto":
        return FeatureChoice("auto")
    match = _CENTER.match(spec.lower())
    if match:
        w, h = int(match.group(1)), int(match.group(2))
        if w < MIN_FEATURE_PX or h < MIN_FEATURE_PX:
            raise BoxError(f"The box {spec} is too small to follow: choose one at least "
                           f"{MIN_FEATURE_PX}×{MIN_FEATURE_PX} pixels.")
        return FeatureChoice("center", size=(w, h))
    if spec.lower().startswith(("center", "centre")):
        raise BoxError(f"{text!r} is not a centred box such as center:128x128 (W and H in pixels).")
    try:
        values = [float(part) for part in spec.split(",")]
    except ValueError:
        raise BoxError(f"{text!r} is not a box X,Y,W,H such as 600,300,80,60, center:WxH or auto.") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise BoxError(f"{text!r} is not a box X,Y,W,H such as 600,300,80,60, center:WxH or auto.")
    return FeatureChoice("box", box=feature_box(values))
