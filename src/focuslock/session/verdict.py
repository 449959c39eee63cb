"""A studio shot's verdict as a value: the overall outcome and why, each feature's focus
verdict, the framing drift and the exposure against the reference.

The outcome (:class:`ShotOutcome`), from the features' verdicts (:func:`overall_verdict`):
``soft`` when a feature is SOFT; else ``drift`` when a feature moved more than the limit;
else ``uncertain`` when a feature could not be judged; else ``pass``. The exposure
(:class:`focuslock.focus.exposure.ExposureNote`) is told beside it and never changes it.

The session's log keeps a noted exposure in the shot's camera record (``camera_json``,
beside the body's settings) under ``EXPOSURE_LOG_KEY`` (:meth:`ShotVerdict.camera_record`);
:func:`logged_exposure` reads it back, strictly (a log may be edited outside focuslock).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from focuslock.core.resources import is_finite_number
from focuslock.focus.exposure import ExposureNote
from focuslock.focus.lock import FocusState
from focuslock.session.records import FeatureVerdict

__all__ = ["EXPOSURE_LOG_KEY", "LoggedExposure", "ShotOutcome", "ShotVerdict", "logged_exposure", "overall_verdict", "share_words"]

# The key of the shot's camera record (the log's camera_json) that holds its exposure.
EXPOSURE_LOG_KEY = "focuslock_exposure"


class ShotOutcome(enum.StrEnum):
    """A shot's overall verdict (the log's and the sidecars' word for it)."""

    PASS = "pass"
    SOFT = "soft"
    DRIFT = "drift"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class ShotVerdict:
    """One shot judged: the overall verdict, why, each feature's verdict, the largest
    drift (file px and share of the width), and its exposure against the reference
    (None when no feature could be measured)."""

    path: Path
    verdict: ShotOutcome
    reason: str | None
    features: tuple[FeatureVerdict, ...]
    drift_px: float | None
    drift_share: float | None
    size_px: tuple[int, int] | None
    exposure: ExposureNote | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", ShotOutcome(self.verdict))  # a word from a caller is checked here

    @property
    def exposure_note(self) -> str | None:
        """'exposure: +1.3 stops brighter than the reference', or None."""
        return None if self.exposure is None else self.exposure.text()

    def camera_record(self, camera: dict | None = None) -> dict:
        """The shot's camera record for the log: the body's settings (``camera``) and, when
        the exposure deserves a note, the exposure against the reference (under
        ``EXPOSURE_LOG_KEY``; otherwise the record stays the body's settings alone)."""
        record = dict(camera or {})
        if self.exposure is not None and self.exposure.noted:
            record[EXPOSURE_LOG_KEY] = self.exposure.to_json()
        return record

    def describe(self) -> str:
        text = f"{self.path.name}: {self.verdict.upper()}"
        text += f" — {self.reason}" if self.reason else ""
        note = self.exposure_note
        return text + (f" · {note}" if note else "")


def share_words(coc_share: float) -> str:
    """A blur as a share of what the depth of field allows, in a photographer's words."""
    return f"{coc_share:.1f}× the blur the depth of field allows"


def overall_verdict(path: Path, features: tuple[FeatureVerdict, ...], drift_limit_share: float,
                    size_px: tuple[int, int], exposure: ExposureNote | None = None) -> ShotVerdict:
    """The shot's outcome and why, from its features' verdicts (see the module's text)."""
    drifts = [f.drift_px for f in features if f.drift_px is not None]
    drift_px = max(drifts) if drifts else None
    drift_share = None if drift_px is None else drift_px / size_px[0]
    soft = [f for f in features if f.state == FocusState.SOFT.value]
    unsure = [f for f in features if f.state in (FocusState.UNCERTAIN.value, FocusState.LOST.value)]
    if soft:
        first = soft[0]
        blur = "" if first.coc_share is None else f" ({share_words(first.coc_share)})"
        verdict = ShotOutcome.SOFT
        reason = f"feature {first.feature + 1} is soft{blur}" + (f": {first.reason}" if first.reason else "")
    elif drift_share is not None and drift_share > drift_limit_share:
        verdict = ShotOutcome.DRIFT
        reason = (f"a feature sits {drift_px:.0f} px ({100 * drift_share:.1f} % of the width) from its place "
                  f"in the reference (limit {100 * drift_limit_share:.1f} %)")
    elif unsure:
        first = unsure[0]
        verdict, reason = ShotOutcome.UNCERTAIN, f"feature {first.feature + 1}: {first.reason or 'could not be judged'}"
    else:
        verdict, reason = ShotOutcome.PASS, None
    return ShotVerdict(path, verdict, reason, features, drift_px, drift_share, size_px, exposure)


@dataclass(frozen=True)
class LoggedExposure:
    """A logged shot's exposure: the note (None when nothing was amiss) and the signed
    stops of the feature farthest from the reference (None when not measured)."""

    note: str | None
    stops: float | None


def logged_exposure(camera: dict) -> LoggedExposure:
    """The exposure a shot's camera record holds; nothing for a record without one, or
    with one changed into something else outside focuslock."""
    entry = camera.get(EXPOSURE_LOG_KEY) if isinstance(camera, dict) else None
    if not isinstance(entry, dict):
        return LoggedExposure(None, None)
    note, stops = entry.get("note"), entry.get("stops")
    return LoggedExposure(note if isinstance(note, str) and note else None,
                          float(stops) if stops is not None and is_finite_number(stops) else None)
