"""Does a capture hold the locked feature sharp? Checked on the file itself.

The capture is larger than live view and may have another aspect ratio. It is reduced to
live-view scale (area averaging, as a body makes its live view), the feature's box is
mapped into it (live view shows the sensor's full width; a different aspect ratio is a
centred crop or band), and the feature is judged by the lock's own blur estimator against
the same circle of confusion — no allowance: the same estimator, the same thresholds, the
same parts of the box (:mod:`.parts`).

Beside focus, the feature's exposure against the lock's view (:mod:`.exposure`, the one
measurement every path asks): a stop or more off, or highlights clipped beyond the lock's,
is told with the verdict; clipping also makes the verdict UNCERTAIN (clipped detail cannot
show its blur), as in live view. The lock keeps live view's grey picture, so the level is
compared in grey; clipping is read in the file's own colour pixels (:func:`_exposure`).
A body whose live view does not simulate the exposure (a dim live view at f/16, say) can
make a capture read a stop or two off the lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from focuslock.focus.exposure import ExposureNote, Levels, compare_levels, feature_levels
from focuslock.focus.feature import extract_view
from focuslock.focus.lock import LockSettings, Verdict, describe_blur, judge_feature
from focuslock.focus.noise import single_frame_noise, single_frame_noise_sigma
from focuslock.focus.parts import FeatureReference

__all__ = ["CLIPPED_REASON", "CaptureCheck", "capture_noise_sigma", "check_capture", "judge_view", "reduce_to_width",
           "reference_levels"]

# Why a feature whose highlights clip beyond the reference's is UNCERTAIN.
CLIPPED_REASON = "highlights in the feature are clipped: lower the exposure for a trustworthy verdict"


@dataclass(frozen=True)
class CaptureCheck:
    """A capture judged against the lock: its blur, state and one line to show."""

    path: Path
    blur_px: float | None
    state: str | None  # "sharp" | "softening" | "soft" | "uncertain" | None (could not check)
    message: str
    box_px: tuple[float, float, float, float] | None = None  # the feature's box in the file's pixels
    exposure: ExposureNote | None = None  # the feature's exposure against the lock's view


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
               noise_sigma: float | None = None, same_pipeline: bool = True) -> Verdict | None:
    """The verdict on the feature at ``roi_px`` of ``grey`` (at the reference's scale) by
    the lock's estimator, with the noise of this frame alone (``noise_sigma``, when the
    caller already has it for several features); None when the box is not inside the
    frame. ``unsure``: a reason (the feature was hard to find) that makes the verdict
    UNCERTAIN unless it is confidently soft. ``same_pipeline``: the reference came from
    pictures made as this one was (a studio's files); False for a capture judged against
    live view, where the gross reading is not asked (:func:`check_capture`)."""
    view = extract_view(grey, roi_px, reference.margin_px)
    if view is None:
        return None
    if noise_sigma is None:
        noise_sigma = single_frame_noise_sigma(grey)
    estimate = reference.estimate(view, noise_sigma)
    if not same_pipeline:
        estimate = replace(estimate, gross=None)
    return judge_feature(estimate, settings, resolvable, unsure=unsure)


def capture_noise_sigma(grey: np.ndarray, reference: FeatureReference) -> float:
    """The noise σ to judge the capture ``grey`` (live-view scale) with: its single-frame
    estimate, except where the capture cannot separate its noise from its texture (fine
    detail everywhere: that estimate reads up to 2–4× high, and a noise read too high
    reads the feature blurrier than the lock that read the same picture) — there no more
    than the lock's own noise, measured on live view's still frames. A capture reduced to
    live-view scale is no noisier than live view, and where its estimate can be trusted it
    is used as it is: a capture noisier than the lock is never judged with less noise."""
    estimate = single_frame_noise(grey)
    if estimate.separable:
        return estimate.sigma
    return min(estimate.sigma, reference.whole.noise_sigma)


def reference_levels(reference: FeatureReference) -> Levels | None:
    """The locked feature's exposure as the lock saw it: its view (grey, live-view scale)
    inside the context margin (None when the view holds nothing inside it)."""
    # The lock keeps its first view on the whole box's curve; parts.py has no public name for it.
    view = reference.whole._first_view
    margin = reference.margin_px
    inner = view[margin:view.shape[0] - margin, margin:view.shape[1] - margin]
    return feature_levels(inner, (0, 0, inner.shape[1], inner.shape[0]))


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
    to_file = bgr.shape[1] / grey.shape[1]
    box_file = tuple(v * to_file for v in box_live)
    exposure = _exposure(grey, box_live, bgr, box_file, reference)
    unsure = CLIPPED_REASON if exposure is not None and exposure.clipped_features else None
    # A body's live view and its files are made differently (binning or line skipping,
    # sharpening, scaling): reduced to live view's size, a sharp capture reads the same
    # fine band but not the same band four times coarser (the simulated bench's sharp
    # capture read "at least 2.6 CoC" there), so the gross reading is not asked here.
    verdict = judge_view(grey, box_live, reference, settings, unsure=unsure, noise_sigma=capture_noise_sigma(grey, reference),
                         same_pipeline=False)
    if verdict is None:
        return CaptureCheck(path, None, None, f"{path.name}: saved; the locked feature is outside this capture's frame.")
    shown = verdict.shown
    text = f"{path.name}: {verdict.state.value.upper()} ({describe_blur(shown.blur_px, reference.coc_px, shown.beyond_range)})"
    text += f" — {verdict.reason}" if verdict.reason else ""
    note = exposure.text("the lock") if exposure is not None else None
    return CaptureCheck(path, shown.blur_px, verdict.state.value, text + (f" · {note}" if note else ""), box_file, exposure)


def _exposure(grey: np.ndarray, box_live: Iterable[float], bgr: np.ndarray, box_file: Iterable[float],
              reference: FeatureReference) -> ExposureNote | None:
    """The feature's exposure against the lock's view: its level in grey, as the lock's
    (a colour's luminance differs from its grey level: a red would read a stop off), its
    clipping in the file's own colour pixels (a channel clips long before the grey level
    does, and reducing to live-view scale averages clipping away) against the share the
    lock's grey view shows — a lower bound, so a capture clipped as the lock was may be
    called clipped: UNCERTAIN, never a false all-clear."""
    level = feature_levels(grey, box_live)
    clipping = feature_levels(bgr, box_file)
    locked = reference_levels(reference)
    if level is None or clipping is None or locked is None:
        return None
    return ExposureNote((compare_levels(0, locked, Levels(level.linear_mean, clipping.clipped_share)),))
