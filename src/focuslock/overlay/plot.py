"""A sharpness-over-time plot drawn with OpenCV (no plotting library needed).

The feature's added blur as a share of the circle of confusion against time or frame
number (0 = as sharp as the lock, up = blurrier), the SOFTENING (½ CoC) and SOFT (1 CoC)
thresholds labelled, the lock frame and the best frame, and each sample coloured by its
state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from focuslock.overlay.focus_layer import STATE_COLOURS_RGB

__all__ = ["draw_sharpness_plot"]

_BACKGROUND = (250, 250, 250)
_AXIS = (60, 60, 60)
_GRID = (220, 220, 220)


def draw_sharpness_plot(xs: Sequence[float], coc_shares: Sequence[float | None], states: Sequence[str], *,
                        best_x: float | None = None, lock_x: float | None = None, x_label: str = "frame",
                        title: str = "", size_px: tuple[int, int] = (1200, 520)) -> np.ndarray:
    """An RGB image of the plot of ``coc_shares`` (blur / CoC per sample)."""
    width, height = size_px
    image = np.full((height, width, 3), _BACKGROUND, np.uint8)
    left, right, top, bottom = 80, 30, 50, 60
    values = [v for v in coc_shares if v is not None]
    y_max = max(1.5, min(max(values), 6.0) * 1.05) if values else 1.5
    y_min = min(0.0, max(min(values), -2.0) * 1.05) if values else 0.0
    x_min, x_max = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_max == x_min:
        x_max = x_min + 1.0

    def px(x: float, y: float) -> tuple[int, int]:
        return (int(round(left + (x - x_min) / (x_max - x_min) * (width - left - right))),
                int(round(height - bottom - (min(max(y, y_min), y_max) - y_min) / (y_max - y_min) * (height - top - bottom))))

    font = cv2.FONT_HERSHEY_SIMPLEX
    step = 0.25 if y_max - y_min <= 2.5 else 0.5 if y_max - y_min <= 5 else 1.0
    for tick in np.arange(math.ceil(y_min / step) * step, y_max + 1e-9, step):
        a, b = px(x_min, tick), px(x_max, tick)
        cv2.line(image, a, b, _GRID, 1)
        cv2.putText(image, f"{tick:.2f}", (8, a[1] + 5), font, 0.5, _AXIS, 1, cv2.LINE_AA)
    for threshold, colour, label in ((0.5, STATE_COLOURS_RGB["softening"], "SOFTENING from 1/2 CoC"),
                                     (1.0, STATE_COLOURS_RGB["soft"], "SOFT from 1 CoC")):
        a, b = px(x_min, threshold), px(x_max, threshold)
        cv2.line(image, a, b, colour, 2, cv2.LINE_AA)
        cv2.putText(image, label, (b[0] - 230, b[1] - 6), font, 0.5, colour, 1, cv2.LINE_AA)
    for row, (marker, label, colour) in enumerate(((lock_x, "lock", (40, 40, 200)), (best_x, "best", (40, 150, 40)))):
        if marker is not None:
            a, b = px(marker, y_min), px(marker, y_max)
            cv2.line(image, a, b, colour, 1, cv2.LINE_AA)
            cv2.putText(image, label, (b[0] + 4, b[1] + 16 + 18 * row), font, 0.5, colour, 1, cv2.LINE_AA)
    previous = None
    for x, y, state in zip(xs, coc_shares, states, strict=False):
        if y is None:
            cv2.drawMarker(image, px(x, y_max), STATE_COLOURS_RGB["lost"], cv2.MARKER_TILTED_CROSS, 8, 1)
            previous = None
            continue
        point = px(x, y)
        if previous is not None:
            cv2.line(image, previous, point, (90, 90, 90), 1, cv2.LINE_AA)
        cv2.circle(image, point, 3, STATE_COLOURS_RGB.get(state, (0, 0, 0)), -1, cv2.LINE_AA)
        previous = point
    cv2.line(image, px(x_min, 0.0), px(x_max, 0.0), _AXIS, 1)
    cv2.line(image, px(x_min, y_min), px(x_min, y_max), _AXIS, 1)
    ticks = np.linspace(x_min, x_max, 6)
    if x_label == "frame":
        # Every frame of a short stack gets its tick; longer takes get whole-number ticks.
        ticks = np.arange(x_min, x_max + 1) if x_max - x_min <= 20 else np.unique(np.round(ticks))
    for tick in ticks:
        a = px(tick, y_min)
        cv2.putText(image, f"{tick:.4g}", (a[0] - 15, a[1] + 20), font, 0.5, _AXIS, 1, cv2.LINE_AA)
    cv2.putText(image, x_label, (width // 2 - 30, height - 12), font, 0.55, _AXIS, 1, cv2.LINE_AA)
    cv2.putText(image, "blur / CoC (up = softer)", (8, 30), font, 0.55, _AXIS, 1, cv2.LINE_AA)
    if title:
        cv2.putText(image, title, (left + 150, 30), font, 0.6, (20, 20, 20), 1, cv2.LINE_AA)
    return image
