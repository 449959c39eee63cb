"""The live view's settings as the window sets them, and the newest analysis it shows:
the features followed and locked, the overlay, the reference picture."""

from __future__ import annotations

from dataclasses import replace

from PySide6 import QtCore

from focuslock.core.frames import Analysis
from focuslock.overlay.settings import GHOST_MODES, overlay_choices, with_overlay_choices
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import PipelineSettings
from focuslock.ui.frame_view import UNSCALED_SLACK_PX
from focuslock.ui.settings_store import SettingsStore

__all__ = ["LiveViewController"]

_HISTOGRAMS = {"off": "luma", "luma": "rgb", "rgb": "off"}
_LOUPE_ZOOMS = {0: 2, 2: 4, 4: 8, 8: 0}


class LiveViewController(QtCore.QObject):
    """What the live session is asked to do with each frame, and the newest frame it did it
    to. ``settings`` is the window's copy of the session's settings: every change goes
    through :meth:`apply`, which sends it and remembers the overlay choices in ``store``."""

    # A sentence for the status line (a feature more, a lock refused, the sound's switch).
    message = QtCore.Signal(str)
    # A new feature or a new lock: the sharpness history starts again.
    historyCleared = QtCore.Signal()

    def __init__(self, session: LiveSession, settings: PipelineSettings, store: SettingsStore,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.store = store
        self.last_analysis: Analysis | None = None
        self._last_sequence: int | None = None
        # Only a JSON true turns it on: bool("false") of a hand-edited file is True.
        self.beep_on_soft = store.get("beep_on_soft", False) is True
        self.loupe_under_pointer = False
        # The camera's live-view zoom now (the ZoomController sets it): the box's pixels.
        self.live_view_zoom = 1.0

    # ----------------------------------------------------------------- frames
    def newest(self) -> tuple[Analysis | None, bool]:
        """The session's newest analysis (None before the first), and whether it is of a
        frame not seen yet (it then becomes :attr:`last_analysis`). A peek: never waits."""
        analysis = self.session.latest_analysis()
        if analysis is None or analysis.frame.sequence == self._last_sequence:
            return analysis, False
        self._last_sequence = analysis.frame.sequence
        self.last_analysis = analysis
        return analysis, True

    def focus_status(self):
        """The focus result of the last frame shown (focuslock.focus.engine), or None."""
        result = self.last_analysis.result if self.last_analysis is not None else None
        return result.focus if result is not None else None

    def box_now(self) -> tuple[int, int, int, int] | None:
        """The feature's box now (where the tracker has it), in the present view's pixels;
        the box as chosen while no frame of the present zoom has been analysed yet."""
        chosen = self.settings.focus.roi_px
        if chosen is None:
            return None
        analysis = self.last_analysis
        status = self.focus_status()
        zoom_of_frame = float(analysis.frame.info.live_view_zoom or 1.0) if analysis is not None else None
        if status is None or status.roi_px is None or zoom_of_frame != self.live_view_zoom:
            x, y, w, h = chosen
            return int(x), int(y), int(w), int(h)
        x, y, w, h = status.roi_px
        return int(round(x)), int(round(y)), int(round(w)), int(round(h))

    # -------------------------------------------------------------- features
    def apply(self, settings: PipelineSettings) -> None:
        """Use ``settings`` from the next frame on (and remember the overlay choices)."""
        self.settings = settings
        self.session.set_settings(settings)
        self.remember()

    def choose_feature(self, x: int, y: int, w: int, h: int) -> None:
        """Follow the feature in this box (a new choice drops any lock)."""
        self.apply(replace(self.settings, focus=self.settings.focus.follow((x, y, w, h))))
        self.historyCleared.emit()

    def follow_nothing(self) -> None:
        """Follow no feature (a box that no longer fits the view)."""
        self.apply(replace(self.settings, focus=self.settings.focus.follow(None)))

    def add_feature(self, x: int, y: int, w: int, h: int) -> None:
        """Also follow the feature in this box (locked at once when the others are);
        rack focus through them all to place them in depth."""
        try:
            focus = self.settings.focus.add_feature((x, y, w, h))
        except ValueError as error:
            self.message.emit(str(error))
            return
        self.apply(replace(self.settings, focus=focus))
        self.message.emit(f"{len(focus.more_roi_px) + 1} features followed; rack focus through them to place them in depth.")

    def clear_added_features(self) -> None:
        """Follow the first feature only."""
        self.apply(replace(self.settings, focus=self.settings.focus.without_more_features()))

    def toggle_lock(self) -> None:
        """Lock on the followed feature, or unlock."""
        focus = self.settings.focus
        if focus.roi_px is None:
            self.message.emit("Drag a box around the detail that must be sharp, then press L.")
            return
        self.apply(replace(self.settings, focus=focus.with_lock(not focus.locked)))
        if focus.locked:
            self.historyCleared.emit()

    def lock_when_found(self) -> None:
        """Lock on the followed feature in the first frame where it is measured."""
        focus = self.focus_status()
        if focus is not None and focus.reading is not None and self.settings.focus.roi_px is not None:
            if not self.settings.focus.locked:
                self.toggle_lock()
            return
        QtCore.QTimer.singleShot(50, self.lock_when_found)

    def lock_after(self, seconds: float) -> None:
        """Lock on the followed feature in a moment (once frames of it have arrived)."""
        QtCore.QTimer.singleShot(int(seconds * 1000), self.toggle_lock)

    def take_reference(self) -> None:
        """The frame shown now becomes the reference picture (shown blended, if no ghost was)."""
        if self.last_analysis is not None:
            self.apply(replace(self.settings, reference_rgb=self.last_analysis.frame.image))
            if self.settings.overlay.ghost_mode == "off":
                self.set_overlay(ghost_mode="blend")

    def set_optics(self, optics) -> None:
        """The lens setup (focuslock.runtime.pipeline.OpticsSettings) from the next frame on.
        The CoC the user gave in pixels (--coc-px, a recipe's) is kept when the Lens tab
        changes the lens or body: it still judges the lock."""
        if optics.coc_px is None and self.settings.optics.coc_px is not None:
            optics = replace(optics, coc_px=self.settings.optics.coc_px)
        self.apply(replace(self.settings, optics=optics))

    def set_peaking(self, peaking) -> None:
        """How peaking looks (focuslock.focus.peaking.PeakingSettings)."""
        self.apply(replace(self.settings, focus=replace(self.settings.focus, peaking=peaking)))

    # --------------------------------------------------------------- overlay
    def set_overlay(self, **changes) -> None:
        """Change the overlay's settings (focuslock.overlay.render.OverlaySettings fields)."""
        self.apply(replace(self.settings, overlay=replace(self.settings.overlay, **changes)))

    def apply_overlay_choices(self, choices: dict) -> str | None:
        """The overlay as ``choices`` (a recipe's [overlay], the remembered ones) set it;
        a sentence when they cannot be used (the overlay is left as it was)."""
        try:
            overlay = with_overlay_choices(self.settings.overlay, choices)
        except (TypeError, ValueError) as error:
            return f"The overlay choices could not be used ({error}); the overlay is as it was."
        self.apply(replace(self.settings, overlay=overlay))
        return None

    def toggle_peaking(self) -> None:
        self.set_overlay(peaking=not self.settings.overlay.peaking)

    def toggle_grid(self) -> None:
        grid = not self.settings.overlay.grid
        self.set_overlay(grid=grid, centre_mark=grid)

    def toggle_zebras(self) -> None:
        self.set_overlay(zebras=not self.settings.overlay.zebras)

    def next_histogram(self) -> None:
        """Histogram: off, luma, RGB."""
        self.set_overlay(histogram=_HISTOGRAMS[self.settings.overlay.histogram])

    def next_loupe(self, under_pointer: bool = False) -> None:
        """Loupe: off, 2×, 4×, 8× at its place; ``under_pointer``: on (4× if it was off),
        following the pointer."""
        loupe = self.settings.overlay.loupe_zoom
        zoom = (loupe or 4) if under_pointer else _LOUPE_ZOOMS[loupe]
        self.loupe_under_pointer = under_pointer
        self.set_overlay(loupe_zoom=zoom, loupe_at=None)

    def pointer_moved(self, x: int, y: int) -> None:
        if self.loupe_under_pointer and self.settings.overlay.loupe_zoom:
            self.set_overlay(loupe_at=(x, y))

    def next_ghost_mode(self) -> None:
        """Reference ghost: off, blend, difference, split, blink."""
        modes = list(GHOST_MODES)
        self.set_overlay(ghost_mode=modes[(modes.index(self.settings.overlay.ghost_mode) + 1) % len(modes)])

    def toggle_beep_on_soft(self) -> None:
        self.beep_on_soft = not self.beep_on_soft
        self.message.emit(f"sound on SOFT {'on' if self.beep_on_soft else 'off'}")

    def follow_display_size(self, size: tuple[int, int]) -> None:
        """Overlays are drawn at the size the picture is shown (never for pixels the
        screen cannot show): tell the pipeline when the view's size changes."""
        sent = self.settings.overlay.display_size_px
        # Within the view's slack the picture is drawn at its own size (no scaling): the
        # same bound decides when a new size is worth asking for.
        if sent is None or abs(size[0] - sent[0]) > UNSCALED_SLACK_PX or abs(size[1] - sent[1]) > UNSCALED_SLACK_PX:
            self.set_overlay(display_size_px=size)

    def restore(self) -> None:
        """The overlay choices remembered from the last session (the defaults where an old
        or hand-edited file has something it cannot use)."""
        saved = self.store.get("overlay")
        if isinstance(saved, dict):
            self.apply_overlay_choices(saved)

    def remember(self) -> None:
        self.store.set("overlay", overlay_choices(self.settings.overlay))
        self.store.set("beep_on_soft", self.beep_on_soft)
