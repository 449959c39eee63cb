"""The steps of a focus stack (the blur one frame adds to the next) fitted from all its
parts at once, for :mod:`.coverage`."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["fit_steps", "measure_steps"]

# The percentile of a step's readings that sets its first estimate: the parts sitting at
# a frame show the whole step, the others less (a high percentile, robust to a few odd
# parts).
_STEP_PERCENTILE = 90.0
# A part sharpest in the first or last frame may show a subject beyond the stack: it reads
# the end step or more (r² = s² + 2·s·d for a subject d beyond). Where only such parts
# tell the end step, a low percentile of their readings sets it — those at the end
# frame's own depth (the mark the stack ends on) read the step itself. The 90th read
# 2.6 CoC for a step of 1.2 on the bench: a false gap at the end of every stack.
_END_PERCENTILE = 10.0

# The steps' fit pulls each step towards the typical one with the weight of this many
# typical tiles.
_PRIOR_TILES = 0.02
# The steps' fit counts a tile fully up to this many standard deviations off (Huber).
_HUBER_SIGMAS = 2.0


def fit_steps(relative: dict[int, dict[int, float]], sharpest: dict[int, int], weights: dict[int, float],
              first: list[float | None], coc_px: float, curve_end_px: float) -> tuple[list[float | None], set[int]]:
    """Every step at once from the tiles between two neighbours.

    A tile sharpest in frame p, its subject d px (of blur) from p towards p + 1, reads
    r₋² = s₋² + 2·s₋·d in frame p − 1 and r₊² = s₊² − 2·s₊·d in frame p + 1 (blur discs add
    by their second moments; s₋, s₊ the steps on either side). Eliminating d leaves one
    equation in the two steps, whatever the side the subject lies on:
    (s₊·r₋² + s₋·r₊²) / (s₋ + s₊) = s₋·s₊. All tiles together fix all steps: Gauss–Newton,
    each tile weighted by its readings' precision (a faint texture, which a JPEG also
    makes over-read, counts little), then with Huber's down-weighting of tiles off by
    more than their precision allows. On
    a photograph on a tilted plane stacked in known steps this reads the steps within
    a few per cent where the first estimate (a percentile of one-sided readings) read
    some of them at a fifth — missing gaps. Steps no tile lies between keep the first
    estimate. Returns the steps and the indices of those the parts between frames fixed
    (the others rest on parts sharpest in an end frame alone, which may lie beyond it)."""
    equations = [(sharpest[b] - 1, sharpest[b], r[sharpest[b] - 1], r[sharpest[b] + 1], weights[b])
                 for b, r in relative.items()]
    if not equations:
        return first, set()
    floor = 1e-3 * coc_px
    # Every step starts at the typical first estimate (a planned stack moves evenly): a
    # first estimate of nought beside a large one started the fit in a false valley.
    typical = [v for v in first if v is not None and v > floor]
    s = np.full(len(first), float(np.median(typical)) if typical else coc_px)
    used = sorted({e[0] for e in equations} | {e[1] for e in equations})
    left = np.array([e[0] for e in equations])
    right = np.array([e[1] for e in equations])
    rm2 = np.array([e[2] ** 2 for e in equations])
    rp2 = np.array([e[3] ** 2 for e in equations])
    root_w = np.sqrt(np.array([e[4] for e in equations]))
    def weighted(s: np.ndarray, robust: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Residuals, their derivatives by s₋ and s₊, and the rows' weights at ``s``."""
        sm, sp = s[left], s[right]
        total = sm + sp
        mixed = sp * rm2 + sm * rp2
        residual = (mixed / total - sm * sp) * root_w
        d_sm = ((rp2 * total - mixed) / total**2 - sp) * root_w
        d_sp = ((rm2 * total - mixed) / total**2 - sm) * root_w
        rows_weight = np.ones(len(equations))
        if robust:
            # A residual in px² of a reading r with standard deviation σ has about 2·s·σ
            # of spread; beyond _HUBER_SIGMAS of them a tile counts less.
            standard = np.abs(residual) / (2.0 * np.maximum(0.5 * total, floor))
            rows_weight = np.sqrt(np.minimum(1.0, _HUBER_SIGMAS / np.maximum(standard, 1e-12)))
        return residual, d_sm, d_sp, rows_weight

    # A weak pull of every step towards the typical one, worth half a typical tile: where
    # the tiles cannot tell how a blur splits between the steps on either side of their
    # frame (no tile sits in the next frame), the fit otherwise slid along that valley to
    # one step of nought beside one of several CoC — a false gap.
    typical_step = float(s[0])
    prior_root = math.sqrt(_PRIOR_TILES * float(np.median(root_w**2))) * 2.0 * typical_step
    used_index = np.array(used)

    def system(
        s: np.ndarray, robust: bool, rows_weight: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        residual, d_sm, d_sp, weight = weighted(s, robust)
        if rows_weight is not None:
            weight = rows_weight
        jacobian = np.zeros((len(equations) + len(used), len(s)))
        rows = np.arange(len(equations))
        jacobian[rows, left] += d_sm * weight
        jacobian[rows, right] += d_sp * weight
        jacobian[len(equations) + np.arange(len(used)), used_index] = prior_root
        full = np.concatenate([residual * weight, prior_root * (s[used_index] - typical_step)])
        return full, jacobian, weight

    def solve(s: np.ndarray, robust: bool) -> np.ndarray:
        for _ in range(40):
            residual, jacobian, weight = system(s, robust)
            cost = float(np.sum(residual**2))
            delta = np.zeros(len(s))
            delta[used], *_ = np.linalg.lstsq(jacobian[:, used], -residual, rcond=None)
            # Halve the step until the fit improves: a full Gauss–Newton step from far
            # off can overshoot to the bounds and stay there.
            for _ in range(12):
                trial = np.clip(s + delta, floor, curve_end_px)
                if float(np.sum(system(trial, robust, weight)[0] ** 2)) <= cost:
                    break
                delta *= 0.5
            else:
                break
            s = trial
            if float(np.max(np.abs(delta))) < 1e-4 * coc_px:
                break
        return s

    # First by the tiles' precision alone — the precise tiles lead — then with Huber's
    # down-weighting of tiles that disagree by more than their noise allows (a faint
    # texture after JPEG: its finest detail is rounded away in a blurred frame and it
    # reads several times the step). A scale taken from the residuals themselves (their
    # median) was set by the many faint tiles: it cast out the few precise ones instead.
    s = solve(solve(s, robust=False), robust=True)
    return [float(s[i]) if i in used else first[i] for i in range(len(first))], set(used)


def measure_steps(relative: dict[int, dict[int, float]], sharpest: dict[int, int], weights: dict[int, float],
                  count: int, coc_px: float, curve_end_px: float) -> tuple[list[float | None], list[int], set[int]]:
    """The steps of a stack of ``count`` frames from each part's readings of its sharpest
    frame's neighbours (``relative``: part → {neighbour: blur px}; ``weights`` for parts
    with both neighbours). Returns the steps (px, None where no part tells), how many
    parts told each, and the steps fixed by parts sharpest between frames.

    A part counts towards the step on the side its subject lies: there it reads between 0
    (midway) and the whole step (at its frame); on the other side it would read more than
    the step and inflate it. The side is first the neighbour that reads less blur, then
    (twice) the one the steps so found explain. A part at either end of the stack (one
    neighbour; its subject may lie beyond the stack) counts only where no part between
    two frames does. These first estimates start :func:`fit_steps`."""
    counts = [0] * (count - 1)

    def step_of(readings: list[float], percentile: float = _STEP_PERCENTILE) -> float | None:
        # Readings past the curve's end come from parts whose content changed between the
        # frames (an occluding edge defocused over its background) as well as from real
        # large steps: they set the step only when they are most of its readings.
        if not readings:
            return None
        within = [r for r in readings if r < curve_end_px - 1e-6]
        if len(within) * 2 <= len(readings):
            return curve_end_px
        return float(np.percentile(within, percentile))

    def estimate(side_of: Callable[[int], int]) -> list[float | None]:
        step_blurs: list[list[float]] = [[] for _ in range(count - 1)]
        end_blurs: list[list[float]] = [[] for _ in range(count - 1)]
        for b, readings in relative.items():
            if readings:
                other = side_of(b)
                (step_blurs if len(readings) == 2 else end_blurs)[min(sharpest[b], other)].append(readings[other])
        pairs = list(zip(step_blurs, end_blurs, strict=True))
        counts[:] = [len(blurs or ends) for blurs, ends in pairs]
        return [step_of(blurs) if blurs else step_of(ends, _END_PERCENTILE) for blurs, ends in pairs]

    def nearer_by_reading(b: int) -> int:
        return min((r, o) for o, r in relative[b].items())[1]

    def nearer_by_model(b: int) -> int:
        # With steps s known, a subject x px (of blur) from frame p towards a neighbour
        # reads r² = s² − 2·s·x there and s'² + 2·s'·x on the other side: the side where
        # (s² − r²) / 2s is larger holds it. Next to a gap (one large step) the reading
        # alone picks the wrong side for subjects in the gap.
        p = sharpest[b]
        if len(relative[b]) < 2:
            return next(iter(relative[b]))
        best: tuple[float, int] | None = None
        for other, r in relative[b].items():
            step = first[min(p, other)]
            if not step:
                return nearer_by_reading(b)
            x = (step * step - r * r) / (2.0 * step)
            if best is None or x > best[0]:
                best = (x, other)
        assert best is not None  # relative[b] holds two readings or more
        return best[1]

    first = estimate(nearer_by_reading)
    for _ in range(2):
        first = estimate(nearer_by_model)
    two_sided = {b: relative[b] for b in weights}
    steps, fitted = fit_steps(two_sided, {b: sharpest[b] for b in two_sided}, weights, first, coc_px, curve_end_px)
    return steps, counts, fitted
