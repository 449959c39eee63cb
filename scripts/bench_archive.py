"""``check-archive``'s part of scripts/bench.py (``--only archive``): pictures judged per
second per core on 24 MP JPEGs, on a local Dask cluster of one worker and of two.

The pictures: one of the project's photographs (tests/data/focus-stacks/pcb) brought to
6000×4000 (cubic), each with its own noise, a third of them blurred by a Gaussian of two
CoC, saved as JPEG quality 90. The recipe: the first, sharp, with the feature chosen
automatically and a CoC of 6 px.

Reference, measured in the same run: the same files read and decoded alone (``open`` +
``cv2.imdecode``, what any check of a JPEG archive costs at least) in one process on one
core. The judge's rate is given as a ratio to it, and two workers against one. Also given:
the same pictures judged in one process without Dask or the log (``judge_shot`` alone),
which says what the cluster and the log add.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHOTOGRAPH = ROOT / "tests" / "data" / "focus-stacks" / "pcb" / "pcb_004.jpg"
SIZE = (6000, 4000)
COC_PX = 6.0
# Archive sizes the report turns the measured per-core rate into hours for.
ARCHIVE_PICTURES = 1_000_000
CORES = (2, 8, 32, 128)


def make_pictures(folder: Path, count: int) -> list[Path]:
    """``count`` 24 MP JPEGs (quality 90) of one of the project's photographs (the pcb stack's
    sharpest) with sensor noise, every third blurred by a Gaussian of 2 CoC; each file its
    own (its number written in a corner, away from the feature)."""
    scene = cv2.resize(cv2.imread(str(PHOTOGRAPH)), SIZE, interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(7).normal(0.0, 2.0, scene.shape).astype(np.float32)
    sharp = np.clip(scene + noise, 0, 255).astype(np.uint8)
    blurred = np.clip(cv2.GaussianBlur(scene, (0, 0), 2 * COC_PX) + noise, 0, 255).astype(np.uint8)
    made = []
    for index in range(count):
        picture = (blurred if index % 3 == 2 else sharp).copy()
        cv2.putText(picture, f"{index:04d}", (60, 200), cv2.FONT_HERSHEY_SIMPLEX, 5.0, (255, 255, 255), 12)
        path = folder / f"IMG_{index:04d}.JPG"
        cv2.imwrite(str(path), picture, [cv2.IMWRITE_JPEG_QUALITY, 90])
        made.append(path)
    return made


def decode_rate(paths: list[Path]) -> float:
    """Pictures per second read and decoded alone, in this process, on one core."""
    cv2.setNumThreads(1)
    started = time.perf_counter()
    for path in paths:
        picture = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert picture is not None and picture.shape[1] == SIZE[0]
    return len(paths) / (time.perf_counter() - started)


def judge_alone_rate(paths: list[Path], recipe: Path, session: Path) -> float:
    """Pictures per second read and judged (``judge_shot``, as a worker runs it) in this
    process, without Dask and without the log: what a worker's core can do at most."""
    from focuslock.session.hotfolder import structure_complete
    from focuslock.session.opening import SetupRequest, open_session
    from focuslock.workflows.shot_log import judge_shot

    cv2.setNumThreads(1)
    store, judge = open_session(session, None, SetupRequest.from_recipe(recipe)[1])
    store.close()
    started = time.perf_counter()
    for path in paths:
        judge_shot(path, structure_complete(path) is not False, (), judge)
    return len(paths) / (time.perf_counter() - started)


def judge_rate(folder: Path, recipe: Path, session: Path, workers: int) -> tuple[float, dict]:
    """``check-archive`` on ``folder`` with ``workers`` local workers: pictures judged per
    second once the cluster is up, and the verdicts counted."""
    from focuslock.workflows.archive import check_archive, open_session_sink

    sink = open_session_sink(session, recipe)
    try:
        summary = check_archive(folder, sink, sink.judge, workers=workers, skip={sink.reference_copy})
    finally:
        sink.close()
    assert summary.judged == summary.total, summary
    return summary.rate, dict(summary.counts)


def bench_archive(count: int = 24) -> dict:
    from focuslock.cli import main

    with tempfile.TemporaryDirectory(prefix="focuslock-bench-archive-") as temporary:
        root = Path(temporary)
        archive = root / "archive"
        archive.mkdir()
        paths = make_pictures(archive, count)
        recipe = root / "recipe" / "archive.toml"
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["recipe", "save", str(recipe), "--reference", str(paths[0]), "--roi", "auto", "--coc-px", str(COC_PX)]) == 0
        decode = decode_rate(paths)
        alone = judge_alone_rate(paths, recipe, root / "alone")
        one, counts = judge_rate(archive, recipe, root / "one", 1)
        two, _ = judge_rate(archive, recipe, root / "two", 2)
        shutil.rmtree(archive)
    per_core = one
    return {
        "pictures": f"{count} JPEGs {SIZE[0]}x{SIZE[1]} (24 MP), quality 90",
        "verdicts": counts,
        "decode_per_s": round(decode, 2),
        "judge_alone_per_s": round(alone, 2),
        "judge_per_s_1_worker": round(one, 2),
        "judge_per_s_2_workers": round(two, 2),
        "judge_to_decode_ratio": round(one / decode, 2),
        "scaling_2_vs_1": round(two / one, 2),
        "per_core_per_s": round(per_core, 2),
        "cpus": os.cpu_count(),
        "hours_for_1M": {str(cores): round(ARCHIVE_PICTURES / (per_core * cores) / 3600.0, 1) for cores in CORES},
    }


def print_archive(row: dict) -> None:
    print(f"\ncheck-archive on {row['pictures']} ({row['verdicts']}): {row['judge_per_s_1_worker']} pictures/s on 1 worker, "
          f"{row['judge_per_s_2_workers']} on 2 (x{row['scaling_2_vs_1']}); decoding alone {row['decode_per_s']} pictures/s "
          f"(judge/decode {row['judge_to_decode_ratio']}); "
          f"judged alone in one process, no Dask, no log: {row['judge_alone_per_s']} pictures/s")
    print("1,000,000 pictures at the per-core rate: "
          + ", ".join(f"{hours} h on {cores} cores" for cores, hours in row["hours_for_1M"].items()))
