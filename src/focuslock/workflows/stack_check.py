"""``focuslock stack-check DIR``: does a focus stack cover its subject?

Reads the frames (through the sources' size limits) and the stack's own record
(``stack.json``, when ``stack-shoot`` wrote one: which end is the nearer, the step, the
planned CoC), reduces the frames to an analysis size, asks
:func:`focuslock.focus.coverage.check_coverage`, and says in plain words
(:mod:`focuslock.workflows.stack_report`) where the gaps are, whether the stack reaches the ends of
its subject, what it cannot tell, which frames did not move and which could be dropped;
optionally a coverage map (PNG): the middle frame, each judged tile tinted by the frame
that is sharpest there, tiles the stack leaves soft outlined in red, those it cannot
tell in yellow.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.devices.base import CorruptFrameError
from focuslock.devices.folder import list_images, read_bgr_image
from focuslock.focus.coverage import StackCoverage, check_coverage
from focuslock.focus.stack_ends import TileState
from focuslock.optics.coc import check_coc_px, coc_in_picture
from focuslock.optics.lens_limits import OpticsError
from focuslock.workflows.stack_manifest import read_manifest
from focuslock.workflows.stack_report import report_json, report_lines  # the words; callers take them from here

__all__ = ["StackCheckError", "ANALYSIS_WIDTH_PX", "coverage_map", "report_lines", "report_json", "run_stack_check"]

# Frames are judged at this width at most: enough to see a CoC of a pixel or two of a
# 24 MP frame reduced, a few seconds for a stack of dozens.
ANALYSIS_WIDTH_PX = 1024
# Outlines on the map: soft in every frame, and cannot be told.
_SOFT_BGR = (0, 0, 255)
_UNCERTAIN_BGR = (0, 215, 255)


class StackCheckError(FocuslockError):
    """One sentence for the user."""


def run_stack_check(target, coc_px: float | None = None, coc_from: str | None = None) -> tuple[StackCoverage, list[str]]:
    """Check the stack in ``target`` (folder or glob); ``coc_px`` in the frames' own
    pixels (default: the CoC ``stack.json`` records, else diagonal / 1500; ``coc_from``
    says where a given one came from). Returns the coverage and warnings (skipped files)."""
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
            warnings.append(f"{path.name} is {bgr.shape[1]}×{bgr.shape[0]}, not {size[1]}×{size[0]} like the first frame; "
                            "it was skipped.")
            continue
        frames.append(bgr)
        names.append(path.name)
    if len(frames) < 2 or size is None:
        raise StackCheckError(f"{target} holds {len(frames)} readable image(s) of one size; a stack needs at least two.")
    height, width = size
    folders = {path.parent for path in paths}
    manifest = read_manifest(folders.pop()) if len(folders) == 1 else None
    if coc_px is not None:
        coc_from = coc_from or "--coc-px"
    elif manifest is not None and (from_manifest := manifest.coc_px(width)) is not None:
        coc_px, coc_from = from_manifest, "stack.json"
    else:
        coc_px, coc_from = coc_in_picture(width, height).coc_px, "the frame's diagonal / 1500"
    try:
        check_coc_px(coc_px)
    except OpticsError as error:
        raise StackCheckError(f"{str(error).rstrip('.')}; the convention gives {coc_in_picture(width, height).coc_px:.1f} px "
                              f"for {width}×{height} frames.") from None
    scale = min(1.0, ANALYSIS_WIDTH_PX / width)
    greys = []
    for bgr in frames:
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        greys.append(grey.astype(np.float32))
    coverage = check_coverage(greys, names, coc_px * scale, scale)
    coverage.coc_from = coc_from
    if manifest is not None:
        coverage.first_is_nearest = manifest.first_is_nearest(names)
        coverage.frame_steps_mm = manifest.frame_steps_mm(names)
    return coverage, warnings + coverage.warnings


def coverage_map(coverage: StackCoverage) -> np.ndarray:
    """BGR picture: the middle frame in grey, each judged part tinted by its sharpest
    frame (first = blue … last = red, OpenCV's turbo scale), parts soft in every frame
    (in a gap or beyond an end) outlined in red, parts that cannot be told in yellow."""
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
            colour = _UNCERTAIN_BGR if tile.state is TileState.UNCERTAIN else _SOFT_BGR
            cv2.rectangle(picture, (x + 1, y + 1), (x + w - 2, y + h - 2), colour, thickness=2)
    return np.vstack([picture, _legend(picture.shape[1], colours[:, 0], len(coverage.names))])


def _legend(width_px: int, colours: np.ndarray, frames: int) -> np.ndarray:
    """A strip under the map: the colour of each frame, and what a red outline means."""
    strip = np.full((36, width_px, 3), 32, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    cv2.putText(strip, "sharpest in frame:", (8, 23), font, scale, (230, 230, 230), 1, cv2.LINE_AA)
    x = 160
    swatch = max(18, min(40, (width_px - 560) // max(frames, 1)))
    for index, colour in enumerate(colours):
        cv2.rectangle(strip, (x, 8), (x + swatch - 3, 28), colour.tolist(), thickness=-1)
        if index in (0, frames - 1) or frames <= 12:
            cv2.putText(strip, str(index + 1), (x + 2, 23), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        x += swatch
    for colour, text in ((_SOFT_BGR, "soft in every frame"), (_UNCERTAIN_BGR, "cannot tell")):
        cv2.rectangle(strip, (x + 16, 8), (x + 36, 28), colour, thickness=2)
        cv2.putText(strip, text, (x + 44, 23), font, scale, (230, 230, 230), 1, cv2.LINE_AA)
        x += 44 + 9 * len(text)
    return strip


def write_map(coverage: StackCoverage, path: Path) -> Path:
    from focuslock.io.outputs import replace_file

    ok, data = cv2.imencode(".png", coverage_map(coverage))
    if not ok:
        raise StackCheckError("The coverage map could not be encoded as PNG.")
    return replace_file(Path(path), data.tobytes())
