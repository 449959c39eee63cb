"""The drive's figures from the sweeps' readings: the slope of the blur's V (px per
drive step), best focus sweeping up and down (their difference is the backlash), from
the whole box or from the parts of its grid (:mod:`focuslock.workflows.calibrate`)."""

from __future__ import annotations

import numpy as np

from focuslock.focus.through_focus import ARM_FROM_COC, ThroughFocusError, fit_through_focus
from focuslock.workflows.drive_sweep import CalibrationError, SweepPoint

__all__ = ["fit_both", "fit_by_parts", "fit_sweep"]


def fit_sweep(points: list[SweepPoint], coc_px: float) -> tuple[float, float]:
    """(g px per step, x₀ steps) from one sweep
    (:func:`~focuslock.focus.through_focus.fit_through_focus`)."""
    try:
        return fit_through_focus([p.position_steps for p in points], [p.blur_px for p in points], coc_px)
    except ThroughFocusError as error:
        raise CalibrationError(str(error)) from None


def fit_both(up: list[SweepPoint], down: list[SweepPoint], coc_px: float) -> tuple[float, float, float]:
    """(g, best focus sweeping up, best focus sweeping down) from both sweeps at once.

    One slope for all four arms (a disc grows alike on both sides of focus) and one
    flattening ``h`` of the V's bottom; only the centre differs between the sweeps, by
    the backlash. Given each reading's arm the model is linear in (g, g·x₀↑, g·x₀↓, h):
    left arm e = g·(x₀ − x) − h, right arm e = g·(x − x₀) − h. Sharing the slope between
    the sweeps is what makes their centres, and so the backlash, precise."""
    rows, values, arms = [], [], []
    for points, column in ((up, 1), (down, 2)):
        x = np.array([p.position_steps for p in points], float)
        e = np.array([p.blur_px for p in points], float)
        lowest = x[int(np.argmin(e))]
        for xi, ei in zip(x, e, strict=True):
            if ei < ARM_FROM_COC * coc_px or xi == lowest:
                continue
            side = 1.0 if xi > lowest else -1.0
            row = [side * xi, 0.0, 0.0, -1.0]
            row[column] = -side
            rows.append(row)
            values.append(ei)
            arms.append((column, side))
    counts = [arms.count((column, side)) for column in (1, 2) for side in (-1.0, 1.0)]
    if min(counts) < 3:
        g_up, best_up = fit_sweep(up, coc_px)
        g_down, best_down = fit_sweep(down, coc_px)
        return 0.5 * (g_up + g_down), best_up, best_down
    (g, u, d, _), *_ = np.linalg.lstsq(np.array(rows), np.array(values), rcond=None)
    if not g > 0:
        raise CalibrationError("The feature's blur did not grow on both sides of focus: the sweep missed best focus.")
    return float(g), float(u / g), float(d / g)


def fit_by_parts(up: list[SweepPoint], down: list[SweepPoint], coc_px: float) -> tuple[float, float] | None:
    """(g, backlash) from the parts of the box's grid: None when fewer than two parts
    have three readings on each of the four arms.

    A box deeper than the depth of field (a tilted label, a coin's face at 2×) reads as
    its sharpest detail, which walks across the box as focus moves: the whole box's arms
    come out too shallow or too steep (−16 % and +27 % of the step for boxes 3.5× and
    5.5× the depth of field on the bench's coin). A small part of it spans little depth.
    Each part has its own best focus (the plane is tilted); the slope, the backlash and
    each part's flattening are shared: e = g·s·(x − x₀ᵢ + B·[down]) − hᵢ on the arm of
    side s, linear in (g, g·x₀ᵢ, g·B, hᵢ)."""
    count = max((len(p.part_blur_px) for p in up + down), default=0)
    arms_by_part: dict[int, list[tuple[float, float, int, float]]] = {}
    for part in range(count):
        rows = []
        for points, is_down in ((up, 0), (down, 1)):
            read = [(p.position_steps, blur) for p in points
                    if len(p.part_blur_px) > part and (blur := p.part_blur_px[part]) is not None]
            if len(read) < 5:
                break
            lowest = min(read, key=lambda r: r[1])[0]
            arm = [(float(x), float(e), is_down, 1.0 if x > lowest else -1.0) for x, e in read
                   if e >= ARM_FROM_COC * coc_px and x != lowest]
            if min(sum(1 for a in arm if a[3] < 0), sum(1 for a in arm if a[3] > 0)) < 3:
                break
            rows += arm
        else:
            arms_by_part[part] = rows
    if len(arms_by_part) < 2:
        return None
    parts = sorted(arms_by_part)
    columns = 2 + 2 * len(parts)  # g, g·B, then g·x₀ᵢ and hᵢ for each part
    design, values = [], []
    for k, part in enumerate(parts):
        for x, e, is_down, side in arms_by_part[part]:
            row = [0.0] * columns
            row[0] = side * x
            row[1] = side * is_down
            row[2 + 2 * k] = -side
            row[3 + 2 * k] = -1.0
            design.append(row)
            values.append(e)
    solution, *_ = np.linalg.lstsq(np.array(design), np.array(values), rcond=None)
    g = float(solution[0])
    if not g > 0:
        return None
    return g, float(solution[1]) / g
