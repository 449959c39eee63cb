"""The window says why a source cannot drive focus, zoom or capture, from the body report
(focuslock.devices.body_report): on the buttons' tooltips and in the status line, not only
greyed out. Real Qt widgets (offscreen) on a folder of real photographs and on the bench."""

from __future__ import annotations

import shutil

from PySide6 import QtCore

from focuslock.devices.body_report import Ability
from focuslock.devices.folder import FolderCamera
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.ui.main_window import MainWindow
from focuslock.ui.settings_store import SettingsStore
from tests.conftest import REDUCED_STACKS


def _window(qtbot, tmp_path, camera):
    session = LiveSession(camera, processor=FramePipeline(), settings=PipelineSettings())
    session.start()
    window = MainWindow(session, PipelineSettings(), store=SettingsStore(tmp_path / "w.json"), capture_folder=tmp_path / "c")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.body_report is not None, timeout=10000)
    return window, session


def test_a_folder_source_says_why_on_the_buttons_and_in_the_status_line(qtbot, tmp_path):
    folder = tmp_path / "pcb"
    shutil.copytree(REDUCED_STACKS / "pcb", folder)
    window, session = _window(qtbot, tmp_path, FolderCamera(folder, rate_hz=10.0, loop=True))
    try:
        drive_why = window.body_report.of(Ability.FOCUS_DRIVE).reason
        assert drive_why.startswith("A folder of pictures cannot drive focus")
        qtbot.waitUntil(lambda: not window.drive_panel.buttons["far_fine"].isEnabled(), timeout=5000)
        for button in window.drive_panel.buttons.values():
            assert button.toolTip() == drive_why
        assert window.drive_panel.position.text() == drive_why
        zoom_why = window.body_report.of(Ability.LIVE_VIEW_ZOOM).reason
        assert not window.drive_panel.zoom_button.isEnabled() and window.drive_panel.zoom_button.toolTip() == zoom_why
        status = window.statusBar().currentMessage()
        assert f"focus drive: does not work — {drive_why}" in status and f"live-view zoom: does not work — {zoom_why}" in status
        # A folder captures the frame shown: the button stays, and says what it does.
        assert window.capture_panel.button.isEnabled()
        assert window.capture_panel.button.toolTip() == "It saves the frame shown as a PNG."
        # The drive keys pressed anyway say why again; V says why there is no zoom.
        window.statusBar().clearMessage()
        qtbot.keyClicks(window, "]")
        assert window.statusBar().currentMessage() == drive_why
        qtbot.keyClick(window, QtCore.Qt.Key_V)
        assert window.statusBar().currentMessage() == zoom_why
    finally:
        window.close()
        session.stop()


def test_the_bench_offers_everything_and_nothing_is_greyed(qtbot, tmp_path):
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=30.0))
    window, session = _window(qtbot, tmp_path, bench)
    try:
        assert all(window.body_report.works(ability) for ability in Ability)
        assert all(button.isEnabled() for button in window.drive_panel.buttons.values())
        assert window.drive_panel.zoom_button.isEnabled() and window.capture_panel.button.isEnabled()
        assert "does not work" not in window.statusBar().currentMessage()
    finally:
        window.close()
        session.stop()


def test_a_canon_with_its_lens_at_mf_says_so_on_the_drive_and_shows_its_af_point(qtbot, tmp_path):
    """A Canon EOS body in live view with the lens switch at MF and its middle AF point
    selected: the FAKE at the gphoto2 boundary holding the widget values such a body
    reports (it stands in for a body no test machine has; see tests/camera/test_body_report.py),
    everything above it real."""
    import cv2

    from focuslock.devices.gphoto import GPhotoCamera
    from focuslock.overlay.camera_frames import CAMERA_FRAME_RGB
    from tests.camera.test_body_report import _canon, _focusinfo

    picture = cv2.resize(cv2.imread(str(REDUCED_STACKS / "pcb" / "pcb_001.jpg")), (768, 512))
    frame = cv2.imencode(".jpg", picture)[1].tobytes()
    body = _canon([frame], focusmode="Manual", focusinfo=_focusinfo("4"))
    window, session = _window(qtbot, tmp_path, GPhotoCamera(camera_factory=lambda: body))
    try:
        drive_why = window.body_report.of(Ability.FOCUS_DRIVE).reason
        assert "AF/MF switch is at MF" in drive_why
        qtbot.waitUntil(lambda: not window.drive_panel.buttons["near_fine"].isEnabled(), timeout=5000)
        assert window.drive_panel.buttons["near_fine"].toolTip() == drive_why
        assert drive_why in window.statusBar().currentMessage()
        assert window.drive_panel.zoom_button.isEnabled()  # eoszoom is there: the zoom works
        # The body's middle AF point (224 of 5184 px across: 33 px of 768) drawn at the middle.
        def drawn():
            analysis = window.live.last_analysis
            display = analysis.result.display if analysis is not None and analysis.result is not None else None
            if display is None:
                return False
            painted = (display == CAMERA_FRAME_RGB).all(axis=2)
            height, width = painted.shape
            return painted[height // 2 - 25:height // 2 + 25, width // 2 - 25:width // 2 + 25].any()
        qtbot.waitUntil(drawn, timeout=5000)
    finally:
        window.close()
        session.stop()
