"""The live-view area: the pipeline's picture blitted as it is, a feature chosen by
click-drag, the pointer followed for the loupe, and the HUD as text.

A plain widget rather than a pyqtgraph scene: at 1080p60 the scene's Python paint
path (the image item, the text item over it, the view's paint event) held the GIL
for most of the GUI thread's time and starved the processing thread (docs/
BENCHMARKS.md, issue 11). Here a frame costs one ``drawImage`` of a picture the
pipeline already drew at the size it is shown, and the HUD is a small image made
when its text changes (ten times a second), not on every frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from focuslock.core.box import MIN_FEATURE_PX

__all__ = ["FrameView", "drag_to_roi"]

BACKGROUND_RGB = (20, 20, 20)
# A picture within this many device pixels of the area it is shown in is drawn at its
# own size (a plain copy); a larger difference is scaled. The window asks the pipeline
# for a new display size only when the view changes by more than this.
UNSCALED_SLACK_PX = 8
HUD_POINT_SIZE = 11


def drag_to_roi(start: tuple[float, float], end: tuple[float, float], frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) in frame pixels that a drag from ``start`` to ``end`` (view
    coordinates = frame pixels) spans, clipped to the frame; None if too small to use."""
    width, height = frame_size
    x0, x1 = sorted((start[0], end[0]))
    y0, y1 = sorted((start[1], end[1]))
    x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
    x1, y1 = min(width, int(round(x1))), min(height, int(round(y1)))
    if x1 - x0 < MIN_FEATURE_PX or y1 - y0 < MIN_FEATURE_PX:
        return None
    return x0, y0, x1 - x0, y1 - y0


def fitted_rect(area: QtCore.QRectF, frame_size: tuple[int, int]) -> QtCore.QRectF:
    """The largest rectangle of the frame's aspect ratio centred in ``area``."""
    width, height = frame_size
    scale = min(area.width() / max(width, 1), area.height() / max(height, 1))
    shown_w, shown_h = width * scale, height * scale
    return QtCore.QRectF(area.x() + (area.width() - shown_w) / 2.0, area.y() + (area.height() - shown_h) / 2.0,
                         shown_w, shown_h)


class FrameView(QtWidgets.QWidget):
    """Shows RGB frames; emits ``featureChosen(x, y, w, h)`` after a drag, and
    ``featureAdded`` after a drag with Ctrl or Shift held. Boxes and pointer positions
    are always in the frame's pixels, whatever size the picture is drawn at."""

    featureChosen = QtCore.Signal(int, int, int, int)
    featureAdded = QtCore.Signal(int, int, int, int)
    pointerMoved = QtCore.Signal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)  # every pixel is painted: no erase first
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.image: np.ndarray | None = None  # the picture shown (never modified after it is handed over)
        self._qimage: QtGui.QImage | None = None  # wraps _pixels_bgrx's memory (no copy)
        self._pixels_bgrx: np.ndarray | None = None
        self._previous_bgrx: np.ndarray | None = None
        self.frame_size: tuple[int, int] | None = None
        self.frames_shown = 0  # pictures handed over
        self.frames_painted = 0  # of those, pictures that reached the screen (paints coalesce)
        self._painted_count = 0
        self._hud_text = ""
        self._hud_image: QtGui.QImage | None = None
        self._drag_start: tuple[float, float] | None = None
        self._drag_now: tuple[float, float] | None = None

    # ------------------------------------------------------------- the picture
    def show_frame(self, image: np.ndarray, frame_size: tuple[int, int] | None = None) -> None:
        """Hand a new RGB uint8 picture to the display (never modified afterwards).

        ``frame_size`` (w, h): the frame the picture shows, when the picture was drawn
        smaller (at the display's size): boxes drawn and pointers read stay in frame
        pixels."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("The view shows RGB pictures of 8 bits a channel.")
        height, width = image.shape[:2]
        self.image = image
        # Converted here, by OpenCV without the GIL, to the layout of the screen's
        # backing store (32-bit xRGB: B, G, R, 255 in memory), so that painting is a
        # plain copy; Qt's own conversion of RGB888 ran inside drawImage holding the GIL.
        self._pixels_bgrx = cv2.cvtColor(image, cv2.COLOR_RGB2BGRA, dst=self._spare_bgrx(height, width))
        self._qimage = QtGui.QImage(self._pixels_bgrx.data, width, height, self._pixels_bgrx.strides[0],
                                    QtGui.QImage.Format.Format_RGB32)
        self.frame_size = frame_size or (width, height)
        self.frames_shown += 1
        self.update()

    def _spare_bgrx(self, height: int, width: int) -> np.ndarray:
        """A buffer for the next picture: the one before the shown one, reused (never
        the buffer the shown QImage still wraps)."""
        spare = self._previous_bgrx
        self._previous_bgrx = self._pixels_bgrx
        if spare is None or spare.shape != (height, width, 4):
            spare = np.empty((height, width, 4), np.uint8)
        return spare

    def picture_rect(self) -> QtCore.QRectF:
        """Where the picture is drawn, in the widget's (logical) coordinates."""
        area = QtCore.QRectF(self.rect())
        if self.frame_size is None:
            return area
        fitted = fitted_rect(area, self.frame_size)
        if self._qimage is not None:
            ratio = self.devicePixelRatioF()
            own_w, own_h = self._qimage.width() / ratio, self._qimage.height() / ratio
            slack = UNSCALED_SLACK_PX / ratio
            if abs(own_w - fitted.width()) <= slack and abs(own_h - fitted.height()) <= slack:
                # Drawn at its own size, centred: a copy, no scaling on the GUI thread.
                centre = fitted.center()
                return QtCore.QRectF(round(centre.x() - own_w / 2.0), round(centre.y() - own_h / 2.0), own_w, own_h)
        return fitted

    def display_size_px(self) -> tuple[int, int]:
        """The size of the picture area in device pixels (what a frame is drawn at)."""
        ratio = self.devicePixelRatioF()
        return max(16, int(self.width() * ratio)), max(16, int(self.height() * ratio))

    # -------------------------------------------------------------------- the HUD
    def set_hud(self, lines: list[str]) -> None:
        text = "\n".join(lines)
        if text == self._hud_text:
            return
        self._hud_text = text
        self._hud_image = self._render_hud(text) if text else None
        self.update()

    def hud_text(self) -> str:
        return self._hud_text

    def _render_hud(self, text: str) -> QtGui.QImage:
        """The HUD as a small image: white text on a translucent black panel."""
        font = QtGui.QFont()
        font.setPointSize(HUD_POINT_SIZE)
        metrics = QtGui.QFontMetrics(font)
        bounds = metrics.boundingRect(QtCore.QRect(0, 0, 4000, 4000), QtCore.Qt.AlignmentFlag.AlignLeft, text)
        margin = 4
        ratio = self.devicePixelRatioF()
        size = QtCore.QSize(bounds.width() + 2 * margin, bounds.height() + 2 * margin)
        image = QtGui.QImage(size * ratio, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(QtGui.QColor(0, 0, 0, 150))
        painter = QtGui.QPainter(image)
        painter.setFont(font)
        painter.setPen(QtGui.QColor(255, 255, 255))
        painter.drawText(QtCore.QRect(margin, margin, bounds.width(), bounds.height()), QtCore.Qt.AlignmentFlag.AlignLeft, text)
        painter.end()
        return image

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        background = QtGui.QColor(*BACKGROUND_RGB)
        if self._qimage is None or self.frame_size is None:
            painter.fillRect(self.rect(), background)
        else:
            target = self.picture_rect()
            # Only the letterbox bands around the picture are filled, never under it.
            outside = QtGui.QRegion(self.rect()).subtracted(QtGui.QRegion(target.toAlignedRect()))
            for band in outside:  # type: ignore[attr-defined]  # a QRegion iterates its rectangles; the stubs omit it
                painter.fillRect(band, background)
            painter.drawImage(target, self._qimage)
            if self._painted_count != self.frames_shown:
                self._painted_count = self.frames_shown
                self.frames_painted += 1
            if self._hud_image is not None:
                painter.drawImage(target.topLeft(), self._hud_image)
        if self._drag_start is not None and self._drag_now is not None:
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), 2, QtCore.Qt.PenStyle.DashLine))
            painter.drawRect(QtCore.QRectF(self._to_widget(self._drag_start), self._to_widget(self._drag_now)).normalized())
        painter.end()

    # --------------------------------------------------------- frame coordinates
    def to_frame(self, point: QtCore.QPointF) -> tuple[float, float] | None:
        """A widget point in the frame's pixels (None before the first frame)."""
        if self.frame_size is None:
            return None
        target = self.picture_rect()
        return ((point.x() - target.x()) * self.frame_size[0] / max(target.width(), 1e-9),
                (point.y() - target.y()) * self.frame_size[1] / max(target.height(), 1e-9))

    def _to_widget(self, frame_point: tuple[float, float]) -> QtCore.QPointF:
        assert self.frame_size is not None  # a point in the frame: there is a frame
        target = self.picture_rect()
        return QtCore.QPointF(target.x() + frame_point[0] * target.width() / self.frame_size[0],
                              target.y() + frame_point[1] * target.height() / self.frame_size[1])

    def finish_drag(self, start: tuple[float, float], end: tuple[float, float], adding: bool = False) -> None:
        """A drag (in frame pixels) chose a feature (``adding``: Ctrl or Shift held — one
        more feature)."""
        if self.frame_size is None:
            return
        roi = drag_to_roi(start, end, self.frame_size)
        if roi is not None:
            (self.featureAdded if adding else self.featureChosen).emit(*roi)

    # -------------------------------------------------------------------- mouse
    def mousePressEvent(self, event) -> None:
        point = self.to_frame(event.position())
        if event.button() != QtCore.Qt.MouseButton.LeftButton or point is None:
            event.ignore()
            return
        self._drag_start = self._drag_now = point
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        point = self.to_frame(event.position())
        if point is None or self.frame_size is None:
            return
        if self._drag_start is not None:
            self._drag_now = point
            self.update()
        x, y = int(point[0]), int(point[1])
        width, height = self.frame_size
        if 0 <= x < width and 0 <= y < height:
            self.pointerMoved.emit(x, y)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton or self._drag_start is None:
            event.ignore()
            return
        start, end = self._drag_start, self.to_frame(event.position()) or self._drag_now
        self._drag_start = self._drag_now = None
        self.update()
        adding = bool(event.modifiers() & (QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier))
        if end is not None:
            self.finish_drag(start, end, adding)
