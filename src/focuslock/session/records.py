"""What the shot log holds, as values: a shot's files, each feature's verdict, the shot's
record as written and as read back (:mod:`.store` writes and reads them)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["FeatureVerdict", "LoggedShot", "ShotFile", "ShotPreviews", "ShotRecord"]


@dataclass(frozen=True)
class ShotFile:
    """A file of a shot: ``path`` as given (made relative to the session folder when
    inside it), its SHA-256 and size; ``role``: the judged picture or a companion (the
    RAW beside a JPEG)."""

    path: str
    sha256: str
    size_bytes: int | None  # None read back: the logged size was changed outside focuslock
    role: str = "judged"


@dataclass(frozen=True)
class FeatureVerdict:
    """One locked feature's verdict on the full-resolution file."""

    feature: int
    state: str
    reason: str | None = None
    blur_px: float | None = None
    blur_sd_px: float | None = None
    blur_um: float | None = None
    coc_share: float | None = None
    found_px: tuple[float, float] | None = None  # where the feature's box was found (file px)
    drift_px: float | None = None  # how far from where the reference has it (file px)

    def describe(self) -> str:
        """'feature 1 soft, blur +8.05 px = 35.4 µm (1.34 CoC)': what the log says of it."""
        text = f"feature {self.feature + 1} {self.state}"
        if self.blur_px is not None:
            text += f", blur {round(self.blur_px, 2) + 0.0:+.2f} px"
            if self.blur_um is not None:
                text += f" = {self.blur_um:.1f} µm"
            if self.coc_share is not None:
                text += f" ({round(self.coc_share, 2) + 0.0:.2f} CoC)"
        return text


@dataclass(frozen=True)
class ShotPreviews:
    """A shot's two small JPEGs for the studio's hub (``session/previews.py``): the whole
    picture reduced, and the first feature at 100 %; never the picture itself."""

    thumbnail_jpeg: bytes | None = None
    crop_jpeg: bytes | None = None


@dataclass(frozen=True)
class ShotRecord:
    """What one capture adds to the log."""

    name: str
    files: tuple[ShotFile, ...]
    verdict: str  # a ShotOutcome (session/verdict.py); read back, whatever word the log holds
    reason: str | None = None
    features: tuple[FeatureVerdict, ...] = ()
    drift_px: float | None = None
    drift_share: float | None = None
    camera: dict = field(default_factory=dict)
    optics: dict = field(default_factory=dict)
    sku: str | None = None
    sku_number: int | None = None  # the SKU's number in the name ({seq} with a hub: hub/numbers.py)
    # Only for a station with a hub: they go into the outbox with the shot, not into its row.
    previews: ShotPreviews | None = field(default=None, compare=False, repr=False)

    @property
    def worst_coc_share(self) -> float | None:
        """The blur of the blurriest feature, in CoC (None when no feature was measured)."""
        shares = [f.coc_share for f in self.features if f.coc_share is not None and math.isfinite(f.coc_share)]
        return max(shares) if shares else None


@dataclass(frozen=True)
class LoggedShot:
    """A shot as read back from the log."""

    id: int
    sequence: int
    logged_utc: str
    record: ShotRecord
