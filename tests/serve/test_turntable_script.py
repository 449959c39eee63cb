"""scripts/turntable_loop.py, the example a studio starts from, against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "turntable_loop.py"


def test_the_turntable_loop_shoots_each_sharp_position_and_refuses_soft_ones(served, tmp_path):
    served.focus_on_feature()
    roi = ",".join(str(v) for v in served.roi)
    run = subprocess.run([sys.executable, str(SCRIPT), "--url", served.running.url, "--positions", "2", "--roi", roi,
                          "--timeout", "20"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "captures").iterdir())) == 2
    # Racked far off: no position gets sharp, none is shot, the run says which.
    served.client.drive(400)
    run = subprocess.run([sys.executable, str(SCRIPT), "--url", served.running.url, "--positions", "1", "--timeout", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "not shot: positions [1]" in run.stderr
    assert len(list((tmp_path / "captures").iterdir())) == 2
