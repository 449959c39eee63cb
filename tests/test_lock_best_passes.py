"""``analyze --lock-best`` as it runs — a first pass that only ranks the frames, a video's
frames converted to RGB only in the rows the feature can reach, the second pass replayed
from what the first kept — gives every reading the straightforward way gives: a first
pass that judges every frame, then a second that reads the frames again, whole.

The take is the simulated bench (no camera is needed to make a video file) racking
through focus so that the sharpest frame comes late, recorded as MPEG-4 (4:2:0) with
OpenCV; the straightforward side reads the same frames converted whole and saved as
lossless PNG files.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from focuslock.focus.lock import RANKING_REASON, FocusState, LockSettings
from focuslock.focus.measure import DEFAULT_MEASURE
from focuslock.io.video_file import VideoFileReader
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.workflows.analyze import analyze
from focuslock.workflows.take_pass import run_pass
from focuslock.workflows.take_report import AnalysisReport

FRAMES = 24


@pytest.fixture(scope="module")
def late_take(tmp_path_factory):
    """A 640×360 take starting well out of focus and racking through best focus near its
    end; and the same frames, converted whole, as PNG files in a folder."""
    folder = tmp_path_factory.mktemp("late")
    path = folder / "take.mp4"
    bench = SimulatedBench(BenchConfig(live_view_size_px=(640, 360), frame_rate_hz=None))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    bench.drive_focus(60)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for _ in range(FRAMES):
        bench.drive_focus(-8)
        writer.write(cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2BGR))
    writer.release()
    bench.close()
    frames = folder / "frames"
    frames.mkdir()
    with VideoFileReader(path) as reader:
        for item in reader.frames():
            assert item.image is not None
            cv2.imwrite(str(frames / f"f{item.index:03d}.png"), cv2.cvtColor(item.image, cv2.COLOR_RGB2BGR))
    return path, frames, roi


def _readings(report: AnalysisReport) -> list[tuple]:
    return [(r.index, r.state, r.blur_px, r.blur_sd_px, r.reason, r.roi_px, r.reading.score if r.reading else None,
             r.lock.fine_energy if r.lock else None) for r in report.frames]


def test_lock_best_reads_what_two_straightforward_passes_read(late_take):
    path, frames, roi = late_take
    report = analyze(str(path), roi, lock_best=True)
    assert report.replayed  # the take was decoded once
    settings = LockSettings(take_mode=True)
    # The straightforward way: a first pass judging every frame whole, then the second
    # locked on its sharpest frame, reading every frame whole again.
    first = run_pass(str(frames), roi, 0, True, DEFAULT_MEASURE, settings, None, None, None, None)
    best = first.best_frame
    assert best is not None and best >= FRAMES // 2  # the sharpest frame comes late
    assert report.best_frame == report.lock_frame == best
    best_roi = tuple(int(round(v)) for v in first.frames[best].roi_px)
    second = run_pass(str(frames), best_roi, best, True, DEFAULT_MEASURE, settings, None, None, None, None)
    assert _readings(report) == _readings(second)
    assert report.noise_sigma == second.noise_sigma
    assert report.frames[best].state == FocusState.SHARP.value


def test_a_ranking_pass_ranks_by_the_energy_judging_reads(late_take):
    path, _, roi = late_take
    settings = LockSettings(take_mode=True)
    judged = run_pass(str(path), roi, 0, True, DEFAULT_MEASURE, settings, None, None, None, None)
    ranked = run_pass(str(path), roi, 0, True, DEFAULT_MEASURE, dataclasses.replace(settings, ranking_only=True),
                      None, None, None, None)
    assert [r.lock.fine_energy for r in ranked.frames] == [r.lock.fine_energy for r in judged.frames]
    assert ranked.best_frame == judged.best_frame
    # No verdict: every frame says it was only ranked, with no blur.
    assert {(r.state, r.reason, r.blur_px) for r in ranked.frames} == {(FocusState.UNCERTAIN.value, RANKING_REASON, None)}


@pytest.mark.parametrize("rows", [(0, 1), (1, 2), (101, 180), (120, 121), (300, 360), (359, 360), (-5, 400)])
def test_rows_converted_alone_are_the_whole_frames_rows(late_take, rows):
    path, _, _ = late_take
    top, bottom = rows
    with VideoFileReader(path) as whole, VideoFileReader(path, convert=False) as lazy:
        for converted, picture in zip(whole.frames(), lazy.frames(), strict=True):
            assert converted.image is not None and picture.picture is not None and picture.image is None
            out = np.zeros_like(converted.image)
            picture.picture.rows_into(out, max(top, 0), bottom)
            wanted = slice(max(top, 0), min(bottom, 360))
            assert np.array_equal(out[wanted], converted.image[wanted])


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("lock_best", [False, True])
def test_a_take_that_ends_within_the_lock_frames_neighbours_is_read_to_its_end(late_take, tmp_path, count, lock_best):
    # The pass reads its lock frame and neighbours from its own input: a take that ends
    # among them (a 3-picture folder) must end the pass, not wait for more frames.
    _, frames, roi = late_take
    short = tmp_path / "short"
    short.mkdir()
    for picture in sorted(frames.iterdir())[:count]:
        (short / picture.name).write_bytes(picture.read_bytes())
    report = analyze(str(short), roi, lock_best=lock_best, lock_frame=None if lock_best else 0)
    assert [r.index for r in report.frames] == list(range(count))
