"""A shot laid out for review: each feature's box at 100 % (the file's own pixels) with a
focus mask, and the verdict beside it.

What a photographer does after every shot of a product — zoom to 100 % on the detail and
look — done for them: the window's review panel and the session report show these crops.
The focus mask is the live view's own peaking (:mod:`focuslock.focus.peaking`, its noise-
aware thresholds measured on the crop) painted over the crop's pixels, never scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.devices.base import CorruptFrameError
from focuslock.focus.peaking import PeakingSettings, compute_peaking, paint_peaking
from focuslock.io.limits import FrameSizeError, read_image_file

__all__ = ["CROP_MAX_PX", "ReviewCrop", "ShotReview", "crop_window", "review_shot"]

# A feature's crop at 100 %: cut to this many file pixels a side about the box's centre.
CROP_MAX_PX = 320


@dataclass(frozen=True)
class ReviewCrop:
    """One feature at 100 %: ``image_rgb`` the file's pixels with the focus mask painted,
    ``state`` its verdict (sharp / softening / soft / uncertain; None: not judged)."""

    title: str
    state: str | None
    image_rgb: np.ndarray
    window_px: tuple[int, int, int, int]  # (x0, y0, width, height) of the crop in the file


@dataclass(frozen=True)
class ShotReview:
    """A shot to look at: its file, the overall verdict and why, each feature's crop."""

    path: Path
    verdict: str | None
    text: str
    crops: tuple[ReviewCrop, ...]
    problem: str | None = None  # why there are no crops (a RAW, an unreadable file)


def crop_window(picture_size_px: tuple[int, int], found_px: tuple[float, float], box_size_px: tuple[float, float],
                max_px: int = CROP_MAX_PX) -> tuple[int, int, int, int]:
    """(x0, y0, width, height) of the 100 % crop of a box whose top-left corner is at
    ``found_px``: the box, cut to ``max_px`` a side about its centre, kept inside the picture."""
    width, height = picture_size_px
    x, y = found_px
    w, h = box_size_px
    cw, ch = int(min(w, max_px, width)), int(min(h, max_px, height))
    x0 = int(round(x + (w - cw) / 2))
    y0 = int(round(y + (h - ch) / 2))
    return max(0, min(x0, width - cw)), max(0, min(y0, height - ch)), cw, ch


def review_shot(path: Path, verdict: str | None, text: str,
                boxes: list[tuple[tuple[float, float, float, float], str | None, str]],
                peaking: PeakingSettings | None = None, picture_bgr: np.ndarray | None = None) -> ShotReview:
    """The review of the picture at ``path`` (or ``picture_bgr`` when already decoded):
    ``boxes`` are (x, y, w, h in the file's pixels, state, title), one per feature."""
    path = Path(path)
    if picture_bgr is None:
        try:
            picture_bgr = read_image_file(path, path.name)
        except FrameSizeError as error:
            return ShotReview(path, verdict, text, (), f"{path.name} is not shown: {error}")
        except (CorruptFrameError, OSError):
            return ShotReview(path, verdict, text, (), f"{path.name} is not a picture focuslock reads "
                                                       "(JPEG, PNG, TIFF; not RAW): nothing to show at 100 %.")
    rgb = cv2.cvtColor(picture_bgr, cv2.COLOR_BGR2RGB) if picture_bgr.ndim == 3 else cv2.cvtColor(picture_bgr, cv2.COLOR_GRAY2RGB)
    height, width = rgb.shape[:2]
    settings = peaking or PeakingSettings()
    crops = []
    for (x, y, w, h), state, title in boxes:
        x0, y0, cw, ch = crop_window((width, height), (x, y), (w, h))
        crop = np.ascontiguousarray(rgb[y0:y0 + ch, x0:x0 + cw])
        if crop.shape[0] < 3 or crop.shape[1] < 3:
            continue
        masked = paint_peaking(crop, compute_peaking(crop, settings), settings)
        crops.append(ReviewCrop(title, state, masked, (x0, y0, cw, ch)))
    return ShotReview(path, verdict, text, tuple(crops))
