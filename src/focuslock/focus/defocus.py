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

import bisect
import functools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from focuslock.focus.noise import first_difference_energy, noise_sigma_sd

__all__ = ["BandEnergies", "BlurEstimate", "BlurReference", "band_energies", "coarse_band", "curve_diameters_px", "curve_views",
           "disc_kernel", "defocus", "fine_energy_sd", "view_margin_px"]

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
# sd 1–8 (FOCUS-TRUTH.md, "How sure"); JPEG's over-read is larger and not covered.
MODEL_LOG_RATIO_SD = 0.004
MODEL_FLOOR_COC = 0.02
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
    return (kernel / kernel.sum()).astype(np.float32)


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
        self._view_count = 0
        for i, view in enumerate(views):
            self._accumulate(view, blurred[i] if blurred is not None else None)
        self.set_noise(noise_sigma)

    def _accumulate(self, view: np.ndarray, blurred: list[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        for i, (image, coarse) in enumerate(blurred or curve_views(view, self.coc_px)):
            raw = band_energies(image, 0.0, margin_px=self.margin_px, region=self.region, coarse_image=coarse)
            self._raw_fine[i] += raw.fine
            self._raw_coarse[i] += raw.coarse
        self._view_count += 1

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

    def set_noise(self, noise_sigma: float) -> None:
        """Correct the curve for a noise of ``noise_sigma`` grey levels."""
        self.noise_sigma = float(noise_sigma)
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
        energies = band_energies(view, noise_sigma, margin_px=self.margin_px, region=self.region, coarse_image=coarse_image)
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
        sd = math.hypot(self._sd_around(energies.ratio, relative_sd), floor_px)
        high, high_beyond = self.blur_for_ratio(energies.ratio * math.exp(-2.0 * relative_sd))
        return BlurEstimate(blur, sd, energies, beyond_range=beyond,
                            blur_high_px=math.inf if high_beyond else high + 2.0 * floor_px)
