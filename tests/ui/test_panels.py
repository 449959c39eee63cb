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
    assert plot.softening_line.isVisible() and "SOFTENING" in plot.softening_line.label.toPlainText()
    assert "0.5" in plot.softening_line.label.toPlainText() and "SOFT from 1" in plot.soft_line.label.toPlainText()
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
    the frame's pixels as its coordinates, so a drag still chooses a box in the frame."""
    import numpy as np

    from focuslock.ui.frame_view import FrameView

    view = FrameView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    view.show_frame(np.zeros((540, 960, 3), np.uint8), (1920, 1080))
    rect = view.image_item.mapRectToParent(view.image_item.boundingRect())
    assert (rect.width(), rect.height()) == (1920, 1080) and view.frame_size == (1920, 1080)
    chosen = []
    view.featureChosen.connect(lambda *roi: chosen.append(roi))
    view.finish_drag((1000.0, 500.0), (1100.0, 560.0))
    assert chosen == [(1000, 500, 100, 60)]
    w, h = view.display_size_px()
    assert 16 <= w <= 800 * view.devicePixelRatioF() and 16 <= h <= 500 * view.devicePixelRatioF()


def test_the_banner_says_when_part_of_the_box_set_the_verdict(qtbot):
    from focuslock.focus.parts import PART_REASON
    from focuslock.ui.panels import StateBanner

    banner = StateBanner()
    qtbot.addWidget(banner)
    banner.show_state("soft", 1.13, None, reason=PART_REASON)
    assert banner.text() == "SOFT  1.13 CoC  —  part of the box is softer than the rest"
    # A verdict of the whole box says nothing more.
    banner.show_state("soft", 1.2, None, reason=None)
    assert banner.text() == "SOFT  1.20 CoC"
