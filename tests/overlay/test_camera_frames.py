"""The camera's own AF point and zoom frame drawn beside focuslock's box: where the body
says (pixels of the rendered overlay), and nowhere when it says nothing. Real frames of
the simulated bench, which reports its own zoom frame."""

from __future__ import annotations

import numpy as np

from focuslock.focus.peaking import PeakingSettings
from focuslock.overlay.camera_frames import CAMERA_FRAME_RGB
from focuslock.overlay.render import OverlayRenderer
from focuslock.overlay.settings import OverlaySettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench

NONE = OverlaySettings(peaking=False, focus_meter=False)


def _frame_colour(out: np.ndarray) -> np.ndarray:
    """Where the overlay painted the camera frames' colour."""
    return np.all(out == np.array(CAMERA_FRAME_RGB, np.uint8), axis=2)


def _render(frame, settings=NONE):
    return OverlayRenderer().render(frame.image, None, PeakingSettings(), settings, metadata=frame.metadata)


def test_the_bench_zoom_frame_is_drawn_where_the_bench_says_and_only_there():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(600, 400), frame_rate_hz=None))
    bench.open()
    try:
        frame = bench.read_frame()
        x, y, w, h = frame.metadata["camera_zoom_box_px"]
        out = _render(frame)
        painted = _frame_colour(out) & ~_frame_colour(frame.image[..., :3].copy())
        # The dashed outline lies on the box's four edges (half of each edge is dash).
        for edge in (painted[y, x:x + w], painted[y + h, x:x + w], painted[y:y + h, x], painted[y:y + h, x + w]):
            assert 0.35 < edge.mean() < 0.8
        # Inside the frame and away from it (but for its small label below) nothing is drawn.
        assert not painted[y + 3:y + h - 3, x + 3:x + w - 3].any()
        assert not painted[: y - 2].any() and not painted[:, : x - 2].any() and not painted[:, x + w + 2:].any()
        assert painted[y + h + 2:y + h + 20, x:x + w].any()  # the label "camera zoom"
        # Zoomed in, the bench reports no frame: nothing of the colour is drawn.
        bench.set_live_view_zoom(5.0)
        zoomed = bench.read_frame()
        assert "camera_zoom_box_px" not in zoomed.metadata
        assert not (_frame_colour(_render(zoomed)) & ~_frame_colour(zoomed.image.copy())).any()
    finally:
        bench.close()


def test_a_reported_af_point_is_drawn_at_display_scale_and_nothing_for_none():
    image = np.full((400, 600, 3), 30, np.uint8)
    renderer = OverlayRenderer()
    # Shown at half size: the body's point (in frame pixels) is drawn at half its place.
    small = renderer.render(image, None, PeakingSettings(), OverlaySettings(peaking=False, focus_meter=False,
                                                                            display_size_px=(300, 200)),
                            metadata={"camera_af_box_px": (280, 180, 40, 40)})
    painted = _frame_colour(small)
    assert painted.shape == (200, 300)
    assert painted[90, 140:160].any() and painted[90:110, 140].any()
    assert not painted[:85].any()
    for metadata in ({}, {"camera_af_box_px": None}, {"camera_af_box_px": (1, 2, 0, 4)}, {"camera_af_box_px": "middle"}):
        assert not _frame_colour(renderer.render(image, None, PeakingSettings(), NONE, metadata=metadata)).any()
