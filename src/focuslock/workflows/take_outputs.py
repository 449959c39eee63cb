"""What ``analyze`` writes and says: the per-frame CSV and its plot, the JSON, the
summary lines."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from pathlib import Path

import cv2

from focuslock.io.outputs import OutputError, replace_file
from focuslock.optics.coc import LIVE_VIEW_RESOLVES_COC_PX
from focuslock.optics.dof import describe_depth
from focuslock.overlay.plot import draw_sharpness_plot
from focuslock.workflows.take_input import AnalysisError
from focuslock.workflows.take_report import FRAME_NUMBER_DIGITS, AnalysisReport

__all__ = ["plot_path_for", "report_json", "summary_lines", "write_csv"]


def plot_path_for(csv_path: Path) -> Path:
    """Where the plot goes: beside the CSV, same name, ``.png``."""
    return Path(csv_path).with_suffix(".png")


def write_csv(report: AnalysisReport, path: Path) -> Path:
    """The per-frame CSV and its plot, each written whole (temporary file and rename);
    the caller checked both names first (:func:`focuslock.io.outputs.check_outputs`)."""
    from focuslock.io.csv_safe import safe_row

    text = io.StringIO(newline="")
    table = csv.writer(text)
    table.writerow(["index", "file", "time_s", *FRAME_NUMBER_DIGITS, "state", "reason", "sharpness",
                    "roi_x", "roi_y", "roi_w", "roi_h", "error"])
    for r in report.frames:
        roi = [f"{v:.2f}" for v in r.roi_px] if r.roi_px is not None else ["", "", "", ""]
        numbers = ["" if value is None else f"{value:.{FRAME_NUMBER_DIGITS[name]}f}"
                   for name, value in report.frame_numbers(r).items()]
        # File names, reasons and errors are text from outside (a folder's names): never a formula.
        table.writerow(safe_row([r.index, Path(r.source).name if r.source else "",
                                 "" if r.time_s is None else f"{r.time_s:.4f}", *numbers, r.state, r.reason or "",
                                 "" if r.reading is None else f"{r.reading.score:.6g}", *roi, r.error or ""]))
    plot_path = plot_path_for(path)
    xs = [r.time_s if r.time_s is not None else float(r.index) for r in report.frames]
    axis = "time (s)" if any(r.time_s is not None for r in report.frames) else "frame"
    shares = [report.frame_numbers(r).coc_share for r in report.frames]
    image = draw_sharpness_plot(xs, shares, [r.state for r in report.frames],
                                best_x=xs[_position(report, report.best_frame)] if report.best_frame is not None else None,
                                lock_x=xs[_position(report, report.lock_frame)] if report.lock_frame is not None else None,
                                x_label=axis, title=f"{Path(report.input).name}: blur against frame {report.lock_frame}, "
                                                    f"CoC {report.coc_px:g} px")
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    try:
        replace_file(path, text.getvalue().encode("utf-8"))
        if ok:
            replace_file(plot_path, png.tobytes())
    except OutputError as error:
        raise AnalysisError(str(error)) from None
    report.written = dataclasses.replace(report.written, csv=str(path), plot=str(plot_path))
    return path


def _position(report: AnalysisReport, index: int) -> int:
    """Where frame ``index``'s record is in ``report.frames`` (a stretch is one record)."""
    return next(n for n, r in enumerate(report.frames) if r.index == index)


def summary_lines(report: AnalysisReport) -> list[str]:
    """The analysis in a few lines for the terminal."""
    counts: dict[str, int] = {}
    for r in report.frames:
        counts[r.state] = counts.get(r.state, 0) + 1
    lines = [
        f"{report.input}: {len(report.frames)} frames, measure {report.measure}",
        f"best frame {report.best_frame}, lock frame {report.lock_frame}",
        "states: " + ", ".join(f"{state} {counts[state]}" for state in ("sharp", "softening", "soft", "uncertain", "lost")
                               if state in counts),
    ]
    if report.coc is not None:
        coc = report.coc
        lines.append(f"CoC {coc.coc_um:.0f} µm = {coc.coc_px:.2f} px of these frames ({coc.pixel_pitch_um:.1f} µm per pixel)")
        if coc.coc_px < LIVE_VIEW_RESOLVES_COC_PX:
            lines.append("These frames are too small for this depth of field: they cannot tell in focus from "
                         "softening; analyse the full-resolution files.")
    if report.dof is not None and math.isfinite(report.dof.total_mm):
        dof = report.dof
        readings = [(report.defocus_um(r), r.index) for r in report.frames]
        defocus = [(um, index) for um, index in readings if um is not None]
        line = f"DoF {describe_depth(dof.total_mm)} at f/{dof.f_number:g} and {dof.magnification:g}×"
        if defocus:
            um, index = max(defocus)
            line += f"; farthest from the lock frame's plane of focus: frame {index}, about {describe_depth(um / 1000.0)}"
        lines.append(line)
    if report.lock_warning:
        lines.append(report.lock_warning)
    corrupt = [r for r in report.frames if r.error]
    if corrupt:
        count = sum((r.last_index if r.last_index is not None else r.index) - r.index + 1 for r in corrupt)
        lines.append(f"skipped {count:,} unreadable frame(s): " + "; ".join(r.error or "" for r in corrupt[:3]))
    for path in report.written.paths():
        lines.append(f"wrote {path}")
    return lines


def report_json(report: AnalysisReport) -> str:
    """The analysis as a JSON document."""
    return json.dumps(report.to_json())
