"""The feature chosen without coordinates: ``--roi auto``, the most detailed place near the
centre of a frame.

A square box of :data:`DEFAULT_SHARE` of the frame's width (at least
:data:`~focuslock.core.box.MIN_FEATURE_PX`) is slid over a grid within the middle half
of the frame (a quarter of the box apart); each place is read by the measure the lock
reads detail with — the Laplacian's energy (:func:`focuslock.focus.measure.measure_roi`,
``LAPV``) — less what the frame's noise alone gives there (the one noise model,
:func:`focuslock.focus.noise.single_frame_noise_sigma`, read once on the whole frame).
The place with the most detail above the noise wins; a tie goes to the place nearer the
centre. Places the lock could not judge or follow are passed over while any other is
left: highlights clipped in more than :data:`MAX_CLIPPED_SHARE` of the box (the lock says
UNCERTAIN there), and detail in one direction only (lines or bars the tracker cannot
place along their length: the weaker axis's gradient energy above the noise under
:data:`MIN_AXIS_SHARE` of the stronger's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.core.box import MIN_FEATURE_PX, Box
from focuslock.focus.measure import measure_roi
from focuslock.focus.noise import single_frame_noise_sigma

__all__ = ["DEFAULT_SHARE", "MAX_CLIPPED_SHARE", "MIN_AXIS_SHARE", "AutoFeature", "auto_feature", "auto_sentence", "grey_of"]

# The box's side as a share of the frame's width (128 px on a 1024 px live view).
DEFAULT_SHARE = 1.0 / 8.0
# Grid step as a share of the box's side.
_STEP_SHARE = 0.25
# A channel at or above this is clipped (the lock's level); more than this share of the
# box clipped and the lock would say UNCERTAIN (the lock's 2 %).
_CLIP_LEVEL = 250
MAX_CLIPPED_SHARE = 0.02
# Detail in both directions: the weaker axis's first-difference energy above the noise
# at least this share of the stronger's.
MIN_AXIS_SHARE = 0.15


@dataclass(frozen=True)
class AutoFeature:
    """The box chosen (``box``), its fine-detail energy above the noise (``energy``: the
    Laplacian's mean square less the noise's, grey levels²) and that energy as a multiple
    of the noise's (``snr``), the frame's noise σ, and how many places were compared."""

    box: Box
    energy: float
    snr: float
    noise_sigma: float
    candidates: int

    def sentence(self) -> str:
        """The one line every command prints when it chose the feature itself."""
        return auto_sentence(self.box.as_tuple())


def auto_sentence(box: tuple[int, int, int, int]) -> str:
    """The line said of a box ``--roi auto`` chose (X,Y,W,H, to give as ``--roi`` next time)."""
    x, y, w, h = box
    return f"feature chosen automatically: {x},{y},{w},{h} (the most detailed place near the centre)"


def grey_of(image: np.ndarray) -> np.ndarray:
    """A frame (RGB or grey, uint8 or float) as uint8 grey (Rec. 601 luma, as peaking)."""
    if image.ndim == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY) if image.dtype == np.uint8 \
            else cv2.cvtColor(np.ascontiguousarray(image[..., :3]).astype(np.float32), cv2.COLOR_RGB2GRAY)
    if image.dtype != np.uint8:
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return image


def _clipped_counts(image: np.ndarray) -> np.ndarray:
    """The integral image (cv2.integral) of the pixels with a channel at or above the clip level."""
    if image.ndim == 3:
        levels = np.ascontiguousarray(image[..., :3])
        unclipped = cv2.inRange(levels, (0, 0, 0), (_CLIP_LEVEL - 1,) * 3) if levels.dtype == np.uint8 \
            else cv2.inRange(levels, (0.0, 0.0, 0.0), (_CLIP_LEVEL - 0.5,) * 3)
    else:
        unclipped = cv2.inRange(image, 0, _CLIP_LEVEL - 1)
    counts: np.ndarray = cv2.integral((unclipped == 0).astype(np.uint8))
    return counts


def _clipped_share(counts: np.ndarray, box: Box, origin: tuple[int, int]) -> float:
    """The share of ``box`` clipped, from the counts of a region whose corner is ``origin``."""
    x0, y0 = box.x - origin[0], box.y - origin[1]
    x1, y1 = x0 + box.w, y0 + box.h
    total = counts[y1, x1] - counts[y0, x1] - counts[y1, x0] + counts[y0, x0]
    return float(total) / float(box.w * box.h)


def _axis_energies(grey_box: np.ndarray, noise_sigma: float) -> tuple[float, float]:
    """Mean square of the horizontal and vertical first differences, less white noise's 2σ² each."""
    height, width = grey_box.shape
    noise = 2.0 * noise_sigma * noise_sigma
    dx = cv2.norm(grey_box[:, 1:], grey_box[:, :-1], cv2.NORM_L2SQR) / (height * (width - 1)) - noise
    dy = cv2.norm(grey_box[1:, :], grey_box[:-1, :], cv2.NORM_L2SQR) / ((height - 1) * width) - noise
    return max(float(dx), 0.0), max(float(dy), 0.0)


def auto_feature(image: np.ndarray, *, side_px: int | None = None) -> AutoFeature:
    """The most detailed box near the centre of ``image`` (a frame, RGB or grey): see the
    module's description. ``side_px``: the box's side (default :data:`DEFAULT_SHARE` of
    the width). Raises ValueError on a frame too small for a feature box."""
    height, width = image.shape[:2]
    side = int(side_px) if side_px is not None else int(round(width * DEFAULT_SHARE))
    side = max(MIN_FEATURE_PX, min(side, width, height))
    if width < MIN_FEATURE_PX or height < MIN_FEATURE_PX:
        raise ValueError(f"A {width}×{height} frame is too small to choose a feature in.")
    grey = grey_of(image)
    sigma = single_frame_noise_sigma(grey)
    # The middle half, widened where the box does not fit in it.
    x0, x1 = _span(width, side)
    y0, y1 = _span(height, side)
    step = max(1, int(round(side * _STEP_SHARE)))
    xs = _positions(x0, x1, step)
    ys = _positions(y0, y1, step)
    centre = (width / 2.0, height / 2.0)
    clipped = _clipped_counts(image[y0 : y1 + side, x0 : x1 + side])  # the searched region only
    # (usable, energy, -distance to the centre), box
    best: tuple[tuple[bool, float, float], Box, float] | None = None
    for y in ys:
        for x in xs:
            box = Box(x, y, side, side)
            region = grey[y : y + side, x : x + side]
            reading = measure_roi(region, "LAPV", noise_sigma=sigma)
            energy = max(reading.score - reading.noise_floor, 0.0)
            ex, ey = _axis_energies(region, sigma)
            usable = (_clipped_share(clipped, box, (x0, y0)) <= MAX_CLIPPED_SHARE
                      and min(ex, ey) >= MIN_AXIS_SHARE * max(ex, ey) and energy > 0.0)
            distance = math.hypot(x + side / 2.0 - centre[0], y + side / 2.0 - centre[1])
            key = (usable, energy, -distance)
            if best is None or key > best[0]:
                best = (key, box, reading.noise_floor)
    assert best is not None
    (_, energy, _), box, floor = best
    return AutoFeature(box, energy, energy / floor if floor > 0 else math.inf, sigma, len(xs) * len(ys))


def _span(length: int, side: int) -> tuple[int, int]:
    """The first and last corner along one axis for a box of ``side`` inside the middle
    half of ``length`` (centred on the middle when the box is larger than the half)."""
    start, end = length // 4, length - length // 4
    if end - start < side:
        start = max(0, (length - side) // 2)
        return start, start
    return start, end - side


def _positions(first: int, last: int, step: int) -> list[int]:
    """Corners from ``first`` to ``last`` every ``step``, ``last`` included."""
    positions = list(range(first, last + 1, step))
    if positions[-1] != last:
        positions.append(last)
    return positions
