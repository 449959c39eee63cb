"""The shot log: real SQLite files, real processes killed with SIGKILL mid-write."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from focuslock.session.database import DATABASE_NAME, SessionError
from focuslock.session.migrations import MIGRATIONS, SCHEMA_VERSION
from focuslock.session.records import FeatureVerdict, ShotFile, ShotRecord
from focuslock.session.store import ShotStore


def _shot(name: str, verdict: str = "pass") -> ShotRecord:
    return ShotRecord(name, (ShotFile(f"{name}.jpg", "ab" * 32, 1234), ShotFile(f"{name}.cr3", "cd" * 32, 99, "companion")),
                      verdict, None if verdict == "pass" else "feature 1 is soft",
                      (FeatureVerdict(0, "sharp" if verdict == "pass" else "soft", None, 0.4, 0.1, 2.1, 0.13, (10.0, 20.0), 1.5),),
                      1.5, 0.001, {"iso": "100"}, {"f_number": 8}, None)


def test_a_shot_is_logged_whole_and_read_back(tmp_path):
    with ShotStore.open(tmp_path / "s", setup={"reference": "reference.png"}) as store:
        first = store.record_shot(_shot("IMG_1"))
        second = store.record_shot(_shot("IMG_2", "soft"))
        assert (first.sequence, second.sequence) == (1, 2)
        # One capture, one row: the same file again is refused, and nothing half-written stays.
        with pytest.raises(SessionError, match="already in the session's log"):
            store.record_shot(_shot("IMG_1"))
        assert store.shot_count() == 2
    with ShotStore.read(tmp_path / "s") as store:
        shots = list(store.shots(batch=1))
        assert [s.record for s in shots] == [_shot("IMG_1"), _shot("IMG_2", "soft")]
        assert store.verdict_counts() == {"soft": 1, "drift": 0, "uncertain": 0, "pass": 1}
        assert store.setup() == {"reference": "reference.png"}
        assert store.integrity_problems() == []


def test_one_writer_at_a_time_and_readers_alongside(tmp_path):
    writer = ShotStore.open(tmp_path)
    try:
        with pytest.raises(SessionError, match="open in another focuslock"):
            ShotStore.open(tmp_path)
        writer.record_shot(_shot("a"))
        with ShotStore.read(tmp_path) as reader:
            assert reader.shot_count() == 1
    finally:
        writer.close()
    # The lock goes with its holder.
    ShotStore.open(tmp_path).close()


def test_an_older_session_is_migrated_keeping_its_shots_and_a_newer_one_is_refused(tmp_path):
    # A session written before the SKU column existed (schema 1), made with that schema's own SQL.
    old = tmp_path / "old"
    old.mkdir()
    connection = sqlite3.connect(old / DATABASE_NAME)
    connection.executescript(MIGRATIONS[0])
    connection.execute("INSERT INTO session VALUES (1, '2026-01-01T00:00:00+00:00', 'old', '{}')")
    connection.execute("INSERT INTO shots (sequence, logged_utc, name, verdict) VALUES (1, 'then', 'IMG_1', 'soft')")
    connection.execute("INSERT INTO shot_files (shot_id, path, sha256, size_bytes, role) VALUES (1, 'IMG_1.jpg', 'x', 5, 'judged')")
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()
    with pytest.raises(SessionError, match="older focuslock"):
        ShotStore.read(old)
    with ShotStore.open(old) as store:
        [shot] = list(store.shots())
        assert shot.record.name == "IMG_1" and shot.record.verdict == "soft" and shot.record.sku is None
        store.record_shot(_shot("IMG_2"))
    connection = sqlite3.connect(old / DATABASE_NAME)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(SessionError, match="newer focuslock"):
        ShotStore.open(old)


def test_a_damaged_database_is_refused_in_one_sentence(tmp_path):
    (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database, it was overwritten by something" * 100)
    with pytest.raises(SessionError, match="damaged") as error:
        ShotStore.open(tmp_path)
    assert "\n" not in str(error.value)


# The writer: logs shots as fast as it can and says which ones COMMIT returned for.
_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from focuslock.session.store import FeatureVerdict, ShotFile, ShotRecord, ShotStore
    store = ShotStore.open(Path(sys.argv[1]))
    start = store.shot_count()
    for i in range(start, start + 100000):
        name = f"IMG_{i:06d}"
        store.record_shot(ShotRecord(name, (ShotFile(name + ".jpg", "ab" * 32, i), ShotFile(name + ".cr3", "cd" * 32, i, "companion")),
                                     "pass", None, tuple(FeatureVerdict(k, "sharp", None, 0.1 * k) for k in range(4))))
        print(name, flush=True)
""")


def test_a_writer_killed_at_random_points_never_corrupts_the_log_nor_loses_a_committed_shot(tmp_path):
    rng = random.Random(20261122)
    committed: list[str] = []
    for _ in range(12):
        process = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        # Let it write a random number of shots (at least one), then kill it wherever it is.
        wanted = rng.randint(1, 40)
        for _ in range(wanted):
            line = process.stdout.readline()
            if not line:
                break
            committed.append(line.strip())
        time.sleep(rng.random() * 0.01)
        process.send_signal(signal.SIGKILL)
        rest, _ = process.communicate()
        committed += rest.split()  # printed after COMMIT returned, before the kill
        assert process.returncode == -signal.SIGKILL
    with ShotStore.open(tmp_path) as store:
        assert store.integrity_problems() == []
        shots = list(store.shots())
        names = [s.record.name for s in shots]
        # Every shot whose COMMIT returned is there, once; each whole (its two files, four features).
        assert set(committed) <= set(names) and len(names) == len(set(names))
        assert all(len(s.record.files) == 2 and len(s.record.features) == 4 for s in shots)
        assert [s.sequence for s in shots] == list(range(1, len(shots) + 1))
        assert len(committed) >= 12
