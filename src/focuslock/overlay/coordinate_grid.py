"""A coordinate grid over a frame (``focuslock frame``): thin lines every round number of
pixels (about 100 px on a live view, 200–500 on a large still), each labelled with its x
or y along the top and the left edge, so that a feature's box ``X,Y,W,H`` can be read
off the picture."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["GRID_STEPS_PX", "draw_coordinate_grid", "grid_step_px"]

# The grid's spacing: the smallest of these that gives at most _MAX_LINES lines across.
GRID_STEPS_PX = (25, 50, 100, 200, 250, 500, 1000, 2000)
_MAX_LINES = 12


def grid_step_px(width: int, height: int) -> int:
    """The spacing of the grid's lines on a ``width``×``height`` frame."""
    longest = max(width, height)
    for step in GRID_STEPS_PX:
        if longest / step <= _MAX_LINES:
            return step
    return GRID_STEPS_PX[-1]


def draw_coordinate_grid(image: np.ndarray) -> np.ndarray:
    """A copy of ``image`` (any channel order, uint8) with the grid drawn: lines blended
    at half strength, labels in white outlined in black (legible on any picture)."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    height, width = out.shape[:2]
    step = grid_step_px(width, height)
    lines = out.copy()
    for x in range(step, width, step):
        cv2.line(lines, (x + 1, 0), (x + 1, height - 1), (0, 0, 0), 1)
        cv2.line(lines, (x, 0), (x, height - 1), (255, 255, 255), 1)
    for y in range(step, height, step):
        cv2.line(lines, (0, y + 1), (width - 1, y + 1), (0, 0, 0), 1)
        cv2.line(lines, (0, y), (width - 1, y), (255, 255, 255), 1)
    # A light line with a dark one beside it, half over the picture: seen on light and dark.
    cv2.addWeighted(lines, 0.55, out, 0.45, 0.0, dst=out)
    scale = max(0.45, min(width, height) / 1100.0)
    thickness = max(1, int(round(scale * 1.6)))
    (_, text_height), _ = cv2.getTextSize("0", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    top = text_height + 4
    _label(out, "0", (3, top), scale, thickness)
    for x in range(step, width, step):
        (text_width, _), _ = cv2.getTextSize(str(x), cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        if x + 3 + text_width < width:  # a label the edge would cut is left out
            _label(out, str(x), (x + 3, top), scale, thickness)
    for y in range(step, height, step):
        _label(out, str(y), (3, y - 4), scale, thickness)
    return out


def _label(out: np.ndarray, text: str, origin: tuple[int, int], scale: float, thickness: int) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(out, text, origin, font, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(out, text, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
