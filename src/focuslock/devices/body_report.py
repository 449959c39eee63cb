"""What a body (or any source) can do for focus, and why not: the one place that decides.

For live view, focus drive, live-view zoom and capture in live view, a
:class:`BodyReport` says *works*, *does not work* or *unknown*, and, when it is not
*works*, why in one plain sentence: the kind of source (a video cannot drive focus), the
widget libgphoto2 lacks for this body, what the body reports (Canon's ``focusmode`` reading
``Manual`` with the lens switch at MF), what happened when it was tried (live view
refused), or a limit its profile knows (``[[limits]]`` in ``drivers/*.toml``). Each answer
says what it rests on (:class:`Basis`), so that a guess never reads as a reading.

The facts come from the source (:class:`BodyFacts`: a tethered body's widgets read through
:mod:`.gphoto_widgets`, what its live view, drive and captures did so far) and its
:class:`~focuslock.devices.base.Capabilities`; :func:`report_body` decides from them alone.
The camera's own AF point or zoom frame goes with the report where the body says where it
is (:class:`CameraMark`), never where it would only be guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Protocol, runtime_checkable

from focuslock.devices.base import Camera, CameraError, Capabilities
from focuslock.devices.profile_limits import Ability, Answer
from focuslock.devices.profiles import Profile

__all__ = ["Ability", "AbilityReport", "Answer", "Attempt", "Basis", "BodyFacts", "BodyReport", "CameraMark", "MarkKind",
           "ReportsBody", "SourceKind", "body_report", "report_body", "try_live_view"]

# Focus-drive widgets libgphoto2 names for some family (see drivers/*.toml).
DRIVE_WIDGETS = ("manualfocusdrive", "manualfocus")


class SourceKind(Enum):
    """What kind of source it is (a body, the bench, a recording)."""

    TETHERED = "tethered body"
    SIMULATOR = "simulated bench"
    VIDEO_FILE = "video file"
    CAPTURE_CARD = "capture card"
    FOLDER = "folder of pictures"
    OTHER = "source"


class Basis(Enum):
    """What an answer rests on."""

    SOURCE = "the kind of source"
    READ = "read from the body"
    TRIED = "tried"
    PROFILE = "the profile's known limit"


class MarkKind(Enum):
    """Which of the camera's own frames: its AF point or its zoom frame."""

    AF = "camera AF"
    ZOOM = "camera zoom"


@dataclass(frozen=True)
class CameraMark:
    """The camera's own AF point or zoom frame, where the body says it is: ``box_px``
    (x, y, w, h) in unzoomed live-view pixels."""

    kind: MarkKind
    box_px: tuple[int, int, int, int]


@dataclass(frozen=True)
class Attempt:
    """What happened when focuslock last did it: not tried, worked, or refused (``said``:
    the refusal, one sentence)."""

    tried: bool = False
    worked: bool = False
    said: str = ""


NOT_TRIED = Attempt()


@dataclass(frozen=True)
class BodyFacts:
    """What a source knows of itself. ``widgets``: a tethered body's widgets as it reports
    them (name → value; None: libgphoto2 has no such widget for it)."""

    kind: SourceKind
    model: str = ""
    profile: Profile | None = None
    widgets: Mapping[str, str | None] = field(default_factory=dict)
    live_view: Attempt = NOT_TRIED
    focus_drive: Attempt = NOT_TRIED
    capture_in_live_view: Attempt = NOT_TRIED
    marks: tuple[CameraMark, ...] = ()
    # Why the camera's own AF point or zoom frame is not drawn (empty when one is).
    marks_note: str = ""
    # What the source holds, a sentence a line (a folder: its files, those it cannot read).
    found: tuple[str, ...] = ()


@runtime_checkable
class ReportsBody(Protocol):
    """A source that tells its own facts (every source of focuslock does)."""

    def body_facts(self) -> BodyFacts: ...


@dataclass(frozen=True)
class AbilityReport:
    """One ability: the answer, why (empty when it simply works), and what that rests on
    (``source``: where a profile's limit comes from)."""

    ability: Ability
    answer: Answer
    reason: str
    basis: Basis
    source: str = ""

    def sentence(self) -> str:
        head = f"{self.ability.words}: {self.answer.value}"
        return f"{head} — {self.reason}" if self.reason else head

    def to_json(self) -> dict:
        return {"answer": self.answer.value, "reason": self.reason or None, "basis": self.basis.value,
                **({"source": self.source} if self.source else {})}


@dataclass(frozen=True)
class BodyReport:
    """Every ability of one body or source, and its own AF point or zoom frame."""

    name: str
    kind: SourceKind
    profile: str | None
    abilities: tuple[AbilityReport, ...]
    marks: tuple[CameraMark, ...] = ()
    marks_note: str = ""
    found: tuple[str, ...] = ()

    def of(self, ability: Ability) -> AbilityReport:
        return next(a for a in self.abilities if a.ability is ability)

    def works(self, ability: Ability) -> bool:
        return self.of(ability).answer is Answer.WORKS

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind.value, "profile": self.profile,
                "abilities": {a.ability.value: a.to_json() for a in self.abilities},
                "camera_frames": [{"kind": m.kind.value, "box_px": list(m.box_px)} for m in self.marks],
                "camera_frames_note": self.marks_note or None, "found": list(self.found)}

    def lines(self) -> list[str]:
        """The report in words: what the source holds, a line an ability, then the camera's own frames."""
        lines = [*self.found, *(a.sentence() for a in self.abilities)]
        for mark in self.marks:
            x, y, w, h = mark.box_px
            lines.append(f"{mark.kind.value} frame: {w}×{h} px at ({x}, {y}) in live view")
        if self.marks_note:
            lines.append(f"camera's own AF point or zoom frame: {self.marks_note}")
        return lines


def body_report(camera: Camera, live_view: Attempt = NOT_TRIED) -> BodyReport:
    """The report of ``camera`` from its capabilities and its own facts (on the thread
    that owns the camera: a tethered body's widgets are read). ``live_view``: what asking
    it for frames gave (:func:`try_live_view`), where the source itself has not said."""
    facts = camera.body_facts() if isinstance(camera, ReportsBody) else BodyFacts(SourceKind.OTHER)
    if live_view.tried and not facts.live_view.tried:
        facts = replace(facts, live_view=live_view)
    return report_body(camera.name, camera.capabilities, facts)


def try_live_view(camera: Camera, frames: int = 3) -> Attempt:
    """Open ``camera`` and ask it for up to ``frames`` live-view frames until one comes:
    worked, or refused with the last sentence it gave (an error opening it is raised)."""
    camera.open()
    said = ""
    for _ in range(frames):
        try:
            camera.read_frame()
            return Attempt(True, True)
        except CameraError as error:
            said = error.user_message
    return Attempt(True, False, said)


# What a source that is not a body is, and why it cannot reach the lens.
_OWN_WORDS = {
    SourceKind.VIDEO_FILE: ("A video file", "it shows what was recorded"),
    SourceKind.CAPTURE_CARD: ("A capture card", "it only receives the picture, not the camera behind it"),
    SourceKind.FOLDER: ("A folder of pictures", "it shows what was taken"),
}


def report_body(name: str, capabilities: Capabilities, facts: BodyFacts) -> BodyReport:
    """Decide every ability from ``capabilities`` and ``facts`` (see the module)."""
    abilities: tuple[AbilityReport, ...]
    if facts.kind is SourceKind.TETHERED:
        live = _tethered_live_view(facts)
        abilities = (live, _tethered_drive(facts, live), _tethered_zoom(capabilities, facts, live),
                     _tethered_capture(capabilities, facts, live))
    else:
        abilities = _source_abilities(capabilities, facts)
    profile = facts.profile.key if facts.profile is not None else None
    return BodyReport(name, facts.kind, profile, abilities, facts.marks, facts.marks_note, facts.found)


def _source_abilities(capabilities: Capabilities, facts: BodyFacts) -> tuple[AbilityReport, ...]:
    """A source that is not a tethered body: its kind and capabilities say it all."""
    own = _OWN_WORDS.get(facts.kind)
    source = Basis.SOURCE

    def answer(ability: Ability, offered: bool, why_not: str) -> AbilityReport:
        if offered:
            return AbilityReport(ability, Answer.WORKS, "", source)
        return AbilityReport(ability, Answer.DOES_NOT_WORK, why_not, source)

    lived = _tried(Ability.LIVE_VIEW, facts.live_view)
    if own is not None:
        what, why = own
        drive_why = f"{what} cannot drive focus: {why}. Rack by hand, or tether the body (--source gphoto2)."
        zoom_why = f"{what} has no live-view zoom: {why}. The loupe (M) magnifies the picture instead."
    else:
        drive_why = "This source offers no focus drive; rack by hand."
        zoom_why = "This source offers no live-view zoom; the loupe (M) magnifies the picture instead."
    capture = answer(Ability.CAPTURE_IN_LIVE_VIEW, capabilities.capture, "This source cannot capture.")
    if capabilities.capture and own:
        capture = AbilityReport(Ability.CAPTURE_IN_LIVE_VIEW, Answer.WORKS, "It saves the frame shown as a PNG.", source)
    live = lived if lived is not None and lived.answer is not Answer.WORKS else (
        answer(Ability.LIVE_VIEW, capabilities.live_view, "This source gives no live view."))
    if live.answer is Answer.DOES_NOT_WORK and capture.answer is Answer.WORKS:
        capture = AbilityReport(Ability.CAPTURE_IN_LIVE_VIEW, Answer.DOES_NOT_WORK,
                                "It gives no picture, so there is none to capture.", live.basis)
    return (live,
            answer(Ability.FOCUS_DRIVE, capabilities.focus_drive, drive_why),
            answer(Ability.LIVE_VIEW_ZOOM, bool(capabilities.live_view_zooms), zoom_why),
            capture)


def _limit(ability: Ability, facts: BodyFacts) -> AbilityReport | None:
    """The first of the profile's known limits on ``ability`` that holds for this body."""
    profile = facts.profile
    if profile is None:
        return None
    for limit in profile.limits:
        if limit.ability is not ability or not limit.fits_model(facts.model):
            continue
        holds = limit.holds(facts.widgets)
        if holds:
            basis = Basis.READ if limit.widget else Basis.PROFILE
            return AbilityReport(ability, limit.answer, limit.reason, basis, limit.source)
    return None


def _tried(ability: Ability, attempt: Attempt) -> AbilityReport | None:
    if not attempt.tried:
        return None
    if attempt.worked:
        return AbilityReport(ability, Answer.WORKS, "", Basis.TRIED)
    return AbilityReport(ability, Answer.DOES_NOT_WORK, attempt.said, Basis.TRIED)


def _tethered_live_view(facts: BodyFacts) -> AbilityReport:
    ability = Ability.LIVE_VIEW
    tried = _tried(ability, facts.live_view)
    if tried is not None and tried.answer is not Answer.WORKS:
        return tried
    return _limit(ability, facts) or tried or AbilityReport(
        ability, Answer.UNKNOWN, "Not tried yet: the body is asked for live view when a window or watch starts.", Basis.TRIED)


def _tethered_drive(facts: BodyFacts, live: AbilityReport) -> AbilityReport:
    ability, profile, widgets = Ability.FOCUS_DRIVE, facts.profile, facts.widgets
    model = facts.model or "this body"
    drive = profile.focus_drive if profile is not None else None
    if drive is None:
        offered = next((w for w in DRIVE_WIDGETS if widgets.get(w) is not None), None)
        family = profile.name if profile is not None else "no"
        if offered:
            return AbilityReport(ability, Answer.DOES_NOT_WORK,
                                 f"libgphoto2 offers '{offered}' on {model}, but the {family} profile does not say how its "
                                 "steps go; add a profile for this family (drivers/README.md).", Basis.PROFILE)
        return AbilityReport(ability, Answer.DOES_NOT_WORK,
                             f"libgphoto2 offers no focus-drive widget for {model}: focus by hand or on a rail.", Basis.READ)
    if widgets.get(drive.widget) is None:
        return AbilityReport(ability, Answer.DOES_NOT_WORK,
                             f"libgphoto2 has no '{drive.widget}' widget for {model}, so focus cannot be driven from the "
                             "computer: focus by hand or on a rail.", Basis.READ)
    limited = _limit(ability, facts)
    if limited is not None:
        return limited
    if live.answer is Answer.DOES_NOT_WORK:
        return AbilityReport(ability, Answer.DOES_NOT_WORK,
                             "The focus drive works only in live view, and live view does not work on this body.", live.basis)
    tried = _tried(ability, facts.focus_drive)
    if tried is not None:
        return tried
    unread = [limit.widget for limit in (profile.limits if profile else ()) if limit.ability is ability
              and limit.widget and limit.holds(widgets) is None]
    if unread:
        return AbilityReport(ability, Answer.UNKNOWN,
                             f"The body does not report '{unread[0]}', so a lens switched to MF cannot be seen: if the "
                             "drive does not move, set the lens to AF.", Basis.READ)
    if live.answer is Answer.UNKNOWN:
        return AbilityReport(ability, Answer.UNKNOWN, "The drive's widget is there; it moves the lens only in live view, "
                                                      "not tried yet.", Basis.READ)
    return AbilityReport(ability, Answer.WORKS, "", Basis.READ)


def _tethered_zoom(capabilities: Capabilities, facts: BodyFacts, live: AbilityReport) -> AbilityReport:
    ability, profile = Ability.LIVE_VIEW_ZOOM, facts.profile
    model = facts.model or "this body"
    widget = profile.zoom_widget if profile is not None else None
    family = profile.name if profile is not None else "no"
    if widget is None:
        return AbilityReport(ability, Answer.DOES_NOT_WORK, f"The {family} profile knows no live-view zoom widget for this "
                                                            "family; the loupe (M) magnifies the picture instead.", Basis.PROFILE)
    if facts.widgets.get(widget) is None:
        return AbilityReport(ability, Answer.DOES_NOT_WORK, f"libgphoto2 has no '{widget}' widget for {model}; the loupe (M) "
                                                            "magnifies the picture instead.", Basis.READ)
    if not capabilities.live_view_zooms and live.answer is not Answer.DOES_NOT_WORK:
        return AbilityReport(ability, Answer.DOES_NOT_WORK, f"The {family} profile lists no zoom values for '{widget}', so "
                                                            "focuslock does not set it; the loupe (M) magnifies instead.",
                             Basis.PROFILE)
    if live.answer is Answer.DOES_NOT_WORK:
        return AbilityReport(ability, Answer.DOES_NOT_WORK, "Live view does not work on this body, so there is none to zoom.",
                             live.basis)
    return _limit(ability, facts) or AbilityReport(ability, live.answer if live.answer is Answer.UNKNOWN else Answer.WORKS,
                                                   live.reason if live.answer is Answer.UNKNOWN else "", Basis.READ)


def _tethered_capture(capabilities: Capabilities, facts: BodyFacts, live: AbilityReport) -> AbilityReport:
    ability = Ability.CAPTURE_IN_LIVE_VIEW
    if not capabilities.capture:
        return AbilityReport(ability, Answer.DOES_NOT_WORK, "This body cannot capture from the computer.", Basis.READ)
    tried = _tried(ability, facts.capture_in_live_view)
    if tried is not None and tried.answer is Answer.DOES_NOT_WORK:
        return tried
    if live.answer is Answer.DOES_NOT_WORK:
        return AbilityReport(ability, Answer.DOES_NOT_WORK,
                             "Live view does not work on this body, so there is none to capture in (captures are taken "
                             "without it).", live.basis)
    return _limit(ability, facts) or tried or AbilityReport(
        ability, Answer.UNKNOWN, "Not tried yet: the first capture in live view tells (focuslock never fires the shutter "
                                 "unasked).", Basis.TRIED)
