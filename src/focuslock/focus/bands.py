"""Blur discs and band energies: what a defocused lens does to a patch, and how much fine and coarse detail is left.

:func:`disc_kernel` is a uniform disc drawn without aliasing; :func:`band_energies`
measures a patch's fine band (first differences) and coarse band (after a Gaussian of
``COARSE_SIGMA_PX``) with the noise's known share subtracted (:mod:`.noise`). The blur
estimate (:mod:`.defocus`) reads their ratio.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from focuslock.focus.noise import first_difference_energy

COARSE_SIGMA_PX = 2.0
# The coarse band must hold this many times the noise's share for the ratio to mean blur.
MIN_COARSE_TO_NOISE = 25.0

# The disc kernel keeps this much of its ringing beyond the disc's radius.
_DISC_RINGING_PX = 3
_J1_NODES = np.linspace(0.0, math.pi, 257)[:-1] + math.pi / 512.0  # midpoints of 256 steps over [0, π]


@functools.lru_cache(maxsize=256)
def disc_kernel(diameter_px: float) -> np.ndarray:
    """A uniform disc of ``diameter_px`` (what a defocused lens does) as a kernel for a
    pixel image, float32, sum 1.

    A pixel image is a sampled, band-limited picture; blurring the picture by a disc
    and sampling it again multiplies its spectrum by the disc's transfer function
    2·J1(π·d·ρ)/(π·d·ρ) up to the Nyquist frequency. The kernel is that transfer
    function brought back to pixels (inverse DFT), cut at the disc's radius plus a few
    pixels of its ringing. Splatting a supersampled disc onto pixels instead (bilinear
    or by area) adds the interpolator's own blur — σ² of 1/6 px², more than a whole
    CoC of 1 px — and made every small blur look three times smaller than it is.
    Diameter 0 is the identity.
    """
    if not (diameter_px >= 0 and math.isfinite(diameter_px)):
        raise ValueError(f"A blur disc needs a finite diameter ≥ 0 px, got {diameter_px}.")
    if diameter_px < 1e-3:
        return np.ones((1, 1), np.float32)
    half = int(math.ceil(diameter_px / 2.0)) + _DISC_RINGING_PX
    size = 64
    while size < 4 * (2 * half + 1):
        size *= 2
    frequencies = np.fft.fftfreq(size)
    rho = np.hypot(frequencies[:, None], frequencies[None, :])
    transfer = _jinc(math.pi * diameter_px * rho)
    kernel = np.fft.fftshift(np.real(np.fft.ifft2(transfer)))
    centre = size // 2
    kernel = kernel[centre - half : centre + half + 1, centre - half : centre + half + 1]
    normalised: np.ndarray = (kernel / kernel.sum()).astype(np.float32)
    return normalised


def _jinc(x: np.ndarray) -> np.ndarray:
    """2·J1(x)/x (1 at x = 0), with J1 from Bessel's integral (1/π)∫₀^π cos(τ − x·sin τ) dτ;
    the midpoint rule on this smooth periodic integrand is exact to ~1e-12 for x < 100."""
    x = np.asarray(x, np.float64)
    flat = x.ravel()
    j1 = np.empty_like(flat)
    for start in range(0, flat.size, 4096):  # bounded memory for large grids
        chunk = flat[start : start + 4096, None]
        j1[start : start + 4096] = np.cos(_J1_NODES[None, :] - chunk * np.sin(_J1_NODES[None, :])).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(flat > 1e-9, 2.0 * j1 / np.maximum(flat, 1e-300), 1.0)
    return out.reshape(x.shape)


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
def noise_gains(diameter_px: float) -> tuple[float, float]:
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
        return self.coarse >= MIN_COARSE_TO_NOISE * self.coarse_noise


def fine_energy_sd(fine: float, fine_noise: float, pixels: int, noise_bias_sd: float = 0.0) -> float:
    """Standard deviation from noise of a noise-corrected fine-band energy ``fine`` whose
    noise share was ``fine_noise``, over ``pixels`` pixels; ``noise_bias_sd``: the part
    that the noise estimate's own error adds (:meth:`BlurReference.noise_bias_sd`).

    Sampling: per axis the first differences are s + n with var(n) = fine_noise/2;
    var(mean of (s + n)²) = (4·s²·v + 2·v²)/N. Neighbouring differences share a pixel:
    about one independent sample per two pixels.
    """
    v = fine_noise / 2.0
    n_eff = max(pixels / 2.0, 1.0)
    sampling_var = 2.0 * (2.0 * max(fine, 0.0) * v + 2.0 * v * v) / n_eff
    return math.sqrt(sampling_var + noise_bias_sd**2)


def coarse_band(image: np.ndarray) -> np.ndarray:
    """``image`` smoothed by the coarse band's Gaussian (float32): computed once per view and
    shared by every region read from it."""
    image = image if image.dtype == np.uint8 else image.astype(np.float32, copy=False)
    kernel = _coarse_kernel_1d()
    return cv2.sepFilter2D(image, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)


def _inside(image: np.ndarray, margin_px: int, region: tuple[int, int, int, int] | None) -> tuple[slice, slice]:
    """The rows and columns of ``image`` the energies are read over (see :func:`band_energies`)."""
    m = margin_px
    if region is None:
        region = (0, 0, image.shape[1] - 2 * m, image.shape[0] - 2 * m)
    x0, y0, x1, y1 = region
    return slice(m + y0, m + y1), slice(m + x0, m + x1)


def _noise_energies(noise_sigma: float, noise_blur_px: float) -> tuple[float, float]:
    """The (fine, coarse) band energy of white noise of ``noise_sigma`` blurred by a disc
    of ``noise_blur_px``: what is taken off the bands."""
    fine_gain, coarse_gain = noise_gains(round(noise_blur_px, 4))
    noise_var = noise_sigma * noise_sigma
    return noise_var * fine_gain, noise_var * coarse_gain


def band_energies(patch: np.ndarray, noise_sigma: float, noise_blur_px: float = 0.0, *, margin_px: int = 0,
                  region: tuple[int, int, int, int] | None = None, coarse_image: np.ndarray | None = None) -> BandEnergies:
    """Noise-corrected band energies of a grey patch.

    ``margin_px`` pixels on every side are context only (so that the coarse band's
    smoothing sees real picture, not a mirrored border); energies are over the inside, or
    over ``region`` (x0, y0, x1, y1) of the inside. ``coarse_image``: the patch's
    :func:`coarse_band`, when already computed. ``noise_blur_px``: the patch's noise has
    been blurred by a disc of that diameter (a reference blurred for the through-focus
    curve), which shrinks its energy. ``fine_sd`` counts sampling only (see
    :meth:`BlurReference.noise_bias_sd` for the noise estimate's own error).
    """
    # uint8 views are read as they are (the filter converts as it smooths, and the
    # norms of uint8 differences are exact): no float copy per frame.
    image = patch if patch.dtype == np.uint8 else patch.astype(np.float32, copy=False)
    if coarse_image is None:
        coarse_image = coarse_band(image)
    rows, cols = _inside(image, margin_px, region)
    inner = image[rows, cols]
    coarse_inner = coarse_image[rows, cols]
    if inner.shape[0] < 3 or inner.shape[1] < 3:
        raise ValueError("The feature must be at least 3×3 pixels to measure its blur.")
    fine_raw = first_difference_energy(inner)
    coarse_raw = first_difference_energy(coarse_inner)
    fine_noise, coarse_noise = _noise_energies(noise_sigma, noise_blur_px)
    fine = fine_raw - fine_noise
    coarse = coarse_raw - coarse_noise
    pixels = int(inner.size)
    return BandEnergies(fine, coarse, fine_energy_sd(fine, fine_noise, pixels), pixels, coarse_noise)


def fine_band_energy(patch: np.ndarray, noise_sigma: float, *, margin_px: int = 0,
                     region: tuple[int, int, int, int] | None = None) -> float:
    """The fine band's noise-corrected energy alone — ``band_energies(...).fine``, the
    same number, without the coarse band's work: larger is sharper (what ranks frames)."""
    image = patch if patch.dtype == np.uint8 else patch.astype(np.float32, copy=False)
    rows, cols = _inside(image, margin_px, region)
    inner = image[rows, cols]
    if inner.shape[0] < 3 or inner.shape[1] < 3:
        raise ValueError("The feature must be at least 3×3 pixels to measure its blur.")
    return first_difference_energy(inner) - _noise_energies(noise_sigma, 0.0)[0]
