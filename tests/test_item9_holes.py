"""The smaller holes of issue 28 item 9, each through the command a user runs
(``python -m focuslock ...`` in a subprocess, a guard timeout against a hang only, and a
memory limit so that a runaway allocation is a MemoryError here, not the machine's):
deeply nested TOML, a recipe's ``features = 5`` and ``[camera] name = 5``, a naming
pattern's ``{seq:01500000000d}``, ``mark list`` on a damaged index, ``--poll-s 1e300``,
long SKUs, SKUs with a slash or a leading dash, file names with a newline or an ANSI
escape in `watch`'s output, the report's empty checksum, and a sparse reference picture
of gigabytes."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from tests.conftest import VIRTUAL_CAMERA_JPEG

GUARD_S = 120  # against a hang only
MEMORY_LIMIT_BYTES = 3 << 30
DATA = Path(__file__).parent / "data" / "focus-stacks"
ROI = "225,150,150,120"  # the barcode's middle in the 600×450 pictures below
DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def _focuslock(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "focuslock", *args], cwd=cwd, capture_output=True, text=True,
                          errors="replace", timeout=GUARD_S, check=False, preexec_fn=_limit_memory,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})})


def _one_sentence(run: subprocess.CompletedProcess, *words: str) -> str:
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode > 0 and len(lines) == 1, (run.returncode, run.stderr)
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def _scene():
    return cv2.resize(cv2.imread(str(DATA / "barcode.jpg")), (600, 450), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A recipe made by `recipe save` on the virtual camera's picture (so that `capture`
    judges its shots against it)."""
    folder = tmp_path_factory.mktemp("recipe")
    run = _focuslock("recipe", "save", str(folder / "r.toml"), "--reference", str(VIRTUAL_CAMERA_JPEG),
                     "--roi", "100,200,300,100", cwd=folder)
    assert run.returncode == 0, run.stderr
    return folder / "r.toml"


def _edited(recipe: Path, where: Path, edit) -> Path:
    """A copy of ``recipe`` (its PNG beside it) with its text changed by ``edit``."""
    shutil.copy(recipe.with_suffix(".png"), where / recipe.with_suffix(".png").name)
    copy = where / recipe.name
    copy.write_text(edit(recipe.read_text()))
    return copy


# --------------------------------------------------------------------------- TOML

def test_a_deeply_nested_recipe_or_calibration_is_one_sentence(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text(DEEP)
    _one_sentence(_focuslock("recipe", "check", str(deep), "--source", "sim", cwd=tmp_path), "deep.toml", "nested")
    _one_sentence(_focuslock("stack-plan", "--f-number", "4", "--coc", "0.02", "--focal-length", "100", "--magnification",
                             "1", "--depth", "2", "--calibration", str(deep), cwd=tmp_path), "deep.toml", "nested")


@pytest.mark.parametrize("where", ["calibration/lenses.toml", "drivers/mine.toml"], ids=["lens file", "driver file"])
def test_a_deeply_nested_user_catalog_file_is_warned_about_and_skipped(tmp_path, where):
    """A user's own lens or driver file nested 5000 deep costs only itself: the shipped
    catalog answers, a warning names the file."""
    config = tmp_path / "config"
    (config / where).parent.mkdir(parents=True)
    (config / where).write_text(DEEP)
    args = ["dof", "--lens", "MP-E 65", "--camera", "EOS R5", "--f-number", "4", "--magnification", "5"] \
        if where.startswith("calibration") else ["cameras", "--json"]
    run = _focuslock(*args, cwd=tmp_path, env={"FOCUSLOCK_CONFIG_DIR": str(config)})
    assert "Traceback" not in run.stderr and run.returncode == 0, run.stderr[-3000:]
    assert Path(where).name in run.stderr and "nested" in run.stderr


# --------------------------------------------------------------------------- recipes

@pytest.mark.parametrize(("edit", "words"), [
    (lambda text: text.replace("format = 1", "format = 1\nfeatures = 5").split("[[features]]")[0], ("features",)),
    (lambda text: text.replace("[camera]", "[camera]\nname = 5"), ("camera.name",)),
    (lambda text: text.replace('pattern = "{session}_{sku}_{seq:04d}"', 'pattern = "{seq:01500000000d}"'), ("{seq}", "two digits")),
], ids=["features = 5", "camera name = 5", "seq width 1500000000"])
def test_a_recipe_field_of_the_wrong_kind_is_refused_when_it_is_read(recipe, tmp_path, edit, words):
    """Refused in one sentence by `recipe check` and by `capture --session` before the
    camera fires (the pattern's width would have allocated gigabytes; a numeric camera
    name made the next run blame the user for editing the session)."""
    edited = _edited(recipe, tmp_path, edit)
    _one_sentence(_focuslock("recipe", "check", str(edited), "--source", "sim", cwd=tmp_path), *words)
    run = _focuslock("capture", "--session", str(tmp_path / "session"), "--recipe", str(edited), cwd=tmp_path)
    _one_sentence(run, *words)
    assert not (tmp_path / "session").exists()


# --------------------------------------------------------------------------- names

def _capture(recipe: Path, session: Path, sku: str) -> list[str]:
    run = _focuslock("capture", "--session", str(session), "--recipe", str(recipe), f"--sku={sku}", cwd=session.parent)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    return sorted(p.name for p in session.iterdir() if p.suffix.upper() == ".JPG")


def test_product_codes_never_cut_the_number_or_collide_or_lead_with_a_dash(recipe, tmp_path):
    """Captured and named by the recipe's "{sku}_{seq:04d}": a 300-character SKU keeps
    the shot's number, A/123 and B/123 are two names, and a SKU "-rf" does not start a
    file name with a dash (a shell command given the name would read an option)."""
    named = _edited(recipe, tmp_path,
                    lambda text: text.replace('pattern = "{session}_{sku}_{seq:04d}"', 'pattern = "{sku}_{seq:04d}"'))
    session = tmp_path / "session"
    long_sku = "X" * 300
    first = _capture(named, session, long_sku)
    assert len(first) == 1 and first[0].endswith("_0001.JPG") and first[0].startswith("XXXX")
    second = _capture(named, session, long_sku)
    assert len(second) == 2 and sorted(n[-9:] for n in second) == ["_0001.JPG", "_0002.JPG"]
    before = set(second)
    _capture(named, session, "A/123")
    _capture(named, session, "B/123")
    new = sorted(set(_capture(named, session, "-rf")) - before)
    assert new == ["A_123_0003.JPG", "B_123_0004.JPG", "rf_0005.JPG"], new


def test_file_names_with_a_newline_or_an_escape_are_shown_escaped_by_watch(tmp_path):
    """A hot-folder name cannot forge a line of `watch`'s output, nor reach the terminal
    as an escape sequence: each shot is one line, the name's characters escaped."""
    hot = tmp_path / "hot"
    hot.mkdir()
    names = ["IMG_1.jpg", "a\n#99 forged.jpg: PASS.jpg", "b\x1b[31mred\x1b[0m.jpg", "c\u202egpj.exe.jpg"]
    for name in names:
        cv2.imwrite(str(hot / name), _scene(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    run = _focuslock("watch", str(hot), "--roi", ROI, "--session", str(tmp_path / "session"), "--sidecars", "none",
                     "--once", cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    output = run.stdout + run.stderr
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f\u202e]", output), repr(output)
    lines = output.splitlines()
    assert not any(line.startswith("#99") for line in lines), lines
    assert sum(line.startswith("#") for line in lines) == 4, lines
    assert any("a\\n#99 forged.jpg" in line for line in lines) and any("b\\x1b[31mred" in line for line in lines)


# --------------------------------------------------------------------------- marks, watch's poll

@pytest.mark.parametrize("entry", ['{}', '5', '{"roi_px": [1, 2], "position_steps": 1}',
                                   '{"roi_px": [1, 2, 30, 30], "position_steps": "far"}'],
                         ids=["empty entry", "a number", "a short box", "a position in words"])
def test_mark_list_on_a_damaged_index_is_one_sentence(tmp_path, entry):
    (tmp_path / "marks.json").write_text('{"version": 1, "drive_position_steps": {}, "marks": {"A": ' + entry + "}}")
    _one_sentence(_focuslock("mark", "list", "--marks", str(tmp_path), cwd=tmp_path), "A", "damaged")


def test_a_poll_of_1e300_seconds_watches_until_stopped(tmp_path):
    """`--poll-s 1e300` is "scan hardly ever": the folder is watched (its picture judged),
    then a Ctrl-C ends it — no OverflowError from a wait no clock can hold."""
    hot = tmp_path / "hot"
    hot.mkdir()
    cv2.imwrite(str(hot / "IMG_1.jpg"), _scene(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    process = subprocess.Popen([sys.executable, "-m", "focuslock", "watch", str(hot), "--roi", ROI, "--session",
                                str(tmp_path / "session"), "--sidecars", "none", "--poll-s", "1e300"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, preexec_fn=_limit_memory)
    try:
        deadline = time.monotonic() + GUARD_S
        line = ""
        while not line.startswith("#1") and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
        time.sleep(2.0)  # into the long wait
        still_watching = process.poll() is None
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=GUARD_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert line.startswith("#1"), (line, out, err)
    assert still_watching and "Traceback" not in err, err[-3000:]


# --------------------------------------------------------------------------- report, reference

def test_a_shot_logged_without_a_checksum_says_so_in_the_report(tmp_path):
    hot = tmp_path / "hot"
    hot.mkdir()
    cv2.imwrite(str(hot / "IMG_1.jpg"), _scene(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    session = tmp_path / "session"
    run = _focuslock("watch", str(hot), "--roi", ROI, "--session", str(session), "--sidecars", "none", "--once",
                     cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(session / "focuslock-session.sqlite") as db:  # a log from elsewhere: no checksum kept
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute("UPDATE shot_files SET sha256 = ''")
    run = _focuslock("report", str(session), "--out", str(tmp_path / "report.html"), cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    page = (tmp_path / "report.html").read_text()
    assert '<span class="hash">…</span>' not in page and "no checksum" in page


def test_the_default_report_replaces_its_own_files_but_not_a_studios_report_csv(tmp_path):
    hot = tmp_path / "hot"
    hot.mkdir()
    cv2.imwrite(str(hot / "IMG_1.jpg"), _scene(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    session = tmp_path / "session"
    assert _focuslock("watch", str(hot), "--roi", ROI, "--session", str(session), "--sidecars", "none", "--once",
                      cwd=tmp_path).returncode == 0
    for _ in range(2):  # focuslock's own report, remade
        run = _focuslock("report", str(session), cwd=tmp_path)
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    (session / "report.csv").write_text("the studio's own table\n")
    _one_sentence(_focuslock("report", str(session), cwd=tmp_path), "report.csv", "--force")
    assert (session / "report.csv").read_text() == "the studio's own table\n"
    assert _focuslock("report", str(session), "--force", cwd=tmp_path).returncode == 0
    assert (session / "report.csv").read_text().startswith("sequence,")


def test_a_sparse_reference_of_gigabytes_is_refused_before_it_is_read(tmp_path):
    """A picture whose header says 600×450 but whose file is 8 GB (sparse: no disk used):
    refused from its size in one sentence, never read whole (the memory limit is 3 GB)."""
    reference = tmp_path / "big.jpg"
    ok, encoded = cv2.imencode(".jpg", _scene())
    assert ok
    with open(reference, "wb") as handle:
        handle.write(encoded.tobytes())
        handle.truncate(8 << 30)
    hot = tmp_path / "hot"
    hot.mkdir()
    run = _focuslock("watch", str(hot), "--roi", ROI, "--reference", str(reference), "--session",
                     str(tmp_path / "session"), "--once", cwd=tmp_path)
    _one_sentence(run, "big.jpg")
    assert not (tmp_path / "session").exists()
