"""The verdict quantity: how much defocus blur the feature has gained since it was locked.

A lens out of focus spreads every point into a disc. The feature's blur is estimated
against its own locked reference as the diameter ``d`` (live-view pixels) of the disc
that, convolved with the reference, explains the current view — Pentland's and
Subbarao's depth-from-defocus idea, done on band energies so that it does not depend on
where exactly the feature sits (a 0.5 px vibration is not a blur):

* ``fine``   — mean squared first difference (the band a small blur removes first);
* ``coarse`` — the same on a copy smoothed by a Gaussian of σ = ``COARSE_SIGMA_PX``.

Both have the noise's known share subtracted (the one noise model, :mod:`.noise`). Their
ratio ``q = fine / coarse`` falls monotonically as blur grows and is unchanged when the
light changes: a gain (one stop of exposure) or an offset (flare) scales or leaves both
bands alike.

At lock time :class:`BlurReference` blurs the reference patch by discs of known
diameters and records ``q(d)``: the feature's own through-focus curve. Every later view
is measured the same way (whole-pixel extraction on both sides, no resampling) and its
``q`` is read back through the curve to ``d``. A view sharper than the reference
reads negative: the reference blurred by ``|d|`` would read like the reference does
against the view (log-symmetric extension of the curve).

Each estimate carries its standard deviation from the noise (delta method on the
band energies through the slope of the curve) and says when it cannot resolve the
circle of confusion.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.focus.noise import first_difference_energy

__all__ = ["BandEnergies", "BlurEstimate", "BlurReference", "band_energies", "disc_kernel", "defocus", "fine_energy_sd",
           "view_margin_px"]

COARSE_SIGMA_PX = 2.0
# Diameters (as multiples of the CoC) at which the reference's through-focus curve is
# sampled; finer where the verdict's thresholds lie. Extended to at least 6 px absolute.
_CURVE_COC_MULTIPLES = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
_MIN_CURVE_SPAN_PX = 6.0
_SUPERSAMPLE = 16
# The coarse band must hold this many times the noise's share for the ratio to mean blur.
_MIN_COARSE_TO_NOISE = 25.0


@functools.lru_cache(maxsize=256)
def disc_kernel(diameter_px: float) -> np.ndarray:
    """A uniform disc of ``diameter_px`` (what a defocused lens does) as a kernel for a
    pixel image, float32, sum 1.

    The disc is supersampled and each sample is shared among the four nearest pixel
    centres (bilinear): a pixel image stands for a continuous picture, and a disc even
    smaller than one pixel softens it a little. Small discs are therefore exact, not a
    3-tap Gaussian far from the intended size; diameter 0 is the identity.
    """
    if not (diameter_px >= 0 and math.isfinite(diameter_px)):
        raise ValueError(f"A blur disc needs a finite diameter ≥ 0 px, got {diameter_px}.")
    radius = diameter_px / 2.0
    if radius < 1e-3:
        return np.ones((1, 1), np.float32)
    half = int(math.ceil(radius)) + 1
    n = 2 * half + 1
    steps = max(_SUPERSAMPLE, int(math.ceil(_SUPERSAMPLE * radius)))
    offsets = (np.arange(2 * steps) + 0.5) / steps - 1.0  # symmetric samples in (−1, 1)
    xx, yy = np.meshgrid(offsets * radius, offsets * radius)
    inside = xx * xx + yy * yy <= radius * radius
    xs, ys = xx[inside] + half, yy[inside] + half
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    kernel = np.zeros((n, n), np.float64)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), weight)
    return (kernel / kernel.sum()).astype(np.float32)


def view_margin_px(coc_px: float) -> int:
    """Context around the feature's box that a view carries: enough for the largest
    blur on the reference's curve and the coarse band's smoothing."""
    return int(math.ceil(max(_MIN_CURVE_SPAN_PX, 4.0 * coc_px) / 2.0)) + int(math.ceil(3 * COARSE_SIGMA_PX)) + 1


@functools.lru_cache(maxsize=8)
def _coarse_kernel_1d() -> np.ndarray:
    return cv2.getGaussianKernel(int(2 * math.ceil(3 * COARSE_SIGMA_PX) + 1), COARSE_SIGMA_PX, cv2.CV_32F)


@functools.lru_cache(maxsize=8)
def _coarse_kernel() -> np.ndarray:
    k = _coarse_kernel_1d().astype(np.float64)
    return (k @ k.T).astype(np.float32)


def _difference_energy(kernel: np.ndarray) -> float:
    """Σ (Δx k)² + Σ (Δy k)²: the first-difference energy of white noise of σ = 1 after
    filtering by ``kernel``."""
    padded = np.pad(kernel.astype(np.float64), 1)
    return float(np.sum(np.diff(padded, axis=1) ** 2) + np.sum(np.diff(padded, axis=0) ** 2))


@functools.lru_cache(maxsize=256)
def _noise_gains(diameter_px: float) -> tuple[float, float]:
    """(fine, coarse) band energy of unit white noise blurred by a disc of ``diameter_px``."""
    disc = disc_kernel(diameter_px)
    fine = _difference_energy(disc)
    coarse = _difference_energy(cv2.filter2D(np.pad(disc, _coarse_kernel().shape[0] // 2), -1, _coarse_kernel(),
                                             borderType=cv2.BORDER_CONSTANT))
    return fine, coarse


@dataclass(frozen=True)
class BandEnergies:
    """Signal energy of a patch in the fine and coarse bands (noise subtracted), the
    standard deviation of ``fine`` from noise, and the pixel count."""

    fine: float
    coarse: float
    fine_sd: float
    pixels: int
    coarse_noise: float = 0.0

    @property
    def ratio(self) -> float:
        return self.fine / self.coarse if self.coarse > 0 else 0.0

    @property
    def coarse_resolved(self) -> bool:
        """The coarse band holds enough signal above its noise for the ratio to mean blur
        (not so for a very fine or very plain pattern)."""
        return self.coarse >= _MIN_COARSE_TO_NOISE * self.coarse_noise


def fine_energy_sd(fine: float, fine_noise: float, pixels: int) -> float:
    """Standard deviation from noise of a noise-corrected fine-band energy ``fine`` whose
    noise share was ``fine_noise``, over ``pixels`` pixels.

    Per axis the first differences are s + n with var(n) = fine_noise/2; var(mean of
    (s + n)²) = (4·s²·v + 2·v²)/N. Neighbouring differences share a pixel: about one
    independent sample per two pixels.
    """
    v = fine_noise / 2.0
    n_eff = max(pixels / 2.0, 1.0)
    return math.sqrt(2.0 * (2.0 * max(fine, 0.0) * v + 2.0 * v * v) / n_eff)


def band_energies(patch: np.ndarray, noise_sigma: float, noise_blur_px: float = 0.0, *, margin_px: int = 0) -> BandEnergies:
    """Noise-corrected band energies of a grey patch.

    ``margin_px`` pixels on every side are context only (so that the coarse band's
    smoothing sees real picture, not a mirrored border); energies are over the inside.
    ``noise_blur_px``: the patch's noise has been blurred by a disc of that diameter (a
    reference blurred for the through-focus curve), which shrinks its energy.
    """
    image = patch.astype(np.float32, copy=False)
    kernel = _coarse_kernel_1d()
    coarse_image = cv2.sepFilter2D(image, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    m = margin_px
    inner = image[m : image.shape[0] - m, m : image.shape[1] - m] if m else image
    coarse_inner = coarse_image[m : image.shape[0] - m, m : image.shape[1] - m] if m else coarse_image
    if inner.shape[0] < 3 or inner.shape[1] < 3:
        raise ValueError("The feature must be at least 3×3 pixels to measure its blur.")
    fine_raw = first_difference_energy(inner)
    coarse_raw = first_difference_energy(coarse_inner)
    fine_gain, coarse_gain = _noise_gains(round(noise_blur_px, 4))
    noise_var = noise_sigma * noise_sigma
    fine_noise = noise_var * fine_gain
    fine = fine_raw - fine_noise
    coarse_noise = noise_var * coarse_gain
    coarse = coarse_raw - coarse_noise
    pixels = int(inner.size)
    return BandEnergies(fine, coarse, fine_energy_sd(fine, fine_noise, pixels), pixels, coarse_noise)


def defocus(patch: np.ndarray, diameter_px: float) -> np.ndarray:
    """``patch`` blurred by a disc of ``diameter_px`` (float32)."""
    return cv2.filter2D(patch.astype(np.float32, copy=False), cv2.CV_32F, disc_kernel(diameter_px),
                        borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class BlurEstimate:
    """The feature's added blur against its reference.

    ``blur_px``: disc diameter in live-view pixels (negative: sharper than the lock);
    ``blur_sd_px``: its standard deviation from noise; ``beyond_range``: blurred past the
    end of the reference's curve (``blur_px`` is then a lower bound); ``no_detail``: the
    fine band holds no signal above the noise at all.
    """

    blur_px: float
    blur_sd_px: float
    energies: BandEnergies
    beyond_range: bool = False
    no_detail: bool = False


class BlurReference:
    """The locked feature's through-focus curve and the reading of later views.

    ``views``: one or more aligned, whole-pixel views of the still feature with
    ``margin_px`` of context on every side (the curve is averaged over them, which
    averages out their noise); ``coc_px``: the permissible circle of confusion in
    live-view pixels, which sets the curve's span.
    """

    def __init__(self, views: list[np.ndarray], noise_sigma: float, coc_px: float, margin_px: int) -> None:
        if not views:
            raise ValueError("A blur reference needs at least one view of the feature.")
        if not (coc_px > 0 and math.isfinite(coc_px)):
            raise ValueError(f"The circle of confusion must be a positive number of pixels, got {coc_px}.")
        self.coc_px = float(coc_px)
        self.margin_px = int(margin_px)
        self.noise_sigma = float(noise_sigma)
        span = max(_MIN_CURVE_SPAN_PX, 4.0 * coc_px)
        diameters = sorted({round(coc_px * m, 4) for m in _CURVE_COC_MULTIPLES if coc_px * m <= span} | {round(span, 4)})
        self.diameters_px = np.array(diameters, np.float64)
        fine = np.zeros(len(diameters))
        coarse = np.zeros(len(diameters))
        for view in views:
            for i, d in enumerate(diameters):
                e = band_energies(defocus(view, d), noise_sigma, d, margin_px=margin_px)
                fine[i] += e.fine
                coarse[i] += e.coarse
        fine /= len(views)
        coarse /= len(views)
        self.reference = band_energies(views[0], noise_sigma, margin_px=margin_px)
        self.fine_curve = fine
        ratio = np.where(coarse > 0, fine / np.maximum(coarse, 1e-12), 0.0)
        # Noise left in the average can make neighbouring samples cross: force the curve
        # to fall (a blur never adds detail).
        self._log_ratio = np.log(np.minimum.accumulate(np.maximum(ratio, 1e-9)))

    # ------------------------------------------------------------------ reading

    def blur_for_ratio(self, ratio: float) -> tuple[float, bool]:
        """Blur diameter (px) whose curve value is ``ratio``; and whether it lies beyond
        the curve (then the end of the curve, a lower bound)."""
        log_curve = self._log_ratio
        if ratio <= 0:
            return float(self.diameters_px[-1]), True
        value = math.log(ratio)
        if value > log_curve[0]:
            # Sharper than the lock: the reference blurred by |d| relates to the
            # reference as the reference relates to this view.
            mirrored = 2.0 * log_curve[0] - value
            d, beyond = self._interpolate(mirrored)
            return -d, beyond
        return self._interpolate(value)

    def _interpolate(self, log_value: float) -> tuple[float, bool]:
        log_curve = self._log_ratio
        if log_value < log_curve[-1]:
            return float(self.diameters_px[-1]), True
        # log_curve falls with d: interpolate on the reversed arrays.
        return float(np.interp(log_value, log_curve[::-1], self.diameters_px[::-1])), False

    def slope_at(self, blur_px: float) -> float:
        """|d log q / d d| of the curve at ``blur_px`` (per px), never zero."""
        d = abs(blur_px)
        diameters = self.diameters_px
        i = int(np.clip(np.searchsorted(diameters, d) - 1, 0, len(diameters) - 2))
        slope = (self._log_ratio[i] - self._log_ratio[i + 1]) / (diameters[i + 1] - diameters[i])
        # Never flatter than the curve's mean slope over its whole span / 20: a plateau
        # from forced monotonicity must not make an estimate look infinitely uncertain.
        mean_slope = (self._log_ratio[0] - self._log_ratio[-1]) / (diameters[-1] - diameters[0])
        return float(max(slope, mean_slope / 20.0, 1e-6))

    def estimate(self, view: np.ndarray, noise_sigma: float) -> BlurEstimate:
        """The blur of ``view`` (same size and margin as the reference views)."""
        energies = band_energies(view, noise_sigma, margin_px=self.margin_px)
        if energies.fine <= 2.0 * energies.fine_sd or energies.coarse <= 0:
            # No detail above the noise: blurred at least past the end of the curve.
            return BlurEstimate(float(self.diameters_px[-1]), math.inf, energies, beyond_range=True, no_detail=True)
        if not energies.coarse_resolved:
            # The coarse band is mostly noise (a very fine or very plain pattern): the
            # ratio says nothing about blur. Report it as unresolvable, never as sharp.
            blur, beyond = self.blur_for_ratio(energies.ratio)
            return BlurEstimate(blur, math.inf, energies, beyond_range=beyond)
        blur, beyond = self.blur_for_ratio(energies.ratio)
        # The coarse band is far less noisy than the fine one: the ratio's relative
        # noise is the fine band's.
        relative_sd = energies.fine_sd / energies.fine
        return BlurEstimate(blur, relative_sd / self.slope_at(blur), energies, beyond_range=beyond)
