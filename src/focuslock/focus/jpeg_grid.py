"""A view decoded from a JPEG, recognised by its own 8×8 DCT lattice, and the noise its quantisation leaves.

A live view or a tether program's file carries the grid of its JPEG: the DC terms of the
8×8 blocks lie on a lattice of the quantisation step, which gives the grid's phase and
the libjpeg quality (:func:`jpeg_grid`). The blur estimate (:mod:`.defocus`) uses it to
scale the still frames' noise to the quantised detail a later view still has.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

# ------------------------------------------------------------------ JPEG

_DCT8 = np.array([[(math.sqrt(1.0 / 8.0) if k == 0 else 0.5) * math.cos((2 * n + 1) * k * math.pi / 16.0) for n in range(8)]
                  for k in range(8)])
_DCT8_T = np.ascontiguousarray(_DCT8.T)
# The luminance table of the JPEG standard (Annex K), which libjpeg scales by its quality.
_IJG_LUMA = np.array([[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
                      [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77],
                      [24, 35, 55, 64, 81, 104, 113, 92], [49, 64, 78, 87, 103, 121, 120, 101],
                      [72, 92, 95, 98, 112, 100, 103, 99]], np.float64)
_DC_STEPS = np.arange(2.0, 33.0)
MIN_JPEG_BLOCKS = 64
_MAX_LATTICE_SAMPLES = 4096
# How close to a lattice (mean cos 2π·c/q over the kept coefficients) the DC terms must
# lie: ≥ 0.64 after a JPEG at quality 50–90, ≤ 0.25 on uncompressed frames (five crops,
# noise sd 0–8).
_MIN_LATTICE = 0.5
# The still views' noise is measured per frequency and kind (with detail or without) once
# their pairs hold this many coefficients of it; a model of Gaussian noise of σ answers
# before (:func:`quantised_noise_energy`).
MIN_PAIR_COEFFICIENTS = 32
# A coefficient whose mean over the still views is at least this share of its step away
# from zero carries detail (its noise goes with the detail as focus softens); nearer zero,
# its noise is the sensor's alone (it stays).
JPEG_DETAIL_STEPS = 0.25


def ijg_luma_table(quality: int) -> np.ndarray:
    """The luminance quantisation table libjpeg writes at ``quality`` (1–100); read-only
    (made once per quality: the estimate asks for it several times a frame)."""
    return _ijg_luma_table(min(max(int(quality), 1), 100))


@functools.lru_cache(maxsize=128)
def _ijg_luma_table(quality: int) -> np.ndarray:
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    table = np.clip(np.floor((_IJG_LUMA * scale + 50.0) / 100.0), 1.0, 255.0)
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=128)
def _mean_step(quality: int) -> float:
    return float(ijg_luma_table(quality).mean())


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
        return _mean_step(self.quality)


def _lattice_score(values: np.ndarray, steps: np.ndarray) -> float:
    """How close ``values`` lie to multiples of the best of ``steps``; 0 with too few."""
    values = values[np.abs(values) > 1.5]
    if values.size < 16:
        return 0.0
    values = values[: _MAX_LATTICE_SAMPLES]
    return float(np.cos((2.0 * math.pi) * values[None, :] / steps[:, None]).mean(axis=1).max())


def _block_rows(region: np.ndarray) -> np.ndarray:
    """The 2-D DCT of every 8×8 block of ``region`` (its sides multiples of 8), laid out
    (block row, frequency row, block column, frequency column) — a block's rows for all
    blocks at once, then its columns: two matrix products over the region (a product per
    block cost 2.5× as much)."""
    ny, nx = region.shape[0] // 8, region.shape[1] // 8
    rows = np.matmul(_DCT8, (region.astype(np.float64) - 128.0).reshape(ny, 8, 8 * nx))
    coefficients: np.ndarray = (rows.reshape(ny * 8 * nx, 8) @ _DCT8_T).reshape(ny, 8, nx, 8)
    return coefficients


def _block_dct(image: np.ndarray, phase: tuple[int, int]) -> np.ndarray:
    """The 2-D DCT (ny, nx, 8, 8) of every whole 8×8 block whose corners lie at ``phase``
    (x, y) + multiples of 8."""
    px, py = phase
    ny, nx = (image.shape[0] - py) // 8, (image.shape[1] - px) // 8
    coefficients: np.ndarray = _block_rows(image[py : py + 8 * ny, px : px + 8 * nx]).transpose(0, 2, 1, 3)
    return coefficients


@functools.lru_cache(maxsize=128)
def _half_steps(quality: int) -> np.ndarray:
    """Half of each step of ``quality``'s table (8×8): a coefficient more than this far
    from zero survived the quantisation (:func:`survived`)."""
    half = 0.5 * ijg_luma_table(quality)
    half.flags.writeable = False
    return half


# The first difference's gain (both axes) at each 8×8 DCT frequency: how much of a
# coefficient's energy the fine band sees.
DCT_FINE_GAIN = ((2.0 * np.sin(np.pi * np.arange(8) / 16.0))[:, None] ** 2
                  + (2.0 * np.sin(np.pi * np.arange(8) / 16.0))[None, :] ** 2)


@dataclass(frozen=True)
class ViewBlocks:
    """A view's 8×8 blocks on its JPEG grid inside a box, transformed once a frame for
    every reference that reads a part of the box (the whole feature and its parts): the
    DCT coefficients laid out (block row, frequency row, block column, frequency column),
    which of them the quantisation kept, and how close each block's DC term lies to the
    DC step's lattice (None when that step is below 2 grey levels: no lattice to check)."""

    grid: JpegGrid
    origin: tuple[int, int]
    coefficients: np.ndarray
    kept: np.ndarray
    dc_closeness: np.ndarray | None

    def _span(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """The block indices (i0, j0, i1, j1) of the whole blocks inside ``box`` (may
        reach past the blocks held: see :meth:`covers`)."""
        x0, y0, x1, y1 = box
        ox, oy = self.origin
        return -((ox - x0) // 8), -((oy - y0) // 8), (x1 - ox) // 8, (y1 - oy) // 8

    def covers(self, box: tuple[int, int, int, int]) -> bool:
        """Whether every whole block of the grid inside ``box`` is held here."""
        i0, j0, i1, j1 = self._span(box)
        return i0 >= 0 and j0 >= 0 and i1 <= self.kept.shape[2] and j1 <= self.kept.shape[0]

    def _on_grid(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        """The block indices inside ``box``; None when it holds no whole block or its
        blocks do not lie on the grid's lattice (the feature moved by a pixel since the
        grid was found)."""
        i0, j0, i1, j1 = span = self._span(box)
        if i1 - i0 < 1 or j1 - j0 < 1:
            return None
        if self.dc_closeness is not None and float(self.dc_closeness[j0:j1, i0:i1].sum()) < _MIN_LATTICE * (i1 - i0) * (j1 - j0):
            return None
        return span

    def inside(self, box: tuple[int, int, int, int]) -> np.ndarray | None:
        """The coefficients (blocks, 8, 8) of the blocks inside ``box`` (x0, y0, x1, y1 in
        the view, within what :meth:`covers`), or None (see :meth:`_on_grid`)."""
        span = self._on_grid(box)
        if span is None:
            return None
        i0, j0, i1, j1 = span
        return self.coefficients[j0:j1, :, i0:i1].transpose(0, 2, 1, 3).reshape(-1, 8, 8)

    def kept_share(self, box: tuple[int, int, int, int]) -> tuple[int, np.ndarray] | None:
        """How many blocks lie inside ``box`` and, per frequency (8×8), the share of them
        whose coefficient the quantisation kept; None (see :meth:`_on_grid`)."""
        span = self._on_grid(box)
        if span is None:
            return None
        i0, j0, i1, j1 = span
        count = (i1 - i0) * (j1 - j0)
        # (One axis at a time: a reduction over both at once cost 2.4× as much.)
        return count, self.kept[j0:j1, :, i0:i1].sum(axis=0).sum(axis=1) / count


def view_blocks(image: np.ndarray, grid: JpegGrid, box: tuple[int, int, int, int]) -> ViewBlocks | None:
    """The blocks of ``grid`` inside ``box`` (x0, y0, x1, y1 in ``image``), transformed;
    None when the box holds no whole block."""
    x0, y0, x1, y1 = box
    px, py = grid.phase
    bx0, by0 = x0 + (px - x0) % 8, y0 + (py - y0) % 8
    nx, ny = (x1 - bx0) // 8, (y1 - by0) // 8
    if nx < 1 or ny < 1:
        return None
    coefficients = _block_rows(image[by0 : by0 + 8 * ny, bx0 : bx0 + 8 * nx])
    dc_step = float(ijg_luma_table(grid.quality)[0, 0])
    closeness = np.cos(coefficients[:, 0, :, 0] * (2.0 * math.pi / dc_step)) if dc_step >= 2 else None
    # Which survived, in :func:`_block_rows`' layout (block row, frequency row, block column, frequency column).
    kept = np.abs(coefficients) > _half_steps(grid.quality).reshape(1, 8, 1, 8)
    return ViewBlocks(grid, (bx0, by0), coefficients, kept, closeness)


class SharedBlocks:
    """A view's blocks inside a box, transformed on first use (:func:`view_blocks`) and
    then shared by every reference that reads a part of the box: none when every one of
    them keeps a share worked out on an earlier frame (see :class:`.jpeg_noise.ScaleMemory`)."""

    def __init__(self, image: np.ndarray, grid: JpegGrid, box: tuple[int, int, int, int]) -> None:
        self.grid = grid
        self._image, self._box = image, box
        self._blocks: ViewBlocks | None = None
        self._made = False

    def get(self) -> ViewBlocks | None:
        """The blocks (None when the box holds no whole block)."""
        if not self._made:
            self._blocks, self._made = view_blocks(self._image, self.grid, self._box), True
        return self._blocks


def jpeg_coefficients(image: np.ndarray, grid: JpegGrid, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The DCT coefficients (blocks, 8, 8) of the 8×8 blocks of ``grid`` inside ``box``
    (x0, y0, x1, y1 in ``image``), or None (see :meth:`ViewBlocks.inside`)."""
    blocks = view_blocks(image, grid, box)
    return blocks.inside(box) if blocks is not None else None


def survived(coefficients: np.ndarray, grid: JpegGrid) -> np.ndarray:
    """Which coefficients the quantisation kept (at least half their step from zero)."""
    kept: np.ndarray = np.abs(coefficients) > _half_steps(grid.quality)
    return kept


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x), from erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    erf = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-z * z)
    cdf: np.ndarray = 0.5 * (1.0 + np.sign(x) * erf)
    return cdf


@functools.lru_cache(maxsize=64)
def quantised_noise_energy(quality: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
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
    if image.ndim != 2 or (image.shape[0] // 8) * (image.shape[1] // 8) < MIN_JPEG_BLOCKS:
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


def view_jpeg_grid(view: np.ndarray) -> JpegGrid | None:
    """:func:`jpeg_grid`, once per view: the box and its parts share the lock's view."""
    view = np.ascontiguousarray(view)
    return _cached_jpeg_grid(view.tobytes(), view.shape, view.dtype.str)
