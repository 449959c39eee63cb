#!/usr/bin/env python3
"""focuslock speed benchmarks; results go to docs/BENCHMARKS.md.

Every figure is printed next to a reference measured in the same run on the same
machine, so that the ratio means something on any laptop:

* simulated render rate — the bench's ``read_frame`` (render, expose, JPEG encode and
  decode), still and while focus racks every frame. Reference: OpenCV alone encoding and
  decoding a JPEG of the same size (the least any JPEG live view costs).
* session throughput — the bench through a running ``LiveSession``: frames acquired and
  analyses published per second with the bench unpaced, and whether a paced 30 fps
  bench keeps 30 fps while the session processes frames.
* focus work — the full per-frame focus work (peaking painted, feature followed,
  measured and locked) on a live-view frame of the bench. Reference: a minimal OpenCV
  peaking (grey conversion, 3×3 Laplacian, threshold, masked colour copy). Goal: at
  most 1.5× the reference at every size.
* analyze — ``focuslock analyze --lock-best`` on a 1080p video against decoding the same
  video alone with the reader ``analyze`` uses (PyAV to RGB; until session 18 the
  reference was OpenCV's decoder, another decoder than analyze's). Goal: at least 0.8× the decoding speed. Also given: one pass
  locked on frame 0 (``--lock-frame 0``), which has no first pass to find the best.
* serve — ``focuslock serve`` (scripts/bench_serve.py): frame to ``focus`` event at a
  WebSocket client, median and 99th percentile, against the engine's own delay; the
  session's rate with 0, 1 and 5 clients against 0. Goal: at most 5 % slower with 5.
* archive — ``check-archive`` (scripts/bench_archive.py): 24 MP JPEGs judged per second
  per core on a local Dask cluster of one worker and of two; reference: the same files
  read and decoded alone in one process. Given: the ratio, the 2-vs-1 scaling, and the
  hours a 1,000,000-picture archive takes on N cores at the measured per-core rate.
* window — the window (offscreen Qt) fed by a 1920×1080 source at 60 fps with every
  overlay on: frames shown per second (goal: at least 58 of 60), and the longest gap
  between two ticks of the window's timer while the camera is busy and then
  reconnecting (goal: never more than 50 ms).

Usage: ``python scripts/bench.py [--json] [--sizes 1024x680,1920x1080] [--seconds S]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import cv2
import numpy as np

from focuslock.runtime.live import LiveSession
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench

DEFAULT_SIZES = ((1024, 680), (1920, 1080), (3840, 2160))


def _median_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def jpeg_reference_ms(bench: SimulatedBench, repeats: int) -> float:
    """OpenCV alone: encode and decode one live-view frame of the bench as JPEG."""
    image = cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2BGR)

    def round_trip() -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, bench.config.jpeg_quality])
        cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    return _median_ms(round_trip, repeats)


def bench_render(size: tuple[int, int], repeats: int) -> dict:
    bench = SimulatedBench(BenchConfig(live_view_size_px=size, frame_rate_hz=None))
    started = time.perf_counter()
    bench.open()
    open_ms = (time.perf_counter() - started) * 1000.0
    # Warm the blur-level cache over the range the racking run visits (as a live session
    # does after its first sweep), then measure.
    for _ in range(2):
        for step in (8,) * 10 + (-8,) * 10:
            bench.drive_focus(step)
            bench.read_frame()
    still_ms = _median_ms(bench.read_frame, repeats)
    direction = [1]

    def racking_frame() -> None:
        if abs(bench.focus_position_steps) >= 80:
            direction[0] = -direction[0]
        bench.drive_focus(4 * direction[0])
        bench.read_frame()

    racking_ms = _median_ms(racking_frame, repeats)
    reference_ms = jpeg_reference_ms(bench, repeats)
    bench.close()
    return {
        "size": f"{size[0]}x{size[1]}",
        "open_ms": round(open_ms, 1),
        "still_frame_ms": round(still_ms, 2),
        "racking_frame_ms": round(racking_ms, 2),
        "still_fps": round(1000.0 / still_ms, 1),
        "racking_fps": round(1000.0 / racking_ms, 1),
        "reference_jpeg_ms": round(reference_ms, 2),
        "still_ratio": round(still_ms / reference_ms, 2),
        "racking_ratio": round(racking_ms / reference_ms, 2),
    }


def _run_session(config: BenchConfig, seconds: float, rack: bool) -> dict:
    from focuslock.focus.engine import FocusSettings
    from focuslock.runtime.pipeline import FramePipeline, PipelineSettings

    bench = SimulatedBench(config)
    # The full processing: peaking, the coin's numeral followed and locked, overlay.
    focus = FocusSettings().follow(bench.landmark_roi_px("coin-numeral")).with_lock()
    session = LiveSession(bench, processor=FramePipeline(), settings=PipelineSettings(focus=focus))
    session.start()
    first = session.next_analysis(timeout_s=30.0)
    if first is None:
        session.stop()
        raise RuntimeError("the session published nothing")
    started = time.monotonic()
    first_put = session.frames.put_count
    published = 0
    latencies = []
    direction = 1
    position = 0
    while time.monotonic() - started < seconds:
        if rack:
            if abs(position) >= 80:
                direction = -direction
            session.drive_focus(4 * direction)
            position += 4 * direction
        analysis = session.next_analysis(timeout_s=1.0)
        if analysis is not None:
            published += 1
            latencies.append(analysis.latency_ms)
    elapsed = time.monotonic() - started
    acquired = session.frames.put_count - first_put
    session.stop()
    return {
        "acquired_fps": round(acquired / elapsed, 1),
        "published_fps": round(published / elapsed, 1),
        "median_latency_ms": round(statistics.median(latencies), 1) if latencies else None,
    }


def bench_session(size: tuple[int, int], seconds: float) -> dict:
    unpaced = _run_session(BenchConfig(live_view_size_px=size, frame_rate_hz=None), seconds, rack=True)
    paced = _run_session(BenchConfig(live_view_size_px=size, frame_rate_hz=30.0), seconds, rack=True)
    return {
        "size": f"{size[0]}x{size[1]}",
        "unpaced_acquired_fps": unpaced["acquired_fps"],
        "unpaced_published_fps": unpaced["published_fps"],
        "paced30_published_fps": paced["published_fps"],
        "paced30_median_latency_ms": paced["median_latency_ms"],
        "paced30_keeps_30fps": paced["published_fps"] >= 29.0,
    }


def minimal_peaking_reference(image_rgb: np.ndarray, colour_plane: np.ndarray, threshold: int = 40) -> np.ndarray:
    """The reference: the least a peaking display does, written the fast OpenCV way."""
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    response = cv2.convertScaleAbs(cv2.Laplacian(grey, cv2.CV_16S, ksize=1))
    _, mask = cv2.threshold(response, threshold, 255, cv2.THRESH_BINARY)
    out = image_rgb.copy()
    cv2.copyTo(colour_plane, mask, out)
    return out


def bench_focus(size: tuple[int, int], repeats: int) -> dict:
    from focuslock.focus.engine import FocusEngine, FocusSettings
    from focuslock.focus.peaking import paint_peaking

    bench = SimulatedBench(BenchConfig(live_view_size_px=size, frame_rate_hz=None))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    bench.drive_focus(int(round(bench.best_focus_position_steps(roi))))
    frames = [bench.read_frame().image for _ in range(8)]
    colour_plane = np.empty_like(frames[0])
    colour_plane[:] = (255, 40, 40)
    engine = FocusEngine()
    settings = FocusSettings().follow(roi)
    engine.process(frames[0], settings, 0)
    settings = settings.with_lock()
    for image in frames:
        engine.process(image, settings, 0)
    ours, reference = [], []
    # Interleaved, so that both see the same machine state.
    for i in range(repeats * 4):
        image = frames[i % len(frames)]
        started = time.perf_counter()
        minimal_peaking_reference(image, colour_plane)
        middle = time.perf_counter()
        result = engine.process(image, settings, 0)
        paint_peaking(image, result.peaking, settings.peaking)
        ended = time.perf_counter()
        reference.append((middle - started) * 1000.0)
        ours.append((ended - middle) * 1000.0)
    ours_ms, reference_ms = statistics.median(ours), statistics.median(reference)
    return {
        "size": f"{size[0]}x{size[1]}",
        "focus_work_ms": round(ours_ms, 3),
        "reference_ms": round(reference_ms, 3),
        "ratio": round(ours_ms / reference_ms, 2),
        "goal_met": ours_ms <= 1.5 * reference_ms,
        "state": result.state,
    }


def bench_analyze(frames: int = 150) -> dict:
    import tempfile

    from focuslock.io.video_file import VideoFileReader
    from focuslock.workflows.analyze import analyze

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/take.mp4"
        bench = SimulatedBench(BenchConfig(live_view_size_px=(1920, 1080), frame_rate_hz=None))
        bench.open()
        roi = bench.landmark_roi_px("coin-numeral")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1920, 1080))
        for index in range(frames):
            bench.drive_focus(6 if (index // 25) % 2 == 0 else -6)
            writer.write(cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2BGR))
        writer.release()
        bench.close()

        def decode_only() -> float:
            # The reader `analyze` itself decodes with (PyAV to RGB): the reference is the
            # least any analysis of this file costs on this machine.
            started = time.perf_counter()
            with VideoFileReader(path) as reader:
                count = sum(1 for _ in reader.frames())
            assert count == frames, count
            return time.perf_counter() - started

        def analyze_take(lock_best: bool = True) -> float:
            started = time.perf_counter()
            analyze(path, roi, lock_best=lock_best, lock_frame=0)
            return time.perf_counter() - started

        decode_s = statistics.median([decode_only() for _ in range(3)])
        analyze_s = statistics.median([analyze_take() for _ in range(3)])
        one_pass_s = statistics.median([analyze_take(lock_best=False) for _ in range(3)])
    return {
        "video": f"1920x1080 MPEG-4, {frames} frames",
        "decode_fps": round(frames / decode_s, 1),
        "analyze_fps": round(frames / analyze_s, 1),
        "speed_ratio": round(decode_s / analyze_s, 2),
        "goal_met": decode_s / analyze_s >= 0.8,
        "one_pass_fps": round(frames / one_pass_s, 1),
        "one_pass_speed_ratio": round(decode_s / one_pass_s, 2),
    }


def bench_window(seconds: float = 6.0) -> dict:
    """The window on a 60 fps 1080p source with all overlays, and during camera trouble."""
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from focuslock.devices.video import VideoCamera
    from focuslock.focus.engine import FocusSettings
    from focuslock.overlay.settings import OverlaySettings
    from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
    from focuslock.simulators.bench_link import BenchLink
    from focuslock.ui.app import quiet_platform_noise
    from focuslock.ui.main_window import MainWindow
    from focuslock.ui.settings_store import SettingsStore

    QtCore.qInstallMessageHandler(quiet_platform_noise)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    results: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        # A 60 fps 1080p take of the bench racking focus, played as a live source.
        path = f"{folder}/take60.mp4"
        bench = SimulatedBench(BenchConfig(live_view_size_px=(1920, 1080), frame_rate_hz=None))
        bench.open()
        roi = bench.landmark_roi_px("coin-numeral")
        reference = bench.read_frame().image
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 60.0, (1920, 1080))
        for index in range(120):
            bench.drive_focus(3 if (index // 30) % 2 == 0 else -3)
            writer.write(cv2.cvtColor(bench.read_frame().image, cv2.COLOR_RGB2BGR))
        writer.release()
        bench.close()
        settings = PipelineSettings(focus=FocusSettings().follow(roi).with_lock(), overlay=OverlaySettings.everything(),
                                    reference_rgb=reference)
        session = LiveSession(lambda: VideoCamera(path, paced=True, loop=True), processor=FramePipeline(), settings=settings)
        session.start()
        window = MainWindow(session, settings, store=SettingsStore(f"{folder}/w.json"), capture_folder=folder)
        window.resize(1600, 1000)
        window.show()
        _run_events(app, 1.5)
        shown_before, sequence_before = window.view.frames_painted, session.frames.put_count
        published_before = session.analyses.put_count
        started = time.monotonic()
        _run_events(app, seconds)
        elapsed = time.monotonic() - started
        # Pictures that reached the screen (a paint event drew them), not merely handed over.
        shown = window.view.frames_painted - shown_before
        offered = session.frames.put_count - sequence_before
        results["published_fps"] = round((session.analyses.put_count - published_before) / elapsed, 1)
        window.close()
        session.stop()
        results["display_fps"] = round(shown / elapsed, 1)
        results["source_fps"] = round(offered / elapsed, 1)
        results["shown_of_60"] = round(shown / elapsed / 60.0 * 60.0, 1)

        # Camera trouble: busy for a while, then the cable pulled and plugged back.
        link = BenchLink()
        session = LiveSession(lambda: SimulatedBench(BenchConfig(frame_rate_hz=30.0), link=link), processor=FramePipeline(),
                              settings=PipelineSettings(overlay=OverlaySettings.everything()))
        session.start()
        window = MainWindow(session, session.settings, store=SettingsStore(f"{folder}/w2.json"), capture_folder=folder)
        window.show()
        _run_events(app, 1.0)
        window.max_tick_gap_ms = 0.0
        link.make_busy(8)  # eight busy answers, 0.2 s apart
        _run_events(app, 2.0)
        link.unplug()
        _run_events(app, 2.0)
        link.plug()
        _run_events(app, 2.0)
        results["max_ui_gap_ms"] = round(window.max_tick_gap_ms, 1)
        results["states_seen"] = window.status_label.text().split(" ")[0]
        window.close()
        session.stop()
    results["goal_58_of_60"] = results["shown_of_60"] >= 58.0
    results["goal_gap_under_50_ms"] = results["max_ui_gap_ms"] < 50.0
    return results


def _run_events(app, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents(QtCore_AllEvents(), 5)
        time.sleep(0.0005)


def QtCore_AllEvents():  # (a small indirection keeps Qt out of module import)
    from PySide6 import QtCore

    return QtCore.QEventLoop.AllEvents


def _size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


_PARTS = ("render", "session", "focus", "analyze", "window", "serve", "archive")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in DEFAULT_SIZES))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each session run")
    parser.add_argument("--analyze-frames", type=int, default=150, help="frames of the 1080p analyze video (0 skips it)")
    parser.add_argument("--no-window", dest="window", action="store_false", help="skip the window measurements")
    parser.add_argument("--archive-pictures", type=int, default=24,
                        help="24 MP JPEGs check-archive judges (scripts/bench_archive.py; 0 skips it)")
    parser.add_argument("--only", choices=_PARTS, action="append",
                        help="run only this part (repeatable), e.g. --only focus")
    args = parser.parse_args(argv)
    sizes = [_size(s) for s in args.sizes.split(",") if s]
    parts = set(args.only or _PARTS)
    if not args.window:
        parts.discard("window")
    if not args.analyze_frames:
        parts.discard("analyze")
    if not args.archive_pictures:
        parts.discard("archive")

    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": __import__("os").cpu_count(),
                    "opencv": cv2.__version__, "numpy": np.__version__},
        "render": [bench_render(size, args.repeats) for size in sizes] if "render" in parts else [],
        "session": [bench_session(size, args.seconds) for size in sizes] if "session" in parts else [],
        "focus": [bench_focus(size, args.repeats) for size in sizes] if "focus" in parts else [],
        "analyze": bench_analyze(args.analyze_frames or 150) if "analyze" in parts else None,
        "window": bench_window() if "window" in parts else None,
        "serve": _bench_serve(sizes, args.seconds) if "serve" in parts else [],
        "archive": __import__("bench_archive").bench_archive(args.archive_pictures) if "archive" in parts else None,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"machine: {results['machine']}")
    if results["render"]:
        _print_render(results)
    if results["session"]:
        _print_session(results)
    if results["focus"]:
        _print_focus(results)
    _print_rest(results)
    if results["serve"]:
        from bench_serve import print_serve

        print_serve(results["serve"])
    if results["archive"]:
        from bench_archive import print_archive

        print_archive(results["archive"])
    return 0


def _bench_serve(sizes: list[tuple[int, int]], seconds: float) -> list[dict]:
    """``focuslock serve``'s part (scripts/bench_serve.py): the two live-view sizes it is judged at."""
    from bench_serve import bench_serve

    return bench_serve([size for size in sizes if size[0] <= 1920], seconds)


def _print_render(results: dict) -> None:
    print("\nSimulated render (median per frame; reference = OpenCV JPEG encode+decode of the same frame)")
    print(f"{'size':>10} {'still ms':>9} {'fps':>6} {'racking ms':>11} {'fps':>6} {'ref ms':>7} {'still/ref':>9} {'rack/ref':>9}")
    for row in results["render"]:
        print(f"{row['size']:>10} {row['still_frame_ms']:>9} {row['still_fps']:>6} {row['racking_frame_ms']:>11} "
              f"{row['racking_fps']:>6} {row['reference_jpeg_ms']:>7} {row['still_ratio']:>9} {row['racking_ratio']:>9}")


def _print_session(results: dict) -> None:
    print("\nSession throughput (full processing: peaking, lock, overlay; focus racking every frame)")
    print(f"{'size':>10} {'unpaced acq fps':>16} {'unpaced pub fps':>16} {'paced-30 pub fps':>17} {'latency ms':>11} {'keeps 30':>9}")
    for row in results["session"]:
        print(f"{row['size']:>10} {row['unpaced_acquired_fps']:>16} {row['unpaced_published_fps']:>16} "
              f"{row['paced30_published_fps']:>17} {row['paced30_median_latency_ms']!s:>11} {str(row['paced30_keeps_30fps']):>9}")


def _print_focus(results: dict) -> None:
    print("\nFocus work per frame (peaking painted + feature tracked, measured, locked) vs minimal OpenCV peaking")
    print(f"{'size':>10} {'ours ms':>9} {'ref ms':>8} {'ratio':>6} {'<=1.5x':>7}")
    for row in results["focus"]:
        print(f"{row['size']:>10} {row['focus_work_ms']:>9} {row['reference_ms']:>8} {row['ratio']:>6} {str(row['goal_met']):>7}")


def _print_rest(results: dict) -> None:
    if results["analyze"]:
        row = results["analyze"]
        print(f"\nanalyze --lock-best on {row['video']}: {row['analyze_fps']} fps vs decoding alone (PyAV, as analyze reads) "
              f"{row['decode_fps']} fps (ratio {row['speed_ratio']}, goal >= 0.8: {row['goal_met']}); "
              f"one pass locked on frame 0: {row['one_pass_fps']} fps (ratio {row['one_pass_speed_ratio']})")
    if results["window"]:
        row = results["window"]
        print(f"\nwindow, 1920x1080 source at {row['source_fps']} fps, every overlay on: {row['display_fps']} frames shown a second "
              f"({row['shown_of_60']} of 60; goal >= 58: {row['goal_58_of_60']})")
        print(f"window while the camera is busy, then reconnecting: longest UI gap {row['max_ui_gap_ms']} ms "
              f"(goal < 50: {row['goal_gap_under_50_ms']})")


if __name__ == "__main__":
    sys.exit(main())
