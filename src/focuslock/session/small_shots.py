"""A shot narrower than its reference: what to tell a user whose file cannot be judged.

:class:`focuslock.session.shot_check.ShotJudge` reads a file narrower than the reference
as the whole frame saved smaller, its CoC in the file's pixels
``coc * file width / reference width``; under ``MIN_RESAMPLED_COC_PX`` it cannot judge
it (UNCERTAIN). Two things the user is then told, so that the advice can be acted on:

* the least width at which a saved-smaller file can be judged, found by the judge's own
  test (a width the judge would then refuse, or 1801 where 1800 does, is no advice), or,
  when no width under the reference's reaches it, that only the full-size file can be;
* that the file is a crop of the frame, not the frame saved smaller, when a feature is in
  it at the reference's own scale: saving a crop wider is no answer, the uncropped file is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from focuslock.core.box import MIN_FEATURE_PX
from focuslock.focus.capture_check import reduce_to_width
from focuslock.focus.track import TrackSettings

__all__ = ["crop_feature", "crop_reason", "what_to_save"]


def what_to_save(reference_width_px: int, coc_at_width: Callable[[int], float], least_coc_px: float) -> str:
    """What to judge instead of a file too small for the CoC: the least width whose
    ``coc_at_width`` (the judge's own reading of a saved-smaller file) reaches
    ``least_coc_px``, or, when no width under the reference's does, the full-size file."""
    full = coc_at_width(reference_width_px)
    needed = math.ceil(reference_width_px * least_coc_px / full)
    while needed > 1 and coc_at_width(needed - 1) >= least_coc_px:
        needed -= 1
    while coc_at_width(needed) < least_coc_px:
        needed += 1
    if needed >= reference_width_px:
        return (f"judge the full-size file ({reference_width_px} px wide): at a CoC of {full:.2g} px no smaller file "
                f"keeps the {least_coc_px:g} px per CoC a resampled file needs")
    return f"judge the full-size file, or save it at least {needed} px wide"


def crop_reason(size_px: tuple[int, int], reference_size_px: tuple[int, int], feature: int) -> str:
    """Why a crop of the frame (``feature`` found in it at full size) is not judged, and what to do."""
    (width, height), (ref_w, ref_h) = size_px, reference_size_px
    return (f"a {width}×{height} crop of the {ref_w}×{ref_h} frame (feature {feature + 1} is in it at full size), not "
            "the whole frame saved smaller: focuslock judges whole frames; judge the uncropped file")


def crop_feature(reference_bgr: np.ndarray, features_px: Sequence[Sequence[float]], bgr: np.ndarray) -> int | None:
    """The index of a feature found in ``bgr`` (narrower than the reference) at the
    reference's own scale surely, and more surely than at the scale of the whole frame
    reduced to ``bgr``'s width: the file is a crop of the frame; None otherwise."""
    grey = _grey(bgr)
    height, width = grey.shape[:2]
    reference = _grey(reference_bgr)
    reduced = reduce_to_width(reference, width)
    share = width / reference.shape[1]
    sure = TrackSettings().found_above
    for index, roi in enumerate(features_px):
        x, y, w, h = (int(round(float(v))) for v in roi)
        at_full = _found_confidence(reference[y:y + h, x:x + w], grey)
        if at_full < sure:
            continue
        rx, ry, rw, rh = (int(round(float(v) * share)) for v in roi)
        if at_full > _found_confidence(reduced[ry:ry + rh, rx:rx + rw], grey):
            return index
    return None


def _grey(bgr: np.ndarray) -> np.ndarray:
    return bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def _found_confidence(patch: np.ndarray, grey: np.ndarray) -> float:
    """How surely ``patch`` is somewhere in ``grey``: the best normalised correlation
    anywhere (the tracker's measure, searched over the whole picture, both smoothed a
    little as the tracker does); 0 when it cannot fit."""
    height, width = grey.shape[:2]
    h, w = patch.shape[:2]
    if min(w, h) < MIN_FEATURE_PX or w > width or h > height:
        return 0.0
    smooth = [cv2.GaussianBlur(picture.astype(np.float32), (0, 0), TrackSettings().smoothing_sigma_px)
              for picture in (patch, grey)]
    return float(cv2.matchTemplate(smooth[1], smooth[0], cv2.TM_CCOEFF_NORMED).max())
