"""Does a capture hold the locked feature sharp? Checked on the file itself.

The capture is larger than live view and may have another aspect ratio. It is reduced to
live-view scale (area averaging, as a body makes its live view), the feature's box is
mapped into it (live view shows the sensor's full width; a different aspect ratio is a
centred crop or band), and the feature is judged by the lock's own blur estimator against
the same circle of confusion — no allowance: the same estimator, the same thresholds, the
same parts of the box (:mod:`.parts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.focus.feature import extract_view
from focuslock.focus.lock import LockSettings, Verdict, describe_blur, judge_feature
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.parts import FeatureReference

__all__ = ["CaptureCheck", "check_capture", "judge_view", "reduce_to_width"]


@dataclass(frozen=True)
class CaptureCheck:
    path: Path
    blur_px: float | None
    state: str | None  # "sharp" | "softening" | "soft" | "uncertain" | None (could not check)
    message: str
    box_px: tuple[float, float, float, float] | None = None  # the feature's box in the file's pixels


def reduce_to_width(image: np.ndarray, width_px: int) -> np.ndarray:
    """``image`` (grey or colour) reduced to ``width_px`` wide keeping its aspect ratio,
    by area averaging (as a body makes its live view); as it is when already that wide."""
    height, width = image.shape[:2]
    reduced_h = max(3, int(round(height * width_px / width)))
    if (width, height) == (width_px, reduced_h):
        return image
    return cv2.resize(image, (width_px, reduced_h), interpolation=cv2.INTER_AREA)


def judge_view(grey: np.ndarray, roi_px: tuple[float, float, float, float], reference: FeatureReference,
               settings: LockSettings, resolvable: bool = True, unsure: str | None = None,
               noise_sigma: float | None = None) -> Verdict | None:
    """The verdict on the feature at ``roi_px`` of ``grey`` (at the reference's scale) by
    the lock's estimator, with the noise of this frame alone (``noise_sigma``, when the
    caller already has it for several features); None when the box is not inside the
    frame. ``unsure``: a reason (the feature was hard to find) that makes the verdict
    UNCERTAIN unless it is confidently soft."""
    view = extract_view(grey, roi_px, reference.margin_px)
    if view is None:
        return None
    if noise_sigma is None:
        noise_sigma = single_frame_noise_sigma(grey)
    return judge_feature(reference.estimate(view, noise_sigma), settings, resolvable, unsure=unsure)


def check_capture(path: Path, bgr: np.ndarray, live_size_px: tuple[int, int],
                  roi_live_px: tuple[float, float, float, float], reference: FeatureReference,
                  settings: LockSettings | None = None) -> CaptureCheck:
    """Judge the locked feature in the capture ``bgr`` (decoded from the file ``path`` by
    the caller, through the size limits of the sources); ``settings``: the lock's, by
    default those of a lock on ``reference``'s circle of confusion."""
    settings = settings or LockSettings(coc_px=reference.coc_px)
    path = Path(path)
    live_w, live_h = live_size_px
    grey = reduce_to_width(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr, live_w)
    # Live view spans the sensor's width; its height sits centred in the capture's.
    x, y, w, h = roi_live_px
    box_live = (x, y + (grey.shape[0] - live_h) / 2.0, w, h)
    verdict = judge_view(grey, box_live, reference, settings)
    if verdict is None:
        return CaptureCheck(path, None, None, f"{path.name}: saved; the locked feature is outside this capture's frame.")
    shown = verdict.shown
    text = f"{path.name}: {verdict.state.value.upper()} ({describe_blur(shown.blur_px, reference.coc_px, shown.beyond_range)})"
    to_file = bgr.shape[1] / grey.shape[1]
    return CaptureCheck(path, shown.blur_px, verdict.state.value, text + (f" — {verdict.reason}" if verdict.reason else ""),
                        tuple(v * to_file for v in box_live))
