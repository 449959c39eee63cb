"""``analyze --overlay-video``: the take as an MP4 with the overlays live view draws."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.peaking import FOCUS_MAP_DISPLAY
from focuslock.io.files import SaveError, move_into_place, save_error_for
from focuslock.io.recording import RecordingError, VideoRecorder
from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.overlay.focus_map_layer import FocusMapLayer
from focuslock.overlay.hud import draw_text_panel
from focuslock.overlay.render import OverlayRenderer
from focuslock.overlay.settings import OverlaySettings
from focuslock.workflows.take_input import AnalysisError

__all__ = ["OVERLAY_MODES", "OverlayVideoWriter"]


# What an overlay video paints: peaking, or the focus map (focuslock.focus.focus_map:
# which parts of each frame lie within the depth of field).
OVERLAY_MODES = ("peaking", FOCUS_MAP_DISPLAY)


class OverlayVideoWriter:
    """The take as an MP4 drawn by the same overlay renderer as live view: peaking (or,
    with ``overlay`` "focus-map", the focus map), the feature's box in its state colour,
    the verdict. Written under a hidden temporary name beside ``path`` and renamed into
    place when complete (after the outputs were checked: never over an input, over an
    existing file only with ``--force``)."""

    def __init__(self, path: Path, frame_rate_hz: float, overlay: str = "peaking") -> None:
        self.path = Path(path)
        self.temporary = self.path.with_name(f".{self.path.stem}.part{self.path.suffix or '.mp4'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AnalysisError(str(save_error_for(error, self.path.name, self.path.parent))) from None
        self.recorder = VideoRecorder(self.temporary, frame_rate_hz)
        self.renderer = OverlayRenderer()
        self.focus_map = overlay == FOCUS_MAP_DISPLAY
        if self.focus_map:
            # Every frame, every reference built as it is due: a file has no frame budget,
            # and the same take gives the same video.
            self.renderer.focus_map = FocusMapLayer.offline()

    def write(self, rgb: np.ndarray, result, settings: FocusSettings, engine: FocusEngine) -> None:
        peaking = dataclasses.replace(settings.peaking, display=FOCUS_MAP_DISPLAY) if self.focus_map else settings.peaking
        out = self.renderer.render(rgb, result, peaking, OverlaySettings(), luma=engine.last_grey)
        if result.lock is not None:
            # With the focus map, its legend holds the bottom of the frame.
            out = draw_text_panel(out, [result.lock.describe()], corner="top-left" if self.focus_map else "bottom-left",
                                  colour_rgb=STATE_COLOURS_RGB.get(result.lock.state.value, (255, 255, 255)))
        try:
            self.recorder.write(out)
        except RecordingError as error:
            raise AnalysisError(f"{error} The overlay video is left as {self.temporary}.") from None

    def close(self, complete: bool = True) -> None:
        segments = self.recorder.close()
        if complete and segments:
            try:
                move_into_place(self.temporary, self.path)
            except SaveError as error:
                raise AnalysisError(str(error)) from None
