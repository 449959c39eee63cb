"""The focus check of captured files: each file read through the sources' size limits,
then judged by the lock's own estimator (:func:`focuslock.focus.capture_check.check_capture`),
with the feature's exposure against the lock's view told beside the verdict. A file that
cannot be judged (a RAW, a damaged JPEG) is saved all the same and says so."""

from __future__ import annotations

from pathlib import Path

from focuslock.devices.base import CorruptFrameError
from focuslock.focus.capture_check import CaptureCheck, check_capture
from focuslock.focus.parts import FeatureReference
from focuslock.io.limits import FrameSizeError, read_image_file

__all__ = ["check_captured_files"]


def check_captured_files(paths: list[Path], live_size_px: tuple[int, int], roi_live_px, reference: FeatureReference
                         ) -> list[CaptureCheck]:
    """Each captured file judged against the lock's ``reference`` (the feature's box in live-view pixels)."""
    checks = []
    for path in map(Path, paths):
        try:
            bgr = read_image_file(path, path.name)
        except FrameSizeError:
            checks.append(CaptureCheck(path, None, None, f"{path.name}: saved; its focus was not checked "
                                                         "(its size is outside what focuslock decodes)."))
            continue
        except (CorruptFrameError, OSError):
            checks.append(CaptureCheck(path, None, None, f"{path.name}: saved; its focus was not checked "
                                                         "(focuslock reads JPEG, PNG and TIFF, e.g. not RAW)."))
            continue
        checks.append(check_capture(path, bgr, live_size_px, roi_live_px, reference))
    return checks
