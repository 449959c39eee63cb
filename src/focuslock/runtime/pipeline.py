"""The standard processing stage of a live session: focus engine, then overlay.

``FramePipeline`` is the processor a :class:`~focuslock.runtime.live.LiveSession` calls on
its processing thread for each newest frame; it returns a :class:`FrameResult` (the focus
result, the RGB image to show, the depth of field, the ghost's drift, the live view's CoC),
which the session stores in the ``Analysis`` (``analysis.result``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from focuslock.core.frames import Analysis, Frame, FrameInfo
from focuslock.focus.engine import FocusEngine, FocusResult, FocusSettings
from focuslock.optics.coc import LiveViewCoc, coc_in_live_view
from focuslock.optics.dof import DofResult, depth_of_field
from focuslock.optics.lens_limits import OpticsError
from focuslock.overlay.geometry import display_scale
from focuslock.overlay.render import OverlayRenderer
from focuslock.overlay.settings import OverlaySettings

__all__ = ["FramePipeline", "FrameResult", "LiveAnalysis", "OpticsSettings", "PipelineSettings", "live_view_coc",
           "optics_for_frame"]


@dataclass(frozen=True, eq=False)
class FrameResult:
    """What the pipeline learned about one frame; immutable, shared across threads.

    ``focus``: the focus engine's result (the features followed and locked); ``display``:
    the RGB picture to show, the overlay drawn; ``optics``: the depth of field for the
    frame's settings with the CoC that judges it (None when too little is known);
    ``drift_px``: how far the picture lies from the ghost's reference, (dx, dy) in frame
    pixels (None without a ghost); ``coc``: the CoC of this live view in pixels, which judges the lock.
    """

    focus: FocusResult
    display: np.ndarray
    optics: DofResult | None
    drift_px: tuple[float, float] | None
    coc: LiveViewCoc


# What a live session with a FramePipeline publishes for each frame.
LiveAnalysis = Analysis[FrameResult]


@dataclass(frozen=True)
class OpticsSettings:
    """What the live depth of field is computed with, beyond what frames report.

    ``coc_mm`` None: the conventional CoC of the frame's sensor (diagonal / 1500).
    ``magnification`` or ``focus_distance_mm`` stand in for a body that does not report
    where it focuses; ``focal_length_mm`` for one that does not report its lens;
    ``sensor_width_mm``/``sensor_height_mm`` for one that does not report its sensor.
    ``coc_px``: the user's CoC in live-view pixels, instead of the one from the optics.
    """

    coc_mm: float | None = None
    sensor_width_mm: float | None = None
    sensor_height_mm: float | None = None
    coc_px: float | None = None
    magnification: float | None = None
    focus_distance_mm: float | None = None  # from the lens
    focal_length_mm: float | None = None
    pupil_ratio: float | None = None
    wavelength_nm: float = 550.0


@dataclass(frozen=True, eq=False)
class PipelineSettings:
    """Everything the pipeline applies to a frame: focus, optics, overlay and the ghost's reference."""

    focus: FocusSettings = FocusSettings()
    optics: OpticsSettings = OpticsSettings()
    overlay: OverlaySettings = OverlaySettings()
    # The reference image for the ghost (RGB, any size); replaced whole, never changed.
    reference_rgb: Any = None

    def with_focus(self, focus: FocusSettings) -> PipelineSettings:
        return replace(self, focus=focus)


def optics_for_frame(info: FrameInfo, settings: OpticsSettings, coc: LiveViewCoc) -> DofResult | None:
    """The depth of field for a frame's reported settings with the CoC that judges the
    frame (``coc``, from :func:`live_view_coc`), or None when too little is known — also
    when that CoC has no size on the sensor (an unknown sensor): a depth of field drawn
    for another CoC than the one the verdict uses would contradict it."""
    focal = settings.focal_length_mm or info.focal_length_mm
    f_number = info.f_number
    if not focal or not f_number:
        return None
    coc_mm = settings.coc_mm if settings.coc_mm is not None else None if coc.coc_um is None else coc.coc_um / 1000.0
    if coc_mm is None:
        return None
    pupil = settings.pupil_ratio or info.pupil_ratio or 1.0
    distance = settings.focus_distance_mm or info.focus_distance_mm
    try:
        if settings.magnification:
            return depth_of_field(focal, f_number, coc_mm, magnification=settings.magnification, pupil_ratio=pupil,
                                  wavelength_nm=settings.wavelength_nm)
        if distance:
            return depth_of_field(focal, f_number, coc_mm, distance_mm=distance, distance_from="lens", pupil_ratio=pupil,
                                  wavelength_nm=settings.wavelength_nm)
    except OpticsError:
        return None  # a camera reporting nonsense must not stop live view
    return None


def _sensor_mm(info: FrameInfo, settings: OpticsSettings) -> tuple[float | None, float | None]:
    if settings.sensor_width_mm:
        return settings.sensor_width_mm, settings.sensor_height_mm
    return info.sensor_width_mm, info.sensor_height_mm


def live_view_coc(info: FrameInfo, settings: OpticsSettings, live_view_width_px: int) -> LiveViewCoc:
    """The CoC in pixels of this live view: the user's, or the body's CoC through the
    sensor width, the live-view width and the live-view zoom the frame reports."""
    width, height = _sensor_mm(info, settings)
    return coc_in_live_view(live_view_width_px, coc_mm=settings.coc_mm, sensor_width_mm=width, sensor_height_mm=height,
                            zoom=float(info.live_view_zoom or 1.0), user_coc_px=settings.coc_px)


class FramePipeline:
    """Called on the processing thread only. :meth:`close` when done (a live session
    does): it ends the helper thread that prepares the picture."""

    def __init__(self) -> None:
        self.engine = FocusEngine()
        self.overlay = OverlayRenderer()
        self._helper: ThreadPoolExecutor | None = None
        self._optics_key: tuple | None = None
        self._optics: DofResult | None = None
        self._coc_key: tuple | None = None
        self._coc: LiveViewCoc | None = None

    def __call__(self, frame: Frame, settings: PipelineSettings | None) -> FrameResult:
        settings = settings or PipelineSettings()
        coc = self._coc_for(frame, settings.optics)
        focus_settings = settings.focus
        if focus_settings.lock.coc_px != coc.coc_px:
            # The lock judges against the CoC of the optics (taken when it locks).
            focus_settings = replace(focus_settings, lock=replace(focus_settings.lock, coc_px=coc.coc_px))
        picture = self._prepare_beside_the_engine(frame, settings)
        focus = self.engine.process(frame.image, focus_settings, frame.info.drive_position_steps)
        optics = self._optics_for(frame, settings.optics)
        display = self.overlay.render(frame.image, focus, settings.focus.peaking, settings.overlay,
                                      reference_rgb=settings.reference_rgb, optics=optics, metadata=frame.metadata,
                                      luma=self.engine.last_grey, prepared=picture.result() if picture else None)
        drift = self.overlay.drift_px if settings.reference_rgb is not None and settings.overlay.ghost_mode != "off" else None
        return FrameResult(focus=focus, display=display, optics=optics, drift_px=drift, coc=coc)

    def _prepare_beside_the_engine(self, frame: Frame, settings: PipelineSettings) -> Future | None:
        """When the picture is shown smaller than the frame (the window), scaling it and
        drawing the ghost and zebras need nothing from the focus engine: a helper thread
        does that while the engine works, both mostly in OpenCV without the GIL. At 1080p60
        in the window this is what keeps a frame's processing inside its 16.7 ms when the
        decoder and the window want the other core (docs/BENCHMARKS.md). A frame shown at
        its own size (recordings, analyze) is drawn in one piece, as before."""
        if display_scale(frame.image.shape, settings.overlay.display_size_px) >= 1.0:
            return None
        if self._helper is None:
            self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="focuslock-overlay")
        return self._helper.submit(self.overlay.prepare, frame.image, settings.overlay,
                                   reference_rgb=settings.reference_rgb)

    def close(self) -> None:
        """End the helper thread (a later call starts it again)."""
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.shutdown(wait=True)

    def _coc_for(self, frame: Frame, settings: OpticsSettings) -> LiveViewCoc:
        info = frame.info
        key = (settings, frame.width_px, info.sensor_width_mm, info.sensor_height_mm, info.live_view_zoom)
        if key != self._coc_key or self._coc is None:
            self._coc_key, self._coc = key, live_view_coc(info, settings, frame.width_px)
        return self._coc

    def _optics_for(self, frame: Frame, settings: OpticsSettings) -> DofResult | None:
        info = frame.info
        coc = self._coc_for(frame, settings)
        key = (settings, coc, info.focal_length_mm, info.f_number, info.focus_distance_mm, info.pupil_ratio)
        if key != self._optics_key:  # settings change rarely; frames repeat them
            self._optics_key, self._optics = key, optics_for_frame(info, settings, coc)
        return self._optics
