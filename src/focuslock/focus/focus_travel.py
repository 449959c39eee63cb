"""Which way focus is travelling, frame to frame: one sweep at a time.

The focus map (:mod:`.focus_map`) judges each tile against the sharpest view of it that
a sweep of focus *passed through*: its fine detail rose to a peak and fell again while
focus moved one way. A rise and fall on either side of a turn proves nothing (focus
came to within some distance of the tile's plane and went back), so the map must know
where focus turned. Two witnesses:

* **the drive's count**, when frames carry one (``drive_position_steps``) and it moved:
  the direction of travel is the sign of its change;
* **the tiles themselves** otherwise (focus racked by hand, a take from a file): as
  focus moves one way, the tiles ahead of the plane of focus sharpen and those behind it
  soften, and go on doing so; when focus turns, every tile that was changing reverses at
  once. The change of each tile's log fine energy since the last decision is compared
  with the change before it: alike (cosine ≥ ``_SAME_COSINE``) is the same sweep; anything
  else — opposite, or unclear — starts a new one. A change within the tiles' noise is
  not travel at all (still).

Unsure always means a new sweep: it costs the map only time (tiles are judged again on
the next sweep), never a false claim. A subject whose detail all lies at one depth
sharpens and softens everywhere at once as focus passes it, which looks like a turn:
without a drive count such a subject is never confirmed (the map stays "cannot tell").
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["FocusTravel", "Travel"]

# Two successive changes belong to one sweep when their cosine (over the tiles that
# changed) is at least this.
_SAME_COSINE = 0.5
# A change counts as travel when this many tiles (and this share of the detailed ones)
# changed by more than _SIGNIFICANT_SDS of their noise.
_MIN_CHANGED_TILES = 6
_MIN_CHANGED_SHARE = 0.05
_SIGNIFICANT_SDS = 3.0
# A tile's energy moves this much (relative) from frame to frame without focus moving,
# whatever its noise predicts: the bench's JPEG live view at a still focus moved tiles
# 0.4 % (median) to 7 % (the faintest).
_MIN_LOG_SD = 0.02


class Travel(enum.Enum):
    """What the drive did since the last decision."""

    STILL = "still"  # no change beyond the noise since the last decision
    ONWARD = "onward"  # moving on in the same direction (or first moving)
    NEW_SWEEP = "new sweep"  # turned, or cannot tell: a new sweep starts here


class FocusTravel:
    """Decides, frame by frame, whether focus went on in the same direction."""

    def __init__(self) -> None:
        self._count: float | None = None
        # The direction the drive's count last moved in, within the present sweep: 0 before
        # it first moves, None when the tiles started a sweep since (a turn by hand: how
        # the count's next move relates to it is unknown).
        self._count_direction: int | None = 0
        self._anchor: np.ndarray | None = None  # log energies at the last decision
        self._anchor_sd: np.ndarray | None = None
        self._previous: np.ndarray | None = None  # the change decided last (NaN: not seen)

    def step(self, log_energy: np.ndarray, log_sd: np.ndarray, drive_position_steps: float | None = None) -> Travel:
        """``log_energy``: each tile's log fine energy now (NaN where it has no detail);
        ``log_sd``: its standard deviation; ``drive_position_steps``: the frame's drive
        count, if it carries one. The tiles' change is followed on every frame (a lens
        may still be moving after its count did); where the count moved, it decides."""
        by_tiles = self._by_tiles(log_energy, np.maximum(log_sd, _MIN_LOG_SD))
        count, before = drive_position_steps, self._count
        if count is not None:
            self._count = float(count)
        if count is None or before is None or float(count) == before:
            if by_tiles is Travel.NEW_SWEEP:
                self._count_direction = None
            return by_tiles
        direction = 1 if float(count) > before else -1
        known, self._count_direction = self._count_direction, direction
        return Travel.ONWARD if known in (0, direction) else Travel.NEW_SWEEP

    def _by_tiles(self, log_energy: np.ndarray, log_sd: np.ndarray) -> Travel:
        if self._anchor is None or self._anchor_sd is None or self._anchor.shape != log_energy.shape:
            self._anchor, self._anchor_sd = log_energy, log_sd
            return Travel.STILL
        change = log_energy - self._anchor
        both = np.isfinite(change)
        noise = np.sqrt(np.where(both, log_sd**2 + self._anchor_sd**2, np.inf))
        changed = both & (np.abs(np.where(both, change, 0.0)) > _SIGNIFICANT_SDS * noise)
        if changed.sum() < max(_MIN_CHANGED_TILES, _MIN_CHANGED_SHARE * both.sum()):
            return Travel.STILL
        # Each tile's change in its own standard deviations: the tiles that changed far
        # beyond their noise lead (far from focus every tile changes little, and the
        # plain changes in log energy were mostly noise there).
        motion = change / noise
        previous = self._previous
        self._anchor, self._anchor_sd, self._previous = log_energy, log_sd, motion
        if previous is None:
            return Travel.ONWARD  # the first travel seen: nothing went before it
        # Over every tile seen both times (a tile that did not change is evidence too).
        common = np.isfinite(motion) & np.isfinite(previous)
        a, b = motion[common], previous[common]
        norm = float(np.linalg.norm(a) * np.linalg.norm(b))
        cosine = float(a @ b) / norm if norm > 0 else 0.0
        return Travel.ONWARD if cosine >= _SAME_COSINE else Travel.NEW_SWEEP
