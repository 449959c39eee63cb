"""A real ``focuslock serve`` on a loopback port, over the simulated macro bench.

The bench stands in for a tethered body's live view (the same ``Camera`` protocol, paced
at its frame rate, a drive that moves focus in steps, a cable that can be pulled); the
server, the live session, the engine and the clients are the real ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from focuslock.client import FocusClient
from focuslock.serve.server import RunningServer, start_server
from focuslock.simulators.demo import DemoView, demo_view
from focuslock.simulators.sim import BenchConfig

# Small enough for a shared machine; the demo's view of the bench (letters on the coin,
# live view zoomed 5× so the CoC spans 2 px).
SIZE = (512, 340)


@dataclass
class Served:
    running: RunningServer
    view: DemoView
    client: FocusClient

    @property
    def roi(self) -> list[int]:
        return list(self.view.roi_px)

    def focus_on_feature(self) -> None:
        """Drive from wherever the bench is to the feature's best focus."""
        truth = self.running.host.latest().analysis.frame.metadata["sim_truth"]
        self.client.drive(round(self.view.best_steps) - truth.focus_position_steps)


def wait_for(predicate, timeout_s: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} did not come within {timeout_s} s")


def serve_bench(host: str = "127.0.0.1", token_file=None, **options) -> tuple[RunningServer, DemoView]:
    view = demo_view(BenchConfig(live_view_size_px=SIZE, capture_width_px=1024))
    running = start_server(view.bench, host=host, port=0, token_file=token_file, **options)
    wait_for(lambda: running.host.latest() is not None, what="a first frame")
    return running, view


@pytest.fixture
def served(tmp_path):
    running, view = serve_bench(capture_folder=tmp_path / "captures")
    try:
        yield Served(running, view, FocusClient(running.url))
    finally:
        running.stop()
