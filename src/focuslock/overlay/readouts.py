"""The HUD's words: exposure, depth of field, framing drift and what the lock advises,
and the locked feature's blur as depth at the subject."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from focuslock.focus.engine import FocusResult
from focuslock.focus.judge import SHARPER_THAN_LOCK_REASON, describe_blur
from focuslock.focus.lock import NO_DETAIL_WARNING, LockStatus
from focuslock.focus.parts import PART_REASON
from focuslock.optics.coc import LiveViewCoc
from focuslock.optics.dof import DofResult, depth_for_live_view_blur_mm, describe_depth

__all__ = ["STATE_WORDS", "PlainVerdict", "about_mm", "defocus_line", "hud_lines", "plain_hud_lines", "plain_verdict",
           "plain_warning"]

# The lock's states as a photographer says them.
STATE_WORDS = {"sharp": "in focus", "softening": "softening", "soft": "out of focus", "uncertain": "cannot tell",
               "lost": "feature lost"}
# The hints' trend (focus.hints) when the way to turn is not known: what to do.
_HINT_WORDS = {"sharper": "sharper this way: keep turning", "softer": "softer this way: turn back",
               "passed the peak": "passed best focus: turn back a little"}


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
    # Past the end of the feature's curve the blur, and so the depth, is a lower bound.
    how_far, more = ("more than", "more than ") if lock.beyond_range else ("about", "")
    return (f"Feature {how_far} {describe_depth(depth_mm)} from the lock's plane of focus: "
            f"{more}{share * 100:.0f} % of the way to the edge of the depth of field")


def about_mm(mm: float) -> str:
    """A distance at the subject as a photographer says it: 'about 0.3 mm', '0.085 mm',
    '12 mm', '1.2 m'."""
    mm = abs(mm)
    if mm >= 1000:
        return f"{mm / 1000:.2g} m"
    if mm >= 100:
        return f"{mm:.0f} mm"
    return f"{mm:.2g} mm"


@dataclass(frozen=True)
class PlainVerdict:
    """The lock's verdict in a photographer's words.

    ``words``: "in focus", "softening", "out of focus", "cannot tell", "feature lost";
    ``advice``: what to do ("turn nearer, about 0.3 mm", "lock again here", why it cannot
    tell); ``off_by``: how far focus is off the locked plane at the subject ("0.12 mm";
    "more than 9.5 mm" once the blur ran past the end of the feature's curve);
    ``details``: the engineer's figures (blur in px and CoC, its σ, the CoC).
    """

    state: str
    words: str
    advice: str | None = None
    off_by: str | None = None
    details: str | None = None

    def banner(self) -> str:
        """'OUT OF FOCUS — turn nearer, about 0.3 mm'."""
        return self.words.upper() + (f"  —  {self.advice}" if self.advice else "")


def plain_reason(reason: str | None) -> str | None:
    """Why the lock cannot tell (or which part set the verdict), as the banner says it.

    The judge's, the lock's and the parts' reasons are a photographer's words already
    (:mod:`focuslock.focus.judge`, :mod:`focuslock.focus.lock`); only an added feature's
    long "not placed" reason is shortened."""
    if not reason:
        return None
    if "rack focus through" in reason:
        return "rack focus through it once to place it"
    return reason


def plain_warning(text: str | None) -> str | None:
    """A warning of the lock or of live view's CoC, short enough for the HUD's line."""
    if not text:
        return None
    if text == NO_DETAIL_WARNING:
        return "Too little fine detail to judge: box a more textured detail, add light, or zoom live view."
    if text.startswith("Highlights in the feature are clipped"):
        return "Highlights in the box are clipped: lower the exposure."
    return text


def _turn(lock: LockStatus, position_steps: float | None, optics: DofResult | None, coc: LiveViewCoc | None,
          step_um: float | None) -> str | None:
    """'turn nearer, about 0.3 mm': the way back to the sharpest focus of this rack (the
    hints' peak search, from the drive's count: negative steps are nearer) and how far
    (the blur as depth at the subject; else the steps × the drive's calibration). None
    when the way is not known (focus turned by hand: no count)."""
    peak = lock.peak
    if peak is None or peak.best_position_steps is None or position_steps is None:
        return None
    steps = peak.best_position_steps - position_steps
    if steps == 0:
        return None
    way = "nearer" if steps < 0 else "farther"
    depth_mm, how_far = None, "about"
    if optics is not None and coc is not None and lock.blur_px is not None:
        depth_mm = depth_for_live_view_blur_mm(optics, coc, lock.blur_px)
        if lock.beyond_range:
            how_far = "more than"  # blurred past the end of the feature's curve: a lower bound
    if depth_mm is None and step_um is not None:
        depth_mm, how_far = abs(steps) * step_um / 1000.0, "about"
    if depth_mm is not None and math.isfinite(depth_mm):
        return f"turn {way}, {how_far} {about_mm(depth_mm)}"
    return f"turn {way}, about {abs(steps):.0f} drive step{'s' if abs(steps) != 1 else ''}"


def plain_verdict(lock: LockStatus, optics: DofResult | None = None, coc: LiveViewCoc | None = None,
                  position_steps: float | None = None, step_um: float | None = None) -> PlainVerdict:
    """The lock's verdict in a photographer's words (see PlainVerdict); ``position_steps``:
    the drive's count on this frame (the frame's ``drive_position_steps``), ``step_um``:
    the drive's calibration, when known."""
    state = lock.state.value
    words = STATE_WORDS.get(state, state)
    details = None
    if lock.blur_px is not None and state != "lost":
        details = describe_blur(lock.blur_px, lock.coc_px, lock.beyond_range)
        if lock.blur_sd_px is not None:
            details += f", σ {lock.blur_sd_px:.2f} px"
        details += f"; CoC {lock.coc_px:.2f} px"
    off_by = None
    if optics is not None and coc is not None and lock.blur_px is not None and state in ("softening", "soft"):
        depth_mm = depth_for_live_view_blur_mm(optics, coc, lock.blur_px)
        if depth_mm is not None and math.isfinite(depth_mm):
            # Past the end of the feature's curve the blur, and so the depth, is a lower bound.
            off_by = f"more than {about_mm(depth_mm)}" if lock.beyond_range else about_mm(depth_mm)
    if lock.reason == SHARPER_THAN_LOCK_REASON:
        return PlainVerdict(state, "sharper than when locked", "lock again here", off_by, details)
    if state in ("uncertain", "lost"):
        return PlainVerdict(state, words, plain_reason(lock.reason), None, details)
    advice = None
    if state in ("softening", "soft"):
        advice = _turn(lock, position_steps, optics, coc, step_um)
        if advice is None and lock.hint:
            advice = _HINT_WORDS.get(lock.hint, lock.hint)
        if advice is None and off_by is not None:
            advice = f"{off_by} off the locked focus" if lock.beyond_range else f"about {off_by} off the locked focus"
        # A part of the box that set the verdict is named (a plainly soft box's "at least
        # … px" needs no words: out of focus says it).
        part = plain_reason(lock.reason) if lock.reason == PART_REASON else None
        if part:
            advice = f"{part}; {advice}" if advice else part
    elif lock.hint == "passed the peak":
        advice = _HINT_WORDS[lock.hint]
    return PlainVerdict(state, words, advice, off_by, details)


def plain_hud_lines(focus: FocusResult | None, optics: DofResult | None, coc: LiveViewCoc | None,
                    position_steps: float | None, freshness_line: str, warning: str | None = None,
                    step_um: float | None = None, window: bool = True) -> list[str]:
    """The HUD's three lines: the state and the blur in plain words; the depth of field
    and which way to turn; the frame's age or a warning (``warning``: the session's, a
    stale frame's; else the lock's or live view's, in plain words). ``window``: whether
    the window's keys and mouse can be offered (not in a recording)."""
    lock = focus.lock if focus is not None else None
    if lock is None:
        if focus is not None and focus.roi_px is not None:
            first = "Following — press L to lock" if window else "Following — not locked (--lock locks it)"
        else:
            first = ("No detail chosen — drag a box around what must be sharp" if window
                     else "No detail chosen (--roi names it)")
        verdict = None
    else:
        verdict = plain_verdict(lock, optics, coc, position_steps, step_um)
        first = verdict.words[0].upper() + verdict.words[1:]
        if verdict.off_by is not None:
            first += f": {verdict.off_by} off the locked focus"
        elif lock.state.value == "sharp":
            first += ": as sharp as when locked"
        elif lock.state.value in ("uncertain", "lost") and verdict.advice:
            first += f": {verdict.advice}"
    depth = None
    if optics is not None:
        depth = ("Depth of field to infinity" if math.isinf(optics.total_mm)
                 else f"Depth of field {about_mm(optics.total_mm)}")
    # (Why it cannot tell is said on the first line.)
    advice = verdict.advice if verdict is not None and verdict.state not in ("uncertain", "lost") else None
    second = "  —  ".join(part for part in (depth, advice) if part) or "Depth of field unknown: choose the lens"
    third = warning or (plain_warning(lock.warning) if lock is not None else None) or \
        plain_warning(coc.warning if coc is not None else None) or freshness_line
    return [first, second, third]
