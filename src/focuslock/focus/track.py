"""Follow the chosen feature from frame to frame.

Normalised cross-correlation of the feature's template in a search window around where
a constant-velocity model expects it, refined to sub-pixel by fitting a parabola through
the correlation peak. Template and window are both smoothed a little first, so that the
blur change of a focus rack and the slight scale change of focus breathing move the
peak's height, not its place. A peak that is too low (the feature left the frame, was
covered, or changed beyond recognition) is reported as lost; the tracker then searches
a wider window around the last place it saw the feature until it finds it again.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.core.box import feature_box

__all__ = ["FeatureTracker", "TrackResult", "TrackSettings"]


@dataclass(frozen=True)
class TrackSettings:
    """How far the tracker searches and the correlations at which it loses and finds the feature."""

    search_radius_px: int = 24  # beyond the predicted position, at least
    lost_below: float = 0.45  # correlation under which the feature counts as lost
    found_above: float = 0.75  # correlation needed to pick it up again once lost (text repeats)
    smoothing_sigma_px: float = 1.0
    quick_accept: float = 0.9  # correlation at the predicted place that skips the search


@dataclass(frozen=True)
class TrackResult:
    """Where the feature is in this frame.

    ``roi_px`` = (x, y, w, h) as floats (sub-pixel); ``shift_px`` the move since the
    previous frame; ``confidence`` the normalised correlation (1 = identical).
    """

    roi_px: tuple[float, float, float, float]
    shift_px: tuple[float, float]
    confidence: float
    lost: bool

    @property
    def roi_int(self) -> tuple[int, int, int, int]:
        x, y, w, h = self.roi_px
        return int(round(x)), int(round(y)), int(w), int(h)


class FeatureTracker:
    """Tracks one template through grey frames. Not thread-safe: one thread owns it.

    Two stages: normalised cross-correlation on a half- (or smaller) size copy finds the
    feature within a pixel or two, robustly and with a confidence; then Lucas–Kanade
    steps on the full-size, lightly smoothed patch (zero mean, unit variance, so that an
    exposure change does not pull it) refine the position to a small fraction of a pixel.
    """

    def __init__(self, grey: np.ndarray, roi_px: tuple[float, float, float, float], settings: TrackSettings | None = None) -> None:
        self.settings = settings or TrackSettings()
        height, width = grey.shape[:2]
        x, y, w, h = feature_box(roi_px).check_inside(width, height).as_tuple()
        self._setup(grey[y : y + h, x : x + w], x, y)

    @classmethod
    def from_template(cls, patch: np.ndarray, position_px: tuple[float, float], settings: TrackSettings | None = None
                      ) -> FeatureTracker:
        """A tracker for a feature seen elsewhere (``patch``), expected near ``position_px``."""
        tracker = cls.__new__(cls)
        tracker.settings = settings or TrackSettings()
        h, w = patch.shape[:2]
        feature_box((0, 0, w, h))  # the size a feature must have to be followed
        tracker._setup(patch, *position_px)
        return tracker

    def _setup(self, patch: np.ndarray, x: float, y: float) -> None:
        h, w = patch.shape[:2]
        self.size = (w, h)
        raw = patch.astype(np.float32)
        self.template = _normalised(self._smooth(raw))
        gx = cv2.Sobel(self.template, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
        gy = cv2.Sobel(self.template, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
        # The patch's border pixels see outside it; leave them out of the solve.
        inner_gx, inner_gy = gx[1:-1, 1:-1].ravel(), gy[1:-1, 1:-1].ravel()
        hessian = np.array([[inner_gx @ inner_gx, inner_gx @ inner_gy], [inner_gx @ inner_gy, inner_gy @ inner_gy]], np.float64)
        # The aperture problem: a feature with structure in one direction only (barcode
        # bars, a straight edge) gives no fix along its lines. Along that axis the box
        # keeps its predicted place instead of sliding, and the solve uses the strong
        # axis alone.
        eigenvalues, eigenvectors = np.linalg.eigh(hessian)
        self._weak_axis = None
        if eigenvalues[1] <= 1e-9:
            self._inverse_hessian = None  # a flat patch: nothing to refine on
        elif eigenvalues[0] < 0.02 * eigenvalues[1]:
            self._weak_axis = eigenvectors[:, 0]
            strong = eigenvectors[:, 1:2]
            self._inverse_hessian = (strong @ strong.T) / eigenvalues[1]
        else:
            self._inverse_hessian = np.linalg.inv(hessian)
        self._step_rows = None
        if self._inverse_hessian is not None:
            # The Lucas–Kanade step as one projection of the raw patch: rows of
            # H⁻¹·[gx; gy] laid over the whole patch (zero on its border), so that with
            # patch = (raw − m)/s the step H⁻¹·[gx; gy]·(patch − template) is
            # (rows·raw − m·Σrows)/s − rows·template. No normalised copy per step.
            rows = np.zeros((2, h, w), np.float64)
            rows[0, 1:-1, 1:-1] = gx[1:-1, 1:-1]
            rows[1, 1:-1, 1:-1] = gy[1:-1, 1:-1]
            rows = (self._inverse_hessian @ rows.reshape(2, -1)).astype(np.float32)
            self._step_rows = rows
            # (Python floats: the step's arithmetic on two numbers costs less than on arrays,
            # and gives the same doubles.)
            self._step_rows_sum = tuple(rows.sum(axis=1, dtype=np.float64).tolist())
            self._step_of_template = tuple((rows @ self.template.ravel()).tolist())
        self._template_flat = np.ascontiguousarray(self.template.ravel())
        # Coarse matching on a reduced copy: the template a few dozen pixels across.
        self.coarse_levels = 1
        while max(w, h) >> (self.coarse_levels + 1) >= 24 and (min(w, h) >> (self.coarse_levels + 1)) >= 8:
            self.coarse_levels += 1
        if min(w, h) >> self.coarse_levels < 6:
            self.coarse_levels = 0
        self.coarse_template = self._reduce(raw, self.coarse_levels)
        self.position = (float(x), float(y))
        self.velocity = (0.0, 0.0)
        self.lost = False
        self.frames_lost = 0

    def _smooth(self, patch: np.ndarray) -> np.ndarray:
        """The patch (uint8 or float32) lightly smoothed, as float32: one separable
        Gaussian pass that also converts, instead of a conversion and then a blur."""
        sigma = self.settings.smoothing_sigma_px
        if sigma <= 0:
            return patch.astype(np.float32, copy=False)
        kernel = _gaussian_kernel(sigma)
        return cv2.sepFilter2D(patch, cv2.CV_32F, kernel, kernel)

    @staticmethod
    def _reduce(image: np.ndarray, levels: int) -> np.ndarray:
        for _ in range(levels):
            image = cv2.pyrDown(image)
        return image

    def search_margin_px(self) -> int:
        """How far beyond the feature's box the next search may look (a caller that
        passes only part of the frame to :meth:`update` must include this margin)."""
        vx, vy = self.velocity if not self.lost else (0.0, 0.0)
        radius = self.settings.search_radius_px + int(math.ceil(math.hypot(vx, vy) * 0.5))
        if self.lost:
            radius = radius * (2 + min(self.frames_lost, 6))
        return radius + int(math.ceil(max(abs(vx), abs(vy)))) + self.coarse_levels * 4 + 8

    def update(self, grey: np.ndarray, origin_px: tuple[int, int] = (0, 0)) -> TrackResult:
        """Find the feature in the next frame.

        ``grey`` may be the whole frame, or only the part of it around the feature whose
        top-left corner sits at ``origin_px`` in the frame (at least
        :meth:`search_margin_px` beyond the box on every side the frame has).
        """
        ox, oy = origin_px
        if ox or oy:
            self.position = (self.position[0] - ox, self.position[1] - oy)
            try:
                result = self._update(grey)
            finally:
                self.position = (self.position[0] + ox, self.position[1] + oy)
            x, y, w, h = result.roi_px
            return TrackResult((x + ox, y + oy, w, h), result.shift_px, result.confidence, result.lost)
        return self._update(grey)

    def _update(self, grey: np.ndarray) -> TrackResult:
        w, h = self.size
        height, width = grey.shape[:2]
        px, py = self.position
        vx, vy = self.velocity if not self.lost else (0.0, 0.0)
        radius = self.settings.search_radius_px + int(math.ceil(math.hypot(vx, vy) * 0.5))
        if self.lost:
            radius = min(radius * (2 + min(self.frames_lost, 6)), max(width, height))
        expected_x, expected_y = px + vx, py + vy
        if not self.lost:
            # Where the motion model says: a few Lucas–Kanade steps settle it when the
            # prediction was close (a still or smoothly moving subject, nearly always);
            # only a surprise pays for the correlation search.
            found_x, found_y, confidence = self._refine(grey, expected_x, expected_y)
            if confidence >= self.settings.quick_accept and math.hypot(found_x - expected_x, found_y - expected_y) < 1.5:
                return self._found(found_x, found_y, confidence)
        # The window spans both the last place and the predicted one, so that a
        # subject that stops or turns round is still inside it.
        x0 = max(int(math.floor(min(px, expected_x))) - radius, 0)
        y0 = max(int(math.floor(min(py, expected_y))) - radius, 0)
        x1 = min(int(math.ceil(max(px, expected_x))) + w + radius, width)
        y1 = min(int(math.ceil(max(py, expected_y))) + h + radius, height)
        if x1 - x0 < w or y1 - y0 < h:
            return self._lose(0.0)
        scale = float(2**self.coarse_levels)
        coarse = self._coarse(grey[y0:y1, x0:x1], ((expected_x - x0) / scale, (expected_y - y0) / scale))
        if coarse is None:
            return self._lose(0.0)
        found_x, found_y = self._constrain(x0 + coarse[0], y0 + coarse[1], expected_x, expected_y)
        found_x, found_y, confidence = self._refine(grey, found_x, found_y)
        threshold = self.settings.found_above if self.lost else self.settings.lost_below
        if confidence < threshold:
            return self._lose(confidence)
        return self._found(found_x, found_y, confidence)

    def _constrain(self, x: float, y: float, expected_x: float, expected_y: float) -> tuple[float, float]:
        """Drop the part of a move that lies along the feature's weak axis, if it has one."""
        if self._weak_axis is None:
            return x, y
        dx, dy = x - expected_x, y - expected_y
        along = dx * self._weak_axis[0] + dy * self._weak_axis[1]
        return x - along * self._weak_axis[0], y - along * self._weak_axis[1]

    def _found(self, found_x: float, found_y: float, confidence: float) -> TrackResult:
        px, py = self.position
        vx, vy = self.velocity
        w, h = self.size
        shift = (found_x - px, found_y - py)
        # Smoothed velocity: a single noisy step must not throw the next search off.
        self.velocity = shift if self.lost else (0.5 * shift[0] + 0.5 * vx, 0.5 * shift[1] + 0.5 * vy)
        self.position = (found_x, found_y)
        self.lost = False
        self.frames_lost = 0
        return TrackResult((found_x, found_y, float(w), float(h)), shift, confidence, False)

    def _coarse(self, window: np.ndarray, expected_small: tuple[float, float]) -> tuple[float, float] | None:
        small = self._reduce(window.astype(np.float32), self.coarse_levels)
        template = self.coarse_template
        if small.shape[0] < template.shape[0] or small.shape[1] < template.shape[1]:
            return None
        scale = float(2**self.coarse_levels)
        scores = cv2.matchTemplate(small, template, cv2.TM_CCOEFF_NORMED)
        # Repeating patterns (text, bars, pins) give several near-equal peaks: prefer
        # the one nearest to where the feature is expected, by a small margin per pixel.
        rows, cols = np.mgrid[: scores.shape[0], : scores.shape[1]].astype(np.float32)
        distance = np.hypot(cols - expected_small[0], rows - expected_small[1])
        x, y, _ = _peak(scores - np.float32(_NEARBY_PREFERENCE_PER_PX * scale) * distance, scores)
        return x * scale, y * scale

    def _refine(self, grey: np.ndarray, x: float, y: float, iterations: int = 3) -> tuple[float, float, float]:
        """Lucas–Kanade steps from (x, y); returns the position and the patch's NCC."""
        w, h = self.size
        height, width = grey.shape[:2]
        # Smooth once, around where the feature can be after the steps (at most 1 px each).
        margin = iterations + 3
        rx0, ry0 = max(int(math.floor(x)) - margin, 0), max(int(math.floor(y)) - margin, 0)
        rx1, ry1 = min(int(math.ceil(x)) + w + margin, width), min(int(math.ceil(y)) + h + margin, height)
        region = self._smooth(grey[ry0:ry1, rx0:rx1])

        def patch_at(px: float, py: float) -> tuple[np.ndarray, float, float] | None:
            """The raw patch there (flat), its mean and standard deviation."""
            if px < rx0 or py < ry0 or px + w > rx1 or py + h > ry1:
                return None
            centre = (px - rx0 + (w - 1) / 2, py - ry0 + (h - 1) / 2)
            raw = cv2.getRectSubPix(region, (w, h), centre).ravel()
            mean, sd = cv2.meanStdDev(raw)
            return raw, float(mean[0, 0]), max(float(sd[0, 0]), 1e-3)

        patch = patch_at(x, y)
        for _ in range(iterations):
            if patch is None or self._step_rows is None:
                break
            raw, mean, sd = patch
            along_x, along_y = (self._step_rows @ raw).tolist()
            (sum_x, sum_y), (template_x, template_y) = self._step_rows_sum, self._step_of_template
            dx, dy = (along_x - mean * sum_x) / sd - template_x, (along_y - mean * sum_y) / sd - template_y
            if self._weak_axis is not None:  # no step along lines that all look alike
                along = dx * self._weak_axis[0] + dy * self._weak_axis[1]
                dx, dy = dx - along * self._weak_axis[0], dy - along * self._weak_axis[1]
            # The patch is the template moved by (x − true x): step against the error.
            dx, dy = max(-1.0, min(1.0, float(dx))), max(-1.0, min(1.0, float(dy)))
            if abs(dx) < 0.05 and abs(dy) < 0.05:
                break  # the view is cut at the whole pixel: a finer step is moot (and costs a patch)
            x, y = x - dx, y - dy
            patch = patch_at(x, y)
        if patch is None:
            return x, y, 0.0
        # NCC: the mean of the product of the normalised patch and the template; the
        # template has zero mean, so the patch's mean drops out.
        raw, _, sd = patch
        return x, y, float(np.dot(raw, self._template_flat)) / (sd * raw.size)

    def _lose(self, confidence: float) -> TrackResult:
        self.lost = True
        self.frames_lost += 1
        w, h = self.size
        return TrackResult((self.position[0], self.position[1], float(w), float(h)), (0.0, 0.0), confidence, True)


@functools.lru_cache(maxsize=8)
def _gaussian_kernel(sigma_px: float) -> np.ndarray:
    # The size cv2.GaussianBlur picks for float images: 8σ + 1, odd.
    size = int(round(sigma_px * 8 + 1)) | 1
    return cv2.getGaussianKernel(size, sigma_px, cv2.CV_32F)


def _normalised(patch: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation (a flat patch stays flat)."""
    mean, sd = cv2.meanStdDev(patch)
    return (patch - float(mean[0, 0])) / max(float(sd[0, 0]), 1e-3)


# Correlation a candidate may give up per pixel of distance from the expected place.
_NEARBY_PREFERENCE_PER_PX = 0.002


def _peak(ranking: np.ndarray, scores: np.ndarray | None = None) -> tuple[float, float, float]:
    """Sub-pixel position (x, y) of the best of ``ranking``, and its correlation."""
    scores = ranking if scores is None else scores
    _, _, _, (bx, by) = cv2.minMaxLoc(ranking)
    dx = _parabola(scores, by, bx, axis=1)
    dy = _parabola(scores, by, bx, axis=0)
    return bx + dx, by + dy, float(scores[by, bx])


def _parabola(scores: np.ndarray, row: int, col: int, axis: int) -> float:
    """Offset of a parabola's vertex through the peak and its two neighbours."""
    if axis == 1:
        if col == 0 or col == scores.shape[1] - 1:
            return 0.0
        left, centre, right = scores[row, col - 1], scores[row, col], scores[row, col + 1]
    else:
        if row == 0 or row == scores.shape[0] - 1:
            return 0.0
        left, centre, right = scores[row - 1, col], scores[row, col], scores[row + 1, col]
    denominator = float(left - 2 * centre + right)
    if denominator >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))
