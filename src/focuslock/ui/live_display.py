"""What the window shows of each analysis: the picture, the banner, the HUD, the
sharpness plot, the depth of field, the frame rate and age, the session's state."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtWidgets

from focuslock.core.frames import Analysis, CameraState, Freshness
from focuslock.overlay.readouts import plain_verdict
from focuslock.runtime.headless import hud_lines, plain_lines, stale_picture
from focuslock.runtime.live import LiveSession
from focuslock.ui.frame_view import FrameView
from focuslock.ui.panels import DofPanel, SharpnessPlot, StateBanner

__all__ = ["LiveDisplay", "PLOT_EVERY_S"]

PLOT_EVERY_S = 0.1


class LiveDisplay:
    """Paints the newest analysis into the window's widgets (on the window's thread).

    ``step_um``: the focus drive's calibrated step (µm; None without one) for the HUD;
    ``beep_on_soft``: whether to beep when the lock turns SOFT; ``details``: whether the
    engineer's figures are shown (the whole HUD, CoC and σ in the banner) or the
    photographer's three lines.
    """

    def __init__(self, session: LiveSession, view: FrameView, banner: StateBanner, plot: SharpnessPlot, dof_panel: DofPanel,
                 rate_label: QtWidgets.QLabel, status_label: QtWidgets.QLabel, *, step_um: Callable[[], float | None],
                 beep_on_soft: Callable[[], bool], details: Callable[[], bool] = lambda: False) -> None:
        self.session = session
        self.view, self.banner, self.plot, self.dof_panel = view, banner, plot, dof_panel
        self.rate_label, self.status_label = rate_label, status_label
        self.step_um = step_um
        self.beep_on_soft = beep_on_soft
        self.details = details
        self.started_s = time.monotonic()
        self._stale_shown: tuple | None = None
        self._last_plot_s = 0.0
        self._last_event = 0
        self._previous_state: str | None = None

    def show(self, analysis: Analysis | None, new: bool, now: float) -> None:
        """Show ``analysis`` (the session's newest; ``new``: of a frame not shown yet), how
        fresh it is, and the session's state."""
        if new and analysis is not None:
            self._stale_shown = None
            self._show(analysis, now)
        if analysis is not None:
            self._show_freshness(analysis, now)
        self._show_status()

    def redraw_text(self) -> None:
        """Rewrite the banner and the HUD with the next frame (or now, for a stale one):
        the details were turned on or off."""
        self._last_plot_s = 0.0
        self._stale_shown = None

    def _show(self, analysis: Analysis, now: float) -> None:
        result = analysis.result
        self.view.show_frame(result.display if result is not None else analysis.frame.image,
                             (analysis.frame.width_px, analysis.frame.height_px))
        focus = result.focus if result is not None else None
        lock = focus.lock if focus is not None else None
        if lock is not None:
            verdict = plain_verdict(lock, result.optics if result is not None else None,
                                    result.coc if result is not None else None,
                                    analysis.frame.info.drive_position_steps, self.step_um())
            self.banner.show_verdict(verdict, details=self.details())
            self.plot.add(now - self.started_s, lock.coc_share, 0.5, 1.0)
            if self.beep_on_soft() and lock.state.value == "soft" and self._previous_state != "soft":
                QtWidgets.QApplication.beep()
            self._previous_state = lock.state.value
        else:
            self.banner.show_verdict(None, following=focus is not None and focus.roi_px is not None)
            self._previous_state = None
        if now - self._last_plot_s > PLOT_EVERY_S:
            # Text and plots change ten times a second; the picture, every frame.
            self._last_plot_s = now
            self.view.set_hud(self.hud(analysis, self.session.freshness(analysis, now)))
            self.plot.redraw()
            self.dof_panel.show_result(result.optics if result is not None else None,
                                       result.coc if result is not None else None)

    def _show_freshness(self, analysis: Analysis, now: float) -> None:
        """Frame age and rate beside the verdict; once no frame comes, the banner, the
        box and the HUD say how old the verdict is and why (ENDED, PAUSED, NO SIGNAL)."""
        freshness = self.session.freshness(analysis, now)
        rate = f"{analysis.frame_rate_hz:.1f} fps" if analysis.frame_rate_hz else "-- fps"
        age = f"frame age {freshness.age_s:.1f} s" if freshness.age_s < 10 else f"frame age {freshness.age_s:.0f} s"
        rate_text = f"{freshness.label}   {age}   {rate}   dropped {analysis.dropped_frames}   shown {self.view.frames_shown}"
        if rate_text != self.rate_label.text():
            self.rate_label.setText(rate_text)
        # Redrawn when the shown age changes (whole seconds), not every tick.
        key = (freshness.label, int(freshness.age_s))
        if not freshness.stale or key == self._stale_shown:
            return
        self._stale_shown = key
        focus = analysis.result.focus if analysis.result is not None else None
        lock = focus.lock if focus is not None else None
        last = None
        if lock is not None:
            last = plain_verdict(lock).words.upper()
            if self.details() and lock.coc_share is not None:
                last += f" {lock.coc_share:.2f} CoC"
        # The banner stays short (read from two metres); the status bar says why.
        self.banner.show_stale(freshness.headline(), last)
        self.view.show_frame(stale_picture(analysis, freshness))
        self.view.set_hud(self.hud(analysis, freshness))
        self._previous_state = None

    def hud(self, analysis: Analysis, freshness: Freshness) -> list[str]:
        """The HUD: three lines in a photographer's words (the state and the blur; the
        depth of field and which way to turn; the frame's age or a warning), or with
        ``details`` the engineer's whole HUD (rates, exposure, CoC in px, σ, …) — the
        same lines a headless recording draws (:func:`focuslock.runtime.headless.plain_lines`)."""
        if self.details():
            return hud_lines(analysis, freshness, self.step_um())
        return plain_lines(analysis, freshness, self.step_um(), details_key="I")

    def _show_status(self) -> None:
        status = self.session.status
        text = status.state.upper() + (f" — {status.message}" if status.message and status.state != CameraState.LIVE else "")
        for event in self.session.events(after=self._last_event):
            self._last_event = event.number
            if event.kind == "error" and status.state == CameraState.LIVE:
                text = f"LIVE — {event.message}"
        if text != self.status_label.text() and (status.state != CameraState.LIVE
                                                 or not self.status_label.text().startswith("LIVE —")):
            self.status_label.setText(text)
