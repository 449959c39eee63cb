"""The camera's settings and abilities as the window knows them, read again after a reconnect."""

from __future__ import annotations

from concurrent.futures import Future

from PySide6 import QtCore

from focuslock.core.frames import CameraState
from focuslock.devices.base import CameraError, Setting
from focuslock.devices.body_report import body_report
from focuslock.runtime.live import LiveSession
from focuslock.ui.controllers.threads import UiThread

__all__ = ["CameraController"]


class CameraController(QtCore.QObject):
    """Reads the camera's settings and capabilities once it is live (and again after each
    reconnect: another body, or the same one after a pulled cable), and sets a setting."""

    # The camera is live (first, or again after a reconnect): before its settings are read.
    connected = QtCore.Signal()
    # Its settings, name → focuslock.devices.base.Setting.
    settingsArrived = QtCore.Signal(object)
    # Its capabilities (focuslock.devices.base.Capabilities).
    capabilitiesArrived = QtCore.Signal(object)
    # What it can do for focus and why not (focuslock.devices.body_report.BodyReport).
    reportArrived = QtCore.Signal(object)
    # A setting could not be read or set: one sentence.
    failed = QtCore.Signal(str)

    def __init__(self, session: LiveSession, ui: UiThread, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.ui = ui
        self.settings: dict[str, Setting] = {}
        self._reconnects_seen = 0
        self._requested = False

    def poll(self) -> None:
        """Ask a camera that has come live (again) for its settings and abilities; cheap."""
        live = self.session.status.state == CameraState.LIVE
        if self.session.reconnect_count != self._reconnects_seen and live:
            self._reconnects_seen = self.session.reconnect_count
            self._requested = False
        if not self._requested and live:
            self._requested = True
            self.connected.emit()
            self.refresh()
            self.ui.when_done(self.session.submit(lambda camera: camera.capabilities), self._capabilities_arrived)
            self.read_report()

    def read_report(self) -> None:
        """Read the body report again (after a capture: it then knows whether one works in live view)."""
        self.ui.when_done(self.session.submit(body_report, label="body report"), self._report_arrived)

    def refresh(self) -> None:
        """Read the camera's settings again."""
        self.ui.when_done(self.session.get_settings(), self._settings_arrived)

    def set_setting(self, name: str, value: str) -> None:
        """Set one of the camera's settings, then read them all again."""
        self.ui.when_done(self.session.set_setting(name, value), self._setting_done)

    def _setting_done(self, future: Future) -> None:
        try:
            future.result()
        except CameraError as error:
            self.failed.emit(error.user_message)
        self.refresh()

    def _settings_arrived(self, future: Future) -> None:
        try:
            self.settings = future.result()
        except CameraError as error:
            self.failed.emit(error.user_message)
            return
        self.settingsArrived.emit(self.settings)

    def _capabilities_arrived(self, future: Future) -> None:
        try:
            capabilities = future.result()
        except CameraError:
            return
        self.capabilitiesArrived.emit(capabilities)

    def _report_arrived(self, future: Future) -> None:
        try:
            report = future.result()
        except CameraError:
            return
        self.reportArrived.emit(report)
