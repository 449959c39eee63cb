"""What the simulated bench knows and a camera cannot tell: the truth of every frame
(:class:`SimTruth`: where focus was, the aperture, where the subject sat) and, from it,
each pixel's blur and depth, the motor position that focuses a region best, the scene
with every depth in focus, and the boxes of its named details (:class:`BenchTruth`, a
part of :class:`focuslock.simulators.sim.SimulatedBench`). The oracle of the focus
engine's tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.core.frames import Frame
from focuslock.simulators.bench_config import landmark_on_view
from focuslock.simulators.sim_motion import crop_at
from focuslock.simulators.sim_optics import BenchOptics
from focuslock.simulators.sim_render import LayerBlurCache, composite

__all__ = ["BenchTruth", "SimTruth"]


@dataclass(frozen=True)
class SimTruth:
    """Ground truth of one live-view frame (stored in the frame's metadata)."""

    focus_position_steps: int
    focus_distance_mm: float
    f_number: float
    subject_offset_px: tuple[float, float]

    @classmethod
    def of(cls, frame: Frame) -> SimTruth:
        truth = frame.info.sim_truth
        if not isinstance(truth, SimTruth):
            raise ValueError("This frame did not come from the simulated bench.")
        return truth


class BenchTruth(BenchOptics):
    """The bench's ground truth, from its optics; the bench itself
    (:class:`~focuslock.simulators.sim.SimulatedBench`) gives the subject's place and the
    rendered layers it is read from."""

    subject_offset_px: tuple[float, float]
    open: Callable[[], None]
    _opened: bool
    _caches: list[LayerBlurCache] | None
    _all_in_focus_bgr: np.ndarray | None

    def truth_blur_map_um(self, frame: Frame | None = None) -> np.ndarray:
        """Total blur diameter on the sensor (µm) of what each pixel of a frame shows.

        Where a raised object covers the target more than half, its blur counts.
        """
        truth = SimTruth.of(frame) if frame is not None else None
        focus = truth.focus_distance_mm if truth else self.focus_distance_mm
        f_number = truth.f_number if truth else self.f_number
        offset = truth.subject_offset_px if truth else self.subject_offset_px
        blur_um = self.blur_diameter_um(self._visible_depth_mm(), focus, f_number).astype(np.float32)
        return self._crop_at(blur_um, offset)

    def truth_blur_map_px(self, frame: Frame | None = None) -> np.ndarray:
        """Total blur diameter in live-view pixels of what each pixel of a frame shows."""
        return self.truth_blur_map_um(frame) / self.live_view_pitch_um()

    def pixel_blur_um(self, x_px: int, y_px: int, frame: Frame | None = None) -> float:
        """Total blur diameter (µm on the sensor) at one live-view pixel."""
        return float(self.truth_blur_map_um(frame)[y_px, x_px])

    def region_blur_um(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Median total blur diameter (µm on the sensor) inside ``roi_px`` = (x, y, w, h)."""
        x, y, w, h = roi_px
        return float(np.median(self.truth_blur_map_um(frame)[y : y + h, x : x + w]))

    def truth_depth_map_mm(self, frame: Frame | None = None) -> np.ndarray:
        """Distance from the lens (mm) of what each pixel of a frame shows."""
        offset = SimTruth.of(frame).subject_offset_px if frame is not None else self.subject_offset_px
        return self._crop_at(self._visible_depth_mm(), offset)

    def region_blur_px(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Median total blur diameter (live-view px) inside ``roi_px`` = (x, y, w, h)."""
        x, y, w, h = roi_px
        return float(np.median(self.truth_blur_map_px(frame)[y : y + h, x : x + w]))

    def region_defocus_blur_px(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Median geometric defocus blur diameter (live-view px, diffraction left out)
        inside ``roi_px``: what the CoC criterion and the focus verdict judge."""
        x, y, w, h = roi_px
        truth = SimTruth.of(frame) if frame is not None else None
        depth = self.truth_depth_map_mm(frame)[y : y + h, x : x + w]
        geometric_um = self.geometric_blur_um(depth, truth.focus_distance_mm if truth else None, truth.f_number if truth else None)
        return float(np.median(geometric_um)) / self.live_view_pitch_um()

    def best_focus_position_steps(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Motor position (steps, no backlash) that best focuses a region's detail.

        A region on a tilted subject spans a range of depths; what a focus measure sees
        is its detail, so the depths are weighted by the detail (Laplacian energy) of the
        all-in-focus picture there.
        """
        x, y, w, h = roi_px
        depth = self.truth_depth_map_mm(frame)[y : y + h, x : x + w].astype(np.float64)
        grey = cv2.cvtColor(self.all_in_focus(frame)[y : y + h, x : x + w], cv2.COLOR_RGB2GRAY).astype(np.float32)
        weights = cv2.Laplacian(grey, cv2.CV_32F).astype(np.float64) ** 2 + 1e-6
        return self.position_for_distance(float((depth * weights).sum() / weights.sum()))

    def all_in_focus(self, frame: Frame | None = None) -> np.ndarray:
        """The scene with every depth in focus (no blur, noise or JPEG), as RGB."""
        if not self._opened:
            self.open()
        assert self._caches is not None
        if self._all_in_focus_bgr is None:
            zero = [np.zeros(cache.layer.depth_mm.shape, np.float32) for cache in self._caches]
            self._all_in_focus_bgr = composite(self._caches, zero)
        offset = SimTruth.of(frame).subject_offset_px if frame is not None else self.subject_offset_px
        return cv2.cvtColor(np.ascontiguousarray(self._crop_at(self._all_in_focus_bgr, offset)), cv2.COLOR_BGR2RGB)

    LANDMARKS = ("coin-numeral", "coin-letters", "droplet-highlight", "ruler", "star", "bars")

    def landmark_roi_px(self, name: str) -> tuple[int, int, int, int]:
        """A live-view box (x, y, w, h) around a named detail of the scene at its home
        position: ``coin-numeral``, ``coin-letters`` (engraved letters at the top of the
        rim), ``droplet-highlight``, ``ruler``, ``star``, ``bars``."""
        (x_mm, y_mm), (width_mm, height_mm) = landmark_on_view(self.config.scene, name)
        grid = self.live_view_grid
        col, row = grid.to_px(x_mm, y_mm)
        w = width_mm / grid.mm_per_px
        h = height_mm / grid.mm_per_px
        return int(round(col - w / 2)), int(round(row - h / 2)), max(8, int(round(w))), max(8, int(round(h)))

    def _visible_depth_mm(self) -> np.ndarray:
        if not self._opened:
            self.open()
        assert self._caches is not None
        depth = self._caches[0].layer.full_depth_mm().copy()
        for cache in self._caches[1:]:
            layer = cache.layer
            covered = layer.coverage >= 128
            region = depth[layer.rows, layer.cols]
            region[covered] = layer.full_depth_mm()[covered]
        return depth

    def _crop_at(self, full: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
        return crop_at(full, offset, self.config.live_view_size_px, self.config.motion_margin_px)
