"""``focuslock watch DIR --review``: the hot folder's shots, each opened at 100 % with its
focus mask and verdict in a window, through the same watch, log and sidecars as without."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from focuslock.cli import main
from focuslock.session.store import ShotStore
from focuslock.testing.synthetic import degrade
from focuslock.ui.review_window import ReviewWindow
from tests.test_watch import COC_PX, ROI, _save, _scene


def test_the_hot_folder_s_latest_shot_opens_at_100_percent_with_its_verdict(qtbot, tmp_path):
    scene = _scene()
    folder = tmp_path / "hot"
    folder.mkdir()
    _save(folder / "IMG_0001.JPG", degrade(scene, 0.0, 2.0, seed=1))  # the reference
    _save(folder / "IMG_0002.JPG", degrade(scene, 0.5, 2.0, seed=2))  # sharp
    _save(folder / "IMG_0003.JPG", degrade(scene, 2.0 * COC_PX, 2.0, seed=3))  # twice the CoC
    seen = {}

    def look_then_close(waited_s: float = 0.0) -> None:
        windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, ReviewWindow) and w.isVisible()]
        if windows and (not windows[0].watching or waited_s > 60):
            window = windows[0]
            seen.update(shown=window.shots_shown, review=window.panel.review, status=window.status.text(),
                        verdict=window.panel.verdict.text())
            window.close()
            return
        QtCore.QTimer.singleShot(100, lambda: look_then_close(waited_s + 0.1))

    QtCore.QTimer.singleShot(100, look_then_close)
    session = tmp_path / "session"
    assert main(["watch", str(folder), "--roi", ROI, "--coc-px", str(COC_PX), "--session", str(session), "--once",
                 "--no-events", "--review"]) == 0
    with ShotStore.read(session) as store:
        logged = [(s.record.name, s.record.verdict) for s in store.shots()]
    assert logged[-1] == ("IMG_0003.JPG", "soft")
    assert seen["shown"] == len(logged)  # every shot logged was shown, the last one stays
    review = seen["review"]
    assert review.path.name == "IMG_0003.JPG" and review.verdict == "soft" and "SOFT" in seen["verdict"]
    (crop,) = review.crops
    # The feature's box at the file's own pixels (300 × 240 px, under the 320 px cut).
    assert crop.state == "soft" and crop.image_rgb.shape[:2] == (240, 300)
    assert seen["status"].startswith("Done:")
