"""Issue 28, item 2: the session's lock and database, in a folder other programs write in,
are never opened through a link, never truncated, never a pipe, device or folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from focuslock.session.database import DATABASE_NAME, SessionError
from focuslock.session.store import ShotStore

LOCK_NAME = "focuslock-session.lock"

_OPEN = r"""
import json, sys
from pathlib import Path
from focuslock.session.database import SessionError
from focuslock.session.store import ShotStore
try:
    ShotStore.open(Path(sys.argv[1])).close()
    print(json.dumps({"opened": True}))
except SessionError as error:
    print(json.dumps({"refused": str(error)}))
"""


def _precious_files(tmp_path: Path) -> tuple[Path, Path]:
    """A text file and another program's SQLite database, outside the session."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    notes = elsewhere / "notes.txt"
    notes.write_text("the only copy of a client's notes\n" * 50)
    database = elsewhere / "catalog.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE pictures (name TEXT)")
        db.execute("INSERT INTO pictures VALUES ('a.jpg')")
    db.close()
    return notes, database


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _assert_one_sentence(text: str, *words: str) -> None:
    assert "\n" not in text and text.endswith(".") and text.count(". ") == 0, text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("planted, target", [(LOCK_NAME, "notes.txt"), (LOCK_NAME, "catalog.sqlite"),
                                             (DATABASE_NAME, "catalog.sqlite"), (DATABASE_NAME, "notes.txt"),
                                             (DATABASE_NAME + "-wal", "notes.txt")])
def test_a_link_planted_as_the_lock_or_database_is_refused_and_its_target_untouched(tmp_path, planted, target):
    notes, database = _precious_files(tmp_path)
    before = _snapshot(notes.parent)
    session = tmp_path / "hot"
    session.mkdir()
    (session / planted).symlink_to(notes.parent / target)
    with pytest.raises(SessionError) as refused:
        ShotStore.open(session)
    _assert_one_sentence(str(refused.value), str(session / planted), "is a symbolic link", target, "left untouched")
    assert _snapshot(notes.parent) == before  # byte-identical, and nothing created beside them


def test_the_report_never_reads_a_database_through_a_link(tmp_path):
    notes, database = _precious_files(tmp_path)
    session = tmp_path / "hot"
    session.mkdir()
    (session / DATABASE_NAME).symlink_to(database)
    with pytest.raises(SessionError) as refused:
        ShotStore.read(session)
    _assert_one_sentence(str(refused.value), str(session / DATABASE_NAME), "is a symbolic link")


def test_a_lock_file_already_there_is_used_but_never_truncated(tmp_path):
    session = tmp_path / "hot"
    session.mkdir()
    lock = session / LOCK_NAME
    lock.write_text("a file another program left under this name\n")
    with ShotStore.open(session) as store:
        assert store.shot_count() == 0
    assert lock.read_text() == "a file another program left under this name\n"
    with ShotStore.open(session):  # and the session opens again
        pass


@pytest.mark.parametrize("name", [LOCK_NAME, DATABASE_NAME])
def test_a_pipe_in_place_of_the_lock_or_database_is_refused_without_hanging(tmp_path, name):
    session = tmp_path / "hot"
    session.mkdir()
    os.mkfifo(session / name)
    # The timeout only guards the test run against a hang; the assertion is the sentence.
    run = subprocess.run([sys.executable, "-c", _OPEN, str(session)], capture_output=True, text=True, timeout=60)
    result = json.loads(run.stdout or "{}")
    assert "refused" in result, run.stderr[-400:]
    _assert_one_sentence(result["refused"], str(session / name), "is a named pipe, not a regular file")


def test_a_folder_in_place_of_the_database_is_refused_in_one_sentence(tmp_path):
    session = tmp_path / "hot"
    (session / DATABASE_NAME).mkdir(parents=True)
    with pytest.raises(SessionError) as refused:
        ShotStore.open(session)
    _assert_one_sentence(str(refused.value), str(session / DATABASE_NAME), "is a folder, not a regular file")


def test_watch_on_a_hot_folder_with_a_planted_lock_link_stops_in_one_sentence_and_the_target_is_untouched(tmp_path):
    import cv2
    import numpy as np

    notes, _ = _precious_files(tmp_path)
    before = notes.read_bytes()
    hot = tmp_path / "hot"
    hot.mkdir()
    (hot / LOCK_NAME).symlink_to(notes)
    rng = np.random.default_rng(1)
    picture = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (800, 600), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(hot / "REF.JPG"), picture)
    run = subprocess.run([sys.executable, "-m", "focuslock", "watch", str(hot), "--roi", "300,200,200,150", "--coc-px", "3",
                          "--once"], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == (
        f"focuslock: {hot / LOCK_NAME} is a symbolic link (to {notes}), which focuslock never follows for a session's "
        "lock file: it was left untouched; remove it, then start the session again.")
    assert "Traceback" not in run.stderr
    assert notes.read_bytes() == before


def test_a_database_swapped_for_a_link_while_sqlite_opens_it_is_refused(tmp_path, monkeypatch):
    """The race the checks cannot prevent (Python's sqlite3 has no SQLITE_OPEN_NOFOLLOW)
    is caught once SQLite has opened the file: the session stops in one sentence."""
    from focuslock.session import database as database_module

    _, database = _precious_files(tmp_path)
    session = tmp_path / "hot"
    session.mkdir()
    real_connect = database_module._connect_sqlite

    def swapped_first(path: Path, read_only: bool):
        path.unlink()
        path.symlink_to(database)
        return real_connect(path, read_only)

    monkeypatch.setattr(database_module, "_connect_sqlite", swapped_first)
    with pytest.raises(SessionError) as refused:
        ShotStore.open(session)
    _assert_one_sentence(str(refused.value), str(session / DATABASE_NAME), "was replaced while focuslock opened it")
