"""What a stack's coverage check found, as values: each step between frames, each tile of the picture, the stack as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from focuslock.focus.stack_ends import (
    Doubt,
    EndReport,
    TileState,
)

__all__ = ["StackCoverage", "StepReport", "TileCoverage"]

@dataclass(frozen=True)
class StepReport:
    """Between frames ``index`` and ``index + 1``: the blur one adds to the other (px),
    how many tiles showed it, and what that means. ``fitted``: fixed by tiles sharpest
    between frames (otherwise only tiles sharpest in an end frame, which may lie beyond
    it, told it)."""

    index: int
    blur_px: float | None
    tiles: int
    gap: bool
    not_moved: bool
    beyond_range: bool = False  # the blur ran past the end of the curves: at least ``blur_px``
    fitted: bool = True


@dataclass(frozen=True)
class TileCoverage:
    """A judged tile: its sharpest frame, where its subject sits (in frames, fractional;
    beyond the ends below 0 or past the last), its blur in its nearest frame (px; None
    where unknown; a lower bound with ``at_least``), and its state (with the doubt when
    UNCERTAIN)."""

    box_px: tuple[int, int, int, int]
    sharpest_frame: int
    position_frames: float
    blur_at_nearest_px: float | None
    state: TileState
    doubt: Doubt | None = None
    at_least: bool = False

    @property
    def covered(self) -> bool:
        return self.state is TileState.COVERED


@dataclass
class StackCoverage:
    """A focus stack's coverage: its frames, the steps between them and every part's state."""

    names: list[str]
    coc_px: float
    scale: float  # analysis pixels per frame pixel
    breathing: float  # scale of the last frame against the first, minus 1
    steps: list[StepReport]
    tiles: list[TileCoverage]
    redundant: list[int]
    aligned_grey: list[np.ndarray] = field(repr=False, default_factory=list)
    sharpest_map: np.ndarray | None = field(repr=False, default=None)
    warnings: list[str] = field(default_factory=list)
    ends: list[EndReport] = field(default_factory=list)  # the first frame's end, then the last's
    # What the shot stack's own record says (stack-check fills these): whether the first
    # frame is the nearest, the focus moved between neighbouring frames (mm at the
    # subject), and where the CoC came from.
    first_is_nearest: bool | None = None
    frame_steps_mm: list[float] | None = None
    coc_from: str = ""

    @property
    def gaps(self) -> list[StepReport]:
        return [s for s in self.steps if s.gap]

    @property
    def not_moved(self) -> list[StepReport]:
        return [s for s in self.steps if s.not_moved]

    @property
    def soft_tiles(self) -> list[TileCoverage]:
        """Tiles soft in every frame: in a gap, or beyond an end."""
        return [t for t in self.tiles if t.state in (TileState.SOFT, TileState.BEYOND_FIRST, TileState.BEYOND_LAST)]

    @property
    def uncertain_tiles(self) -> list[TileCoverage]:
        return [t for t in self.tiles if t.state is TileState.UNCERTAIN]

    @property
    def worst_step(self) -> StepReport | None:
        """The largest step between neighbouring frames that moved (None when no step is known)."""
        moved = [s for s in self.steps if s.blur_px is not None and not s.not_moved]
        return max(moved, key=lambda s: s.blur_px or 0.0) if moved else None

    @property
    def effective_coc_px(self) -> float | None:
        """The effective circle of confusion the stack reached (analysis px): a point midway
        across its largest step is blurred by half that step in both frames."""
        worst = self.worst_step
        return None if worst is None or worst.blur_px is None else worst.blur_px / 2.0

    @property
    def covers_all(self) -> bool:
        """Every part with detail sharp in some frame, both ends judged, no gap: the one
        case for an all-clear."""
        return bool(self.tiles) and not self.gaps and not self.soft_tiles and not self.uncertain_tiles \
            and all(end.covered for end in self.ends)
