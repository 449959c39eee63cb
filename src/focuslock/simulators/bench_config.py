"""The simulated bench's configuration: lens, sensor, focus motor, exposure, live-view
pacing and motion, and the scene (:class:`BenchConfig`), with the named details of the
scene the camera can be aimed at (:func:`landmark_on_view`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from focuslock.simulators.sim_scene import SceneSpec

__all__ = ["MAX_BENCH_MAGNIFICATION", "BenchConfig", "landmark_on_view"]

# The strongest macro lenses (Canon MP-E 65, Laowa 25 mm 2.5–5×) stop at 5:1.
MAX_BENCH_MAGNIFICATION = 5.0


def landmark_on_view(scene: SceneSpec, name: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """A named detail's centre (x, y) and size (width, height) in mm as the camera sees
    it (the target tilted, raised objects shifted up by their height)."""
    tilt = math.radians(scene.tilt_deg)
    cu, cv = scene.coin_centre_mm
    radius = scene.coin_diameter_mm / 2
    du, dv = scene.droplet_centre_mm
    r = scene.droplet_radius_mm
    # (u, v) centre on the plane, (width, height) in mm, height above the plane.
    boxes = {
        "coin-numeral": ((cu, cv - 0.1), (6.0, 7.0), scene.coin_thickness_mm),
        "coin-letters": ((cu, cv - 0.8 * radius), (4.5, 1.6), scene.coin_thickness_mm),
        "droplet-highlight": ((du - 0.35 * r, dv - 0.38 * r), (0.55 * r, 0.45 * r), scene.droplet_height_mm),
        "ruler": ((-22.0, 0.0), (5.0, 4.0), 0.0),
        "star": ((26.0, 18.0), (7.0, 7.0), 0.0),
        "bars": ((25.0, -16.0), (10.0, 3.0), 0.0),
    }
    if name not in boxes:
        raise ValueError(f"The bench has no landmark {name!r}; choose one of {', '.join(boxes)}.")
    (u, v), (width_mm, height_mm), raised_mm = boxes[name]
    return (u, v * math.cos(tilt) - raised_mm * math.sin(tilt)), (width_mm, height_mm * math.cos(tilt))


@dataclass(frozen=True)
class BenchConfig:
    """Everything about the simulated bench. Lengths in mm unless the name says so."""

    # Lens and camera
    focal_length_mm: float = 100.0
    f_number: float = 5.6
    pupil_ratio: float = 1.0
    magnification: float | None = 0.5  # at the scene's origin; or give subject_distance_mm
    subject_distance_mm: float | None = None  # from the lens's front principal plane
    sensor_width_mm: float = 36.0
    sensor_height_mm: float = 24.0
    capture_width_px: int = 6000
    live_view_size_px: tuple[int, int] = (1024, 680)  # (width, height)
    # Where the camera points: the view's centre in mm on the subject (x right, y down
    # the frame) from the scene's origin; at high magnification the view is a few mm
    # wide and must be aimed at the detail to see (BenchConfig.aimed_at).
    view_centre_mm: tuple[float, float] = (0.0, 0.0)
    wavelength_nm: float = 550.0
    # Focus motor: one step moves the plane of focus by step_um at the subject.
    focus_step_um: float = 25.0
    backlash_steps: int = 2
    focus_min_steps: int = -1200
    focus_max_steps: int = 1200
    focus_start_steps: int = 0
    # Exposure and sensor
    exposure_s: float = 1 / 60
    iso: int = 100
    jpeg_quality: int = 85
    # Live view pacing and motion
    frame_rate_hz: float | None = 30.0
    drift_px_per_frame: tuple[float, float] = (0.0, 0.0)
    vibration_px: float = 0.0
    motion_margin_px: int = 48  # how far the subject may move before it bounces back
    scene: SceneSpec = SceneSpec()
    seed: int = 1

    @property
    def centre_magnification(self) -> float:
        """The magnification of the target at the scene's origin."""
        return self.focal_length_mm / (self.subject_distance - self.focal_length_mm)

    def mm_per_px(self, width_px: int) -> float:
        """One pixel's size at the subject (mm) in an image ``width_px`` wide across the sensor."""
        return self.sensor_width_mm / self.centre_magnification / width_px

    def aimed_at(self, landmark: str, fill: float = 0.8) -> BenchConfig:
        """The bench pointed at ``landmark`` when the detail would not lie inside
        ``fill`` of the frame where it is (at high magnification the view is a few mm
        across); unchanged otherwise."""
        (x_mm, y_mm), (width_mm, height_mm) = landmark_on_view(self.scene, landmark)
        width_px, height_px = self.live_view_size_px
        mm_per_px = self.mm_per_px(width_px)
        half_w, half_h = fill * width_px * mm_per_px / 2, fill * height_px * mm_per_px / 2
        cx, cy = self.view_centre_mm
        inside = abs(x_mm - cx) + width_mm / 2 <= half_w and abs(y_mm - cy) + height_mm / 2 <= half_h
        return self if inside else dataclasses.replace(self, view_centre_mm=(x_mm, y_mm))

    def __post_init__(self) -> None:
        _check_positive("focal length", self.focal_length_mm, "mm")
        if self.f_number < 0.5:
            raise ValueError(f"An f-number of {self.f_number} is not possible; use 0.5 or more.")
        _check_positive("pupil ratio", self.pupil_ratio, "")
        if self.magnification is None and self.subject_distance_mm is None:
            raise ValueError("Give the bench a magnification or a subject distance.")
        if self.magnification is not None:
            _check_positive("magnification", self.magnification, "×")
            if self.magnification > MAX_BENCH_MAGNIFICATION:
                raise ValueError(f"The simulated bench goes up to {MAX_BENCH_MAGNIFICATION:g}× magnification "
                                 f"(a 5:1 macro lens), not {self.magnification:g}×.")
        if self.subject_distance_mm is not None and self.subject_distance_mm <= self.focal_length_mm:
            raise ValueError(
                f"A subject distance of {self.subject_distance_mm} mm is inside the focal length "
                f"({self.focal_length_mm} mm); nothing can be focused there."
            )
        width, height = self.live_view_size_px
        if width < 16 or height < 16:
            raise ValueError(f"A live-view size of {width}×{height} px is too small.")
        if self.focus_min_steps > self.focus_start_steps or self.focus_start_steps > self.focus_max_steps:
            raise ValueError("The focus motor must start between its end stops.")

    @property
    def subject_distance(self) -> float:
        """Distance from the lens to the target at the frame centre, mm."""
        if self.subject_distance_mm is not None:
            return float(self.subject_distance_mm)
        assert self.magnification is not None
        return self.focal_length_mm * (1.0 + 1.0 / self.magnification)


def _check_positive(what: str, value: float, unit: str) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"The {what} must be a positive number, got {value}{(' ' + unit) if unit else ''}.")
