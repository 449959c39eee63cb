"""What ``analyze`` found: a record per frame (or per skipped stretch) and the report
over the take, with each frame's blur in every unit the take's optics allow."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from focuslock.focus.lock import FocusState, LockStatus
from focuslock.focus.measure import FocusReading
from focuslock.optics.coc import LiveViewCoc
from focuslock.optics.dof import DofResult, depth_for_live_view_blur_mm

__all__ = ["FRAME_NUMBER_DIGITS", "AnalysisReport", "FrameNumbers", "FrameRecord", "WrittenFiles"]


@dataclass(frozen=True)
class FrameRecord:
    """One frame's (or one skipped stretch's) reading, as the report gives it."""

    index: int
    source: str | None
    time_s: float | None
    reading: FocusReading | None
    roi_px: tuple[float, float, float, float] | None
    lost: bool
    error: str | None = None
    lock: LockStatus | None = None
    last_index: int | None = None  # a skipped stretch is one record: frames index–last_index

    @property
    def state(self) -> str:
        return self.lock.state.value if self.lock is not None else FocusState.LOST.value

    @property
    def blur_px(self) -> float | None:
        """The measured blur; None where the reading ran off the end of the feature's
        through-focus curve (the number would be the curve's end, not a measurement:
        :attr:`reason` says which way)."""
        if self.lock is None or self.lock.beyond_range:
            return None
        return self.lock.blur_px

    @property
    def blur_sd_px(self) -> float | None:
        return self.lock.blur_sd_px if self.lock is not None and not self.lock.beyond_range else None

    @property
    def reason(self) -> str | None:
        if self.lock is None:
            return None
        if self.lock.beyond_range and self.lock.blur_px is not None and self.lock.state != FocusState.LOST:
            beyond = (f"sharper than the lock frame by more than {-self.lock.blur_px:.1f} px (the most its curve measures)"
                      if self.lock.blur_px < 0 else
                      f"too blurred to say how far: at least {self.lock.blur_px:.1f} px")
            return f"{self.lock.reason}; {beyond}" if self.lock.reason else beyond
        return self.lock.reason


# The blur of each frame in its units, and the decimals the JSON and the CSV give it.
FRAME_NUMBER_DIGITS = {"blur_px": 4, "blur_sd_px": 4, "blur_um": 3, "coc_share": 4, "defocus_um": 2}


@dataclass(frozen=True)
class FrameNumbers:
    """A frame's blur in every unit a report has (None where it has not): what the
    JSON, the CSV and the plot give, in the order of ``FRAME_NUMBER_DIGITS``."""

    blur_px: float | None
    blur_sd_px: float | None
    blur_um: float | None
    coc_share: float | None
    defocus_um: float | None

    def items(self) -> list[tuple[str, float | None]]:
        """(name, value) in the order of ``FRAME_NUMBER_DIGITS``."""
        return [(name, getattr(self, name)) for name in FRAME_NUMBER_DIGITS]


@dataclass(frozen=True)
class WrittenFiles:
    """The files an analysis wrote (None: not written), in the order they are told."""

    overlay_video: str | None = None
    csv: str | None = None
    plot: str | None = None

    def paths(self) -> list[str]:
        return [path for path in (self.overlay_video, self.csv, self.plot) if path is not None]


@dataclass
class AnalysisReport:
    """What ``analyze`` found, made whole by its pass; :func:`~focuslock.workflows.take_outputs.write_csv`
    adds the files it writes to ``written``."""

    input: str
    frames: list[FrameRecord]
    best_frame: int | None
    lock_frame: int | None
    measure: str
    frame_count_hint: int | None = None
    written: WrittenFiles = WrittenFiles()
    coc_px: float | None = None
    # The CoC from the optics (with --coc-um or a body): gives blurs in µm on the sensor.
    coc: LiveViewCoc | None = None
    noise_sigma: float | None = None
    lock_warning: str | None = None
    # The depth of field of the take's optics (with --f-number and --magnification): turns
    # blurs into distance from the plane of focus at the subject.
    dof: DofResult | None = None
    # The second pass of --lock-best replayed the first's crops (the take decoded once).
    replayed: bool = False

    def defocus_um(self, record: FrameRecord) -> float | None:
        """How far (µm, at the subject) the feature lies from the lock frame's plane of
        focus, from its blur and the optics; None without them or for a sharper frame."""
        if self.dof is None or self.coc is None or record.blur_px is None:
            return None
        depth_mm = depth_for_live_view_blur_mm(self.dof, self.coc, record.blur_px)
        return None if depth_mm is None else depth_mm * 1000.0

    def frame_numbers(self, record: FrameRecord) -> FrameNumbers:
        """A frame's blur in every unit this report has (None where it has not): what
        the JSON, the CSV and the plot give."""
        blur, sd = record.blur_px, record.blur_sd_px
        return FrameNumbers(
            blur_px=blur,
            blur_sd_px=sd if sd is not None and math.isfinite(sd) else None,
            blur_um=None if blur is None or self.coc is None else self.coc.blur_um(blur),
            # A frame sharper than the lock's has no share of the depth of field.
            coc_share=(None if blur is None or round(blur, FRAME_NUMBER_DIGITS["blur_px"]) < 0 or not self.coc_px
                       else blur / self.coc_px),
            defocus_um=self.defocus_um(record),
        )

    def to_json(self) -> dict:
        return {
            "input": self.input,
            "measure": self.measure,
            "coc_px": self.coc_px,
            "coc_um": None if self.coc is None or self.coc.coc_um is None else round(self.coc.coc_um, 3),
            "pixel_pitch_um": None if self.coc is None or self.coc.pixel_pitch_um is None else round(self.coc.pixel_pitch_um, 4),
            "noise_sigma": None if self.noise_sigma is None else round(self.noise_sigma, 4),
            "lock_warning": self.lock_warning,
            "dof_mm": None if self.dof is None or not math.isfinite(self.dof.total_mm) else round(self.dof.total_mm, 5),
            "frames": [
                {
                    "index": r.index,
                    "source": r.source,
                    "file": None if r.source is None else Path(r.source).name,
                    "time_s": None if r.time_s is None else round(r.time_s, 4),
                    "sharpness": None if r.reading is None else r.reading.score,
                    **{name: None if value is None else round(value, FRAME_NUMBER_DIGITS[name])
                       for name, value in self.frame_numbers(r).items()},
                    "state": r.state,
                    **({"reason": r.reason} if r.reason else {}),
                    "roi": None if r.roi_px is None else [round(v, 2) for v in r.roi_px],
                    **({"error": r.error} if r.error else {}),
                    **({"last_index": r.last_index} if r.last_index is not None else {}),
                }
                for r in self.frames
            ],
            "best_frame": self.best_frame,
            "lock_frame": self.lock_frame,
        }
