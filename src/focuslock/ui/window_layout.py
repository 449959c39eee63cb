"""The window's arrangement: the panels' column and the last shot in docks on the right,
sized to fit the screen the window opens on."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["DEFAULT_SIZE_PX", "MAX_SIZE_PX", "DOCK_DEFAULT_WIDTH_PX", "DOCK_MIN_WIDTH_PX", "MIN_REMEMBERED_SHARE", "add_docks",
           "available_geometry", "fit_to_screen", "layout_fits", "redock", "saved_geometry"]

# The window's default size (shrunk to fit smaller screens; the stand-in screen where
# there is none), the most of a large screen it takes, and the panels' column.
DEFAULT_SIZE_PX = (1500, 900)
MAX_SIZE_PX = (2400, 1400)
DOCK_DEFAULT_WIDTH_PX = 340
DOCK_MIN_WIDTH_PX = 260
# The sharpness plot takes what height the panels leave, within these.
PLOT_MIN_HEIGHT_PX = 90
PLOT_MAX_HEIGHT_PX = 320
# A remembered window smaller than this share of the screen (either way) is not restored:
# it was remembered on a smaller screen (a 1077×419 window on a 1920×1080 screen).
MIN_REMEMBERED_SHARE = 0.6
# Pixels a remembered window may overhang the screen (a window manager's frame).
_FIT_TOLERANCE_PX = 8


def _scrolling(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    return scroll


def _dock(window: QtWidgets.QMainWindow, title: str, name: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
    dock = QtWidgets.QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    # Never squeezed to a sliver by a remembered layout: the panels stay readable.
    dock.setMinimumWidth(DOCK_MIN_WIDTH_PX)
    window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


def add_docks(window: QtWidgets.QMainWindow, plot: QtWidgets.QWidget,
              tabs: list[tuple[str, list[QtWidgets.QWidget | None]]],
              review: QtWidgets.QWidget) -> tuple[QtWidgets.QDockWidget, QtWidgets.QDockWidget]:
    """The side column, docked on the right as "Focus": the sharpness ``plot`` on top,
    taking what height is left, and below it the panels in ``tabs`` (a title and its
    panels, None: left out; the first tab in front), so that the column fits a 1366×768
    screen without scrolling and the live view keeps most of the screen. ``review`` (the
    last shot at 100 %) is a tab beside the column, the column in front. Returns both
    docks (the column's widget is its scroll area: it scrolls only on screens smaller
    than 1366×768)."""
    side = QtWidgets.QWidget()
    side.setObjectName("side-column")
    side_layout = QtWidgets.QVBoxLayout(side)
    side_layout.setContentsMargins(4, 4, 4, 4)
    plot.setMinimumHeight(PLOT_MIN_HEIGHT_PX)
    plot.setMaximumHeight(PLOT_MAX_HEIGHT_PX)
    plot.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Ignored)
    side_layout.addWidget(plot, 1)
    pages = QtWidgets.QTabWidget()
    pages.setObjectName("side-tabs")
    pages.setDocumentMode(True)
    for title, panels in tabs:
        shown = [widget for widget in panels if widget is not None]
        if not shown:
            continue
        page = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(page)
        column.setContentsMargins(0, 4, 0, 0)
        for widget in shown:
            column.addWidget(widget)
        column.addStretch(1)
        pages.addTab(page, title)
    side_layout.addWidget(pages)
    # Long choices (lens names) are cut in their boxes, never widen the column.
    for combo in side.findChildren(QtWidgets.QComboBox):
        combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(10)
    scroll = _scrolling(side)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    dock = _dock(window, "Focus", "focus-dock", scroll)
    # The last shot at 100 %: a tab beside the panels, brought to the front by each
    # capture (the focus panels are one click away; the keys work either way).
    review_dock = _dock(window, "Last shot", "review-dock", _scrolling(review))
    window.tabifyDockWidget(dock, review_dock)
    dock.raise_()
    return dock, review_dock


def redock(window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget, review_dock: QtWidgets.QDockWidget) -> None:
    """Both docks back on the right, shown, tabbed, the panels in front."""
    for each in (dock, review_dock):
        if each.isFloating():
            each.setFloating(False)
        window.removeDockWidget(each)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, each)
        each.show()
    window.tabifyDockWidget(dock, review_dock)
    dock.raise_()


def available_geometry(window: QtWidgets.QWidget) -> QtCore.QRect:
    """The part of the window's screen a window may take (less panels and task bars);
    the default size where there is no screen to fit (an offscreen screenshot)."""
    screen = window.screen() or QtWidgets.QApplication.primaryScreen()
    if screen is None or QtGui.QGuiApplication.platformName() == "offscreen":
        return QtCore.QRect(0, 0, *DEFAULT_SIZE_PX)
    return screen.availableGeometry()


def layout_fits(geometry: QtCore.QRect, available: QtCore.QRect) -> bool:
    """Whether a remembered window ``geometry`` may be restored on a screen whose
    ``available`` part is this: inside it, and at least MIN_REMEMBERED_SHARE of it each
    way (else it was remembered on a smaller screen, and the screen is fitted instead)."""
    if geometry.width() <= 0 or geometry.height() <= 0:
        return False
    inside = available.adjusted(-_FIT_TOLERANCE_PX, -_FIT_TOLERANCE_PX, _FIT_TOLERANCE_PX, _FIT_TOLERANCE_PX)
    return (inside.contains(geometry)
            and geometry.width() >= MIN_REMEMBERED_SHARE * available.width()
            and geometry.height() >= MIN_REMEMBERED_SHARE * available.height())


def saved_geometry(saved: QtCore.QByteArray) -> tuple[QtCore.QRect, QtCore.QRect] | None:
    """The frame and the inside of the window as QWidget.saveGeometry() remembered them
    (before Qt fits them to a screen: Qt's restore shrinks a window to its screen, so that
    the remembered size must be read from the bytes). None for bytes that are not one."""
    stream = QtCore.QDataStream(saved)
    stream.setVersion(QtCore.QDataStream.Version.Qt_4_0)
    if saved.size() < 40 or stream.readUInt32() != 0x1D9D0CB:
        return None
    stream.readUInt16()  # the format's version: its first two rectangles are the same in all
    stream.readUInt16()
    frame, inside = QtCore.QRect(), QtCore.QRect()
    stream >> frame  # (QDataStream's read)
    stream >> inside
    if stream.status() != QtCore.QDataStream.Status.Ok:
        return None
    return frame, inside


def fit_to_screen(window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget) -> None:
    """A window that fits the screen it opens on (a 1366×768 laptop too), the view
    taking most of it and the panels a readable column."""
    available = available_geometry(window)
    # The live view is what the window is for: most of any screen up to a large one's
    # (offscreen, the default size is the stand-in screen).
    width = min(MAX_SIZE_PX[0], int(available.width() * 0.96))
    height = min(MAX_SIZE_PX[1], int(available.height() * 0.94))
    window.resize(width, height)
    window.move(available.x() + (available.width() - width) // 2, available.y() + (available.height() - height) // 2)
    window.resizeDocks([dock], [max(DOCK_MIN_WIDTH_PX, min(DOCK_DEFAULT_WIDTH_PX, width // 4))], QtCore.Qt.Orientation.Horizontal)
