"""The HUD's words: exposure, depth of field, framing drift and what the lock advises,
and the locked feature's blur as depth at the subject."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from focuslock.focus.engine import FocusResult
from focuslock.optics.dof import DofResult, LiveViewCoc, depth_for_live_view_blur_mm, describe_depth

__all__ = ["defocus_line", "hud_lines"]


def hud_lines(metadata: Mapping[str, Any], optics: DofResult | None, focus: FocusResult | None,
              drift_px: tuple[float, float] | None) -> list[str]:
    """Exposure, depth of field and framing drift, as the HUD shows them."""
    lines = []
    exposure = []
    if metadata.get("f_number"):
        exposure.append(f"f/{metadata['f_number']:g}")
    if metadata.get("exposure_s"):
        seconds = metadata["exposure_s"]
        exposure.append(f"1/{round(1 / seconds)} s" if seconds < 1 else f"{seconds:g} s")
    if metadata.get("iso"):
        exposure.append(f"ISO {metadata['iso']}")
    if exposure:
        lines.append("  ".join(exposure))
    if optics is not None:
        if math.isinf(optics.total_mm):
            lines.append(f"Depth of field {optics.near_mm / 1000:.2f} m to infinity")
        else:
            lines.append(f"Depth of field {describe_depth(optics.total_mm)}  "
                         f"({_distance(optics.near_mm)} to {_distance(optics.far_mm)} from the lens)")
    if drift_px is not None:
        lines.append(f"Framing moved {drift_px[0]:+.1f}, {drift_px[1]:+.1f} px from the reference")
    if focus is not None and focus.lock is not None:
        # The state itself is the banner's (and the box's); here only what to do.
        lock = focus.lock
        if lock.hint:
            lines.append(lock.hint[0].upper() + lock.hint[1:])
        if lock.warning:
            lines.append(lock.warning)
    return lines


def _distance(mm: float) -> str:
    """A distance from the lens: mm to a tenth below a metre, m above."""
    return f"{mm:.1f} mm" if mm < 1000 else f"{mm / 1000:.2f} m"


def defocus_line(optics: DofResult | None, coc: LiveViewCoc | None, focus: FocusResult | None) -> str | None:
    """The locked feature's blur as depth at the subject: 'about 85 µm from the lock's plane
    of focus (0.40 of the way to the DoF's edge)'. None without the optics, the sensor's
    pixel pitch or a blur (a frame sharper than the lock has no depth to tell)."""
    lock = focus.lock if focus is not None else None
    if optics is None or coc is None or lock is None or lock.blur_px is None:
        return None
    depth_mm = depth_for_live_view_blur_mm(optics, coc, lock.blur_px)
    if depth_mm is None:
        return None
    # The share of the half-depth, from the optics' CoC as the depth is (the user's CoC in
    # pixels may differ from the optics').
    share = depth_mm / (0.5 * optics.total_mm)
    more = "≥ " if lock.beyond_range else ""
    return (f"Feature {more}about {describe_depth(depth_mm)} from the lock's plane of focus: "
            f"{share * 100:.0f} % of the way to the edge of the depth of field")
