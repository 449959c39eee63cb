"""The noise of a take, measured on the still feature as live view measures it.

Live view has many views of the feature while the lock calibrates; a take (a video, a
stack, a folder) has the frames around its lock frame. Where the feature stood still
between two of them, their difference is the sensor's noise alone — texture cancels,
however fine — which no single frame can offer. Each neighbour is aligned to the lock
frame to the whole pixel (the shift that leaves the least difference, as the live lock
takes only views the tracker saw still), and one temporal σ is read per pair
(:func:`focuslock.focus.noise.temporal_noise_sigma`). A pair whose focus or position
changed carries picture too and reads higher: :meth:`NoiseModel.hold_measured` keeps the
least of them and of the single-frame estimate.
"""

from __future__ import annotations

import numpy as np

from focuslock.core.box import MIN_FEATURE_PX
from focuslock.focus.noise import first_difference_energy, temporal_noise_sigma

__all__ = ["NEIGHBOURS", "pair_noise_sigmas"]

# Frames on each side of the lock frame read for the temporal noise.
NEIGHBOURS = 2
# Whole-pixel shifts searched when aligning a neighbour (the feature may drift a little).
_SEARCH_PX = 3


def pair_noise_sigmas(lock_grey: np.ndarray, neighbours: list[np.ndarray], roi_px: tuple[int, int, int, int]) -> list[float]:
    """One temporal σ per neighbour (grey frames of the lock frame's size) for the feature
    in ``roi_px`` of ``lock_grey``; none for a neighbour of another size or a box too
    close to the frame's edge to search around."""
    x, y, w, h = (int(v) for v in roi_px)
    height, width = lock_grey.shape
    s = _SEARCH_PX
    if w < MIN_FEATURE_PX or h < MIN_FEATURE_PX or x - s < 0 or y - s < 0 or x + w + s > width or y + h + s > height:
        return []
    reference = lock_grey[y : y + h, x : x + w].astype(np.float32)
    sigmas = []
    for grey in neighbours:
        if grey.shape != lock_grey.shape:
            continue
        best = None
        for dy in range(-s, s + 1):
            for dx in range(-s, s + 1):
                view = grey[y + dy : y + dy + h, x + dx : x + dx + w]
                energy = first_difference_energy(reference - view.astype(np.float32))
                if best is None or energy < best[0]:
                    best = (energy, view)
        if best is not None:
            sigmas.append(temporal_noise_sigma(reference, best[1]))
    return sigmas
