"""Judge one full-resolution shot of a studio session against its reference.

A session's setup names a reference picture (the recipe's, or the first shot) and the
features that must be sharp in it (boxes in that picture's pixels). Every shot is judged
the way the capture check judges a capture (:mod:`focuslock.focus.capture_check`): the
file reduced to the working scale, each feature found, read by the lock's estimator
against its reference with this frame's own noise, and judged against the circle of
confusion — the same estimator, thresholds and states as live view.

Differences from the live capture check, and why:

* The working scale is chosen from the CoC, not from live view: the file is reduced
  only so far that the CoC stays ``WORKING_COC_PX`` wide (a full-resolution file has far
  more pixels than the verdict needs; fewer than ~3 px per CoC and it can no longer tell).
* Each feature is searched for (a product placed a little off, a nudged tripod): where it
  was found gives the framing drift; a feature not found is UNCERTAIN, never SHARP.
* The reference is one still picture: the lock's take mode (no calibration over frames).

The overall verdict: ``soft`` when a feature is SOFT; else ``drift`` when a feature moved
more than the limit; else ``uncertain`` when a feature could not be judged; else ``pass``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from focuslock.camera.base import CorruptFrameError
from focuslock.camera.limits import FrameSizeError, decode_image
from focuslock.focus.capture_check import judge_view, reduce_to_width
from focuslock.focus.defocus import view_margin_px
from focuslock.focus.feature import clipped_share, extract_view
from focuslock.focus.lock import FocusLock, FocusState, LockSettings
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.track import FeatureTracker, TrackSettings
from focuslock.optics.dof import conventional_coc_mm
from focuslock.resources import is_box, is_finite_number
from focuslock.session.store import FeatureVerdict

__all__ = ["SessionSetup", "ShotJudge", "ShotVerdict", "SetupError", "WORKING_COC_PX"]

# The CoC's width (px) at the working scale: enough for the estimator to resolve it.
WORKING_COC_PX = 3.0
# How far (share of the working width) a feature is searched for around its place.
_SEARCH_SHARE = 0.12


class SetupError(ValueError):
    """A session setup that cannot be used; ``str()`` is one sentence."""


@dataclass(frozen=True)
class SessionSetup:
    """What the shots of a session are judged against.

    ``features_px``: boxes (x, y, w, h) in the reference picture's pixels; ``coc_px``: the
    permissible circle of confusion in those pixels (None: from the sensor and
    ``coc_um``, or the d/1500 convention); ``drift_limit_share``: how far (share of the
    picture's width) a feature may sit from its place before the shot says ``drift``.
    """

    reference: str
    features_px: tuple[tuple[float, float, float, float], ...]
    coc_px: float | None = None
    coc_um: float | None = None
    sensor_width_mm: float | None = None
    drift_limit_share: float = 0.01
    camera: str | None = None
    lens: str | None = None
    optics: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"reference": self.reference, "features_px": [list(map(float, f)) for f in self.features_px],
                "coc_px": self.coc_px, "coc_um": self.coc_um, "sensor_width_mm": self.sensor_width_mm,
                "drift_limit_share": self.drift_limit_share, "camera": self.camera, "lens": self.lens,
                "optics": dict(self.optics)}

    @classmethod
    def from_json(cls, data: dict) -> "SessionSetup":
        """The setup as :meth:`to_json` wrote it; :class:`SetupError` naming the field for
        anything else (a session log edited outside focuslock)."""
        def number(key: str, default=None):
            value = data.get(key)
            if value is None:  # absent or null: unset
                return default
            if not is_finite_number(value) or value <= 0:
                raise SetupError(f"the session's {key} is {value!r}, not a positive number")
            return float(value)

        def text(key: str, required: bool = False):
            value = data.get(key)
            if (value is None and not required) or (isinstance(value, str) and value):
                return value
            raise SetupError(f"the session's {key} is {value!r}, not a name")

        boxes = data.get("features_px")
        if not isinstance(boxes, list) or not all(is_box(box) for box in boxes):
            raise SetupError(f"the session's features_px is {boxes!r}, not a list of boxes [x, y, w, h]")
        optics = data.get("optics") or {}
        if not isinstance(optics, dict):
            raise SetupError(f"the session's optics is {optics!r}, not a table")
        return cls(text("reference", required=True), tuple(tuple(float(v) for v in box) for box in boxes),
                   number("coc_px"), number("coc_um"), number("sensor_width_mm"), number("drift_limit_share", 0.01),
                   text("camera"), text("lens"), dict(optics))

    def coc_in_file_px(self, width_px: int, height_px: int) -> float:
        """The CoC in pixels of a picture ``width_px`` × ``height_px``."""
        if self.coc_px is not None:
            return float(self.coc_px)
        if self.coc_um is not None and self.sensor_width_mm:
            return self.coc_um / (self.sensor_width_mm * 1000.0 / width_px)
        # The d/1500 convention (the CoC of a print seen whole), the same share in pixels.
        return conventional_coc_mm(width_px, height_px)


@dataclass(frozen=True)
class ShotVerdict:
    """One shot judged: the overall verdict (pass / soft / drift / uncertain), why, each
    feature's verdict, and the largest drift (file px and share of the width)."""

    path: Path
    verdict: str
    reason: str | None
    features: tuple[FeatureVerdict, ...]
    drift_px: float | None
    drift_share: float | None
    size_px: tuple[int, int] | None

    def describe(self) -> str:
        text = f"{self.path.name}: {self.verdict.upper()}"
        return text + (f" — {self.reason}" if self.reason else "")


@dataclass
class _Feature:
    roi_work: tuple[float, float, float, float]
    template: np.ndarray
    lock: FocusLock


class ShotJudge:
    """Judges shots against one reference picture (decoded BGR) and setup."""

    def __init__(self, reference_bgr: np.ndarray, setup: SessionSetup) -> None:
        if not setup.features_px:
            raise SetupError("Give at least one feature that must be sharp (--roi X,Y,W,H).")
        if not 0 < setup.drift_limit_share < 1:
            raise SetupError("The drift limit must be a share of the picture's width between 0 and 1 (e.g. 0.01).")
        self.setup = setup
        height, width = reference_bgr.shape[:2]
        self.reference_size_px = (width, height)
        coc_file_px = setup.coc_in_file_px(width, height)
        if not (math.isfinite(coc_file_px) and coc_file_px > 0):
            raise SetupError("The circle of confusion must be a positive number of pixels.")
        # Reduce only as far as keeps WORKING_COC_PX per CoC (never enlarge).
        self.work_scale = min(1.0, WORKING_COC_PX / coc_file_px)
        self.work_width_px = max(16, int(round(width * self.work_scale)))
        self.work_scale = self.work_width_px / width
        self.coc_work_px = coc_file_px * self.work_scale
        if self.coc_work_px > 200:
            raise SetupError(f"A circle of confusion of {coc_file_px:g} px is not plausible for a {width}-pixel-wide picture.")
        self.pixel_pitch_um = (setup.sensor_width_mm * 1000.0 / width) if setup.sensor_width_mm else None
        self.settings = LockSettings(coc_px=self.coc_work_px, take_mode=True)
        colour, grey = _working_copies(reference_bgr, self.work_width_px)
        noise_sigma = single_frame_noise_sigma(grey)
        self.features: list[_Feature] = []
        for index, roi in enumerate(setup.features_px):
            roi_work = _scale_roi(roi, self.work_scale)
            x, y, w, h = (int(round(v)) for v in roi_work)
            if w < 8 or h < 8:
                raise SetupError(f"Feature {index + 1} ({_roi_text(roi)}) is under 8 px a side at the working scale; "
                                 "draw a larger box.")
            if x < 0 or y < 0 or x + w > grey.shape[1] or y + h > grey.shape[0]:
                raise SetupError(f"Feature {index + 1} ({_roi_text(roi)}) is not inside the {width}×{height} reference picture.")
            roi_work = (float(x), float(y), float(w), float(h))
            lock = FocusLock(extract_view(grey, roi_work, view_margin_px(self.settings.coc_px)), noise_sigma, self.settings,
                             clipped_share(colour, roi_work))
            self.features.append(_Feature(roi_work, grey[y:y + h, x:x + w].copy(), lock))

    @property
    def warnings(self) -> list[str]:
        """What the reference cannot promise (a feature too plain for its noise), one
        sentence per feature."""
        return [f"Feature {i + 1}: {f.lock.warning}" for i, f in enumerate(self.features) if f.lock.warning]

    def judge_file(self, path: Path) -> ShotVerdict:
        """Read and judge the file ``path``; a file that cannot be read says so (uncertain)."""
        path = Path(path)
        try:
            bgr = decode_image(np.fromfile(path, dtype=np.uint8), path.name)
        except FrameSizeError as error:
            return ShotVerdict(path, "uncertain", str(error), (), None, None, None)
        except (CorruptFrameError, OSError, ValueError):
            return ShotVerdict(path, "uncertain", f"{path.name} could not be read as a picture (focuslock reads JPEG, PNG "
                                                  "and TIFF; a RAW is judged through its JPEG).", (), None, None, None)
        return self.judge(path, bgr)

    def judge(self, path: Path, bgr: np.ndarray) -> ShotVerdict:
        height, width = bgr.shape[:2]
        ref_h = self.reference_size_px[1]
        # The shot may be another size (a smaller JPEG beside the RAW): the same working
        # scale relative to its width; another aspect ratio is a centred band, as on a body.
        colour, grey = _working_copies(bgr, self.work_width_px)
        band_offset = (grey.shape[0] - ref_h * self.work_scale) / 2.0
        to_file = width / self.work_width_px
        noise = single_frame_noise_sigma(grey)
        verdicts = []
        for index, feature in enumerate(self.features):
            verdicts.append(self._judge_feature(index, feature, colour, grey, band_offset, to_file, noise))
        return _overall(Path(path), tuple(verdicts), self.setup.drift_limit_share, (width, height))

    def _judge_feature(self, index: int, feature: _Feature, colour: np.ndarray, grey: np.ndarray, band_offset: float,
                       to_file: float, noise: float) -> FeatureVerdict:
        x, y, w, h = feature.roi_work
        expected = (x, y + band_offset)
        radius = max(24, int(_SEARCH_SHARE * grey.shape[1]))
        tracker = FeatureTracker.from_template(feature.template, expected, TrackSettings(search_radius_px=radius))
        track = tracker.update(grey)
        if track.lost:
            return FeatureVerdict(index, FocusState.UNCERTAIN.value,
                                  "the feature was not found in this shot (moved out of the frame, covered, or another subject)")
        fx, fy, _, _ = track.roi_px
        drift_work = math.hypot(fx - expected[0], fy - expected[1])
        found = (int(round(fx)), int(round(fy)), int(w), int(h))
        settings = self.settings
        unsure = None
        if track.confidence < settings.min_track_confidence:
            unsure = f"the feature was found only with low confidence ({track.confidence:.2f})"
        elif clipped_share(colour, found) > settings.clipped_share + feature.lock.clipped_share_at_lock:
            unsure = "highlights in the feature are clipped: lower the exposure for a trustworthy verdict"
        verdict = judge_view(grey, found, feature.lock.reference, settings, feature.lock.resolvable, unsure, noise)
        if verdict is None:
            return FeatureVerdict(index, FocusState.UNCERTAIN.value, "the feature lies at the edge of this shot",
                                  found_px=(fx * to_file, (fy - band_offset) * to_file), drift_px=drift_work * to_file)
        shown = verdict.shown
        blur_px = shown.blur_px
        blur_sd = shown.blur_sd_px if math.isfinite(shown.blur_sd_px) else None
        reason = verdict.reason
        if reason is None and feature.lock.warning and verdict.state != FocusState.SOFT:
            reason = feature.lock.warning
        # The blur in the file's own pixels and, with the sensor, in µm on the sensor.
        blur_file_px = blur_px * to_file if math.isfinite(blur_px) else None
        return FeatureVerdict(
            index, verdict.state.value, reason, blur_file_px,
            None if blur_sd is None else blur_sd * to_file,
            None if blur_file_px is None or self.pixel_pitch_um is None else blur_file_px * self.pixel_pitch_um,
            blur_px / self.coc_work_px if math.isfinite(blur_px) else None,
            (fx * to_file, (fy - band_offset) * to_file), drift_work * to_file)


def _overall(path: Path, features: tuple[FeatureVerdict, ...], drift_limit_share: float,
             size_px: tuple[int, int]) -> ShotVerdict:
    drifts = [f.drift_px for f in features if f.drift_px is not None]
    drift_px = max(drifts) if drifts else None
    drift_share = None if drift_px is None else drift_px / size_px[0]
    soft = [f for f in features if f.state == FocusState.SOFT.value]
    unsure = [f for f in features if f.state in (FocusState.UNCERTAIN.value, FocusState.LOST.value)]
    if soft:
        first = soft[0]
        blur = "" if first.coc_share is None else f" (blur {first.coc_share:.1f}× the CoC)"
        verdict, reason = "soft", f"feature {first.feature + 1} is soft{blur}" + (f": {first.reason}" if first.reason else "")
    elif drift_share is not None and drift_share > drift_limit_share:
        verdict, reason = "drift", (f"a feature sits {drift_px:.0f} px ({100 * drift_share:.1f} % of the width) from its place "
                                    f"in the reference (limit {100 * drift_limit_share:.1f} %)")
    elif unsure:
        first = unsure[0]
        verdict, reason = "uncertain", f"feature {first.feature + 1}: {first.reason or 'could not be judged'}"
    else:
        verdict, reason = "pass", None
    return ShotVerdict(path, verdict, reason, features, drift_px, drift_share, size_px)


def _working_copies(bgr: np.ndarray, width_px: int) -> tuple[np.ndarray, np.ndarray]:
    """The picture at the working width in colour (for clipped highlights) and in grey."""
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    colour = reduce_to_width(bgr, width_px)
    return colour, cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)


def _scale_roi(roi, scale: float) -> tuple[float, float, float, float]:
    return tuple(float(v) * scale for v in roi)  # type: ignore[return-value]


def _roi_text(roi) -> str:
    return ",".join(f"{v:g}" for v in roi)
