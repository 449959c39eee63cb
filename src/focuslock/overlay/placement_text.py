"""Several locked features in words: how far apart they lie, where the plane of focus
sits between them, and which aperture's depth of field covers them all."""

from __future__ import annotations

from focuslock.focus.placement import Placement
from focuslock.optics.coc import LiveViewCoc
from focuslock.optics.dof import DofResult, depth_for_live_view_blur_mm, describe_coverage, describe_depth

__all__ = ["describe_placement", "feature_names"]

_COVERED = {2: "both", 3: "all three", 4: "all four"}


def feature_names(count: int) -> str:
    """'1 and 2', '1, 2 and 3'."""
    names = [str(index + 1) for index in range(count)]
    return names[0] if count == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def step_depth_mm(placement: Placement, optics: DofResult | None, coc: LiveViewCoc | None,
                  step_um: float | None) -> tuple[float | None, str]:
    """The depth one drive step moves focus (mm) and where it comes from: the drive's
    calibration, else the features' own blur slope through the optics."""
    if step_um:
        return step_um / 1000.0, f"{step_um:g} µm a step, calibrated"
    slope = placement.blur_px_per_step
    if slope and optics is not None and coc is not None:
        depth = depth_for_live_view_blur_mm(optics, coc, slope)
        if depth:
            return depth, f"{depth * 1000:.0f} µm a step, from this rack"
    return None, ""


def describe_placement(placement: Placement | None, optics: DofResult | None, coc: LiveViewCoc | None = None,
                       step_um: float | None = None, feature_count: int | None = None) -> list[str]:
    """Lines for the HUD or a panel about the locked features ``1 … n`` (the first is the
    one chosen first). Empty when fewer than two features are locked."""
    count = len(placement.peaks) if placement is not None else (feature_count or 0)
    if count < 2:
        return []
    names = feature_names(count)
    if placement is None or not placement.complete:
        return [f"Features {names}: rack focus through all of them (one direction) to place them in depth."]
    order = placement.order()
    first, last = order[0], order[-1]
    span_steps = placement.span_steps or 0.0  # known: the placement is complete
    depth_per_step, source = step_depth_mm(placement, optics, coc, step_um)
    lines = []
    if depth_per_step is None:
        lines.append(f"Features {names} lie {span_steps:.0f} drive steps apart (nearest to farthest along the drive: "
                     f"{' → '.join(str(i + 1) for i in order)}); calibrate the drive for mm.")
    else:
        depth_mm = span_steps * depth_per_step
        lines.append(f"Features {names} lie {describe_depth(depth_mm)} apart ({span_steps:.0f} steps at {source}); "
                     f"along the drive: {' → '.join(str(i + 1) for i in order)}.")
        if optics is not None:
            coverage = describe_coverage(depth_mm, optics, _COVERED.get(count, "all"))
            lines.append(coverage[0].upper() + coverage[1:] + "." if not coverage.startswith("f/") else coverage + ".")
    share = placement.plane_share()
    if share is not None:
        # Within a twentieth of the span of an end: at it (the peaks are read to a few steps).
        if -0.05 <= share <= 1.05:
            lines.append(f"Plane of focus: {max(0.0, min(1.0, share)) * 100:.0f} % of the way from {first + 1} to {last + 1}.")
        else:
            outside = first + 1 if share < 0 else last + 1
            lines.append(f"Plane of focus: outside the features, beyond {outside}.")
    soft = [str(index + 1) for index, flag in enumerate(placement.locked_soft) if flag]
    if soft:
        lines.append(f"Locked out of focus: {', '.join(soft)} — lock again with each at its best to judge it.")
    return lines
