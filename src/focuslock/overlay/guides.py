"""The framing guides drawn over a picture, each in place on ``out``: the thirds grid,
the centre mark, an aspect ratio's crop, the broadcast safe areas and the histogram."""

from __future__ import annotations

import cv2
import numpy as np

from focuslock.overlay.hud import darken

__all__ = ["draw_aspect_guide", "draw_centre_mark", "draw_grid", "draw_histogram", "draw_safe_areas"]


def draw_grid(out: np.ndarray) -> None:
    """The rule-of-thirds grid, drawn on ``out``."""
    height, width = out.shape[:2]
    for i in (1, 2):
        x, y = width * i // 3, height * i // 3
        cv2.line(out, (x, 0), (x, height), (230, 230, 230), 1, cv2.LINE_AA)
        cv2.line(out, (0, y), (width, y), (230, 230, 230), 1, cv2.LINE_AA)


def draw_centre_mark(out: np.ndarray) -> None:
    """A cross at the frame's centre, drawn on ``out``."""
    height, width = out.shape[:2]
    arm = max(10, min(height, width) // 40)
    cx, cy = width // 2, height // 2
    cv2.line(out, (cx - arm, cy), (cx + arm, cy), (255, 255, 255), 2, cv2.LINE_AA)
    cv2.line(out, (cx, cy - arm), (cx, cy + arm), (255, 255, 255), 2, cv2.LINE_AA)


def draw_aspect_guide(out: np.ndarray, aspect: float | None) -> None:
    """Darken what a crop to ``aspect`` (width/height) would cut."""
    if aspect is None:
        return
    height, width = out.shape[:2]
    if width / height > aspect:
        keep = int(round(height * aspect))
        margin = (width - keep) // 2
        darken(out, 0, height, 0, margin, 0.35)
        darken(out, 0, height, margin + keep, width, 0.35)
        cv2.rectangle(out, (margin, 0), (margin + keep - 1, height - 1), (255, 255, 255), 1)
    else:
        keep = int(round(width / aspect))
        margin = (height - keep) // 2
        darken(out, 0, margin, 0, width, 0.35)
        darken(out, margin + keep, height, 0, width, 0.35)
        cv2.rectangle(out, (0, margin), (width - 1, margin + keep - 1), (255, 255, 255), 1)


def draw_safe_areas(out: np.ndarray) -> None:
    """Action safe (93 %) and title safe (90 %), as broadcast monitors show them."""
    height, width = out.shape[:2]
    for share, colour in ((0.93, (200, 200, 200)), (0.90, (255, 220, 120))):
        dx, dy = int(width * (1 - share) / 2), int(height * (1 - share) / 2)
        cv2.rectangle(out, (dx, dy), (width - dx, height - dy), colour, 1, cv2.LINE_AA)


def draw_histogram(out: np.ndarray, image: np.ndarray, mode: str) -> None:
    """The histogram of ``image`` (``mode`` "luma": its grey levels, else each colour channel),
    drawn at the bottom left of ``out``."""
    height, width = out.shape[:2]
    graph_w, graph_h = 256, max(60, height // 8)
    x0, y0 = 10, height - graph_h - 10
    darken(out, y0, y0 + graph_h, x0, x0 + graph_w, 0.25)
    sample = image[::4, ::4]
    channels = [(cv2.cvtColor(np.ascontiguousarray(sample), cv2.COLOR_RGB2GRAY), (235, 235, 235))] if mode == "luma" else \
        [(np.ascontiguousarray(sample[..., i]), colour) for i, colour in enumerate(((255, 70, 70), (70, 255, 70), (90, 140, 255)))]
    for plane, colour in channels:
        counts = cv2.calcHist([plane], [0], None, [256], [0, 256]).ravel()
        counts = np.sqrt(counts / max(counts.max(), 1.0))  # square root: small peaks stay visible
        points = np.stack([x0 + np.arange(256), y0 + graph_h - 1 - counts * (graph_h - 2)], axis=1).astype(np.int32)
        cv2.polylines(out, [points.reshape(-1, 1, 2)], False, colour, 1, cv2.LINE_AA)
