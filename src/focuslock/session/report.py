"""A session's report: one self-contained HTML page (pictures inlined, no script, no
network) and a CSV with a row per shot, from the shot log alone plus the files it names.

The page: the verdicts counted, the setup (reference, features, circle of confusion,
drift limit), the sharpness and drift of every shot across the session as an inline SVG
plot, and a row per shot with a thumbnail, each feature's crop at 100 % (the file's own
pixels, where it was found), the verdict and why, the exposure note (a stop or more from
the reference, or highlights clipped: :mod:`focuslock.focus.exposure`; beside the
verdict, never part of it), and the files with their checksums. The CSV has the note and
the signed stops in ``exposure_note`` and ``exposure_stops``. Shots are read from the log
in batches, so a session of thousands stays in bounds.

The log is untrusted input (a session folder comes from another machine, and SQLite lets
any cell hold any text): every text from it is HTML-escaped where it goes into the page
(attributes and the SVG's ``<title>`` too), every number is formatted from a number
(a cell holding text where a number belongs shows as empty, never as its text), and the
page carries a Content-Security-Policy that allows no script at all — only its own
inline styles and ``data:`` pictures — so a text that slipped through would still run
nothing. Every CSV cell goes through :func:`focuslock.session.csv_safe.safe_cell`, so a
file name or SKU such as ``=HYPERLINK(…)`` is text to a spreadsheet, not a formula.
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.file_kinds import NotRegularFile, open_regular
from focuslock.core.resources import is_finite_number
from focuslock.devices.base import CorruptFrameError
from focuslock.io.csv_safe import safe_row
from focuslock.io.limits import read_image_file
from focuslock.session.records import LoggedShot
from focuslock.session.report_html import (
    CONTENT_SECURITY_POLICY,
    VERDICT_COLOURS,
    badge,
    files_html,
    fixed,
    jpeg_data_uri,
    report_page,
)
from focuslock.session.review import crop_window
from focuslock.session.shot_check import SessionSetup, SetupError
from focuslock.session.store import ShotStore
from focuslock.session.verdict import ShotOutcome, logged_exposure

__all__ = ["CONTENT_SECURITY_POLICY", "CSV_COLUMNS", "MAX_FEATURES_IN_CSV", "render_report", "written_by_focuslock"]

MAX_FEATURES_IN_CSV = 4
CSV_COLUMNS = (["sequence", "logged_utc", "file", "verdict", "reason", "worst_blur_coc", "drift_px", "drift_pct",
                "exposure_stops", "exposure_note", "sku", "sha256", "companions"]
               + [f"feature{i}_{what}" for i in range(1, MAX_FEATURES_IN_CSV + 1)
                  for what in ("state", "blur_px", "blur_um", "blur_coc", "reason")])
_THUMB_WIDTH_PX = 240
_EXPOSURE_COLOUR = "#8a5a00"


def render_report(store: ShotStore) -> tuple[str, str]:
    """The report's HTML and CSV texts."""
    setup = store.setup()
    features = _feature_boxes(setup)
    rows_html: list[str] = []
    points: list[tuple[int, float | None, float | None, str]] = []
    csv_text = io.StringIO()
    writer = csv.writer(csv_text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    noted = 0  # shots with an exposure note
    for shot in store.shots():
        noted += logged_exposure(shot.record.camera).note is not None
        worst = shot.record.worst_coc_share
        drift_pct = None if shot.record.drift_share is None else 100.0 * shot.record.drift_share
        sequence = _whole(shot.sequence)
        if sequence is not None:
            points.append((sequence, worst, drift_pct, _word(shot.record.verdict)))
        writer.writerow(safe_row(_csv_row(shot, worst, drift_pct)))
        rows_html.append(_shot_row(store, shot, features, drift_pct))
    counts = store.verdict_counts()
    body = _BODY.format(
        name=html.escape(store.name()),
        created=html.escape(store.created_utc()),
        total=int(sum(counts.values())),
        counts="".join(f"{badge(v, f'{int(counts[v])} {v}')} " for v in ShotOutcome)
               + (f'<span class="badge" style="background:{_EXPOSURE_COLOUR}">{noted} with an exposure note</span>'
                  if noted else ""),
        settings=_settings_table(setup),
        plot=_plot_svg(points),
        rows="\n".join(rows_html) or '<tr><td colspan="6">No shots logged yet.</td></tr>',
    )
    return report_page(f"focuslock session {store.name()}", body, _CSS), csv_text.getvalue()


def _feature_boxes(setup: dict) -> tuple[tuple[float, float, float, float], ...]:
    """The setup's feature boxes (x, y, w, h), read as ``watch`` reads them; none when
    the setup cannot be read (the report then shows no crops, and everything else)."""
    try:
        return SessionSetup.from_json(setup).features_px
    except SetupError:
        return ()


def _signed(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:+.2f}"


def _whole(value: object) -> int | None:
    """A logged whole number (a shot's sequence, a feature's index), or None for a cell
    that holds anything else (text put there by hand is never shown as if it were one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _word(value: object) -> str:
    """A logged text (a verdict); anything else as empty."""
    return value if isinstance(value, str) else ""


def _features(record) -> list:
    """The shot's feature verdicts whose index is a whole number (a row edited by hand
    into something else is left out, not a traceback)."""
    return [f for f in record.features if _whole(f.feature) is not None and f.feature >= 0]


def _csv_row(shot: LoggedShot, worst: float | None, drift_pct: float | None) -> list:
    record = shot.record
    judged = next((f for f in record.files if f.role == "judged"), None)
    exposure = logged_exposure(record.camera)
    sequence = _whole(shot.sequence)
    row = ["" if sequence is None else sequence, shot.logged_utc, record.name, _word(record.verdict), record.reason or "",
           fixed(worst, 3),
           fixed(record.drift_px, 1), fixed(drift_pct, 2), _signed(exposure.stops), exposure.note or "", record.sku or "",
           judged.sha256 if judged else "",
           " ".join(f.path for f in record.files if f.role == "companion")]
    for index in range(MAX_FEATURES_IN_CSV):
        feature = next((f for f in _features(record) if f.feature == index), None)
        row += ([feature.state, fixed(feature.blur_px, 3), fixed(feature.blur_um, 2), fixed(feature.coc_share, 3),
                 feature.reason or ""] if feature else ["", "", "", "", ""])
    return row


def _shot_row(store: ShotStore, shot: LoggedShot, features, drift_pct: float | None) -> str:
    record = shot.record
    judged = next((f for f in record.files if f.role == "judged"), None)
    picture = None
    if judged is not None:
        try:
            picture = read_image_file(store.folder / judged.path, judged.path)
        except (CorruptFrameError, OSError, ValueError):
            picture = None
    thumb = _thumbnail(picture) if picture is not None else '<div class="missing">not a picture focuslock reads</div>'
    crops = []
    for feature in _features(record):
        if picture is None or feature.found_px is None or feature.feature >= len(features):
            continue
        _, _, w, h = features[feature.feature]
        crops.append(_crop(picture, feature.found_px, (w, h), f"feature {feature.feature + 1}: {feature.state}"))
    lines = [html.escape(feature.describe()) for feature in _features(record)]
    files = files_html((f.path, f.sha256) for f in record.files)
    verdict = _word(record.verdict)
    sequence = _whole(shot.sequence)
    number = "" if sequence is None else str(sequence)
    note = logged_exposure(record.camera).note
    exposure = f'<div class="exposure">{html.escape(note)}</div>' if note else ""
    return (f'<tr class="shot" id="shot-{number}"><td>{number}</td><td>{thumb}</td>'
            f'<td class="crops">{"".join(crops)}</td>'
            f'<td>{badge(verdict)}'
            f'<div class="reason">{html.escape(record.reason or "")}</div>{exposure}'
            f'<div class="features">{"<br>".join(lines)}</div>'
            f'<div>drift {fixed(record.drift_px, 1) or "–"} px ({fixed(drift_pct, 2) or "–"} %)</div></td>'
            f'<td class="files">{files}<div class="time">{html.escape(shot.logged_utc)}</div></td></tr>')


def written_by_focuslock(path: Path) -> bool:
    """Whether ``path`` holds a report focuslock wrote (or nothing): the default report
    beside a session is remade each time, but a ``report.csv`` or ``report.html`` that is
    the studio's own is never replaced without ``--force``. Told from the file's start (a
    regular file only, never followed through a link nor waited on)."""
    if not os.path.lexists(path):
        return True
    try:
        with open_regular(path, follow_links=False) as (fd, _):
            head = os.read(fd, 4096)
    except (OSError, NotRegularFile):
        return False
    if path.suffix.lower() == ".csv":
        return head.startswith(",".join(CSV_COLUMNS[:4]).encode() + b",")
    # (reports written before the generator line carry the policy, as the page escapes it)
    return b'<meta name="generator" content="focuslock">' in head or html.escape(CONTENT_SECURITY_POLICY).encode() in head


def _data_uri(image: np.ndarray, quality: int = 85) -> str:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return jpeg_data_uri(encoded.tobytes()) if ok else ""


def _thumbnail(picture: np.ndarray) -> str:
    height, width = picture.shape[:2]
    scale = min(1.0, _THUMB_WIDTH_PX / width)
    small = cv2.resize(picture, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    return f'<img class="thumb" alt="thumbnail" src="{_data_uri(small)}">'


def _crop(picture: np.ndarray, found_px: tuple[float, float], size_px: tuple[float, float], title: str) -> str:
    """The feature's box at 100 % (the file's pixels), cut to ``CROP_MAX_PX`` about its centre."""
    height, width = picture.shape[:2]
    x0, y0, cw, ch = crop_window((width, height), found_px, size_px)
    crop = picture[y0:y0 + ch, x0:x0 + cw]
    if crop.size == 0:
        return ""
    # Shown at its own pixel size (no browser scaling: the point of a 100 % crop).
    return (f'<figure><img class="crop" alt="{html.escape(title)}" width="{crop.shape[1]}" height="{crop.shape[0]}" '
            f'src="{_data_uri(crop, 92)}"><figcaption>{html.escape(title)}</figcaption></figure>')


def _settings_table(setup: dict) -> str:
    rows = []
    labels = {"reference": "reference picture", "features_px": "features (x, y, w, h px)", "coc_px": "CoC (px)",
              "coc_um": "CoC (µm)", "sensor_width_mm": "sensor width (mm)", "drift_limit_share": "drift limit",
              "camera": "camera", "lens": "lens"}
    for key, label in labels.items():
        value = setup.get(key)
        if value is None:
            continue
        if key == "features_px" and isinstance(value, list):
            value = "; ".join(",".join(f"{v:g}" if is_finite_number(v) else str(v) for v in f)
                              if isinstance(f, list) else str(f) for f in value)
        elif key == "drift_limit_share" and is_finite_number(value):
            value = f"{100 * value:g} % of the width"
        rows.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(value))}</td></tr>")
    if setup.get("coc_px") is None and setup.get("coc_um") is None:
        rows.append("<tr><th>CoC</th><td>the picture's diagonal / 1500</td></tr>")
    for key, value in sorted((setup.get("optics") or {}).items()):
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>")
    return "\n".join(rows)


# The report's plot shows blurs up to this many CoC either way; beyond, at its edge.
_PLOT_LIMIT_COC = 20.0


def _plot_svg(points: list[tuple[int, float | None, float | None, str]]) -> str:
    """Blur of the worst feature (in CoC) and drift (% of width) for every shot, with the
    SOFTENING (½ CoC) and SOFT (1 CoC) lines labelled."""
    if not points:
        return "<p>No shots yet.</p>"
    width, height, left, right, top, bottom = 900, 260, 60, 20, 16, 36
    blurs = [p[1] for p in points if p[1] is not None and math.isfinite(p[1])]
    # The axis ends at ±_PLOT_LIMIT_COC: a shot beyond it (a log edited by hand can hold
    # 1.6e308) is drawn at the edge instead of stretching the axis to infinity.
    y_max = max(1.5, min(max(blurs, default=0.0) * 1.1, _PLOT_LIMIT_COC))
    y_min = min(0.0, max(min(blurs, default=0.0) * 1.1, -_PLOT_LIMIT_COC))
    first, last = points[0][0], points[-1][0]
    span = max(1, last - first)

    def sx(seq: float) -> float:
        return left + (seq - first) / span * (width - left - right)

    def sy(value: float) -> float:
        value = min(max(value, y_min), y_max)
        return top + (y_max - value) / (y_max - y_min) * (height - top - bottom)

    parts = [f'<svg class="plot" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">',
             f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
             'fill="#fafafa" stroke="#ccc"/>']
    for value, label, colour in ((0.5, "SOFTENING ½ CoC", "#d9a400"), (1.0, "SOFT 1 CoC", "#d23c32")):
        y = sy(value)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                     'stroke-dasharray="5,4"/>')
        parts.append(f'<text x="{width - right - 4}" y="{y - 4:.1f}" text-anchor="end" fill="{colour}">{label}</text>')
    for tick in _ticks(y_min, y_max):
        parts.append(f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for tick in _ticks(first, last, whole=True):
        parts.append(f'<text x="{sx(tick):.1f}" y="{height - bottom + 16}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text x="{left + (width - left - right) / 2}" y="{height - 4}" text-anchor="middle">shot</text>')
    middle_y = top + (height - top - bottom) / 2
    parts.append(f'<text x="14" y="{middle_y}" transform="rotate(-90 14 {middle_y})" '
                 'text-anchor="middle">blur of the worst feature (CoC)</text>')
    line = [f"{sx(seq):.1f},{sy(blur):.1f}" for seq, blur, _, _ in points if blur is not None and not math.isnan(blur)]
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#888" stroke-width="1"/>')
    for seq, blur, drift, verdict in points:
        y = sy(blur) if blur is not None and not math.isnan(blur) else sy(y_min) - 4
        parts.append(f'<circle cx="{sx(seq):.1f}" cy="{y:.1f}" r="4" fill="{VERDICT_COLOURS.get(verdict, "#444")}">'
                     f'<title>shot {seq:d}: {html.escape(verdict)}, blur {fixed(blur, 2) or "–"} CoC, '
                     f'drift {fixed(drift, 2) or "–"} %</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(low: float, high: float, whole: bool = False, count: int = 6) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1.0, round(step))
    start = math.ceil(low / step) * step
    ticks = []
    value = start
    while value <= high + 1e-9:
        ticks.append(round(value, 6))
        value += step
    return ticks


_CSS = """.settings th { text-align: left; padding: 2px 12px 2px 0; font-weight: 500; color: #555; }
.crops figure { display: inline-block; margin: 0 8px 0 0; }
.crop { image-rendering: pixelated; border: 1px solid #999; }
figcaption { font-size: 11px; color: #555; }
.exposure { margin: 4px 0; max-width: 320px; color: #8a5a00; font-weight: 600; }
"""
_BODY = """<h1>{name}</h1>
<div>started {created} · {total} shots · {counts}</div>
<h2>Setup</h2>
<table class="settings">{settings}</table>
<h2>Blur across the session</h2>
{plot}
<h2>Shots</h2>
<table class="shots">
<tr><th>#</th><th>picture</th><th>features at 100 %</th><th>verdict</th><th>files</th></tr>
{rows}
</table>"""
