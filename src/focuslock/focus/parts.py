"""The locked feature read whole and in parts: a box deeper than the depth of field.

The blur estimate of a whole box is led by its sharpest detail (the fine band's energy
comes from wherever the picture is sharp). When the box spans more depth than the depth
of field — a coin's numeral at 2×, a label running away from the lens — racking focus
sharpens one side while the other leaves the depth of field, and the whole box keeps
reading sharp. So the box is also read as a grid of parts (2×2, fewer for a narrow
box), each against its own through-focus curve from the same lock views; the lock says
SOFTENING or SOFT when one part is *confidently* past the threshold (its blur less two
standard deviations, over two readings), and says why.

The parts cost little: the curves share the blurred views of the whole box (made once
per calibration view), and a reading shares the view's coarse band. Live, the lock reads
one part a frame in turn (each part's reading costs about a quarter of a millisecond's
Python); a take or a capture reads them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from focuslock.focus.defocus import BlurEstimate, BlurReference, coarse_band, curve_views
from focuslock.focus.gross_blur import GrossCurve, GrossReading, overrule
from focuslock.focus.jpeg_noise import FeatureScaleMemory

__all__ = ["FeatureEstimate", "FeatureReference", "MIN_PART_PX", "PART_REASON", "confident_blur_px", "grid_regions", "part_regions"]

# A part narrower than this (px) holds too little detail to be read on its own: a box
# is split along an axis only when both halves are at least this long.
MIN_PART_PX = 24
# Said with the verdict when a part of the box, not the whole, sets it.
PART_REASON = "part of the box is softer: it spans more than the depth of field — box a smaller detail"


def part_regions(width_px: int, height_px: int) -> list[tuple[int, int, int, int]]:
    """The parts (x0, y0, x1, y1) of a box of ``width_px`` × ``height_px``: halves along
    each axis long enough for two parts; none for a box too small to split."""
    regions = grid_regions(width_px, height_px, 2)
    return regions if len(regions) > 1 else []


def grid_regions(width_px: int, height_px: int, max_per_axis: int,
                 min_part_px: int = MIN_PART_PX) -> list[tuple[int, int, int, int]]:
    """A grid of up to ``max_per_axis`` × ``max_per_axis`` parts, none shorter than
    ``min_part_px`` along either axis (one part for a box too small to split)."""
    cols = max(1, min(max_per_axis, width_px // min_part_px))
    rows = max(1, min(max_per_axis, height_px // min_part_px))
    return [(width_px * c // cols, height_px * r // rows, width_px * (c + 1) // cols, height_px * (r + 1) // rows)
            for r in range(rows) for c in range(cols)]


def confident_blur_px(estimate: BlurEstimate) -> float:
    """The least blur the reading allows at two standard deviations: what a part is
    judged by, so that its noise alone never raises an alarm. A reading with no detail
    left is blurred past the end of its curve; one that cannot be trusted says nothing."""
    if estimate.no_detail or estimate.beyond_range:
        return estimate.blur_px
    if not math.isfinite(estimate.blur_sd_px):
        return -math.inf
    return estimate.blur_px - 2.0 * estimate.blur_sd_px


@dataclass(frozen=True)
class FeatureEstimate:
    """One view's blur: of the whole box, and of each part (None where the part could
    not resolve the CoC at lock time and is not read)."""

    whole: BlurEstimate
    parts: tuple[BlurEstimate | None, ...] = ()
    # The whole box read four times coarser (None: too small for that), which
    # :func:`.judge.judge_feature` weighs against the whole's reading.
    gross: GrossReading | None = None


class FeatureReference:
    """The locked feature's through-focus curves: the whole box and its parts.

    ``view``: the feature at lock time, whole-pixel, with ``margin_px`` of context on
    every side; ``regions``: the parts (default :func:`part_regions`; the focus-drive
    calibration reads a finer grid). Which parts are read is decided by the lock
    (:meth:`size_parts`): a part too plain for the noise would only add noise.
    """

    def __init__(self, view: np.ndarray, noise_sigma: float, coc_px: float, margin_px: int,
                 regions: list[tuple[int, int, int, int]] | None = None) -> None:
        view = view.astype(np.float32, copy=False)
        height, width = view.shape[0] - 2 * margin_px, view.shape[1] - 2 * margin_px
        self.regions = part_regions(width, height) if regions is None else list(regions)
        blurred = [curve_views(view, coc_px)]
        self.whole = BlurReference([view], noise_sigma, coc_px, margin_px, blurred=blurred)
        self.parts = [BlurReference([view], noise_sigma, coc_px, margin_px, region=r, blurred=blurred)
                      for r in self.regions]
        self.read_parts: tuple[bool, ...] = (False,) * len(self.parts)
        # The whole box read four times coarser: a blur far past the CoC (:mod:`.gross_blur`).
        self.gross = GrossCurve(view, coc_px, margin_px)

    @classmethod
    def from_views(cls, views: list[np.ndarray], noise_sigma: float, coc_px: float, margin_px: int,
                   regions: list[tuple[int, int, int, int]] | None = None) -> FeatureReference:
        """The reference averaged over several aligned views of the still feature (the
        first builds it, the rest are added)."""
        reference = cls(views[0], noise_sigma, coc_px, margin_px, regions)
        for view in views[1:]:
            reference.add_view(view, noise_sigma)
        return reference

    @property
    def coc_px(self) -> float:
        return self.whole.coc_px

    @property
    def margin_px(self) -> int:
        return self.whole.margin_px

    @property
    def view_count(self) -> int:
        return self.whole.view_count

    def add_view(self, view: np.ndarray, noise_sigma: float) -> None:
        """Another aligned, whole-pixel view of the still feature: every curve is
        averaged over it (the view is blurred once for all of them)."""
        view = view.astype(np.float32, copy=False)
        blurred = curve_views(view, self.coc_px)
        for reference in (self.whole, *self.parts):
            reference.add_view(view, noise_sigma, blurred)

    def size_parts(self, blur_px: float, max_sd_px: float, noise_sd: float | None = None) -> None:
        """Read only the parts whose estimate, at a blur of ``blur_px``, would have a
        standard deviation of at most ``max_sd_px`` at the reference's noise (known to
        ``noise_sd``, default a single-frame estimate's)."""
        self.read_parts = tuple(bool(part.reference.coarse_resolved
                                     and part.predicted_sd(blur_px, part.noise_sigma, noise_sd) <= max_sd_px)
                                for part in self.parts)

    @property
    def readable_parts(self) -> list[int]:
        """The indices of the parts that are read."""
        return [i for i, read in enumerate(self.read_parts) if read]

    def whole_estimate(self, view: np.ndarray, noise_sigma: float, noise_sd: float | None = None) -> BlurEstimate:
        """The whole box's blur alone, the gross reading weighed in (:func:`.gross_blur.overrule`):
        for the paths that follow one number rather than judge a lock (marks, spins)."""
        whole = self.whole.estimate(view, noise_sigma, noise_sd=noise_sd)
        return overrule(whole, self.gross.read(view, noise_sigma), self.coc_px)

    def fine_energy(self, view: np.ndarray, noise_sigma: float) -> float:
        """The whole box's fine-band energy as :meth:`estimate` reads it in a take, alone."""
        return self.whole.fine_energy(view, noise_sigma, self.whole.shared_blocks(view))

    def estimate(self, view: np.ndarray, noise_sigma: float, parts: list[int] | None = None,
                 noise_sd: float | None = None, memory: FeatureScaleMemory | None = None) -> FeatureEstimate:
        """The blur of ``view`` (same size and margin as the lock's), whole and by part:
        every part that is read, or only those in ``parts`` (the others None). ``noise_sd``:
        how well ``noise_sigma`` is known (default: a single-frame estimate's); ``memory``:
        a live lock's memory of each reference's JPEG noise share (:class:`ScaleMemory`)."""
        coarse = coarse_band(view)
        wanted = set(self.readable_parts if parts is None else parts)
        # The box's JPEG blocks, transformed once (if at all) for the whole and its parts.
        blocks = self.whole.shared_blocks(view)
        whole = self.whole.estimate(view, noise_sigma, coarse, noise_sd, blocks, memory.whole if memory else None)
        estimates = tuple(part.estimate(view, noise_sigma, coarse, noise_sd, blocks, memory.part(i) if memory else None)
                          if i in wanted and self.read_parts[i] else None
                          for i, part in enumerate(self.parts))
        return FeatureEstimate(whole, estimates, self.gross.read(view, noise_sigma, coarse))
