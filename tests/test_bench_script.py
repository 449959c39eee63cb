"""scripts/bench.py must keep running: it is how speed goals are checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def test_bench_script_reports_every_figure_with_its_reference():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--sizes", "256x170", "--repeats", "3", "--seconds", "0.5",
         "--analyze-frames", "0", "--no-window"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [render] = report["render"]
    assert render["size"] == "256x170"
    assert render["reference_jpeg_ms"] > 0
    # The ratio is of the unrounded times; the printed times are rounded to 0.01 ms.
    recomputed = render["still_frame_ms"] / render["reference_jpeg_ms"]
    assert abs(render["still_ratio"] - recomputed) <= 0.05 * recomputed + 0.01
    [session] = report["session"]
    assert session["unpaced_published_fps"] > 0
    [focus] = report["focus"]
    assert focus["reference_ms"] > 0 and focus["state"] == "sharp"
