"""The focus layer: peaking, and the followed feature's box coloured by its lock state.

Drawn with OpenCV on a new RGB image, the same headless and in the window.
"""

from __future__ import annotations

import cv2
import numpy as np

from focuslock.focus.engine import FocusResult
from focuslock.focus.peaking import PeakingSettings, paint_peaking

__all__ = ["STATE_COLOURS_RGB", "draw_focus_layer", "draw_stale"]

STATE_COLOURS_RGB = {
    "sharp": (40, 220, 70),
    "softening": (255, 200, 0),
    "soft": (255, 40, 40),
    "uncertain": (150, 150, 170),  # grey: the tool cannot tell, it does not reassure
    "stale": (120, 120, 120),
    "lost": (160, 160, 160),
    None: (255, 255, 255),  # following, not locked
}


def draw_focus_layer(image_rgb: np.ndarray, focus: FocusResult, peaking_settings: PeakingSettings) -> np.ndarray:
    """A new image: peaking painted, then the feature's box and its state."""
    if focus.peaking is not None:
        out = paint_peaking(image_rgb, focus.peaking, peaking_settings)
    else:
        out = image_rgb.copy()
    if focus.roi_px is None:
        return out
    state = focus.state
    colour = STATE_COLOURS_RGB.get(state, (255, 255, 255))
    if focus.lock is not None:
        label = state.upper()
        if focus.lock.coc_share is not None and state not in ("lost",):
            label += f" {focus.lock.coc_share:.2f} CoC"
        if focus.lock.hint:
            label += f"  {focus.lock.hint}"
    elif focus.reading is not None:
        label = f"{focus.reading.measure} {focus.reading.score:.3g}"
    else:
        label = "LOST" if focus.track is not None and focus.track.lost else ""
    _box_with_label(out, focus.roi_px, colour, label, colour)
    return out


def _box_with_label(out: np.ndarray, roi_px, colour, label: str, ink) -> None:
    """The feature's box in ``colour`` with ``label`` on black above it (below it at the
    top edge), sized for the frame."""
    x, y, w, h = (int(round(v)) for v in roi_px)
    scale = max(out.shape[0] / 700.0, 0.5)
    thickness = max(2, int(round(2 * scale)))
    cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
    if not label:
        return
    font_scale = 0.6 * scale
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
    ty = y - 6 if y - th - 10 > 0 else y + h + th + 6
    cv2.rectangle(out, (x, ty - th - 4), (x + tw + 6, ty + 4), (0, 0, 0), -1)
    cv2.putText(out, label, (x + 3, ty), cv2.FONT_HERSHEY_SIMPLEX, font_scale, ink, thickness, cv2.LINE_AA)


def draw_stale(image_rgb: np.ndarray, roi_px, label: str) -> np.ndarray:
    """A new image: the last frame (without the live overlays, whose colours would still
    claim a verdict) dimmed, and the feature's box grey with ``label`` ("ENDED 12 s"), so
    that a verdict no longer fed by frames cannot pass for a live one."""
    out = cv2.convertScaleAbs(image_rgb, alpha=0.5)
    if roi_px is not None:
        _box_with_label(out, roi_px, STATE_COLOURS_RGB["stale"], label, (230, 230, 230))
    return out
