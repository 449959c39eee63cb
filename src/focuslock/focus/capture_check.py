"""Does a capture hold the locked feature sharp? Checked on the file itself.

The capture is larger than live view; the feature's patch is reduced to live-view scale
(area averaging, as the body's live view is made) and measured with the lock's measure,
so that its score compares with the lock's reference and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.focus.measure import DEFAULT_MEASURE, laplacian_noise_sigma, measure_roi

__all__ = ["CAPTURE_ALLOWANCE", "CaptureCheck", "check_capture"]

# A capture is made by other processing than live view (full resolution, its own JPEG
# engine, no live-view aliasing); reduced to live-view scale, the same feature at the
# same focus measures 80–95 % of the live view's sharpness on the simulated bench. The
# check allows 20 % before it calls a capture softer than the lock; a capture that is
# really soft falls far below that (SOFT sits at 40–70 %).
CAPTURE_ALLOWANCE = 0.20


@dataclass(frozen=True)
class CaptureCheck:
    path: Path
    relative: float | None
    state: str | None  # "sharp" | "softening" | "soft" | None (could not check)
    message: str


def check_capture(path: Path, live_size_px: tuple[int, int], roi_live_px: tuple[float, float, float, float],
                  reference_score: float, softening_below: float, soft_below: float,
                  measure: str = DEFAULT_MEASURE) -> CaptureCheck:
    """Measure the locked feature in the captured file ``path``."""
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8) if path.exists() else np.zeros(0, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        return CaptureCheck(path, None, None, f"{path.name}: saved; not an image focuslock can read to check (RAW).")
    height, width = bgr.shape[:2]
    live_w, live_h = live_size_px
    scale = width / live_w
    x, y, w, h = roi_live_px
    # The same field of view: the feature's box scaled to the capture, with a margin so
    # that the reduction does not see the border.
    x0, y0 = int(max(0, (x - 4) * scale)), int(max(0, (y - 4) * scale))
    x1, y1 = int(min(width, (x + w + 4) * scale)), int(min(height, (y + h + 4) * scale))
    grey = cv2.cvtColor(bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    reduced = cv2.resize(grey, (max(3, int(round((x1 - x0) / scale))), max(3, int(round((y1 - y0) / scale)))),
                         interpolation=cv2.INTER_AREA)
    patch = reduced[4:-4, 4:-4] if reduced.shape[0] > 12 and reduced.shape[1] > 12 else reduced
    # The noise from the whole capture at live-view scale, as the lock read it from whole
    # frames (the patch alone would count its own texture as noise).
    whole = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (live_w, live_h), interpolation=cv2.INTER_AREA)
    noise = laplacian_noise_sigma(cv2.Laplacian(whole, cv2.CV_16S, ksize=1))
    score = measure_roi(patch, measure, laplacian_noise=noise).score
    relative = score / reference_score if reference_score > 0 else 0.0
    allowance = CAPTURE_ALLOWANCE
    state = "sharp" if relative >= softening_below - allowance else "softening" if relative >= soft_below - allowance else "soft"
    return CaptureCheck(path, relative, state, f"{path.name}: {state.upper()} ({relative * 100:.0f}% of the locked sharpness)")
