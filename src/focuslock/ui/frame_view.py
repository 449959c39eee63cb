"""The live-view area: a bare pyqtgraph ImageItem (no per-frame histogram), a feature
chosen by click-drag, the pointer followed for the loupe, and the HUD as text."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["FrameView", "drag_to_roi"]


def drag_to_roi(start: tuple[float, float], end: tuple[float, float], frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) in frame pixels that a drag from ``start`` to ``end`` (view
    coordinates = frame pixels) spans, clipped to the frame; None if too small to use."""
    width, height = frame_size
    x0, x1 = sorted((start[0], end[0]))
    y0, y1 = sorted((start[1], end[1]))
    x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
    x1, y1 = min(width, int(round(x1))), min(height, int(round(y1)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1 - x0, y1 - y0


class _FrameViewBox(pg.ViewBox):
    """A view box where a left drag draws the feature's box instead of panning."""

    def __init__(self, owner: "FrameView") -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.setMouseEnabled(False, False)
        self._owner = owner
        self._band = QtWidgets.QGraphicsRectItem()
        self._band.setPen(pg.mkPen((255, 255, 255), width=2, style=QtCore.Qt.DashLine))
        self._band.setZValue(50)
        self._band.hide()
        self.addItem(self._band, ignoreBounds=True)

    def mouseDragEvent(self, event, axis=None):  # noqa: N802 (Qt naming)
        if event.button() != QtCore.Qt.LeftButton:
            event.ignore()
            return
        event.accept()
        start = self.mapSceneToView(event.buttonDownScenePos())
        now = self.mapSceneToView(event.scenePos())
        self._band.setRect(QtCore.QRectF(start, now).normalized())
        self._band.show()
        if event.isFinish():
            self._band.hide()
            adding = bool(event.modifiers() & (QtCore.Qt.ControlModifier | QtCore.Qt.ShiftModifier))
            self._owner.finish_drag((start.x(), start.y()), (now.x(), now.y()), adding)


class FrameView(pg.GraphicsLayoutWidget):
    """Shows RGB frames; emits ``featureChosen(x, y, w, h)`` after a drag, and
    ``featureAdded`` after a drag with Ctrl or Shift held."""

    featureChosen = QtCore.Signal(int, int, int, int)
    featureAdded = QtCore.Signal(int, int, int, int)
    pointerMoved = QtCore.Signal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground((20, 20, 20))
        self.view = _FrameViewBox(self)
        self.addItem(self.view)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        self.hud = pg.TextItem(anchor=(0, 0), color=(255, 255, 255), fill=pg.mkBrush(0, 0, 0, 150))
        self.hud.setZValue(40)
        font = QtGui.QFont()
        font.setPointSize(11)
        self.hud.setFont(font)
        self.view.addItem(self.hud, ignoreBounds=True)
        self.frame_size: tuple[int, int] | None = None
        self._placement: tuple | None = None
        self.frames_shown = 0
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def show_frame(self, image: np.ndarray, frame_size: tuple[int, int] | None = None) -> None:
        """Hand a new RGB uint8 picture to the display (never modified afterwards).

        ``frame_size`` (w, h): the frame the picture shows, when the picture was drawn
        smaller (at the display's size): the view keeps frame pixels as its
        coordinates, so boxes drawn and pointers read stay in frame pixels."""
        height, width = image.shape[:2]
        frame_size = frame_size or (width, height)
        # levels=None for uint8: pyqtgraph wraps the buffer as a QImage without a
        # per-pixel pass (FIELD-NOTES.md); no autoLevels, no histogram.
        self.image_item.setImage(image, autoLevels=False, levels=None)
        placement = ((width, height), frame_size)
        if placement != self._placement:
            self._placement = placement
            self.image_item.setRect(QtCore.QRectF(0, 0, frame_size[0], frame_size[1]))
        if self.frame_size != frame_size:
            self.frame_size = frame_size
            self.view.setRange(xRange=(0, frame_size[0]), yRange=(0, frame_size[1]), padding=0)
        self.frames_shown += 1

    def display_size_px(self) -> tuple[int, int]:
        """The size of the picture area in device pixels (what a frame is drawn at)."""
        ratio = self.devicePixelRatioF()
        rect = self.view.sceneBoundingRect()
        return max(16, int(rect.width() * ratio)), max(16, int(rect.height() * ratio))

    def set_hud(self, lines: list[str]) -> None:
        self.hud.setText("\n".join(lines))
        self.hud.setPos(0, 0)

    def finish_drag(self, start: tuple[float, float], end: tuple[float, float], adding: bool = False) -> None:
        """A drag chose a feature (``adding``: Ctrl or Shift held — one more feature)."""
        if self.frame_size is None:
            return
        roi = drag_to_roi(start, end, self.frame_size)
        if roi is not None:
            (self.featureAdded if adding else self.featureChosen).emit(*roi)

    def _mouse_moved(self, scene_pos) -> None:
        if self.frame_size is None:
            return
        point = self.view.mapSceneToView(scene_pos)
        x, y = int(point.x()), int(point.y())
        width, height = self.frame_size
        if 0 <= x < width and 0 <= y < height:
            self.pointerMoved.emit(x, y)
