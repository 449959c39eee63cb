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

from dataclasses import dataclass, field

import numpy as np

from focuslock.focus.jpeg_grid import (
    DCT_FINE_GAIN,
    JPEG_DETAIL_STEPS,
    MIN_JPEG_BLOCKS,
    MIN_PAIR_COEFFICIENTS,
    JpegGrid,
    SharedBlocks,
    ijg_luma_table,
    quantised_noise_energy,
    survived,
    view_blocks,
)

# In a live lock, a reference keeps the JPEG noise share worked out on an earlier frame
# while it is (nearly) whole and focus stands still: at most this many frames, and only
# while the blur read stays below the blur that share was worked out at plus this share
# of the CoC (:class:`ScaleMemory`).
SCALE_REUSE_FRAMES = 8
SCALE_REUSE_COC = 0.1
SCALE_REUSE_MIN = 0.98
# A frequency whose coefficients with detail survive the quantisation this much more often
# than those without tells the two kinds apart in a view; below, the still views' share
# of coefficients with detail stands.
_MIN_SURVIVAL_SPREAD = 0.05


@dataclass(frozen=True)
class JpegNoiseModel:
    """Per DCT frequency (8×8 each), from the still views: how often a coefficient
    without detail survives the quantisation and 1 / (how much more often one with detail
    does) — 0 where that spread does not tell the kinds apart —, and the noise energy of
    each kind weighted by the fine band's gain as what a view's share of coefficients with
    detail adds to ``base`` (``gap``, where the kinds are told apart); ``reference``: the
    still views' weighted noise."""

    zero_survival: np.ndarray
    inverse_spread: np.ndarray
    gap: np.ndarray
    base: float
    reference: float

    def scale(self, surviving: np.ndarray) -> float:
        """The share of the still views' noise energy a view carries whose coefficients
        survive at the rates ``surviving`` (8×8): its share of coefficients with detail
        follows from how many of its own survive (where the kinds are told apart; the
        still views' share elsewhere, in ``base``). Never more than 1 (a view sharper than
        the lock keeps the lock's noise)."""
        if self.reference <= 0:
            return 1.0
        share = (surviving - self.zero_survival) * self.inverse_spread
        np.maximum(share, 0.0, out=share)
        np.minimum(share, 1.0, out=share)
        return min((self.base + float(np.vdot(self.gap, share))) / self.reference, 1.0)


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
        told_apart = spread > _MIN_SURVIVAL_SPREAD
        still_share = detail.mean(axis=0)
        weighted_zero, weighted_detail = DCT_FINE_GAIN * energy[0], DCT_FINE_GAIN * energy[1]
        gap = weighted_detail - weighted_zero
        self._model = JpegNoiseModel(
            zero_survival=survival[0], inverse_spread=np.where(told_apart, 1.0 / np.maximum(spread, _MIN_SURVIVAL_SPREAD), 0.0),
            gap=np.where(told_apart, gap, 0.0),
            base=float(weighted_zero.sum() + np.where(told_apart, 0.0, gap * still_share).sum()),
            reference=float((still_share * weighted_detail + (1.0 - still_share) * weighted_zero).sum()))
        return self._model

    def view_scale(self, view: np.ndarray, box: tuple[int, int, int, int], noise_sigma: float,
                   blocks: SharedBlocks | None = None) -> float:
        """The share of the still views' noise energy that ``view`` carries in ``box``
        (1 where the view's blocks are off the grid or differ from the still views'). A
        box of fewer than 64 blocks keeps the still frames' noise: too few coefficients per
        frequency to tell the kinds apart (the drive calibration's small parts read a
        20 µm step as 17.4 µm with the model). ``blocks``: the view's blocks for a box
        holding this one, shared with the other references."""
        count = self.block_count
        if count < MIN_JPEG_BLOCKS:
            return 1.0
        held = blocks.get() if blocks is not None and blocks.grid == self.grid else None
        if held is None or not held.covers(box):
            held = view_blocks(view, self.grid, box)
        found = held.kept_share(box) if held is not None else None
        if found is None or found[0] != count:
            return 1.0
        model = self.model(noise_sigma)
        if model is None:
            return 1.0
        return model.scale(found[1])


@dataclass
class ScaleMemory:
    """What a live lock remembers of one reference's JPEG noise share between frames: the
    share, the blur it was read at, and how many frames have used it since.

    A view keeps the share of a sharper view or less: the share falls as focus softens the
    detail (a step from 1 to about 0.85 between 0.2 and 0.4 px of blur on the test crops).
    So a share of (nearly) 1, remembered, serves every view that reads no softer than the
    view it was worked out on plus ``SCALE_REUSE_COC`` of the CoC: a sharper view's own
    share is 1 as well, and a slightly softer one's own share can only be smaller — the
    remembered one then reads it a little softer, never sharper. Below
    ``SCALE_REUSE_MIN``, and after ``SCALE_REUSE_FRAMES`` frames, a view works its own
    out. (The block transforms it spares were a third of the focus work per frame at
    1024×680 with focus held.) Owned by the lock, never by the reference, which stays
    unchanged."""

    scale: float | None = None
    blur_px: float = 0.0
    uses: int = 0

    def remembered(self) -> float | None:
        """The share to try on this frame, or None: work it out."""
        if self.scale is None or self.scale < SCALE_REUSE_MIN or self.uses >= SCALE_REUSE_FRAMES:
            return None
        return self.scale

    def still_holds(self, blur_px: float, coc_px: float) -> bool:
        """Whether the remembered share served a frame that read ``blur_px`` (counted a
        use); when it read softer than the share allows, it is forgotten."""
        if blur_px - self.blur_px <= SCALE_REUSE_COC * coc_px:
            self.uses += 1
            return True
        self.scale = None
        return False

    def keep(self, scale: float, blur_px: float) -> None:
        """A share worked out on this frame, which read ``blur_px``."""
        self.scale, self.blur_px, self.uses = scale, blur_px, 0


@dataclass
class FeatureScaleMemory:
    """A :class:`ScaleMemory` for the whole feature and one per part."""

    whole: ScaleMemory = field(default_factory=ScaleMemory)
    parts: list[ScaleMemory] = field(default_factory=list)

    def part(self, index: int) -> ScaleMemory:
        while len(self.parts) <= index:
            self.parts.append(ScaleMemory())
        return self.parts[index]
