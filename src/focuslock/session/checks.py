"""The focus check of captured files: each file read through the sources' size limits,
then judged by the lock's own estimator (:func:`focuslock.focus.capture_check.check_capture`),
with the feature's exposure against the lock's view told beside the verdict. A file that
cannot be judged (a RAW, a damaged JPEG) is saved all the same and says so. Each file is
decoded once: the picture judged is the picture laid out for review (:func:`check_and_review`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from focuslock.devices.base import CorruptFrameError
from focuslock.focus.capture_check import CaptureCheck, check_capture
from focuslock.focus.parts import FeatureReference
from focuslock.io.limits import FrameSizeError, read_image_file
from focuslock.session.review import ShotReview, review_shot

__all__ = ["check_and_review", "check_captured_files", "review_of_checks"]


def _check_file(path: Path, live_size_px: tuple[int, int], roi_live_px, reference: FeatureReference
                ) -> tuple[CaptureCheck, np.ndarray | None]:
    """The check of one file and the picture decoded for it (None: not decoded)."""
    try:
        bgr = read_image_file(path, path.name)
    except FrameSizeError:
        return CaptureCheck(path, None, None, f"{path.name}: saved; its focus was not checked "
                                              "(its size is outside what focuslock decodes)."), None
    except (CorruptFrameError, OSError):
        return CaptureCheck(path, None, None, f"{path.name}: saved; its focus was not checked "
                                              "(focuslock reads JPEG, PNG and TIFF, e.g. not RAW)."), None
    return check_capture(path, bgr, live_size_px, roi_live_px, reference), bgr


def check_captured_files(paths: list[Path], live_size_px: tuple[int, int], roi_live_px, reference: FeatureReference
                         ) -> list[CaptureCheck]:
    """Each captured file judged against the lock's ``reference`` (the feature's box in live-view pixels)."""
    return [_check_file(path, live_size_px, roi_live_px, reference)[0] for path in map(Path, paths)]


def check_and_review(paths: list[Path], live_size_px: tuple[int, int], roi_live_px, reference: FeatureReference
                     ) -> tuple[list[CaptureCheck], ShotReview | None]:
    """:func:`check_captured_files` and :func:`review_of_checks` with each file decoded once."""
    checked = [_check_file(path, live_size_px, roi_live_px, reference) for path in map(Path, paths)]
    checks = [check for check, _ in checked]
    return checks, review_of_checks(paths, checks, {check.path: bgr for check, bgr in checked if bgr is not None})


def review_of_checks(paths: list[Path], checks: list[CaptureCheck],
                     pictures: dict[Path, np.ndarray] | None = None) -> ShotReview | None:
    """A plain capture (no studio session) laid out for review: the first file the lock
    checked, its feature at 100 % (from ``pictures``, the files as the check decoded them,
    else read again); or the first file saved, with why it has no crop."""
    for check in checks:
        if check.box_px is not None:
            return review_shot(check.path, check.state, check.message, [(check.box_px, check.state, check.message)],
                               picture_bgr=(pictures or {}).get(check.path))
    if checks:
        return ShotReview(checks[0].path, checks[0].state, checks[0].message, ())
    if paths:
        return ShotReview(Path(paths[0]), None, f"{Path(paths[0]).name}: saved", (),
                          "Lock a feature to have captures checked and shown at 100 %.")
    return None
