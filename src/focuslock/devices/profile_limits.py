"""A camera family's known limits, as its profile (``drivers/*.toml``, ``[[limits]]``)
states them: which ability (live view, focus drive, live-view zoom, capture in live
view) does not work, or cannot be promised, and when — always, on some models, or when
a widget the body reports has one of some values (Canon's ``focusmode`` reading
``Manual`` when the lens's AF/MF switch is at MF). Each limit carries its reason in one
plain sentence and where the fact comes from.

Pure data and matching; :mod:`.body_report` decides with it, :mod:`.profiles` loads it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

__all__ = ["Ability", "Answer", "KnownLimit", "parse_limits"]


class Ability(Enum):
    """What the window and the commands ask a body for."""

    LIVE_VIEW = "live_view"
    FOCUS_DRIVE = "focus_drive"
    LIVE_VIEW_ZOOM = "live_view_zoom"
    CAPTURE_IN_LIVE_VIEW = "capture_in_live_view"

    @property
    def words(self) -> str:
        return {"live_view": "live view", "focus_drive": "focus drive", "live_view_zoom": "live-view zoom",
                "capture_in_live_view": "capture in live view"}[self.value]


class Answer(Enum):
    """Whether a body does it: works, does not work, or unknown (with the reason why)."""

    WORKS = "works"
    DOES_NOT_WORK = "does not work"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KnownLimit:
    """One limit a profile knows. ``widget`` and ``values``: it holds while the body's
    widget reads one of the values (no widget: always); ``models``: only on these models
    (shell patterns; none: every body of the family)."""

    ability: Ability
    answer: Answer
    reason: str
    source: str
    widget: str | None = None
    values: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def fits_model(self, model: str) -> bool:
        return not self.models or any(fnmatch.fnmatch(model.lower(), pattern.lower()) for pattern in self.models)

    def holds(self, widgets: Mapping[str, str | None]) -> bool | None:
        """True when it holds on a body whose widgets read ``widgets`` (name → value as
        the body gives it; None: the body has no such widget); None when the body does
        not report the widget the limit depends on (it may or may not hold)."""
        if self.widget is None:
            return True
        value = widgets.get(self.widget)
        if value is None:
            return None
        return value.strip().lower() in {v.lower() for v in self.values}


_FIELDS = {"ability", "answer", "reason", "source", "widget", "values", "models"}


def parse_limits(value: object) -> tuple[KnownLimit, ...]:
    """The ``[[limits]]`` of a profile; ValueError naming the field that is wrong."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("'limits' must be a list of tables ([[limits]])")
    limits = []
    for number, item in enumerate(value, start=1):
        where = f"[[limits]] number {number}"
        unknown = set(item) - _FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        texts = {}
        for name in ("ability", "reason", "source"):
            text = item.get(name)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: field '{name}' must be a text (the {name} of the limit)")
            texts[name] = text.strip()
        try:
            ability = Ability(texts["ability"])
        except ValueError:
            raise ValueError(f"{where}: 'ability' is {texts['ability']!r}; use one of "
                             f"{', '.join(a.value for a in Ability)}") from None
        answer_text = item.get("answer", Answer.DOES_NOT_WORK.value)
        if answer_text not in (Answer.DOES_NOT_WORK.value, Answer.UNKNOWN.value):
            raise ValueError(f"{where}: 'answer' must be 'does not work' or 'unknown', got {answer_text!r}")
        widget = item.get("widget")
        if widget is not None and (not isinstance(widget, str) or not widget):
            raise ValueError(f"{where}: field 'widget' must be a widget name")
        lists = {}
        for name in ("values", "models"):
            entries = item.get(name, [])
            if not isinstance(entries, list) or not all(isinstance(e, str) and e for e in entries):
                raise ValueError(f"{where}: field '{name}' must be a list of texts")
            lists[name] = tuple(entries)
        if (widget is None) != (not lists["values"]):
            raise ValueError(f"{where}: 'widget' and 'values' go together (the values of the widget that bring the limit)")
        limits.append(KnownLimit(ability, Answer(answer_text), texts["reason"], texts["source"], widget, lists["values"],
                                 lists["models"]))
    return tuple(limits)
