"""Exposure beside focus: is a locked feature as bright as in the reference, and not clipped?

One measurement for every path that judges a shot against a reference — ``watch`` and
``capture --session`` (:mod:`focuslock.session.shot_check`) and the window's capture
check (:mod:`focuslock.focus.capture_check`): :func:`feature_levels` reads a feature's
box, :func:`compare_levels` sets it against the same box in the reference, and
:class:`ExposureNote` says what a user should know, in one line.

Why linear light: 8-bit JPEG and PNG levels are gamma-encoded (sRGB: level 128 is about
22 % of white's light, not 50 %), while a stop is a factor 2 in *light*. So the levels are
decoded through the sRGB curve (IEC 61966-2-1) before their mean is taken, and the
difference is ``log2`` of the two linear means. A camera's own tone curve is not exactly
sRGB (most are steeper in the midtones and roll off the highlights), so a stop set on the
body reads as roughly 0.9–1.3 stops here: good enough to say "a stop brighter", not a
light meter. A box whose mean is almost black in either picture has no ratio (None).

Clipping: a pixel is clipped when any channel is at or above 250 (as the lock counts it,
:func:`focuslock.focus.feature.clipped_share`); a feature is noted when its clipped share
exceeds the reference's by more than ``CLIP_ALLOWANCE`` (the lock's own 2 %). Callers
read a picture in its own pixels: reducing it first averages clipped pixels away (paper
with its red channel clipped over 15 % of a box read 0.3 % once reduced to live view).

The exposure never changes a focus verdict: the blur estimate is a ratio of band
energies, unchanged by a gain (:mod:`.defocus`). The one exception is the lock's own
rule that clipped highlights beyond the reference's make the blur itself untrustworthy
(UNCERTAIN), because clipping erases the detail the estimate reads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = ["CLIP_ALLOWANCE", "CLIP_LEVEL", "EXPOSURE_KEYWORDS", "KEYWORD_BRIGHTER", "KEYWORD_CLIPPED", "KEYWORD_DARKER", "NOTE_STOPS",
           "ExposureNote", "FeatureExposure", "Levels", "compare_levels",
           "feature_levels", "srgb_to_linear"]

# A channel value at or above this counts as clipped (the lock's level).
CLIP_LEVEL = 250
# More of the feature clipped than in the reference by this share: noted (the lock's 2 %).
CLIP_ALLOWANCE = 0.02
# A feature this many stops (or more, as shown to a tenth) from the reference: noted.
NOTE_STOPS = 1.0
# Linear means below this (about sRGB level 3 of 255) are too dark for a ratio.
_DARK_LINEAR = 1e-3
# Rec. 709 / sRGB luminance weights for linear R, G, B.
_LUMINANCE_BGR = np.array([0.0722, 0.7152, 0.2126], np.float64)


@functools.lru_cache(maxsize=1)
def _linear_table() -> np.ndarray:
    """The sRGB decoding curve for the 256 levels of an 8-bit picture (linear 0–1)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_to_linear(levels: np.ndarray) -> np.ndarray:
    """8-bit sRGB levels (any shape, uint8 or whole-valued floats) as linear light, 0–1."""
    index = np.clip(np.rint(levels), 0, 255).astype(np.intp) if levels.dtype != np.uint8 else levels
    linear: np.ndarray = _linear_table()[index]
    return linear


@dataclass(frozen=True)
class Levels:
    """One feature's exposure in one picture: the mean of its box in linear light (0–1,
    luminance for colour) and the share of its pixels with a channel clipped."""

    linear_mean: float
    clipped_share: float


def feature_levels(image: np.ndarray, box_px: Iterable[float]) -> Levels | None:
    """The exposure of the box ``box_px`` (x, y, w, h, px; cut to the picture) of an 8-bit
    picture, colour (BGR) or grey; None when no pixel of the box lies in the picture."""
    x, y, w, h = (int(round(float(v))) for v in box_px)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return None
    box = image[y0:y1, x0:x1]
    if box.dtype != np.uint8:
        box = np.clip(np.rint(box), 0, 255).astype(np.uint8)
    count = box.shape[0] * box.shape[1]
    if box.ndim == 3:
        linear = srgb_to_linear(box[..., :3]) @ _LUMINANCE_BGR
        unclipped = cv2.inRange(np.ascontiguousarray(box[..., :3]), (0, 0, 0), (CLIP_LEVEL - 1,) * 3)
    else:
        linear = srgb_to_linear(box)
        unclipped = cv2.inRange(box, 0, CLIP_LEVEL - 1)
    clipped = 1.0 - float(cv2.countNonZero(unclipped)) / float(count)
    return Levels(float(linear.mean()), clipped)


@dataclass(frozen=True)
class FeatureExposure:
    """One feature's exposure against the reference: ``stops`` (log2 of the linear means;
    + brighter, None when either is almost black), and the clipped shares."""

    feature: int  # 0-based, as FeatureVerdict counts
    stops: float | None
    clipped_share: float
    reference_clipped_share: float

    @property
    def clipped(self) -> bool:
        """More of the feature clipped than in the reference (beyond the allowance)."""
        return self.clipped_share > self.reference_clipped_share + CLIP_ALLOWANCE

    @property
    def off(self) -> bool:
        """A stop or more from the reference, as shown (to a tenth of a stop)."""
        return self.stops is not None and round(abs(self.stops), 1) >= NOTE_STOPS


def compare_levels(feature: int, reference: Levels, shot: Levels) -> FeatureExposure:
    """``shot``'s levels of a feature set against the ``reference``'s."""
    stops = None
    if reference.linear_mean >= _DARK_LINEAR and shot.linear_mean >= _DARK_LINEAR:
        stops = math.log2(shot.linear_mean / reference.linear_mean)
    return FeatureExposure(feature, stops, shot.clipped_share, reference.clipped_share)


@dataclass(frozen=True)
class ExposureNote:
    """A shot's exposure, feature by feature, and what of it a user should know."""

    features: tuple[FeatureExposure, ...]

    @property
    def stops(self) -> float | None:
        """The feature farthest from the reference's exposure (signed stops), or None."""
        known = [f.stops for f in self.features if f.stops is not None]
        return max(known, key=abs) if known else None

    @property
    def clipped_features(self) -> tuple[int, ...]:
        return tuple(f.feature for f in self.features if f.clipped)

    @property
    def noted(self) -> bool:
        """True when the shot's exposure deserves a note (off by a stop, or clipped)."""
        return any(f.off or f.clipped for f in self.features)

    def text(self, against: str = "the reference") -> str | None:
        """'exposure: +1.3 stops brighter than the reference; highlights clipped in
        feature 2 (12 % of it, 0 % in the reference)', or None when nothing is amiss;
        ``against``: what the shot was compared with ("the lock" in the window)."""
        parts = []
        off = [(f, f.stops) for f in self.features if f.off and f.stops is not None]
        if off:
            worst, stops = max(off, key=lambda pair: abs(pair[1]))
            which = f"feature {worst.feature + 1} " if len(self.features) > 1 else ""
            direction = "brighter" if stops > 0 else "darker"
            parts.append(f"exposure: {which}{stops:+.1f} stops {direction} than {against}")
        for f in self.features:
            if f.clipped:
                parts.append(f"highlights clipped in feature {f.feature + 1} ({100 * f.clipped_share:.0f} % of it, "
                             f"{100 * f.reference_clipped_share:.0f} % in {against})")
        return "; ".join(parts) or None

    def keywords(self) -> tuple[str, ...]:
        """The keywords a photo program can filter on (:mod:`focuslock.session.xmp`)."""
        words = []
        off = [f.stops for f in self.features if f.off and f.stops is not None]
        if any(stops > 0 for stops in off):
            words.append(KEYWORD_BRIGHTER)
        if any(stops < 0 for stops in off):
            words.append(KEYWORD_DARKER)
        if self.clipped_features:
            words.append(KEYWORD_CLIPPED)
        return tuple(words)

    def to_json(self) -> dict[str, Any]:
        """What the session's log keeps: the note, the stops and each feature's figures."""
        return {"note": self.text(), "stops": None if self.stops is None else round(self.stops, 3),
                "features": [{"feature": f.feature, "stops": None if f.stops is None else round(f.stops, 3),
                              "clipped_share": round(f.clipped_share, 4),
                              "reference_clipped_share": round(f.reference_clipped_share, 4)} for f in self.features]}


# Keywords (Lightroom's and darktable's tags) for the exposure notes.
KEYWORD_BRIGHTER = "exposure brighter than reference"
KEYWORD_DARKER = "exposure darker than reference"
KEYWORD_CLIPPED = "highlights clipped beyond reference"
EXPOSURE_KEYWORDS = (KEYWORD_BRIGHTER, KEYWORD_DARKER, KEYWORD_CLIPPED)
