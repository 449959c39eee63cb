"""Each tile's way through the present sweep of focus (for :mod:`.focus_map`).

Per tile, over one direction of travel: its peak (the largest fine-band energy, the view
it was seen in, and that frame's level), the least energy before and after the peak, and
the energies just before and just after it. Energies are normalised (see
:meth:`.focus_map.FocusMap._energies`). Frames are added as they come and committed to
the sweep once :mod:`.focus_travel` has said that focus went on in the same direction (a
turn starts a new sweep and drops what was not committed).

A tile whose detail lies at two depths (a coin's rim over the target behind it) rises and
falls twice in one sweep; its "blur" against either peak is no blur of the tile, so
:attr:`TileSweeps.two_depths` marks it (until the map starts again) and the map says it
cannot tell. A peak counts when the energy rose from a valley to it and fell back, each by
more than :data:`_VALLEY_SHARE` of the peak and :data:`_VALLEY_SDS` of its noise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TileSweeps"]

# A rise or fall counts in telling peaks apart when the energy moved by this share of the
# peak (on the bench a tile's energy falls to this within about half a CoC of its peak)
# and by this many standard deviations of its noise.
_VALLEY_SHARE = 0.25
_VALLEY_SDS = 4.0


class TileSweeps:
    """The present sweep of ``count`` tiles."""

    def __init__(self, count: int) -> None:
        self.sweeps = 0
        self.two_depths = np.zeros(count, bool)
        self._reset(count)

    def _reset(self, count: int) -> None:
        self.best = np.full(count, -np.inf)
        self.best_level = np.ones(count)
        self.best_views: list[np.ndarray | None] = [None] * count
        self.min_before = np.full(count, np.inf)
        self.min_after = np.full(count, np.inf)
        self.before_peak = np.full(count, np.nan)  # the energy just before the peak
        self.after_peak = np.full(count, np.nan)  # the first energy after it
        self.last = np.full(count, np.nan)
        # Peaks counted in this sweep: rising (or falling) since the last valley (peak).
        self._falling = np.zeros(count, bool)
        self._valley = np.full(count, np.nan)
        self._run_max = np.full(count, -np.inf)
        self._run_min = np.full(count, np.inf)
        self._peaks = np.zeros(count, np.int32)
        # Frames added since the last commit.
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_best = np.full(count, -np.inf)
        self._pending_views: list[np.ndarray | None] = [None] * count
        self._pending_levels = np.ones(count)

    @property
    def pending_frames(self) -> int:
        return len(self._pending)

    def start(self, energies: np.ndarray, sds: np.ndarray, views: list[np.ndarray], level: float) -> None:
        """A new sweep starts with this frame."""
        self.sweeps += 1
        self._reset(len(energies))
        self.best = energies.copy()
        self.best_level[:] = level
        self.best_views = [v.copy() for v in views]
        self.last = energies.copy()
        self._valley = energies.copy()
        self._run_max = energies.copy()

    def add(self, energies: np.ndarray, sds: np.ndarray, views: list[np.ndarray], level: float) -> None:
        """A frame of this sweep, not yet committed; the view of a tile is kept when it is
        the sharpest seen."""
        better = energies > np.maximum(self._pending_best, self.best)
        for index in np.flatnonzero(better):
            self._pending_views[index] = views[index].copy()
        self._pending_levels = np.where(better, level, self._pending_levels)
        self._pending_best = np.where(better, energies, self._pending_best)
        self._pending.append((energies, sds))

    def commit(self) -> list[int]:
        """The frames added belong to the sweep: each tile's peak and the least energy before
        and after it, frame by frame in order. Returns the tiles whose peak moved."""
        for energies, sds in self._pending:
            peak = energies > self.best
            # Everything seen before the new peak: before the old one, the old one, after it.
            earlier = np.minimum(np.minimum(self.min_before, self.min_after), self.best)
            self.min_before = np.where(peak, earlier, self.min_before)
            self.before_peak = np.where(peak, self.last, self.before_peak)
            first_after = ~peak & np.isnan(self.after_peak)
            self.after_peak = np.where(peak, np.nan, np.where(first_after, energies, self.after_peak))
            self.min_after = np.where(peak, np.inf, np.minimum(self.min_after, energies))
            self.best = np.where(peak, energies, self.best)
            self.last = energies
            self._count_peaks(energies, sds)
        moved = [int(i) for i in np.flatnonzero(np.isfinite(self._pending_best) & (self._pending_best >= self.best))]
        for index in moved:
            self.best_views[index] = self._pending_views[index]
            self.best_level[index] = self._pending_levels[index]
        count = len(self.best)
        self._pending = []
        self._pending_best = np.full(count, -np.inf)
        self._pending_views = [None] * count
        return moved

    def _count_peaks(self, energies: np.ndarray, sds: np.ndarray) -> None:
        falling = self._falling
        rising = ~falling
        # Rising: a new low restarts the rise; a rise from the valley followed by a fall is a peak.
        lower = rising & (energies < self._valley)
        self._valley = np.where(lower, energies, self._valley)
        self._run_max = np.where(lower, energies, np.maximum(self._run_max, energies))
        rose = self._run_max - self._valley > np.maximum(_VALLEY_SHARE * self._run_max, _VALLEY_SDS * sds)
        fell = self._run_max - energies > np.maximum(_VALLEY_SHARE * self._run_max, _VALLEY_SDS * sds)
        topped = rising & rose & fell
        self._peaks += topped
        # Falling: the least energy since the peak; a rise from it by as much is a new valley.
        self._run_min = np.where(topped, energies, np.where(falling, np.minimum(self._run_min, energies), self._run_min))
        again = falling & (energies - self._run_min > np.maximum(_VALLEY_SHARE * energies, _VALLEY_SDS * sds))
        self._valley = np.where(again, self._run_min, self._valley)
        self._run_max = np.where(again, energies, self._run_max)
        self._falling = (falling & ~again) | topped
        self.two_depths |= self._peaks >= 2
