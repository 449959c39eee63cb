"""The focus map against a known truth: the simulated bench knows the blur of every pixel.

What a user relies on:
* a tile painted green (in the depth of field) truly lies within the CoC of focus, and
  never one truly two CoC or more away; tiles well past the CoC are painted red; the
  tiles truly at focus are found (green), whether focus was racked by the drive (its
  count known) or by hand (the map reads the direction of travel from the picture);
* focus that turns back short of a part of the scene confirms nothing there;
* a plain, detail-free area is never green, however focus racks.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.focus.focus_map import FocusMap, TileState
from focuslock.focus.noise import NoiseModel
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_truth import SimTruth
from focuslock.testing.synthetic import TiltedPlane, fine_texture

COC_PX = 2.0
SIZE = (960, 640)
DATA = Path(__file__).parents[1] / "data" / "focus-stacks"


def _bench() -> SimulatedBench:
    # f/11 with a longer exposure: the target's whole depth spans about 7 CoC either side
    # of the middle, so one frame holds green, amber and red bands.
    bench = SimulatedBench(BenchConfig(live_view_size_px=SIZE, frame_rate_hz=None, f_number=11.0, exposure_s=1 / 15))
    bench.open()
    return bench


def _rack(bench: SimulatedBench, path, *, with_count: bool, focus_map: FocusMap | None = None):
    """Drive the bench along ``path`` (steps), each frame into the map as the live
    session's frames come (the engine's noise model; the drive's count when ``with_count``).
    Returns the map, its last result and the last frame."""
    noise = NoiseModel()
    focus_map = focus_map or FocusMap(SIZE[::-1], COC_PX, build_budget_ms=None)
    position = 0  # the bench starts at step 0
    result = frame = None
    for target in path:
        bench.drive_focus(int(target - position))
        position = int(target)
        frame = bench.read_frame()
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        result = focus_map.observe(grey, noise.observe_frame(grey), position if with_count else None)
    return focus_map, result, frame


def _true_blur_coc(bench: SimulatedBench, frame, boxes, coc_px: float = COC_PX) -> np.ndarray:
    """Each tile's true defocus (geometric blur, CoC) at the depth its detail lies at: the
    depths weighted by the detail of the all-in-focus picture, as a focus measure sees a
    region on a tilted subject (the bench's best_focus_position_steps does the same)."""
    truth = SimTruth.of(frame)
    depth = bench.truth_depth_map_mm(frame).astype(np.float64)
    sharp = cv2.cvtColor(bench.all_in_focus(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)
    weights = cv2.Laplacian(sharp, cv2.CV_32F).astype(np.float64) ** 2 + 1e-6
    out = []
    for x, y, w, h in boxes.tolist():
        tile_depth = float((depth[y:y + h, x:x + w] * weights[y:y + h, x:x + w]).sum() / weights[y:y + h, x:x + w].sum())
        blur_um = bench.geometric_blur_um(np.array([tile_depth]), truth.focus_distance_mm, truth.f_number)[0]
        out.append(blur_um / bench.live_view_pitch_um() / coc_px)
    return np.array(out)


@functools.cache
def _swept(with_count: bool):
    """Focus racked once through the whole scene (far end to near end), then back to the
    middle of the target, as a user measuring a scene would."""
    bench = _bench()
    depth = bench.truth_depth_map_mm()
    near, far = (bench.position_for_distance(d) for d in (depth.max(), depth.min()))
    low, high = int(min(near, far)) - 250, int(max(near, far)) + 250
    path = [low] + list(range(low, high, 16)) + list(range(high, 0, -16)) + [0] * 3
    focus_map, result, frame = _rack(bench, path, with_count=with_count)
    return result, _true_blur_coc(bench, frame, result.boxes_px)


@pytest.mark.parametrize("with_count", [True, False], ids=["drive-count", "by-hand"])
def test_green_tiles_lie_within_the_coc_and_red_ones_well_past_it(with_count):
    result, truth = _swept(with_count)
    states = result.states
    green, amber, red = (states == TileState.IN_FOCUS), (states == TileState.EDGE), (states == TileState.OUT)
    judged = green | amber | red
    # The map is not empty: most of the target was judged, and the tiles truly at focus
    # were found.
    assert judged.mean() >= 0.8, np.bincount(states, minlength=6)
    at_focus = truth < 0.4
    assert at_focus.sum() >= 5 and green[at_focus].mean() >= 0.8, (truth[at_focus], states[at_focus])
    # Green means within the CoC (measured: every green tile within 0.6 CoC); never two.
    assert green.sum() >= 8
    assert (truth[green] < 1.0).mean() >= 0.95, np.sort(truth[green])
    assert not np.any(green & (truth >= 2.0)), truth[green]
    # Green is the depth of field's middle (the lock's SHARP: under half the CoC, with the
    # tile's own depth and the rack's sampling: measured up to 0.56 CoC), amber its edge.
    assert np.percentile(truth[green], 90) < 0.6, np.sort(truth[green])
    assert amber.sum() >= 5 and np.median(truth[amber]) > np.median(truth[green]) + 0.3, np.sort(truth[amber])
    assert np.all(truth[amber] > 0.25) and np.all(truth[amber] < 1.5), np.sort(truth[amber])
    # Well past the CoC is red.
    far = judged & (truth >= 1.5)
    assert far.sum() >= 30 and red[far].mean() >= 0.95, (truth[far & ~red], states[far & ~red])
    # And red is not painted over the depth of field.
    assert not np.any(red & (truth < 0.5)), truth[red & (truth < 0.5)]


@pytest.mark.parametrize("with_count", [True, False], ids=["drive-count", "by-hand"])
def test_focus_that_turns_back_short_of_a_part_confirms_nothing_there(with_count):
    """Racked up to 150 steps (¾ CoC) short of the middle of the target and back: a rise
    and fall of detail on either side of a turn is no peak. Only parts whose best focus
    the rack passed, by more than the CoC the map needs to see them fall on both sides,
    are judged."""
    bench = _bench()
    depth = bench.truth_depth_map_mm()
    near, far = (bench.position_for_distance(d) for d in (depth.max(), depth.min()))
    low = int(min(near, far)) - 250
    turn = -150
    path = [low] + list(range(low, turn, 16)) + list(range(turn, low, -16))
    focus_map, result, frame = _rack(bench, path, with_count=with_count)
    best = np.array([bench.best_focus_position_steps(tuple(box)) for box in result.boxes_px.tolist()])
    judged = np.isin(result.states, [TileState.IN_FOCUS, TileState.EDGE, TileState.OUT, TileState.CANNOT_TELL])
    steps_per_coc = COC_PX / (_blur_px_per_step(bench))
    assert judged.sum() >= 20  # the parts it passed through are judged
    assert np.all(best[judged] < turn - 0.9 * steps_per_coc), np.sort(best[judged])[-5:]
    beyond = best > turn
    assert beyond.sum() >= 30 and not np.any(judged[beyond])


def _blur_px_per_step(bench: SimulatedBench) -> float:
    z = float(bench.truth_depth_map_mm()[SIZE[1] // 2, SIZE[0] // 2])
    blur = [bench.geometric_blur_um(np.array([z]), bench.focus_distance_at(s), None)[0] for s in (0, 200)]
    return (blur[1] - blur[0]) / 200.0 / bench.live_view_pitch_um()


def test_a_plain_area_is_never_green():
    """A photograph on a tilted plane (real detail: the SW1 print) with a plain card on
    it: focus racked through the whole plane and back. The textured tiles at focus turn
    green; the plain card's tiles never do, in any frame."""
    photo = cv2.cvtColor(cv2.imread(str(DATA / "text_sw1.jpg")), cv2.COLOR_BGR2RGB)
    photo = cv2.resize(photo, (640, 448), interpolation=cv2.INTER_AREA)
    focus_map = FocusMap(photo.shape, COC_PX, build_budget_ms=None)
    boxes = focus_map.boxes_px
    # The card covers a block of 3 × 4 tiles and 12 px around them (a blurred letter
    # beside it never reaches into them).
    card_tiles = (boxes[:, 0] >= 224) & (boxes[:, 0] < 416) & (boxes[:, 1] >= 96) & (boxes[:, 1] < 352)
    assert card_tiles.sum() == 12
    x0, y0 = boxes[card_tiles, :2].min(axis=0) - 12
    x1, y1 = (boxes[card_tiles, :2] + boxes[card_tiles, 2:]).max(axis=0) + 12
    photo[y0:y1, x0:x1] = photo.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    slope = 6.0 * COC_PX / photo.shape[1]  # the plane's blur spans 6 CoC across the frame
    plane = TiltedPlane(photo, max_blur_px=4.0 * COC_PX, level_step_px=0.5)  # farther is as soft as 4 CoC
    columns = np.arange(float(photo.shape[1]))
    noise = NoiseModel()
    planes = list(np.arange(-250.0, 890.0, 20.0)) + list(np.arange(890.0, 120.0, -20.0))
    for i, at in enumerate(planes):
        frame = plane.frame(slope * np.abs(columns - at), noise_sd=2.0, seed=i)
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        result = focus_map.observe(grey, noise.observe_frame(grey), drive_position_steps=at)  # the plane is the drive
        assert not np.any(result.states[card_tiles] == TileState.IN_FOCUS), f"frame {i}, plane at column {at}"
    assert np.all(np.isin(result.states[card_tiles], [TileState.PLAIN, TileState.NOT_SEEN, TileState.CANNOT_TELL]))
    # The textured tiles at the plane of focus (column 130) are green: the map works on
    # this plane; the card is what it declines.
    at_focus = np.abs(boxes[:, 0] + boxes[:, 2] / 2 - 130) * slope < 0.3 * COC_PX
    assert at_focus.sum() >= 6
    assert np.sum(result.states[at_focus] == TileState.IN_FOCUS) >= 3, result.states[at_focus]


def test_a_part_whose_detail_lies_at_two_depths_cannot_be_told():
    """Two flat layers of a real photograph, 6 CoC apart in depth (a coin's rim over the
    target far behind it), their edge through the middle of a column of tiles: racked
    through both, those tiles rise and fall twice — their blur against either peak is no
    blur of theirs, so the map says it cannot tell; the tiles of one layer are judged. The
    photograph is a barcode's lines turned into a fine texture (detail on both sides of
    the edge in every tile)."""
    barcode = cv2.cvtColor(cv2.imread(str(DATA / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    photo = fine_texture(barcode, shape=(448, 640))
    focus_map = FocusMap(photo.shape, COC_PX, build_budget_ms=None)
    boxes = focus_map.boxes_px
    edge = 320  # through the middle of the tiles from x = 288 to 352
    straddling = (boxes[:, 0] < edge) & (boxes[:, 0] + boxes[:, 2] > edge)
    far_from_edge = (boxes[:, 0] + boxes[:, 2] < edge - 24) | (boxes[:, 0] > edge + 24)
    assert straddling.sum() == 6
    plane = TiltedPlane(photo, max_blur_px=5.0 * COC_PX, level_step_px=0.5)  # farther: as soft as 5 CoC
    columns = np.arange(float(photo.shape[1]))
    layer_depth = np.where(columns < edge, 0.0, 6.0 * COC_PX)  # the focus position (px of blur) of each layer
    noise = NoiseModel()
    positions = list(np.arange(-3.0, 9.0, 0.2) * COC_PX) + list(np.arange(9.0, 0.0, -0.2) * COC_PX) + [0.0] * 3
    for i, at in enumerate(positions):
        frame = plane.frame(np.abs(layer_depth - at), noise_sd=2.0, seed=i)
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        result = focus_map.observe(grey, noise.observe_frame(grey), drive_position_steps=at)
    assert np.all(result.states[straddling] == TileState.CANNOT_TELL), result.states[straddling]
    judged = np.isin(result.states, [TileState.IN_FOCUS, TileState.EDGE, TileState.OUT])
    assert judged[far_from_edge].mean() >= 0.6, result.states[far_from_edge]
