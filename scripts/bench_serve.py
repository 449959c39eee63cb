"""``scripts/bench.py --only serve``: what ``focuslock serve`` costs the live session.

* latency — from a frame's arrival (its time stamp, the monotonic clock the whole
  machine shares) to its ``focus`` event received by a WebSocket client in another
  process, median and 99th percentile, with one feature locked on the paced 30 fps bench.
  Reference, same frames: the engine's own delay from arrival to the published verdict
  (``latency_ms`` in each message). The ratio and the difference are the server's part.
* session rate with 0, 1 and 5 clients — the bench unpaced (as fast as the machine
  renders and judges), each client a reader in a separate process (as a tablet or a
  robot's controller is; in this process they would take the GIL from the engine).
  Reference: the rate with no client, measured in the same run, the counts interleaved
  over three rounds (medians); also 5 clients that connect and never read. Goal: at most
  5 % slower with 5 clients. Beside it the
  server process's CPU time per frame (all its threads), which a neighbour's load on the
  machine disturbs far less than the rate.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from focuslock.client import FocusClient
from focuslock.serve.server import RunningServer, start_server
from focuslock.simulators.demo import demo_view
from focuslock.simulators.sim import BenchConfig

# A client in its own process: N readers, each printing how many focus messages it got
# and every message's (receive time − frame time) in ms when asked for latencies.
_READER = r"""
import json, sys, threading, time
from websockets.sync.client import connect
url, count, seconds, want_latency = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
stuck = len(sys.argv) > 5 and sys.argv[5] == "stuck"
results = [None] * count
def read(index):
    if stuck:  # connected, then never reads: its socket's buffers fill and stay full
        with connect(url, max_size=2**20, max_queue=1) as socket:
            print("ready", flush=True) if index == 0 else None
            time.sleep(seconds)
        results[index] = {"messages": 0, "latency_ms": [], "engine_ms": []}
        return
    got, latencies, engine = 0, [], []
    with connect(url, max_size=2**20) as socket:
        print("ready", flush=True) if index == 0 else None
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                text = socket.recv(timeout=1.0)
            except TimeoutError:
                continue
            received = time.monotonic()
            if '"type":"focus"' in text:
                got += 1
                if want_latency:
                    message = json.loads(text)
                    latencies.append((received - message["frame_time_s"]) * 1000.0)
                    engine.append(message["latency_ms"])
    results[index] = {"messages": got, "latency_ms": latencies, "engine_ms": engine}
threads = [threading.Thread(target=read, args=(i,)) for i in range(count)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(json.dumps(results), flush=True)
"""


def _serve(size: tuple[int, int], fps: float | None) -> RunningServer:
    view = demo_view(BenchConfig(live_view_size_px=size, frame_rate_hz=fps))
    running = start_server(view.bench, port=0)
    while running.host.latest() is None:
        time.sleep(0.02)
    client = FocusClient(running.url, timeout_s=60)
    client.drive(round(view.best_steps))
    client.lock(list(view.roi_px), timeout_s=30)
    return running


def _readers(running: RunningServer, count: int, seconds: float, latency: bool, stuck: bool = False) -> subprocess.Popen:
    url = running.url.replace("http://", "ws://") + "api/events"
    process = subprocess.Popen([sys.executable, "-c", _READER, url, str(count), str(seconds), "1" if latency else "0",
                                "stuck" if stuck else "reading"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError("the reader process did not connect")
    return process


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_serve_latency(size: tuple[int, int], seconds: float) -> dict:
    running = _serve(size, 30.0)
    try:
        process = _readers(running, 1, seconds, latency=True)
        out, _ = process.communicate(timeout=seconds + 60)
    finally:
        running.stop()
    [result] = json.loads(out.strip().splitlines()[-1])
    latencies, engine = result["latency_ms"], result["engine_ms"]
    median, engine_median = statistics.median(latencies), statistics.median(engine)
    return {
        "size": f"{size[0]}x{size[1]}", "events": len(latencies),
        "frame_to_event_median_ms": round(median, 2), "frame_to_event_p99_ms": round(_percentile(latencies, 0.99), 2),
        "reference_engine_median_ms": round(engine_median, 2),
        "reference_engine_p99_ms": round(_percentile(engine, 0.99), 2),
        "median_ratio": round(median / engine_median, 2), "server_adds_median_ms": round(median - engine_median, 2),
    }


def bench_serve_clients(size: tuple[int, int], seconds: float, counts: tuple[int, ...] = (0, 1, 5, -5), rounds: int = 3) -> dict:
    """The session's rate with each number of clients, the counts interleaved over
    ``rounds`` (0, 1, 5, 5 stuck, 0, 1 …) so that a neighbour's load falls on all alike;
    the median of each count's rounds. A negative count: that many clients that connect
    and never read."""
    running = _serve(size, None)
    rates: dict[int, list[float]] = {count: [] for count in counts}
    cpu_ms: dict[int, list[float]] = {count: [] for count in counts}
    try:
        for _ in range(rounds):
            for count in counts:
                process = _readers(running, abs(count), seconds + 1.0, latency=False, stuck=count < 0) if count else None
                time.sleep(0.5)  # the readers connected and reading
                start_frames, started, cpu = running.host.frames_published, time.monotonic(), time.process_time()
                time.sleep(seconds)
                frames = running.host.frames_published - start_frames
                rates[count].append(frames / (time.monotonic() - started))
                cpu_ms[count].append((time.process_time() - cpu) * 1000.0 / max(frames, 1))
                if process is not None:
                    process.communicate(timeout=seconds + 60)
    finally:
        running.stop()
    median = {count: statistics.median(values) for count, values in rates.items()}
    cpu = {count: statistics.median(values) for count, values in cpu_ms.items()}
    reference = median[counts[0]]
    def name(count: int) -> str:
        return f"{-count}_stuck" if count < 0 else str(count)

    return {
        "size": f"{size[0]}x{size[1]}", "reference_fps_0_clients": round(reference, 1),
        **{f"fps_{name(count)}_clients": round(rate, 1) for count, rate in median.items() if count},
        **{f"ratio_{name(count)}_clients": round(rate / reference, 3) for count, rate in median.items() if count},
        **{f"cpu_ms_per_frame_{name(count)}_clients": round(value, 2) for count, value in cpu.items()},
        **{f"cpu_ratio_{name(count)}_clients": round(value / cpu[counts[0]], 3) for count, value in cpu.items() if count},
        "rounds_fps": {name(count): [round(v, 1) for v in values] for count, values in rates.items()},
        "goal_5_clients_within_5_percent": median[5] >= 0.95 * reference,
    }


def bench_serve(sizes: list[tuple[int, int]], seconds: float) -> list[dict]:
    return [{**bench_serve_latency(size, max(seconds, 4.0)), **bench_serve_clients(size, seconds)} for size in sizes]


def print_serve(rows: list[dict]) -> None:
    print("\nfocuslock serve: frame -> focus event at a WebSocket client in another process (paced 30 fps bench, one lock);")
    print("reference: the engine's own frame -> verdict delay for the same frames")
    print(f"{'size':>10} {'median ms':>10} {'p99 ms':>8} {'ref med':>8} {'ref p99':>8} {'ratio':>6} {'added ms':>9}")
    for row in rows:
        print(f"{row['size']:>10} {row['frame_to_event_median_ms']:>10} {row['frame_to_event_p99_ms']:>8} "
              f"{row['reference_engine_median_ms']:>8} {row['reference_engine_p99_ms']:>8} {row['median_ratio']:>6} "
              f"{row['server_adds_median_ms']:>9}")
    print("session rate (bench unpaced) with clients reading events; reference: no client, same run")
    print(f"{'size':>10} {'0 clients':>10} {'1 client':>9} {'ratio':>6} {'5 clients':>10} {'ratio':>6} {'<=5% slower':>12}")
    for row in rows:
        print(f"{row['size']:>10} {row['reference_fps_0_clients']:>10} {row['fps_1_clients']:>9} {row['ratio_1_clients']:>6} "
              f"{row['fps_5_clients']:>10} {row['ratio_5_clients']:>6} {str(row['goal_5_clients_within_5_percent']):>12}")
        print(f"{'':>10} 5 clients that never read: {row['fps_5_stuck_clients']} fps ({row['ratio_5_stuck_clients']})")
        print(f"{'':>10} each round: {row['rounds_fps']}")
        print(f"{'':>10} the server process's CPU per frame: {row['cpu_ms_per_frame_0_clients']} ms with none, "
              f"{row['cpu_ms_per_frame_1_clients']} with 1 ({row['cpu_ratio_1_clients']}), "
              f"{row['cpu_ms_per_frame_5_clients']} with 5 ({row['cpu_ratio_5_clients']}), "
              f"{row['cpu_ms_per_frame_5_stuck_clients']} with 5 stuck ({row['cpu_ratio_5_stuck_clients']})")
