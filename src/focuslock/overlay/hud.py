"""A heads-up text panel drawn onto a copy of a frame (numpy/OpenCV only).

Legible from two metres on a 1024 px live view: white text on a dark translucent band,
sized from the frame's height.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["darken", "draw_text_panel"]


def darken(image: np.ndarray, top: int, bottom: int, left: int, right: int, factor: float) -> None:
    """Scale a rectangle of ``image`` by ``factor`` in place (a translucent dark panel).

    OpenCV's saturating scale, not NumPy arithmetic: no float copy of the region."""
    region = image[top:bottom, left:right]
    if region.size:
        image[top:bottom, left:right] = cv2.convertScaleAbs(region, alpha=factor)


def draw_text_panel(image_rgb: np.ndarray, lines: Sequence[str], corner: str = "top-left",
                    colour_rgb: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """A copy of ``image_rgb`` with ``lines`` in a translucent panel at ``corner``."""
    out = np.array(image_rgb, copy=True)
    if not lines:
        return out
    height, width = out.shape[:2]
    scale = max(0.4, height / 1100.0)
    thickness = max(1, int(round(scale * 1.6)))
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(line, font, scale, thickness)[0] for line in lines]
    line_height = int(max(h for _, h in sizes) * 1.7)
    pad = int(line_height * 0.4)
    panel_w = max(w for w, _ in sizes) + 2 * pad
    panel_h = line_height * len(lines) + pad
    x0 = pad if "left" in corner else width - panel_w - pad
    y0 = pad if "top" in corner else height - panel_h - pad
    x1, y1 = min(width, x0 + panel_w), min(height, y0 + panel_h)
    x0, y0 = max(0, x0), max(0, y0)
    darken(out, y0, y1, x0, x1, 0.35)
    for i, line in enumerate(lines):
        baseline = y0 + pad // 2 + line_height * (i + 1) - line_height // 4
        cv2.putText(out, line, (x0 + pad, baseline), font, scale, colour_rgb, thickness, cv2.LINE_AA)
    return out
