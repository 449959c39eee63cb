r"""XMP sidecars: the verdict as a rating and a colour label that Lightroom, Capture One
and darktable show, and the scores in focuslock's own namespace.

Which file each program reads:

* Lightroom Classic and Capture One: ``NAME.xmp`` beside the picture (the extension
  replaced) — for a RAW+JPEG pair, one sidecar for both.
* darktable (and digiKam): ``NAME.EXT.xmp`` (the extension kept), one per file.

So by default both are written (``style="both"``); ``"lightroom"`` or ``"darktable"``
write one kind. What goes in: ``xmp:Rating`` (0–5; −1 is Lightroom's "rejected"),
``xmp:Label`` (the label's name: Lightroom and Capture One match it by name; darktable
reads it too) and darktable's ``darktable:colorlabels``, plus ``focuslock:*`` (verdict,
reason, each feature's blur, drift).

The exposure note (:mod:`focuslock.focus.exposure`: a stop or more from the reference, or
highlights clipped) never touches the rating or the label, which are the focus verdict's.
It goes where both programs show and filter it: **keywords** — ``dc:subject`` (the flat
list: Lightroom's Keyword List and Library filter, darktable's tags and collections) and
``lr:hierarchicalSubject`` under ``focuslock|`` (Lightroom's keyword hierarchy, darktable's
tag tree): "exposure brighter than reference", "exposure darker than reference",
"highlights clipped beyond reference". The sentence itself and the signed stops are in
``focuslock:Exposure`` and ``focuslock:ExposureStops``. Keywords a person gave are kept;
ours are replaced at each check (a shot checked again with a good exposure loses them).
Lightroom reads a changed sidecar of a picture already in its catalog only through
*Metadata ▸ Read Metadata from Files*; darktable on *look for updated XMP files*.

An existing sidecar is merged, never clobbered: it is parsed, only our properties are
set, everything else (darktable's edit history, keywords, a Lightroom develop setting)
is kept with its namespaces' prefixes, and the file is replaced atomically. A rating or
label a person set afterwards (one that differs from the one focuslock last wrote) is
left alone. A sidecar that cannot be parsed is not touched; the caller is told in one
sentence.

Every text written (verdict, reason, SKU, session name, feature lines, keywords) goes
through :func:`xml_text`, because XML 1.0 forbids most control characters and every
expat-based reader (exiftool's, Python's, darktable's exiv2) rejects a file holding one:
a GS1 barcode's group separator (``\x1d``) in a SKU would otherwise make the sidecar
unreadable, and focuslock itself could no longer update it. A C0 control is written as
its visible Unicode *control picture* (U+2400 + its code): the group separator as ``␝``
(U+241D), so "(01)04006381333931␝(21)ABC" still shows where the fields part; tab, line
feed and carriage return, which XML allows, stay; a lone surrogate, U+FFFE and U+FFFF
become U+FFFD. A sidecar an older focuslock wrote with such a character is read with the
same replacement, so it is repaired at the next check instead of left unreadable.
"""

from __future__ import annotations

import io
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.focus.exposure import EXPOSURE_KEYWORDS, ExposureNote
from focuslock.io.files import SaveError, replace_file_atomically
from focuslock.session.own_files import SessionFileError, file_kind, open_own_file
from focuslock.session.verdict import ShotOutcome

__all__ = ["FOCUSLOCK_NS", "KEYWORD_PARENT", "RatingPolicy", "SidecarError", "XmpFields", "sidecar_paths", "write_sidecar",
           "xml_text"]

FOCUSLOCK_NS = "http://ns.focuslock.org/xmp/1.0/"
_NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "darktable": "http://darktable.sf.net/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "focuslock": FOCUSLOCK_NS,
}
_RDF = f"{{{_NS['rdf']}}}"
_XMP = f"{{{_NS['xmp']}}}"
_DT = f"{{{_NS['darktable']}}}"
_FL = f"{{{FOCUSLOCK_NS}}}"
_DC = f"{{{_NS['dc']}}}"
_LR = f"{{{_NS['lr']}}}"
# Our keywords' parent in the hierarchy (lr:hierarchicalSubject).
KEYWORD_PARENT = "focuslock"
# darktable numbers its five colour labels.
_DARKTABLE_LABELS = {"Red": 0, "Yellow": 1, "Green": 2, "Blue": 3, "Purple": 4}
_LABELS = tuple(_DARKTABLE_LABELS)
_PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"  # the XMP packet's fixed id (XMP spec, part 1)
# What XML 1.0 forbids in a document (its production Char, minus the C0 controls it allows).
_C0_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_OTHER_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")
_C0_FORBIDDEN_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# An existing sidecar is read up to this size (darktable's longest edit histories are a
# few hundred KB) and parsed down to this depth (XMP nests about ten levels).
_MAX_SIDECAR_BYTES = 16 << 20
_MAX_SIDECAR_DEPTH = 100


def xml_text(value: str) -> str:
    r"""``value`` holding only characters XML 1.0 allows: each forbidden C0 control as its
    visible control picture (the GS1 group separator ``\x1d`` as ``␝``), a lone
    surrogate, U+FFFE and U+FFFF as U+FFFD (see the module's text)."""
    value = _C0_FORBIDDEN.sub(lambda m: chr(0x2400 + ord(m.group())), value)
    return _OTHER_FORBIDDEN.sub("\ufffd", value)


class SidecarError(FocuslockError):
    """A sidecar that could not be written or merged; ``str()`` is one sentence."""


@dataclass(frozen=True)
class RatingPolicy:
    """Stars and colour label for each overall verdict (configurable in a recipe)."""

    ratings: tuple[tuple[str, int], ...] = ((ShotOutcome.PASS, 5), (ShotOutcome.UNCERTAIN, 3), (ShotOutcome.DRIFT, 2),
                                          (ShotOutcome.SOFT, 1))
    labels: tuple[tuple[str, str], ...] = ((ShotOutcome.PASS, "Green"), (ShotOutcome.UNCERTAIN, "Blue"),
                                           (ShotOutcome.DRIFT, "Yellow"), (ShotOutcome.SOFT, "Red"))

    def __post_init__(self) -> None:
        for verdict, stars in self.ratings:
            # A boolean is not a number of stars (true would write a rating of 1).
            if isinstance(stars, bool) or not isinstance(stars, int) or not -1 <= stars <= 5:
                raise ValueError(f"The rating for {verdict} must be a whole number from -1 (rejected) to 5, got {stars!r}.")
        for verdict, label in self.labels:
            if not isinstance(label, str) or (label not in _LABELS and label != ""):
                raise ValueError(f"The label for {verdict} must be one of {', '.join(_LABELS)} (or empty), got {label!r}.")

    @classmethod
    def from_mapping(cls, data: dict) -> RatingPolicy:
        """From a recipe's ``[xmp]`` table: ``rating = {pass = 5, …}``, ``label = {pass = "Green", …}``;
        ValueError in one sentence for anything else (a verdict misspelt would silently
        keep its default)."""
        default = cls()
        verdicts = [verdict for verdict, _ in default.ratings]
        chosen = {}
        for key in ("rating", "label"):
            table = data.get(key, {})
            if not isinstance(table, dict):
                raise ValueError(f"{key} must be a table of verdict = value ({key} = {{pass = …}}), got {table!r}.")
            unknown = [verdict for verdict in table if verdict not in verdicts]
            if unknown:
                raise ValueError(f"{key} names the verdict {unknown[0]!r}; the verdicts are {', '.join(verdicts)}.")
            chosen[key] = table
        ratings = dict(default.ratings) | chosen["rating"]
        labels = dict(default.labels) | chosen["label"]
        return cls(tuple(ratings.items()), tuple(labels.items()))

    def rating(self, verdict: str) -> int:
        return dict(self.ratings).get(verdict, 0)

    def label(self, verdict: str) -> str:
        return dict(self.labels).get(verdict, "")


@dataclass(frozen=True)
class XmpFields:
    """What focuslock writes for one shot."""

    verdict: str
    reason: str | None
    session: str
    sequence: int
    checked_utc: str
    features: tuple[str, ...] = ()  # one line per feature: "1 sharp, blur 0.4 px (0.14 CoC)"
    worst_coc_share: float | None = None
    drift_px: float | None = None
    sku: str | None = None
    exposure: ExposureNote | None = None  # the features' exposure against the reference


def sidecar_paths(picture: Path, style: str = "both") -> list[Path]:
    """The sidecars of ``picture`` that ``style`` asks for (see the module's text)."""
    picture = Path(picture)
    lightroom = picture.with_suffix(".xmp")
    darktable = picture.with_name(picture.name + ".xmp")
    return {"both": [lightroom, darktable], "lightroom": [lightroom], "darktable": [darktable]}[style]


def write_sidecar(path: Path, fields: XmpFields, policy: RatingPolicy) -> Path:
    """Create or merge the sidecar ``path`` with ``fields``; returns the path."""
    path = Path(path)
    existing = read_sidecar(path)
    try:
        data = merge_sidecar(existing, fields, policy)
    except _TooDeep:
        raise SidecarError(f"The sidecar {path.name} nests its elements more than {_MAX_SIDECAR_DEPTH} deep, which no "
                           "XMP does; it was left as it is (the verdict is in the session's log).") from None
    except ET.ParseError:
        raise SidecarError(f"The sidecar {path.name} is not valid XMP; it was left as it is "
                           "(the verdict is in the session's log).") from None
    try:
        return replace_file_atomically(path, data)
    except SaveError as error:
        raise SidecarError(str(error)) from None


def read_sidecar(path: Path) -> bytes | None:
    """The bytes of the existing sidecar ``path`` (None when there is none), read only
    from a regular file (never through a symbolic link, never blocking on a pipe: see
    :mod:`focuslock.session.own_files`) and only up to :data:`_MAX_SIDECAR_BYTES`. Raises
    :class:`SidecarError` (one sentence) for anything else; the file is left as it is."""
    try:
        fd = open_own_file(path, "sidecar", write=False)
    except FileNotFoundError:
        return None
    except SessionFileError:
        raise SidecarError(f"The sidecar {path.name} is {file_kind(path)}, not a regular file; focuslock did not read or "
                           "write it (the verdict is in the session's log).") from None
    except OSError as error:
        raise SidecarError(f"The sidecar {path.name} cannot be read ({error.strerror or error}); it was left as it is.") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(_MAX_SIDECAR_BYTES + 1)
    except OSError as error:
        raise SidecarError(f"The sidecar {path.name} cannot be read ({error.strerror or error}); it was left as it is.") from None
    if len(data) > _MAX_SIDECAR_BYTES:
        raise SidecarError(f"The sidecar {path.name} is larger than {_MAX_SIDECAR_BYTES >> 20} MB, more than any XMP "
                           "holds; it was left as it is (the verdict is in the session's log).")
    return data


class _TooDeep(ET.ParseError):
    """A sidecar nesting its elements deeper than :data:`_MAX_SIDECAR_DEPTH`."""


def _parse_sidecar(data: bytes) -> ET.Element:
    """``data`` parsed, refused (:class:`_TooDeep`) as soon as an element lies deeper
    than :data:`_MAX_SIDECAR_DEPTH`: ElementTree's indenting and writing recurse once a
    level, so a 7 KB file nested 1000 deep would end in a ``RecursionError``."""
    depth = 0
    root = None
    for event, element in ET.iterparse(io.BytesIO(data), events=("start", "end")):
        if event == "start":
            depth += 1
            if depth > _MAX_SIDECAR_DEPTH:
                raise _TooDeep("nested too deep")
            if root is None:
                root = element
        else:
            depth -= 1
    if root is None:
        raise ET.ParseError("no element")
    return root


def merge_sidecar(existing: bytes | None, fields: XmpFields, policy: RatingPolicy) -> bytes:
    """The sidecar's new bytes: ``existing`` (None for a new one) with our properties set."""
    prefixes = dict(_NS)
    if existing:
        try:
            root = _parse_sidecar(existing)
        except _TooDeep:
            raise
        except ET.ParseError:
            # An older focuslock wrote a control character raw (a SKU's group separator):
            # read it as xml_text would have written it. In UTF-8, bytes below 0x20 are
            # always those characters. Still not XML: ParseError, the file left alone.
            existing = _C0_FORBIDDEN_BYTES.sub(lambda m: chr(0x2400 + m.group()[0]).encode("utf-8"), existing)
            root = _parse_sidecar(existing)
        prefixes |= _declared_prefixes(existing)
    else:
        root = ET.Element("{adobe:ns:meta/}xmpmeta")
    for prefix, uri in prefixes.items():
        ET.register_namespace(prefix, uri)
    rdf = root if root.tag == _RDF + "RDF" else root.find(_RDF + "RDF")
    if rdf is None:
        rdf = ET.SubElement(root, _RDF + "RDF")
    descriptions = rdf.findall(_RDF + "Description")
    if not descriptions:
        descriptions = [ET.SubElement(rdf, _RDF + "Description", {_RDF + "about": ""})]
    ours = descriptions[0]

    rating, label = policy.rating(fields.verdict), policy.label(fields.verdict)
    written_rating = _get(descriptions, _FL + "Rating")
    written_label = _get(descriptions, _FL + "Label")
    present_rating = _get(descriptions, _XMP + "Rating")
    present_label = _get(descriptions, _XMP + "Label")
    # Rating and label: ours when absent or when what is there is what we wrote last.
    if present_rating is None or present_rating == written_rating:
        _set(descriptions, ours, _XMP + "Rating", str(rating))
        _set(descriptions, ours, _FL + "Rating", str(rating))
    if present_label is None or present_label == written_label:
        _set(descriptions, ours, _XMP + "Label", label)
    # darktable keeps its own list of labels: replaced only when empty or ours.
    present_darktable = _darktable_labels(descriptions)
    if not present_darktable or present_darktable == _darktable_number(written_label):
        _set_darktable_label(descriptions, ours, label)
    if (present_label is None or present_label == written_label) or not present_darktable:
        _set(descriptions, ours, _FL + "Label", label)
    _set(descriptions, ours, _FL + "Verdict", fields.verdict)
    _set(descriptions, ours, _FL + "Reason", fields.reason or "")
    _set(descriptions, ours, _FL + "Session", fields.session)
    _set(descriptions, ours, _FL + "Sequence", str(fields.sequence))
    _set(descriptions, ours, _FL + "CheckedUTC", fields.checked_utc)
    _set(descriptions, ours, _FL + "WorstBlurCoC", _number(fields.worst_coc_share, 3))
    _set(descriptions, ours, _FL + "DriftPx", _number(fields.drift_px, 1))
    _set(descriptions, ours, _FL + "SKU", fields.sku or "")
    exposure = fields.exposure
    _set(descriptions, ours, _FL + "Exposure", (exposure.text() if exposure is not None else None) or "")
    stops = exposure.stops if exposure is not None else None
    _set(descriptions, ours, _FL + "ExposureStops", "" if stops is None else f"{stops:+.2f}")
    words = exposure.keywords() if exposure is not None else ()
    _set_keywords(descriptions, ours, _DC + "subject", EXPOSURE_KEYWORDS, words)
    _set_keywords(descriptions, ours, _LR + "hierarchicalSubject", tuple(f"{KEYWORD_PARENT}|{k}" for k in EXPOSURE_KEYWORDS),
                  tuple(f"{KEYWORD_PARENT}|{k}" for k in words))
    _remove(descriptions, _FL + "Features")
    features = ET.SubElement(ours, _FL + "Features")
    sequence = ET.SubElement(features, _RDF + "Seq")
    for line in fields.features:
        ET.SubElement(sequence, _RDF + "li").text = xml_text(line)

    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    packet = f'<?xpacket begin="\ufeff" id="{_PACKET_ID}"?>\n{body}\n<?xpacket end="w"?>\n'
    return packet.encode("utf-8")


def _declared_prefixes(data: bytes) -> dict[str, str]:
    """The namespace prefixes the file declares, so that writing it back keeps them
    (``darktable:history``, not ``ns3:history``)."""
    prefixes = {}
    for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
        if prefix and not re.fullmatch(r"ns\d+", prefix):
            prefixes[prefix] = uri
    return prefixes


def _get(descriptions, name: str) -> str | None:
    for description in descriptions:
        if name in description.attrib:
            return description.attrib[name]
        element = description.find(name)
        if element is not None:
            return (element.text or "").strip()
    return None


def _remove(descriptions, name: str) -> None:
    for description in descriptions:
        description.attrib.pop(name, None)
        for element in description.findall(name):
            description.remove(element)


def _set(descriptions, ours, name: str, value: str) -> None:
    _remove(descriptions, name)
    ET.SubElement(ours, name).text = xml_text(value)


def _set_keywords(descriptions, ours, name: str, ours_all: tuple[str, ...], wanted: tuple[str, ...]) -> None:
    """The keyword bag ``name``: the keywords there that are not ours kept in their order,
    ours (any of ``ours_all``) replaced by ``wanted``; left as it is when nothing changes."""
    present = [(li.text or "").strip() for description in descriptions for element in description.findall(name)
               for li in element.iter(_RDF + "li")]
    words = [w for w in present if w not in ours_all] + list(wanted)
    if words == present:
        return
    _remove(descriptions, name)
    if words:
        bag = ET.SubElement(ET.SubElement(ours, name), _RDF + "Bag")
        for word in words:
            ET.SubElement(bag, _RDF + "li").text = xml_text(word)


def _darktable_labels(descriptions) -> list[str]:
    labels = []
    for description in descriptions:
        for element in description.findall(_DT + "colorlabels"):
            labels += [(li.text or "").strip() for li in element.iter(_RDF + "li")]
    return labels


def _darktable_number(label: str | None) -> list[str]:
    return [str(_DARKTABLE_LABELS[label])] if label in _DARKTABLE_LABELS else []


def _set_darktable_label(descriptions, ours, label: str) -> None:
    _remove(descriptions, _DT + "colorlabels")
    if label in _DARKTABLE_LABELS:
        element = ET.SubElement(ours, _DT + "colorlabels")
        ET.SubElement(ET.SubElement(element, _RDF + "Seq"), _RDF + "li").text = str(_DARKTABLE_LABELS[label])


def _number(value: float | None, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
