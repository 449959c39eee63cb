"""The peaking colour a scene hides least (peaking's automatic colour).

Red peaking on a copper coin or a red label is hard to see: the candidate colour whose
hue the scene's own saturated, bright colours occupy least is chosen, red first.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["contrasting_colour"]


# Peaking colours offered by the automatic choice, with their hue on OpenCV's 0–180
# scale, in order of preference when the scene leaves several free (red first: what
# monitors and Magic Lantern use by default).
_CONTRAST_CANDIDATES = (((255, 40, 40), 0), ((255, 230, 20), 28), ((40, 230, 60), 60), ((40, 230, 255), 90),
                        ((255, 40, 255), 150), ((60, 110, 255), 118))
_HUE_NEIGHBOURHOOD = 20  # a candidate is hidden by scene colours within this many hue units


def contrasting_colour(image_rgb: np.ndarray, sample_step: int = 8) -> tuple[int, int, int]:
    """The peaking colour that the scene's own colours hide least: the candidate hue with
    the least saturated, bright area of the frame within ±20 hue units of it (a copper
    coin or red label hides red; a grey target hides none, and red is kept)."""
    sample = np.ascontiguousarray(image_rgb[::sample_step, ::sample_step])
    hsv = cv2.cvtColor(sample, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0].astype(np.int16)
    weight = hsv[..., 1].astype(np.float32) * hsv[..., 2].astype(np.float32) / (255.0 * 255.0)
    histogram = np.bincount(hue.ravel(), weights=weight.ravel(), minlength=180)[:180]
    masses = []
    for _, candidate_hue in _CONTRAST_CANDIDATES:
        offsets = (np.arange(-_HUE_NEIGHBOURHOOD, _HUE_NEIGHBOURHOOD + 1) + candidate_hue) % 180
        masses.append(float(histogram[offsets].sum()))
    total = float(weight.sum()) or 1.0
    # Prefer the earlier candidates unless a later one is clearly freer (2 % of the frame).
    best = min(range(len(masses)), key=lambda i: masses[i] / total + 0.02 * i / len(masses))
    return _CONTRAST_CANDIDATES[best][0]
