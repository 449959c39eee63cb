"""How sharp is the chosen feature: focus measures on a region of interest.

Literature measures (Pertuz, Puig & Garcia 2013, "Analysis of focus measure operators
for shape-from-focus", Pattern Recognition 46):

* ``LAPM`` — modified Laplacian (Nayar): mean(|I∗[−1 2 −1]| + |I∗[−1 2 −1]ᵀ|).
* ``LAPV`` — variance of the Laplacian (Pech-Pacheco): var(∇²I).
* ``TENG`` — Tenengrad: mean(Gx² + Gy²) with 3×3 Sobel.
* ``GLVA`` — grey-level variance, reported as its standard deviation: std(I).

The default, ``NLAPV``, is LAPV made fit for a live view: the Laplacian's noise
variance (read from the frame) is subtracted, the root is taken so that the score falls
roughly as 1/blur, and it is divided by the region's mean level so that a one-stop
exposure change (which scales every pixel value, gamma-encoded or not) does not read
as a focus change.

Every reading carries ``noise_sd``: the frame-to-frame standard deviation of the score
that sensor noise alone would cause, so that the lock can tell a change from noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.focus.noise import MIN_SIGMA, single_frame_noise_sigma

__all__ = ["MEASURES", "DEFAULT_MEASURE", "FocusReading", "measure_roi"]

MEASURES = ("NLAPV", "LAPM", "LAPV", "TENG", "GLVA")
DEFAULT_MEASURE = "NLAPV"

# Neighbouring Laplacian values share pixels: roughly one independent sample per
# EFFECTIVE_AREA pixels when judging how noisy a mean over a region is.
_EFFECTIVE_AREA_PX = 4.0


@dataclass(frozen=True)
class FocusReading:
    """One sharpness reading of a region.

    ``score`` in the measure's units; ``noise_sd`` its expected frame-to-frame standard
    deviation from sensor noise; ``noise_floor`` what the measure reads on pure noise
    (flat, out-of-focus surface); ``mean_level`` the region's mean grey level (0–255).
    """

    measure: str
    score: float
    noise_sd: float
    noise_floor: float
    mean_level: float
    pixels: int

    @property
    def snr(self) -> float:
        return self.score / self.noise_sd if self.noise_sd > 0 else math.inf


def measure_roi(grey_roi: np.ndarray, measure: str = DEFAULT_MEASURE, *, noise_sigma: float | None = None) -> FocusReading:
    """Measure the sharpness of a grey region (uint8 or float32).

    ``noise_sigma``: the pixel noise σ from the one noise model (:mod:`.noise`); without
    it, estimated from the region itself.
    """
    if grey_roi.ndim != 2 or grey_roi.size < 9:
        raise ValueError("A focus measure needs a grey region of at least 3×3 pixels.")
    if measure not in MEASURES:
        raise ValueError(f"Unknown focus measure {measure!r}; use one of {', '.join(MEASURES)}.")
    pixels = int(grey_roi.size)
    mean_level = float(cv2.mean(grey_roi)[0])
    if measure in ("NLAPV", "LAPV"):
        depth = cv2.CV_16S if grey_roi.dtype == np.uint8 else cv2.CV_32F
        laplacian_roi = cv2.Laplacian(grey_roi, depth, ksize=1)
        # The 4-neighbour Laplacian's taps (1, 1, 1, 1, −4) have Σk² = 20.
        laplacian_noise = math.sqrt(20.0) * (noise_sigma if noise_sigma is not None else _grey_noise_sigma(grey_roi))
        mean, sd = cv2.meanStdDev(laplacian_roi)
        energy = float(sd[0, 0]) ** 2 + float(mean[0, 0]) ** 2
        noise_var = laplacian_noise**2
        n_eff = max(pixels / _EFFECTIVE_AREA_PX, 1.0)
        signal_var = max(energy - noise_var, 0.0)
        # var(mean of L²) for L = s + n, n ~ N(0, σ²): (4·s²·σ² + 2·σ⁴) / N.
        energy_sd = math.sqrt((4.0 * signal_var * noise_var + 2.0 * noise_var**2) / n_eff)
        if measure == "LAPV":
            return FocusReading(measure, energy, energy_sd, noise_var, mean_level, pixels)
        level = max(mean_level, 1.0)
        # d sqrt(x) = dx / (2 sqrt(x)); near zero signal the root's noise is sqrt(sd).
        root_sd = energy_sd / (2.0 * math.sqrt(signal_var)) if signal_var > energy_sd else math.sqrt(energy_sd)
        return FocusReading(measure, math.sqrt(signal_var) / level, root_sd / level, 0.0, mean_level, pixels)
    grey = grey_roi.astype(np.float32)
    noise = noise_sigma if noise_sigma is not None else _grey_noise_sigma(grey_roi)
    n_eff = max(pixels / _EFFECTIVE_AREA_PX, 1.0)
    if measure == "LAPM":
        kernel = np.array([[-1.0, 2.0, -1.0]], np.float32)
        score_map = np.abs(cv2.filter2D(grey, -1, kernel)) + np.abs(cv2.filter2D(grey, -1, kernel.T))
        score = float(score_map.mean())
        # Each term is |s + n| with n ~ N(0, 6σ²): on pure noise 2·√6·σ·√(2/π).
        floor = 2.0 * math.sqrt(6.0) * noise * math.sqrt(2.0 / math.pi)
        return FocusReading(measure, score, 2.0 * math.sqrt(6.0) * noise / math.sqrt(n_eff), floor, mean_level, pixels)
    if measure == "TENG":
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
        energy = float((gx * gx + gy * gy).mean())
        # The 3×3 Sobel has Σk² = 12 per direction.
        noise_var = 12.0 * noise**2
        floor = 2.0 * noise_var
        energy_sd = math.sqrt((8.0 * max(energy - floor, 0.0) * noise_var + 4.0 * noise_var**2) / n_eff)
        return FocusReading(measure, energy, energy_sd, floor, mean_level, pixels)
    # GLVA
    deviation = float(grey.std())
    return FocusReading(measure, deviation, noise / math.sqrt(n_eff), noise, mean_level, pixels)


def _grey_noise_sigma(grey: np.ndarray) -> float:
    return single_frame_noise_sigma(grey) if min(grey.shape) >= 5 else MIN_SIGMA
