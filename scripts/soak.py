"""Soak: the live session at 30 fps with random faults, for as long as you like.

    python3 scripts/soak.py --seconds 3600 [--json]

The simulated bench behind the fault-injection wrapper (focuslock.testing.faults): busy,
pulled cables, corrupt and cut-short frames, live-view size changes, stalls, and a
cable pulled mid-download; the full processing (peaking, the coin's numeral followed
and locked), focus drive commands and a capture every few seconds into a scratch folder.
Prints frames processed, faults injected and survived, the longest wait for a frame,
and memory (RSS) and threads after warm-up and at the end. Figures go to
docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

WARM_UP_S = 20.0  # caches, the lock's calibration, OpenCV's thread pool: then measure
# Memory is sampled this often (between captures) to tell a leak (a slope) from a plateau.
SAMPLE_EVERY_S = 300.0
# The bench renders a 24 MP capture in ~15 s (live view pauses meanwhile): one a minute.
CAPTURE_EVERY_S = 60.0
NUDGE_RANGE_STEPS = 24  # the nudges keep focus this close to the feature's best (drive steps)


def rss_mb() -> float:
    """Resident memory of this process, MB (Linux /proc; else the peak from getrusage).

    glibc keeps freed memory of large transient arrays (a 24 MP capture) in its heap;
    ``malloc_trim`` hands it back first, so that growth means memory still held."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def held_memory_trend(samples: list[tuple[int, float]]) -> dict:
    """What the samples say about memory held over the run, robust to the swing of a
    sample taken while a 24 MP capture's buffers happen to be alive: the least-squares
    slope (MB an hour), and the median of the first and of the last quarter of the
    samples and their difference (at least three samples a quarter, else nothing)."""
    if len(samples) < 12:
        return {}
    times = np.array([t for t, _ in samples], float)
    values = np.array([v for _, v in samples], float)
    slope_mb_per_s = float(np.polyfit(times, values, 1)[0])
    quarter = len(samples) // 4
    first, last = float(np.median(values[:quarter])), float(np.median(values[-quarter:]))
    return {"rss_slope_mb_per_hour": round(slope_mb_per_s * 3600.0, 1),
            "rss_median_first_quarter_mb": round(first, 1), "rss_median_last_quarter_mb": round(last, 1),
            "rss_growth_median_mb": round(last - first, 1)}


def warm_blur_ladders(session) -> float:
    """Fill the simulated bench's blur ladders (every level of every layer of live view)
    before memory is measured, and return their size in MB. The ladders are the fake
    camera's own cache, shared by every bench made after a pulled cable and bounded (29
    levels); filled as focus happened to wander, they looked like a slow leak in the
    hour (session 13). A real camera has no such cache."""
    from focuslock.simulators.sim_render import BLUR_LEVELS_SIGMA_PX

    bench = getattr(session.camera, "inner", session.camera)
    caches = getattr(bench, "_caches", None) or []
    return sum(cache.level(index).nbytes for cache in caches for index in range(len(BLUR_LEVELS_SIGMA_PX))) / 2**20


def soak(seconds: float, seed: int = 1, fault_rate: float = 1.0, progress: bool = False,
         capture_every_s: float = CAPTURE_EVERY_S, only_faults: tuple[str, ...] = (),
         sample_every_s: float = SAMPLE_EVERY_S) -> dict:
    from focuslock.devices.base import CameraError
    from focuslock.focus.engine import FocusSettings
    from focuslock.runtime.live import LiveSession
    from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
    from focuslock.simulators.bench_config import BenchConfig
    from focuslock.simulators.sim import SimulatedBench
    from focuslock.testing.faults import FaultPlan, faulty_factory

    # Per frame at 30 fps: with rate 1, about one fault of some kind every 4 seconds.
    per_frame = {"busy": 0.002, "disconnect": 0.001, "corrupt": 0.002, "truncated": 0.002, "resize": 0.0005,
                 "stall": 0.001}
    rates = {**{k: v * fault_rate for k, v in per_frame.items()}, "download": 0.3 * min(fault_rate, 1.0)}
    if only_faults:
        unknown = set(only_faults) - set(rates)
        if unknown:
            raise SystemExit(f"soak.py: unknown fault kind(s) {', '.join(sorted(unknown))}; known: {', '.join(rates)}.")
        # Splitting a growth: the other kinds of fault switched off.
        rates = {k: (v if k in only_faults else 0.0) for k, v in rates.items()}
    plan = FaultPlan(rates, seed=seed)
    config = BenchConfig(frame_rate_hz=30.0)
    bench_probe = SimulatedBench(config)
    roi = bench_probe.landmark_roi_px("coin-numeral")
    best = int(round(bench_probe.best_focus_position_steps(roi)))
    settings = PipelineSettings(focus=FocusSettings())
    session = LiveSession(faulty_factory(lambda: SimulatedBench(config), plan), processor=FramePipeline(), settings=settings)
    rng = random.Random(seed)
    nudged_steps = 0  # where the nudges have left focus, from the feature's best
    scratch = Path(tempfile.mkdtemp(prefix="focuslock-soak-"))
    frames = 0
    longest_wait_s = 0.0
    last_frame_s = None
    captures_ok = captures_failed = files_reported = 0
    baseline: dict | None = None
    rss_samples: list[tuple[int, float]] = []  # (seconds, MB), once a sample period, no capture in flight
    next_sample_s = None
    threads_before = threading.active_count()
    session.start()
    started = time.monotonic()
    next_command_s = started + 1.0
    next_capture_s = started + 10.0
    capture = None  # the capture in flight: live view pauses while the bench renders 24 MP
    capture_seen_during_wait = False
    try:
        for _ in range(50):  # the faults start at once: the setup move, too, may meet one
            try:
                session.drive_focus(best).result(timeout=10)
                break
            except CameraError:
                continue
        session.set_settings(settings.with_focus(settings.focus.follow(roi).with_lock()))
        ladders_mb = 0.0
        for _ in range(50):  # the camera may be away (a fault) at this moment: ask again
            if session.camera is not None and (ladders_mb := warm_blur_ladders(session)):
                break
            time.sleep(0.2)
        while (now := time.monotonic()) - started < seconds:
            analysis = session.next_analysis(timeout_s=0.5)
            now = time.monotonic()
            if capture is not None:
                capture_seen_during_wait = True
            if analysis is not None:
                frames += 1
                if last_frame_s is not None and now - started > 2.0 and not capture_seen_during_wait:
                    longest_wait_s = max(longest_wait_s, now - last_frame_s)
                last_frame_s = now
                capture_seen_during_wait = capture is not None
            if baseline is None and capture is None and (captures_ok + captures_failed >= 1 or not capture_every_s) \
                    and now - started >= min(WARM_UP_S, seconds / 4):
                baseline = {"rss_mb": rss_mb(), "threads": threading.active_count(), "at_s": now - started}
                next_sample_s = now + sample_every_s
            if next_sample_s is not None and now >= next_sample_s and capture is None:
                rss_samples.append((int(now - started), round(rss_mb(), 1)))
                # As it is taken, so that a run cut short still tells its slope.
                print(f"soak: {rss_samples[-1][0]} s, RSS {rss_samples[-1][1]} MB, {frames} frames, "
                      f"{captures_ok} captures ok, {captures_failed} cut", file=sys.stderr, flush=True)
                next_sample_s = now + sample_every_s
            if now >= next_command_s:
                # A photographer nudging focus back and forth around the feature's best
                # focus (never more than NUDGE_RANGE_STEPS away: an unbounded random walk
                # drifted hundreds of steps off in an hour — the lock SOFT for most of it,
                # and the simulator blurring ever larger discs, which its memory follows).
                step = rng.choice((-8, -4, 4, 8))
                if analysis is not None and analysis.frame.metadata.get("drive_position_steps") is not None:
                    # Where the lens is (a move refused by a busy body did not happen).
                    nudged_steps = analysis.frame.metadata["drive_position_steps"] - best
                if abs(nudged_steps + step) > NUDGE_RANGE_STEPS:
                    step = -step
                session.drive_focus(step)
                nudged_steps += step
                next_command_s = now + rng.uniform(0.5, 2.0)
            if capture is None and capture_every_s and now >= next_capture_s:
                capture = session.capture(scratch)
            if capture is not None and capture.done():
                error = capture.exception()
                if error is None:
                    captures_ok += 1
                else:
                    captures_failed += 1
                    files_reported += len(getattr(error, "saved_paths", []))
                for path in scratch.iterdir():
                    path.unlink()
                capture = None
                next_capture_s = time.monotonic() + capture_every_s
            if progress and frames % 300 == 0 and analysis is not None:
                print(f"\r{now - started:7.0f} s  {frames} frames  faults {sum(plan.counts.values())}  "
                      f"RSS {rss_mb():.1f} MB", end="", file=sys.stderr, flush=True)
        if capture is not None:
            capture.exception(timeout=60)
        live_at_end = session.next_analysis(timeout_s=5.0) is not None
        # Still running, no capture in flight: what a session holds after the soak.
        end = {"rss_mb": rss_mb(), "threads": threading.active_count()}
    finally:
        session.stop()
        for path in scratch.iterdir():
            path.unlink()
        scratch.rmdir()
    if progress:
        print(file=sys.stderr)
    baseline = baseline or end
    return {
        "seconds": round(time.monotonic() - started, 1),
        "frames": frames,
        "frames_per_s": round(frames / max(seconds, 1e-9), 1),
        "faults": dict(sorted(plan.counts.items())),
        "faults_total": sum(plan.counts.values()),
        "reconnects": session.reconnect_count,
        "captures_ok": captures_ok,
        "captures_failed": captures_failed,
        "files_reported_from_failed_captures": files_reported,
        "longest_wait_for_a_frame_s": round(longest_wait_s, 2),
        "live_at_end": live_at_end,
        "rss_mb_after_warm_up": round(baseline["rss_mb"], 1),
        "rss_mb_at_end": round(end["rss_mb"], 1),
        "rss_growth_mb": round(end["rss_mb"] - baseline["rss_mb"], 1),
        "rss_mb_samples": rss_samples,
        "simulator_blur_ladders_mb": round(ladders_mb, 1),
        **held_memory_trend(rss_samples),
        "threads_before_start": threads_before,
        "threads_after_warm_up": baseline["threads"],
        "threads_at_end": end["threads"],
        "threads_after_stop": threading.active_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=1.0, help="scale every fault's probability (default 1)")
    parser.add_argument("--capture-every", type=float, default=CAPTURE_EVERY_S,
                        help=f"seconds between captures, 0 for none (default {CAPTURE_EVERY_S:g})")
    parser.add_argument("--only-faults", default="",
                        help="comma-separated fault kinds to keep (busy, disconnect, corrupt, truncated, resize, stall, "
                             "download); the others off (default: all)")
    parser.add_argument("--sample-every", type=float, default=SAMPLE_EVERY_S,
                        help=f"seconds between memory samples (default {SAMPLE_EVERY_S:g})")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = soak(args.seconds, args.seed, args.fault_rate, progress=not args.json and sys.stderr.isatty(),
                  capture_every_s=args.capture_every, sample_every_s=args.sample_every,
                  only_faults=tuple(k.strip() for k in args.only_faults.split(",") if k.strip()))
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:>{width}}  {value}")
    ok = result["live_at_end"] and result["threads_after_stop"] <= result["threads_before_start"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
