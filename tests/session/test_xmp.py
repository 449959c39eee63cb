"""XMP sidecars, read back by exiftool (Debian's libimage-exiftool-perl) as Lightroom,
Capture One and darktable would read them."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from focuslock.focus.exposure import KEYWORD_BRIGHTER, KEYWORD_CLIPPED, KEYWORD_DARKER, ExposureNote, FeatureExposure
from focuslock.session.xmp import RatingPolicy, SidecarError, XmpFields, sidecar_paths, write_sidecar

EXIFTOOL = shutil.which("exiftool")
if EXIFTOOL is None:  # a prerequisite of the test command (README), not a reason to skip
    raise RuntimeError("exiftool is needed by these tests: sudo apt install libimage-exiftool-perl (macOS: brew install exiftool)")


def _read(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-G1", "-struct", str(path)], capture_output=True, text=True, check=True).stdout
    [tags] = json.loads(out)
    return tags


def _fields(verdict: str, sequence: int = 7) -> XmpFields:
    reason = None if verdict == "pass" else "feature 1 is soft (1.3× the blur the depth of field allows)"
    return XmpFields(verdict, reason, "studio-a", sequence,
                     "2026-11-22T10:00:00.000+00:00", ("feature 1 soft, blur +8.0 px (1.34 CoC)", "feature 2 sharp"), 1.34, 2.5,
                     "4006381333931")


@pytest.mark.parametrize(("verdict", "stars", "label", "darktable_label"),
                         [("pass", 5, "Green", 2), ("soft", 1, "Red", 0), ("drift", 2, "Yellow", 1), ("uncertain", 3, "Blue", 3)])
def test_exiftool_reads_the_rating_the_label_and_the_scores(tmp_path, verdict, stars, label, darktable_label):
    picture = tmp_path / "IMG_0042.JPG"
    lightroom, darktable = sidecar_paths(picture)
    assert (lightroom.name, darktable.name) == ("IMG_0042.xmp", "IMG_0042.JPG.xmp")
    for path in (lightroom, darktable):
        write_sidecar(path, _fields(verdict), RatingPolicy())
        tags = _read(path)
        assert tags["XMP-xmp:Rating"] == stars
        assert tags["XMP-xmp:Label"] == label
        assert tags["XMP-darktable:Colorlabels"] == [darktable_label]
        assert tags["XMP-focuslock:Verdict"] == verdict
        assert tags["XMP-focuslock:Features"] == ["feature 1 soft, blur +8.0 px (1.34 CoC)", "feature 2 sharp"]
        assert str(tags["XMP-focuslock:Sku"]) == "4006381333931"


_DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="4"
   darktable:xmp_version="5"
   darktable:history_end="2">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>bottle</rdf:li>
     <rdf:li>client/acme</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000000000000000"/>
     <rdf:li darktable:operation="sharpen" darktable:enabled="1" darktable:params="ffff"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_an_existing_sidecar_is_merged_keeping_edits_keywords_and_a_persons_rating(tmp_path):
    path = tmp_path / "IMG_0042.JPG.xmp"
    path.write_text(_DARKTABLE_SIDECAR, encoding="utf-8")
    write_sidecar(path, _fields("soft"), RatingPolicy())
    tags = _read(path)
    # darktable's edit history and the keywords are still there, under their own prefixes.
    assert tags["XMP-dc:Subject"] == ["bottle", "client/acme"]
    assert [step["Operation"] for step in tags["XMP-darktable:History"]] == ["exposure", "sharpen"]
    assert "darktable:history" in path.read_text(encoding="utf-8")
    # The photographer's own 4 stars are kept; the label was free, so it is ours; our scores are added.
    assert tags["XMP-xmp:Rating"] == 4
    assert tags["XMP-xmp:Label"] == "Red"
    assert tags["XMP-focuslock:Verdict"] == "soft"
    # A later check of the same shot replaces what focuslock wrote (label), not what the person set.
    write_sidecar(path, _fields("pass"), RatingPolicy())
    tags = _read(path)
    assert (tags["XMP-xmp:Rating"], tags["XMP-xmp:Label"], tags["XMP-focuslock:Verdict"]) == (4, "Green", "pass")


def test_a_rating_focuslock_wrote_is_updated_and_a_changed_one_kept(tmp_path):
    path = tmp_path / "IMG_1.xmp"
    write_sidecar(path, _fields("soft"), RatingPolicy())
    write_sidecar(path, _fields("pass"), RatingPolicy())
    assert _read(path)["XMP-xmp:Rating"] == 5
    # The person changes it in Lightroom (exiftool stands in for Lightroom's write).
    subprocess.run([EXIFTOOL, "-overwrite_original", "-XMP-xmp:Rating=2", str(path)], check=True, capture_output=True)
    write_sidecar(path, _fields("soft"), RatingPolicy())
    tags = _read(path)
    assert tags["XMP-xmp:Rating"] == 2 and tags["XMP-focuslock:Verdict"] == "soft"


def test_a_configured_policy_and_a_broken_sidecar(tmp_path):
    policy = RatingPolicy.from_mapping({"rating": {"soft": -1}, "label": {"pass": "Purple"}})
    path = tmp_path / "a.xmp"
    write_sidecar(path, _fields("soft"), policy)
    assert _read(path)["XMP-xmp:Rating"] == -1  # Lightroom's "rejected"
    with pytest.raises(ValueError, match="one of Red"):
        RatingPolicy.from_mapping({"label": {"pass": "Teal"}})
    broken = tmp_path / "b.xmp"
    broken.write_text("<x:xmpmeta><rdf:RDF>unfinished", encoding="utf-8")
    with pytest.raises(SidecarError, match="not valid XMP; it was left as it is"):
        write_sidecar(broken, _fields("pass"), RatingPolicy())
    assert broken.read_text(encoding="utf-8") == "<x:xmpmeta><rdf:RDF>unfinished"


def _exposure(stops: float, clipped: float = 0.0) -> ExposureNote:
    return ExposureNote((FeatureExposure(0, stops, clipped, 0.0), FeatureExposure(1, 0.1, 0.0, 0.0)))


def test_the_exposure_note_is_a_keyword_both_programs_filter_on_and_the_rating_stays_focus(tmp_path):
    path = tmp_path / "IMG_0042.JPG.xmp"
    path.write_text(_DARKTABLE_SIDECAR.replace(' xmp:Rating="4"', ""), encoding="utf-8")  # the person's keywords, no rating
    fields = replace(_fields("pass"), exposure=_exposure(1.32, clipped=0.12))
    write_sidecar(path, fields, RatingPolicy())
    tags = _read(path)
    # The rating and label are the focus verdict's (PASS: 5, Green), whatever the light did.
    assert (tags["XMP-xmp:Rating"], tags["XMP-xmp:Label"]) == (5, "Green")
    # Keywords: the person's kept, ours added — flat (dc:subject) and under focuslock| (lr:hierarchicalSubject).
    assert tags["XMP-dc:Subject"] == ["bottle", "client/acme", KEYWORD_BRIGHTER, KEYWORD_CLIPPED]
    assert tags["XMP-lr:HierarchicalSubject"] == [f"focuslock|{KEYWORD_BRIGHTER}", f"focuslock|{KEYWORD_CLIPPED}"]
    assert tags["XMP-focuslock:Exposure"] == ("exposure: feature 1 +1.3 stops brighter than the reference; highlights "
                                              "clipped in feature 1 (12 % of it, 0 % in the reference)")
    assert str(tags["XMP-focuslock:ExposureStops"]) == "+1.32"
    # Checked again in a darker light: ours replaced, the person's kept.
    write_sidecar(path, replace(fields, exposure=_exposure(-1.04)), RatingPolicy())
    tags = _read(path)
    assert tags["XMP-dc:Subject"] == ["bottle", "client/acme", KEYWORD_DARKER]
    assert tags["XMP-lr:HierarchicalSubject"] == [f"focuslock|{KEYWORD_DARKER}"]
    # And with the exposure as the reference's (0.4 stops is no note): ours gone, no empty bag left behind.
    write_sidecar(path, replace(fields, exposure=_exposure(0.4)), RatingPolicy())
    tags = _read(path)
    assert tags["XMP-dc:Subject"] == ["bottle", "client/acme"]
    assert "XMP-lr:HierarchicalSubject" not in tags and tags["XMP-focuslock:Exposure"] == ""
    assert "hierarchicalSubject" not in path.read_text(encoding="utf-8")
