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
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from focuslock.focus.engine import FocusResult
from focuslock.focus.peaking import PeakingSettings
from focuslock.optics.dof import DofResult, LiveViewCoc, depth_for_live_view_blur_mm, describe_depth
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB, draw_focus_layer
from focuslock.overlay.focus_map_layer import FocusMapLayer
from focuslock.overlay.hud import darken, draw_text_panel
from focuslock.core.resources import is_finite_number

__all__ = ["GHOST_MODES", "OVERLAY_CHOICES", "OverlayRenderer", "OverlaySettings", "PreparedPicture", "defocus_line", "display_scale", "loupe_origin", "overlay_choices", "parse_aspect",
           "with_overlay_choices"]

GHOST_MODES = ("off", "blend", "difference", "split", "blink")


def parse_aspect(text: str | None) -> float | None:
    """'4:5', '16:9', '1:1', '2.39' → width / height; None or '' → no guide."""
    if not text:
        return None
    if ":" in text:
        width, _, height = text.partition(":")
        value = float(width) / float(height)
    else:
        value = float(text)
    if not (0.1 < value < 10):
        raise ValueError(f"An aspect ratio of {text} is not one a frame could have.")
    return value


@dataclass(frozen=True)
class OverlaySettings:
    peaking: bool = True
    grid: bool = False
    centre_mark: bool = False
    aspect_guide: str | None = None  # "4:5", "1:1", "16:9", ...
    safe_areas: bool = False
    ghost_mode: str = "off"
    ghost_opacity: float = 0.5
    loupe_zoom: int = 0  # 0 = off, 2–8
    loupe_at: tuple[int, int] | None = None  # (x, y) under the pointer; None = the feature
    zebras: bool = False
    zebra_level: int = 250
    histogram: str = "off"  # "off" | "luma" | "rgb"
    focus_meter: bool = True
    hud: bool = False  # the consumer draws the HUD with the session's own figures
    path_length: int = 90
    # The size (device pixels) the picture is shown at. When the frame is larger, the
    # overlays are drawn on a copy scaled to fit it: the window never pays for painting
    # pixels the screen cannot show. None: at the frame's own size (recordings).
    display_size_px: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.ghost_mode not in GHOST_MODES:
            raise ValueError(f"Unknown ghost mode {self.ghost_mode!r}; use one of {', '.join(GHOST_MODES)}.")
        if self.loupe_zoom and not 2 <= self.loupe_zoom <= 8:
            raise ValueError(f"The loupe magnifies 2 to 8 times, not {self.loupe_zoom}.")
        if self.histogram not in ("off", "luma", "rgb"):
            raise ValueError("The histogram is off, luma or rgb.")
        if self.display_size_px is not None and not (len(self.display_size_px) == 2
                                                     and all(int(v) >= 16 for v in self.display_size_px)):
            raise ValueError(f"A display of {self.display_size_px} pixels is too small to show a frame.")
        parse_aspect(self.aspect_guide)

    @classmethod
    def everything(cls, **overrides) -> "OverlaySettings":
        """Every overlay on (what the speed goal is measured with)."""
        base = dict(grid=True, centre_mark=True, aspect_guide="4:5", safe_areas=True, ghost_mode="blend", loupe_zoom=4,
                    zebras=True, histogram="rgb")
        return cls(**{**base, **overrides})


# The overlay choices a user makes and expects back (the window remembers them; a recipe
# keeps them for its setup): plain values, none of the per-frame state.
OVERLAY_CHOICES = ("peaking", "grid", "centre_mark", "aspect_guide", "safe_areas", "ghost_mode", "ghost_opacity",
                   "zebras", "zebra_level", "histogram", "loupe_zoom", "focus_meter")


def overlay_choices(overlay: "OverlaySettings") -> dict:
    """The user's overlay choices as a plain mapping (None values left out)."""
    return {name: getattr(overlay, name) for name in OVERLAY_CHOICES if getattr(overlay, name) is not None}


# What each choice must be when it comes from a file (the window's remembered choices,
# a recipe's [overlay] table): a string is not a switch, a switch is not a number.
_SWITCHES = ("peaking", "grid", "centre_mark", "safe_areas", "zebras", "focus_meter")
_WORDS = ("ghost_mode", "histogram")


def _checked_choice(name: str, value):
    if name in _SWITCHES:
        if not isinstance(value, bool):
            raise ValueError(f"The overlay choice {name} must be true or false, got {value!r}.")
    elif name in _WORDS:
        if not isinstance(value, str):
            raise ValueError(f"The overlay choice {name} must be a word, got {value!r}.")
    elif name == "aspect_guide":
        if value is not None and not isinstance(value, str):
            raise ValueError(f"The aspect guide must be a ratio such as \"4:5\", got {value!r}.")
    elif name == "ghost_opacity":
        if not is_finite_number(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"The ghost's opacity must be a number from 0 to 1, got {value!r}.")
        value = float(value)
    elif name == "zebra_level":
        if not is_finite_number(value) or value != int(value) or not 0 <= value <= 255:
            raise ValueError(f"The zebra level must be a whole number from 0 to 255, got {value!r}.")
        value = int(value)
    elif name == "loupe_zoom":
        if not is_finite_number(value) or value != int(value):
            raise ValueError(f"The loupe zoom must be 0 (off) or a whole number from 2 to 8, got {value!r}.")
        value = int(value)
    return value


def with_overlay_choices(overlay: "OverlaySettings", choices: dict) -> "OverlaySettings":
    """``overlay`` with the known ``choices`` applied; unknown names are ignored, a bad
    value raises ValueError (or TypeError) with what is wrong, in one sentence."""
    return replace(overlay, **{name: _checked_choice(name, choices[name]) for name in OVERLAY_CHOICES if name in choices})


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
                luma: np.ndarray | None = None) -> "PreparedPicture":
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
            if ghosting:
                reference_rgb = self._reference_at(reference_rgb, size)
        base = picture
        if ghosting:
            base = self._ghost(picture, reference_rgb, settings)
        if settings.zebras:
            base = self._zebras(base, picture, settings.zebra_level, luma)
        return PreparedPicture(scale, picture, base, reference_rgb if ghosting else None, image_rgb, settings)

    def render(self, image_rgb: np.ndarray, focus: FocusResult | None, peaking: PeakingSettings, settings: OverlaySettings,
               *, reference_rgb: np.ndarray | None = None, optics: DofResult | None = None,
               metadata: Mapping[str, Any] | None = None, hud_extra: Sequence[str] = (),
               luma: np.ndarray | None = None, prepared: "PreparedPicture | None" = None) -> np.ndarray:
        """A new RGB image with every overlay ``settings`` asks for (``luma``: the frame's
        grey if the caller has it already; ``prepared``: :meth:`prepare` of this frame
        with these settings, if the caller ran it already)."""
        self._frames += 1
        if prepared is None or prepared.frame is not image_rgb or prepared.settings is not settings:
            prepared = self.prepare(image_rgb, settings, reference_rgb=reference_rgb, luma=luma)
        scale, picture, base = prepared.scale, prepared.picture, prepared.base
        if scale < 1.0 and focus is not None:
            focus = _scaled_focus(focus, scale, (picture.shape[1], picture.shape[0]))
        if focus is not None:
            focus_map = self.focus_map.update(image_rgb, focus, peaking if settings.peaking else None, metadata, luma)
            out = draw_focus_layer(base, focus if settings.peaking else _without_peaking(focus), peaking, focus_map)
        else:
            # Never draw on the picture itself (the frame's own pixels at full size;
            # at display size, what the histogram and drift read below).
            out = base.copy() if base is picture else base
        if focus is not None and focus.roi_px is not None:
            self._draw_path(out, focus, scale)
        if settings.grid:
            _grid(out)
        if settings.centre_mark:
            _centre_mark(out)
        if settings.aspect_guide:
            _aspect_guide(out, parse_aspect(settings.aspect_guide))
        if settings.safe_areas:
            _safe_areas(out)
        if settings.loupe_zoom:
            self._loupe(out, image_rgb, focus, settings, scale)
        if settings.histogram != "off":
            _histogram(out, picture, settings.histogram)
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
        if self._scaled_reference_key != key:
            self._scaled_reference_key = key
            self._scaled_reference = cv2.resize(reference, size, interpolation=cv2.INTER_AREA)
        return self._scaled_reference

    def _meter(self, out: np.ndarray, focus: FocusResult) -> None:
        """A vertical bar of the feature's blur in CoC (0 at the bottom = as sharp as the
        lock, the SOFTENING and SOFT marks labelled), with a hold on the least blur."""
        lock = focus.lock
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
        for threshold, tint, label in ((0.5, STATE_COLOURS_RGB["softening"], "1/2"), (1.0, STATE_COLOURS_RGB["soft"], "CoC")):
            cv2.line(out, (x0 - 4, y_of(threshold)), (x0 + bar_w + 4, y_of(threshold)), tint, 2)
            cv2.putText(out, label, (x0 - 40, y_of(threshold) + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, tint, 1, cv2.LINE_AA)
        cv2.line(out, (x0 - 6, y_of(self.meter_peak)), (x0 + bar_w + 6, y_of(self.meter_peak)), (255, 255, 255), 2)


# ---------------------------------------------------------------------- helpers
_LOUPE_GAP_PX = 10


def display_scale(frame_shape: tuple[int, ...], display_size_px: tuple[int, int] | None) -> float:
    """The scale (≤ 1) at which a frame fits the display, keeping its aspect; 1 when the
    display is as large as the frame or nearly (scaling would cost more than it saves)."""
    if display_size_px is None:
        return 1.0
    height, width = frame_shape[:2]
    scale = min(display_size_px[0] / width, display_size_px[1] / height)
    return scale if scale < 0.9 else 1.0


def _scaled_focus(focus: FocusResult, scale: float, size: tuple[int, int]) -> FocusResult:
    """``focus`` as drawn on the frame scaled by ``scale`` to ``size`` (w, h): the box and
    the peaking band mapped; the verdict itself untouched."""
    roi = None
    if focus.roi_px is not None:
        roi = tuple(v * scale for v in focus.roi_px)
    peaking = focus.peaking
    if peaking is not None:
        band = peaking.band
        # A one-pixel peaking line must survive the scaling: each output pixel takes the
        # strongest band among the frame pixels it covers (dilate, then sample).
        reach = int(math.ceil(1.0 / scale))
        if reach > 1:
            band = cv2.dilate(band, np.ones((reach, reach), np.uint8))
        ox, oy = peaking.offset_px
        band_size = (max(1, int(round(band.shape[1] * scale))), max(1, int(round(band.shape[0] * scale))))
        band_size = (min(band_size[0], size[0]), min(band_size[1], size[1]))
        band = cv2.resize(band, band_size, interpolation=cv2.INTER_NEAREST)
        offset = (min(int(round(ox * scale)), size[0] - band_size[0]), min(int(round(oy * scale)), size[1] - band_size[1]))
        peaking = replace(peaking, band=band, offset_px=offset)
    more = tuple(replace(feature, roi_px=tuple(v * scale for v in feature.roi_px)) for feature in focus.more
                 if feature.roi_px is not None)
    return replace(focus, roi_px=roi, peaking=peaking, more=more)


def loupe_origin(frame_size_px: tuple[int, int], inset_px: int,
                 box_px: tuple[float, float, float, float] | None) -> tuple[int, int]:
    """Top-left corner of the loupe's inset: bottom right, unless that would cover the
    followed box; then the first free one of bottom left, top right (beside the meter)
    and top left; if the box is so large that it touches all four, the corner that covers
    least of it. The inset must never hide the detail the user is watching."""
    width, height = frame_size_px
    gap = _LOUPE_GAP_PX
    right, bottom = width - inset_px - gap, height - inset_px - gap
    meter_clearance = max(14, width // 70) + 60  # the meter bar and its labels
    candidates = [(right, bottom), (gap, bottom), (max(right - meter_clearance, gap), gap), (gap, gap)]
    candidates = [(min(max(x, 0), max(width - inset_px, 0)), min(max(y, 0), max(height - inset_px, 0))) for x, y in candidates]
    if box_px is None:
        return candidates[0]
    bx, by, bw, bh = box_px
    bx0, by0, bx1, by1 = bx - gap, by - gap, bx + bw + gap, by + bh + gap

    def covered(origin: tuple[int, int]) -> float:
        ox, oy = origin
        overlap_w = min(ox + inset_px, bx1) - max(ox, bx0)
        overlap_h = min(oy + inset_px, by1) - max(oy, by0)
        return max(overlap_w, 0.0) * max(overlap_h, 0.0)

    for origin in candidates:
        if covered(origin) == 0.0:
            return origin
    return min(candidates, key=covered)


def _without_peaking(focus: FocusResult) -> FocusResult:
    return replace(focus, peaking=None)


def _grid(out: np.ndarray) -> None:
    height, width = out.shape[:2]
    for i in (1, 2):
        x, y = width * i // 3, height * i // 3
        cv2.line(out, (x, 0), (x, height), (230, 230, 230), 1, cv2.LINE_AA)
        cv2.line(out, (0, y), (width, y), (230, 230, 230), 1, cv2.LINE_AA)


def _centre_mark(out: np.ndarray) -> None:
    height, width = out.shape[:2]
    arm = max(10, min(height, width) // 40)
    cx, cy = width // 2, height // 2
    cv2.line(out, (cx - arm, cy), (cx + arm, cy), (255, 255, 255), 2, cv2.LINE_AA)
    cv2.line(out, (cx, cy - arm), (cx, cy + arm), (255, 255, 255), 2, cv2.LINE_AA)


def _aspect_guide(out: np.ndarray, aspect: float | None) -> None:
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


def _safe_areas(out: np.ndarray) -> None:
    """Action safe (93 %) and title safe (90 %), as broadcast monitors show them."""
    height, width = out.shape[:2]
    for share, colour in ((0.93, (200, 200, 200)), (0.90, (255, 220, 120))):
        dx, dy = int(width * (1 - share) / 2), int(height * (1 - share) / 2)
        cv2.rectangle(out, (dx, dy), (width - dx, height - dy), colour, 1, cv2.LINE_AA)


def _histogram(out: np.ndarray, image: np.ndarray, mode: str) -> None:
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


def hud_lines(metadata: Mapping[str, Any], optics: DofResult | None, focus: FocusResult | None,
              drift_px: tuple[float, float] | None) -> list[str]:
    """Exposure, depth of field and framing drift, as the HUD shows them."""
    lines = []
    exposure = []
    if metadata.get("f_number"):
        exposure.append(f"f/{metadata['f_number']:g}")
    if metadata.get("exposure_s"):
        seconds = metadata["exposure_s"]
        exposure.append(f"1/{round(1 / seconds)} s" if seconds < 1 else f"{seconds:g} s")
    if metadata.get("iso"):
        exposure.append(f"ISO {metadata['iso']}")
    if exposure:
        lines.append("  ".join(exposure))
    if optics is not None:
        if math.isinf(optics.total_mm):
            lines.append(f"Depth of field {optics.near_mm / 1000:.2f} m to infinity")
        else:
            lines.append(f"Depth of field {describe_depth(optics.total_mm)}  "
                         f"({_distance(optics.near_mm)} to {_distance(optics.far_mm)} from the lens)")
    if drift_px is not None:
        lines.append(f"Framing moved {drift_px[0]:+.1f}, {drift_px[1]:+.1f} px from the reference")
    if focus is not None and focus.lock is not None:
        # The state itself is the banner's (and the box's); here only what to do.
        lock = focus.lock
        if lock.hint:
            lines.append(lock.hint[0].upper() + lock.hint[1:])
        if lock.warning:
            lines.append(lock.warning)
    return lines


def _distance(mm: float) -> str:
    """A distance from the lens: mm to a tenth below a metre, m above."""
    return f"{mm:.1f} mm" if mm < 1000 else f"{mm / 1000:.2f} m"


def defocus_line(optics: DofResult | None, coc: LiveViewCoc | None, focus: FocusResult | None) -> str | None:
    """The locked feature's blur as depth at the subject: 'about 85 µm from the lock's plane
    of focus (0.40 of the way to the DoF's edge)'. None without the optics, the sensor's
    pixel pitch or a blur (a frame sharper than the lock has no depth to tell)."""
    lock = focus.lock if focus is not None else None
    if optics is None or coc is None or lock is None or lock.blur_px is None:
        return None
    depth_mm = depth_for_live_view_blur_mm(optics, coc, lock.blur_px)
    if depth_mm is None:
        return None
    # The share of the half-depth, from the optics' CoC as the depth is (the user's CoC in
    # pixels may differ from the optics').
    share = depth_mm / (0.5 * optics.total_mm)
    more = "≥ " if lock.beyond_range else ""
    return (f"Feature {more}about {describe_depth(depth_mm)} from the lock's plane of focus: "
            f"{share * 100:.0f} % of the way to the edge of the depth of field")
