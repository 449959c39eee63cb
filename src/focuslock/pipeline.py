"""The standard processing stage of a live session: focus engine, then overlay.

``FramePipeline`` is the processor a :class:`~focuslock.live.LiveSession` calls on
its processing thread for each newest frame; it returns the named results stored in the
``Analysis``: ``"focus"`` (a FocusResult) and ``"display"`` (the RGB image to show).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.frames import Frame
from focuslock.overlay.focus_layer import draw_focus_layer

__all__ = ["FramePipeline", "PipelineSettings"]


@dataclass(frozen=True)
class PipelineSettings:
    focus: FocusSettings = FocusSettings()

    def with_focus(self, focus: FocusSettings) -> "PipelineSettings":
        return replace(self, focus=focus)


class FramePipeline:
    """Called on the processing thread only."""

    def __init__(self) -> None:
        self.engine = FocusEngine()

    def __call__(self, frame: Frame, settings: PipelineSettings | None) -> dict:
        settings = settings or PipelineSettings()
        focus = self.engine.process(frame.image, settings.focus, frame.metadata.get("drive_position_steps"))
        display = draw_focus_layer(frame.image, focus, settings.focus.peaking)
        return {"focus": focus, "display": display}
