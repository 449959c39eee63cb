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

A view decoded from a JPEG (live view, a tether program) is recognised by its 8×8 DCT
lattice (:func:`jpeg_grid`); its noise is then the still frames' scaled to the
quantised coefficients the view still has (:meth:`BlurReference.jpeg_noise_scale`), and
its sd counts that model's error (docs/FOCUS-TRUTH.md, "How sure").
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from focuslock.focus.noise import first_difference_energy, noise_sigma_sd

__all__ = ["BandEnergies", "BlurEstimate", "BlurReference", "JpegGrid", "band_energies", "coarse_band", "curve_diameters_px",
           "curve_views", "disc_kernel", "defocus", "fine_energy_sd", "ijg_luma_table", "jpeg_grid", "view_margin_px"]

COARSE_SIGMA_PX = 2.0
# Diameters (as multiples of the CoC) at which the reference's through-focus curve is
# sampled; finer where the verdict's thresholds lie. Extended to at least 6 px absolute.
_CURVE_COC_MULTIPLES = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
_MIN_CURVE_SPAN_PX = 6.0
# The coarse band must hold this many times the noise's share for the ratio to mean blur.
_MIN_COARSE_TO_NOISE = 25.0
# What the estimate's sd counts beyond the noise: the band ratio's own error (relative
# sd of q: a lens's disc is not the estimator's disc, texture moves the bands unlike a blur
# does) and a floor as a share of the CoC (every ramp of docs/FOCUS-TRUTH.md read
# +0.02–0.06 px at any blur, uncompressed: the noise alone said 0.003–0.05 px, so the
# truth lay outside 2 sd on up to all frames). Chosen on the six crops' ramps at noise
# sd 1–8 (FOCUS-TRUTH.md, "How sure"); JPEG adds its own two terms below.
MODEL_LOG_RATIO_SD = 0.004
MODEL_FLOOR_COC = 0.02
# After a JPEG round trip (a view whose 8×8 DCT lattice :func:`jpeg_grid` finds) a soft
# frame carries less noise than the sharp still frames showed, and the estimate takes the
# difference off (:meth:`BlurReference.jpeg_noise_scale`). That share is a model: counted
# as an error of σ of this much of (1 − the share) (:meth:`BlurReference.jpeg_noise_sd`).
JPEG_NOISE_SHARE_SD = 0.25
# What JPEG's quantisation takes from a slightly soft frame's fine detail that the curve,
# made from the sharp still frames, still holds (+0.1–0.2 px at 0.2–0.5 CoC even without
# noise, quality 90): a floor on the estimate's sd in px per grey level of the mean
# luminance quantisation step (0.14 px at quality 90). Both chosen on the ramps of
# docs/FOCUS-TRUTH.md at quality 90 (five crops, noise sd 1–8).
JPEG_FLOOR_PX_PER_STEP = 0.012
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


# ------------------------------------------------------------------ JPEG

_DCT8 = np.array([[(math.sqrt(1.0 / 8.0) if k == 0 else 0.5) * math.cos((2 * n + 1) * k * math.pi / 16.0) for n in range(8)]
                  for k in range(8)])
# The luminance table of the JPEG standard (Annex K), which libjpeg scales by its quality.
_IJG_LUMA = np.array([[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
                      [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77],
                      [24, 35, 55, 64, 81, 104, 113, 92], [49, 64, 78, 87, 103, 121, 120, 101],
                      [72, 92, 95, 98, 112, 100, 103, 99]], np.float64)
_DC_STEPS = np.arange(2.0, 33.0)
_MIN_JPEG_BLOCKS = 64
_MAX_LATTICE_SAMPLES = 4096
# How close to a lattice (mean cos 2π·c/q over the kept coefficients) the DC terms must
# lie: ≥ 0.64 after a JPEG at quality 50–90, ≤ 0.25 on uncompressed frames (five crops,
# noise sd 0–8).
_MIN_LATTICE = 0.5
# The still views' noise is measured per frequency and kind (with detail or without) once
# their pairs hold this many coefficients of it; a model of Gaussian noise of σ answers
# before (:func:`_quantised_noise_energy`).
_MIN_PAIR_COEFFICIENTS = 32
# A coefficient whose mean over the still views is at least this share of its step away
# from zero carries detail (its noise goes with the detail as focus softens); nearer zero,
# its noise is the sensor's alone (it stays).
_JPEG_DETAIL_STEPS = 0.25


def ijg_luma_table(quality: int) -> np.ndarray:
    """The luminance quantisation table libjpeg writes at ``quality`` (1–100)."""
    quality = min(max(int(quality), 1), 100)
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return np.clip(np.floor((_IJG_LUMA * scale + 50.0) / 100.0), 1.0, 255.0)


@dataclass(frozen=True)
class JpegGrid:
    """What a view says of the JPEG it was decoded from: the corner (x, y) of its 8×8
    grid in the view, the libjpeg quality whose luminance table fits its coefficients
    best, and how close to that lattice they lie (mean cos 2π·c/q)."""

    phase: tuple[int, int]
    quality: int
    lattice: float

    @property
    def mean_step(self) -> float:
        """The mean luminance quantisation step (grey levels)."""
        return float(ijg_luma_table(self.quality).mean())


def _lattice_score(values: np.ndarray, steps: np.ndarray) -> float:
    """How close ``values`` lie to multiples of the best of ``steps``; 0 with too few."""
    values = values[np.abs(values) > 1.5]
    if values.size < 16:
        return 0.0
    values = values[: _MAX_LATTICE_SAMPLES]
    return float(np.cos((2.0 * math.pi) * values[None, :] / steps[:, None]).mean(axis=1).max())


def _block_dct(image: np.ndarray, phase: tuple[int, int]) -> np.ndarray:
    px, py = phase
    ny, nx = (image.shape[0] - py) // 8, (image.shape[1] - px) // 8
    blocks = image[py : py + 8 * ny, px : px + 8 * nx].astype(np.float64).reshape(ny, 8, nx, 8).transpose(0, 2, 1, 3)
    coefficients: np.ndarray = _DCT8 @ (blocks - 128.0) @ _DCT8.T
    return coefficients


# The first difference's gain (both axes) at each 8×8 DCT frequency: how much of a
# coefficient's energy the fine band sees.
_DCT_FINE_GAIN = ((2.0 * np.sin(np.pi * np.arange(8) / 16.0))[:, None] ** 2
                  + (2.0 * np.sin(np.pi * np.arange(8) / 16.0))[None, :] ** 2)


def jpeg_coefficients(image: np.ndarray, grid: JpegGrid, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The DCT coefficients (blocks, 8, 8) of the 8×8 blocks of ``grid`` inside ``box``
    (x0, y0, x1, y1 in ``image``), or None when the box holds no whole block or its blocks
    do not lie on the grid's lattice (the feature moved by a pixel since the grid was found)."""
    x0, y0, x1, y1 = box
    px, py = grid.phase
    bx0, by0 = x0 + (px - x0) % 8, y0 + (py - y0) % 8
    nx, ny = (x1 - bx0) // 8, (y1 - by0) // 8
    if nx < 1 or ny < 1:
        return None
    coefficients = _block_dct(image[by0 : by0 + 8 * ny, bx0 : bx0 + 8 * nx], (0, 0)).reshape(-1, 8, 8)
    dc_step = ijg_luma_table(grid.quality)[0, 0]
    if dc_step >= 2 and float(np.cos((2.0 * math.pi) * coefficients[:, 0, 0] / dc_step).mean()) < _MIN_LATTICE:
        return None
    return coefficients


def _survived(coefficients: np.ndarray, grid: JpegGrid) -> np.ndarray:
    survived: np.ndarray = np.abs(coefficients) > 0.5 * ijg_luma_table(grid.quality)
    return survived


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x), from erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    erf = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-z * z)
    cdf: np.ndarray = 0.5 * (1.0 + np.sign(x) * erf)
    return cdf


@functools.lru_cache(maxsize=64)
def _quantised_noise_energy(quality: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per DCT frequency (8×8), the variance of a coefficient quantised by libjpeg's
    table at ``quality`` under Gaussian noise of ``sigma``: one whose value is zero
    (noise around 0), and one whose value lies anywhere between two steps (averaged over
    16 offsets)."""
    steps = ijg_luma_table(quality)[..., None]
    sigma = max(sigma, 1e-3)
    k = np.arange(-40.0, 41.0)

    def variance(offset: float) -> np.ndarray:
        p = _normal_cdf((k + 0.5 - offset) * steps / sigma) - _normal_cdf((k - 0.5 - offset) * steps / sigma)
        mean = (k * steps * p).sum(axis=-1)
        result: np.ndarray = (((k * steps) ** 2) * p).sum(axis=-1) - mean * mean
        return result

    survived = np.mean([variance((i + 0.5) / 16.0 - 0.5) for i in range(16)], axis=0)
    return variance(0.0), survived


def jpeg_grid(view: np.ndarray) -> JpegGrid | None:
    """The JPEG a grey view (whole pixels, as decoded; the luminance is what a grey
    conversion of the decoded RGB gives) was decoded from, or None: uncompressed, resampled
    after decoding, near-lossless (quality ≳ 95: steps of 1–2 grey levels vanish in the
    rounding to 8 bits; found at 95 on most crops), or too small to tell (fewer than 64 blocks).

    A decoder rebuilds each 8×8 block from coefficients that are multiples of their
    quantisation step: on the right grid the blocks' DC terms lie on a lattice, on any
    other grid (or in an uncompressed frame) they do not. The grid is found from the DC
    terms of all 64 phases, the quality by fitting libjpeg's scaled standard table to every
    coefficient on it (a camera's own tables are fitted by the nearest libjpeg quality)."""
    image = np.asarray(view, np.float32)
    if image.ndim != 2 or (image.shape[0] // 8) * (image.shape[1] // 8) < _MIN_JPEG_BLOCKS:
        return None
    # The DC term of the block whose corner is (x, y), for every (x, y): a box filter.
    dc = cv2.boxFilter(image, cv2.CV_32F, (8, 8), anchor=(0, 0), normalize=False, borderType=cv2.BORDER_CONSTANT) / 8.0 - 1024.0
    height, width = image.shape
    best, phase = 0.0, (0, 0)
    for py in range(8):
        for px in range(8):
            ny, nx = (height - py) // 8, (width - px) // 8
            score = _lattice_score(dc[py : py + 8 * ny : 8, px : px + 8 * nx : 8].ravel().astype(np.float64), _DC_STEPS)
            if score > best:
                best, phase = score, (px, py)
    if best < _MIN_LATTICE:
        return None
    coefficients = _block_dct(image, phase)
    kept = coefficients[np.abs(coefficients) > 1.5]
    if kept.size < 16:
        return None
    index = np.flatnonzero((np.abs(coefficients) > 1.5).ravel())[: _MAX_LATTICE_SAMPLES]
    values = coefficients.ravel()[index]
    cells = index % 64
    magnitudes = np.abs(values)
    fits = []
    for quality in range(10, 101):
        steps = ijg_luma_table(quality).ravel()[cells]
        # A kept coefficient is a non-zero multiple of its step: one smaller than half a
        # step rules that table out (else coarse tables fit small values by default).
        closeness = np.where(magnitudes >= 0.5 * steps - 1.0, np.cos((2.0 * math.pi) * values / steps), -1.0)
        fits.append((float(closeness.mean()), quality))
    lattice, quality = max(fits)
    if lattice < _MIN_LATTICE:
        return None
    return JpegGrid(phase, quality, lattice)


@functools.lru_cache(maxsize=16)
def _cached_jpeg_grid(key: bytes, shape: tuple[int, ...], dtype: str) -> JpegGrid | None:
    return jpeg_grid(np.frombuffer(key, dtype=dtype).reshape(shape))


def _view_jpeg_grid(view: np.ndarray) -> JpegGrid | None:
    """:func:`jpeg_grid`, once per view: the box and its parts share the lock's view."""
    view = np.ascontiguousarray(view)
    return _cached_jpeg_grid(view.tobytes(), view.shape, view.dtype.str)


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
    m = margin_px
    if region is None:
        region = (0, 0, image.shape[1] - 2 * m, image.shape[0] - 2 * m)
    x0, y0, x1, y1 = region
    inner = image[m + y0 : m + y1, m + x0 : m + x1]
    coarse_inner = coarse_image[m + y0 : m + y1, m + x0 : m + x1]
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
    fine band holds no signal above the noise at all; ``blur_high_px``: the largest blur
    the reading allows at two standard deviations.
    """

    blur_px: float
    blur_sd_px: float
    energies: BandEnergies
    beyond_range: bool = False
    no_detail: bool = False
    # The most blur the reading allows (ratio 2σ towards softer, through the curve).
    blur_high_px: float = math.inf


def curve_diameters_px(coc_px: float) -> np.ndarray:
    """The blur diameters (px) at which a reference's through-focus curve is sampled."""
    span = max(_MIN_CURVE_SPAN_PX, 4.0 * coc_px)
    return np.array(sorted({round(coc_px * m, 4) for m in _CURVE_COC_MULTIPLES if coc_px * m <= span} | {round(span, 4)}),
                    np.float64)


def curve_views(view: np.ndarray, coc_px: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``view`` blurred by each of the curve's diameters, with its coarse band: the
    expensive half of a through-focus curve, shared by the references of every region
    read from one view (the whole box and its parts)."""
    out = []
    for d in curve_diameters_px(coc_px):
        blurred = defocus(view, float(d))
        out.append((blurred, coarse_band(blurred)))
    return out


class BlurReference:
    """The locked feature's through-focus curve and the reading of later views.

    ``views``: one or more aligned, whole-pixel views of the still feature with
    ``margin_px`` of context on every side (the curve is averaged over them, which
    averages out their noise); ``coc_px``: the permissible circle of confusion in
    live-view pixels, which sets the curve's span; ``region``: the part (x0, y0, x1, y1)
    of the box inside the margin that this reference reads (default: all of it).
    """

    def __init__(self, views: list[np.ndarray], noise_sigma: float, coc_px: float, margin_px: int,
                 region: tuple[int, int, int, int] | None = None,
                 blurred: list[list[tuple[np.ndarray, np.ndarray]]] | None = None) -> None:
        if not views:
            raise ValueError("A blur reference needs at least one view of the feature.")
        if not (coc_px > 0 and math.isfinite(coc_px)):
            raise ValueError(f"The circle of confusion must be a positive number of pixels, got {coc_px}.")
        self.coc_px = float(coc_px)
        self.margin_px = int(margin_px)
        self.region = region
        self.diameters_px = curve_diameters_px(coc_px)
        diameters = [float(d) for d in self.diameters_px]
        # Band energies before the noise's share is taken off, summed over the views: the
        # noise correction follows the noise model as it settles (the first view's noise
        # is a single-frame estimate; later views bring the temporal one).
        self._raw_fine = np.zeros(len(diameters))
        self._raw_coarse = np.zeros(len(diameters))
        self._gains = np.array([_noise_gains(d) for d in diameters])  # (fine, coarse) per diameter
        self._first_view = views[0]
        # The JPEG the views were decoded from (None: uncompressed, or not found).
        self.jpeg = _view_jpeg_grid(views[0])
        # JPEG: per coefficient of the box's blocks, summed over the still views: its value,
        # whether it survived the quantisation, and (over consecutive views) half its
        # squared change — the noise a JPEG'd frame shows there (see jpeg_noise_scale).
        self._coefficient_sum: np.ndarray | None = None
        self._survived_sum: np.ndarray | None = None
        self._change_sum: np.ndarray | None = None
        self._coefficient_views = 0
        self._pairs = 0
        self._last_coefficients: np.ndarray | None = None
        self._jpeg_noise: tuple[np.ndarray, ...] | None = None
        self._view_count = 0
        for i, view in enumerate(views):
            self._accumulate(view, blurred[i] if blurred is not None else None)
        self.set_noise(noise_sigma)

    def _accumulate(self, view: np.ndarray, blurred: list[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        for i, (image, coarse) in enumerate(blurred or curve_views(view, self.coc_px)):
            raw = band_energies(image, 0.0, margin_px=self.margin_px, region=self.region, coarse_image=coarse)
            self._raw_fine[i] += raw.fine
            self._raw_coarse[i] += raw.coarse
        if self.jpeg is not None:
            self._measure_jpeg_noise(view)
        self._view_count += 1

    def _measure_jpeg_noise(self, view: np.ndarray) -> None:
        grid = self.jpeg
        if grid is None:
            return
        coefficients = jpeg_coefficients(view, grid, self._box(view))
        last, self._last_coefficients = self._last_coefficients, coefficients
        if coefficients is None or (self._coefficient_sum is not None and self._coefficient_sum.shape != coefficients.shape):
            return
        if self._coefficient_sum is None or self._survived_sum is None or self._change_sum is None:
            self._coefficient_sum = np.zeros_like(coefficients)
            self._survived_sum = np.zeros_like(coefficients)
            self._change_sum = np.zeros_like(coefficients)
        self._coefficient_sum += coefficients
        self._survived_sum += _survived(coefficients, grid)
        self._coefficient_views += 1
        if last is not None and last.shape == coefficients.shape:
            self._change_sum += 0.5 * (coefficients - last) ** 2
            self._pairs += 1
        self._jpeg_noise = None

    def _jpeg_noise_by_kind(self, noise_sigma: float) -> tuple[np.ndarray, ...]:
        """Per frequency (8×8 each): the noise energy of a coefficient without detail and
        of one with detail (told apart by the still views' mean, not by one noisy view),
        how often each survives the quantisation in one view, and the share with detail.
        The energies measured on the still views' pairs where a kind has enough
        coefficients, the model of Gaussian noise of σ elsewhere. Kept until a view is
        added (the σ of a reading moves only with the views)."""
        if self._jpeg_noise is not None:
            return self._jpeg_noise
        grid, total, survived_sum, change_sum = self.jpeg, self._coefficient_sum, self._survived_sum, self._change_sum
        assert grid is not None and total is not None and survived_sum is not None and change_sum is not None
        zero, survived = _quantised_noise_energy(grid.quality, round(float(noise_sigma), 2))
        steps = ijg_luma_table(grid.quality)
        views = self._coefficient_views
        detail = np.abs(total / views) > _JPEG_DETAIL_STEPS * steps
        counts = np.stack([(~detail).sum(axis=0), detail.sum(axis=0)]).astype(np.float64)
        survival = np.stack([np.where(~detail, survived_sum, 0.0).sum(axis=0),
                             np.where(detail, survived_sum, 0.0).sum(axis=0)]) / np.maximum(counts * views, 1.0)
        energy = np.stack([zero, survived])
        if self._pairs:
            change = np.stack([np.where(~detail, change_sum, 0.0).sum(axis=0),
                               np.where(detail, change_sum, 0.0).sum(axis=0)]) / np.maximum(counts * self._pairs, 1.0)
            energy = np.where(counts * self._pairs >= _MIN_PAIR_COEFFICIENTS, change, energy)
        # A kind the box lacks: a zero coefficient survives by noise alone, rarely; one
        # with detail always.
        survival = np.where(counts > 0, survival, np.stack([np.zeros((8, 8)), np.ones((8, 8))]))
        self._jpeg_noise = (energy[0], energy[1], survival[0], survival[1], detail.mean(axis=0))
        return self._jpeg_noise

    def _box(self, view: np.ndarray) -> tuple[int, int, int, int]:
        """The pixels the energies are read over (x0, y0, x1, y1 in the view)."""
        m = self.margin_px
        if self.region is None:
            return m, m, view.shape[1] - m, view.shape[0] - m
        x0, y0, x1, y1 = self.region
        return m + x0, m + y0, m + x1, m + y1

    @property
    def view_count(self) -> int:
        """How many views the curve is averaged over."""
        return self._view_count

    def add_view(self, view: np.ndarray, noise_sigma: float,
                 blurred: list[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Another aligned, whole-pixel view of the still feature (same size), and the
        noise model's σ now: the curve is averaged over all views and corrected for it.
        ``blurred``: the view's :func:`curve_views`, when already made."""
        self._accumulate(view, blurred)
        self.set_noise(noise_sigma)

    def predicted_sd(self, blur_px: float, noise_sigma: float, noise_sd: float | None = None) -> float:
        """σ of the blur estimate for a fresh view blurred by ``blur_px``, from the curve
        (its signal at that blur) and a noise of ``noise_sigma`` known to ``noise_sd``
        (default: a single-frame estimate's, :func:`.noise.noise_sigma_sd`)."""
        fine = float(np.interp(blur_px, self.diameters_px, self.fine_curve))
        if fine <= 0:
            return math.inf
        if noise_sd is None:
            noise_sd = noise_sigma_sd(noise_sigma)
        # A fresh view's noise is unblurred: white noise of σ gives 4σ² in the fine band.
        fine_sd = fine_energy_sd(fine, 4.0 * noise_sigma**2, self.reference.pixels,
                                 self.noise_bias_sd(noise_sigma, noise_sd, blur_px))
        return self.blur_and_sd(self.ratio_at(blur_px), fine_sd / fine)[1]

    def noise_bias_sd(self, noise_sigma: float, noise_sd: float, blur_px: float) -> float:
        """How far a σ known to ``noise_sd`` can move a fresh view's fine band *against this
        curve* at a blur of ``blur_px``: the view's noise share is g(0)·σ² = 4σ², the
        curve's at that blur the blurred noise's g(d)·σ² (corrected with the same σ), so an
        error δσ moves the reading by 2σ·δσ·(g(0) − g(d)) — nothing at d = 0, nearly the
        whole share past a few pixels. The same in every pixel: no pixel count averages it
        away, and where the noise is most of the band it outweighs the sampling.

        Counted at the CoC at least: a reading must rule out a view blurred by the CoC,
        whose noise share the curve no longer holds (counting it only where the reading
        lies would make a sharp reading look surer than the question allows). g(d) is
        interpolated between the curve's own diameters: a disc's gain computed afresh for
        every reading would cost tens of milliseconds a frame."""
        fine_gains = self._gains[:, 0]
        judged_px = max(blur_px, self.coc_px)
        gain = float(np.interp(judged_px, self.diameters_px, fine_gains))
        return 2.0 * noise_sigma * noise_sd * max(float(fine_gains[0]) - gain, 0.0)

    def jpeg_noise_sd(self, noise_sigma: float, noise_sd: float, scale: float) -> float:
        """``noise_sd`` with what a JPEG round trip adds to it (unchanged for uncompressed
        views): the share ``scale`` of the still views' noise that a view is taken to carry
        (:meth:`jpeg_noise_scale`) is a model, counted as uncertain by
        ``JPEG_NOISE_SHARE_SD`` of the noise energy it took away."""
        if self.jpeg is None:
            return noise_sd
        return math.hypot(noise_sd, JPEG_NOISE_SHARE_SD * (1.0 - scale) * noise_sigma)

    def jpeg_noise_scale(self, view: np.ndarray, noise_sigma: float) -> float:
        """The share of the still views' noise energy that ``view`` carries (1 for
        uncompressed views, and where the view's blocks are off the grid).

        After a JPEG round trip the noise two still frames show is, at low noise, mostly
        coefficients flipping between quantisation steps: a coefficient flips when its
        detail lies near a step's edge, and as focus softens the detail its fine
        coefficients fall to zero and their flips go with them (the temporal σ of the sharp
        still frames, subtracted from a soft frame, over-read its blur by 0.2–0.5 px at
        quality 90). Per frequency, the still views tell the noise energy of a
        coefficient with detail (its mean over the views a quarter step or more from zero)
        and of one without, and how often each survives the quantisation in one view;
        ``view``'s share of coefficients with detail follows from how many of its own
        survive. The noise energies weighted by the fine band's gain, view against still
        views. Where the noise is large against the steps, both kinds carry it alike and
        the share stays near 1. Never more than 1 (a view sharper than the lock keeps the
        lock's noise). A region of fewer than 64 blocks keeps the still frames' noise: too
        few coefficients per frequency to tell the kinds apart (the drive calibration's
        small parts read a 20 µm step as 17.4 µm with the model)."""
        grid = self.jpeg
        if grid is None or self._coefficient_sum is None or self._coefficient_views == 0:
            return 1.0
        now = jpeg_coefficients(view, grid, self._box(view))
        if now is None or now.shape != self._coefficient_sum.shape or now.shape[0] < _MIN_JPEG_BLOCKS:
            return 1.0
        zero, detailed, zero_survival, detail_survival, still_share = self._jpeg_noise_by_kind(noise_sigma)
        surviving = _survived(now, grid).mean(axis=0)
        spread = detail_survival - zero_survival
        share = np.where(spread > 0.05, np.clip((surviving - zero_survival) / np.maximum(spread, 0.05), 0.0, 1.0), still_share)
        reference = float((_DCT_FINE_GAIN * (still_share * detailed + (1.0 - still_share) * zero)).sum())
        if reference <= 0:
            return 1.0
        return min(float((_DCT_FINE_GAIN * (share * detailed + (1.0 - share) * zero)).sum()) / reference, 1.0)

    def set_noise(self, noise_sigma: float) -> None:
        """Correct the curve for a noise of ``noise_sigma`` grey levels."""
        self.noise_sigma = float(noise_sigma)
        self._jpeg_noise = None
        noise_var = self.noise_sigma**2
        fine = self._raw_fine / self._view_count - noise_var * self._gains[:, 0]
        coarse = self._raw_coarse / self._view_count - noise_var * self._gains[:, 1]
        self.reference = band_energies(self._first_view, self.noise_sigma, margin_px=self.margin_px, region=self.region)
        self.fine_curve = fine
        ratio = np.where(coarse > 0, fine / np.maximum(coarse, 1e-12), 0.0)
        # Noise left in the average can make neighbouring samples cross: force the curve
        # to fall (a blur never adds detail).
        self._log_ratio = np.log(np.minimum.accumulate(np.maximum(ratio, 1e-9)))
        # Rising copies for interpolating blur from a reading, made once per calibration
        # (read several times a frame).
        # (Python lists: a bisection on a dozen points is several times cheaper than
        # np.interp's call overhead.)
        self._rising_log_ratio = [float(v) for v in self._log_ratio[::-1]]
        self._rising_diameters_px = [float(v) for v in self.diameters_px[::-1]]

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
        xs, ys = self._rising_log_ratio, self._rising_diameters_px
        right = bisect.bisect_right(xs, log_value)
        if right >= len(xs):
            return ys[-1], False
        left = right - 1
        span = xs[right] - xs[left]
        share = (log_value - xs[left]) / span if span > 0 else 0.0
        return ys[left] + share * (ys[right] - ys[left]), False

    def blur_and_sd(self, ratio: float, relative_sd: float) -> tuple[float, float, bool]:
        """The blur for ``ratio``, its standard deviation when the ratio has the relative
        standard deviation ``relative_sd``, and whether it lies beyond the curve.

        The σ is half the blur interval that ratio ± 1σ spans on the curve, not the
        curve's local slope: near zero blur the curve is flat (a disc's transfer
        function starts as 1 − (π·d·ρ)²/8), so the slope says "infinitely unsure" where
        the interval says how far from zero the blur can be."""
        blur, beyond = self.blur_for_ratio(ratio)
        return blur, self._sd_around(ratio, relative_sd), beyond

    def _sd_around(self, ratio: float, relative_sd: float) -> float:
        """Half the blur interval that ``ratio`` ± ``relative_sd`` spans on the curve."""
        if not (relative_sd >= 0 and math.isfinite(relative_sd)):
            return math.inf
        softer, _ = self.blur_for_ratio(ratio * math.exp(-relative_sd))
        sharper, _ = self.blur_for_ratio(ratio * math.exp(relative_sd))
        return max(0.5 * (softer - sharper), 0.0)

    def ratio_at(self, blur_px: float) -> float:
        """The curve's ratio at a blur of ``blur_px`` ≥ 0."""
        return float(math.exp(np.interp(blur_px, self.diameters_px, self._log_ratio)))

    def estimate(self, view: np.ndarray, noise_sigma: float, coarse_image: np.ndarray | None = None,
                 noise_sd: float | None = None) -> BlurEstimate:
        """The blur of ``view`` (same size and margin as the reference views) with noise of
        ``noise_sigma`` known to ``noise_sd`` (default: a single-frame estimate's, the
        least certain: :func:`.noise.noise_sigma_sd`); ``coarse_image``: its
        :func:`coarse_band`, when already computed."""
        if noise_sd is None:
            noise_sd = noise_sigma_sd(noise_sigma)
        scale = self.jpeg_noise_scale(view, noise_sigma)
        noise_sd = self.jpeg_noise_sd(noise_sigma, noise_sd, scale)
        view_sigma = noise_sigma * math.sqrt(scale)
        energies = band_energies(view, view_sigma, margin_px=self.margin_px, region=self.region, coarse_image=coarse_image)
        blur, beyond = self.blur_for_ratio(energies.ratio)
        if energies.coarse > 0 and energies.fine > 0:
            bias = self.noise_bias_sd(noise_sigma, noise_sd, blur)
            energies = replace(energies, fine_sd=math.hypot(energies.fine_sd, bias))
        if energies.fine <= 2.0 * energies.fine_sd or energies.coarse <= 0:
            # No detail above the noise: blurred at least past the end of the curve.
            return BlurEstimate(float(self.diameters_px[-1]), math.inf, energies, beyond_range=True, no_detail=True)
        if not energies.coarse_resolved:
            # The coarse band is mostly noise (a very fine or very plain pattern): the
            # ratio says nothing about blur. Report it as unresolvable, never as sharp.
            return BlurEstimate(blur, math.inf, energies, beyond_range=beyond)
        # The coarse band is far less noisy than the fine one: the ratio's relative
        # noise is the fine band's.
        relative_sd = math.hypot(energies.fine_sd / energies.fine, MODEL_LOG_RATIO_SD)
        floor_px = MODEL_FLOOR_COC * self.coc_px
        if self.jpeg is not None:
            floor_px = math.hypot(floor_px, JPEG_FLOOR_PX_PER_STEP * self.jpeg.mean_step)
        sd = math.hypot(self._sd_around(energies.ratio, relative_sd), floor_px)
        high, high_beyond = self.blur_for_ratio(energies.ratio * math.exp(-2.0 * relative_sd))
        return BlurEstimate(blur, sd, energies, beyond_range=beyond,
                            blur_high_px=math.inf if high_beyond else high + 2.0 * floor_px)
