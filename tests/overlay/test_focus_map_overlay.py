"""The focus map as drawn: by the overlay renderer (what the window and recordings show)
and in ``analyze --overlay-video --overlay focus-map`` (a real video in, a real video out).

What a user relies on: where the bench's truth says the picture is at focus the map's
frames are green, where it is far out they are red, and plain peaking shows neither;
before a lock the map says how to start it; turning the mode off leaves peaking as it was.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from focuslock.cli import main
from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.focus_map import FocusMap, TileState
from focuslock.focus.lock import LockSettings
from focuslock.focus.peaking import FOCUS_MAP_DISPLAY, PeakingSettings
from focuslock.overlay.focus_map_layer import NO_LOCK_YET, TILE_COLOURS_RGB, FocusMapLayer
from focuslock.overlay.render import OverlayRenderer
from focuslock.overlay.settings import OverlaySettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from tests.focus.test_focus_map import _true_blur_coc

COC_PX = 2.0
SIZE = (960, 640)
MAP = PeakingSettings(display=FOCUS_MAP_DISPLAY)
# The legend's dark panel covers the bottom right corner (the tiles' colour is darkened there).
LEGEND_TOP_PX = SIZE[1] - 40


def _bench() -> SimulatedBench:
    bench = SimulatedBench(BenchConfig(live_view_size_px=SIZE, frame_rate_hz=None, f_number=11.0, exposure_s=1 / 15))
    bench.open()
    return bench


def _take_path(bench: SimulatedBench) -> list[int]:
    """In focus on the target's middle (the lock frame), then one rack through the whole
    scene from its far end to its near end, and back to the middle."""
    depth = bench.truth_depth_map_mm()
    near, far = (bench.position_for_distance(d) for d in (depth.max(), depth.min()))
    low, high = int(min(near, far)) - 250, int(max(near, far)) + 250
    return [0, 0, low] + list(range(low, high, 24)) + list(range(high, 0, -24)) + [0, 0]


def _frames(bench: SimulatedBench, path):
    position = 0
    for target in path:
        bench.drive_focus(target - position)
        position = target
        yield bench.read_frame()




def _tint(image: np.ndarray, box) -> tuple[float, float]:
    """(green − red, red − green): the mean lean of a tile's colour, inner part only."""
    x, y, w, h = box
    tile = image[y + 8:y + h - 8, x + 8:x + w - 8].astype(np.float32)
    r, g = tile[..., 0].mean(), tile[..., 1].mean()
    return g - r, r - g


def test_the_renderer_paints_the_map_where_peaking_was_and_says_how_to_start_it():
    bench = _bench()
    roi = bench.landmark_roi_px("coin-numeral")
    engine = FocusEngine()
    renderer = OverlayRenderer()
    # Every reference built as it falls due (live, a frame spends at most 3 ms on them and
    # the map fills over the next frames: how far it got would depend on this machine).
    renderer.focus_map = FocusMapLayer.offline()
    settings = FocusSettings(peaking=MAP, lock=LockSettings(coc_px=COC_PX)).follow(roi)
    frames = list(_frames(bench, _take_path(bench)))
    # Before a lock the map has no CoC: it says so, and paints no tile.
    first = engine.process(frames[0].image, settings)
    before = renderer.render(frames[0].image, first, MAP, OverlaySettings(focus_meter=False))
    assert renderer.focus_map.map is None
    assert NO_LOCK_YET.startswith("Focus map: lock a feature")
    legend_band = before[-SIZE[1] // 8:]
    assert not np.array_equal(legend_band, frames[0].image[-SIZE[1] // 8:])  # the sentence is drawn
    settings = settings.with_lock(True)
    for frame in frames[1:]:
        result = engine.process(frame.image, settings)
        out = renderer.render(frame.image, result, MAP, OverlaySettings(focus_meter=False), luma=engine.last_grey)
    view = renderer.focus_map._last
    assert view is not None and view.result is not None
    truth = _true_blur_coc(bench, frames[-1], view.result.boxes_px)
    boxes = view.result.boxes_px.tolist()
    at_focus = [b for b, t in zip(boxes, truth) if t < 0.3]
    far = [b for b, t in zip(boxes, truth) if t > 2.5 and b[1] + b[3] < LEGEND_TOP_PX]
    assert len(at_focus) >= 5 and len(far) >= 12
    # The tiles at focus lean green over the picture, the far ones red: by the colours the
    # lock's states are drawn in.
    picture = frames[-1].image
    greener = [_tint(out, b)[0] - _tint(picture, b)[0] for b in at_focus]
    redder = [_tint(out, b)[1] - _tint(picture, b)[1] for b in far]
    assert np.median(greener) > 30 and np.mean(np.array(greener) > 15) >= 0.8, greener
    assert np.median(redder) > 30 and np.mean(np.array(redder) > 15) >= 0.8, redder
    # The legend's swatches are the lock's colours.
    corner = out[-SIZE[1] // 8:]
    for state in (TileState.IN_FOCUS, TileState.EDGE, TileState.OUT):
        assert np.any(np.all(corner == TILE_COLOURS_RGB[state], axis=2)), state
    # Back to colour peaking: the map is dropped (turned on again, it starts afresh).
    colour = dataclasses.replace(MAP, display="colour")
    plain = renderer.render(frames[-1].image, result, colour, OverlaySettings(focus_meter=False))
    assert renderer.focus_map.map is None
    assert not np.any(np.all(plain[-SIZE[1] // 8:] == TILE_COLOURS_RGB[TileState.EDGE], axis=2))


@pytest.fixture(scope="module")
def bench_take(tmp_path_factory):
    """The rack as a real video file (MJPG, as a capture card records), with the bench's
    truth of its last frame."""
    bench = _bench()
    path = tmp_path_factory.mktemp("take") / "rack.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, SIZE)
    frame = None
    for frame in _frames(bench, _take_path(bench)):
        writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()
    boxes = FocusMap(SIZE[::-1], COC_PX).boxes_px
    return path, bench.landmark_roi_px("coin-numeral"), boxes, _true_blur_coc(bench, frame, boxes)


def _last_frame(path) -> np.ndarray:
    video = cv2.VideoCapture(str(path))
    last = None
    while True:
        ok, image = video.read()
        if not ok:
            break
        last = image
    video.release()
    assert last is not None
    return cv2.cvtColor(last, cv2.COLOR_BGR2RGB)


def test_analyze_overlay_video_with_the_focus_map(tmp_path, bench_take):
    take, roi, boxes, truth = bench_take
    roi_text = ",".join(str(v) for v in roi)
    written = {}
    for overlay in ("peaking", "focus-map"):
        out = tmp_path / f"{overlay}.mp4"
        assert main(["analyze", str(take), "--roi", roi_text, "--coc-px", str(COC_PX), "--overlay-video", str(out),
                     "--overlay", overlay]) == 0
        written[overlay] = _last_frame(out)
    mapped, peaking = written["focus-map"], written["peaking"]
    assert mapped.shape == peaking.shape == (SIZE[1], SIZE[0], 3)
    boxes = boxes.tolist()
    at_focus = [b for b, t in zip(boxes, truth) if t < 0.3]
    far = [b for b, t in zip(boxes, truth) if t > 2.5 and b[1] + b[3] < LEGEND_TOP_PX]
    assert len(at_focus) >= 5 and len(far) >= 12
    # Where the take is at focus the map's frame is green and plain peaking's is not;
    # where it is far out, red (peaking paints red lines only on edges, never a tile).
    greener = [_tint(mapped, b)[0] - _tint(peaking, b)[0] for b in at_focus]
    redder = [_tint(mapped, b)[1] - _tint(peaking, b)[1] for b in far]
    assert np.median(greener) > 25 and np.mean(np.array(greener) > 10) >= 0.8, greener
    assert np.median(redder) > 20 and np.mean(np.array(redder) > 8) >= 0.8, redder
