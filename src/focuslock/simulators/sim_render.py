"""Depth-layered defocus for the simulated bench.

Each layer is blurred at a ladder of fixed blur levels once (cached: the levels do not
depend on where focus is). A frame then only blends, per pixel, the two levels that
bracket that pixel's blur, and composites the layers back to front with their blurred
coverage. Racking focus therefore costs a blend, not a convolution per pixel.

Blur is Gaussian with the same second moment as the geometric blur disk (σ = d/4),
combined in quadrature with diffraction's Airy pattern (σ ≈ 0.42·λ·N_e).
"""

from __future__ import annotations

import collections
import functools
import math
import threading

import cv2
import numpy as np

from focuslock.simulators.sim_scene import Layer

__all__ = ["BLUR_LEVELS_SIGMA_PX", "LayerBlurCache", "composite", "gaussian_blur", "shared_blur_caches"]

# Blur levels, in pixels of Gaussian σ: fine steps where the eye and a focus meter are
# sensitive (under 2 px), coarser beyond. Between two levels a pixel blends linearly.
BLUR_LEVELS_SIGMA_PX = np.array(
    [0.0, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.45, 1.75, 2.1, 2.5, 3.0, 3.6, 4.4, 5.4, 6.6, 8.0, 10.0, 12.5,
     15.5, 19.0, 24.0, 30.0, 38.0, 48.0, 60.0, 76.0, 96.0],
    dtype=np.float32,
)


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of σ ``sigma_px``; large blurs run on a smaller copy (same result
    within a fraction of a level, ten times faster)."""
    if sigma_px <= 0.05:
        return image.copy()
    if sigma_px < 0.8:
        # OpenCV samples the Gaussian at whole pixels, far narrower than asked below
        # σ ≈ 0.8 (σ = 0.25 comes out ≈ 0.03): the bench would under-blur small defocus.
        # The band-limited Gaussian (its transfer function exp(−2π²σ²f²) brought back to
        # pixels) blurs a pixel image as the continuous Gaussian blurs the picture, at
        # every frequency up to Nyquist.
        kernel = _band_limited_gaussian(round(float(sigma_px), 4))
        return cv2.sepFilter2D(image, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    if sigma_px < 6.0:
        return cv2.GaussianBlur(image, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    factor = 2 ** int(math.floor(math.log2(sigma_px / 3.0)))
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    # Area averaging already blurs by a box of `factor` pixels (σ² = factor²/12).
    residual = math.sqrt(max(sigma_px**2 - factor**2 / 12.0, 0.25)) / factor
    small = cv2.GaussianBlur(small, (0, 0), residual, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=64)
def _band_limited_gaussian(sigma_px: float, half_taps: int = 4) -> np.ndarray:
    size = 256
    frequencies = np.fft.fftfreq(size)
    kernel = np.fft.fftshift(np.real(np.fft.ifft(np.exp(-2.0 * math.pi**2 * sigma_px**2 * frequencies**2))))
    centre = size // 2
    kernel = kernel[centre - half_taps : centre + half_taps + 1]
    return (kernel / kernel.sum()).astype(np.float32)


class LayerBlurCache:
    """A layer and its blurred copies at each level, made on first use."""

    def __init__(self, layer: Layer, keep: bool = True) -> None:
        self.layer = layer
        self.keep = keep
        self._levels: dict[int, np.ndarray] = {}

    def level(self, index: int) -> np.ndarray:
        cached = self._levels.get(index)
        if cached is None:
            cached = gaussian_blur(self.layer.pixels, float(BLUR_LEVELS_SIGMA_PX[index]))
            if self.keep:
                self._levels[index] = cached
        return cached

    def blurred(self, sigma_px: np.ndarray) -> np.ndarray:
        """The layer blurred by a per-pixel σ map: shape (H, W), or (H, 1) when σ only
        changes from row to row (a plane tilted about the horizontal axis)."""
        levels = BLUR_LEVELS_SIGMA_PX
        sigma = np.clip(sigma_px, 0.0, float(levels[-1]) - 1e-3).astype(np.float32)
        lower = np.searchsorted(levels, sigma, side="right").astype(np.int16) - 1
        weight_hi = (sigma - levels[lower]) / (levels[lower + 1] - levels[lower])
        if sigma.shape[1] == 1 and self.layer.pixels.shape[1] != 1:
            return self._blurred_by_rows(lower[:, 0], weight_hi[:, 0])
        return self._blurred_by_pixels(lower, weight_hi)

    def _blurred_by_rows(self, lower: np.ndarray, weight_hi: np.ndarray) -> np.ndarray:
        out = np.empty_like(self.layer.pixels)
        width = out.shape[1]
        # Rows sharing a level pair form bands (σ is monotonic in depth); blend each band.
        changes = np.flatnonzero(np.diff(lower)) + 1
        starts = np.concatenate(([0], changes))
        ends = np.concatenate((changes, [len(lower)]))
        for r0, r1 in zip(starts, ends, strict=True):
            k = int(lower[r0])
            hi = np.ascontiguousarray(np.broadcast_to(weight_hi[r0:r1, None], (r1 - r0, width)))
            out[r0:r1] = cv2.blendLinear(self.level(k)[r0:r1], self.level(k + 1)[r0:r1], 1.0 - hi, hi)
        return out

    def _blurred_by_pixels(self, lower: np.ndarray, weight_hi: np.ndarray) -> np.ndarray:
        out = np.empty_like(self.layer.pixels)
        row_min, row_max = lower.min(axis=1), lower.max(axis=1)
        col_min, col_max = lower.min(axis=0), lower.max(axis=0)
        for k in range(int(row_min.min()), int(row_max.max()) + 1):
            rows = np.flatnonzero((row_min <= k) & (row_max >= k))
            cols = np.flatnonzero((col_min <= k) & (col_max >= k))
            if rows.size == 0 or cols.size == 0:
                continue
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            mask = lower[r0:r1, c0:c1] == k
            if not mask.any():
                continue
            hi = np.ascontiguousarray(weight_hi[r0:r1, c0:c1])
            blended = cv2.blendLinear(self.level(k)[r0:r1, c0:c1], self.level(k + 1)[r0:r1, c0:c1], 1.0 - hi, hi)
            np.copyto(out[r0:r1, c0:c1], blended, where=mask[..., None])
        return out


SHARED_LADDER_SETS = 2
_shared_ladders: collections.OrderedDict[tuple[int, ...], list[LayerBlurCache]] = collections.OrderedDict()
_shared_ladders_lock = threading.Lock()


def shared_blur_caches(layers: list[Layer]) -> list[LayerBlurCache]:
    """Blur ladders for ``layers``, shared by every bench showing the same (cached, read-only)
    layers: a bench made again after a pulled cable finds the levels it had already blurred
    instead of blurring them afresh — faster back to live view, and memory that does not
    swing with each reconnect. The last two sets are kept (each ladder holds the layers it
    was made for, so the ids in the key stay theirs)."""
    key = tuple(id(layer) for layer in layers)
    with _shared_ladders_lock:
        caches = _shared_ladders.get(key)
        if caches is None:
            caches = _shared_ladders[key] = [LayerBlurCache(layer) for layer in layers]
            while len(_shared_ladders) > SHARED_LADDER_SETS:
                _shared_ladders.popitem(last=False)
        else:
            _shared_ladders.move_to_end(key)
        return caches


def composite(caches: list[LayerBlurCache], sigma_maps: list[np.ndarray]) -> np.ndarray:
    """Blur each layer by its σ map and composite back to front into a BGR image.

    The first layer is opaque (BGR); the others are premultiplied BGRA over a box.
    """
    out = caches[0].blurred(sigma_maps[0])
    for cache, sigma in zip(caches[1:], sigma_maps[1:], strict=False):
        layer = cache.layer
        blurred = cache.blurred(sigma).astype(np.float32)
        coverage = blurred[..., 3:4] / 255.0
        region = out[layer.rows, layer.cols].astype(np.float32)
        # Premultiplied "over": what is behind shows through where the blurred rim thins.
        out[layer.rows, layer.cols] = np.clip(region * (1.0 - coverage) + blurred[..., :3], 0, 255).astype(np.uint8)
    return out
