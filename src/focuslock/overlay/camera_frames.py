"""The camera's own AF point and zoom frame, drawn beside focuslock's box: a thin dashed
outline (light blue on black) with a small label ("camera AF", "camera zoom"), only where the body says where
it is (``FrameInfo.camera_af_box_px`` / ``camera_zoom_box_px``); never at a guessed place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from focuslock.core.frames import FrameInfo

__all__ = ["CAMERA_FRAME_RGB", "draw_camera_frames"]

# Light blue: none of the lock's state colours, peaking's usual red/yellow or the zebras' magenta.
CAMERA_FRAME_RGB = (90, 180, 255)
_DASH_PX = 6


def draw_camera_frames(out: np.ndarray, metadata: Mapping[str, Any] | None, scale: float = 1.0) -> None:
    """Draw into ``out`` (the frame shown at ``scale``) the camera's AF point and zoom
    frame its ``metadata`` reports; nothing when it reports none."""
    if not metadata:
        return
    info = FrameInfo.of(metadata)
    for box, label in ((info.camera_zoom_box_px, "camera zoom"), (info.camera_af_box_px, "camera AF")):
        if box is not None:
            _dashed_box(out, tuple(int(round(v * scale)) for v in box), label)


def _dashed_box(out: np.ndarray, box: tuple[int, ...], label: str) -> None:
    x, y, w, h = box
    # Two-tone dashes (light blue on black): unlike peaking, the boxes and the zebras on any picture.
    cv2.rectangle(out, (x, y), (x + w, y + h), (0, 0, 0), 1, cv2.LINE_8)
    corners = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        length = max(abs(x1 - x0), abs(y1 - y0))
        for start in range(0, length, 2 * _DASH_PX):
            end = min(start + _DASH_PX, length)
            a = (x0 + (x1 - x0) * start // max(length, 1), y0 + (y1 - y0) * start // max(length, 1))
            b = (x0 + (x1 - x0) * end // max(length, 1), y0 + (y1 - y0) * end // max(length, 1))
            cv2.line(out, a, b, CAMERA_FRAME_RGB, 1, cv2.LINE_8)
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    ty = y + h + th + 4 if y + h + th + 6 < out.shape[0] else max(th + 2, y - 4)
    cv2.rectangle(out, (x, ty - th - 2), (x + tw + 4, ty + 3), (0, 0, 0), -1)
    cv2.putText(out, label, (x + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.4, CAMERA_FRAME_RGB, 1, cv2.LINE_AA)
