"""The simulated macro bench: a tethered body in live view on a macro setup.

It behaves like a camera on a USB cable (paced JPEG live view, a focus motor driven in
steps with backlash and end stops, aperture/shutter/ISO settings, capture to a folder)
and knows the truth: where focus is and how blurred every pixel is. It is the demo
without a camera and the oracle for the focus engine's tests.

Optics are thin-lens (:mod:`.sim_optics`); the scene is drawn in :mod:`.sim_scene` and
blurred in :mod:`.sim_render`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.frames import Frame
from focuslock.devices.base import CameraError, Capabilities
from focuslock.devices.body_report import BodyFacts, CameraMark, MarkKind, SourceKind
from focuslock.devices.playback import FramePacer
from focuslock.devices.zoom import ZoomError, ZoomWindow
from focuslock.io.files import save_capture
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.bench_link import BenchLink
from focuslock.simulators.sim_motion import crop_at_offset
from focuslock.simulators.sim_render import LayerBlurCache, composite, shared_blur_caches
from focuslock.simulators.sim_scene import Layer, SceneTooFineError, ViewGrid, cached_layers
from focuslock.simulators.sim_sensor import SensorNoise
from focuslock.simulators.sim_settings import BenchSettings
from focuslock.simulators.sim_stage import BenchStage, StepLoss
from focuslock.simulators.sim_truth import BenchTruth, SimTruth

# The configuration (bench_config.py), the cable (bench_link.py), the settings
# (sim_settings.py), the sensor (sim_sensor.py), the subject's place (sim_motion.py) and
# the ground truth (sim_truth.py) have their own modules.
__all__ = ["SimulatedBench"]

# A capture of at most this many pixels keeps its layers' blur ladder for the next
# capture (SimulatedBench._capture_blur_caches): up to ~100 MB at this size.
_KEPT_CAPTURE_LADDER_PX = 1_000_000
# The bench's live-view zooms (as Canon bodies offer: 5× and 10×).
LIVE_VIEW_ZOOMS = (1.0, 5.0, 10.0)


class SimulatedBench(BenchTruth, BenchSettings):
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
        self._zoom_centre_px: tuple[float, float] | None = None  # where it zooms when not told (None: the middle)
        self._clean_bgr: np.ndarray | None = None
        self._all_in_focus_bgr: np.ndarray | None = None
        self._sensor = SensorNoise(self._rng)
        # The rails and turntables on the bench (simulators/sim_stage.py), advanced each frame.
        self.stages: list[BenchStage] = []
        # Moves of the focus drive that do not happen as reported (a lens losing steps).
        self.drive_loss = StepLoss()

    # ------------------------------------------------------------------ geometry
    def set_live_view_zoom(self, zoom: float, centre_px: tuple[float, float] | None = None) -> ZoomWindow:
        """Zoom live view ``zoom``× (1, 5 or 10, as Canon bodies do) on ``centre_px`` of the
        unzoomed view (default: its centre); the window moves inside the view near its
        edges. Returns the window shown."""
        if zoom not in LIVE_VIEW_ZOOMS:
            raise ZoomError(f"The simulated bench zooms live view {', '.join(f'{z:g}×' for z in LIVE_VIEW_ZOOMS)}, not {zoom:g}×.")
        width, height = self.config.live_view_size_px
        window = ZoomWindow.centred_on(zoom, centre_px or self._zoom_centre_px or (width / 2.0, height / 2.0), (width, height))
        before = self._zoom_window, self._zoom_centre_px
        self._zoom_window = None if zoom == 1.0 else window
        if zoom != 1.0:
            self._zoom_centre_px = window.centre_px
        if self._opened:
            # The view changed: its layers are drawn again at the new pitch.
            self.close()
            try:
                self.open()
            except SceneTooFineError:
                self._zoom_window, self._zoom_centre_px = before
                self.open()
                raise ZoomError(f"The simulated bench cannot zoom live view {zoom:g}× at magnification "
                                f"{self.config.magnification:g} (its scene would be drawn finer than it can warp); "
                                "zoom less or lower --magnification.") from None
        return window

    def zoom_frame_px(self) -> tuple[int, int, int, int] | None:
        """The bench's own zoom frame in the unzoomed view: where its first zoom (5×) goes
        when not told where, as a body shows it; None while zoomed."""
        if self._zoom_window is not None:
            return None
        width, height = self.config.live_view_size_px
        window = ZoomWindow.centred_on(LIVE_VIEW_ZOOMS[1], self._zoom_centre_px or (width / 2.0, height / 2.0), (width, height))
        x, y = window.origin_px
        return round(x), round(y), round(width / window.zoom), round(height / window.zoom)

    def body_facts(self) -> BodyFacts:
        """What the bench reports of itself (focuslock.devices.body_report): its zoom frame."""
        frame = self.zoom_frame_px()
        return BodyFacts(SourceKind.SIMULATOR, self.NAME, marks=(CameraMark(MarkKind.ZOOM, frame),) if frame else (),
                         marks_note="" if frame else "zoomed in: the zoom frame shows in the unzoomed view")

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
        width_px = int(round(self.config.sensor_width_mm / self.config.centre_magnification / grid.mm_per_px))
        pitch_um = self.sensor_pixel_pitch_um(width_px)
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
        for stage in self.stages:
            stage.on_frame()
        self._stage_shift_mm = sum(stage.focus_shift_mm for stage in self.stages)
        self._move_subject()
        clean = self._clean_live_view()
        bgr = self._crop_at_offset(clean)
        bgr = self._expose(bgr)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(self.config.jpeg_quality)])
        if not ok:
            raise CameraError("The simulated bench could not encode a live-view frame.")
        # Decoded exactly as a real body's live-view JPEG would be.
        decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
        if decoded is None:
            raise CameraError("The simulated bench could not decode its own live-view frame.")
        rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
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
                **({"camera_zoom_box_px": frame} if (frame := self.zoom_frame_px()) is not None else {}),
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
        """The live-view window of the rendered scene with the subject at its offset."""
        return crop_at_offset(clean, self.subject_offset_px, self.config.live_view_size_px, self.config.motion_margin_px)

    def _expose(self, bgr: np.ndarray, live_view: bool = True) -> np.ndarray:
        """Apply exposure (shutter, ISO, aperture) and sensor noise to a clean render."""
        return self._sensor.expose(bgr, self.exposure_s, self.iso, self.f_number, live_view)

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
        made = int(round(self.drive_loss.made(moved)))  # the body reports ``moved`` whatever the glass did
        taken_up = min(self._backlash_left, abs(made))
        self._backlash_left -= taken_up
        self._lens_position_steps += direction * (abs(made) - taken_up)
        self.focus_position_steps = target
        return moved

    def capture(self, folder: Path, name: Callable[[str], str] | None = None) -> list[Path]:
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
        card_name = f"SIM_{self._capture_number:04d}.JPG"
        return [save_capture(folder, name(card_name) if name is not None else card_name, jpeg.tobytes())]
