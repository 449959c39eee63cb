"""The simulated macro bench: a tethered body in live view on a macro setup.

It behaves like a camera on a USB cable (paced JPEG live view, a focus motor driven in
steps with backlash and end stops, aperture/shutter/ISO settings, capture to a folder)
and knows the truth: where focus is and how blurred every pixel is. It is the demo
without a camera and the oracle for the focus engine's tests.

Optics are thin-lens. For an object at distance s (mm from the lens) with focus at s_f::

    v(s) = f·s / (s − f)                     image distance
    m(s) = f / (s − f)                        magnification
    N_w  = N · (1 + m/P)                      working (effective) f-number, P = pupil ratio
    geometric blur diameter on the sensor  = |v(s) − v(s_f)| / N_w
    Airy disk diameter (to the first zero) = 2.44 · λ · N_w

The total blur is reported as the diameter of the disk with the same second moment as
the combined blur: d = 4·sqrt((d_geo/4)² + (0.42·λ·N_w)²).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.devices.base import (
    Capabilities,
    CameraBusyError,
    CameraDisconnectedError,
    CameraError,
    CameraNotFoundError,
    Setting,
    SettingValueError,
)
from focuslock.io.files import save_capture
from focuslock.devices.playback import FramePacer
from focuslock.simulators.sim_render import LayerBlurCache, composite, shared_blur_caches
from focuslock.simulators.sim_scene import Layer, SceneSpec, ViewGrid, cached_layers
from focuslock.devices.zoom import ZoomError, ZoomWindow
from focuslock.core.frames import Frame

__all__ = ["BenchConfig", "BenchLink", "SimulatedBench", "SimTruth"]

F_NUMBERS = ("2.8", "3.5", "4", "5.6", "8", "11", "16", "22", "32")
SHUTTER_SPEEDS = ("1/15", "1/30", "1/60", "1/125", "1/250", "1/500", "1/1000")
ISO_VALUES = ("100", "200", "400", "800", "1600", "3200", "6400", "12800", "25600")

# Sensor noise model in 8-bit units at ISO 100, scaled by the ISO gain: photon shot noise
# (variance proportional to the signal) and read noise.
_SHOT_NOISE_VARIANCE_PER_DN = 0.008
_READ_NOISE_DN = 0.1
# Unit noise is stored as int16 in 1/64 of a standard deviation.
_NOISE_UNIT = 64
# Exposure that renders the target at its designed brightness.
_REFERENCE_EXPOSURE = (1 / 60, 100, 5.6)


# A capture of at most this many pixels keeps its layers' blur ladder for the next
# capture (SimulatedBench._capture_blur_caches): up to ~100 MB at this size.
_KEPT_CAPTURE_LADDER_PX = 1_000_000
# The strongest macro lenses (Canon MP-E 65, Laowa 25 mm 2.5–5×) stop at 5:1.
MAX_BENCH_MAGNIFICATION = 5.0
# The bench's live-view zooms (as Canon bodies offer: 5× and 10×).
LIVE_VIEW_ZOOMS = (1.0, 5.0, 10.0)


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

    def aimed_at(self, landmark: str, fill: float = 0.8) -> "BenchConfig":
        """This bench pointed at ``landmark`` when the detail would not lie inside
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


@dataclass(frozen=True)
class SimTruth:
    """Ground truth of one live-view frame (stored in the frame's metadata)."""

    focus_position_steps: int
    focus_distance_mm: float
    f_number: float
    subject_offset_px: tuple[float, float]

    @classmethod
    def of(cls, frame: Frame) -> "SimTruth":
        try:
            return frame.metadata["sim_truth"]
        except KeyError:
            raise ValueError("This frame did not come from the simulated bench.") from None


class BenchLink:
    """The simulated USB cable, shared by every bench object made for one bench.

    Lets a demo or a test do to the simulated body what happens on set: pull the cable
    (reads fail as a vanished camera does, and opening fails until it is plugged in
    again) or keep the body busy for a number of reads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connected = True
        self._busy_reads = 0

    def unplug(self) -> None:
        self.connected = False

    def plug(self) -> None:
        self.connected = True

    def make_busy(self, reads: int) -> None:
        with self._lock:
            self._busy_reads = int(reads)

    def check(self, opening: bool = False) -> None:
        if not self.connected:
            if opening:
                raise CameraNotFoundError("No camera answers: the simulated bench's cable is unplugged; plug it in again.")
            raise CameraDisconnectedError("The camera stopped answering (cable pulled or body asleep); reconnecting.")
        with self._lock:
            if self._busy_reads > 0:
                self._busy_reads -= 1
                raise CameraBusyError("The camera is busy; trying again.")


class SimulatedBench:
    """A simulated tethered camera on a macro bench. See the module docstring."""

    NAME = "Simulated macro bench"

    def __init__(self, config: BenchConfig | None = None, link: BenchLink | None = None) -> None:
        self.config = config or BenchConfig()
        self.link = link or BenchLink()
        cfg = self.config
        self.name = self.NAME
        self.f_number = float(cfg.f_number)
        self.exposure_s = float(cfg.exposure_s)
        self.iso = int(cfg.iso)
        self.focus_position_steps = int(cfg.focus_start_steps)
        self._lens_position_steps = float(cfg.focus_start_steps)  # where the glass really is
        self._last_direction = 0
        self._backlash_left = 0
        self.subject_offset_px = (0.0, 0.0)
        self._drift_offset_px = (0.0, 0.0)
        self._drift_velocity = tuple(float(v) for v in cfg.drift_px_per_frame)
        self._rng = np.random.default_rng(cfg.seed)
        self._pacer = FramePacer(cfg.frame_rate_hz)
        self._sequence = 0
        self._capture_number = 0
        self._capture_ladder: tuple[ViewGrid, list[LayerBlurCache]] | None = None
        self._opened = False
        self._caches: list[LayerBlurCache] | None = None
        self._grid: ViewGrid | None = None
        self._render_key: tuple | None = None
        self._zoom_window: ZoomWindow | None = None
        self._clean_bgr: np.ndarray | None = None
        self._all_in_focus_bgr: np.ndarray | None = None
        self._noise = np.empty((1, 1, 3), np.int16)
        self._noise_lut = np.zeros(256, np.int16)
        self._noise_lut_key: int | None = None

    # ------------------------------------------------------------------ geometry
    @property
    def live_view_grid(self) -> ViewGrid:
        """The live-view pixel grid, before the margin for subject motion (zoomed: the
        zoom window's part of the unzoomed view, at the zoom's finer pitch)."""
        width, height = self.config.live_view_size_px
        cx, cy = self.config.view_centre_mm
        mm_per_px = self.config.mm_per_px(width)
        zoom = self._zoom_window
        if zoom is None or zoom.zoom == 1.0:
            return ViewGrid(width, height, mm_per_px, cx, cy)
        # The window's centre, in the unzoomed view's edge coordinates, as mm.
        centre_col, centre_row = zoom.centre_px
        return ViewGrid(width, height, mm_per_px / zoom.zoom, cx + (centre_col - width / 2) * mm_per_px,
                        cy + (centre_row - height / 2) * mm_per_px)

    @property
    def live_view_zoom(self) -> float:
        return 1.0 if self._zoom_window is None else self._zoom_window.zoom

    def live_view_pitch_um(self) -> float:
        """The sensor's width per live-view pixel (µm), at the present zoom."""
        return self.sensor_pixel_pitch_um(self.config.live_view_size_px[0]) / self.live_view_zoom

    def set_live_view_zoom(self, zoom: float, centre_px: tuple[float, float] | None = None) -> ZoomWindow:
        """Zoom live view ``zoom``× (1, 5 or 10, as Canon bodies do) on ``centre_px`` of the
        unzoomed view (default: its centre); the window moves inside the view near its
        edges. Returns the window shown."""
        if zoom not in LIVE_VIEW_ZOOMS:
            raise ZoomError(f"The simulated bench zooms live view {', '.join(f'{z:g}×' for z in LIVE_VIEW_ZOOMS)}, not {zoom:g}×.")
        width, height = self.config.live_view_size_px
        window = ZoomWindow.centred_on(zoom, centre_px or (width / 2.0, height / 2.0), (width, height))
        self._zoom_window = None if zoom == 1.0 else window
        if self._opened:
            # The view changed: its layers are drawn again at the new pitch.
            self.close()
            self.open()
        return window

    @property
    def focus_distance_mm(self) -> float:
        """Where the plane of focus is, mm from the lens (the truth, after backlash)."""
        cfg = self.config
        return cfg.subject_distance + self._lens_position_steps * cfg.focus_step_um / 1000.0

    def focus_distance_at(self, position_steps: float) -> float:
        cfg = self.config
        return cfg.subject_distance + position_steps * cfg.focus_step_um / 1000.0

    def position_for_distance(self, distance_mm: float) -> float:
        """The motor position (steps, with no backlash) that focuses at ``distance_mm``."""
        cfg = self.config
        return (distance_mm - cfg.subject_distance) * 1000.0 / cfg.focus_step_um

    # -------------------------------------------------------------------- optics
    def blur_diameter_um(self, depth_mm: np.ndarray | float, focus_distance_mm: float | None = None,
                         f_number: float | None = None) -> np.ndarray:
        """Total blur diameter on the sensor (µm) of objects at ``depth_mm``."""
        geometric_um, diffraction_sigma_um = self._blur_components_um(depth_mm, focus_distance_mm, f_number)
        return 4.0 * np.sqrt((geometric_um / 4.0) ** 2 + diffraction_sigma_um**2)

    def geometric_blur_um(self, depth_mm: np.ndarray | float, focus_distance_mm: float | None = None,
                          f_number: float | None = None) -> np.ndarray:
        return self._blur_components_um(depth_mm, focus_distance_mm, f_number)[0]

    def _blur_components_um(self, depth_mm, focus_distance_mm, f_number):
        cfg = self.config
        f = cfg.focal_length_mm
        s_f = self.focus_distance_mm if focus_distance_mm is None else focus_distance_mm
        n = self.f_number if f_number is None else f_number
        s = np.asarray(depth_mm, dtype=np.float64)
        v = f * s / (s - f)
        v_f = f * s_f / (s_f - f)
        m = f / (s - f)
        working_n = n * (1.0 + m / cfg.pupil_ratio)
        geometric_um = np.abs(v - v_f) / working_n * 1000.0
        diffraction_sigma_um = 0.42 * cfg.wavelength_nm * 1e-3 * working_n
        return geometric_um, diffraction_sigma_um

    def sensor_pixel_pitch_um(self, width_px: int) -> float:
        return self.config.sensor_width_mm * 1000.0 / width_px

    # ------------------------------------------------------------- Camera protocol
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            live_view=True,
            focus_drive=True,
            capture=True,
            settings=("aperture", "shutterspeed", "iso"),
            finite=False,
            frame_rate_hz=self.config.frame_rate_hz,
            live_view_zooms=LIVE_VIEW_ZOOMS,
            notes=("Simulated: a tilted printed target, a coin and a water droplet on a macro bench.",),
        )

    def open(self) -> None:
        if self._opened:
            return
        self.link.check(opening=True)
        grid = self.live_view_grid
        margin = self.config.motion_margin_px
        self._grid = ViewGrid(grid.width_px + 2 * margin, grid.height_px + 2 * margin, grid.mm_per_px,
                              grid.centre_x_mm, grid.centre_y_mm)
        self._caches = shared_blur_caches(self._build_layers(self._grid))
        self._render_key = None
        self._opened = True

    def close(self) -> None:
        self._opened = False
        self._caches = None
        self._capture_ladder = None
        self._clean_bgr = None
        self._all_in_focus_bgr = None

    def _build_layers(self, grid: ViewGrid) -> list[Layer]:
        # Raised objects need room for their blurred rims: the largest blur on the bench.
        margin_mm = 40 * grid.mm_per_px
        return cached_layers(self.config.scene, grid, self.config.subject_distance, margin_mm)

    def _capture_blur_caches(self, grid: ViewGrid) -> list[LayerBlurCache]:
        """The layers' blur ladders for a capture. A small capture (a stack on the bench:
        dozens of frames of one view at other focus positions) keeps its ladder for the
        next one; a larger one blurs afresh and keeps nothing (its ladder could hold
        gigabytes)."""
        if grid.width_px * grid.height_px > _KEPT_CAPTURE_LADDER_PX:
            return [LayerBlurCache(layer, keep=False) for layer in self._capture_layers(grid)]
        if self._capture_ladder is None or self._capture_ladder[0] != grid:
            self._capture_ladder = (grid, [LayerBlurCache(layer) for layer in self._capture_layers(grid)])
        return self._capture_ladder[1]

    def _capture_layers(self, grid: ViewGrid) -> list[Layer]:
        """The scene's layers for a capture: a small capture (a stack on the bench: dozens
        of frames of one view) reuses the drawing; a full-size capture's layers would hold
        a quarter of a gigabyte and are drawn again each time (sim_scene.cached_layers)."""
        return self._build_layers(grid)

    def _sigma_maps_px(self, caches: list[LayerBlurCache], grid: ViewGrid, focus_distance_mm: float) -> list[np.ndarray]:
        pitch_um = self.sensor_pixel_pitch_um(int(round(self.config.sensor_width_mm / self.config.centre_magnification / grid.mm_per_px)))
        maps = []
        for cache in caches:
            diameter_um = self.blur_diameter_um(cache.layer.depth_mm, focus_distance_mm)
            maps.append((diameter_um / pitch_um / 4.0).astype(np.float32))
        return maps

    def read_frame(self) -> Frame:
        if not self._opened:
            raise CameraError("The simulated bench is not open.")
        self._pacer.wait()
        self.link.check()
        self._move_subject()
        clean = self._clean_live_view()
        bgr = self._crop_at_offset(clean)
        bgr = self._expose(bgr)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(self.config.jpeg_quality)])
        if not ok:
            raise CameraError("The simulated bench could not encode a live-view frame.")
        # Decoded exactly as a real body's live-view JPEG would be.
        rgb = cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        truth = SimTruth(
            focus_position_steps=self.focus_position_steps,
            focus_distance_mm=self.focus_distance_mm,
            f_number=self.f_number,
            subject_offset_px=self.subject_offset_px,
        )
        frame = Frame(
            sequence=self._sequence,
            timestamp_s=time.monotonic(),
            image=rgb,
            metadata={
                "source_kind": "sim",
                "f_number": self.f_number,
                "exposure_s": self.exposure_s,
                "iso": self.iso,
                "focal_length_mm": self.config.focal_length_mm,
                # What a body with a lens that reports its focus distance would tell
                # (from the lens's front principal plane, like the thin-lens model).
                "focus_distance_mm": self.focus_distance_mm,
                "sensor_width_mm": self.config.sensor_width_mm,
                "sensor_height_mm": self.config.sensor_height_mm,
                "pupil_ratio": self.config.pupil_ratio,
                "jpeg_bytes": len(jpeg),
                **(self._zoom_window.metadata() if self._zoom_window is not None else {}),
                "sim_truth": truth,
            },
        )
        self._sequence += 1
        return frame

    def _clean_live_view(self) -> np.ndarray:
        key = (self.focus_distance_mm, self.f_number)
        if key != self._render_key or self._clean_bgr is None:
            assert self._caches is not None and self._grid is not None
            sigmas = self._sigma_maps_px(self._caches, self._grid, self.focus_distance_mm)
            self._clean_bgr = composite(self._caches, sigmas)
            self._render_key = key
        return self._clean_bgr

    def _move_subject(self) -> None:
        """Advance the subject's drift by one frame and add this frame's vibration."""
        cfg = self.config
        limit = float(cfg.motion_margin_px)
        (dx, dy), (vx, vy) = self._drift_offset_px, self._drift_velocity
        dx, dy = dx + vx, dy + vy
        # Drift bounces at the margin so that the subject never leaves the rendered area.
        if abs(dx) > limit:
            vx, dx = -vx, math.copysign(2 * limit - abs(dx), dx)
        if abs(dy) > limit:
            vy, dy = -vy, math.copysign(2 * limit - abs(dy), dy)
        self._drift_velocity = (vx, vy)
        self._drift_offset_px = (dx, dy)
        if cfg.vibration_px > 0:
            jitter_x, jitter_y = self._rng.normal(0.0, cfg.vibration_px, 2)
            dx = float(np.clip(dx + jitter_x, -limit, limit))
            dy = float(np.clip(dy + jitter_y, -limit, limit))
        self.subject_offset_px = (dx, dy)

    def set_subject_offset(self, dx_px: float, dy_px: float) -> None:
        """Put the subject at an offset (px) from its home position, e.g. to test tracking."""
        limit = float(self.config.motion_margin_px)
        if abs(dx_px) > limit or abs(dy_px) > limit:
            raise ValueError(f"The subject can move at most {limit:g} px from home on this bench.")
        self.subject_offset_px = self._drift_offset_px = (float(dx_px), float(dy_px))

    def _crop_at_offset(self, clean: np.ndarray) -> np.ndarray:
        """The live-view window of the rendered scene with the subject moved by its offset
        (content moves right/down for positive offsets)."""
        width, height = self.config.live_view_size_px
        margin = self.config.motion_margin_px
        dx, dy = self.subject_offset_px
        whole_x, whole_y = math.floor(dx), math.floor(dy)
        frac_x, frac_y = dx - whole_x, dy - whole_y
        if frac_x == 0 and frac_y == 0:
            r0, c0 = margin - whole_y, margin - whole_x
            return clean[r0 : r0 + height, c0 : c0 + width]
        # Sub-pixel motion with an 8-tap Lanczos filter: it keeps over 90 % of the fine
        # detail at a half-pixel shift where bicubic keeps 68 % and bilinear 35 %, so a
        # vibrating subject does not read as a focus change.
        pad = _LANCZOS_TAPS // 2
        r0, c0 = margin - whole_y - pad, margin - whole_x - pad
        region = clean[max(r0, 0) : r0 + height + 2 * pad, max(c0, 0) : c0 + width + 2 * pad]
        if region.shape[:2] != (height + 2 * pad, width + 2 * pad):
            region = cv2.copyMakeBorder(region, max(-r0, 0), height + 2 * pad - region.shape[0] - max(-r0, 0),
                                        max(-c0, 0), width + 2 * pad - region.shape[1] - max(-c0, 0), cv2.BORDER_REFLECT)
        shifted = cv2.sepFilter2D(region, -1, _lanczos_kernel(frac_x), _lanczos_kernel(frac_y),
                                  anchor=(pad - 1, pad - 1), borderType=cv2.BORDER_REFLECT)
        return shifted[pad : pad + height, pad : pad + width]

    def _expose(self, bgr: np.ndarray, live_view: bool = True) -> np.ndarray:
        """Apply exposure (shutter, ISO, aperture) and sensor noise to a clean render."""
        t0, iso0, n0 = _REFERENCE_EXPOSURE
        gain = (self.exposure_s / t0) * (self.iso / iso0) * (n0 / self.f_number) ** 2
        exposed = cv2.convertScaleAbs(bgr, alpha=gain)  # saturates at 255 like a sensor
        if self._noise_lut_key != self.iso:
            # Noise σ per 8-bit level, in 1/16 DN: shot noise grows with the signal, read
            # noise does not, and both scale with the ISO gain.
            iso_gain = self.iso / 100.0
            level = np.arange(256, dtype=np.float64)
            sigma_dn = np.sqrt(_SHOT_NOISE_VARIANCE_PER_DN * level * iso_gain + (_READ_NOISE_DN * iso_gain) ** 2)
            self._noise_lut = np.round(sigma_dn * 16).astype(np.int16)
            self._noise_lut_key = self.iso
        sigma = cv2.LUT(exposed, self._noise_lut)
        # Integer arithmetic with saturation throughout: a fifth of the float version's time.
        noise = cv2.multiply(self._unit_noise(exposed.shape, live_view), sigma, scale=1.0 / (_NOISE_UNIT * 16), dtype=cv2.CV_16S)
        return cv2.add(exposed, noise, dtype=cv2.CV_8U)

    def _unit_noise(self, shape: tuple[int, ...], live_view: bool) -> np.ndarray:
        """Unit Gaussian noise of ``shape`` as int16 in units of 1/_NOISE_UNIT.

        Live view takes a random window of a larger field drawn once (fresh noise for
        2 M values costs a quarter of a frame); frame-to-frame noise is still independent
        wherever a measurement looks, with 62² different windows.
        """
        height, width, channels = shape
        pad = 61
        bank_shape = (height + pad, width + pad, channels)
        if not live_view or self._noise.shape != bank_shape:
            # NumPy's generator, seeded per bench: the same bench gives the same grain
            # whatever else ran before (OpenCV's randn shares one global state).
            noise = self._rng.standard_normal(bank_shape if live_view else shape, dtype=np.float32)
            # Demosaicing spreads sensor noise over neighbouring pixels; the grain that
            # results survives the live-view JPEG, as on a real body at high ISO.
            noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
            noise = np.clip(noise * (_NOISE_UNIT / float(noise.std())), -32000, 32000).astype(np.int16)
            if not live_view:  # a full-size capture: fresh noise, used once, not kept
                return noise
            self._noise = noise
        row, col = self._rng.integers(0, pad + 1, 2)
        return self._noise[row : row + height, col : col + width]

    def drive_focus(self, steps: int) -> int:
        """Move the focus motor; positive steps focus farther. Returns the steps moved.

        The motor stops at its end stops (fewer steps are reported). On a change of
        direction the first ``backlash_steps`` move the motor but not the glass, as in
        a real helicoid: the camera reports them, the image does not change.
        """
        self.link.check()
        cfg = self.config
        steps = int(steps)
        if steps == 0:
            return 0
        target = int(np.clip(self.focus_position_steps + steps, cfg.focus_min_steps, cfg.focus_max_steps))
        moved = target - self.focus_position_steps
        if moved == 0:
            return 0
        direction = 1 if moved > 0 else -1
        if direction != self._last_direction and self._last_direction != 0:
            self._backlash_left = cfg.backlash_steps
        self._last_direction = direction
        taken_up = min(self._backlash_left, abs(moved))
        self._backlash_left -= taken_up
        self._lens_position_steps += direction * (abs(moved) - taken_up)
        self.focus_position_steps = target
        return moved

    def capture(self, folder: Path) -> list[Path]:
        """Render the scene at full sensor resolution and save it as a JPEG."""
        self.link.check()
        folder = Path(folder)
        cfg = self.config
        width = int(cfg.capture_width_px)
        height = int(round(width * cfg.sensor_height_mm / cfg.sensor_width_mm))
        grid = ViewGrid(width, height, self.config.mm_per_px(width))
        dx, dy = self.subject_offset_px
        live = self.live_view_grid
        # The subject's offset in live-view pixels moves the capture's view the other way.
        grid = dataclasses.replace(grid, centre_x_mm=live.centre_x_mm - dx * live.mm_per_px,
                                   centre_y_mm=live.centre_y_mm - dy * live.mm_per_px)
        caches = self._capture_blur_caches(grid)
        pitch_um = self.sensor_pixel_pitch_um(width)
        sigmas = [(self.blur_diameter_um(c.layer.depth_mm) / pitch_um / 4.0).astype(np.float32) for c in caches]
        bgr = self._expose(composite(caches, sigmas), live_view=False)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise CameraError("The simulated bench could not encode the capture.")
        self._capture_number += 1
        return [save_capture(folder, f"SIM_{self._capture_number:04d}.JPG", jpeg.tobytes())]

    def get_settings(self) -> dict[str, Setting]:
        return {
            "aperture": Setting("aperture", "Aperture", _format_f_number(self.f_number), F_NUMBERS),
            "shutterspeed": Setting("shutterspeed", "Shutter speed", _format_shutter(self.exposure_s), SHUTTER_SPEEDS),
            "iso": Setting("iso", "ISO", str(self.iso), ISO_VALUES),
        }

    def set_setting(self, name: str, value: str) -> None:
        value = str(value).strip()
        if name == "aperture":
            text = value.lower().removeprefix("f/")
            if text not in F_NUMBERS:
                raise SettingValueError(f"The bench's lens has no aperture f/{text}; choose one of {', '.join(F_NUMBERS)}.")
            self.f_number = float(text)
        elif name == "shutterspeed":
            if value not in SHUTTER_SPEEDS:
                raise SettingValueError(f"{value} is not a shutter speed of the bench; choose one of {', '.join(SHUTTER_SPEEDS)}.")
            numerator, denominator = value.split("/")
            self.exposure_s = float(numerator) / float(denominator)
        elif name == "iso":
            if value not in ISO_VALUES:
                raise SettingValueError(f"ISO {value} is not available; choose one of {', '.join(ISO_VALUES)}.")
            self.iso = int(value)
        else:
            raise SettingValueError(f"The simulated bench has no setting called {name!r}.")

    # ---------------------------------------------------------------- ground truth
    def truth_blur_map_um(self, frame: Frame | None = None) -> np.ndarray:
        """Total blur diameter on the sensor (µm) of what each pixel of a frame shows.

        Where a raised object covers the target more than half, its blur counts.
        """
        truth = SimTruth.of(frame) if frame is not None else None
        focus = truth.focus_distance_mm if truth else self.focus_distance_mm
        f_number = truth.f_number if truth else self.f_number
        offset = truth.subject_offset_px if truth else self.subject_offset_px
        blur_um = self.blur_diameter_um(self._visible_depth_mm(), focus, f_number).astype(np.float32)
        return self._crop_at(blur_um, offset)

    def truth_blur_map_px(self, frame: Frame | None = None) -> np.ndarray:
        """Total blur diameter in live-view pixels of what each pixel of a frame shows."""
        return self.truth_blur_map_um(frame) / self.live_view_pitch_um()

    def pixel_blur_um(self, x_px: int, y_px: int, frame: Frame | None = None) -> float:
        """Total blur diameter (µm on the sensor) at one live-view pixel."""
        return float(self.truth_blur_map_um(frame)[y_px, x_px])

    def region_blur_um(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Median total blur diameter (µm on the sensor) inside ``roi_px`` = (x, y, w, h)."""
        x, y, w, h = roi_px
        return float(np.median(self.truth_blur_map_um(frame)[y : y + h, x : x + w]))

    def truth_depth_map_mm(self, frame: Frame | None = None) -> np.ndarray:
        """Distance from the lens (mm) of what each pixel of a frame shows."""
        offset = SimTruth.of(frame).subject_offset_px if frame is not None else self.subject_offset_px
        return self._crop_at(self._visible_depth_mm(), offset)

    def region_blur_px(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Median total blur diameter (live-view px) inside ``roi_px`` = (x, y, w, h)."""
        x, y, w, h = roi_px
        return float(np.median(self.truth_blur_map_px(frame)[y : y + h, x : x + w]))

    def region_defocus_blur_px(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Median geometric defocus blur diameter (live-view px, diffraction left out)
        inside ``roi_px``: what the CoC criterion and the focus verdict judge."""
        x, y, w, h = roi_px
        truth = SimTruth.of(frame) if frame is not None else None
        depth = self.truth_depth_map_mm(frame)[y : y + h, x : x + w]
        geometric_um = self.geometric_blur_um(depth, truth.focus_distance_mm if truth else None, truth.f_number if truth else None)
        return float(np.median(geometric_um)) / self.live_view_pitch_um()

    def best_focus_position_steps(self, roi_px: tuple[int, int, int, int], frame: Frame | None = None) -> float:
        """Motor position (steps, no backlash) that best focuses a region's detail.

        A region on a tilted subject spans a range of depths; what a focus measure sees
        is its detail, so the depths are weighted by the detail (Laplacian energy) of the
        all-in-focus picture there.
        """
        x, y, w, h = roi_px
        depth = self.truth_depth_map_mm(frame)[y : y + h, x : x + w].astype(np.float64)
        grey = cv2.cvtColor(self.all_in_focus(frame)[y : y + h, x : x + w], cv2.COLOR_RGB2GRAY).astype(np.float32)
        weights = cv2.Laplacian(grey, cv2.CV_32F).astype(np.float64) ** 2 + 1e-6
        return self.position_for_distance(float((depth * weights).sum() / weights.sum()))

    def all_in_focus(self, frame: Frame | None = None) -> np.ndarray:
        """The scene with every depth in focus (no blur, noise or JPEG), as RGB."""
        if not self._opened:
            self.open()
        assert self._caches is not None
        if self._all_in_focus_bgr is None:
            zero = [np.zeros(cache.layer.depth_mm.shape, np.float32) for cache in self._caches]
            self._all_in_focus_bgr = composite(self._caches, zero)
        offset = SimTruth.of(frame).subject_offset_px if frame is not None else self.subject_offset_px
        return cv2.cvtColor(np.ascontiguousarray(self._crop_at(self._all_in_focus_bgr, offset)), cv2.COLOR_BGR2RGB)

    LANDMARKS = ("coin-numeral", "coin-letters", "droplet-highlight", "ruler", "star", "bars")

    def landmark_roi_px(self, name: str) -> tuple[int, int, int, int]:
        """A live-view box (x, y, w, h) around a named detail of the scene at its home
        position: ``coin-numeral``, ``coin-letters`` (engraved letters at the top of the
        rim), ``droplet-highlight``, ``ruler``, ``star``, ``bars``."""
        (x_mm, y_mm), (width_mm, height_mm) = landmark_on_view(self.config.scene, name)
        grid = self.live_view_grid
        col, row = grid.to_px(x_mm, y_mm)
        w = width_mm / grid.mm_per_px
        h = height_mm / grid.mm_per_px
        return int(round(col - w / 2)), int(round(row - h / 2)), max(8, int(round(w))), max(8, int(round(h)))

    def _visible_depth_mm(self) -> np.ndarray:
        if not self._opened:
            self.open()
        assert self._caches is not None
        depth = self._caches[0].layer.full_depth_mm().copy()
        for cache in self._caches[1:]:
            layer = cache.layer
            covered = layer.coverage >= 128
            region = depth[layer.rows, layer.cols]
            region[covered] = layer.full_depth_mm()[covered]
        return depth

    def _crop_at(self, full: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
        width, height = self.config.live_view_size_px
        margin = self.config.motion_margin_px
        dx, dy = int(round(offset[0])), int(round(offset[1]))
        return full[margin - dy : margin - dy + height, margin - dx : margin - dx + width]


_LANCZOS_TAPS = 8


def _lanczos_kernel(shift_px: float) -> np.ndarray:
    """Taps that resample a row at ``x − shift_px`` (moving content by +shift_px)."""
    half = _LANCZOS_TAPS // 2
    offsets = np.arange(-half + 1, half + 1, dtype=np.float64) + shift_px
    taps = np.sinc(offsets) * np.sinc(offsets / half)
    return (taps / taps.sum()).astype(np.float32)


def _format_f_number(f_number: float) -> str:
    return f"{f_number:g}"


def _format_shutter(exposure_s: float) -> str:
    if exposure_s >= 1:
        return f"{exposure_s:g}"
    return f"1/{round(1 / exposure_s)}"
