"""The demo on the simulated bench: which feature it shows, and how far it racks focus.

``focuslock demo``, ``calibrate focus-steps``, ``mark`` and ``stack-shoot`` on the bench
all start as the demo does: aimed at its feature (:func:`demo_feature`) and, where a run
needs it, focused on it.
"""

from __future__ import annotations

import numpy as np

from focuslock.simulators.sim import BenchConfig, SimulatedBench, landmark_on_view

__all__ = ["demo_feature", "demo_swing_steps"]


def demo_feature(config: BenchConfig) -> str:
    """The demo's feature: the coin's numeral where it fits in the frame, else the
    engraved letters on the coin's rim (4.5 mm wide: in frame up to 5×)."""
    _, (width_mm, height_mm) = landmark_on_view(config.scene, "coin-numeral")
    width_px, height_px = config.live_view_size_px
    mm_per_px = config.mm_per_px(width_px)
    fits = width_mm / mm_per_px <= 0.8 * width_px and height_mm / mm_per_px <= 0.8 * height_px
    return "coin-numeral" if fits else "coin-letters"


def demo_swing_steps(bench: SimulatedBench, roi: tuple[int, int, int, int], best_steps: float, blur_px: float) -> int:
    """How far to rack from the feature's best focus for it to blur by ``blur_px``
    (live-view pixels); at most 2000 steps."""
    x, y, w, h = roi
    depth_mm = float(np.median(bench.truth_depth_map_mm()[y : y + h, x : x + w]))
    pitch_um = bench.sensor_pixel_pitch_um(bench.config.live_view_size_px[0])
    for steps in range(5, 2000, 5):
        focus_mm = bench.focus_distance_at(best_steps + steps)
        if float(bench.blur_diameter_um(depth_mm, focus_mm)) / pitch_um > blur_px:
            return steps
    return 2000
