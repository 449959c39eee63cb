"""Choosing the feature without coordinates (issue 30.2): ``--roi center:WxH`` and
``--roi auto`` on the simulated bench (its truth: the blur it rendered, its landmarks) and
on the repository's photographs; the box checked inside the frame before any work."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from focuslock.core.box import Box, BoxError
from focuslock.focus.auto_feature import auto_feature, grey_of
from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.feature_choice import parse_feature_choice
from focuslock.focus.lock import TAKE_LOST_REASON, LockSettings
from focuslock.focus.measure import measure_roi
from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.demo import demo_feature
from focuslock.simulators.sim import SimulatedBench
from tests.conftest import REDUCED_STACKS

PHOTOGRAPHS = sorted(REDUCED_STACKS.glob("*.jpg"))


def _bench(offset_steps: int = 0) -> SimulatedBench:
    config = BenchConfig(frame_rate_hz=None)
    bench = SimulatedBench(config.aimed_at(demo_feature(config)))
    bench.open()
    if offset_steps:
        bench.drive_focus(offset_steps)
    return bench


def _central_energies(image: np.ndarray, side: int) -> list[float]:
    """Every box of ``side`` in the middle half, half a box apart: its Laplacian energy above the noise."""
    grey = grey_of(image)
    sigma = single_frame_noise_sigma(grey)
    height, width = grey.shape
    energies = []
    for y in range(height // 4, height - height // 4 - side + 1, side // 2):
        for x in range(width // 4, width - width // 4 - side + 1, side // 2):
            reading = measure_roi(grey[y : y + side, x : x + side], "LAPV", noise_sigma=sigma)
            energies.append(reading.score - reading.noise_floor)
    return energies


# -- parsing and the centred box -----------------------------------------------------

def test_the_three_ways_to_name_a_feature():
    assert parse_feature_choice("600,300,80,60").box == Box(600, 300, 80, 60)
    assert parse_feature_choice("auto").kind == "auto"
    centred = parse_feature_choice("center:128x96")
    assert centred.size == (128, 96) and centred.needs_frame
    assert parse_feature_choice("centre:128×96").size == (128, 96)
    assert centred.resolve_size(1024, 680) == Box(448, 292, 128, 96)


@pytest.mark.parametrize("text, words", [("center:4x4", "too small"), ("center:big", "centred box"),
                                         ("1,2,3", "X,Y,W,H"), ("nowhere", "auto"), ("-5,0,40,40", "outside")])
def test_a_bad_choice_is_one_sentence(text, words):
    with pytest.raises(BoxError, match=words):
        parse_feature_choice(text)


def test_a_box_outside_the_frame_or_a_centred_box_larger_than_it_is_refused():
    with pytest.raises(BoxError, match="not inside the 1024×680 frame"):
        parse_feature_choice("2000,2000,50,50").resolve_size(1024, 680)
    with pytest.raises(BoxError, match="larger than the 1024×680 frame"):
        parse_feature_choice("center:1100x100").resolve_size(1024, 680)


def test_a_centred_box_on_the_bench_is_the_centre_of_its_frame():
    bench = _bench()
    image = bench.read_frame().image
    resolved = parse_feature_choice("center:100x80").resolve(image)
    assert resolved.box == Box(462, 300, 100, 80) and resolved.said is None
    bench.close()


# -- auto on the bench: its truth ----------------------------------------------------

@pytest.mark.parametrize("offset_steps", [0, -111, 156, -300])
def test_auto_picks_a_place_in_the_bench_focus_band(offset_steps):
    # The bench's paper is tilted: a band across the frame is in focus, and the band moves
    # as focus does. Wherever it is, the box chosen lies where the bench rendered the least
    # blur of the middle half (its truth), and has the most detail above the noise.
    bench = _bench(offset_steps)
    frame = bench.read_frame()
    chosen = auto_feature(frame.image)
    side = chosen.box.w
    assert side == 128 and chosen.box.h == 128
    height, width = frame.image.shape[:2]
    assert width // 4 <= chosen.box.x and chosen.box.x + side <= width - width // 4
    assert height // 4 <= chosen.box.y and chosen.box.y + side <= height - height // 4
    blurs = [bench.region_blur_px((x, y, side, side), frame)
             for y in range(height // 4, height - height // 4 - side + 1, 32)
             for x in range(width // 4, width - width // 4 - side + 1, 32)]
    assert bench.region_blur_px(chosen.box.as_tuple(), frame) <= np.percentile(blurs, 20)
    energies = _central_energies(frame.image, side)
    assert chosen.energy >= np.percentile(energies, 95)
    # More detail than a box of the same size on any landmark of the scene in the middle
    # half (the coin's relief is low contrast beside black print in focus).
    grey = grey_of(frame.image)
    for name in SimulatedBench.LANDMARKS:
        lx, ly, lw, lh = bench.landmark_roi_px(name)
        box = Box(lx + lw // 2 - side // 2, ly + lh // 2 - side // 2, side, side)
        if width // 4 <= box.x and box.x + side <= width - width // 4 and height // 4 <= box.y \
                and box.y + side <= height - height // 4:
            reading = measure_roi(grey[box.y : box.y + side, box.x : box.x + side], "LAPV",
                                  noise_sigma=chosen.noise_sigma)
            assert chosen.energy >= reading.score - reading.noise_floor, name
    assert chosen.sentence() == (f"feature chosen automatically: {chosen.box.x},{chosen.box.y},128,128 "
                                 "(the most detailed place near the centre)")
    bench.close()


def test_the_lock_follows_the_auto_box_and_calls_it_sharp_then_soft():
    bench = _bench()
    chosen = auto_feature(bench.read_frame().image)
    roi = chosen.box.as_tuple()
    engine = FocusEngine()
    settings = FocusSettings(lock=LockSettings(coc_px=2.0)).follow(roi)
    engine.process(bench.read_frame().image, settings, 0)
    settings = settings.with_lock()
    states = [engine.process(bench.read_frame().image, settings, 0).state for _ in range(4)]
    assert states[-1] == "sharp", states
    # Racked well away: the same feature, followed, turns soft.
    bench.drive_focus(400)
    frame = bench.read_frame()
    result = engine.process(frame.image, settings, 400)
    for _ in range(3):
        frame = bench.read_frame()
        result = engine.process(frame.image, settings, 400)
    assert result.track is not None and not result.track.lost
    x, y, _, _ = result.track.roi_int
    assert abs(x - roi[0]) <= 4 and abs(y - roi[1]) <= 4
    assert result.state == "soft", result.state
    bench.close()


# -- auto on the photographs ---------------------------------------------------------

@pytest.mark.parametrize("path", PHOTOGRAPHS, ids=lambda p: p.name)
def test_auto_on_the_photographs_is_among_the_most_detailed_of_the_centre(path):
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    chosen = auto_feature(image)
    assert chosen.box.w == round(image.shape[1] / 8)
    energies = _central_energies(image, chosen.box.w)
    assert chosen.energy >= np.percentile(energies, 90)
    assert chosen.snr > 10  # real detail, far above the noise


@pytest.mark.parametrize("stack", ["pcb", "switch"])
def test_auto_on_a_real_stack_frame_is_followed_as_the_frames_change(stack):
    # The box auto chose on a stack's first frame is followed by the lock through the
    # next frames of the stack (focus moves, the picture breathes) without being lost.
    frames = sorted(p for p in (REDUCED_STACKS / stack).iterdir() if p.suffix.lower() == ".jpg")
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in frames]
    chosen = auto_feature(images[0])
    engine = FocusEngine(take_mode=True)
    settings = FocusSettings(lock=LockSettings(coc_px=2.0, take_mode=True)).follow(chosen.box.as_tuple())
    engine.process(images[0], settings, 0)
    settings = settings.with_lock()
    results = [engine.process(image, settings, 0) for image in images[:4]]
    assert all(r.track is not None and not r.track.lost for r in results)
    assert results[0].state in ("sharp", "uncertain")


# -- one frame saved with its grid ---------------------------------------------------

def test_a_frame_of_each_kind_of_source_is_saved_with_its_size(tmp_path):
    from focuslock.workflows.choose_feature import ChooseError, frame_of_source, save_frame

    for source, size in (("sim", (1024, 680)), (f"folder:{REDUCED_STACKS / 'pcb'}", (1024, 768)),
                         (str(REDUCED_STACKS / "barcode.jpg"), (400, 300)), (str(REDUCED_STACKS / "switch"), (1024, 768))):
        rgb, origin = frame_of_source(source)
        saved = save_frame(rgb, tmp_path / "out" / "frame.png", inputs=(origin,) if origin else (), force=True)
        assert (saved.width, saved.height) == size
        assert saved.sentence() == f"{size[0]}×{size[1]} px; saved {tmp_path / 'out' / 'frame.png'}"
        written = cv2.imread(str(saved.path))
        assert written.shape[:2] == (size[1], size[0])
    # The grid is drawn: thin light lines every 100 px on a 1024 px frame, the picture between them kept.
    rgb, _ = frame_of_source("sim")
    plain = save_frame(rgb, tmp_path / "plain.png", grid=False)
    gridded = save_frame(rgb, tmp_path / "grid.png")
    a, b = cv2.imread(str(plain.path)).astype(int), cv2.imread(str(gridded.path)).astype(int)
    assert np.array_equal(a, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(int))
    changed_columns = np.flatnonzero(np.abs(a - b)[310:370].sum(axis=(0, 2)) > 0)
    assert {100, 200, 500, 900} <= set(changed_columns.tolist())
    assert len(changed_columns) < 40  # thin lines (and nothing else on those rows)
    # Never over a file without --force, never over its input, only PNG.
    with pytest.raises(ChooseError, match="exists"):
        save_frame(rgb, gridded.path)
    with pytest.raises(ChooseError, match="PNG"):
        save_frame(rgb, tmp_path / "frame.jpg")
    picture = REDUCED_STACKS / "barcode.jpg"
    with pytest.raises(ChooseError, match="input"):
        save_frame(rgb, picture.with_suffix(".png"), inputs=(picture.with_suffix(".png"),), force=True)


# -- the hot folder's session: choices resolved in the reference ---------------------

def test_a_session_resolves_centre_and_auto_in_its_reference(tmp_path):
    import shutil

    from focuslock.focus.feature_choice import parse_feature_choice
    from focuslock.session.database import SessionError
    from focuslock.session.opening import SetupRequest, open_session

    folder = tmp_path / "hot"
    folder.mkdir()
    shutil.copy(REDUCED_STACKS / "header_pins.jpg", folder / "A.jpg")
    choices = (parse_feature_choice("auto"), parse_feature_choice("center:60x40"))
    store, judge = open_session(tmp_path / "s", folder, SetupRequest(choices=choices))
    try:
        image = cv2.cvtColor(cv2.imread(str(folder / "A.jpg")), cv2.COLOR_BGR2RGB)
        assert judge.setup.features_px[0] == tuple(float(v) for v in auto_feature(image).box.as_tuple())
        assert judge.setup.features_px[1] == (170.0, 130.0, 60.0, 40.0)
    finally:
        store.close()
    assert not (tmp_path / "s").exists()  # nothing written before the first shot
    with pytest.raises(SessionError, match="larger than the 400×300 reference picture"):
        open_session(tmp_path / "s", folder, SetupRequest(choices=(parse_feature_choice("center:500x100"),)))


# -- the commands ----------------------------------------------------------------------

def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from focuslock.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


AUTO_LINE = re.compile(r"feature chosen automatically: (\d+),(\d+),(\d+),(\d+) \(the most detailed place near the centre\)")


def test_focuslock_frame_saves_a_frame_with_its_grid_and_prints_its_size(tmp_path, capsys):
    out = tmp_path / "grid" / "bench.png"
    code, stdout, err = _cli(capsys, "frame", "sim", "--out", str(out))
    assert code == 0, err
    assert stdout == f"1024×680 px; saved {out}\n"
    assert cv2.imread(str(out)).shape == (680, 1024, 3)
    code, _, err = _cli(capsys, "frame", "sim", "--out", str(out))
    assert code == 1 and "exists" in err and "--force" in err and err.count("\n") == 1
    assert _cli(capsys, "frame", "sim", "--out", str(out), "--force")[0] == 0
    code, stdout, _ = _cli(capsys, "frame", str(REDUCED_STACKS / "pcb"), "--out", str(tmp_path / "pcb.png"), "--no-grid")
    assert code == 0 and stdout.startswith("1024×768 px; saved")
    code, _, err = _cli(capsys, "frame", "video:/nowhere.mp4", "--out", str(tmp_path / "v.png"))
    assert code == 1 and err.count("\n") == 1


def test_live_refuses_a_box_outside_the_frame_before_recording(tmp_path, capsys, monkeypatch):
    import focuslock.runtime.headless as headless

    recorded = []
    monkeypatch.setattr(headless, "record_session", lambda *args, **kwargs: recorded.append(args))
    for roi, words in (("2000,2000,50,50", "1024×680"), ("center:1100x50", "larger than the 1024×680")):
        code, _, err = _cli(capsys, "live", "--source", "sim", "--roi", roi, "--lock", "--headless", "--seconds", "20",
                            "--out", str(tmp_path / "out"))
        assert code == 1 and words in err and err.count("\n") == 1, err
    assert recorded == []  # refused at once: the 20 s recording never started
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_live_with_roi_auto_says_its_box_and_the_lock_follows_it(tmp_path, capsys):
    import csv

    # The bench's frames as a folder source: a finite source keeps every frame however
    # loaded the machine is, so the run is the same every time.
    bench = _bench()
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(10):
        cv2.imwrite(str(frames / f"f{index:02d}.png"), cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2BGR))
    bench.close()
    code, out, err = _cli(capsys, "live", "--source", f"folder:{frames}", "--roi", "auto", "--lock", "--headless",
                          "--coc-px", "2", "--seconds", "30", "--out", str(tmp_path / "out"))
    assert code == 0, err
    match = AUTO_LINE.search(out)
    assert match, out
    first = cv2.cvtColor(cv2.imread(str(frames / "f00.png")), cv2.COLOR_BGR2RGB)
    assert tuple(int(v) for v in match.groups()) == auto_feature(first).box.as_tuple()
    with open(tmp_path / "out" / "live.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["verdict"] == "LIVE" and row["state"]]
    assert len(rows) >= 5 and all(row["state"] == "sharp" for row in rows[1:]), [row["state"] for row in rows]
    # Followed where it was chosen.
    assert all(abs(float(row["roi_x"]) - float(match.group(1))) <= 2 for row in rows)


def test_live_with_a_centred_box(tmp_path, capsys):
    import csv

    code, out, err = _cli(capsys, "live", "--source", "sim", "--roi", "center:128x96", "--lock", "--headless",
                          "--seconds", "1", "--out", str(tmp_path))
    assert code in (0, 1), err  # 1: a loaded machine may not have locked within the second
    assert "feature chosen automatically" not in out and "lies outside" not in err
    with open(tmp_path / "live.csv", newline="") as handle:
        placed = [(row["roi_x"], row["roi_y"], row["roi_w"]) for row in csv.DictReader(handle) if row["roi_x"]]
    assert placed and placed[0] == ("448.00", "292.00", "128.00"), placed


def test_analyze_with_roi_auto_on_a_real_stack_gives_readable_verdicts(focus_stacks, capsys):
    import json

    code, out, err = _cli(capsys, "analyze", str(focus_stacks / "pcb"), "--roi", "auto", "--json")
    assert code == 0, err
    match = AUTO_LINE.search(err)
    assert match, err
    assert match.group(3) == "256"  # 1/8 of the 2048 px frames
    # Chosen in the stack's frame with the most detail, and locked there (said on the line).
    chosen_in = int(re.search(r"in frame (\d+)", err).group(1))
    report = json.loads(out)
    assert report["lock_frame"] == chosen_in
    states = [frame["state"] for frame in report["frames"]]
    assert states[chosen_in] == "sharp" and "uncertain" not in states, states
    # The tracker may lose the box only once it has blurred past the end of its
    # through-focus curve (a stack's last, most defocused frames), never in between.
    for before, frame in zip(report["frames"], report["frames"][1:]):
        if frame["state"] == "lost":
            assert before["state"] in ("soft", "lost") and before["blur_px"] is None, (before, frame)
            # A take cannot be framed again: its reason says what happened, not live view's advice.
            assert frame.get("reason") == TAKE_LOST_REASON, frame
    assert not any("frame it again" in (frame.get("reason") or "") for frame in report["frames"])


def test_analyze_refuses_a_box_outside_the_frames_before_any_work(capsys):
    code, _, err = _cli(capsys, "analyze", str(REDUCED_STACKS / "pcb"), "--roi", "1000,700,100,100")
    assert code == 1 and "not inside the 1024×768" in err and err.count("\n") == 1, err
    code, _, err = _cli(capsys, "analyze", str(REDUCED_STACKS / "pcb"), "--roi", "center:2000x20")
    assert code == 1 and "larger than the 1024×768" in err and err.count("\n") == 1, err


def test_watch_with_roi_auto_chooses_in_the_reference(tmp_path, capsys):
    import json
    import shutil

    folder = tmp_path / "hot"
    folder.mkdir()
    shutil.copy(REDUCED_STACKS / "header_pins.jpg", folder / "A.jpg")
    shutil.copy(REDUCED_STACKS / "header_pins.jpg", folder / "B.jpg")
    code, out, err = _cli(capsys, "watch", str(folder), "--roi", "auto", "--session", str(tmp_path / "s"), "--once",
                          "--json", "--sidecars", "none", "--coc-px", "2")
    assert code == 0, err
    match = AUTO_LINE.search(err)
    assert match, err
    image = cv2.cvtColor(cv2.imread(str(folder / "A.jpg")), cv2.COLOR_BGR2RGB)
    assert tuple(int(v) for v in match.groups()) == auto_feature(image).box.as_tuple()
    verdicts = [json.loads(line)["verdict"] for line in out.splitlines()]
    assert verdicts == ["pass", "pass"]
    code, _, err = _cli(capsys, "watch", str(folder), "--roi", "center:900x100", "--session", str(tmp_path / "t"),
                        "--once")
    assert code == 1 and "larger than the 400×300 reference picture" in err and err.count("\n") == 1
    assert not (tmp_path / "t").exists()


def test_mark_set_and_recipe_save_take_auto_too(tmp_path, capsys):
    import tomllib

    code, out, err = _cli(capsys, "mark", "set", "A", "--roi", "auto", "--marks", str(tmp_path / "marks"))
    assert code == 0, err
    match = AUTO_LINE.search(out)
    assert match and f"{match.group(3)}×{match.group(4)}" in out
    reference = REDUCED_STACKS / "text_sw1.jpg"
    recipe = tmp_path / "r" / "label.toml"
    code, out, err = _cli(capsys, "recipe", "save", str(recipe), "--reference", str(reference), "--roi", "auto",
                          "--roi", "center:40x40")
    assert code == 0, err
    image = cv2.cvtColor(cv2.imread(str(reference)), cv2.COLOR_BGR2RGB)
    boxes = [feature["box"] for feature in tomllib.loads(recipe.read_text())["features"]]
    assert boxes == [[float(v) for v in auto_feature(image).box.as_tuple()], [180.0, 130.0, 40.0, 40.0]]
    assert AUTO_LINE.search(out)
    code, _, err = _cli(capsys, "recipe", "save", str(tmp_path / "r2.toml"), "--reference", str(reference), "--roi",
                        "390,290,20,20")
    assert code == 1 and "not inside the 400×300 reference picture" in err and err.count("\n") == 1


def test_auto_passes_over_clipped_highlights_and_one_directional_lines():
    # A white-on-black checkerboard (clipped highlights: the lock would say UNCERTAIN) and
    # fine vertical lines (the tracker cannot place them along their length) beside the
    # photograph's own detail: neither is chosen, though both have more detail.
    image = cv2.cvtColor(cv2.imread(str(REDUCED_STACKS / "text_sw1.jpg")), cv2.COLOR_BGR2RGB)
    image = cv2.resize(image, (800, 600), interpolation=cv2.INTER_CUBIC)
    checker = ((np.indices((100, 100)).sum(axis=0) // 2) % 2 * 255).astype(np.uint8)
    image[200:300, 200:300] = checker[..., None]
    lines = np.tile(((np.arange(100) // 2) % 2 * 200 + 20).astype(np.uint8), (100, 1))
    image[300:400, 450:550] = lines[..., None]
    chosen = auto_feature(image).box
    assert not (chosen.x < 300 and chosen.x + chosen.w > 200 and chosen.y < 300 and chosen.y + chosen.h > 200), chosen
    assert not (chosen.x < 550 and chosen.x + chosen.w > 450 and chosen.y < 400 and chosen.y + chosen.h > 300), chosen
