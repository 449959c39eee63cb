"""The demo on the simulated bench: which feature it shows, and how far it racks focus.

``focuslock demo``, ``calibrate focus-steps``, ``mark`` and ``stack-shoot`` on the bench
all start as the demo does: aimed at its feature (:func:`demo_feature`) and, where a run
needs it, focused on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from focuslock.optics.coc import coc_in_live_view
from focuslock.simulators.bench_config import BenchConfig, landmark_on_view
from focuslock.simulators.sim import LIVE_VIEW_ZOOMS, SimulatedBench

__all__ = ["DEMO_MIN_COC_PX", "DemoView", "demo_feature", "demo_swing_steps", "demo_view"]

# The demo shows the lock where it is at its best: the sensor's CoC spans at least this
# many live-view pixels (at 1024 px the bench's 28.8 µm CoC is 0.82 px, finer than live
# view resolves: the lock said so in a permanent warning and judged on sub-pixel changes).
DEMO_MIN_COC_PX = 2.0
# Zoomed in, the feature is one detail inside the depth of field: the engraved letters
# on the coin's rim (0.9 mm deep at 5×, in a depth of field of about 1.9 mm at f/5.6),
# where the numeral spans twice the depth of field.
_ZOOMED_FEATURE = "coin-letters"


@dataclass(frozen=True)
class DemoView:
    """What the demo shows: the bench (aimed and zoomed), its feature's name and box in
    the live view's pixels, the drive position where the feature is sharpest, the live
    view's zoom and the CoC in its pixels."""

    bench: SimulatedBench
    feature: str
    roi_px: tuple[int, int, int, int]
    best_steps: float
    zoom: float
    coc_px: float


def demo_view(config: BenchConfig) -> DemoView:
    """The bench as the demo uses it: live view zoomed (1×, 5× or 10×, as bodies offer)
    until the CoC spans :data:`DEMO_MIN_COC_PX`, on one detail inside the depth of field."""
    feature = demo_feature(config)
    config = config.aimed_at(feature)
    bench = SimulatedBench(config)
    width = config.live_view_size_px[0]
    coc_px = coc_in_live_view(width, sensor_width_mm=config.sensor_width_mm,
                              sensor_height_mm=config.sensor_height_mm).coc_px
    height = config.live_view_size_px[1]
    x, y, w, h = bench.landmark_roi_px(_ZOOMED_FEATURE)
    for zoom in LIVE_VIEW_ZOOMS[1:]:
        # The smallest zoom at which the CoC spans the minimum and the letters still fit
        # (at high magnification they fill the frame unzoomed: the demo stays at 1×).
        fits = w * zoom <= 0.8 * width and h * zoom <= 0.8 * height and min(w, h) >= 1
        if coc_px < DEMO_MIN_COC_PX <= coc_px * zoom and fits:
            best = bench.best_focus_position_steps((x, y, w, h))
            bench.set_live_view_zoom(zoom, (x + w / 2.0, y + h / 2.0))
            return DemoView(bench, _ZOOMED_FEATURE, bench.landmark_roi_px(_ZOOMED_FEATURE), best, zoom, coc_px * zoom)
    roi = bench.landmark_roi_px(feature)
    return DemoView(bench, feature, roi, bench.best_focus_position_steps(roi), 1.0, coc_px)


def demo_feature(config: BenchConfig) -> str:
    """The demo's feature: the coin's numeral where it fits in the frame, else the
    engraved letters on the coin's rim (4.5 mm wide: in frame up to 5×)."""
    _, (width_mm, height_mm) = landmark_on_view(config.scene, "coin-numeral")
    width_px, height_px = config.live_view_size_px
    mm_per_px = config.mm_per_px(width_px)
    fits = width_mm / mm_per_px <= 0.8 * width_px and height_mm / mm_per_px <= 0.8 * height_px
    return "coin-numeral" if fits else "coin-letters"


def demo_swing_steps(bench: SimulatedBench, roi: tuple[int, int, int, int], best_steps: float, blur_px: float,
                     zoom: float = 1.0) -> int:
    """How far to rack from the feature's best focus for it to blur by ``blur_px``
    (pixels of the live view, zoomed ``zoom``×); at most 2000 steps."""
    x, y, w, h = roi
    depth_mm = float(np.median(bench.truth_depth_map_mm()[y : y + h, x : x + w]))
    pitch_um = bench.sensor_pixel_pitch_um(bench.config.live_view_size_px[0]) / zoom
    for steps in range(5, 2000, 5):
        focus_mm = bench.focus_distance_at(best_steps + steps)
        if float(bench.blur_diameter_um(depth_mm, focus_mm)) / pitch_um > blur_px:
            return steps
    return 2000
