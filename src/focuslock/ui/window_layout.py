"""The window's arrangement: the panels' column and the last shot in docks on the right,
sized to fit the screen the window opens on."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["DEFAULT_SIZE_PX", "DOCK_DEFAULT_WIDTH_PX", "DOCK_MIN_WIDTH_PX", "add_docks", "fit_to_screen", "redock"]

# The window's default size (shrunk to fit smaller screens) and the panels' column.
DEFAULT_SIZE_PX = (1500, 900)
DOCK_DEFAULT_WIDTH_PX = 340
DOCK_MIN_WIDTH_PX = 260


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


def add_docks(window: QtWidgets.QMainWindow, panels: list[QtWidgets.QWidget | None],
              review: QtWidgets.QWidget) -> tuple[QtWidgets.QDockWidget, QtWidgets.QDockWidget]:
    """The ``panels`` (None: left out) in a column that scrolls up and down, docked on the
    right as "Focus"; ``review`` (the last shot at 100 %) a tab beside it, the panels in
    front. Returns both docks."""
    side = QtWidgets.QWidget()
    side_layout = QtWidgets.QVBoxLayout(side)
    for widget in panels:
        if widget is not None:
            side_layout.addWidget(widget)
    side_layout.addStretch(1)
    # The column scrolls up and down, never sideways: long choices (lens names) are
    # cut in their boxes, not the panels in the dock.
    for combo in side.findChildren(QtWidgets.QComboBox):
        combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(10)
    scroll = _scrolling(side)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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


def fit_to_screen(window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget) -> None:
    """A window that fits the screen it opens on (a 1366×768 laptop too), the view
    taking most of it and the panels a readable column."""
    screen = window.screen() or QtWidgets.QApplication.primaryScreen()
    if screen is None or QtGui.QGuiApplication.platformName() == "offscreen":
        # No screen to fit (an offscreen screenshot): fit the default size instead.
        available = QtCore.QRect(0, 0, *DEFAULT_SIZE_PX)
    else:
        available = screen.availableGeometry()
    width = min(DEFAULT_SIZE_PX[0], int(available.width() * 0.96))
    height = min(DEFAULT_SIZE_PX[1], int(available.height() * 0.94))
    window.resize(width, height)
    window.move(available.x() + (available.width() - width) // 2, available.y() + (available.height() - height) // 2)
    window.resizeDocks([dock], [max(DOCK_MIN_WIDTH_PX, min(DOCK_DEFAULT_WIDTH_PX, width // 4))], QtCore.Qt.Orientation.Horizontal)
