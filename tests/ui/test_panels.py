"""The side panels as real Qt widgets (offscreen)."""

from __future__ import annotations

import pytest

from focuslock.ui.panels import SharpnessPlot


def _y_range(plot: SharpnessPlot) -> tuple[float, float]:
    return tuple(plot.getPlotItem().getViewBox().viewRange()[1])


def test_the_plot_grows_to_the_blur_and_marks_the_sharpest_moment(qtbot):
    plot = SharpnessPlot()
    qtbot.addWidget(plot)
    # A rack through focus: soft, sharp at t = 4 s, soft again well past 2 CoC.
    readings = [(t * 0.5, abs(t * 0.5 - 4.0) * 1.2) for t in range(17)]
    for time_s, blur_coc in readings:
        plot.add(time_s, blur_coc, 0.5, 1.0)
    plot.redraw()
    low, high = _y_range(plot)
    assert high >= max(v for _, v in readings) and low <= 0.0  # nothing clipped off the top
    # The marker sits on the least blur (the sharpest moment), 4 s before the last reading.
    (x,), (y,) = plot.peak_marker.getData()
    assert y == pytest.approx(0.0) and x == pytest.approx(4.0 - 8.0)
    # Both threshold lines carry their names and values.
    assert plot.softening_line.isVisible() and plot.softening_line.label.toPlainText() == "softening from 0.5"
    assert plot.soft_line.label.toPlainText() == "out of focus from 1"
    assert plot.getPlotItem().getAxis("bottom").labelText == "seconds before now"


def test_the_plot_comes_back_to_its_usual_range_after_a_spike(qtbot):
    plot = SharpnessPlot()
    qtbot.addWidget(plot)
    plot.add(0.0, 6.0, 0.5, 1.0)  # a moment far out of focus
    plot.redraw()
    assert _y_range(plot)[1] >= 6.0
    plot.seconds = 5.0
    for t in range(1, 12):
        plot.add(float(t), 0.2, 0.5, 1.0)  # the spike ages out of the window
    plot.redraw()
    assert _y_range(plot) == pytest.approx(SharpnessPlot.MIN_Y_RANGE)
    plot.add(12.0, float("inf"), 0.5, 1.0)  # never drawn, never breaks the axis
    plot.redraw()
    assert _y_range(plot) == pytest.approx(SharpnessPlot.MIN_Y_RANGE)


def test_a_picture_drawn_at_the_display_size_still_speaks_frame_pixels(qtbot):
    """The pipeline draws the window's picture at the size it is shown; the view keeps
    the frame's pixels as its coordinates, so a mouse drag still chooses a box in the
    frame and the pointer reads frame pixels."""
    import numpy as np
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    from focuslock.ui.frame_view import FrameView

    view = FrameView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(np.zeros((450, 800, 3), np.uint8), (1920, 1080))
    target = view.picture_rect()
    # 16:9 in an 800×500 area: full width, letterboxed top and bottom, 1 px = 2.4 frame px.
    assert (target.width(), target.height()) == (800, 450) and view.frame_size == (1920, 1080)
    assert target.y() == 25
    chosen, pointed = [], []
    view.featureChosen.connect(lambda *roi: chosen.append(roi))
    view.pointerMoved.connect(lambda x, y: pointed.append((x, y)))
    # Frame (1000, 500)–(1100, 560) is widget (416.7, 233.3)–(458.3, 258.3).
    start, end = QtCore.QPoint(417, 233), QtCore.QPoint(458, 258)
    QTest.mousePress(view, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, start)
    QTest.mouseMove(view, end)
    QTest.mouseRelease(view, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, end)
    assert len(chosen) == 1
    x, y, w, h = chosen[0]
    assert abs(x - 1000) <= 3 and abs(y - 500) <= 3 and abs(w - 100) <= 5 and abs(h - 60) <= 5
    QTest.mouseMove(view, QtCore.QPoint(400, 250))
    assert pointed and pointed[-1] == (960, 540)
    # A drag that ends in the letterbox is clipped to the frame.
    QTest.mousePress(view, QtCore.Qt.LeftButton, QtCore.Qt.ControlModifier, QtCore.QPoint(700, 400))
    QTest.mouseRelease(view, QtCore.Qt.LeftButton, QtCore.Qt.ControlModifier, QtCore.QPoint(790, 495))
    added = []
    view.featureAdded.connect(lambda *roi: added.append(roi))
    view.finish_drag((1800.0, 1000.0), (2000.0, 1200.0), adding=True)
    assert added == [(1800, 1000, 120, 80)]
    w, h = view.display_size_px()
    assert 16 <= w <= 800 * view.devicePixelRatioF() and 16 <= h <= 500 * view.devicePixelRatioF()


def test_the_view_shows_the_picture_and_the_hud_it_was_given(qtbot):
    """What the widget paints: the picture's own pixels where the picture is, the
    letterbox dark around it, and the HUD's panel in the picture's top-left corner."""
    import numpy as np

    from focuslock.ui.frame_view import BACKGROUND_RGB, FrameView

    view = FrameView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    picture = np.zeros((360, 640, 3), np.uint8)
    picture[:, :320] = (200, 30, 30)
    picture[:, 320:] = (30, 200, 30)
    view.show_frame(picture, (1280, 720))
    assert view.frames_painted == 0
    grab = view.grab().toImage()
    assert view.frames_painted == 1  # what the window benchmark counts: pictures painted
    ratio = grab.devicePixelRatio()
    def rgb(x, y):
        colour = grab.pixelColor(int(x * ratio), int(y * ratio))
        return colour.red(), colour.green(), colour.blue()
    assert rgb(100, 240) == (200, 30, 30) and rgb(540, 240) == (30, 200, 30)
    assert rgb(320, 20) == BACKGROUND_RGB and rgb(320, 470) == BACKGROUND_RGB
    view.set_hud(["HUD line one", "f/8  DoF 0.42 mm"])
    assert view.hud_text() == "HUD line one\nf/8  DoF 0.42 mm"
    grab = view.grab().toImage()
    # The HUD's translucent black panel darkens the red under it.
    assert rgb(2, 62)[0] < 150 and rgb(100, 240) == (200, 30, 30)


def test_the_banner_says_when_part_of_the_box_set_the_verdict(qtbot):
    from focuslock.focus.lock import FocusState, LockStatus
    from focuslock.focus.parts import PART_REASON
    from focuslock.overlay.readouts import plain_verdict
    from focuslock.ui.panels import StateBanner

    banner = StateBanner()
    qtbot.addWidget(banner)
    banner.show_verdict(plain_verdict(LockStatus(FocusState.SOFT, 2.26, 0.1, 2.0, PART_REASON)))
    assert banner.text() == ("OUT OF FOCUS  —  part of the box is softer: it spans more than the depth of field — "
                             "box a smaller detail")
    # A verdict of the whole box says nothing more; its figures are in the tooltip.
    banner.show_verdict(plain_verdict(LockStatus(FocusState.SOFT, 2.4, 0.1, 2.0)))
    assert banner.text() == "OUT OF FOCUS"
    assert banner.toolTip().startswith("blur +2.40 px (1.20 CoC)")


def test_the_stack_panel_offers_the_step_check_and_shows_planned_and_measured_steps(qtbot, tmp_path):
    """The box turns the step check on for the next stack; a checked stack's status lists
    every step as planned and as measured (the lines the controller shows after a stack)."""
    from pathlib import Path

    from focuslock.ui.panels.stack_panel import StackPanel
    from focuslock.workflows.closed_loop import SliceCheck, check_lines
    from focuslock.workflows.stack_shoot import StackShot

    panel = StackPanel()
    qtbot.addWidget(panel)
    seen: list[bool] = []
    panel.checkStepsToggled.connect(seen.append)
    panel.check_steps.setChecked(True)
    assert seen == [True]
    shot = StackShot(Path(tmp_path), [0, 10, 20], files=[[Path("a.jpg")], [Path("b.jpg")], [Path("c.jpg")]],
                     checks=[SliceCheck(0.0, None, "first frame", "", 0),
                             SliceCheck(250.0, 236.0, "moved as planned", "", 1),
                             SliceCheck(250.0, None, "cannot tell", "no part of the picture shows the step", 0)])
    panel.say("\n".join(["3 frame(s) in stack", *check_lines(shot)]))
    text = panel.status.text()
    assert "step to frame 2: planned 250 µm, measured 236 µm: moved as planned, moved again 1×" in text
    assert "step to frame 3: planned 250 µm, not measured: cannot tell (no part of the picture shows the step)" in text
