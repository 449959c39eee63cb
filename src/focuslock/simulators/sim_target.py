"""What is drawn on the simulated bench's target plane, in millimetres on the plane
(u right, v down) at any pixel density: the printed page (paper grain, body text, a
millimetre ruler, bar groups, a Siemens star, a checkerboard) and the coin's face.
Nothing is downloaded or read from disk; every pattern is fixed in mm on the page, so
every view (live view, zoomed, a full-size capture) sees the same."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from focuslock.simulators.sim_scene import SceneSpec

__all__ = ["PAGE_MM", "PlaneCanvas", "downsampled", "draw_coin_face", "draw_target"]

# The printed page: every pattern's position and the paper's grain are fixed in mm on
# this page, so any view (live view, zoomed live view, full-size capture) sees the same.
PAGE_MM = (-60.0, 60.0)


def _value_noise(canvas: PlaneCanvas, cell_mm: float, seed: int) -> np.ndarray:
    """Smooth noise in [-1, 1] with features ``cell_mm`` wide, anchored to the page.

    The random lattice covers the whole page and depends only on the cell size and the
    seed; a canvas samples its own part of it at its own resolution.
    """
    cells = int(math.ceil((PAGE_MM[1] - PAGE_MM[0]) / cell_mm)) + 3
    lattice = np.random.default_rng(seed).uniform(-1.0, 1.0, (cells, cells)).astype(np.float32)
    columns = np.arange(canvas.width_px, dtype=np.float64)
    map_x = ((canvas.u0 + (columns + 0.5) / canvas.px_per_mm - PAGE_MM[0]) / cell_mm).astype(np.float32)
    rows = np.arange(canvas.height_px, dtype=np.float64)
    map_y = ((canvas.v0 + (rows + 0.5) / canvas.px_per_mm - PAGE_MM[0]) / cell_mm).astype(np.float32)
    grid_x = np.ascontiguousarray(np.broadcast_to(map_x[None, :], (canvas.height_px, canvas.width_px)))
    grid_y = np.ascontiguousarray(np.broadcast_to(map_y[:, None], (canvas.height_px, canvas.width_px)))
    return cv2.remap(lattice, grid_x, grid_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


class PlaneCanvas:
    """A drawing surface in target-plane millimetres (u right, v down)."""

    def __init__(self, u_range: tuple[float, float], v_range: tuple[float, float], px_per_mm: float) -> None:
        self.u0, self.u1 = u_range
        self.v0, self.v1 = v_range
        self.px_per_mm = px_per_mm
        self.width_px = max(8, int(round((self.u1 - self.u0) * px_per_mm)))
        self.height_px = max(8, int(round((self.v1 - self.v0) * px_per_mm)))

    def pt(self, u_mm: float, v_mm: float) -> tuple[int, int]:
        # cv2 drawing with shift=4 takes fixed-point coordinates: sub-pixel precise lines.
        return (int(round((u_mm - self.u0) * self.px_per_mm * 16)), int(round((v_mm - self.v0) * self.px_per_mm * 16)))

    def px(self, length_mm: float) -> int:
        return max(1, int(round(length_mm * self.px_per_mm)))

    def text(self, image: np.ndarray, text: str, u_mm: float, v_mm: float, height_mm: float, colour,
             stroke_mm: float | None = None) -> None:
        font = cv2.FONT_HERSHEY_SIMPLEX
        (_, base_height), _ = cv2.getTextSize("H", font, 1.0, 1)
        scale = height_mm * self.px_per_mm / base_height
        thickness = self.px(stroke_mm if stroke_mm is not None else height_mm * 0.11)
        org = (int(round((u_mm - self.u0) * self.px_per_mm)), int(round((v_mm - self.v0) * self.px_per_mm)))
        cv2.putText(image, text, org, font, scale, colour, thickness, cv2.LINE_AA)


_WORDS = (
    "FOCUS", "LOCK", "macro", "depth", "field", "aperture", "diffraction", "bellows", "stack",
    "seam", "droplet", "engraved", "letter", "sharp", "soft", "pupil", "ratio", "bench", "rail",
    "Zerene", "Helicon", "tether", "peaking", "loupe", "ghost", "bracket", "lens", "sensor",
)

_INK_BGR = ((25, 22, 20), (150, 40, 30), (30, 30, 160), (40, 110, 40))
_PAPER_BGR = (222, 232, 238)


def draw_target(canvas: PlaneCanvas, seed: int) -> np.ndarray:
    """The printed target over the canvas's part of the page: paper grain, body text,
    a millimetre ruler, bar groups, a Siemens star and a checkerboard."""
    rng = np.random.default_rng(seed)  # layout only, in mm on the page: never pixels
    h, w = canvas.height_px, canvas.width_px
    fibre = (
        0.55 * _value_noise(canvas, 2.0, seed + 1)
        + 0.30 * _value_noise(canvas, 0.45, seed + 2)
        + 0.25 * _value_noise(canvas, 0.11, seed + 3)
    )
    image = np.empty((h, w, 3), np.uint8)
    for channel, base in enumerate(_PAPER_BGR):
        image[..., channel] = np.clip(base + 14.0 * fibre, 0, 255).astype(np.uint8)

    def visible(u0: float, v0: float, u1: float, v1: float) -> bool:
        return u1 >= canvas.u0 and u0 <= canvas.u1 and v1 >= canvas.v0 and v0 <= canvas.v1

    # Body text flowing over the whole page; every random draw happens whether or not
    # the word is visible, so the layout is the same for every view.
    v = PAGE_MM[0] + 2.0
    while v < PAGE_MM[1]:
        height_mm = float(rng.choice([0.7, 0.9, 1.2, 1.6, 2.2]))
        ink = _INK_BGR[int(rng.integers(0, len(_INK_BGR)))]
        u = PAGE_MM[0] + float(rng.uniform(0.5, 3.0))
        while u < PAGE_MM[1]:
            word = _WORDS[int(rng.integers(0, len(_WORDS)))]
            advance = (len(word) + 1.2) * height_mm * 0.95
            if visible(u, v - height_mm, u + advance, v + 0.3 * height_mm):
                canvas.text(image, word, u, v, height_mm, ink)
            u += advance
        v += height_mm * 1.9

    def panel(u0: float, v0: float, u1: float, v1: float) -> None:
        # Clear paper under a calibrated pattern so that it reads on top of the text.
        cv2.rectangle(image, canvas.pt(u0, v0), canvas.pt(u1, v1), _PAPER_BGR, -1, cv2.LINE_AA, 4)

    # A millimetre ruler: read off where the in-focus band lies.
    ruler_u = -24.0
    panel(ruler_u - 0.6, PAGE_MM[0], ruler_u + 6.0, PAGE_MM[1])
    for mm in range(int(max(PAGE_MM[0], canvas.v0 - 3)), int(min(PAGE_MM[1], canvas.v1 + 3)) + 1):
        length = 2.4 if mm % 10 == 0 else 1.6 if mm % 5 == 0 else 1.0
        cv2.line(image, canvas.pt(ruler_u, mm), canvas.pt(ruler_u + length, mm), _INK_BGR[0], canvas.px(0.08), cv2.LINE_AA, 4)
        if mm % 5 == 0:
            canvas.text(image, str(mm), ruler_u + 2.8, mm + 0.45, 1.0, _INK_BGR[0])
    cv2.line(image, canvas.pt(ruler_u, PAGE_MM[0]), canvas.pt(ruler_u, PAGE_MM[1]), _INK_BGR[0], canvas.px(0.08), cv2.LINE_AA, 4)

    # Bar groups (line pairs) at several periods, like a resolution chart.
    bars_u = 20.0
    for row, period_mm in enumerate((0.16, 0.25, 0.4, 0.63, 1.0)):
        v_top = -24.0 + row * 4.0
        panel(bars_u - 0.5, v_top - 0.5, bars_u + 10.5, v_top + 3.5)
        u_left = bars_u
        while u_left + period_mm <= bars_u + 10.0:
            cv2.rectangle(image, canvas.pt(u_left, v_top), canvas.pt(u_left + period_mm, v_top + 3.0), _INK_BGR[0], -1, cv2.LINE_AA, 4)
            u_left += 2 * period_mm

    # A Siemens star.
    star_u, star_v, radius = 26.0, 18.0, 5.0
    panel(star_u - radius - 0.5, star_v - radius - 0.5, star_u + radius + 0.5, star_v + radius + 0.5)
    spokes = 36
    for i in range(spokes):
        a0 = 2 * math.pi * i / spokes
        a1 = a0 + math.pi / spokes
        points = np.array([canvas.pt(star_u, star_v), canvas.pt(star_u + radius * math.cos(a0), star_v + radius * math.sin(a0)),
                           canvas.pt(star_u + radius * math.cos(a1), star_v + radius * math.sin(a1))], np.int32)
        cv2.fillConvexPoly(image, points, _INK_BGR[0], cv2.LINE_AA, 4)

    # A blue checkerboard of 0.5 mm squares.
    check_u, check_v, check_mm = -10.0, 12.0, 0.5
    panel(check_u - 0.3, check_v - 0.3, check_u + 12 * check_mm + 0.3, check_v + 12 * check_mm + 0.3)
    for i in range(12):
        for j in range(12):
            if (i + j) % 2 == 0:
                cv2.rectangle(image, canvas.pt(check_u + i * check_mm, check_v + j * check_mm),
                              canvas.pt(check_u + (i + 1) * check_mm, check_v + (j + 1) * check_mm), _INK_BGR[2], -1, cv2.LINE_AA, 4)
    return image


def draw_coin_face(canvas: PlaneCanvas, spec: SceneSpec) -> tuple[np.ndarray, np.ndarray]:
    """The coin's face (BGR) and its coverage (float32 0–1), in the canvas's plane mm.

    Copper with a brushed grain, a raised rim, a large numeral and engraved letters
    around the rim: the detail a product shooter would lock focus on.
    """
    h, w = canvas.height_px, canvas.width_px
    cu, cv = spec.coin_centre_mm
    radius = spec.coin_diameter_mm / 2
    relief = np.zeros((h, w), np.uint8)  # 255 = raised
    cv2.circle(relief, canvas.pt(cu, cv), int(round(radius * canvas.px_per_mm * 16)), 60, -1, cv2.LINE_AA, 4)
    cv2.circle(relief, canvas.pt(cu, cv), int(round(radius * 0.93 * canvas.px_per_mm * 16)), 255, canvas.px(0.45), cv2.LINE_AA, 4)
    canvas.text(relief, "5", cu - 2.6, cv + 3.4, 7.0, 255, stroke_mm=0.9)
    canvas.text(relief, "EURO CENT", cu - 3.2, cv + 5.6, 0.9, 255, stroke_mm=0.12)
    letters = "FOCUSLOCK * 2026 * MACRO * "
    for i, letter in enumerate(letters):
        angle = -math.pi / 2 + 2 * math.pi * i / len(letters)
        lu = cu + radius * 0.80 * math.cos(angle) - 0.35
        lv = cv + radius * 0.80 * math.sin(angle) + 0.4
        canvas.text(relief, letter, lu, lv, 0.85, 255, stroke_mm=0.11)
    grain = _value_noise(canvas, 0.07, spec.seed + 11) * 0.5 + _value_noise(canvas, 0.6, spec.seed + 12) * 0.5
    height = relief.astype(np.float32) / 255.0 + 0.04 * grain
    # Light from the top left: relief shows as highlights and shadows.
    slope_u = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) * canvas.px_per_mm / 60.0
    slope_v = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) * canvas.px_per_mm / 60.0
    shade = np.clip(1.0 - 0.9 * (slope_u + slope_v), 0.25, 1.8)
    copper = np.array([70, 120, 190], np.float32)  # BGR
    face = np.clip(copper[None, None, :] * shade[..., None] * (0.85 + 0.3 * height[..., None]), 0, 255).astype(np.uint8)
    coverage = np.zeros((h, w), np.uint8)
    cv2.circle(coverage, canvas.pt(cu, cv), int(round(radius * canvas.px_per_mm * 16)), 255, -1, cv2.LINE_AA, 4)
    return face, coverage.astype(np.float32) / 255.0


def downsampled(canvas: PlaneCanvas, factor: float) -> PlaneCanvas:
    """The same plane window at 1/factor of the pixel density."""
    if factor == 1:
        return canvas
    smaller = PlaneCanvas((canvas.u0, canvas.u1), (canvas.v0, canvas.v1), canvas.px_per_mm / factor)
    smaller.width_px = int(round(canvas.width_px / factor))
    smaller.height_px = int(round(canvas.height_px / factor))
    return smaller
