"""The window in a studio session: a product code read off live view is offered, used only
once confirmed, and names the next captures; each capture is judged against the recipe,
logged, given its sidecar and opened for review at 100 % with the verdict beside it."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import cv2
from PySide6 import QtCore

from focuslock.cli import main
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline, OpticsSettings, PipelineSettings
from focuslock.session.store import ShotStore
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.ui.main_window import MainWindow
from focuslock.ui.settings_store import SettingsStore
from tests.session.test_xmp import EXIFTOOL

SETTINGS = PipelineSettings(optics=OpticsSettings(coc_px=2.0))
CODE = "SKU-48213-B"


class CardBench(SimulatedBench):
    """FAKE only the card: the bench has nothing to hold before its lens, so while
    ``card_shown`` a white card with a QR code is pasted into its live frames (as
    tests/session/test_naming.py does). Frames, focus and captures are the real bench's."""

    card_shown = False

    def read_frame(self):
        frame = super().read_frame()
        if not self.card_shown:
            return frame
        qr = cv2.resize(cv2.QRCodeEncoder.create().encode(CODE), None, fx=5, fy=5, interpolation=cv2.INTER_NEAREST)
        image = frame.image.copy()
        h, w = qr.shape
        image[20:20 + h + 40, 20:20 + w + 40] = 245
        image[40:40 + h, 40:40 + w] = cv2.cvtColor(qr, cv2.COLOR_GRAY2RGB)
        return dataclasses.replace(frame, image=image)


def _recipe(tmp_path, capsys, bench: CardBench):
    """A recipe made as a studio makes it: a sharp capture of the setup as the reference,
    the coin's numeral as the feature that must be sharp, names carrying the product code."""
    roi = bench.landmark_roi_px("coin-numeral")
    bench.drive_focus(int(round(bench.best_focus_position_steps(roi))))
    (reference,) = bench.capture(tmp_path / "setup")
    scale = bench.config.capture_width_px / bench.config.live_view_size_px[0]
    x, y, w, h = roi
    file_h = cv2.imread(str(reference)).shape[0]
    box = (x * scale, (y + (file_h / scale - bench.config.live_view_size_px[1]) / 2) * scale, w * scale, h * scale)
    recipe = tmp_path / "bottles.toml"
    assert main(["recipe", "save", str(recipe), "--reference", str(reference), "--roi", ",".join(str(int(v)) for v in box),
                 "--coc-px", "3"]) == 0, capsys.readouterr().err
    recipe.write_text(recipe.read_text().replace('pattern = "{session}_{sku}_{seq:04d}"', 'pattern = "{session}_{sku}_{seq:03d}"'))
    return recipe, roi


def test_a_code_held_before_the_lens_names_the_next_shots_once_confirmed_and_each_shot_is_reviewed(qtbot, tmp_path, capsys):
    from focuslock.workflows.capture_session import open_capture_session

    bench = CardBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=20.0, capture_width_px=1024))
    bench.open()
    recipe_path, roi = _recipe(tmp_path, capsys, bench)
    folder = tmp_path / "studio"
    # The session as `focuslock demo --session studio --recipe bottles.toml` opens it.
    shot_log = open_capture_session(folder, recipe_path, sku=None)
    session = LiveSession(bench, processor=FramePipeline(), settings=SETTINGS)
    session.start()
    window = MainWindow(session, SETTINGS, capture_folder=folder, store=SettingsStore(tmp_path / "window.json"),
                        shot_log=shot_log)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.view.frames_shown > 3, timeout=10000)
        # The card is held before the lens: its code is offered, not used.
        bench.card_shown = True
        qtbot.waitUntil(lambda: window.code_panel.offered == CODE, timeout=10000)
        assert CODE in window.code_panel.offer.text() and window.code_panel.use.isVisible()
        assert shot_log.sku is None
        bench.card_shown = False
        qtbot.mouseClick(window.code_panel.use, QtCore.Qt.LeftButton)
        assert shot_log.sku == CODE and window.code_panel.edit.text() == CODE

        # In focus: the shot is named with the code, passes, and opens at 100 %.
        qtbot.keyClick(window, QtCore.Qt.Key_Space)
        qtbot.waitUntil(lambda: window.review_panel.review is not None, timeout=20000)
        first = window.review_panel.review
        assert first.path.name == f"studio_{CODE}_001.JPG" and first.verdict == "pass"
        assert "PASS" in window.review_panel.verdict.text()
        (crop,) = first.crops
        assert crop.state == "sharp" and crop.image_rgb.shape[:2] == (min(round(roi[3] * 2), 320), min(round(roi[2] * 2), 320))

        # Focus racked well off the numeral: the next shot is SOFT, and says so beside its crop.
        window.drive_focus(250)
        qtbot.waitUntil(lambda: not window.focus_drive.busy and window.focus_drive.position_steps == 250, timeout=10000)
        qtbot.mouseClick(window.capture_panel.button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: window.review_panel.review is not first, timeout=20000)
        second = window.review_panel.review
        assert second.path.name == f"studio_{CODE}_002.JPG" and second.verdict == "soft", second.text
        assert second.crops[0].state == "soft" and "SOFT" in window.review_panel.verdict.text()
    finally:
        window.close()
        session.stop()
        shot_log.close()
    with ShotStore.read(folder) as log:
        shots = list(log.shots())
        logged = [(s.record.name, s.record.sku, s.record.verdict) for s in shots]
    # The body's settings at each shot are in its log entry.
    assert shots[0].record.camera == {"name": bench.name, "aperture": "5.6", "iso": "100", "shutterspeed": "1/60"}
    assert logged == [(f"studio_{CODE}_001.JPG", CODE, "pass"), (f"studio_{CODE}_002.JPG", CODE, "soft")]
    tags = json.loads(subprocess.run([EXIFTOOL, "-j", "-XMP-focuslock:Sku", "-XMP-focuslock:Verdict",
                                      str(folder / f"studio_{CODE}_002.xmp")], capture_output=True, text=True, check=True).stdout)
    assert (tags[0]["Sku"], tags[0]["Verdict"]) == (CODE, "soft")


def test_the_demo_opens_a_studio_session_from_a_recipe_and_refuses_it_headless(tmp_path, capsys):
    bench = CardBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None, capture_width_px=1024))
    bench.open()
    recipe, _ = _recipe(tmp_path, capsys, bench)
    bench.close()
    recipe.write_text(recipe.read_text().replace("[overlay]\n", "[overlay]\ngrid = true\n"))
    shot = tmp_path / "window.png"
    assert main(["demo", "--size", "512x340", "--session", str(tmp_path / "studio"), "--recipe", str(recipe),
                 "--quit-after", "1.5", "--screenshot", str(shot), "--no-sweep"]) == 0, capsys.readouterr().err
    assert cv2.imread(str(shot)) is not None
    # No capture, no session: it is written with its first shot (issue 27), so another
    # recipe may still use the folder.
    assert not (tmp_path / "studio").exists()
    assert main(["demo", "--headless", "--session", str(tmp_path / "s2"), "--recipe", str(recipe)]) == 1
    assert "--session logs the captures taken in the window" in capsys.readouterr().err
    assert main(["demo", "--session", str(tmp_path / "s3")]) == 1
    assert "go together" in capsys.readouterr().err


def test_the_camera_is_checked_against_the_recipe_set_from_it_and_checked_again_after_a_reconnect(qtbot, tmp_path, capsys):
    from focuslock.session.recipe import load_recipe
    from focuslock.simulators.bench_link import BenchLink

    link = BenchLink()
    config = BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=20.0, capture_width_px=1024)
    made = []

    def factory():  # a new camera object after a pulled cable, as libgphoto2 needs
        made.append(SimulatedBench(config, link=link))
        return made[-1]

    bench = CardBench(config)
    bench.open()
    recipe_path, _ = _recipe(tmp_path, capsys, bench)
    bench.close()
    # The studio's setup was shot at f/8, ISO 200; the bench is at f/5.6, ISO 100.
    recipe_path.write_text(recipe_path.read_text().replace("[camera.settings]\n", '[camera.settings]\naperture = "8"\niso = "200"\n'))
    recipe = load_recipe(recipe_path)[0]
    assert recipe.camera_settings == {"aperture": "8", "iso": "200"}
    session = LiveSession(factory, processor=FramePipeline(), settings=SETTINGS)
    session.start()
    window = MainWindow(session, SETTINGS, capture_folder=tmp_path / "c", store=SettingsStore(tmp_path / "w.json"),
                        recipe=recipe)
    qtbot.addWidget(window)
    window.show()
    try:
        panel = window.recipe_panel
        qtbot.waitUntil(lambda: len(panel.differences) == 2, timeout=10000)
        assert "aperture: camera 5.6, recipe 8" in panel.text.text() and "iso: camera 100, recipe 200" in panel.text.text()
        qtbot.mouseClick(panel.button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: "matches the recipe" in panel.text.text(), timeout=10000)
        assert made[-1].f_number == 8.0 and made[-1].iso == 200
        assert not panel.button.isEnabled()
        # The cable is pulled and the body comes back with its own settings: checked again.
        link.unplug()
        qtbot.waitUntil(lambda: session.status.state == "reconnecting", timeout=10000)
        link.plug()
        qtbot.waitUntil(lambda: len(made) >= 2 and len(panel.differences) == 2, timeout=15000)
        assert panel.button.isEnabled()
    finally:
        window.close()
        session.stop()
