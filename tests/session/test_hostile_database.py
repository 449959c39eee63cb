"""A session folder copied from another machine may hold a ``focuslock-session.sqlite``
that is not focuslock's (issue 28, item 7): views, triggers, unknown objects and cells of
any type. `focuslock report` and `focuslock watch --session` are run as the user runs
them, in a subprocess (a timeout only as a guard against a hang), and must refuse or
read each in one sentence, run nothing, and leave every logged row as it was."""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from focuslock.cli import main
from focuslock.session.database import DATABASE_NAME
from tests.test_watch import ROI, _save, _scene
from tests.unprivileged import read_only_folder, remove, run_unprivileged

_GUARD_S = 120  # only against a hang (the old code spun forever on a recursive view)


def _import_before_dropping_rights() -> None:
    """What `report` imports lazily, imported before the unprivileged child drops its
    rights (it cannot read the interpreter's own files then)."""
    for name in ("gettext", "locale", "focuslock.io.outputs", "focuslock.session.report"):
        importlib.import_module(name)


def _focuslock(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "focuslock", *args], capture_output=True, text=True, timeout=_GUARD_S, check=False,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A session focuslock made: two pictures of a hot folder logged by `watch --session`."""
    root = tmp_path_factory.mktemp("made")
    hot = root / "hot"
    hot.mkdir()
    for name in ("IMG_1.jpg", "IMG_2.jpg"):
        _save(hot / name, _scene())
    run = _focuslock("watch", str(hot), "--roi", ROI, "--session", str(root / "session"), "--once")
    assert run.returncode == 0, run.stderr
    return root


def _copy(made: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The made session and its hot folder copied, with a new picture waiting in the hot folder."""
    shutil.copytree(made, tmp_path / "copy")
    hot, session = tmp_path / "copy" / "hot", tmp_path / "copy" / "session"
    _save(hot / "IMG_3.jpg", _scene())
    return hot, session


def _rows(session: Path) -> list[tuple]:
    """Every logged file and its checksum, read without running anything in the schema."""
    with contextlib.closing(sqlite3.connect(f"{(session / DATABASE_NAME).as_uri()}?mode=ro", uri=True)) as db:
        return db.execute("SELECT shot_id, path, sha256 FROM shot_files ORDER BY id").fetchall()


def _one_sentence(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("focuslock: ") and run.stderr.count("\n") == 1, run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


def _edit(session: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(session / DATABASE_NAME, isolation_level=None)) as db:
        db.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            db.execute(statement)


_SHOT_COLUMNS = "id, sequence, logged_utc, name, verdict, reason, drift_px, drift_share, camera_json, optics_json, sku"

_HOSTILE = {
    # A view named like our table, endless: every read of it ran forever.
    "a recursive view in place of the shots table": (
        ("DROP TABLE shots",
         (f"CREATE VIEW shots({_SHOT_COLUMNS}) AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
          "SELECT x, x, '', 'IMG', 'pass', NULL, NULL, NULL, '{}', '{}', NULL FROM c")),
        "a view (shots)"),
    # Run inside focuslock's own transaction when it logs a shot.
    "a trigger on insert that rewrites every checksum": (
        ("CREATE TRIGGER forge AFTER INSERT ON shot_files BEGIN UPDATE shot_files SET sha256 = 'forged'; END",),
        "a trigger (forge)"),
    "a trigger on insert that deletes the logged shots": (
        (("CREATE TRIGGER wipe AFTER INSERT ON shots BEGIN DELETE FROM shot_files WHERE shot_id <> NEW.id; "
          "DELETE FROM shots WHERE id <> NEW.id; END"),),
        "a trigger (wipe)"),
    # An index runs its expression on every insert: only ours are kept.
    "an index focuslock did not make": (("CREATE INDEX by_name ON shots(lower(name))",), "an index (by_name)"),
    "a virtual table": (("CREATE VIRTUAL TABLE notes USING fts5(text)",), "a virtual table (notes)"),
    # Our table's definition changed (a DEFAULT, a column more): not the one focuslock makes.
    "the shots table made with another definition": (
        ("ALTER TABLE shots ADD COLUMN extra TEXT DEFAULT 'x'",), "a table shots that is not the one focuslock makes"),
}


@pytest.mark.parametrize("case", list(_HOSTILE))
def test_a_hostile_schema_is_refused_in_one_sentence_naming_it_and_nothing_in_it_runs(made, tmp_path, case):
    statements, named = _HOSTILE[case]
    hot, session = _copy(made, tmp_path)
    _edit(session, *statements)
    before = _rows(session)
    assert len(before) == 2
    report = _focuslock("report", str(session))
    _one_sentence(report, named, "focuslock did not make" if "definition" not in case else "focuslock makes")
    assert not (session / "report.html").exists()
    watch = _focuslock("watch", str(hot), "--session", str(session), "--once")
    _one_sentence(watch, named)
    assert _rows(session) == before  # no trigger ran: no checksum rewritten, no row deleted, IMG_3 not logged


def test_an_extra_table_of_its_own_is_left_alone_and_the_session_still_reports_and_logs(made, tmp_path):
    """Allowed, by decision: an ordinary table runs nothing and focuslock never reads or
    writes it; a studio may keep its notes in the file with a database tool."""
    hot, session = _copy(made, tmp_path)
    _edit(session, "CREATE TABLE studio_notes (shot INTEGER UNIQUE, note TEXT)",
          "INSERT INTO studio_notes VALUES (1, 'retouch the label')")
    before = _rows(session)
    assert _focuslock("report", str(session)).returncode == 0
    assert "IMG_2" in (session / "report.html").read_text()
    watch = _focuslock("watch", str(hot), "--session", str(session), "--once")
    assert watch.returncode == 0, watch.stderr
    after = _rows(session)
    # (the logged paths name the made hot folder, so the copy's IMG_1 and IMG_2 are new too)
    assert after[:2] == before and any(path.endswith("copy/hot/IMG_3.jpg") for _, path, _ in after[2:])
    with contextlib.closing(sqlite3.connect(session / DATABASE_NAME)) as db:
        assert db.execute("SELECT * FROM studio_notes").fetchall() == [(1, "retouch the label")]


# Each kind of malformed cell, put into every column of the first row of every table
# (where SQLite's own NOT NULL, UNIQUE and key types let it); the setup is kept readable
# so that the report reads every other cell.
_MALFORMED = {
    "text that is not UTF-8": "CAST(x'ff80fe' AS TEXT)",
    "JSON nested 100000 deep": "'" + "[" * 100_000 + "'",
    "a blob": "x'00ff00'",
    "text": "'not a number'",
    "an infinite real": "9e999",
    "the largest integer": "9223372036854775807",
    "a negative integer": "-1",
    "a fractional real": "0.5",
    "NULL": "NULL",
    "an empty text": "''",
}
_COLUMNS = {
    "session": ("id", "created_utc", "name"),
    "shots": _SHOT_COLUMNS.split(", "),
    "shot_files": ("id", "shot_id", "path", "sha256", "size_bytes", "role"),
    "feature_verdicts": ("shot_id", "feature", "state", "reason", "blur_px", "blur_sd_px", "blur_um", "coc_share",
                         "found_x_px", "found_y_px", "drift_px"),
}


@pytest.mark.parametrize("kind", list(_MALFORMED))
def test_malformed_cells_of_each_type_are_read_or_refused_in_one_sentence(made, tmp_path, kind):
    hot, session = _copy(made, tmp_path)
    value = _MALFORMED[kind]
    changed = 0
    with contextlib.closing(sqlite3.connect(session / DATABASE_NAME, isolation_level=None)) as db:
        db.execute("PRAGMA ignore_check_constraints = ON")  # a log not written by focuslock has no CHECK
        for table, columns in _COLUMNS.items():
            for column in columns:
                with contextlib.suppress(sqlite3.IntegrityError, sqlite3.OperationalError):  # SQLite's own refusal
                    db.execute(f"UPDATE {table} SET {column} = {value} WHERE rowid = (SELECT MIN(rowid) FROM {table})")
                    changed += 1
    assert changed > 10
    report = _focuslock("report", str(session), "--out", str(tmp_path / "report.html"))
    assert "Traceback" not in report.stderr
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report.html").stat().st_size > 0 and (tmp_path / "report.csv").exists()
    watch = _focuslock("watch", str(hot), "--session", str(session), "--once")
    assert "Traceback" not in watch.stderr
    if watch.returncode != 0:
        _one_sentence(watch)


@pytest.mark.parametrize("setup", ["CAST(x'7b22ff22' AS TEXT)", "'" + "[" * 100_000 + "'"], ids=["not UTF-8", "nested"])
def test_a_malformed_setup_is_one_sentence(made, tmp_path, setup):
    hot, session = _copy(made, tmp_path)
    _edit(session, f"UPDATE session SET setup_json = {setup}")
    _one_sentence(_focuslock("report", str(session)), "setup")
    _one_sentence(_focuslock("watch", str(hot), "--session", str(session), "--once"), "setup")


def test_a_session_in_a_folder_focuslock_cannot_write_is_reported(made):
    """Read as another user (nobody, when the suite runs as root), the session folder and
    its database without write permission: the report is written elsewhere."""
    _import_before_dropping_rights()

    folder = read_only_folder() / "session"
    out = Path(tempfile.mkdtemp(prefix="focuslock-out-"))
    try:
        shutil.copytree(made / "session", folder)
        for path in (folder / DATABASE_NAME, folder, folder.parent):
            os.chmod(path, 0o444 if path.is_file() else 0o555)
        os.chmod(out, 0o777)

        code, err = run_unprivileged(functools.partial(_report, folder, out))
        assert (code, err) == (0, "")
        assert "IMG_2" in (out / "report.html").read_text()
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (made / "session").iterdir())
    finally:
        os.chmod(folder, 0o755)
        remove(folder.parent)
        shutil.rmtree(out, ignore_errors=True)


def _report(folder: Path, out: Path) -> list:
    """``focuslock report`` on ``folder`` into ``out``: [exit code, what it said]."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["report", str(folder), "--out", str(out / "report.html")])
    return [code, err.getvalue()]


@pytest.mark.parametrize("with_shm", [False, True], ids=["without its shared memory", "with its shared memory"])
def test_a_read_only_session_whose_write_ahead_log_holds_shots_is_read_whole_or_one_sentence(tmp_path, with_shm):
    """A copy taken while a writer was open: the shots are only in the -wal file. With its
    -shm, SQLite reads them; without, none could be read, so it says so — never a report
    silently lacking them."""
    _import_before_dropping_rights()
    from focuslock.session.records import ShotFile, ShotRecord
    from focuslock.session.store import ShotStore

    folder = read_only_folder() / "session"
    out = Path(tempfile.mkdtemp(prefix="focuslock-out-"))
    try:
        folder.mkdir()
        names = [DATABASE_NAME, DATABASE_NAME + "-wal"] + ([DATABASE_NAME + "-shm"] if with_shm else [])
        with ShotStore.open(tmp_path / "writer", name="s", setup={}) as store:
            for name in ("IMG_1", "IMG_2"):
                store.record_shot(ShotRecord(name, (ShotFile(f"{name}.jpg", "ab" * 32, 1),), "pass"))
            for name in names:  # copied while the writer is open: nothing checkpointed yet
                shutil.copy(tmp_path / "writer" / name, folder / name)
        for path in [folder / name for name in names] + [folder, folder.parent]:
            os.chmod(path, 0o444 if path.is_file() else 0o555)
        os.chmod(out, 0o777)

        code, err = run_unprivileged(functools.partial(_report, folder, out))
        if with_shm:
            assert (code, err) == (0, "")
            page = (out / "report.html").read_text()
            assert "IMG_1.jpg" in page and "IMG_2.jpg" in page
        else:
            assert code == 1 and err.count("\n") == 1 and "write-ahead log holds shots" in err, err
            assert not (out / "report.html").exists()
    finally:
        os.chmod(folder, 0o755)
        remove(folder.parent)
        shutil.rmtree(out, ignore_errors=True)
