"""Live-view zoom on the camera: which part of the unzoomed live view a zoomed one shows.

At normal live-view size a macro circle of confusion is under one pixel (a 30 µm CoC on
a 36 mm sensor shown 1024 px wide is 0.85 px), too fine for any verdict; the body's own
live-view zoom (Canon 5× and 10×, Nikon's zoom ratios, a crop of the full frame on the
simulated bench) shows the sensor's pixels instead. A zoomed view shows a window of the
unzoomed one: ``zoom`` times smaller, its top-left corner at ``origin_px`` (unzoomed
live-view pixels). Boxes map between the two by that window; the CoC in live-view
pixels grows by the zoom (frames say ``live_view_zoom`` and
``live_view_zoom_origin_px`` in their metadata).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from focuslock.core.errors import FocuslockError

__all__ = ["ZoomError", "ZoomWindow"]


class ZoomError(FocuslockError):
    """One sentence for the user."""


@dataclass(frozen=True)
class ZoomWindow:
    """The part of a ``view_size_px`` (w, h) unzoomed live view that a view zoomed by
    ``zoom`` shows, its top-left at ``origin_px``. ``zoom`` 1: the whole view."""

    zoom: float
    origin_px: tuple[float, float]
    view_size_px: tuple[int, int]

    @classmethod
    def centred_on(cls, zoom: float, centre_px: tuple[float, float], view_size_px: tuple[int, int]) -> ZoomWindow:
        """The window of ``zoom`` centred on ``centre_px`` (unzoomed px), moved inside the
        view where the centre lies near its edge (as a body moves its zoom frame)."""
        if not (math.isfinite(zoom) and zoom >= 1.0):
            raise ZoomError(f"Live-view zoom magnifies 1× or more, got {zoom:g}.")
        width, height = view_size_px
        window_w, window_h = width / zoom, height / zoom
        x0 = min(max(float(centre_px[0]) - window_w / 2.0, 0.0), width - window_w)
        y0 = min(max(float(centre_px[1]) - window_h / 2.0, 0.0), height - window_h)
        return cls(float(zoom), (x0, y0), (int(width), int(height)))

    @property
    def centre_px(self) -> tuple[float, float]:
        width, height = self.view_size_px
        return self.origin_px[0] + width / self.zoom / 2.0, self.origin_px[1] + height / self.zoom / 2.0

    def to_zoomed(self, roi_px) -> tuple[int, int, int, int]:
        """A box (x, y, w, h) of the unzoomed view in the zoomed view's pixels."""
        x, y, w, h = roi_px
        return (int(round((x - self.origin_px[0]) * self.zoom)), int(round((y - self.origin_px[1]) * self.zoom)),
                int(round(w * self.zoom)), int(round(h * self.zoom)))

    def to_unzoomed(self, roi_px) -> tuple[int, int, int, int]:
        """A box (x, y, w, h) of the zoomed view in the unzoomed view's pixels."""
        x, y, w, h = roi_px
        return (int(round(x / self.zoom + self.origin_px[0])), int(round(y / self.zoom + self.origin_px[1])),
                max(1, int(round(w / self.zoom))), max(1, int(round(h / self.zoom))))

    def contains(self, roi_px) -> bool:
        """Whether the box (unzoomed px) lies wholly inside the zoomed window."""
        x, y, w, h = self.to_zoomed(roi_px)
        width, height = self.view_size_px
        return x >= 0 and y >= 0 and x + w <= width and y + h <= height

    def metadata(self) -> dict:
        """What a frame of this view says about its zoom."""
        return {"live_view_zoom": self.zoom, "live_view_zoom_origin_px": tuple(self.origin_px)}
