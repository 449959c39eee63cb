"""How much of the still frames' noise a later JPEG'd view of the feature carries.

After a JPEG round trip the noise two still frames show is, at low noise, mostly
coefficients flipping between quantisation steps: a coefficient flips when its detail
lies near a step's edge, and as focus softens the detail its fine coefficients fall to
zero and their flips go with them (the temporal σ of the sharp still frames, subtracted
from a soft frame, over-read its blur by 0.2–0.5 px at quality 90).

:class:`JpegNoiseTally` sums the still views' coefficients of a box as the lock
calibrates; :meth:`JpegNoiseTally.model` turns them into a :class:`JpegNoiseModel`, made
once per calibration step and asked once a frame per reference (the whole feature and
each part) — so everything that does not depend on the frame is worked out in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from focuslock.focus.jpeg_grid import (
    DCT_FINE_GAIN,
    JPEG_DETAIL_STEPS,
    MIN_JPEG_BLOCKS,
    MIN_PAIR_COEFFICIENTS,
    JpegGrid,
    ViewBlocks,
    ijg_luma_table,
    quantised_noise_energy,
    survived,
    view_blocks,
)

# A frequency whose coefficients with detail survive the quantisation this much more often
# than those without tells the two kinds apart in a view; below, the still views' share
# of coefficients with detail stands.
_MIN_SURVIVAL_SPREAD = 0.05


@dataclass(frozen=True)
class JpegNoiseModel:
    """Per DCT frequency (8×8 each), from the still views: how often a coefficient
    without detail survives the quantisation, 1 / (how much more often one with detail
    does), where that spread tells the kinds apart, the still views' share with detail,
    and the noise energy of each kind weighted by the fine band's gain (without detail;
    with detail minus without) — with ``reference``, the still views' weighted noise."""

    zero_survival: np.ndarray
    inverse_spread: np.ndarray
    told_apart: np.ndarray
    still_share: np.ndarray
    weighted_zero: float
    weighted_gap: np.ndarray
    reference: float

    def scale(self, surviving: np.ndarray) -> float:
        """The share of the still views' noise energy a view carries whose coefficients
        survive at the rates ``surviving`` (8×8): its share of coefficients with detail
        follows from how many of its own survive. Never more than 1 (a view sharper than
        the lock keeps the lock's noise)."""
        if self.reference <= 0:
            return 1.0
        share = np.where(self.told_apart, np.clip((surviving - self.zero_survival) * self.inverse_spread, 0.0, 1.0),
                         self.still_share)
        return min((self.weighted_zero + float((self.weighted_gap * share).sum())) / self.reference, 1.0)


class JpegNoiseTally:
    """The still views' DCT coefficients of one box on ``grid``, summed: per coefficient
    its value, whether it survived the quantisation, and (over consecutive views) half its
    squared change — the noise a JPEG'd frame shows there."""

    def __init__(self, grid: JpegGrid) -> None:
        self.grid = grid
        self._coefficient_sum: np.ndarray | None = None
        self._survived_sum: np.ndarray | None = None
        self._change_sum: np.ndarray | None = None
        self._views = 0
        self._pairs = 0
        self._last: np.ndarray | None = None
        self._model: JpegNoiseModel | None = None

    def add(self, coefficients: np.ndarray | None) -> None:
        """One still view's coefficients of the box (None: its blocks were off the grid)."""
        last, self._last = self._last, coefficients
        if coefficients is None or (self._coefficient_sum is not None and self._coefficient_sum.shape != coefficients.shape):
            return
        if self._coefficient_sum is None or self._survived_sum is None or self._change_sum is None:
            self._coefficient_sum = np.zeros_like(coefficients)
            self._survived_sum = np.zeros_like(coefficients)
            self._change_sum = np.zeros_like(coefficients)
        self._coefficient_sum += coefficients
        self._survived_sum += survived(coefficients, self.grid)
        self._views += 1
        if last is not None and last.shape == coefficients.shape:
            self._change_sum += 0.5 * (coefficients - last) ** 2
            self._pairs += 1
        self._model = None

    def forget_model(self) -> None:
        """Work the model out again at the next reading (the noise model moved)."""
        self._model = None

    @property
    def block_count(self) -> int:
        """How many blocks of the box the tally holds (0 before the first view on the grid)."""
        return 0 if self._coefficient_sum is None else int(self._coefficient_sum.shape[0])

    def model(self, noise_sigma: float) -> JpegNoiseModel | None:
        """The model for a noise of ``noise_sigma`` (None before a view on the grid).
        Per frequency: the noise energy of a coefficient without detail and of one with
        detail (told apart by the still views' mean, not by one noisy view) and how often
        each survives the quantisation in one view. The energies measured on the still
        views' pairs where a kind has enough coefficients, the model of Gaussian noise of σ
        elsewhere. Kept until a view is added or :meth:`forget_model` (the σ of a reading
        moves only with the views)."""
        if self._model is not None:
            return self._model
        total, survived_sum, change_sum, views = self._coefficient_sum, self._survived_sum, self._change_sum, self._views
        if total is None or survived_sum is None or change_sum is None or views == 0:
            return None
        zero, with_detail = quantised_noise_energy(self.grid.quality, round(float(noise_sigma), 2))
        steps = ijg_luma_table(self.grid.quality)
        detail = np.abs(total / views) > JPEG_DETAIL_STEPS * steps
        counts = np.stack([(~detail).sum(axis=0), detail.sum(axis=0)]).astype(np.float64)
        survival = np.stack([np.where(~detail, survived_sum, 0.0).sum(axis=0),
                             np.where(detail, survived_sum, 0.0).sum(axis=0)]) / np.maximum(counts * views, 1.0)
        energy = np.stack([zero, with_detail])
        if self._pairs:
            change = np.stack([np.where(~detail, change_sum, 0.0).sum(axis=0),
                               np.where(detail, change_sum, 0.0).sum(axis=0)]) / np.maximum(counts * self._pairs, 1.0)
            energy = np.where(counts * self._pairs >= MIN_PAIR_COEFFICIENTS, change, energy)
        # A kind the box lacks: a zero coefficient survives by noise alone, rarely; one
        # with detail always.
        survival = np.where(counts > 0, survival, np.stack([np.zeros((8, 8)), np.ones((8, 8))]))
        spread = survival[1] - survival[0]
        still_share = detail.mean(axis=0)
        weighted_zero, weighted_detail = DCT_FINE_GAIN * energy[0], DCT_FINE_GAIN * energy[1]
        self._model = JpegNoiseModel(
            zero_survival=survival[0], inverse_spread=1.0 / np.maximum(spread, _MIN_SURVIVAL_SPREAD),
            told_apart=spread > _MIN_SURVIVAL_SPREAD, still_share=still_share,
            weighted_zero=float(weighted_zero.sum()), weighted_gap=weighted_detail - weighted_zero,
            reference=float((still_share * weighted_detail + (1.0 - still_share) * weighted_zero).sum()))
        return self._model

    def view_scale(self, view: np.ndarray, box: tuple[int, int, int, int], noise_sigma: float,
                   blocks: ViewBlocks | None = None) -> float:
        """The share of the still views' noise energy that ``view`` carries in ``box``
        (1 where the view's blocks are off the grid or differ from the still views'). A
        box of fewer than 64 blocks keeps the still frames' noise: too few coefficients per
        frequency to tell the kinds apart (the drive calibration's small parts read a
        20 µm step as 17.4 µm with the model). ``blocks``: the view's blocks, when already
        transformed for a box holding this one."""
        count = self.block_count
        if count < MIN_JPEG_BLOCKS:
            return 1.0
        if blocks is None or blocks.grid != self.grid or not blocks.covers(box):
            blocks = view_blocks(view, self.grid, box)
        found = blocks.kept_share(box) if blocks is not None else None
        if found is None or found[0] != count:
            return 1.0
        model = self.model(noise_sigma)
        if model is None:
            return 1.0
        return model.scale(found[1])
