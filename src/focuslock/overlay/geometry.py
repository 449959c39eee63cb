"""Where overlays go: the scale a frame is drawn at to fit the display, a focus result
mapped onto that scale, and the corner the loupe's inset takes."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from focuslock.focus.engine import FocusResult

__all__ = ["display_scale", "loupe_origin", "scaled_focus", "without_peaking"]

_LOUPE_GAP_PX = 10


def display_scale(frame_shape: tuple[int, ...], display_size_px: tuple[int, int] | None) -> float:
    """The scale (≤ 1) at which a frame fits the display, keeping its aspect; 1 when the
    display is as large as the frame or nearly (scaling would cost more than it saves)."""
    if display_size_px is None:
        return 1.0
    height, width = frame_shape[:2]
    scale = min(display_size_px[0] / width, display_size_px[1] / height)
    return scale if scale < 0.9 else 1.0


def _scaled(box: tuple[float, float, float, float], scale: float) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return x * scale, y * scale, w * scale, h * scale


def scaled_focus(focus: FocusResult, scale: float, size: tuple[int, int]) -> FocusResult:
    """``focus`` as drawn on the frame scaled by ``scale`` to ``size`` (w, h): the box and
    the peaking band mapped; the verdict itself untouched."""
    roi = _scaled(focus.roi_px, scale) if focus.roi_px is not None else None
    peaking = focus.peaking
    if peaking is not None:
        band = peaking.band
        # A one-pixel peaking line must survive the scaling: each output pixel takes the
        # strongest band among the frame pixels it covers (dilate, then sample).
        reach = int(math.ceil(1.0 / scale))
        if reach > 1:
            band = cv2.dilate(band, np.ones((reach, reach), np.uint8))
        ox, oy = peaking.offset_px
        band_size = (max(1, int(round(band.shape[1] * scale))), max(1, int(round(band.shape[0] * scale))))
        band_size = (min(band_size[0], size[0]), min(band_size[1], size[1]))
        band = cv2.resize(band, band_size, interpolation=cv2.INTER_NEAREST)
        offset = (min(int(round(ox * scale)), size[0] - band_size[0]), min(int(round(oy * scale)), size[1] - band_size[1]))
        peaking = replace(peaking, band=band, offset_px=offset)
    more = tuple(replace(feature, roi_px=_scaled(feature.roi_px, scale)) for feature in focus.more
                 if feature.roi_px is not None)
    return replace(focus, roi_px=roi, peaking=peaking, more=more)


def loupe_origin(frame_size_px: tuple[int, int], inset_px: int,
                 box_px: tuple[float, float, float, float] | None) -> tuple[int, int]:
    """Top-left corner of the loupe's inset: bottom right, unless that would cover the
    followed box; then the first free one of bottom left, top right (beside the meter)
    and top left; if the box is so large that it touches all four, the corner that covers
    least of it. The inset must never hide the detail the user is watching."""
    width, height = frame_size_px
    gap = _LOUPE_GAP_PX
    right, bottom = width - inset_px - gap, height - inset_px - gap
    meter_clearance = max(14, width // 70) + 60  # the meter bar and its labels
    candidates = [(right, bottom), (gap, bottom), (max(right - meter_clearance, gap), gap), (gap, gap)]
    candidates = [(min(max(x, 0), max(width - inset_px, 0)), min(max(y, 0), max(height - inset_px, 0))) for x, y in candidates]
    if box_px is None:
        return candidates[0]
    bx, by, bw, bh = box_px
    bx0, by0, bx1, by1 = bx - gap, by - gap, bx + bw + gap, by + bh + gap

    def covered(origin: tuple[int, int]) -> float:
        ox, oy = origin
        overlap_w = min(ox + inset_px, bx1) - max(ox, bx0)
        overlap_h = min(oy + inset_px, by1) - max(oy, by0)
        return max(overlap_w, 0.0) * max(overlap_h, 0.0)

    for origin in candidates:
        if covered(origin) == 0.0:
            return origin
    return min(candidates, key=covered)


def without_peaking(focus: FocusResult) -> FocusResult:
    """``focus`` with no peaking mask to draw."""
    return replace(focus, peaking=None)
