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

A file narrower than the reference (a JPEG saved small, an export, a thumbnail) is never
enlarged (that smooths the reference's detail too: a soft small file read as sharp). The
reference is reduced to the file's width instead, as the file was, and locked there with
the CoC in the file's pixels. Another program made that file with its own resampling,
whose blur or sharpening the estimator cannot tell from defocus when the CoC is a pixel
or so: measured on the test photographs, an antialiased export reads +1.2–1.4 px of disc
blur in the file's pixels, a non-antialiased or sharpened one −0.5 to −2.4 px; at a CoC
of 1.0–1.2 px that made sharp files SOFT and 1.5-CoC-soft files SHARP, from 1.6 px none.
So such a file whose CoC is under ``MIN_RESAMPLED_COC_PX`` of its pixels is UNCERTAIN.

Beside focus, each found feature's exposure is compared with the reference's
(:mod:`focuslock.focus.exposure`): a stop or more off, or highlights clipped beyond the
reference's, is noted with the verdict; it never changes the focus verdict (clipping
aside, which makes the blur itself untrustworthy: UNCERTAIN, as in live view).

The overall verdict (:class:`ShotOutcome`): ``soft`` when a feature is SOFT; else
``drift`` when a feature moved more than the limit; else ``uncertain`` when a feature
could not be judged; else ``pass``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.box import MIN_FEATURE_PX
from focuslock.core.errors import FocuslockError
from focuslock.core.resources import is_box, is_finite_number
from focuslock.devices.base import CorruptFrameError
from focuslock.focus.capture_check import judge_view, reduce_to_width
from focuslock.focus.defocus import view_margin_px
from focuslock.focus.exposure import ExposureNote, FeatureExposure, Levels, compare_levels, feature_levels
from focuslock.focus.feature import extract_view
from focuslock.focus.lock import FocusLock, FocusState, LockSettings
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.track import FeatureTracker, TrackSettings
from focuslock.io.limits import FrameSizeError, read_image_file
from focuslock.optics.coc import coc_in_picture
from focuslock.optics.lens_limits import OpticsError
from focuslock.session.records import FeatureVerdict
from focuslock.session.small_shots import crop_feature, crop_reason, what_to_save
from focuslock.session.verdict import ShotOutcome, ShotVerdict, overall_verdict

__all__ = ["MIN_RESAMPLED_COC_PX", "SessionSetup", "SetupError", "ShotJudge", "ShotOutcome", "ShotVerdict", "WORKING_COC_PX"]

# The CoC's width (px) at the working scale: enough for the estimator to resolve it.
WORKING_COC_PX = 3.0
# The least CoC (px, in the file's own pixels) at which a file narrower than the
# reference — resampled by another program — can be judged (see the module's text).
MIN_RESAMPLED_COC_PX = 1.5
# How far (share of the working width) a feature is searched for around its place.
_SEARCH_SHARE = 0.12
# Smaller sizes whose reference is kept locked (a session's small files are mostly one size).
_SCALES_KEPT = 4


class SetupError(FocuslockError, ValueError):
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
    def from_json(cls, data: dict) -> SessionSetup:
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
        features = tuple((float(x), float(y), float(w), float(h)) for x, y, w, h in boxes)
        return cls(text("reference", required=True), features,
                   number("coc_px"), number("coc_um"), number("sensor_width_mm"), number("drift_limit_share", 0.01),
                   text("camera"), text("lens"), dict(optics))

    def coc_in_file_px(self, width_px: int, height_px: int) -> float:
        """The CoC in pixels of a picture ``width_px`` × ``height_px`` (:func:`focuslock.optics.coc.coc_in_picture`);
        :class:`SetupError` when it is not plausible."""
        try:
            return coc_in_picture(width_px, height_px, coc_px=self.coc_px, coc_um=self.coc_um,
                                  sensor_width_mm=self.sensor_width_mm).coc_px
        except OpticsError as error:
            raise SetupError(str(error)) from None


@dataclass
class _Feature:
    roi_work: tuple[float, float, float, float]
    template: np.ndarray
    lock: FocusLock
    levels: Levels


@dataclass
class _Scale:
    """The reference's features locked for pictures ``file_width_px`` wide, judged at
    ``width_px`` (working px; ``scale`` of them per reference px)."""

    file_width_px: int
    width_px: int
    scale: float
    coc_px: float
    settings: LockSettings
    features: list[_Feature] = field(default_factory=list)


class _TooSmall(Exception):
    """A feature that cannot be locked at a scale; ``str()`` says why."""


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
        self.coc_file_px = setup.coc_in_file_px(width, height)
        if not (math.isfinite(self.coc_file_px) and self.coc_file_px > 0):
            raise SetupError("The circle of confusion must be a positive number of pixels.")
        # Kept for files narrower than the reference: it is reduced to their width.
        self._reference = reference_bgr if reference_bgr.ndim == 3 else cv2.cvtColor(reference_bgr, cv2.COLOR_GRAY2BGR)
        try:
            self._primary = self._lock_scale(self._reference, self.coc_file_px)
        except _TooSmall as error:
            raise SetupError(str(error)) from None
        self._smaller: dict[int, _Scale | str] = {}

    @property
    def reference_bgr(self) -> np.ndarray:
        """The reference picture judged against (BGR): with :attr:`setup`, all another
        process needs to build the same judge (``check-archive``'s Dask workers)."""
        return self._reference

    @property
    def warnings(self) -> list[str]:
        """What the reference cannot promise (a feature too plain for its noise), one
        sentence per feature."""
        return [f"Feature {i + 1}: {f.lock.warning}" for i, f in enumerate(self._primary.features) if f.lock.warning]

    def _lock_scale(self, picture: np.ndarray, coc_file_px: float) -> _Scale:
        """Lock each feature on ``picture`` (the reference, at a file's width; its CoC
        ``coc_file_px`` in those pixels), reduced only as far as keeps WORKING_COC_PX per
        CoC (never enlarged)."""
        file_width = picture.shape[1]
        width_px = max(16, int(round(file_width * min(1.0, WORKING_COC_PX / coc_file_px))))
        scale = width_px / self.reference_size_px[0]
        coc_px = coc_file_px * width_px / file_width
        if coc_px > 200:
            raise SetupError(f"A circle of confusion of {coc_file_px:g} px is not plausible for a {file_width}-pixel-wide picture.")
        settings = LockSettings(coc_px=coc_px, take_mode=True)
        grey = _working_grey(picture, width_px)
        noise_sigma = single_frame_noise_sigma(grey)
        found = _Scale(file_width, width_px, scale, coc_px, settings)
        ref_w, ref_h = self.reference_size_px
        smaller = file_width < ref_w
        for index, roi in enumerate(self.setup.features_px):
            x, y, w, h = (int(round(float(v) * scale)) for v in roi)
            if w < MIN_FEATURE_PX or h < MIN_FEATURE_PX:
                raise _TooSmall(f"Feature {index + 1} ({_roi_text(roi)}) is under {MIN_FEATURE_PX} px a side " + (
                    "at this size; judge the full-size file" if smaller else "at the working scale; draw a larger box."))
            if smaller:  # the reduced reference's height was rounded: keep an edge box inside
                x, y = min(max(x, 0), grey.shape[1] - w), min(max(y, 0), grey.shape[0] - h)
            if x < 0 or y < 0 or x + w > grey.shape[1] or y + h > grey.shape[0]:
                raise _TooSmall(f"Feature {index + 1} ({_roi_text(roi)}) is not inside the {ref_w}×{ref_h} reference picture.")
            roi_work = (float(x), float(y), float(w), float(h))
            # Exposure in the picture's own pixels (reducing it averages clipping away).
            levels = feature_levels(picture, tuple(v * file_width / width_px for v in roi_work))
            view = extract_view(grey, roi_work, view_margin_px(coc_px))
            assert view is not None and levels is not None  # the box lies inside the picture (checked above)
            lock = FocusLock(view, noise_sigma, settings, levels.clipped_share)
            found.features.append(_Feature(roi_work, grey[y:y + h, x:x + w].copy(), lock, levels))
        return found

    def _scale_for(self, width_px: int) -> _Scale | str:
        """The reference locked for a file ``width_px`` wide (narrower than the
        reference), or why such a file cannot be judged."""
        if width_px not in self._smaller:
            while len(self._smaller) >= _SCALES_KEPT:
                self._smaller.pop(next(iter(self._smaller)))
            coc_px = self._coc_at_width(width_px)
            if coc_px < MIN_RESAMPLED_COC_PX:
                self._smaller[width_px] = (f"saved at {width_px} px wide: too small to judge focus at this depth of field; "
                                           + what_to_save(self.reference_size_px[0], self._coc_at_width, MIN_RESAMPLED_COC_PX))
            else:
                try:
                    self._smaller[width_px] = self._lock_scale(reduce_to_width(self._reference, width_px), coc_px)
                except _TooSmall as error:
                    self._smaller[width_px] = f"saved at {width_px} px wide: {_lower_first(str(error))}"
        return self._smaller[width_px]

    def _coc_at_width(self, width_px: int) -> float:
        """The CoC in pixels of the whole frame saved ``width_px`` wide."""
        return self.coc_file_px * width_px / self.reference_size_px[0]

    def judge_file(self, path: Path) -> ShotVerdict:
        """Read and judge the file ``path``; a file that cannot be read says so (uncertain)."""
        path = Path(path)
        try:
            bgr = read_image_file(path, path.name)
        except FrameSizeError as error:
            return ShotVerdict(path, ShotOutcome.UNCERTAIN, str(error), (), None, None, None)
        except (CorruptFrameError, OSError, ValueError):
            return ShotVerdict(path, ShotOutcome.UNCERTAIN, f"{path.name} could not be read as a picture (focuslock reads "
                                                            "JPEG, PNG and TIFF; a RAW is judged through its JPEG).",
                               (), None, None, None)
        return self.judge(path, bgr)

    def judge(self, path: Path, bgr: np.ndarray) -> ShotVerdict:
        path = Path(path)
        height, width = bgr.shape[:2]
        scale = self._primary
        if width < self.reference_size_px[0]:
            scaled = self._scale_for(width)
            if isinstance(scaled, str):
                crop = crop_feature(self._reference, self.setup.features_px, bgr)
                if crop is not None:  # not the frame saved smaller: no width to save it at helps
                    scaled = crop_reason((width, height), self.reference_size_px, crop)
                return ShotVerdict(path, ShotOutcome.UNCERTAIN, scaled, (), None, None, (width, height))
            scale = scaled
        # Another aspect ratio is a centred band, as on a body.
        grey = _working_grey(bgr, scale.width_px)
        band_offset = (grey.shape[0] - self.reference_size_px[1] * scale.scale) / 2.0
        to_file = width / scale.width_px
        noise = single_frame_noise_sigma(grey)
        pitch_um = self.setup.sensor_width_mm * 1000.0 / width if self.setup.sensor_width_mm else None
        verdicts, exposures = [], []
        for index, feature in enumerate(scale.features):
            verdict, exposure = self._judge_feature(index, feature, scale, bgr, grey, band_offset, to_file, noise, pitch_um)
            verdicts.append(verdict)
            if exposure is not None:
                exposures.append(exposure)
        note = ExposureNote(tuple(exposures)) if exposures else None
        return overall_verdict(path, tuple(verdicts), self.setup.drift_limit_share, (width, height), note)

    def _judge_feature(self, index: int, feature: _Feature, scale: _Scale, bgr: np.ndarray, grey: np.ndarray,
                       band_offset: float, to_file: float, noise: float,
                       pitch_um: float | None) -> tuple[FeatureVerdict, FeatureExposure | None]:
        x, y, w, h = feature.roi_work
        expected = (x, y + band_offset)
        radius = max(24, int(_SEARCH_SHARE * grey.shape[1]))
        tracker = FeatureTracker.from_template(feature.template, expected, TrackSettings(search_radius_px=radius))
        track = tracker.update(grey)
        if track.lost:
            return FeatureVerdict(index, FocusState.UNCERTAIN.value, "the feature was not found in this shot (moved out "
                                  "of the frame, covered, or another subject)"), None
        fx, fy, _, _ = track.roi_px
        drift_work = math.hypot(fx - expected[0], fy - expected[1])
        found = (int(round(fx)), int(round(fy)), int(w), int(h))
        found_file = (fx * to_file, (fy - band_offset) * to_file)
        levels = feature_levels(bgr, (*found_file, w * to_file, h * to_file))
        exposure = None if levels is None else compare_levels(index, feature.levels, levels)
        settings = scale.settings
        unsure = None
        if track.confidence < settings.min_track_confidence:
            unsure = "the feature was found, but not surely (it moved or changed) — check the framing"
        elif exposure is not None and exposure.clipped:
            unsure = "highlights in the feature are clipped: lower the exposure for a trustworthy verdict"
        verdict = judge_view(grey, found, feature.lock.reference, settings, feature.lock.resolvable, unsure, noise)
        if verdict is None:
            return FeatureVerdict(index, FocusState.UNCERTAIN.value, "the feature lies at the edge of this shot",
                                  found_px=found_file, drift_px=drift_work * to_file), exposure
        shown = verdict.shown
        blur_px = shown.blur_px
        blur_sd = shown.blur_sd_px if math.isfinite(shown.blur_sd_px) else None
        reason = verdict.reason
        if (not feature.lock.resolvable and verdict.state == FocusState.UNCERTAIN
                and self._primary.features[index].lock.resolvable):  # resolvable at full size, not at this one
            reason = (f"saved at {scale.file_width_px} px wide: too little fine detail left at this size to judge "
                      "focus; judge the full-size file")
        elif reason is None and feature.lock.warning and verdict.state != FocusState.SOFT:
            reason = feature.lock.warning
        if shown.beyond_range and math.isfinite(blur_px) and blur_px > 0:
            # Blurred past what the feature's detail measures: the number is a floor, never
            # written as a measurement (the log, the CSV, the XMP): said, with its floor.
            floor = (f"too blurred to say how far: at least {blur_px * to_file:.1f} px "
                     f"({blur_px / scale.coc_px:.1f} CoC)")
            reason = f"{reason}; {floor}" if reason else floor
            blur_px, blur_sd = math.nan, None
        # The blur in the file's own pixels and, with the sensor, in µm on the sensor
        # (``pitch_um``: the file's pixel pitch).
        blur_file_px = blur_px * to_file if math.isfinite(blur_px) else None
        return FeatureVerdict(
            index, verdict.state.value, reason, blur_file_px,
            None if blur_sd is None else blur_sd * to_file,
            None if blur_file_px is None or pitch_um is None else blur_file_px * pitch_um,
            blur_px / scale.coc_px if math.isfinite(blur_px) else None,
            found_file, drift_work * to_file), exposure


def _working_grey(bgr: np.ndarray, width_px: int) -> np.ndarray:
    """The picture in grey at the working width."""
    return cv2.cvtColor(reduce_to_width(bgr, width_px), cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else reduce_to_width(bgr, width_px)


def _roi_text(roi) -> str:
    return ",".join(f"{v:g}" for v in roi)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
