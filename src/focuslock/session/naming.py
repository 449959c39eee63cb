"""File names from tokens, and the product's code read from a card held before the lens.

A studio names each file after the product: ``{session}_{sku}_{seq:04d}`` gives
``bottles_4006381333931_0042.JPG``. The SKU comes from a barcode (EAN/UPC, Code 128, …)
or QR code on a card held in front of the lens before the product's shots, read by
OpenCV's own detectors on a live frame; the window shows what it read for the user to
confirm before it names anything.

Tokens: ``session``, ``sku``, ``seq`` (the shot's number in the session; a format spec
such as ``{seq:04d}`` pads it), ``date`` (YYYYMMDD), ``time`` (HHMMSS), ``verdict``,
``camera``, ``original`` (the name the camera gave, without its extension). A name is
made safe for every file system (:func:`focuslock.io.files.sanitise_file_name`) and
keeps the original extension; saving goes through ``save_new_file``, which never
replaces a file (a taken name gets ``-2``, ``-3``, …): never two files with one name.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.io.files import MAX_NAME_BYTES, claim_name_for, sanitise_file_name

__all__ = ["DEFAULT_PATTERN", "NamePattern", "NamingError", "ProductCode", "name_shot", "read_product_code"]

DEFAULT_PATTERN = "{session}_{sku}_{seq:04d}"
TOKENS = ("session", "sku", "seq", "date", "time", "verdict", "camera", "original")
# Width (px) the frame is reduced to before looking for a code: a card held before the
# lens fills a good part of the frame, and the detectors cost grows with the pixels.
_SEARCH_WIDTH_PX = 1280
# {seq}'s format: zero-padding to a width of at most two digits ({seq:04d}); a width of
# 1,500,000,000 would make a name of gigabytes.
_SEQ_FORMAT = re.compile(r"0?\d{0,2}d?")


class NamingError(FocuslockError, ValueError):
    """A naming pattern that cannot make names, in one sentence."""


class NamePattern:
    """A file-name pattern of tokens (see the module's text)."""

    def __init__(self, pattern: str = DEFAULT_PATTERN) -> None:
        self.pattern = pattern
        fields = []
        try:
            parsed = list(string.Formatter().parse(pattern))
        except ValueError as error:
            raise NamingError(f"The naming pattern {pattern!r} has an unmatched brace ({error}).") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in TOKENS:
                raise NamingError(f"The naming pattern {pattern!r} uses {{{name}}}; the tokens are "
                                  + ", ".join(f"{{{t}}}" for t in TOKENS) + ".")
            if conversion or (spec and name != "seq"):
                raise NamingError(f"Only {{seq}} takes a format in a naming pattern (such as {{seq:04d}}), not {{{name}}}.")
            if spec and not _SEQ_FORMAT.fullmatch(spec):
                raise NamingError(f"The naming pattern {pattern!r} formats {{seq}} as {spec!r}; give it a width of at "
                                  "most two digits, such as {seq:04d}.")
            fields.append(name)
        if "seq" not in fields and "original" not in fields and "time" not in fields:
            # Not required for uniqueness (the save numbers taken names), but a pattern
            # that names every shot alike is almost always a mistake.
            raise NamingError(f"The naming pattern {pattern!r} would give every shot the same name; "
                              "add {seq} (the shot's number) or {original}.")
        self.fields = tuple(fields)
        try:
            self.render(session="s", sequence=1, when=datetime(2000, 1, 1), extension=".jpg")
        except (ValueError, TypeError) as error:
            raise NamingError(f"The naming pattern {pattern!r} cannot make a name ({error}).") from None

    def render(self, *, session: str, sequence: int, when: datetime, extension: str, sku: str | None = None,
               verdict: str | None = None, camera: str | None = None, original: str | None = None) -> str:
        """The file name for one shot; ``extension`` (".JPG", ".CR3") is kept as given."""
        values = {"session": session, "sku": sku or "no-sku", "seq": int(sequence), "date": when.strftime("%Y%m%d"),
                  "time": when.strftime("%H%M%S"), "verdict": verdict or "unchecked", "camera": camera or "camera",
                  "original": original or "shot"}
        # Each text value is made safe on its own: a slash is a character of the code, not
        # a folder (A/123 and B/123 stay two names), and nothing can add a folder.
        safe = {k: (v if isinstance(v, int) else
                    sanitise_file_name(re.sub(r"[/\\.]", "_", str(v)), fallback="_"))
                for k, v in values.items()}
        # The text values share the room a name has, so that a long SKU never cuts {seq}
        # (or what follows it) off the end of the name.
        texts = [name for name in self.fields if not isinstance(values[name], int)]
        if texts:
            rest = self.pattern.format(**{k: ("" if k in texts else v) for k, v in safe.items()})
            share = max(1, (MAX_NAME_BYTES - len((rest + extension).encode())) // len(texts))
            safe.update({k: str(safe[k]).encode()[:share].decode(errors="ignore") or "_" for k in set(texts)})
        stem = self.pattern.format(**safe)
        return sanitise_file_name(stem + extension, fallback="shot")


@dataclass(frozen=True)
class ProductCode:
    """What a card showed: the code's text, its kind ("QR", "EAN_13", …) and where it was
    (the corners in the frame's pixels), for the window to show for confirmation."""

    text: str
    kind: str
    corners_px: tuple[tuple[float, float], ...]


def read_product_code(bgr: np.ndarray) -> ProductCode | None:
    """The first QR code or barcode in ``bgr`` (BGR or grey), or None when there is none
    or it cannot be decoded. Never guesses: a code found but not decoded is None."""
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    height, width = bgr.shape[:2]
    scale = min(1.0, _SEARCH_WIDTH_PX / width)
    image = bgr if scale == 1.0 else cv2.resize(bgr, (int(round(width * scale)), int(round(height * scale))),
                                                interpolation=cv2.INTER_AREA)
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    if text:
        return ProductCode(text, "QR", _corners(points, scale))
    found, texts, kinds, points = cv2.barcode.BarcodeDetector().detectAndDecodeWithType(image)
    if found and points is not None:
        for text, kind, corners in zip(texts, kinds, points, strict=False):
            if text:
                return ProductCode(text, str(kind), _corners(corners, scale))
    return None


def _corners(points, scale: float) -> tuple[tuple[float, float], ...]:
    if points is None:
        return ()
    array = np.asarray(points, np.float64).reshape(-1, 2) / scale
    return tuple((float(x), float(y)) for x, y in array)


def name_shot(path: Path, name: str) -> Path:
    """Give the shot at ``path`` the name ``name`` in its own folder, never replacing a
    file: a taken name gets ``-2``, ``-3``, … (:func:`~focuslock.io.files.claim_name_for`).
    Returns the new path."""
    path = Path(path)
    if path.name == name:
        return path
    claimed = claim_name_for(path, path.parent, name)
    path.unlink(missing_ok=True)  # the old name of a hard link (a rename left none)
    return claimed
