"""What a body's widgets and summary say, read as numbers: f-numbers, shutter speeds, a
summary's fields, a PTP event that means the card is full, and a typed value matched
to the body's own choices."""

from __future__ import annotations

import re

__all__ = ["canon_af_box", "is_number", "is_store_full", "match_choice", "parse_f_number", "parse_float", "parse_int", "parse_shutter",
           "summary_field"]


def is_number(text: str) -> bool:
    """A widget value that reads as a number."""
    try:
        float(text)
        return True
    except ValueError:
        return False


def is_store_full(data: object) -> bool:
    """An event that says the card is full."""
    # PTP event 0x400A is StoreFull (PTP 1.1, ISO 15740).
    return bool(re.search(r"PTP Event 400a", str(data), re.IGNORECASE))


def summary_field(summary: str, field: str) -> str | None:
    """One field (``Model``, ``Manufacturer``) of a camera's summary text."""
    match = re.search(rf"^{field}:\s*(.+)$", summary or "", re.MULTILINE)
    return match.group(1).strip() if match else None


def match_choice(value: str, choices: tuple[str, ...]) -> str | None:
    """'8' finds 'f/8', '1/100' finds '0.0100s' and the like, by numeric value."""
    for parse in (parse_f_number, parse_shutter):
        wanted = parse(value)
        if wanted is None:
            continue
        for choice in choices:
            parsed = parse(choice)
            if parsed is not None and abs(parsed - wanted) <= 1e-3 * max(abs(wanted), 1e-9):
                return choice
    return None


def parse_f_number(text: str) -> float | None:
    """'f/8', 'F8' or '8' as 8.0; None for anything else."""
    match = re.fullmatch(r"\s*(?:f/?)?\s*([0-9]+(?:\.[0-9]+)?)\s*", text, re.IGNORECASE)
    return float(match.group(1)) if match else None


def parse_shutter(text: str) -> float | None:
    """'1/125', '0.0080s', '2"' or '2' as seconds."""
    text = text.strip().lower().removesuffix("s").rstrip('"').strip()
    try:
        if "/" in text:
            numerator, _, denominator = text.partition("/")
            return float(numerator) / float(denominator)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def parse_float(text: str) -> float | None:
    """The first number in a text ('100 mm' as 100.0), or None."""
    match = re.search(r"-?[0-9]+(?:\.[0-9]+)?", text or "")
    return float(match.group(0)) if match else None


def parse_int(text: str) -> int | None:
    """The first number in a text as a whole number, or None."""
    value = parse_float(text)
    return int(value) if value is not None else None


def canon_af_box(focusinfo: str, live_view_size_px: tuple[int, int]) -> tuple[tuple[int, int, int, int] | None, str]:
    """The selected AF point of a Canon body in live-view pixels (x, y, w, h), from its
    ``focusinfo`` widget ("size=WxH,...,points={{x,y,w,h},...},select={i,...}": each point's
    middle as an offset from the AF area's middle, in the area's units), or None and why not.

    Only a point at the very middle is placed: which way libgphoto2's offsets run (is y up
    or down?) is not verified on a body, and a point drawn at a guessed place would mislead.
    The live view must have the AF area's shape (the same sensor, uncropped)."""
    size = re.search(r"size=(\d+)x(\d+)", focusinfo or "")
    points = [tuple(int(v) for v in p) for p in re.findall(r"\{(-?\d+),(-?\d+),(\d+),(\d+)\}", focusinfo or "")]
    chosen = re.search(r"select=\{([\d,\s]*)\}", focusinfo or "")
    if size is None or not points or chosen is None:
        return None, "the body reports no AF points"
    selected = [int(i) for i in re.findall(r"\d+", chosen.group(1)) if int(i) < len(points)]
    if not selected:
        return None, "the body reports no selected AF point"
    area_w, area_h = int(size.group(1)), int(size.group(2))
    view_w, view_h = live_view_size_px
    if area_w <= 0 or area_h <= 0 or abs(view_w / view_h - area_w / area_h) > 0.01 * area_w / area_h:
        return None, "live view has another shape than the AF area, so the AF point's place in it is not known"
    off_middle = [i for i in selected if points[i][:2] != (0, 0)]
    if off_middle:
        return None, ("the selected AF point is off the middle; it is not drawn, since which way Canon's AF offsets run "
                      "is not verified on a body")
    scale = view_w / area_w
    _, _, w, h = points[selected[0]]
    box_w, box_h = max(1, round(w * scale)), max(1, round(h * scale))
    return (round(view_w / 2 - box_w / 2), round(view_h / 2 - box_h / 2), box_w, box_h), ""
