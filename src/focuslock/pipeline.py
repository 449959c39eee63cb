"""The standard processing stage of a live session: focus engine, then overlay.

``FramePipeline`` is the processor a :class:`~focuslock.live.LiveSession` calls on
its processing thread for each newest frame; it returns the named results stored in the
``Analysis``: ``"focus"`` (a FocusResult) and ``"display"`` (the RGB image to show).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.frames import Frame
from focuslock.optics.dof import DofResult, OpticsError, depth_of_field
from focuslock.overlay.render import OverlayRenderer, OverlaySettings

__all__ = ["FramePipeline", "OpticsSettings", "PipelineSettings", "optics_for_frame"]


@dataclass(frozen=True)
class OpticsSettings:
    """What the live depth of field is computed with, beyond what frames report.

    ``coc_mm`` None: the conventional CoC of the frame's sensor (diagonal / 1500).
    ``magnification`` or ``focus_distance_mm`` stand in for a body that does not report
    where it focuses; ``focal_length_mm`` for one that does not report its lens.
    """

    coc_mm: float | None = None
    magnification: float | None = None
    focus_distance_mm: float | None = None  # from the lens
    focal_length_mm: float | None = None
    pupil_ratio: float | None = None
    wavelength_nm: float = 550.0


@dataclass(frozen=True, eq=False)
class PipelineSettings:
    focus: FocusSettings = FocusSettings()
    optics: OpticsSettings = OpticsSettings()
    overlay: OverlaySettings = OverlaySettings()
    # The reference image for the ghost (RGB, any size); replaced whole, never changed.
    reference_rgb: Any = None

    def with_focus(self, focus: FocusSettings) -> "PipelineSettings":
        return replace(self, focus=focus)


def optics_for_frame(metadata: Mapping[str, Any], settings: OpticsSettings) -> DofResult | None:
    """The depth of field for a frame's reported settings, or None when too little is known."""
    focal = settings.focal_length_mm or metadata.get("focal_length_mm")
    f_number = metadata.get("f_number")
    if not focal or not f_number:
        return None
    coc = settings.coc_mm
    if coc is None:
        width, height = metadata.get("sensor_width_mm"), metadata.get("sensor_height_mm")
        coc = math.hypot(width, height) / 1500.0 if width and height else 0.030
    pupil = settings.pupil_ratio or metadata.get("pupil_ratio") or 1.0
    distance = settings.focus_distance_mm or metadata.get("focus_distance_mm")
    try:
        if settings.magnification:
            return depth_of_field(focal, f_number, coc, magnification=settings.magnification, pupil_ratio=pupil,
                                  wavelength_nm=settings.wavelength_nm)
        if distance:
            return depth_of_field(focal, f_number, coc, distance_mm=distance, distance_from="lens", pupil_ratio=pupil,
                                  wavelength_nm=settings.wavelength_nm)
    except OpticsError:
        return None  # a camera reporting nonsense must not stop live view
    return None


class FramePipeline:
    """Called on the processing thread only."""

    def __init__(self) -> None:
        self.engine = FocusEngine()
        self.overlay = OverlayRenderer()
        self._optics_key: tuple | None = None
        self._optics: DofResult | None = None

    def __call__(self, frame: Frame, settings: PipelineSettings | None) -> dict:
        settings = settings or PipelineSettings()
        focus = self.engine.process(frame.image, settings.focus, frame.metadata.get("drive_position_steps"))
        optics = self._optics_for(frame, settings.optics)
        display = self.overlay.render(frame.image, focus, settings.focus.peaking, settings.overlay,
                                      reference_rgb=settings.reference_rgb, optics=optics, metadata=frame.metadata,
                                      luma=self.engine.last_grey)
        drift = self.overlay.drift_px if settings.reference_rgb is not None and settings.overlay.ghost_mode != "off" else None
        return {"focus": focus, "display": display, "optics": optics, "drift_px": drift}

    def _optics_for(self, frame: Frame, settings: OpticsSettings) -> DofResult | None:
        meta = frame.metadata
        key = (settings, meta.get("focal_length_mm"), meta.get("f_number"), meta.get("focus_distance_mm"),
               meta.get("sensor_width_mm"), meta.get("pupil_ratio"))
        if key != self._optics_key:  # settings change rarely; frames repeat them
            self._optics_key, self._optics = key, optics_for_frame(meta, settings)
        return self._optics
