"""The one noise model: how much of a frame's fine detail is sensor noise.

Every judgement of focus subtracts the noise's share from a detail measure, so peaking,
the blur estimate, the lock, the capture check and ``analyze`` all ask this module, and
all get the same number: ``sigma`` — the standard deviation (grey levels, 0–255) of
white noise that has the same high-frequency energy as the noise in the frame.

Two estimators, the better one whenever it can be had:

* **temporal** — two views of the same still feature, aligned to the whole pixel:
  σ² = var(a − b) / 2. Texture cancels, so it is the cleanest estimate live view offers.
  It is measured on first differences (the band the blur estimate works in), so that
  the spatially correlated noise of a demosaiced, scaled, JPEG-compressed live view is
  measured where it matters rather than assumed white.
* **single frame** — after Immerkær's fast estimator (1996), with the 4-neighbour
  Laplacian as the mask (see ``_LAPLACIAN`` for why): it cancels smooth picture content;
  σ = √(π/2)/√20 · mean|R|. Texture inflates it, so only pixels whose Sobel gradient is
  in the lowest ``_FLAT_SHARE`` of each tile are used. The Sobel kernel is odd and the
  Laplacian even: on Gaussian noise their responses are uncorrelated and so independent,
  and choosing pixels by gradient does not bias the estimate on noise. Float
  throughout: never quantised.

:class:`NoiseModel` smooths the single-frame estimates over time and, once a temporal
estimate exists, holds it (the single-frame estimate only says when it has gone stale).
Nothing here is rescaled by a scene statistic that moves with focus or clipping. Each
estimate comes with its own uncertainty (:func:`noise_sigma_sd`), which every judgement
of focus counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["NoiseModel", "SingleFrameNoise", "first_difference_energy", "noise_sigma_sd", "single_frame_noise",
           "single_frame_noise_sigma", "temporal_noise_sigma", "MAD_TO_SIGMA"]

# Median of |x| for a zero-mean Gaussian is 0.6745·σ.
MAD_TO_SIGMA = 1.0 / 0.6745
# Share of the frame's pixels (lowest Sobel gradient) that the single-frame estimate uses.
_FLAT_SHARE = 0.3
# A floor: even a perfect 8-bit frame carries quantisation noise of 1/√12 grey levels.
MIN_SIGMA = 1.0 / math.sqrt(12.0)
# The 4-neighbour Laplacian: Σk² = 20. Immerkær's 3×3 mask (Σk² = 36) cancels more of
# the picture but, being a higher derivative, sees far less of the spatially correlated
# noise of a demosaiced, scaled live view (on the bench it read half the noise that
# disturbs the Laplacian and first-difference bands); the Laplacian is the band peaking
# paints and close to the band the blur estimate reads.
_LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
# How far off an estimate of σ can be (its standard deviation: a share of σ plus grey
# levels). Single frame, measured on the four test photographs (as they are and enlarged
# 3×, sharp and blurred, contrast 1 and ¼, noise 0.5–6): never below 0.73× the truth
# (quantisation steps of flat low-contrast frames read as no noise) — the side that
# would make a soft feature read sharp, which this σ covers — but up to 2× over it on a
# sharp, finely detailed frame at low noise (texture read as noise; there the texture
# outweighs the noise in every band, so an overestimate moves a blur reading little).
# Temporal: two views of one feature cancel the picture; on the same photographs (noise
# 0.5–3) the temporal σ was within 0.5 % of the noise's true first-difference energy;
# allowed twice that for frame-to-frame changes (flicker, JPEG) that a still bench does
# not have.
# (At 2 % the live engine read every ramp at sd 8 and contrast ½ UNCERTAIN although its
# blur estimate tracked the truth within 0.16 px.)
_SINGLE_FRAME_SD = (0.05, 0.10)
# Where the frame cannot separate its noise from its texture (fewer than _MIN_WEAK_SHARE
# of its pixels look like noise alone: fine texture everywhere, or a JPEG that smoothed
# the flat parts), the single-frame σ (Immerkær's on the flattest 30 %) may be 2–4× too
# high on grass-like texture at noise sd 1 or 0.7× on a JPEG live view: its relative sd.
_INSEPARABLE_RELATIVE_SD = 0.3
_MIN_WEAK_SHARE = 0.005
# The weak-texture window and what white noise of σ = 1 gives there: mean Sobel energy
# 24 per pixel (Σk² = 12 per axis); the 99th percentile of its 5×5 mean, measured on
# 512×512 pixels of white noise (the mean of correlated neighbours, not a χ²).
_WEAK_WINDOW = 5
_NOISE_ENERGY_Q99 = 46.9
# Pixels whose neighbourhood reaches these levels are near clipping: flat, but not noise.
_CLIP_HIGH = 250
_CLIP_LOW = 4
_TEMPORAL_SD = (0.01, 0.01)


def single_frame_noise_sigma(grey: np.ndarray, max_pixels: int = 65_536) -> float:
    """Noise σ (grey levels) of one grey frame or region, robust to texture (see
    :func:`single_frame_noise`)."""
    return single_frame_noise(grey, max_pixels).sigma


@dataclass(frozen=True)
class SingleFrameNoise:
    """A single-frame noise estimate: ``sigma`` (grey levels), and ``weak_share`` — the
    share of the pixels whose neighbourhood looked like noise alone at that σ. Where almost
    none did (fine texture everywhere: grass, gravel; or a JPEG that smoothed the flat
    parts), the frame cannot separate its noise from its texture: ``separable`` is False
    and the estimate's uncertainty (:attr:`relative_sd`) says so."""

    sigma: float
    weak_share: float

    @property
    def separable(self) -> bool:
        return self.weak_share >= _MIN_WEAK_SHARE

    @property
    def weak_weight(self) -> float:
        """How far the weak texture's reading answers (1 once :attr:`separable`); the rest
        is Immerkær's reading of the flattest 30 % (see :func:`single_frame_noise`)."""
        return _weak_weight(self.weak_share)

    @property
    def relative_sd(self) -> float:
        weight = self.weak_weight
        return weight * _SINGLE_FRAME_SD[0] + (1.0 - weight) * _INSEPARABLE_RELATIVE_SD

    @property
    def sd(self) -> float:
        """The standard deviation (grey levels) of :attr:`sigma`."""
        return self.relative_sd * self.sigma + _SINGLE_FRAME_SD[1]


def single_frame_noise(grey: np.ndarray, max_pixels: int = 65_536) -> SingleFrameNoise:
    """Noise of one grey frame or region, robust to texture: Immerkær's estimator on the
    pixels whose neighbourhood is as flat as noise alone would leave it.

    The neighbourhood's gradient energy (Sobel, averaged over 5×5) is compared with what
    white noise of the current σ gives; the pixels below its 99th percentile are the weak
    texture of Liu, Tanaka & Okutomi (2013), and σ is measured on them again, until it
    settles. Selected by an odd (gradient) filter, measured by an even one (Laplacian):
    independent on noise, so the choice does not bias the reading. Texture can only raise
    the result; where too few pixels look like noise alone, the estimate says it could
    not separate the two and Immerkær's reading of the flattest 30 % answers (see below).
    Pixels near clipping (flat because the sensor ran out, not because the scene is
    smooth) are never used.

    Large inputs are read from tiles spread over the frame, about ``max_pixels`` in all:
    noise is the same everywhere, the estimate needs tens of thousands of pixels, and
    tiles (unlike a centre crop) also find the out-of-focus parts of a macro frame.
    """
    if grey.ndim != 2 or grey.shape[0] < 9 or grey.shape[1] < 9:
        if grey.ndim == 2 and grey.shape[0] >= 5 and grey.shape[1] >= 5:
            return SingleFrameNoise(max(float(_immerkaer_flat(grey[np.newaxis])[0]), MIN_SIGMA), 0.0)
        raise ValueError("A noise estimate needs a grey region of at least 5×5 pixels.")
    height, width = grey.shape
    if height * width > max_pixels:
        tile = 64
        count = max(1, max_pixels // (tile * tile))
        rows = max(1, min(int(round(math.sqrt(count * height / width))), height // tile))
        cols = max(1, min(count // rows, width // tile))
        ys = np.linspace(0, height - tile, rows).astype(int)
        xs = np.linspace(0, width - tile, cols).astype(int)
        tiles = [grey[y : y + tile, x : x + tile] for y in ys for x in xs]
    else:
        tiles = [grey]
    energies, responses = zip(*(_weak_texture_maps(t) for t in tiles), strict=True)
    energy, response = np.concatenate(energies), np.concatenate(responses)
    # Where too few pixels look like noise alone (fine texture everywhere, or a JPEG that
    # smoothed the flat parts below the noise it left in the detail: live view read
    # 0.35–0.55× the temporal σ there), Immerkær's reading of the flattest 30 % per tile
    # answers — higher than the weak texture's, never the side that leaves noise to read
    # as detail — with the uncertainty of a frame that cannot tell the two apart. Between
    # none and _MIN_WEAK_SHARE the two are blended, so that frames of one take near the
    # line do not jump between them.
    weak_sigma, share = _settle(energy, response) if energy.size >= 16 else (0.0, 0.0)
    weight = _weak_weight(share)
    if weight < 1.0:  # (read only where it answers: most frames separate)
        fallback = float(np.median(_immerkaer_flat(np.stack(tiles))))
        weak_sigma = weight * weak_sigma + (1.0 - weight) * fallback
    return SingleFrameNoise(max(weak_sigma, MIN_SIGMA), share)


def _weak_weight(share: float) -> float:
    return min(share / _MIN_WEAK_SHARE, 1.0)


def _weak_texture_maps(tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of ``tile`` (border dropped): the 5×5 mean Sobel energy and |Laplacian|,
    for the pixels not near clipping."""
    image = tile.astype(np.float32)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    energy = cv2.boxFilter(gx * gx + gy * gy, cv2.CV_32F, (_WEAK_WINDOW, _WEAK_WINDOW))
    response = np.abs(cv2.filter2D(image, cv2.CV_32F, _LAPLACIAN))
    kernel = np.ones((_WEAK_WINDOW, _WEAK_WINDOW), np.uint8)
    unclipped = (cv2.dilate(tile, kernel) < _CLIP_HIGH) & (cv2.erode(tile, kernel) > _CLIP_LOW)
    b = _WEAK_WINDOW // 2 + 1
    inner = (slice(b, -b), slice(b, -b))
    keep = unclipped[inner]
    return energy[inner][keep], response[inner][keep]


def _settle(energy: np.ndarray, response: np.ndarray) -> tuple[float, float]:
    """Iterate σ → the pixels whose gradient energy noise of σ explains → σ from them."""
    to_sigma = math.sqrt(math.pi / 2.0) / math.sqrt(20.0)
    floor_count = max(int(energy.size * _MIN_WEAK_SHARE), 16)
    # Start from the flattest 30 %: Immerkær's choice, an estimate texture can only raise.
    threshold = float(np.partition(energy, int(energy.size * _FLAT_SHARE))[int(energy.size * _FLAT_SHARE)])
    weak = energy <= threshold
    sigma = to_sigma * float(response[weak].mean())
    share = float(weak.mean())
    for _ in range(12):
        weak = energy <= _NOISE_ENERGY_Q99 * sigma * sigma
        share = float(weak.mean())
        if weak.sum() < floor_count:
            cut = float(np.partition(energy, floor_count)[floor_count])
            weak = energy <= cut
        new = to_sigma * float(response[weak].mean())
        settled = abs(new - sigma) <= 1e-3 * sigma
        sigma = new
        if settled:
            break
    return sigma, share


def _immerkaer_flat(tiles: np.ndarray) -> np.ndarray:
    """The estimate of each of ``tiles`` (n, h, w), all filtered in one pass.

    The tiles are filtered stacked one above the other: a 3×3 filter mixes neighbouring
    tiles only in each tile's first and last row, which are dropped with the border."""
    count, height, width = tiles.shape
    image = tiles.reshape(count * height, width).astype(np.float32)
    response = np.abs(cv2.filter2D(image, cv2.CV_32F, _LAPLACIAN)).reshape(count, height, width)[:, 1:-1, 1:-1]
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3).reshape(count, height, width)[:, 1:-1, 1:-1]
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3).reshape(count, height, width)[:, 1:-1, 1:-1]
    gradient = (gx * gx + gy * gy).reshape(count, -1)
    response = response.reshape(count, -1)
    rank = int(gradient.shape[1] * _FLAT_SHARE)
    threshold = np.partition(gradient, rank, axis=1)[:, rank : rank + 1]
    flat = gradient <= threshold
    flat_count = flat.sum(axis=1)
    # A tile with too few flat pixels (impossible unless tiny) is read whole.
    flat[flat_count < 16] = True
    means: np.ndarray = (response * flat).sum(axis=1) / flat.sum(axis=1)
    return means * (math.sqrt(math.pi / 2.0) / math.sqrt(20.0))



def noise_sigma_sd(sigma: float, temporal: bool = False, separable: bool = True) -> float:
    """The standard deviation (grey levels) of a noise estimate ``sigma``: single-frame by
    default, ``temporal`` when it came from two views of the still feature.

    A judgement of focus subtracts the noise's share from the fine band; where that share
    is most of the band (a plain or already soft feature), a σ that is 20 % low leaves
    enough noise in the band to read as detail a blur has removed. The estimators' own
    error therefore counts in every estimate's uncertainty (:mod:`.defocus`).
    ``separable``: False where a single frame could not separate its noise from its
    texture (:class:`SingleFrameNoise`)."""
    relative, absolute = _TEMPORAL_SD if temporal else _SINGLE_FRAME_SD
    if not temporal and not separable:
        relative = _INSEPARABLE_RELATIVE_SD
    return relative * sigma + absolute


def temporal_noise_sigma(view_a: np.ndarray, view_b: np.ndarray) -> float:
    """White-equivalent noise σ from two aligned views of a still feature.

    Measured on first differences: var(Δa − Δb) = 2·(2σ²) per axis for white noise of σ,
    so correlated noise is reported as the white noise that disturbs a gradient measure
    as much.
    """
    if view_a.shape != view_b.shape or view_a.ndim != 2 or min(view_a.shape) < 3:
        raise ValueError("A temporal noise estimate needs two grey views of the same size, at least 3×3.")
    difference = view_a.astype(np.float32) - view_b.astype(np.float32)
    # Per axis: var = 2 (two frames) × 2 (first difference) × σ²; both axes: 8σ².
    return max(math.sqrt(first_difference_energy(difference) / 8.0), MIN_SIGMA)


def first_difference_energy(image: np.ndarray) -> float:
    """mean(Δx²) + mean(Δy²) of a float32 or uint8 image: the band the blur estimate and the
    temporal noise estimate both read (white noise of σ gives 4σ²)."""
    height, width = image.shape[:2]
    # cv2.norm of the difference of two shifted views: one pass each, no temporaries.
    sum_dx = cv2.norm(image[:, 1:], image[:, :-1], cv2.NORM_L2SQR)
    sum_dy = cv2.norm(image[1:, :], image[:-1, :], cv2.NORM_L2SQR)
    return float(sum_dx / (height * (width - 1)) + sum_dy / ((height - 1) * width))


class NoiseModel:
    """The noise of one session or one take.

    ``observe_frame`` feeds single-frame estimates (smoothed exponentially, so one odd
    frame moves the estimate by ``smoothing``); ``observe_views`` feeds pairs of aligned
    views of a still feature (the temporal estimate). ``sigma`` is the best current
    estimate: the temporal one (median of the pairs) once pairs were seen, single-frame
    before.

    The temporal σ is held, not rescaled by the single-frame estimate as it moves: that
    estimate reads texture as noise, so it falls as focus softens the frame (by half on a
    sharp, finely detailed frame at low noise) while the noise stays the same. Only a
    change larger than focus makes — the single-frame estimate ×2.5 or ÷2.5 from where it
    stood when the pairs were taken: a new ISO, much more or less light — says the held σ
    is stale; then the single-frame estimate answers (with its larger uncertainty) until
    new pairs come. A held model (:meth:`hold`) takes no more estimates of either kind.
    """

    # How far the single-frame estimate may move from where it stood at the temporal
    # measurement before the held temporal σ is taken as stale (focus alone moved it
    # 0.5× on the test photographs; one stop of ISO moves the noise ~1.4×, three ~2.8×:
    # a smaller change is held until new pairs measure it).
    STALE_FACTOR = 2.5

    def __init__(self, smoothing: float = 0.3) -> None:
        self.smoothing = smoothing
        self._single: float | None = None
        self._pairs: list[tuple[float, float]] = []  # (temporal σ, single-frame σ then)
        self._temporal: float | None = None
        self._single_at_temporal: float | None = None
        self._single_separable = True
        self._held_temporal = False
        self.fixed: float | None = None

    def hold(self) -> None:
        """From now on always answer the present estimate (a take: the noise measured on
        the lock frame, held for the take). Does nothing when already held."""
        if self.fixed is None:
            self._held_temporal = self._temporal_valid
            self.fixed = max(float(self.sigma or 1.0), MIN_SIGMA)

    def hold_measured(self, temporal_sigmas: list[float]) -> None:
        """Hold the noise of a take measured on two or more views of the still feature
        (``temporal_sigmas``: one per pair, see :func:`temporal_noise_sigma`): the least
        of them and the single-frame estimate answers. A pair whose focus or position
        changed carries picture and reads higher, texture raises the single frame; where
        no pair held still (a focus stack), the single-frame estimate answers."""
        if self.fixed is not None or not temporal_sigmas:
            return
        temporal = min(temporal_sigmas)
        # (On JPEG frames the single frame reads lower than still pairs do — the flat parts
        # it reads were smoothed — and answers: the noise a JPEG leaves in detail shrinks as
        # focus softens it, and the pairs' σ, subtracted from a soft frame, over-read its
        # blur by 0.4 px at quality 90, the single frame's by 0.2.)
        if self._single is not None and temporal >= self._single:
            self.hold()
            return
        self.fixed = max(temporal, MIN_SIGMA)
        self._held_temporal = True

    @property
    def _temporal_valid(self) -> bool:
        if self._temporal is None or self._single is None or self._single_at_temporal is None:
            return False
        change = self._single / self._single_at_temporal
        return 1.0 / self.STALE_FACTOR <= change <= self.STALE_FACTOR

    @property
    def source(self) -> str:
        """Which estimator answers: "temporal", "single-frame" or "fixed" (held)."""
        if self.fixed is not None:
            return "fixed"
        return "temporal" if self._temporal_valid else "single-frame"

    @property
    def sigma_sd(self) -> float | None:
        """The standard deviation of :attr:`sigma` (see :func:`noise_sigma_sd`)."""
        sigma = self.sigma
        if sigma is None:
            return None
        # Held or not: the estimator that answered (nothing changes it once held).
        return noise_sigma_sd(sigma, temporal=self._temporal_valid or self._held_temporal,
                              separable=self._single_separable)

    @property
    def sigma(self) -> float | None:
        if self.fixed is not None:
            return self.fixed
        if self._temporal_valid:
            return self._temporal
        return self._single

    def observe_frame(self, grey: np.ndarray) -> float:
        if self.fixed is not None:
            return self.fixed
        reading = single_frame_noise(grey)
        estimate = reading.sigma
        self._single_separable = reading.separable
        if self._single is None:
            self._single = estimate
        else:
            self._single += self.smoothing * (estimate - self._single)
        return self.sigma  # type: ignore[return-value]

    def observe_views(self, view_a: np.ndarray, view_b: np.ndarray) -> None:
        """A pair of aligned views of the still feature: the temporal σ is the median of
        the latest pairs (pairs taken before the noise changed are dropped)."""
        if self._single is None or self.fixed is not None:
            return
        if self._temporal is not None and not self._temporal_valid:
            self._pairs = []  # the noise changed since those pairs
        self._pairs.append((temporal_noise_sigma(view_a, view_b), self._single))
        self._pairs = self._pairs[-16:]
        middle = len(self._pairs) // 2
        self._temporal = sorted(t for t, _ in self._pairs)[middle]
        self._single_at_temporal = sorted(s for _, s in self._pairs)[middle]
