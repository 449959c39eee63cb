"""The chrome every focuslock report page shares (``focuslock report``'s session page,
``focuslock hub report``'s studio day): one self-contained HTML page with no script and
no network — its Content-Security-Policy allows only its own inline styles and ``data:``
pictures — the verdicts' colours and badges, numbers formatted from numbers, and JPEGs
inlined as data URIs.

Every text a page takes from a log or the hub is untrusted: callers escape it with
:func:`html.escape` (this module escapes what it is given: the title, a badge's word).
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable

from focuslock.session.verdict import ShotOutcome

__all__ = ["BASE_CSS", "CONTENT_SECURITY_POLICY", "VERDICT_COLOURS", "badge", "checksum_html", "files_html", "fixed",
           "jpeg_data_uri", "report_page"]

VERDICT_COLOURS: dict[str, str] = {ShotOutcome.PASS: "#2e9d4a", ShotOutcome.SOFT: "#d23c32", ShotOutcome.DRIFT: "#d9a400",
                                   ShotOutcome.UNCERTAIN: "#7a7f87"}
_OTHER_COLOUR = "#444"
# The page needs no script, no network: only its <style>, style attributes and data: pictures.
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
                           "form-action 'none'")
BASE_CSS = """body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
.badge { color: #fff; padding: 2px 8px; border-radius: 4px; font-weight: 600; font-size: 13px; }
table { border-collapse: collapse; }
.shots td { border-top: 1px solid #ddd; padding: 8px; vertical-align: top; font-size: 13px; }
.shots th { text-align: left; padding: 6px 8px; border-bottom: 2px solid #aaa; }
.reason { margin: 4px 0; max-width: 320px; }
.hash, .time { color: #888; font-size: 11px; }
.missing { color: #888; font-style: italic; width: 240px; }
"""


def report_page(title: str, body: str, css: str = "") -> str:
    """A whole page: ``title`` (escaped here), the shared head and style plus ``css``, and
    ``body`` (HTML the caller built, every untrusted text in it already escaped)."""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CONTENT_SECURITY_POLICY)}">\n'
            '<meta name="generator" content="focuslock">\n'
            f"<title>{html.escape(title)}</title>\n<style>\n{BASE_CSS}{css}</style></head>\n<body>\n{body}\n</body></html>\n")


def badge(verdict: str, text: str | None = None) -> str:
    """A verdict's coloured badge saying ``text`` (default: the verdict's word, upper case);
    a word that is no verdict gets a neutral colour."""
    colour = VERDICT_COLOURS.get(verdict, _OTHER_COLOUR)
    return f'<span class="badge" style="background:{colour}">{html.escape(verdict.upper() if text is None else text)}</span>'


def fixed(value: float | None, digits: int) -> str:
    """A number with ``digits`` decimals; empty for None or a value that is not finite."""
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def jpeg_data_uri(data: bytes) -> str:
    """JPEG bytes as a ``data:`` URI an ``<img src>`` takes (the page's policy allows no other)."""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def checksum_html(sha256: str) -> str:
    """A file's checksum as a row shows it: its first 12 digits, or that it has none
    (a bare "…" would read as a checksum cut short)."""
    return f"{html.escape(sha256[:12])}…" if sha256 else "no checksum"


def files_html(files: Iterable[tuple[str, str]]) -> str:
    """A shot's files, (path, SHA-256) pairs, one a line with the checksum's start."""
    return "<br>".join(f'{html.escape(path)} <span class="hash">{checksum_html(sha256)}</span>' for path, sha256 in files)
