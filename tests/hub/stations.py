"""Helpers of the hub's station tests: pictures for a hot folder, a station as a real
``focuslock watch`` process, and the comparison of a station's SQLite log with the hub,
row by row."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import psycopg

from focuslock.session.store import ShotStore
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).resolve().parents[1] / "data" / "focus-stacks"
ROI = "225,150,150,120"
COC_PX = "3"


def pictures(folder: Path, prefix: str, count: int, soft_every: int = 3, start: int = 0) -> list[str]:
    """``count`` JPEGs of a 600×450 scene in ``folder``, every ``soft_every``-th blurred
    past the CoC; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    scene = cv2.resize(rgb, (600, 450), interpolation=cv2.INTER_AREA)
    names = []
    for i in range(start, start + count):
        name = f"{prefix}_{i:03d}.JPG"
        blur = 4.0 if soft_every and i % soft_every == soft_every - 1 else 0.0
        picture = cv2.cvtColor(degrade(scene, blur, 2.0, seed=i), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f".{name}.tmp.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 92])
        os.replace(folder / f".{name}.tmp.jpg", folder / name)  # whole when it appears
        names.append(name)
    return names


def watch_command(folder: Path, session: Path, url: str, station: str, *, once: bool = True) -> list[str]:
    command = [sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", ROI, "--coc-px", COC_PX,
               "--session", str(session), "--hub", url, "--station", station, "--no-events", "--poll-s", "0.2",
               "--sidecars", "none"]
    return command + (["--once"] if once else [])


def station_env(config: Path) -> dict[str, str]:
    return dict(os.environ, FOCUSLOCK_CONFIG_DIR=str(config))


def local_rows(session: Path) -> list[tuple]:
    """The station's log: (sequence, name, verdict, sku, sku_number, [(path, sha256, size, role)], [(feature, state)])."""
    with ShotStore.read(session) as store:
        return [(s.sequence, s.record.name, s.record.verdict, s.record.sku, s.record.sku_number,
                 sorted((f.path, f.sha256, f.size_bytes, f.role) for f in s.record.files),
                 sorted((f.feature, f.state) for f in s.record.features)) for s in store.shots()]


def session_key(session: Path) -> str:
    with ShotStore.read(session) as store:
        return store.session_key()


def hub_rows(url: str, station: str, key: str) -> list[tuple]:
    """The same rows as :func:`local_rows`, read from the hub."""
    with psycopg.connect(url) as connection:
        shots = connection.execute(
            "SELECT sequence, name, verdict, sku, sku_number FROM shots WHERE station_id = %s AND session_key = %s "
            "ORDER BY sequence", (station, key)).fetchall()
        files = connection.execute(
            "SELECT sequence, path, sha256, size_bytes, role FROM shot_files WHERE station_id = %s AND session_key = %s",
            (station, key)).fetchall()
        features = connection.execute(
            "SELECT sequence, feature, state FROM feature_verdicts WHERE station_id = %s AND session_key = %s",
            (station, key)).fetchall()
    return [(*shot, sorted(f[1:] for f in files if f[0] == shot[0]), sorted(f[1:] for f in features if f[0] == shot[0]))
            for shot in shots]


def hub_count(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM shots").fetchone()[0])
    except psycopg.OperationalError:
        return -1


def wait_until(condition, what: str, timeout_s: float = 120.0) -> None:
    """Wait for ``condition()`` (a generous bound: a loaded machine is slow, never a timing claim)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def logged_count(session: Path) -> int:
    try:
        with ShotStore.read(session) as store:
            return store.shot_count()
    except Exception:
        return 0


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
