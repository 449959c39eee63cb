"""The optics a take was shot with, as ``analyze`` is given them: the sensor (the CoC in
the take's pixels) and the lens (the depth of field, for the defocus at the subject)."""

from __future__ import annotations

from dataclasses import dataclass

from focuslock.optics.dof import DofResult, LiveViewCoc, OpticsError, coc_in_live_view, depth_of_field
from focuslock.workflows.take_input import AnalysisError

__all__ = ["TakeLens", "TakeSensor"]


@dataclass(frozen=True)
class TakeSensor:
    """The sensor the take was shot with, to derive the CoC in the take's pixels:
    ``coc_mm`` None is the sensor's conventional diagonal / 1500."""

    width_mm: float
    height_mm: float | None = None
    coc_mm: float | None = None

    def coc(self, frame_width_px: int) -> LiveViewCoc:
        return coc_in_live_view(frame_width_px, coc_mm=self.coc_mm, sensor_width_mm=self.width_mm,
                                sensor_height_mm=self.height_mm)


@dataclass(frozen=True)
class TakeLens:
    """The aperture and magnification the take was shot at: with the sensor's CoC they
    give the depth of field, and each blur becomes a distance from the plane of focus.
    The focal length matters little at macro magnifications (the depth of field there
    depends on N·c·(1 + m/p)/m²), hence its default."""

    f_number: float
    magnification: float
    focal_length_mm: float = 100.0
    pupil_ratio: float = 1.0

    def depth_of_field(self, coc_um: float) -> DofResult:
        try:
            return depth_of_field(self.focal_length_mm, self.f_number, coc_um / 1000.0, magnification=self.magnification,
                                  pupil_ratio=self.pupil_ratio)
        except OpticsError as error:
            raise AnalysisError(str(error)) from None
