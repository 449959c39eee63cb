"""Aligning the frames of a focus stack (:mod:`.coverage`): a lens that refocuses breathes —
its scale changes a little from frame to frame — so every frame is brought onto the middle
one by ECC on smoothed copies, composing the transforms of neighbouring frames, which look
alike."""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["align_stack", "scale_of"]


def _smoothed(grey: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(grey, (0, 0), 2.0)


def align_stack(greys: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Affine transforms that bring every frame onto the middle one, the aligned frames,
    and warnings for neighbours that could not be aligned (left as they were)."""
    count = len(greys)
    middle = count // 2
    warnings: list[str] = []
    small = [_smoothed(cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)) for g in greys]
    pair: list[np.ndarray] = [np.eye(2, 3, dtype=np.float32) for _ in range(count)]  # frame i onto its neighbour towards the middle
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    for i in range(count):
        if i == middle:
            continue
        target = i + 1 if i < middle else i - 1
        warp: np.ndarray = np.eye(2, 3, dtype=np.float32)
        try:
            # (OpenCV's Gaussian prefilter of 5 px, its default.)
            _, warp = cv2.findTransformECC(small[target], small[i], warp, cv2.MOTION_AFFINE, criteria, None)
        except cv2.error:
            warnings.append(f"Frame {i + 1} could not be aligned with frame {target + 1}; it is compared as it is.")
            warp = np.eye(2, 3, dtype=np.float32)
        warp[:, 2] *= 2.0  # half-size translation back to full size
        pair[i] = warp
    # Compose towards the middle: maps from the middle frame's coordinates into frame i.
    transforms = [np.eye(2, 3, dtype=np.float64) for _ in range(count)]

    def as3(m: np.ndarray) -> np.ndarray:
        return np.vstack([m, [0.0, 0.0, 1.0]])

    for i in range(middle - 1, -1, -1):
        transforms[i] = (as3(transforms[i + 1]) @ as3(pair[i].astype(np.float64)))[:2]
    for i in range(middle + 1, count):
        transforms[i] = (as3(transforms[i - 1]) @ as3(pair[i].astype(np.float64)))[:2]
    height, width = greys[middle].shape
    aligned = [cv2.warpAffine(g, t.astype(np.float32), (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT) for g, t in zip(greys, transforms, strict=True)]
    return transforms, aligned, warnings


def scale_of(transform: np.ndarray) -> float:
    """The scale of an affine transform (the square root of its determinant)."""
    return math.sqrt(abs(float(np.linalg.det(transform[:, :2]))))
