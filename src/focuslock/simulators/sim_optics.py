"""The simulated bench's optics and view: thin-lens blur and the live-view pixel grid
(:class:`BenchOptics`, a part of :class:`focuslock.simulators.sim.SimulatedBench`).

Optics are thin-lens. For an object at distance s (mm from the lens) with focus at s_f::

    v(s) = f·s / (s − f)                     image distance
    m(s) = f / (s − f)                        magnification
    N_w  = N · (1 + m/P)                      working (effective) f-number, P = pupil ratio
    geometric blur diameter on the sensor  = |v(s) − v(s_f)| / N_w
    Airy disk diameter (to the first zero) = 2.44 · λ · N_w

The total blur is reported as the diameter of the disk with the same second moment as
the combined blur: d = 4·sqrt((d_geo/4)² + (0.42·λ·N_w)²).
"""

from __future__ import annotations

import numpy as np

from focuslock.devices.zoom import ZoomWindow
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim_scene import ViewGrid

__all__ = ["BenchOptics"]


class BenchOptics:
    """Where focus is, how blurred a depth is, and the live-view grid, from the bench's
    ``config``, its zoom window, the glass's position (after backlash) and ``f_number``."""

    config: BenchConfig
    f_number: float
    _zoom_window: ZoomWindow | None
    _lens_position_steps: float
    # How far a rail or turntable (simulators/sim_stage.py) has moved the subject against
    # the plane of focus, mm (positive: the plane of focus lies deeper in the subject).
    _stage_shift_mm: float = 0.0

    @property
    def live_view_grid(self) -> ViewGrid:
        """The live-view pixel grid, before the margin for subject motion (zoomed: the
        zoom window's part of the unzoomed view, at the zoom's finer pitch)."""
        width, height = self.config.live_view_size_px
        cx, cy = self.config.view_centre_mm
        mm_per_px = self.config.mm_per_px(width)
        zoom = self._zoom_window
        if zoom is None or zoom.zoom == 1.0:
            return ViewGrid(width, height, mm_per_px, cx, cy)
        # The window's centre, in the unzoomed view's edge coordinates, as mm.
        centre_col, centre_row = zoom.centre_px
        return ViewGrid(width, height, mm_per_px / zoom.zoom, cx + (centre_col - width / 2) * mm_per_px,
                        cy + (centre_row - height / 2) * mm_per_px)

    @property
    def live_view_zoom(self) -> float:
        return 1.0 if self._zoom_window is None else self._zoom_window.zoom

    def live_view_pitch_um(self) -> float:
        """The sensor's width per live-view pixel (µm), at the present zoom."""
        return self.sensor_pixel_pitch_um(self.config.live_view_size_px[0]) / self.live_view_zoom

    @property
    def focus_distance_mm(self) -> float:
        """Where the plane of focus is, mm from the lens (the truth, after backlash)."""
        cfg = self.config
        return cfg.subject_distance + self._lens_position_steps * cfg.focus_step_um / 1000.0 + self._stage_shift_mm

    def focus_distance_at(self, position_steps: float) -> float:
        cfg = self.config
        return cfg.subject_distance + position_steps * cfg.focus_step_um / 1000.0

    def position_for_distance(self, distance_mm: float) -> float:
        """The motor position (steps, with no backlash) that focuses at ``distance_mm``."""
        cfg = self.config
        return (distance_mm - cfg.subject_distance) * 1000.0 / cfg.focus_step_um

    # -------------------------------------------------------------------- optics
    def blur_diameter_um(self, depth_mm: np.ndarray | float, focus_distance_mm: float | None = None,
                         f_number: float | None = None) -> np.ndarray:
        """Total blur diameter on the sensor (µm) of objects at ``depth_mm``."""
        geometric_um, diffraction_sigma_um = self._blur_components_um(depth_mm, focus_distance_mm, f_number)
        return 4.0 * np.sqrt((geometric_um / 4.0) ** 2 + diffraction_sigma_um**2)

    def geometric_blur_um(self, depth_mm: np.ndarray | float, focus_distance_mm: float | None = None,
                          f_number: float | None = None) -> np.ndarray:
        return self._blur_components_um(depth_mm, focus_distance_mm, f_number)[0]

    def _blur_components_um(self, depth_mm: np.ndarray | float, focus_distance_mm: float | None,
                            f_number: float | None) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        f = cfg.focal_length_mm
        s_f = self.focus_distance_mm if focus_distance_mm is None else focus_distance_mm
        n = self.f_number if f_number is None else f_number
        s = np.asarray(depth_mm, dtype=np.float64)
        v = f * s / (s - f)
        v_f = f * s_f / (s_f - f)
        m = f / (s - f)
        working_n = n * (1.0 + m / cfg.pupil_ratio)
        geometric_um = np.abs(v - v_f) / working_n * 1000.0
        diffraction_sigma_um = 0.42 * cfg.wavelength_nm * 1e-3 * working_n
        return geometric_um, diffraction_sigma_um

    def sensor_pixel_pitch_um(self, width_px: int) -> float:
        return self.config.sensor_width_mm * 1000.0 / width_px
