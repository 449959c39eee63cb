"""One verdict, three paths (issue 29.2): the same files judged by the window's capture
check, by ``watch`` (the studio shot judge) and by a live lock give the same state and the
same blur within 0.1 CoC.

The files are real photographs (the crops in tests/data, MIT), defocused by a known disc
with sensor noise. The live lock is the runtime's per-frame processor
(:class:`focuslock.runtime.pipeline.FramePipeline`) locked on still frames of the sharp
scene; the window's check (:func:`focuslock.session.checks.check_captured_files`, what
``ui/controllers/capture.py`` runs on the acquisition thread) judges against that lock's
published reference; ``watch`` (:func:`focuslock.workflows.watch.run_watch`) judges the
hot folder against the lock frame saved as the session's reference picture. A live lock
sees each file as live view would show it: the same picture for a few frames (a worse
state needs ``confirm_frames`` readings), the files in order of growing blur.

The blurs stay clear of the thresholds (½ and 1 CoC), where a hundredth of a CoC decides.

What this test found: on the barcode saved as JPEG the window's check read a sharp file
0.22 CoC blurred where the live lock, on the same file and the same reference, read
0.03 CoC: the check took the capture's single-frame noise, which fine texture everywhere
inflates (:mod:`focuslock.focus.noise`), while the lock's reference was corrected by the
noise measured on still frames. The check now uses no more than the lock's noise where
the capture cannot separate its noise from its texture
(:func:`focuslock.focus.capture_check.capture_noise_sigma`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.core.frames import Frame
from focuslock.focus.engine import FocusSettings
from focuslock.focus.lock import LockSettings
from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
from focuslock.session.checks import check_captured_files
from focuslock.testing.synthetic import degrade
from focuslock.workflows.watch import WatchOptions, open_session, run_watch

DATA = Path(__file__).parent / "data" / "focus-stacks"
LIVE_SIZE = (400, 300)
ROI = (100, 75, 200, 150)
COC_PX = 2.0  # in live-view pixels
STILL_FRAMES = 9  # the lock calibrates its noise on the still frames
FRAMES_PER_FILE = 4  # > confirm_frames: live view shows a still picture for a moment
BLURS_COC = (0.0, 0.25, 0.7, 1.3, 2.0, 3.0)


def _reduce(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, LIVE_SIZE, interpolation=cv2.INTER_AREA) if rgb.shape[1] != LIVE_SIZE[0] else rgb


def _as_saved(rgb: np.ndarray, suffix: str) -> np.ndarray:
    """``rgb`` as it reads back from a ``suffix`` file (a JPEG live view is compressed as its files are)."""
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _three_paths(tmp_path: Path, crop: str, scale: int, suffix: str) -> list[dict]:
    """Each file's verdict by the three paths: [{"blur": true CoC, "window": (state, CoC), ...}]."""
    rgb = cv2.cvtColor(cv2.imread(str(DATA / f"{crop}.jpg")), cv2.COLOR_BGR2RGB)
    scene = rgb if scale == 1 else cv2.resize(rgb, (LIVE_SIZE[0] * scale, LIVE_SIZE[1] * scale),
                                              interpolation=cv2.INTER_CUBIC)
    hot = tmp_path / "hot"
    hot.mkdir()
    # Live view: the sharp scene as the body shows it (reduced by area averaging), new noise each frame.
    stills = [_as_saved(_reduce(degrade(scene, 0.0, 1.0, seed=i)), suffix) for i in range(STILL_FRAMES)]
    reference_path = tmp_path / f"reference{suffix}"
    cv2.imwrite(str(reference_path), cv2.cvtColor(degrade(scene, 0.0, 1.0, seed=1), cv2.COLOR_RGB2BGR))
    paths = []
    for index, blur in enumerate(BLURS_COC):
        path = hot / f"shot_{index}{suffix}"
        cv2.imwrite(str(path), cv2.cvtColor(degrade(scene, blur * COC_PX * scale, 1.0, seed=100 + index),
                                            cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(path)

    pipeline = FramePipeline()
    settings = PipelineSettings(focus=FocusSettings(lock=LockSettings(coc_px=COC_PX)).follow(ROI))
    sequence = 0

    def show(image: np.ndarray):
        nonlocal sequence
        sequence += 1
        return pipeline(Frame(image=image, sequence=sequence, timestamp_s=sequence / 30.0), settings).focus.lock

    try:
        for index, still in enumerate(stills):
            if index == 1:
                settings = settings.with_focus(settings.focus.with_lock())
            locked = show(still)
        assert locked is not None and locked.state.value == "sharp", locked
        # The window: the lock's published reference, the files as the capture command downloaded them.
        window = check_captured_files(paths, LIVE_SIZE, ROI, locked.reference)
        live = []
        for path in paths:
            picture = _reduce(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            for _ in range(FRAMES_PER_FILE):
                status = show(picture)
            live.append(status)
    finally:
        pipeline.close()

    store, judge = open_session(tmp_path / "session", hot, [tuple(v * scale for v in ROI)], reference_path,
                                {"coc_px": COC_PX * scale}, None)
    shots: list[dict] = []
    try:
        run_watch(hot, store, judge, WatchOptions(once=True, sidecars="none"), say=lambda _: None, on_shot=shots.append)
    finally:
        store.close()
    watched = {shot["file"]: shot["features"][0] for shot in shots}
    assert sorted(watched) == sorted(p.name for p in paths)
    rows = []
    for blur, path, check, status in zip(BLURS_COC, paths, window, live, strict=True):
        rows.append({"blur": blur,
                     "window": (check.state, check.blur_px / COC_PX),
                     "watch": (watched[path.name]["state"], watched[path.name]["coc_share"]),
                     "live": (status.state.value, status.blur_px / status.coc_px)})
    return rows


def _table(rows: list[dict]) -> str:
    return "\n".join(f"{r['blur']:.2f} CoC: " + ", ".join(f"{k} {r[k][0]} {r[k][1]:.3f}" for k in ("window", "watch", "live"))
                     for r in rows)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
@pytest.mark.parametrize("crop", ["text_sw1", "barcode", "header_pins", "switch_corner"])
def test_the_window_watch_and_a_live_lock_give_one_verdict_on_the_same_files(tmp_path, crop, suffix):
    rows = _three_paths(tmp_path, crop, 1, suffix)
    for row in rows:
        states = {row[path][0] for path in ("window", "watch", "live")}
        blurs = [row[path][1] for path in ("window", "watch", "live")]
        assert len(states) == 1, _table(rows)
        assert max(blurs) - min(blurs) <= 0.1, _table(rows)
    # And the verdict is the truth's: SHARP below ½ CoC, SOFT beyond 1 CoC.
    assert [r["window"][0] for r in rows] == ["sharp", "sharp", "softening", "soft", "soft", "soft"], _table(rows)


@pytest.mark.parametrize("crop", ["text_sw1", "barcode", "header_pins", "switch_corner"])
def test_captures_twice_live_views_size_get_one_state_on_every_path(tmp_path, crop):
    """Files twice live view's size (a body's files are larger than its live view): the
    window and the live lock reduce them to live view's scale and judge against the lock,
    one blur within 0.1 CoC; ``watch`` judges them at its own working scale (3 px per CoC,
    :mod:`focuslock.session.shot_check`) against a full-size reference picture instead of
    live view's JPEG frames. Measured: the same state everywhere, its blur within 0.15 CoC
    of theirs up to 2 CoC (a sharp file reads up to 0.14 CoC sharper there, nearer the
    truth), up to 8 % lower beyond, where every path says SOFT."""
    rows = _three_paths(tmp_path, crop, 2, ".jpg")
    for row in rows:
        assert len({row[path][0] for path in ("window", "watch", "live")}) == 1, _table(rows)
        assert abs(row["window"][1] - row["live"][1]) <= 0.1, _table(rows)
        if row["blur"] <= 2.0:
            assert abs(row["watch"][1] - row["window"][1]) <= 0.15, _table(rows)
    assert [r["window"][0] for r in rows] == ["sharp", "sharp", "softening", "soft", "soft", "soft"], _table(rows)
