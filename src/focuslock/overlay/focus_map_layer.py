"""The focus map as a peaking mode: each tile of the frame painted by whether it lies within
the depth of field where focus is now (:mod:`focuslock.focus.focus_map`).

Chosen as peaking's display ``"focus-map"`` (the window's D key, ``analyze --overlay
focus-map``). :class:`FocusMapLayer` keeps the map for one renderer (one processing
thread) and starts it again when the frame size, the live-view zoom or the CoC changes,
and whenever the mode is turned off; :func:`paint_focus_map` paints it, with its legend,
in the lock's colours: green less than ½ CoC from the tile's sharpest (SHARP), amber to
the CoC (SOFTENING), red beyond (SOFT); grey hatching where it cannot tell (too little
detail for the noise, or focus has not yet swept through the tile's best focus); nothing
on plain areas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from focuslock.focus.engine import FocusResult
from focuslock.focus.focus_map import FocusMap, FocusMapResult, TileState
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.peaking import FOCUS_MAP_DISPLAY, PeakingSettings
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.overlay.hud import darken

__all__ = ["FocusMapLayer", "FocusMapView", "LEGEND", "LEGEND_TITLE", "NO_LOCK_YET", "TILE_COLOURS_RGB", "paint_focus_map"]

# The tile colours: the lock's own.
TILE_COLOURS_RGB = {TileState.IN_FOCUS: STATE_COLOURS_RGB["sharp"], TileState.EDGE: STATE_COLOURS_RGB["softening"],
                    TileState.OUT: STATE_COLOURS_RGB["soft"]}
HATCH_RGB = STATE_COLOURS_RGB["uncertain"]
# Fill opacity: the colours read at a glance, the picture under them stays readable (one
# blend for all: a second one cost 1.5 ms a 1080p frame).
_FILL_OPACITY = 0.38
_HATCH_PERIOD_PX = 9
# The legend, one row at the bottom right (clear of the HUD, the meter, the histogram and
# analyze's verdict): a title, then (swatch, label) pairs; None is the hatching.
LEGEND_TITLE = "Focus map, blur from each part's sharpest:"
LEGEND = ((TileState.IN_FOCUS, "< 1/2 CoC"), (TileState.EDGE, "1/2 - 1 CoC"), (TileState.OUT, "> 1 CoC"),
          (None, "cannot tell: rack through slowly"))
NO_LOCK_YET = "Focus map: lock a feature (L) - every part is judged against its CoC"


@dataclass(frozen=True)
class FocusMapView:
    """What the layer has to show this frame: the map (None before a lock gave the CoC)
    and, without one, why."""

    result: FocusMapResult | None
    message: str | None = None


class FocusMapLayer:
    """The focus map of one renderer. ``build_budget_ms``: the time a frame may spend on
    new tile references while focus moves, ``still_build_budget_ms`` once it stands still
    (see :class:`~focuslock.focus.focus_map.FocusMap`). ``FocusMapLayer.offline()`` builds
    all that is due on every frame (a take written to a file: no frame budget, and the
    same video every run)."""

    def __init__(self, build_budget_ms: float | None = 3.0, still_build_budget_ms: float | None = 8.0,
                 track_every: int | None = None) -> None:
        self.build_budget_ms = build_budget_ms
        self.still_build_budget_ms = still_build_budget_ms
        self.track_every = track_every
        self.map: FocusMap | None = None
        self._key: tuple | None = None
        self._last: FocusMapView | None = None

    @classmethod
    def offline(cls) -> FocusMapLayer:
        return cls(build_budget_ms=None, still_build_budget_ms=None, track_every=1)

    def update(self, image_rgb: np.ndarray, focus: FocusResult, peaking: PeakingSettings | None,
               metadata: Mapping[str, Any] | None = None, luma: np.ndarray | None = None) -> FocusMapView | None:
        """The map after this frame, or None when the mode is off or peaking hidden
        (``peaking`` None). The map is dropped then: frames it did not see may have turned
        focus, so turning it on again starts it afresh. ``luma``: the frame's grey if at hand."""
        if peaking is None or not peaking.enabled or peaking.display != FOCUS_MAP_DISPLAY:
            self.map = self._key = self._last = None
            return None
        metadata = metadata or {}
        coc_px = focus.lock.coc_px if focus.lock is not None else (self.map.coc_px if self.map is not None else None)
        if coc_px is None:
            return FocusMapView(None, NO_LOCK_YET)
        key = (image_rgb.shape[:2], round(float(coc_px), 6), metadata.get("live_view_zoom"),
               metadata.get("live_view_zoom_origin_px"))
        if key != self._key or self.map is None:
            self._key = key
            self.map = FocusMap(image_rgb.shape, coc_px, build_budget_ms=self.build_budget_ms, track_every=self.track_every,
                                still_build_budget_ms=self.still_build_budget_ms)
        grey = luma if luma is not None and luma.shape == image_rgb.shape[:2] else cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
        sigma = focus.noise_sigma if focus.noise_sigma is not None else single_frame_noise_sigma(grey)
        self._last = FocusMapView(self.map.observe(grey, sigma, metadata.get("drive_position_steps")))
        return self._last


_STRIPES: dict[tuple[int, int], np.ndarray] = {}
# The tile's colour by state code (black: not filled).
_COLOUR_TABLE = np.zeros((256, 3), np.uint8)
for _state, _colour in TILE_COLOURS_RGB.items():
    _COLOUR_TABLE[int(_state)] = _colour
_FILLED = np.isin(np.arange(256), [int(s) for s in TILE_COLOURS_RGB]).astype(np.uint8) * 255
_HATCHED = np.isin(np.arange(256), [int(TileState.CANNOT_TELL), int(TileState.NOT_SEEN)]).astype(np.uint8) * 255


def _stripes(shape: tuple[int, int]) -> np.ndarray:
    """A mask of thin diagonal lines (255) over ``shape``, kept per size."""
    stripes = _STRIPES.get(shape)
    if stripes is None:
        rows, cols = np.indices(shape)
        stripes = np.where((rows + cols) % _HATCH_PERIOD_PX == 0, 255, 0).astype(np.uint8)
        if len(_STRIPES) > 8:
            _STRIPES.clear()
        _STRIPES[shape] = stripes
    return stripes


_MASKS: dict[tuple, tuple] = {}
_PLANES: dict[tuple, np.ndarray] = {}


def _enlarged(small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A grid of tiles (one value per tile) as a picture of ``size`` (w, h): a mask
    repeated whole where each tile is a whole number of pixels (a frame at its own size),
    else resized by the nearest value."""
    rows, cols = small.shape[:2]
    if small.ndim == 2 and size[0] % cols == 0 and size[1] % rows == 0:  # (numpy repeats colours slowly)
        return np.ascontiguousarray(small.repeat(size[1] // rows, axis=0).repeat(size[0] // cols, axis=1))
    return cv2.resize(small, size, interpolation=cv2.INTER_NEAREST)


def _plane(shape: tuple[int, int, int], colour: tuple[int, int, int]) -> np.ndarray:
    """A constant picture of one colour, kept per size (numpy fills three channels slowly)."""
    key = (shape, colour)
    plane = _PLANES.get(key)
    if plane is None:
        plane = cv2.merge([np.full(shape[:2], c, np.uint8) for c in colour])
        if len(_PLANES) > 8:
            _PLANES.clear()
        _PLANES[key] = plane
    return plane


def _masks(grid: np.ndarray, size: tuple[int, int]) -> tuple:
    """(fill mask or None, colours, hatch mask or None) of a state grid enlarged to
    ``size``. Kept while the states repeat (a share of the tiles is read each frame)."""
    key = (grid.tobytes(), grid.shape, size)
    masks = _MASKS.get(key)
    if masks is None:
        filled = _enlarged(_FILLED[grid], size)
        hatch = cv2.bitwise_and(_enlarged(_HATCHED[grid], size), _stripes((size[1], size[0])))
        masks = (filled if cv2.countNonZero(filled) else None, _enlarged(_COLOUR_TABLE[grid], size),
                 hatch if cv2.countNonZero(hatch) else None)
        _MASKS.clear()  # one map is shown at a time
        _MASKS[key] = masks
    return masks


def paint_focus_map(out: np.ndarray, view: FocusMapView) -> None:
    """Paint ``view`` into ``out`` (the frame as shown, at any scale) with its legend."""
    result = view.result
    if result is None:
        _legend(out, view.message or NO_LOCK_YET)
        return
    scale = out.shape[1] / result.frame_shape[1]
    boxes = result.boxes_px
    # The tiles form a grid: paint it as a small picture of states, enlarged.
    x0, y0 = int(boxes[:, 0].min()), int(boxes[:, 1].min())
    tile = int(boxes[0, 2])
    cols = int((boxes[:, 0].max() - x0) // tile + 1)
    rows = int((boxes[:, 1].max() - y0) // tile + 1)
    grid = np.zeros((rows, cols), np.uint8)
    grid[(boxes[:, 1] - y0) // tile, (boxes[:, 0] - x0) // tile] = result.states
    left, top = int(round(x0 * scale)), int(round(y0 * scale))
    right = min(int(round((x0 + cols * tile) * scale)), out.shape[1])
    bottom = min(int(round((y0 + rows * tile) * scale)), out.shape[0])
    if right <= left or bottom <= top:
        return
    size = (right - left, bottom - top)
    region = out[top:bottom, left:right]
    filled, colours, hatch = _masks(grid, size)
    if filled is not None:
        cv2.copyTo(cv2.addWeighted(region, 1.0 - _FILL_OPACITY, colours, _FILL_OPACITY, 0.0), filled, region)
    if hatch is not None:
        cv2.copyTo(_plane(region.shape, HATCH_RGB), hatch, region)
    _legend(out, LEGEND_TITLE, LEGEND)


def _legend(out: np.ndarray, title: str, items=()) -> None:
    """The legend in one row at the bottom right: ``title``, then a swatch (or hatching) and
    a label per item."""
    height, width = out.shape[:2]
    scale = max(0.4, height / 1250.0)
    thickness = max(1, int(round(scale * 1.5)))
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_, text_h), _ = cv2.getTextSize("Hg", font, scale, thickness)
    swatch = text_h + 4
    pad = max(4, swatch // 2)
    pieces = [(None, title, cv2.getTextSize(title, font, scale, thickness)[0][0], False)]
    pieces += [(state, label, cv2.getTextSize(label, font, scale, thickness)[0][0], True) for state, label in items]
    panel_w = sum(w + (swatch + pad // 2 if has_swatch else 0) + pad for _, _, w, has_swatch in pieces) + pad
    panel_h = swatch + 2 * pad
    x1, y1 = width - pad, height - pad
    x0, y0 = max(0, x1 - panel_w), max(0, y1 - panel_h)
    darken(out, y0, y1, x0, x1, 0.3)
    x, top = x0 + pad, y0 + pad
    for state, label, text_w, has_swatch in pieces:
        if has_swatch:
            if state is None:
                cell = out[top : top + swatch, x : x + swatch]
                cell[_stripes(cell.shape[:2]) > 0] = HATCH_RGB
                cv2.rectangle(out, (x, top), (x + swatch - 1, top + swatch - 1), HATCH_RGB, 1)
            else:
                cv2.rectangle(out, (x, top), (x + swatch - 1, top + swatch - 1), TILE_COLOURS_RGB[state], -1)
            x += swatch + pad // 2
        cv2.putText(out, label, (x, top + swatch - 3), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        x += text_w + pad
