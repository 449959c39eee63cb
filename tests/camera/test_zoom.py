"""Live-view zoom: the window a zoomed view shows, on the simulated bench (a crop of the
full view at the sensor's finer pitch, as a body's 5× and 10× zoom are).

What a macro shooter relies on: at normal live-view size the CoC is under a pixel and
focuslock says the verdict rests on sub-pixel changes (zoom live view); zoomed on the
feature, the box follows into the zoomed view, the CoC in live-view pixels grows by the
zoom, the warning goes, and the lock judges — sharp at focus, soft once focus moves by
the depth of field.
"""

from __future__ import annotations

import pytest

from focuslock.devices.zoom import ZoomError, ZoomWindow
from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench


def test_boxes_map_between_the_zoomed_and_unzoomed_views():
    window = ZoomWindow.centred_on(5.0, (500.0, 300.0), (1000, 600))
    assert window.origin_px == (400.0, 240.0)
    box = (480, 290, 40, 20)
    assert window.to_zoomed(box) == (400, 250, 200, 100)
    assert window.to_unzoomed(window.to_zoomed(box)) == box
    assert window.contains(box) and not window.contains((100, 100, 40, 20))
    # Near the edge the window stays inside the view, as a body's zoom frame does.
    edge = ZoomWindow.centred_on(10.0, (5.0, 595.0), (1000, 600))
    assert edge.origin_px == (0.0, 540.0)
    with pytest.raises(ZoomError, match="1× or more"):
        ZoomWindow.centred_on(0.5, (0.0, 0.0), (1000, 600))


def _states(bench, pipeline, settings, frames: int) -> list[str]:
    states = []
    for _ in range(frames):
        lock = pipeline(bench.read_frame(), settings).focus.lock
        states.append(lock.state.value if lock is not None else "none")
    return states


def test_zoomed_on_the_feature_the_coc_spans_pixels_and_the_lock_judges():
    bench = SimulatedBench(BenchConfig(frame_rate_hz=None))  # 0.5×, f/5.6, 1024 px live view
    bench.open()
    try:
        roi = bench.landmark_roi_px("coin-numeral")
        best = int(round(bench.best_focus_position_steps(roi)))
        bench.drive_focus(best)
        pipeline = FramePipeline()
        follow = PipelineSettings()
        follow = follow.with_focus(follow.focus.follow(roi))
        pipeline(bench.read_frame(), follow)
        result = pipeline(bench.read_frame(), follow)
        assert result.coc.coc_px < 1.0 and "zoom live view to 4×" in result.coc.warning

        centre = (roi[0] + roi[2] / 2.0, roi[1] + roi[3] / 2.0)
        window = bench.set_live_view_zoom(5.0, centre)
        zoomed = window.to_zoomed(roi)
        # The box follows: the numeral is where the mapping puts it (the bench's own
        # landmark box at the new zoom, within the landmark's rounding).
        assert all(abs(a - b) <= 4 for a, b in zip(zoomed, bench.landmark_roi_px("coin-numeral")))
        pipeline = FramePipeline()
        follow = PipelineSettings()
        follow = follow.with_focus(follow.focus.follow(zoomed))
        result = pipeline(bench.read_frame(), follow)
        assert result.coc.coc_px == pytest.approx(5.0 * 0.8204, rel=0.01) and result.coc.warning is None
        locked = follow.with_focus(follow.focus.with_lock())
        assert _states(bench, pipeline, locked, 12)[-1] == "sharp"
        # Focus moved by the depth of field (one CoC of blur at the box): soft.
        dof_steps = result.optics.total_mm * 1000.0 / bench.config.focus_step_um
        bench.drive_focus(int(round(dof_steps)))
        assert bench.region_defocus_blur_px(zoomed) > result.coc.coc_px
        states = _states(bench, pipeline, locked, 10)
        assert states[-1] == "soft"
        with pytest.raises(ZoomError, match="5×, 10×"):
            bench.set_live_view_zoom(3.0)
    finally:
        bench.close()
