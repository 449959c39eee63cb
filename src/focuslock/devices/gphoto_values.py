"""What a body's widgets and summary say, read as numbers: f-numbers, shutter speeds, a
summary's fields, a PTP event that means the card is full, and a typed value matched
to the body's own choices."""

from __future__ import annotations

import re

__all__ = ["is_number", "is_store_full", "match_choice", "parse_f_number", "parse_float", "parse_int", "parse_shutter",
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
