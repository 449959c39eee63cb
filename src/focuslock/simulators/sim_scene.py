"""The simulated bench's scene: a tilted printed target, a coin and a water droplet.

Everything is defined in millimetres at the subject and drawn procedurally at the
resolution asked for, so that live view (1024 px wide) and a full-resolution capture
(6000 px wide) show the same scene. Nothing is downloaded or read from disk.

Geometry (orthographic, which is close enough at macro working distances)::

    view:   X right, Y down, in mm at the subject, (0, 0) at the frame centre
    depth:  Z, distance from the lens's front principal plane, in mm
    target: a plane through (0, 0, s0) tilted about the X axis by ``tilt_deg``,
            the top of the frame farther away. Plane coordinates (u, v):
            X = u, Y = v·cosθ, Z = s0 − v·sinθ
    raised: a point at height h above the plane moves by h along the plane's normal
            n = (0, −sinθ, −cosθ) (towards the camera).

A :class:`Layer` is one depth layer: premultiplied RGBA and a depth map over a box of
the view. The renderer blurs each layer by its own depth and composites back to front.
"""

from __future__ import annotations

import collections
import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.simulators.sim_target import PlaneCanvas, downsampled, draw_coin_face, draw_target

__all__ = ["Layer", "SceneSpec", "ViewGrid", "build_layers", "cached_layers"]


@dataclass(frozen=True)
class SceneSpec:
    """What lies on the bench. Sizes in mm at the subject."""

    tilt_deg: float = 35.0
    coin: bool = True
    coin_centre_mm: tuple[float, float] = (9.0, 2.0)  # (u, v) on the target plane
    coin_diameter_mm: float = 16.25  # a euro cent
    coin_thickness_mm: float = 1.67
    droplet: bool = True
    droplet_centre_mm: tuple[float, float] = (-16.0, -6.0)
    droplet_radius_mm: float = 2.6
    droplet_height_mm: float = 1.6
    seed: int = 7


@dataclass(frozen=True)
class ViewGrid:
    """The pixel grid a view is rendered on: ``width_px`` × ``height_px`` covering a
    ``mm_per_px`` square pitch at the subject, centred on (centre_x_mm, centre_y_mm)."""

    width_px: int
    height_px: int
    mm_per_px: float
    centre_x_mm: float = 0.0
    centre_y_mm: float = 0.0

    def xy_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """X of every column (1-D) and Y of every row (1-D), in mm."""
        x = (np.arange(self.width_px, dtype=np.float32) + 0.5 - self.width_px / 2) * self.mm_per_px + self.centre_x_mm
        y = (np.arange(self.height_px, dtype=np.float32) + 0.5 - self.height_px / 2) * self.mm_per_px + self.centre_y_mm
        return x, y

    def to_px(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        col = (x_mm - self.centre_x_mm) / self.mm_per_px + self.width_px / 2 - 0.5
        row = (y_mm - self.centre_y_mm) / self.mm_per_px + self.height_px / 2 - 0.5
        return col, row


@dataclass
class Layer:
    """One depth layer over the box ``rows`` × ``cols`` of the view.

    ``pixels`` is uint8 BGR (H, W, 3) for the opaque background, premultiplied BGRA
    (H, W, 4) for objects in front. ``depth_mm`` is the distance from the lens of every
    pixel (float32), shape (H, W), or (H, 1) where depth changes only from row to row;
    it is defined smoothly beyond an object's edge so that its blurred rim has a blur.
    """

    name: str
    pixels: np.ndarray
    depth_mm: np.ndarray
    row0: int
    col0: int

    @property
    def rows(self) -> slice:
        return slice(self.row0, self.row0 + self.pixels.shape[0])

    @property
    def cols(self) -> slice:
        return slice(self.col0, self.col0 + self.pixels.shape[1])

    @property
    def coverage(self) -> np.ndarray:
        """0–255 coverage of every pixel of the box (255 everywhere for the background)."""
        if self.pixels.shape[2] == 3:
            return np.full(self.pixels.shape[:2], 255, np.uint8)
        return self.pixels[..., 3]

    def full_depth_mm(self) -> np.ndarray:
        return np.broadcast_to(self.depth_mm, self.pixels.shape[:2])


# ----------------------------------------------------------------------------- layers
def _plane_to_view(canvas: PlaneCanvas, grid: ViewGrid, tilt_rad: float, y_shift_mm: float, image: np.ndarray,
                   box: tuple[int, int, int, int], interpolation: int, oversample: int = 2) -> np.ndarray:
    """Resample a plane-canvas image onto the view box (rows r0:r1, cols c0:c1).

    A view pixel at (X, Y) shows the plane point u = X, v = (Y − y_shift)/cosθ. The
    tilt compresses the plane vertically; sampling each view pixel at ``oversample``²
    points and averaging them keeps that compression from aliasing fine print into
    false detail (a camera's pixel integrates its area too).
    """
    r0, r1, c0, c1 = box
    x_mm, y_mm = grid.xy_mm()
    step = grid.mm_per_px / oversample
    offsets = (np.arange(oversample, dtype=np.float32) + 0.5) * step - grid.mm_per_px / 2
    xs = (x_mm[c0:c1, None] + offsets[None, :]).reshape(-1)
    ys = (y_mm[r0:r1, None] + offsets[None, :]).reshape(-1)
    map_x = ((xs - canvas.u0) * canvas.px_per_mm - 0.5).astype(np.float32)
    map_y = (((ys - y_shift_mm) / math.cos(tilt_rad) - canvas.v0) * canvas.px_per_mm - 0.5).astype(np.float32)
    grid_x = np.ascontiguousarray(np.broadcast_to(map_x[None, :], (ys.size, xs.size)))
    grid_y = np.ascontiguousarray(np.broadcast_to(map_y[:, None], (ys.size, xs.size)))
    fine = cv2.remap(image, grid_x, grid_y, interpolation, borderMode=cv2.BORDER_REFLECT)
    if oversample == 1:
        return fine
    return cv2.resize(fine, (c1 - c0, r1 - r0), interpolation=cv2.INTER_AREA)


def _supersampled(grid: ViewGrid) -> float:
    # Draw the plane at twice the view's pixel density for live view sizes (anti-aliased
    # like a camera's downscaled live view); once is enough for full-size captures.
    return 2.0 if grid.width_px <= 2400 else 1.0


def _box_around(grid: ViewGrid, centre_xy_mm: tuple[float, float], half_extent_mm: float) -> tuple[int, int, int, int]:
    col, row = grid.to_px(*centre_xy_mm)
    half = half_extent_mm / grid.mm_per_px
    r0, r1 = max(0, int(row - half)), min(grid.height_px, int(math.ceil(row + half)) + 1)
    c0, c1 = max(0, int(col - half)), min(grid.width_px, int(math.ceil(col + half)) + 1)
    return r0, r1, c0, c1


# Views drawn recently, shared by every bench in the process: a reconnect, a second
# bench on the same scene (each CLI command in one process, the tests) or a small
# capture reuses the drawing instead of spending most of a second on it again. Views of
# more than LAYER_CACHE_MAX_PX pixels are not kept (a full-size capture: ~250 MB).
LAYER_CACHE_ENTRIES = 4
LAYER_CACHE_MAX_PX = 2_500_000
_layer_cache: collections.OrderedDict[tuple, list[Layer]] = collections.OrderedDict()
_layer_cache_lock = threading.Lock()


# OpenCV's remap and warps take images under 32767 pixels a side (SHRT_MAX): a plane drawn
# finer than that is refused before it is drawn.
MAX_CANVAS_PX = 32000


class SceneTooFineError(FocuslockError):
    """The view's pixels are too fine for the bench to draw its scene; one sentence."""


def _drawable(canvas: PlaneCanvas, what: str, grid: ViewGrid) -> PlaneCanvas:
    if max(canvas.width_px, canvas.height_px) > MAX_CANVAS_PX:
        raise SceneTooFineError(f"The simulated bench cannot draw {what} at {grid.mm_per_px * 1000:.2f} µm per pixel "
                                f"(it would take {canvas.width_px}×{canvas.height_px} px, at most {MAX_CANVAS_PX} a side).")
    return canvas


def cached_layers(spec: SceneSpec, grid: ViewGrid, subject_distance_mm: float, blur_margin_mm: float) -> list[Layer]:
    """:func:`build_layers`, drawn once per view and kept (read-only) for the next ask."""
    if grid.width_px * grid.height_px > LAYER_CACHE_MAX_PX:
        return build_layers(spec, grid, subject_distance_mm, blur_margin_mm)
    key = (spec, grid, float(subject_distance_mm), float(blur_margin_mm))
    with _layer_cache_lock:
        layers = _layer_cache.get(key)
        if layers is not None:
            _layer_cache.move_to_end(key)
            return layers
    layers = build_layers(spec, grid, subject_distance_mm, blur_margin_mm)
    for layer in layers:  # shared between benches: nobody may draw on them
        layer.pixels.flags.writeable = False
        layer.depth_mm.flags.writeable = False
    with _layer_cache_lock:
        _layer_cache[key] = layers
        while len(_layer_cache) > LAYER_CACHE_ENTRIES:
            _layer_cache.popitem(last=False)
    return layers


def build_layers(spec: SceneSpec, grid: ViewGrid, subject_distance_mm: float, blur_margin_mm: float) -> list[Layer]:
    """The scene's depth layers for one view, back to front.

    ``blur_margin_mm`` widens the boxes of raised objects so that their blurred rims fit.
    """
    tilt = math.radians(spec.tilt_deg)
    sin_t, cos_t = math.sin(tilt), math.cos(tilt)
    x_mm, y_mm = grid.xy_mm()
    ss = _supersampled(grid)
    px_per_mm = ss / grid.mm_per_px
    half_w = grid.width_px * grid.mm_per_px / 2
    half_h = grid.height_px * grid.mm_per_px / 2
    u_range = (grid.centre_x_mm - half_w - 1.0, grid.centre_x_mm + half_w + 1.0)
    v_range = ((grid.centre_y_mm - half_h) / cos_t - 3.0, (grid.centre_y_mm + half_h) / cos_t + 3.0)

    # The printed target, drawn supersampled over the view's part of the page, averaged
    # down to the view's pixel density, then resampled onto the (tilted) view.
    canvas = _drawable(PlaneCanvas(u_range, v_range, px_per_mm), "its printed target", grid)
    target = draw_target(canvas, spec.seed)
    canvas = downsampled(canvas, ss)
    if ss > 1:
        target = cv2.resize(target, (canvas.width_px, canvas.height_px), interpolation=cv2.INTER_AREA)
    full_box = (0, grid.height_px, 0, grid.width_px)
    target_bgr = _plane_to_view(canvas, grid, tilt, 0.0, target, full_box, cv2.INTER_LINEAR)
    depth = (subject_distance_mm - y_mm[:, None] * math.tan(tilt)).astype(np.float32)
    layers: list[Layer | None] = [Layer("target", np.ascontiguousarray(target_bgr), depth, 0, 0)]

    if spec.coin:
        layers.append(_coin_layer(spec, grid, subject_distance_mm, blur_margin_mm, px_per_mm, ss, sin_t, cos_t))
    if spec.droplet:
        layers.append(_droplet_layer(spec, grid, subject_distance_mm, blur_margin_mm, target_bgr, sin_t, cos_t))
    # At high magnification the view is a few mm across: an object outside it has no layer.
    return [layer for layer in layers if layer is not None]



def _coin_layer(spec: SceneSpec, grid: ViewGrid, s0: float, margin_mm: float, px_per_mm: float, ss: float,
                sin_t: float, cos_t: float) -> Layer | None:
    cu, cv = spec.coin_centre_mm
    radius = spec.coin_diameter_mm / 2
    thickness = spec.coin_thickness_mm
    # The raised face shows shifted up the frame by thickness·sinθ.
    y_shift = -thickness * sin_t
    centre_xy = (cu, cv * cos_t + y_shift)
    box = _box_around(grid, centre_xy, radius + margin_mm)
    r0, r1, c0, c1 = box
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None  # the coin lies outside this view
    canvas = _drawable(PlaneCanvas((cu - radius - 1, cu + radius + 1), (cv - radius - 1, cv + radius + 1), px_per_mm),
                       "its coin", grid)
    face, coverage = draw_coin_face(canvas, spec)
    canvas = downsampled(canvas, ss)
    if ss > 1:
        face = cv2.resize(face, (canvas.width_px, canvas.height_px), interpolation=cv2.INTER_AREA)
        coverage = cv2.resize(coverage, (canvas.width_px, canvas.height_px), interpolation=cv2.INTER_AREA)
    tilt = math.atan2(sin_t, cos_t)
    view_face = _plane_to_view(canvas, grid, tilt, y_shift, face, box, cv2.INTER_LINEAR)
    view_alpha = _plane_to_view(canvas, grid, tilt, y_shift, coverage, box, cv2.INTER_LINEAR)
    # Outside the canvas, remap reflects the border; coverage there must be zero.
    x_mm, y_mm = grid.xy_mm()
    uu = x_mm[c0:c1][None, :]
    vv = ((y_mm[r0:r1] - y_shift) / cos_t)[:, None]
    outside = (np.abs(uu - cu) > radius + 0.5) | (np.abs(vv - cv) > radius + 0.5)
    view_alpha = np.where(outside, 0.0, view_alpha).astype(np.float32)
    rgba = _premultiply(view_face, view_alpha)
    # Depth of the face plane, extended beyond the rim so the blurred edge is defined.
    depth = (s0 - vv[:, :1] * sin_t - thickness * cos_t).astype(np.float32)  # (H, 1)
    return Layer("coin", rgba, depth, r0, c0)


def _droplet_layer(spec: SceneSpec, grid: ViewGrid, s0: float, margin_mm: float, target_bgr: np.ndarray,
                   sin_t: float, cos_t: float) -> Layer | None:
    du, dv = spec.droplet_centre_mm
    radius, cap_height = spec.droplet_radius_mm, spec.droplet_height_mm
    box = _box_around(grid, (du, dv * cos_t), radius + margin_mm)
    r0, r1, c0, c1 = box
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None  # the droplet lies outside this view
    x_mm, y_mm = grid.xy_mm()
    uu = x_mm[c0:c1][None, :].astype(np.float32)
    # First guess of the plane point under each pixel, then one correction for the
    # drop's height moving its surface along the normal.
    vv: np.ndarray = (y_mm[r0:r1] / cos_t)[:, None].astype(np.float32)
    sphere_r = (radius**2 + cap_height**2) / (2 * cap_height)

    def height_at(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rho2 = (u - du) ** 2 + (v - dv) ** 2
        h = np.sqrt(np.maximum(sphere_r**2 - rho2, 0.0)) - (sphere_r - cap_height)
        return np.maximum(h, 0.0)

    h0 = height_at(uu, vv)
    vv = vv + (h0 * sin_t / cos_t)
    height = height_at(uu, vv)
    rho = np.sqrt((uu - du) ** 2 + (vv - dv) ** 2) / radius
    px_mm = grid.mm_per_px
    alpha = np.clip((1.0 - rho) * radius / px_mm + 0.5, 0.0, 1.0).astype(np.float32)

    # What shows through: the target under the drop, magnified (a water lens) and
    # darkened towards the rim where the surface reflects the dark surroundings.
    centre_col, centre_row = grid.to_px(du, dv * cos_t)
    cols = np.arange(c0, c1, dtype=np.float32)[None, :]
    rows = np.arange(r0, r1, dtype=np.float32)[:, None]
    magnify = 0.55 + 0.25 * np.clip(rho, 0, 1) ** 2
    map_x = np.ascontiguousarray(np.broadcast_to(centre_col + (cols - centre_col) * magnify, alpha.shape)).astype(np.float32)
    map_y = np.ascontiguousarray(np.broadcast_to(centre_row + (rows - centre_row) * magnify, alpha.shape)).astype(np.float32)
    seen = cv2.remap(target_bgr, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    rim = np.clip(1.0 - 0.75 * np.clip(rho, 0, 1) ** 6, 0.2, 1.0)
    water = seen * (0.92 * rim)[..., None] + np.array([18, 10, 4], np.float32)
    # A softbox reflected in the drop: a bright window with a cross bar, sharp-edged.
    win_u, win_v = du - radius * 0.35, dv - radius * 0.38
    in_window = (np.abs(uu - win_u) < radius * 0.20) & (np.abs(vv - win_v) < radius * 0.14)
    bar = (np.abs(uu - win_u) < radius * 0.025) | (np.abs(vv - win_v) < radius * 0.02)
    highlight = (in_window & ~bar & (rho < 0.95)).astype(np.float32)
    highlight = cv2.GaussianBlur(highlight, (0, 0), 0.35)  # anti-aliased edges
    water = water * (1 - highlight[..., None]) + 250.0 * highlight[..., None]
    rgba = _premultiply(np.clip(water, 0, 255).astype(np.uint8), alpha)
    depth = (s0 - vv * sin_t - height * cos_t).astype(np.float32)
    return Layer("droplet", rgba, depth, r0, c0)


def _premultiply(bgr: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    premultiplied = (bgr.astype(np.float32) * alpha[..., None] + 0.5).astype(np.uint8)
    return np.dstack([premultiplied, (alpha * 255 + 0.5).astype(np.uint8)])
