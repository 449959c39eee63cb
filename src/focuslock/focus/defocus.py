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
import math

import numpy as np

from focuslock.focus.bands import (
    BandEnergies,
    band_energies,
    coarse_band,
    disc_kernel,
    fine_band_energy,
    fine_energy_sd,
    noise_gains,
)
from focuslock.focus.blur_curve import BlurEstimate, curve_diameters_px, curve_views, defocus, view_margin_px
from focuslock.focus.jpeg_grid import (
    JpegGrid,
    SharedBlocks,
    ijg_luma_table,
    jpeg_coefficients,
    jpeg_grid,
    view_jpeg_grid,
)
from focuslock.focus.jpeg_noise import JpegNoiseTally, ScaleMemory
from focuslock.focus.noise import noise_sigma_sd

__all__ = ["BandEnergies", "BlurEstimate", "BlurReference", "JpegGrid", "band_energies", "coarse_band", "curve_diameters_px",
           "curve_views", "disc_kernel", "defocus", "fine_energy_sd", "ijg_luma_table", "jpeg_grid", "view_margin_px"]

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
        self._gains = np.array([noise_gains(d) for d in diameters])  # (fine, coarse) per diameter
        self._first_view = views[0]
        # The JPEG the views were decoded from (None: uncompressed, or not found).
        self.jpeg = view_jpeg_grid(views[0])
        # JPEG: the box's coefficients over the still views (see jpeg_noise_scale).
        self._jpeg_tally = JpegNoiseTally(self.jpeg) if self.jpeg is not None else None
        # What every reading looks up, fixed with the curve's diameters and the JPEG grid.
        self._last_diameter_px = diameters[-1]
        self._fine_gain_at_coc = float(np.interp(self.coc_px, self.diameters_px, self._gains[:, 0]))
        floor_px = MODEL_FLOOR_COC * self.coc_px
        if self.jpeg is not None:
            floor_px = math.hypot(floor_px, JPEG_FLOOR_PX_PER_STEP * self.jpeg.mean_step)
        self._floor_px = floor_px
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
        if self.jpeg is not None and self._jpeg_tally is not None:
            self._jpeg_tally.add(jpeg_coefficients(view, self.jpeg, self._box(view)))

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
        every reading would cost tens of milliseconds a frame; at the CoC (every reading at
        or below it) it was interpolated once, with the curve."""
        fine_gains = self._gains[:, 0]
        judged_px = max(blur_px, self.coc_px)
        gain = (self._fine_gain_at_coc if judged_px == self.coc_px
                else float(np.interp(judged_px, self.diameters_px, fine_gains)))
        return 2.0 * noise_sigma * noise_sd * max(float(fine_gains[0]) - gain, 0.0)

    def jpeg_noise_sd(self, noise_sigma: float, noise_sd: float, scale: float) -> float:
        """``noise_sd`` with what a JPEG round trip adds to it (unchanged for uncompressed
        views): the share ``scale`` of the still views' noise that a view is taken to carry
        (:meth:`jpeg_noise_scale`) is a model, counted as uncertain by
        ``JPEG_NOISE_SHARE_SD`` of the noise energy it took away."""
        if self.jpeg is None:
            return noise_sd
        return math.hypot(noise_sd, JPEG_NOISE_SHARE_SD * (1.0 - scale) * noise_sigma)

    def jpeg_noise_scale(self, view: np.ndarray, noise_sigma: float, blocks: SharedBlocks | None = None) -> float:
        """The share of the still views' noise energy that ``view`` carries (1 for
        uncompressed views, and where the view's blocks are off the grid): the noise of a
        JPEG'd view goes with the quantised detail it still has (:mod:`.jpeg_noise`).
        ``blocks``: the view's blocks for a box holding this reference's (the whole
        feature's, for its parts), shared."""
        if self._jpeg_tally is None:
            return 1.0
        return self._jpeg_tally.view_scale(view, self._box(view), noise_sigma, blocks)

    def shared_blocks(self, view: np.ndarray) -> SharedBlocks | None:
        """``view``'s blocks on the JPEG grid inside this reference's box, transformed when
        first asked for, for the references that read parts of it (None for
        uncompressed views)."""
        return SharedBlocks(view, self.jpeg, self._box(view)) if self.jpeg is not None else None

    def set_noise(self, noise_sigma: float) -> None:
        """Correct the curve for a noise of ``noise_sigma`` grey levels."""
        self.noise_sigma = float(noise_sigma)
        if self._jpeg_tally is not None:
            self._jpeg_tally.forget_model()
        noise_var = self.noise_sigma**2
        fine = self._raw_fine / self._view_count - noise_var * self._gains[:, 0]
        coarse = self._raw_coarse / self._view_count - noise_var * self._gains[:, 1]
        self.reference = band_energies(self._first_view, self.noise_sigma, margin_px=self.margin_px, region=self.region)
        self.fine_curve = fine
        ratio = np.where(coarse > 0, fine / np.maximum(coarse, 1e-12), 0.0)
        # Noise left in the average can make neighbouring samples cross: force the curve
        # to fall (a blur never adds detail).
        self._log_ratio = np.log(np.minimum.accumulate(np.maximum(ratio, 1e-9)))
        self._log_first, self._log_last = self._log_ratio[0], self._log_ratio[-1]
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
        if ratio <= 0:
            return self._last_diameter_px, True
        value = math.log(ratio)
        if value > self._log_first:
            # Sharper than the lock: the reference blurred by |d| relates to the
            # reference as the reference relates to this view.
            mirrored = 2.0 * self._log_first - value
            d, beyond = self._interpolate(mirrored)
            return -d, beyond
        return self._interpolate(value)

    def _interpolate(self, log_value: float) -> tuple[float, bool]:
        if log_value < self._log_last:
            return self._last_diameter_px, True
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

    def _scaled_energies(self, view: np.ndarray, noise_sigma: float, coarse_image: np.ndarray | None,
                         blocks: SharedBlocks | None, memory: ScaleMemory | None
                         ) -> tuple[float, BandEnergies, tuple[float, bool] | None]:
        """The JPEG noise share of ``view`` and its band energies with the noise it
        carries: the share ``memory`` remembers where it serves (a live lock with focus
        held: :class:`.jpeg_noise.ScaleMemory`), else the view's own. Third: the
        energies' :meth:`blur_for_ratio` when it was read to weigh the share (else None)."""
        remembered = memory.remembered() if memory is not None and self._jpeg_tally is not None else None
        scale = self.jpeg_noise_scale(view, noise_sigma, blocks) if remembered is None else remembered
        energies = band_energies(view, noise_sigma * math.sqrt(scale), margin_px=self.margin_px, region=self.region,
                                 coarse_image=coarse_image)
        if memory is None or self._jpeg_tally is None:
            return scale, energies, None
        read = self.blur_for_ratio(energies.ratio)
        if remembered is not None and memory.still_holds(read[0], self.coc_px):
            return scale, energies, read
        if remembered is not None:  # softer than the remembered share serves: the view's own
            scale = self.jpeg_noise_scale(view, noise_sigma, blocks)
            energies = band_energies(view, noise_sigma * math.sqrt(scale), margin_px=self.margin_px, region=self.region,
                                     coarse_image=coarse_image)
            read = self.blur_for_ratio(energies.ratio)
        memory.keep(scale, read[0])
        return scale, energies, read

    def fine_energy(self, view: np.ndarray, noise_sigma: float, blocks: SharedBlocks | None = None) -> float:
        """The fine band's energy of ``view`` as :meth:`estimate` reads it (a take's: the
        noise it carries taken off), alone: larger is sharper, what ranks a take's frames."""
        scale = self.jpeg_noise_scale(view, noise_sigma, blocks)
        return fine_band_energy(view, noise_sigma * math.sqrt(scale), margin_px=self.margin_px, region=self.region)

    def estimate(self, view: np.ndarray, noise_sigma: float, coarse_image: np.ndarray | None = None,
                 noise_sd: float | None = None, blocks: SharedBlocks | None = None,
                 memory: ScaleMemory | None = None) -> BlurEstimate:
        """The blur of ``view`` (same size and margin as the reference views) with noise of
        ``noise_sigma`` known to ``noise_sd`` (default: a single-frame estimate's, the
        least certain: :func:`.noise.noise_sigma_sd`); ``coarse_image``: its
        :func:`coarse_band`, and ``blocks``: its JPEG blocks (:meth:`shared_blocks`), when
        already made; ``memory``: a live lock's memory of the JPEG noise share."""
        if noise_sd is None:
            noise_sd = noise_sigma_sd(noise_sigma)
        scale, energies, read = self._scaled_energies(view, noise_sigma, coarse_image, blocks, memory)
        noise_sd = self.jpeg_noise_sd(noise_sigma, noise_sd, scale)
        blur, beyond = read if read is not None else self.blur_for_ratio(energies.ratio)
        if energies.coarse > 0 and energies.fine > 0:
            bias = self.noise_bias_sd(noise_sigma, noise_sd, blur)
            # (Built directly: dataclasses.replace costs more than the estimate's arithmetic.)
            energies = BandEnergies(energies.fine, energies.coarse, math.hypot(energies.fine_sd, bias), energies.pixels,
                                    energies.coarse_noise)
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
        floor_px = self._floor_px
        sd = math.hypot(self._sd_around(energies.ratio, relative_sd), floor_px)
        high, high_beyond = self.blur_for_ratio(energies.ratio * math.exp(-2.0 * relative_sd))
        return BlurEstimate(blur, sd, energies, beyond_range=beyond,
                            blur_high_px=math.inf if high_beyond else high + 2.0 * floor_px)
