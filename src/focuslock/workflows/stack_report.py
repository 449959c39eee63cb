"""``stack-check``'s findings in words: the plain report and its JSON.

What a photographer acts on, in this order: how much of the picture is sharp somewhere;
gaps between frames (where to add one); the ends — parts of the subject beyond the first
or last frame, and how many frames to add there (nearer or farther when the stack's own
record says which end is which); what the check cannot tell, and why; frames that did
not move or could be dropped; the effective circle of confusion the stack reached. "No
gap" — the one all-clear — only when every part with detail is sharp in some frame and
both ends were judged.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from focuslock.focus.coverage import StackCoverage, StepReport
from focuslock.focus.stack_ends import Doubt, EndReport, StackEnd

__all__ = ["effective_coc", "end_words", "report_json", "report_lines"]


def _frame_span(coverage: StackCoverage, index: int) -> str:
    return f"frames {index + 1} and {index + 2} ({coverage.names[index]}, {coverage.names[index + 1]})"


def _parts(count: int, other: str = "") -> str:
    return f"{count} {other}part{'s' if count != 1 else ''} of the picture with detail"


def _are(count: int) -> str:
    return "are" if count != 1 else "is"


def _frame_steps_mm(coverage: StackCoverage, step_mm: float | None) -> list[float] | None:
    """The focus moved between neighbouring frames, mm: ``--step-mm`` (even), else the record's."""
    if step_mm is not None:
        return [step_mm] * len(coverage.steps)
    return coverage.frame_steps_mm


def _mm_per_blur_px(coverage: StackCoverage, step_mm: float | None) -> float | None:
    """mm at the subject per px (analysis) of step blur: blur grows evenly with the depth
    of focus, so the stack's own steps convert the one into the other."""
    steps_mm = _frame_steps_mm(coverage, step_mm)
    if not steps_mm:
        return None
    ratios = [mm / s.blur_px for s, mm in zip(coverage.steps, steps_mm, strict=False)
              if s.blur_px and not s.not_moved and not s.beyond_range and mm > 0]
    return float(np.median(ratios)) if ratios else None


def end_words(coverage: StackCoverage, end: StackEnd) -> tuple[str, str]:
    """Where parts beyond ``end`` lie and which way to extend the stack: nearer/farther
    when the stack's record says which end is the nearer, else before/after."""
    nearest = coverage.first_is_nearest
    frame = "the first frame" if end is StackEnd.FIRST else "the last frame"
    if nearest is None:
        side = "before the first frame" if end is StackEnd.FIRST else "after the last frame"
        return side, side
    nearer = nearest == (end is StackEnd.FIRST)
    direction = "nearer" if nearer else "farther"
    return f"{direction} than {frame}", direction


def _end_lines(coverage: StackCoverage, end: EndReport, step_mm: float | None) -> list[str]:
    coc = coverage.coc_px
    name = coverage.names[end.frame]
    where, direction = end_words(coverage, end.end)
    lines = []
    if not end.judged and end.parts_uncertain:
        reason = ("two frames leave no frame between them to measure the step by" if len(coverage.names) == 2
                  else "no part sharpest between frames fixes the step next to it")
        lines.append(f"UNCERTAIN: whether the subject goes on {where} ({name}) cannot be told: {reason}; "
                     f"{_parts(end.parts_uncertain)} {_are(end.parts_uncertain)} sharpest in that frame.")
    if end.parts_beyond:
        bound = "at least " if end.at_least else "about "
        far = f" (the farthest blurred by {bound}{end.beyond_px / coc:.1f} CoC there)" if end.beyond_px else ""
        adding = f"{bound}{end.frames_to_add} frame{'s' if end.frames_to_add != 1 else ''}" \
            if end.frames_to_add is not None else "some frames"
        mm = ""
        per_px = _mm_per_blur_px(coverage, step_mm)
        if per_px is not None and end.frames_to_add is not None and end.step_px:
            mm = f", {end.step_px * per_px:.3g} mm apart ({bound}{end.frames_to_add * end.step_px * per_px:.3g} mm)"
        lines.append(f"Not covered: {_parts(end.parts_beyond)} lie{'s' if end.parts_beyond == 1 else ''} {where} "
                     f"({name}) — soft in every frame, their sharpness still rising there{far}: "
                     f"extend the stack {direction} by {adding}{mm}.")
    return lines


_DOUBT_WORDS = {
    Doubt.TOO_FAINT: "too blurred or faint there to read whether they lie {where}",
    Doubt.IMPRECISE: "read too imprecisely to tell whether they lie within the CoC of it or {where}",
}


def _uncertain_lines(coverage: StackCoverage) -> list[str]:
    at_ends = Counter((t.doubt, t.sharpest_frame) for t in coverage.uncertain_tiles if t.doubt in _DOUBT_WORDS)
    lines = []
    for (doubt, frame), count in sorted(at_ends.items(), key=lambda item: (item[0][1], item[0][0].value)):
        end = StackEnd.FIRST if frame == 0 else StackEnd.LAST
        where, _ = end_words(coverage, end)
        which = "first" if end is StackEnd.FIRST else "last"
        # Beside a "Not covered" line for the same end these are other parts (each part is
        # said once): "other" keeps the two from reading as one contradicting the other.
        other = "other " if any(e.frame == frame and e.parts_beyond for e in coverage.ends) else ""
        lines.append(f"UNCERTAIN: {_parts(count, other)} sharpest in the {which} frame ({coverage.names[frame]}) "
                     f"{_are(count)} " + _DOUBT_WORDS[doubt].format(where=where) + ".")
    elsewhere = Counter(t.doubt for t in coverage.uncertain_tiles)
    if elsewhere[Doubt.NO_TREND]:
        count = elsewhere[Doubt.NO_TREND]
        one = "s" if count == 1 else ""
        lines.append(f"UNCERTAIN: {_parts(count)} neither peak{one} nor change{one} in sharpness across the frames "
                     "(blurred far outside the stack in every frame, or a smooth surface): the check cannot tell "
                     f"whether {'it was' if count == 1 else 'they were'} ever sharp.")
    if elsewhere[Doubt.IN_GAP]:
        count = elsewhere[Doubt.IN_GAP]
        lines.append(f"UNCERTAIN: {_parts(count)} lie{'s' if count == 1 else ''} in a gap, too faint to tell how soft.")
    return lines


def effective_coc(coverage: StackCoverage, step_mm: float | None = None) -> dict | None:
    """The effective CoC the stack reached: a point midway across its largest step is
    blurred by half that step in both frames. In the frames' px, as a share of the planned
    CoC, and the step in µm at the subject when the focus moved per frame is known."""
    worst = coverage.worst_step
    if worst is None or worst.blur_px is None:
        return None
    per_px = _mm_per_blur_px(coverage, step_mm)
    return {"between": [worst.index, worst.index + 1],
            "step_blur_px": worst.blur_px / coverage.scale,
            "effective_coc_px": worst.blur_px / 2.0 / coverage.scale,
            "share_of_planned_coc": worst.blur_px / 2.0 / coverage.coc_px,
            "planned_coc_px": coverage.coc_px / coverage.scale,
            "planned_coc_from": coverage.coc_from or None,
            "step_um": None if per_px is None else worst.blur_px * per_px * 1000.0,
            "at_least": bool(worst.beyond_range)}


def _effective_line(coverage: StackCoverage, step_mm: float | None) -> str:
    figure = effective_coc(coverage, step_mm)
    if figure is None:
        return "Effective CoC: no step between frames could be measured."
    bound = "at least " if figure["at_least"] else ""
    worst: StepReport = coverage.steps[figure["between"][0]]
    line = (f"Effective CoC: {bound}{figure['effective_coc_px']:.2f} px of a frame, {bound}"
            f"{figure['share_of_planned_coc']:.2f} of the planned {figure['planned_coc_px']:.2f} px"
            f"{' (' + coverage.coc_from + ')' if coverage.coc_from else ''} — half the largest step, between "
            f"{_frame_span(coverage, worst.index)}, which blurs a point midway between them")
    if figure["step_um"] is not None:
        line += f"; that step is {bound or 'about '}{figure['step_um']:.0f} µm at the subject"
    return line + "."


def report_lines(coverage: StackCoverage, step_mm: float | None = None) -> list[str]:
    """The plain report. ``step_mm``: the focus step between frames (evenly), else the
    stack's record's."""
    coc = coverage.coc_px
    judged = len(coverage.tiles)
    soft, uncertain = len(coverage.soft_tiles), len(coverage.uncertain_tiles)
    lines = [f"{len(coverage.names)} frames; the circle of confusion is {coc / coverage.scale:.2f} px of a frame"
             f"{' (' + coverage.coc_from + ')' if coverage.coc_from else ''}; focus breathing "
             f"{coverage.breathing * 100:+.1f} % in scale from the first frame to the last."]
    if judged == 0:
        lines.append("UNCERTAIN: no part of the picture holds enough detail for the noise to judge its focus.")
        return lines
    counts = (f"; {soft} are soft in every frame" if soft else "") + (f"; {uncertain} cannot be told" if uncertain else "")
    lines.append(f"{judged - soft - uncertain} of {_parts(judged)} are sharp in at least one frame{counts}.")
    steps_mm = _frame_steps_mm(coverage, step_mm)
    for step in coverage.steps:
        if step.gap and step.blur_px is not None:  # (a gap is a step of known blur)
            where = ""
            if steps_mm is not None:
                position = sum(steps_mm[: step.index]) + steps_mm[step.index] / 2.0
                where = f" at about {position:+.3f} mm from the first frame"
            more = "at least " if step.beyond_range else ""
            lines.append(f"Gap: between {_frame_span(coverage, step.index)} the subject is soft (one frame blurs the "
                         f"other by {more}{step.blur_px / coc:.1f} CoC; at most 2 keeps every depth between them sharp): "
                         f"add {more}{max(1, math.ceil(step.blur_px / (2 * coc)) - 1)} frame(s) between them{where}.")
        elif step.not_moved:
            lines.append(f"Not moved: {_frame_span(coverage, step.index)} show the same focus (a lost drive step, or a "
                         "frame taken twice).")
        elif step.blur_px is None:
            lines.append(f"Between {_frame_span(coverage, step.index)}: no detail at these depths to judge by.")
    for end in coverage.ends:
        lines.extend(_end_lines(coverage, end, step_mm))
    lines.extend(_uncertain_lines(coverage))
    moved_redundant = [j for j in coverage.redundant
                       if not (coverage.steps[j - 1].not_moved or coverage.steps[j].not_moved)]
    if moved_redundant:
        names = ", ".join(f"{j + 1} ({coverage.names[j]})" for j in moved_redundant)
        lines.append(f"Redundant: frame(s) {names} could be dropped together; the frames kept stay within 2 CoC of each other.")
    lines.append(_effective_line(coverage, step_mm))
    if coverage.covers_all and not coverage.not_moved:
        lines.append("No gap: every part with detail is within the depth of field of some frame, and the stack reaches "
                     "past both ends of the subject.")
    return lines


def _end_json(coverage: StackCoverage, end: EndReport, step_mm: float | None) -> dict:
    where, direction = end_words(coverage, end.end)
    per_px = _mm_per_blur_px(coverage, step_mm)
    return {"end": end.end.value, "frame": coverage.names[end.frame], "beyond_is": where, "extend": direction,
            "judged": end.judged, "covered": end.covered, "parts_beyond": end.parts_beyond,
            "parts_uncertain": end.parts_uncertain,
            "beyond_coc": None if end.beyond_px is None else end.beyond_px / coverage.coc_px,
            "at_least": end.at_least, "frames_to_add": end.frames_to_add,
            "extend_mm": None if per_px is None or end.frames_to_add is None or not end.step_px
            else end.frames_to_add * end.step_px * per_px}


def report_json(coverage: StackCoverage, warnings: list[str], step_mm: float | None = None) -> dict:
    """The stack check's report as JSON-ready values."""
    coc = coverage.coc_px
    steps_mm = _frame_steps_mm(coverage, step_mm)
    uncertain = Counter(t.doubt.value for t in coverage.uncertain_tiles if t.doubt is not None)
    return {
        "frames": coverage.names,
        "coc_px": coc / coverage.scale,
        "coc_from": coverage.coc_from or None,
        "analysis_scale": coverage.scale,
        "breathing": coverage.breathing,
        "first_is_nearest": coverage.first_is_nearest,
        "steps": [{"between": [s.index, s.index + 1],
                   "blur_px": None if s.blur_px is None else s.blur_px / coverage.scale,
                   "blur_coc": None if s.blur_px is None else s.blur_px / coc,
                   "tiles": s.tiles, "gap": bool(s.gap), "not_moved": bool(s.not_moved),
                   "at_least": bool(s.beyond_range),
                   **({"position_mm": sum(steps_mm[: s.index]) + steps_mm[s.index] / 2.0}
                      if steps_mm is not None and s.gap else {})}
                  for s in coverage.steps],
        "parts_judged": len(coverage.tiles),
        "parts_soft": len(coverage.soft_tiles),
        "parts_uncertain": len(coverage.uncertain_tiles),
        "uncertain": dict(uncertain),
        "ends": [_end_json(coverage, end, step_mm) for end in coverage.ends],
        "effective_coc": effective_coc(coverage, step_mm),
        "covered": bool(coverage.covers_all and not coverage.not_moved),
        "redundant": coverage.redundant,
        "report": report_lines(coverage, step_mm),
        "warnings": warnings,
    }
