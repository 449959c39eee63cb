"""The camera's live-view zoom from the window: 1×, 5×, 10× on the feature's box."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol, cast

from PySide6 import QtCore

from focuslock.devices.base import CameraError
from focuslock.devices.body_report import Ability, Answer, BodyReport
from focuslock.runtime.live import LiveSession
from focuslock.ui.controllers.live_view import LiveViewController
from focuslock.ui.controllers.threads import UiThread

__all__ = ["ZoomController"]


class _Zooming(Protocol):
    """A camera with a live-view zoom (:mod:`focuslock.devices.zoom`)."""

    def set_live_view_zoom(self, zoom: float, centre_px: tuple[float, float] | None = None) -> object: ...


class ZoomController(QtCore.QObject):
    """Steps the camera's live-view zoom and keeps the feature's box on its feature.

    ``zooms``: what the camera offers (from its capabilities; empty: none from the
    computer); ``window``: the zoomed part of the view now (focuslock.devices.zoom), None
    at 1×.
    """

    # A sentence for the status bar, and how long it stays (ms).
    notice = QtCore.Signal(str, int)

    def __init__(self, session: LiveSession, live: LiveViewController, ui: UiThread,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.live = live
        self.ui = ui
        self.zooms: tuple[float, ...] = ()
        self.window = None
        self._unzoomed_box: tuple[int, int, int, int] | None = None
        # Why the source has no live-view zoom (the body report's sentence).
        self.unavailable_reason = "This source has no live-view zoom from the computer."

    def use_capabilities(self, capabilities) -> None:
        self.zooms = tuple(capabilities.live_view_zooms)

    def use_report(self, report: BodyReport) -> None:
        """The body report's word on the zoom: its reason is what V and the button say."""
        zoom = report.of(Ability.LIVE_VIEW_ZOOM)
        if zoom.answer is Answer.DOES_NOT_WORK:
            self.unavailable_reason = zoom.reason
            self.zooms = ()

    def step(self, zoom: float | None = None) -> None:
        """The camera's live-view zoom (the next one offered, or ``zoom``) centred on the
        box (else the middle). The box follows into the zoomed view; a lock is dropped,
        since the CoC in live-view pixels grows with the zoom: lock again where sharp."""
        if not self.zooms:
            self.notice.emit(self.unavailable_reason, 8000)
            return
        current = self.window.zoom if self.window is not None else 1.0
        if zoom is None:
            later = [z for z in self.zooms if z > current]
            zoom = later[0] if later else 1.0
        box = self.live.box_now()
        if box is not None and self.window is not None:
            box = self.window.to_unzoomed(box)  # the box in the unzoomed view
        box = box or self._unzoomed_box  # a box too large for the last zoom comes back
        centre = (box[0] + box[2] / 2.0, box[1] + box[3] / 2.0) if box is not None else None
        self.notice.emit(f"zooming live view {zoom:g}×…", 0)
        # A camera whose capabilities list zooms has set_live_view_zoom (devices/base.py).
        future = self.session.submit(lambda camera: cast(_Zooming, camera).set_live_view_zoom(zoom, centre),
                                     label="live-view zoom")
        self.ui.when_done(future, lambda f: self._arrived(f, box))

    def _arrived(self, future: Future, box) -> None:
        try:
            window = future.result()
        except CameraError as error:
            self.notice.emit(error.user_message, 10000)
            return
        except Exception as error:  # a zoom the source refuses: say so
            self.notice.emit(str(error), 10000)
            return
        self.window = window if window.zoom != 1.0 else None
        self.live.live_view_zoom = window.zoom if self.window is not None else 1.0
        self._unzoomed_box = box
        if box is None:
            self.notice.emit(f"live view {window.zoom:g}×", 10000)
        elif window.zoom == 1.0 or window.contains(box):
            self.live.choose_feature(*window.to_zoomed(box))
            self.notice.emit(f"live view {window.zoom:g}×: the box followed; press L to lock again where it is sharp", 10000)
        else:
            # The box is larger than the zoomed view: nothing to follow until one is drawn.
            self.live.follow_nothing()
            self.notice.emit(f"live view {window.zoom:g}×: the box is larger than this view; draw a smaller one "
                             "(it comes back when you zoom out)", 10000)
