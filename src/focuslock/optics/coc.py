"""The permissible circle of confusion: the sensor's conventional CoC and the CoC in
pixels of a live view (from the optics, given by the user, or assumed).

A live-view pixel covers the sensor's width / (live-view width × zoom); the CoC in
live-view pixels is the CoC in microns over that pitch. Below
``LIVE_VIEW_RESOLVES_COC_PX`` live view cannot resolve it, and the warning says how far
to zoom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from focuslock.optics.lens_limits import OpticsError

__all__ = ["ASSUMED_COC_PX", "CONVENTION_SHARE_OF_DIAGONAL", "LIVE_VIEW_RESOLVES_COC_PX", "MAX_COC_PX", "LiveViewCoc",
           "check_coc_px", "coc_in_live_view", "coc_in_picture", "conventional_coc_mm"]

# A CoC under this many live-view pixels is at the scale of the live-view pixel itself
# (demosaicing, downscaling and JPEG already blur that much): SHARP (below half of it)
# rests on sub-pixel changes that only a quiet, detailed feature shows (the lock's noise
# test says UNCERTAIN where they are lost), so the user is told to zoom live view.
LIVE_VIEW_RESOLVES_COC_PX = 1.5
# Zoom suggested so that the CoC spans at least this many live-view pixels.
_COMFORTABLE_COC_PX = 3.0
# Used when nothing tells the sensor's size (a video file, a capture card).
ASSUMED_COC_PX = 2.0
# The one plausibility limit of a CoC in pixels, whatever the picture: a lock, a shot's
# check, a stack's check. Past it a "circle of confusion" is a typo (or 1e300), and the
# discs and margins it implies would be allocated before anything else refused it.
MAX_COC_PX = 200.0
# The convention: the CoC of a print seen whole is its diagonal / 1500 — in a picture's
# own pixels too, whatever the sensor (which is why a file needs no sensor to have one).
CONVENTION_SHARE_OF_DIAGONAL = 1.0 / 1500.0


@dataclass(frozen=True)
class LiveViewCoc:
    """The permissible circle of confusion in live-view pixels, and where it came from.

    ``pixel_pitch_um``: the sensor width one live-view pixel covers (None when the sensor
    is unknown); ``source``: "optics", "user" or "assumed"; ``warning``: one sentence
    when live view cannot resolve the CoC (or when it had to be assumed).
    """

    coc_px: float
    coc_um: float | None
    pixel_pitch_um: float | None
    source: str
    warning: str | None = None

    def blur_um(self, blur_px: float) -> float | None:
        """A blur in live-view pixels as microns on the sensor."""
        return None if self.pixel_pitch_um is None else blur_px * self.pixel_pitch_um

    def describe(self) -> str:
        """'Circle of confusion 30 µm = 4.30 px of live view' (the HUD's line)."""
        if self.coc_um is None:
            return f"Circle of confusion {self.coc_px:.2f} px of live view ({self.source})"
        return f"Circle of confusion {self.coc_um:.0f} µm = {self.coc_px:.2f} px of live view"


def check_coc_px(coc_px: float, what: str = "A circle of confusion") -> float:
    """``coc_px`` when it is a plausible CoC in pixels (positive, at most :data:`MAX_COC_PX`);
    otherwise :class:`~focuslock.optics.lens_limits.OpticsError` with one sentence."""
    if not (isinstance(coc_px, (int, float)) and math.isfinite(coc_px) and coc_px > 0):
        raise OpticsError(f"{what} must be a positive number of pixels, not {coc_px}.")
    if coc_px > MAX_COC_PX:
        raise OpticsError(f"{what} of {coc_px:g} px is not plausible; give at most {MAX_COC_PX:g}.")
    return float(coc_px)


def coc_in_picture(width_px: int, height_px: int, *, coc_px: float | None = None, coc_um: float | None = None,
                   sensor_width_mm: float | None = None, sensor_height_mm: float | None = None) -> LiveViewCoc:
    """The CoC in pixels of a whole picture (a file, a frame of a stack) that spans the
    sensor's width: the user's pixels; else ``coc_um`` (default the sensor's conventional
    CoC) through the sensor's width; else the convention in the picture's own pixels, its
    diagonal / 1500. Checked by :func:`check_coc_px`."""
    pitch = sensor_width_mm * 1000.0 / width_px if sensor_width_mm and sensor_width_mm > 0 and width_px > 0 else None
    if coc_px is not None:
        coc = LiveViewCoc(float(coc_px), float(coc_px) * pitch if pitch else None, pitch, "user")
    elif pitch is not None and sensor_width_mm is not None:
        um = coc_um if coc_um is not None else conventional_coc_mm(sensor_width_mm, sensor_height_mm) * 1000.0
        coc = LiveViewCoc(um / pitch, um, pitch, "optics")
    else:
        coc = LiveViewCoc(math.hypot(width_px, height_px) * CONVENTION_SHARE_OF_DIAGONAL, None, None, "convention")
    check_coc_px(coc.coc_px)
    return coc


def conventional_coc_mm(sensor_width_mm: float, sensor_height_mm: float | None = None) -> float:
    """The conventional circle of confusion of a sensor: its diagonal / 1500 (width / 1250
    when only the width is known, the same for a 3:2 sensor)."""
    if sensor_height_mm:
        return math.hypot(sensor_width_mm, sensor_height_mm) / 1500.0
    return sensor_width_mm / 1250.0


def coc_in_live_view(live_view_width_px: int, *, coc_mm: float | None = None, sensor_width_mm: float | None = None,
                     sensor_height_mm: float | None = None, zoom: float = 1.0, user_coc_px: float | None = None
                     ) -> LiveViewCoc:
    """The body's CoC (``coc_mm``; default the sensor's diagonal / 1500) in pixels of a
    live view ``live_view_width_px`` wide that shows 1/``zoom`` of the sensor's width.

    ``user_coc_px`` wins when given (in microns too, where the sensor says how wide a
    live-view pixel is). Without a sensor width the CoC is assumed to be
    ``ASSUMED_COC_PX`` and the warning says how to give the real one.
    """
    if user_coc_px is not None:
        known = bool(sensor_width_mm and sensor_width_mm > 0 and live_view_width_px > 0 and zoom > 0)
        pitch = sensor_width_mm * 1000.0 / (live_view_width_px * zoom) if known and sensor_width_mm else None
        return LiveViewCoc(float(user_coc_px), float(user_coc_px) * pitch if pitch else None, pitch, "user")
    if not sensor_width_mm or sensor_width_mm <= 0 or live_view_width_px <= 0 or zoom <= 0:
        return LiveViewCoc(ASSUMED_COC_PX, None, None, "assumed",
                           "The camera body is unknown, so how much blur still counts as in focus is a guess: "
                           "choose the camera body (or give that limit in pixels).")
    if coc_mm is None:
        coc_mm = conventional_coc_mm(sensor_width_mm, sensor_height_mm)
    pitch_um = sensor_width_mm * 1000.0 / (live_view_width_px * zoom)
    coc_um = coc_mm * 1000.0
    coc_px = coc_um / pitch_um
    warning = None
    if coc_px < LIVE_VIEW_RESOLVES_COC_PX:
        needed = math.ceil(_COMFORTABLE_COC_PX / coc_px * zoom)
        # In plain words; the figures (coc_um, coc_px) are the value's own fields.
        warning = (f"Live view is too coarse to judge this depth of field: zoom live view to {needed}× on the detail "
                   "for a verdict you can trust.")
    return LiveViewCoc(coc_px, coc_um, pitch_um, "optics", warning)
