"""The overlay renderer: everything drawn over live view, the same in the window and in
headless recordings (numpy/OpenCV only).

``OverlayRenderer.render(image, focus, optics, metadata, status)`` draws, in order: the
reference ghost, zebras, peaking and the feature's box with its path (the focus layer),
grid, centre mark, aspect/crop guide, safe areas, loupe, histogram, focus meter and the
HUD. The renderer keeps the little state overlays need between frames (the feature's
path, the meter's peak hold, the blink phase, the framing drift); one processing thread
owns it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from focuslock.focus.engine import FocusResult
from focuslock.focus.peaking import PeakingSettings
from focuslock.optics.dof import DofResult
from focuslock.overlay.camera_frames import draw_camera_frames
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB, draw_focus_layer
from focuslock.overlay.focus_map_layer import FocusMapLayer
from focuslock.overlay.geometry import display_scale, loupe_origin, scaled_focus, without_peaking
from focuslock.overlay.guides import draw_aspect_guide, draw_centre_mark, draw_grid, draw_histogram, draw_safe_areas
from focuslock.overlay.hud import darken, draw_text_panel
from focuslock.overlay.readouts import hud_lines

# The choices the renderer draws by.
from focuslock.overlay.settings import (
    OverlaySettings,
    parse_aspect,
)

__all__ = ["OverlayRenderer", "PreparedPicture"]


@dataclass(frozen=True, eq=False)
class PreparedPicture:
    """What :meth:`OverlayRenderer.prepare` made of one frame: the display ``scale``
    (≤ 1), the ``picture`` at that scale, the ``base`` to draw on (the picture with the
    ghost and zebras; the picture itself when neither is on) and the reference at the
    picture's size when the ghost is on. ``frame`` and ``settings`` are what it was made
    from (the frame itself, not its id: an id can be reused once a frame is freed)."""

    scale: float
    picture: np.ndarray
    base: np.ndarray
    reference_rgb: np.ndarray | None
    frame: np.ndarray
    settings: OverlaySettings


class OverlayRenderer:
    """Draws the overlays over each frame, keeping what they need between frames (the
    feature's path, the meter's peak hold, the framing drift); one thread owns it."""

    def __init__(self) -> None:
        self.path: deque[tuple[float, float]] = deque(maxlen=300)
        self._path_request: Any = None
        self.meter_peak = math.inf
        self._meter_peak_time = 0.0
        self._frames = 0
        self.drift_px: tuple[float, float] | None = None
        self._drift_reference_id: int | None = None
        self._stripes: dict[tuple[int, int], np.ndarray] = {}
        self._zebra_plane: np.ndarray | None = None
        self._scaled_reference_key: tuple | None = None
        self._scaled_reference: np.ndarray | None = None
        self.focus_map = FocusMapLayer()  # the peaking mode "focus-map": its state between frames

    # ------------------------------------------------------------------ the frame
    def prepare(self, image_rgb: np.ndarray, settings: OverlaySettings, *, reference_rgb: np.ndarray | None = None,
                luma: np.ndarray | None = None) -> PreparedPicture:
        """The part of a frame's overlays that does not depend on its focus result: the
        picture at the display's size with the ghost and zebras. Needs none of the
        renderer's per-frame state except caches of its own, so that it can run while the
        focus engine works on the same frame (:class:`~focuslock.runtime.pipeline.FramePipeline`)."""
        scale = display_scale(image_rgb.shape, settings.display_size_px)
        picture = image_rgb
        ghosting = reference_rgb is not None and settings.ghost_mode != "off"
        if scale < 1.0:
            # Draw at the size the screen shows: the picture scaled once (the focus
            # layer's box and peaking are mapped onto it; the loupe still reads the frame).
            size = (max(1, int(round(image_rgb.shape[1] * scale))), max(1, int(round(image_rgb.shape[0] * scale))))
            picture = cv2.resize(image_rgb, size, interpolation=cv2.INTER_LINEAR)
            luma = None
            if ghosting and reference_rgb is not None:
                reference_rgb = self._reference_at(reference_rgb, size)
        base = picture
        if ghosting and reference_rgb is not None:
            base = self._ghost(picture, reference_rgb, settings)
        if settings.zebras:
            base = self._zebras(base, picture, settings.zebra_level, luma)
        return PreparedPicture(scale, picture, base, reference_rgb if ghosting else None, image_rgb, settings)

    def render(self, image_rgb: np.ndarray, focus: FocusResult | None, peaking: PeakingSettings, settings: OverlaySettings,
               *, reference_rgb: np.ndarray | None = None, optics: DofResult | None = None,
               metadata: Mapping[str, Any] | None = None, hud_extra: Sequence[str] = (),
               luma: np.ndarray | None = None, prepared: PreparedPicture | None = None) -> np.ndarray:
        """A new RGB image with every overlay ``settings`` asks for (``luma``: the frame's
        grey if the caller has it already; ``prepared``: :meth:`prepare` of this frame
        with these settings, if the caller ran it already)."""
        self._frames += 1
        if prepared is None or prepared.frame is not image_rgb or prepared.settings is not settings:
            prepared = self.prepare(image_rgb, settings, reference_rgb=reference_rgb, luma=luma)
        scale, picture, base = prepared.scale, prepared.picture, prepared.base
        if scale < 1.0 and focus is not None:
            focus = scaled_focus(focus, scale, (picture.shape[1], picture.shape[0]))
        if focus is not None:
            focus_map = self.focus_map.update(image_rgb, focus, peaking if settings.peaking else None, metadata, luma)
            out = draw_focus_layer(base, focus if settings.peaking else without_peaking(focus), peaking, focus_map)
        else:
            # Never draw on the picture itself (the frame's own pixels at full size;
            # at display size, what the histogram and drift read below).
            out = base.copy() if base is picture else base
        if focus is not None and focus.roi_px is not None:
            self._draw_path(out, focus, scale)
        # The camera's own AF point and zoom frame, where the body says where they are.
        draw_camera_frames(out, metadata, scale)
        if settings.grid:
            draw_grid(out)
        if settings.centre_mark:
            draw_centre_mark(out)
        if settings.aspect_guide:
            draw_aspect_guide(out, parse_aspect(settings.aspect_guide))
        if settings.safe_areas:
            draw_safe_areas(out)
        if settings.loupe_zoom:
            self._loupe(out, image_rgb, focus, settings, scale)
        if settings.histogram != "off":
            draw_histogram(out, picture, settings.histogram)
        if settings.focus_meter and focus is not None and focus.lock is not None:
            self._meter(out, focus)
        if prepared.reference_rgb is not None:
            # Drift is measured (and reported) in the frame's pixels.
            self._measure_drift(picture, prepared.reference_rgb, 1.0 / scale)
        if settings.hud:
            lines = hud_lines(metadata or {}, optics, focus, self.drift_px if settings.ghost_mode != "off" else None)
            out = draw_text_panel(out, [*hud_extra, *lines], corner="top-left")
        return out

    # ---------------------------------------------------------------- the overlays
    def _ghost(self, image: np.ndarray, reference: np.ndarray, settings: OverlaySettings) -> np.ndarray:
        if reference.shape != image.shape:
            reference = cv2.resize(reference, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA)
        mode = settings.ghost_mode
        if mode == "blend":
            return cv2.addWeighted(image, 1.0 - settings.ghost_opacity, reference, settings.ghost_opacity, 0.0)
        if mode == "difference":
            return cv2.absdiff(image, reference)
        if mode == "split":
            out = image.copy()
            middle = image.shape[1] // 2
            out[:, middle:] = reference[:, middle:]
            cv2.line(out, (middle, 0), (middle, image.shape[0]), (255, 255, 255), 2)
            return out
        # blink: the reference every other half second, so that a move catches the eye
        return reference.copy() if int(time.monotonic() * 2) % 2 else image

    def _measure_drift(self, image: np.ndarray, reference: np.ndarray, frame_px_per_px: float = 1.0) -> None:
        """How far the framing moved from the reference (frame pixels), every 10th frame
        (``frame_px_per_px``: frame pixels per pixel of ``image``)."""
        if self._frames % 10 and self._drift_reference_id == id(reference) and self.drift_px is not None:
            return
        self._drift_reference_id = id(reference)
        scale = min(1.0, 512.0 / max(image.shape[:2]))
        size = (max(16, int(image.shape[1] * scale)), max(16, int(image.shape[0] * scale)))
        now = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32)
        then = cv2.resize(cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32)
        window = cv2.createHanningWindow(size, cv2.CV_32F)
        (dx, dy), _ = cv2.phaseCorrelate(then, now, window)
        self.drift_px = (dx / scale * frame_px_per_px, dy / scale * frame_px_per_px)

    def _zebras(self, base: np.ndarray, image: np.ndarray, level: int, luma: np.ndarray | None) -> np.ndarray:
        """Diagonal stripes where the luma clips (as camera zebras read luma)."""
        if luma is None or luma.shape != image.shape[:2]:
            luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        clipped = cv2.threshold(luma, level - 1, 255, cv2.THRESH_BINARY)[1]
        if not cv2.countNonZero(clipped):
            return base
        stripes = self._stripes.get(image.shape[:2])
        if stripes is None:
            rows, cols = np.indices(image.shape[:2])
            stripes = np.where(((rows + cols) // 6) % 2 == 0, 255, 0).astype(np.uint8)
            self._stripes = {image.shape[:2]: stripes}
        mask = cv2.bitwise_and(clipped, stripes)
        out = base.copy() if base is image else base
        plane = self._zebra_plane
        if plane is None or plane.shape != out.shape:
            plane = self._zebra_plane = np.full(out.shape, (255, 0, 255), np.uint8)
        cv2.copyTo(plane, mask, out)
        return out

    def _draw_path(self, out: np.ndarray, focus: FocusResult, scale: float = 1.0) -> None:
        """The feature's recent path (kept in frame pixels, drawn at ``scale``)."""
        if focus.roi_px is None:
            return
        x, y, w, h = focus.roi_px
        self.path.append(((x + w / 2) / scale, (y + h / 2) / scale))
        if len(self.path) > 1:
            points = np.array(list(self.path)[-90:], np.float32).reshape(-1, 1, 2) * np.float32(scale)
            colour = STATE_COLOURS_RGB.get(focus.state, (255, 255, 255))
            cv2.polylines(out, [np.round(points * 4).astype(np.int32)], False, colour, 1, cv2.LINE_AA, 2)

    def _loupe(self, out: np.ndarray, image: np.ndarray, focus: FocusResult | None, settings: OverlaySettings,
               scale: float = 1.0) -> None:
        """The loupe: frame pixels (``image``, the frame at its own size) magnified by
        whole blocks into ``out``, which shows the frame at ``scale``. ``focus`` and
        ``loupe_at`` are in ``out``'s and the frame's pixels respectively."""
        height, width = image.shape[:2]
        out_height, out_width = out.shape[:2]
        # Every source pixel becomes an exact zoom × zoom block on the screen.
        source = max(8, max(96, min(out_height, out_width) // 3) // settings.loupe_zoom)
        inset = source * settings.loupe_zoom
        cx: float
        cy: float
        if settings.loupe_at is not None:
            cx, cy = settings.loupe_at
        elif focus is not None and focus.roi_px is not None:
            x, y, w, h = focus.roi_px
            cx, cy = (x + w / 2) / scale, (y + h / 2) / scale
        else:
            cx, cy = width / 2, height / 2
        x0 = int(min(max(cx - source / 2, 0), width - source))
        y0 = int(min(max(cy - source / 2, 0), height - source))
        # Nearest-neighbour: the loupe shows pixels as they are, never smoothed.
        magnified = cv2.resize(image[y0 : y0 + source, x0 : x0 + source], (inset, inset), interpolation=cv2.INTER_NEAREST)
        # Never over what it magnifies: the followed box, or the square under the pointer.
        box = (x0 * scale, y0 * scale, source * scale, source * scale)
        if settings.loupe_at is None and focus is not None and focus.roi_px is not None:
            box = focus.roi_px
        ox, oy = loupe_origin((out_width, out_height), inset, box)
        out[oy : oy + inset, ox : ox + inset] = magnified
        colour = STATE_COLOURS_RGB.get(focus.state if focus is not None else None, (255, 255, 255))
        cv2.rectangle(out, (ox - 1, oy - 1), (ox + inset, oy + inset), colour, 2)
        cv2.putText(out, f"{settings.loupe_zoom}x", (ox + 6, oy + 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)

    def _reference_at(self, reference: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The ghost's reference at the display size, scaled once per reference and size."""
        key = (id(reference), size)
        scaled = self._scaled_reference
        if self._scaled_reference_key != key or scaled is None:
            self._scaled_reference_key = key
            scaled = self._scaled_reference = cv2.resize(reference, size, interpolation=cv2.INTER_AREA)
        return scaled

    def _meter(self, out: np.ndarray, focus: FocusResult) -> None:
        """A vertical bar of the feature's blur in CoC (0 at the bottom = as sharp as the
        lock, the SOFTENING and SOFT marks labelled), with a hold on the least blur."""
        lock = focus.lock
        if lock is None:
            return
        share = lock.coc_share if lock.coc_share is not None else (0.0 if (lock.blur_px or 0.0) < 0 else 2.0)
        now = time.monotonic()
        if share <= self.meter_peak or now - self._meter_peak_time > 3.0:
            self.meter_peak, self._meter_peak_time = share, now
        height, width = out.shape[:2]
        bar_h = int(height * 0.5)
        bar_w = max(14, width // 70)
        x0 = width - bar_w - 14
        y1 = int(height * 0.08) + bar_h
        top = 2.0

        def y_of(value: float) -> int:
            return int(y1 - min(max(value, 0.0), top) / top * bar_h)

        darken(out, y1 - bar_h, y1, x0, x0 + bar_w, 0.3)
        colour = STATE_COLOURS_RGB.get(lock.state.value, (255, 255, 255))
        # At least a sliver, so that the state colour shows at zero blur too.
        cv2.rectangle(out, (x0, min(y_of(share), y1 - 4)), (x0 + bar_w, y1), colour, -1)
        for threshold, tint, label in ((0.5, STATE_COLOURS_RGB["softening"], "1/2"), (1.0, STATE_COLOURS_RGB["soft"], "edge")):
            cv2.line(out, (x0 - 4, y_of(threshold)), (x0 + bar_w + 4, y_of(threshold)), tint, 2)
            cv2.putText(out, label, (x0 - 40, y_of(threshold) + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, tint, 1, cv2.LINE_AA)
        cv2.line(out, (x0 - 6, y_of(self.meter_peak)), (x0 + bar_w + 6, y_of(self.meter_peak)), (255, 255, 255), 2)
