"""``focuslock stack-check DIR``: does a focus stack cover its subject?

Reads the frames (through the sources' size limits), reduces them to an analysis size,
asks :func:`focuslock.focus.coverage.check_coverage`, and says in plain words where the
gaps are, which frames did not move and which could be dropped; optionally a coverage map
(PNG): the middle frame, each judged tile tinted by the frame that is sharpest there,
tiles the stack leaves soft outlined in red.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from focuslock.camera.base import CorruptFrameError
from focuslock.camera.folder import list_images, read_bgr_image
from focuslock.focus.coverage import StackCoverage, check_coverage

__all__ = ["StackCheckError", "ANALYSIS_WIDTH_PX", "coverage_map", "report_lines", "report_json", "run_stack_check"]

# Frames are judged at this width at most: enough to see a CoC of a pixel or two of a
# 24 MP frame reduced, a few seconds for a stack of dozens.
ANALYSIS_WIDTH_PX = 1024
# The circle of confusion of a print seen whole: the frame's diagonal / 1500.
_DIAGONAL_COC_SHARE = 1.0 / 1500.0


class StackCheckError(Exception):
    """One sentence for the user."""


def run_stack_check(target, coc_px: float | None = None) -> tuple[StackCoverage, list[str]]:
    """Check the stack in ``target`` (folder or glob); ``coc_px`` in the frames' own
    pixels (default: diagonal / 1500). Returns the coverage and warnings (skipped files)."""
    try:
        paths = list_images(target)
    except CorruptFrameError as error:  # CameraNotFoundError is one
        raise StackCheckError(str(error)) from None
    except OSError as error:
        raise StackCheckError(f"{target} could not be read ({error.strerror}).") from None
    warnings: list[str] = []
    frames, names, size = [], [], None
    for path in paths:
        try:
            bgr = read_bgr_image(path)
        except CorruptFrameError as error:
            warnings.append(str(error))
            continue
        if size is None:
            size = bgr.shape[:2]
        elif bgr.shape[:2] != size:
            warnings.append(f"{path.name} is {bgr.shape[1]}×{bgr.shape[0]}, not {size[1]}×{size[0]} like the first frame; it was skipped.")
            continue
        frames.append(bgr)
        names.append(path.name)
    if len(frames) < 2:
        raise StackCheckError(f"{target} holds {len(frames)} readable image(s) of one size; a stack needs at least two.")
    height, width = size
    if coc_px is None:
        coc_px = math.hypot(width, height) * _DIAGONAL_COC_SHARE
    if not (coc_px > 0 and math.isfinite(coc_px)):
        raise StackCheckError(f"The circle of confusion must be a positive number of pixels, got {coc_px}.")
    # A hundred times the convention's CoC is no CoC at all (and a disc that size was
    # allocated, then refused by OpenCV with its own words).
    most_px = 100.0 * math.hypot(width, height) * _DIAGONAL_COC_SHARE
    if coc_px > most_px:
        raise StackCheckError(f"A circle of confusion of {coc_px:g} px is not plausible for {width}×{height} frames; "
                              f"give at most {most_px:.0f} (the convention gives {most_px / 100:.1f}).")
    scale = min(1.0, ANALYSIS_WIDTH_PX / width)
    greys = []
    for bgr in frames:
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        greys.append(grey.astype(np.float32))
    coverage = check_coverage(greys, names, coc_px * scale, scale)
    return coverage, warnings + coverage.warnings


def _frame_span(coverage: StackCoverage, index: int) -> str:
    return f"frames {index + 1} and {index + 2} ({coverage.names[index]}, {coverage.names[index + 1]})"


def report_lines(coverage: StackCoverage, step_mm: float | None = None) -> list[str]:
    """The plain report: what the stack covers, its gaps, frames that did not move, and
    frames that could be dropped."""
    coc = coverage.coc_px
    judged = len(coverage.tiles)
    soft = sum(1 for t in coverage.tiles if not t.covered)
    lines = [f"{len(coverage.names)} frames; the circle of confusion is {coc / coverage.scale:.2f} px of a frame; "
             f"focus breathing {coverage.breathing * 100:+.1f} % in scale from the first frame to the last."]
    if judged == 0:
        lines.append("No part of the picture holds enough detail for the noise to judge its focus.")
        return lines
    lines.append(f"{judged - soft} of {judged} parts of the picture with detail are sharp in at least one frame"
                 + (f"; {soft} are soft in every frame." if soft else "."))
    for step in coverage.steps:
        if step.gap:
            where = ""
            if step_mm is not None:
                where = f" at about {(step.index + 0.5) * step_mm:+.3f} mm from the first frame"
            more = "at least " if step.beyond_range else ""
            lines.append(f"Gap: between {_frame_span(coverage, step.index)} the subject is soft (one frame blurs the "
                         f"other by {more}{step.blur_px / coc:.1f} CoC; at most 2 keeps every depth between them sharp): "
                         f"add {more}{max(1, math.ceil(step.blur_px / (2 * coc)) - 1)} frame(s) between them{where}.")
        elif step.not_moved:
            lines.append(f"Not moved: {_frame_span(coverage, step.index)} show the same focus (a lost drive step, or a "
                         "frame taken twice).")
        elif step.blur_px is None:
            lines.append(f"Between {_frame_span(coverage, step.index)}: no detail at these depths to judge by.")
    moved_redundant = [j for j in coverage.redundant
                       if not (coverage.steps[j - 1].not_moved or coverage.steps[j].not_moved)]
    if moved_redundant:
        names = ", ".join(f"{j + 1} ({coverage.names[j]})" for j in moved_redundant)
        lines.append(f"Redundant: frame(s) {names} could be dropped together; the frames kept stay within 2 CoC of each other.")
    if not coverage.gaps and not coverage.not_moved:
        lines.append("No gap: every depth with detail is within the depth of field of some frame.")
    return lines


def report_json(coverage: StackCoverage, warnings: list[str], step_mm: float | None = None) -> dict:
    coc = coverage.coc_px
    return {
        "frames": coverage.names,
        "coc_px": coc / coverage.scale,
        "analysis_scale": coverage.scale,
        "breathing": coverage.breathing,
        "steps": [{"between": [s.index, s.index + 1],
                   "blur_px": None if s.blur_px is None else s.blur_px / coverage.scale,
                   "blur_coc": None if s.blur_px is None else s.blur_px / coc,
                   "tiles": s.tiles, "gap": bool(s.gap), "not_moved": bool(s.not_moved),
                   "at_least": bool(s.beyond_range),
                   **({"position_mm": (s.index + 0.5) * step_mm} if step_mm is not None and s.gap else {})}
                  for s in coverage.steps],
        "parts_judged": len(coverage.tiles),
        "parts_soft": sum(1 for t in coverage.tiles if not t.covered),
        "redundant": coverage.redundant,
        "report": report_lines(coverage, step_mm),
        "warnings": warnings,
    }


def coverage_map(coverage: StackCoverage) -> np.ndarray:
    """BGR picture: the middle frame in grey, each judged part tinted by its sharpest
    frame (first = blue … last = red, OpenCV's turbo scale), soft parts outlined in red."""
    middle = coverage.aligned_grey[len(coverage.aligned_grey) // 2]
    base = cv2.cvtColor(np.clip(middle, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    tint = base.copy()
    count = max(len(coverage.names) - 1, 1)
    # Turbo from its blue to its red, without the near-black ends (unreadable on a dark picture).
    colours = cv2.applyColorMap(np.linspace(30, 230, len(coverage.names)).astype(np.uint8)[:, None], cv2.COLORMAP_TURBO)
    for tile in coverage.tiles:
        x, y, w, h = tile.box_px
        colour = colours[min(tile.sharpest_frame, count), 0].tolist()
        cv2.rectangle(tint, (x, y), (x + w - 1, y + h - 1), colour, thickness=-1)
    picture = cv2.addWeighted(base, 0.55, tint, 0.45, 0.0)
    for tile in coverage.tiles:
        if not tile.covered:
            x, y, w, h = tile.box_px
            cv2.rectangle(picture, (x + 1, y + 1), (x + w - 2, y + h - 2), (0, 0, 255), thickness=2)
    return np.vstack([picture, _legend(picture.shape[1], colours[:, 0], len(coverage.names))])


def _legend(width_px: int, colours: np.ndarray, frames: int) -> np.ndarray:
    """A strip under the map: the colour of each frame, and what a red outline means."""
    strip = np.full((36, width_px, 3), 32, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    cv2.putText(strip, "sharpest in frame:", (8, 23), font, scale, (230, 230, 230), 1, cv2.LINE_AA)
    x = 160
    swatch = max(18, min(40, (width_px - 420) // max(frames, 1)))
    for index, colour in enumerate(colours):
        cv2.rectangle(strip, (x, 8), (x + swatch - 3, 28), colour.tolist(), thickness=-1)
        if index in (0, frames - 1) or frames <= 12:
            cv2.putText(strip, str(index + 1), (x + 2, 23), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        x += swatch
    cv2.rectangle(strip, (x + 16, 8), (x + 36, 28), (0, 0, 255), thickness=2)
    cv2.putText(strip, "soft in every frame", (x + 44, 23), font, scale, (230, 230, 230), 1, cv2.LINE_AA)
    return strip


def write_map(coverage: StackCoverage, path: Path) -> Path:
    from focuslock.outputs import replace_file

    ok, data = cv2.imencode(".png", coverage_map(coverage))
    if not ok:
        raise StackCheckError("The coverage map could not be encoded as PNG.")
    return replace_file(Path(path), data.tobytes())
