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
         "--analyze-frames", "0", "--no-window", "--archive-pictures", "0"],
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
    [serve] = report["serve"]  # focuslock serve: each figure beside its reference of the same run
    assert serve["events"] > 0 and serve["reference_engine_median_ms"] > 0 and serve["reference_fps_0_clients"] > 0


def test_bench_only_runs_the_parts_asked_for():
    result = subprocess.run([sys.executable, str(SCRIPT), "--json", "--sizes", "256x170", "--repeats", "3", "--only", "focus"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["size"] for row in report["focus"]] == ["256x170"]
    assert report["render"] == [] and report["session"] == [] and report["analyze"] is None and report["window"] is None
    assert report["serve"] == [] and report["archive"] is None


def test_the_focus_truth_script_tabulates_every_noise_level_and_contrast():
    script = SCRIPT.parent / "focus_truth.py"
    result = subprocess.run([sys.executable, str(script), "--crops", "barcode"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.strip().splitlines()[1:]]
    assert len(rows) == 9  # three noise levels × three contrasts
    assert {(row[1], row[2]) for row in rows} == {(sd, c) for sd in ("1", "3", "8") for c in ("1", "0.5", "0.2")}
    # The last column counts frames read SHARP past the CoC: never.
    assert all(row[-1] == "0" for row in rows)


def test_the_tilted_box_table_runs_with_and_without_parts():
    # The script's "whole only" switch once fell behind the lock's own signature and broke
    # the table: one row of it, both ways, on one crop.
    import importlib.util

    import cv2

    spec = importlib.util.spec_from_file_location("focus_truth", SCRIPT.parent / "focus_truth.py")
    truth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(truth)
    plane = truth.TiltedPlane(cv2.cvtColor(cv2.imread(str(truth.DATA / "barcode.jpg")), cv2.COLOR_BGR2RGB),
                              max_blur_px=3.0 * truth.COC_PX * 1.5 + 1.0)
    with_parts = truth.run_tilted(plane, "barcode", 1.0, 3.0, True)
    whole = truth.run_tilted(plane, "barcode", 1.0, 3.0, False)
    # Parts see the box leave the depth of field; never SHARP past the CoC with them.
    assert with_parts["sharp_beyond_coc"] == 0 and with_parts["first_soft_coc"] is not None
    assert whole["first_soft_coc"] is None or whole["first_soft_coc"] >= with_parts["first_soft_coc"]
    from focuslock.focus.parts import FeatureReference

    assert FeatureReference.size_parts.__name__ == "size_parts"  # the switch is put back
