"""Input from other machines is untrusted (issue 28): a GS1 barcode's group separator and
other control characters in a SKU and every text of a sidecar. The sidecar is read back
by expat (the parser under Python's, darktable's exiv2 and most XMP readers) and by
exiftool, as the photo programs would read it, and focuslock updates it again."""

from __future__ import annotations

import json
import subprocess
import xml.parsers.expat
from dataclasses import replace
from pathlib import Path

from focuslock.session.xmp import RatingPolicy, XmpFields, write_sidecar
from tests.session.test_xmp import EXIFTOOL

# A GS1 DataMatrix read: (01) GTIN, group separator, (21) serial; then other C0 controls.
_SKU = "0104006381333931\x1d21ABC\x1d10LOT7\x00\x07\x0b\x1b"
_SKU_SHOWN = "0104006381333931␝21ABC␝10LOT7␀␇␋␛"


def _fields(verdict: str) -> XmpFields:
    return XmpFields(verdict, "feature 1 \x1d soft\x08 \ud800", "studio\x01a", 3, "2026-12-07T10:00:00.000+00:00",
                     ("feature 1 soft\x0c, blur +8.0 px", "feature 2\x1f sharp\ttabbed"), 1.3, 2.5, _SKU)


def _expat_texts(path: Path) -> dict[str, list[str]]:
    """Every element's text as expat reads the file (raises ExpatError when it is not XML)."""
    texts: dict[str, list[str]] = {}
    stack: list[str] = []
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = lambda name, attributes: (stack.append(name), texts.setdefault(name, []).append(""))
    parser.EndElementHandler = lambda name: stack.pop()

    def characters(data: str) -> None:
        texts[stack[-1]][-1] += data

    parser.CharacterDataHandler = characters
    parser.Parse(path.read_bytes(), True)
    return texts


def _exiftool(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-G1", "-struct", str(path)], capture_output=True, text=True, check=True).stdout
    [tags] = json.loads(out)
    return tags


def test_a_sku_with_a_group_separator_and_controls_gives_a_sidecar_every_reader_parses_and_focuslock_updates(tmp_path):
    path = tmp_path / "IMG_0001.xmp"
    write_sidecar(path, _fields("pass"), RatingPolicy())
    texts = _expat_texts(path)
    sku = "http://ns.focuslock.org/xmp/1.0/ SKU"
    assert texts[sku] == [_SKU_SHOWN]  # the separator visible, the fields still apart
    assert texts["http://ns.focuslock.org/xmp/1.0/ Reason"] == ["feature 1 ␝ soft␈ \ufffd"]
    assert texts["http://ns.focuslock.org/xmp/1.0/ Session"] == ["studio␁a"]
    tags = _exiftool(path)
    assert not any(key.endswith(":Warning") or key.endswith(":Error") for key in tags), tags
    assert tags["XMP-focuslock:Sku"] == _SKU_SHOWN and tags["XMP-xmp:Rating"] == 5
    assert tags["XMP-focuslock:Features"] == ["feature 1 soft␌, blur +8.0 px", "feature 2␟ sharp\ttabbed"]

    # focuslock checks the shot again: the sidecar is updated, not refused.
    write_sidecar(path, _fields("soft"), RatingPolicy())
    tags = _exiftool(path)
    assert tags["XMP-focuslock:Verdict"] == "soft" and tags["XMP-xmp:Rating"] == 1
    assert _expat_texts(path)[sku] == [_SKU_SHOWN]


def test_a_sidecar_an_older_focuslock_wrote_with_a_raw_separator_is_repaired_at_the_next_check(tmp_path):
    path = tmp_path / "IMG_0002.JPG.xmp"
    write_sidecar(path, _fields("pass"), RatingPolicy())
    # What focuslock wrote before: the controls raw (expat refuses the file).
    old = path.read_bytes()
    for shown, raw in (("␝", "\x1d"), ("␀", "\x00"), ("␇", "\x07"), ("␁", "\x01")):
        old = old.replace(shown.encode(), raw.encode())
    path.write_bytes(old)
    try:
        _expat_texts(path)
        raise AssertionError("the old sidecar should not parse")
    except xml.parsers.expat.ExpatError:
        pass
    write_sidecar(path, replace(_fields("drift"), sku="0104006381333931\x1d21XYZ"), RatingPolicy())
    assert _expat_texts(path)["http://ns.focuslock.org/xmp/1.0/ SKU"] == ["0104006381333931␝21XYZ"]
    tags = _exiftool(path)
    assert tags["XMP-focuslock:Verdict"] == "drift" and tags["XMP-xmp:Rating"] == 2
