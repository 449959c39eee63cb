"""The focus layer: peaking, and the followed feature's box coloured by its lock state.

Drawn with OpenCV on a new RGB image, the same headless and in the window.
"""

from __future__ import annotations

import cv2
import numpy as np

from focuslock.focus.engine import FeatureResult, FocusResult
from focuslock.focus.peaking import PeakingSettings, paint_peaking
from focuslock.overlay.readouts import STATE_WORDS

__all__ = ["STATE_COLOURS_RGB", "draw_focus_layer", "draw_stale", "feature_label"]

STATE_COLOURS_RGB = {
    "sharp": (40, 220, 70),
    "softening": (255, 200, 0),
    "soft": (255, 40, 40),
    "uncertain": (150, 150, 170),  # grey: the tool cannot tell, it does not reassure
    "stale": (120, 120, 120),
    "lost": (160, 160, 160),
    None: (255, 255, 255),  # following, not locked
}


def draw_focus_layer(image_rgb: np.ndarray, focus: FocusResult, peaking_settings: PeakingSettings,
                     focus_map=None) -> np.ndarray:
    """A new image: peaking painted (or, with ``focus_map``, a
    :class:`~focuslock.overlay.focus_map_layer.FocusMapView`, the focus map instead), then
    each followed feature's box and its state (numbered 1, 2, … when there are several)."""
    if focus_map is not None:
        from focuslock.overlay.focus_map_layer import paint_focus_map  # it draws in this module's colours

        out = image_rgb.copy()
        paint_focus_map(out, focus_map)
    elif focus.peaking is not None:
        out = paint_peaking(image_rgb, focus.peaking, peaking_settings)
    else:
        out = image_rgb.copy()
    features = focus.features
    for number, feature in enumerate(features, start=1):
        label = feature_label(feature)
        if len(features) > 1:
            label = f"{number} {label}".strip()
        colour = STATE_COLOURS_RGB.get(feature.state, (255, 255, 255))
        _box_with_label(out, feature.roi_px, colour, label, colour)
    return out


def feature_label(feature: FeatureResult) -> str:
    """The words on a feature's box, a photographer's (the figures are in the HUD's
    details): the lock's state ("IN FOCUS", "SOFTENING", "OUT OF FOCUS", "CANNOT TELL")
    and its hint; before a lock, the sharpness reading."""
    state = feature.state
    if feature.lock is not None:
        label = STATE_WORDS.get(state or "", state or "").upper()
        if feature.lock.hint:
            label += f"  {feature.lock.hint}"
        return label
    if feature.reading is not None:
        return f"{feature.reading.measure} {feature.reading.score:.3g}"
    return "LOST" if feature.track is not None and feature.track.lost else ""


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
