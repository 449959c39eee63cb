"""A shot's two previews for the studio's hub: the picture reduced to a thumbnail and the
first feature's box at 100 % (``session/review.py``'s crop window), each a JPEG under a
size the hub's schema bounds (``hub/schema.py``). Made from the picture as it was decoded
to be judged: no second read."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from focuslock.session.records import FeatureVerdict, ShotPreviews
from focuslock.session.review import crop_window

__all__ = ["CROP_BYTES", "THUMBNAIL_BYTES", "shot_previews"]

THUMBNAIL_BYTES = 40 * 1024
CROP_BYTES = 200 * 1024
_THUMBNAIL_PX = 320  # its long side


def _jpeg(image: np.ndarray, most_bytes: int) -> bytes | None:
    """The image as a JPEG of at most ``most_bytes``, the best quality that fits (None: none does)."""
    for quality in (85, 75, 60, 45, 30):
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and encoded.size <= most_bytes:
            return encoded.tobytes()
    return None


def shot_previews(picture_bgr: np.ndarray | None, features: Sequence[FeatureVerdict],
                  features_px: Sequence[Sequence[float]]) -> ShotPreviews:
    """The thumbnail and the 100 % crop of the first feature found (``features``: the
    shot's verdicts; ``features_px``: the setup's boxes, for their sizes); nothing for a
    picture not decoded (a RAW alone)."""
    if picture_bgr is None or picture_bgr.size == 0:
        return ShotPreviews()
    found = next((f for f in features if f.found_px is not None and 0 <= f.feature < len(features_px)), None)
    height, width = picture_bgr.shape[:2]
    scale = min(1.0, _THUMBNAIL_PX / max(width, height))
    small = cv2.resize(picture_bgr, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    crop = None
    if found is not None and found.found_px is not None:
        size = features_px[found.feature]
        x0, y0, cw, ch = crop_window((width, height), found.found_px, (float(size[2]), float(size[3])))
        if cw >= 3 and ch >= 3:
            crop = _jpeg(np.ascontiguousarray(picture_bgr[y0:y0 + ch, x0:x0 + cw]), CROP_BYTES)
    return ShotPreviews(_jpeg(small, THUMBNAIL_BYTES), crop)
