"""Issue 27: a session is judged only against the setup it holds.

A studio session set up from one recipe refuses another recipe — or the same recipe
whose reference picture, features or CoC changed — in one sentence, on every path that
opens a session with a recipe (``capture --session``, ``watch --recipe``, the window's
``--session --recipe``), before a camera fires or a picture is judged; the same recipe
resumes it. A start that fails (no camera, a bad recipe) leaves the session folder as it
was, or absent: a session is written with its first shot.

Real parts: libgphoto2's virtual camera (conftest.py), real SQLite, real files."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import cv2
import pytest

from focuslock.cli import main
from focuslock.session.database import DATABASE_NAME
from focuslock.session.store import ShotStore
from tests.conftest import VIRTUAL_CAMERA_JPEG

# The virtual camera's word "focuslock", and a CoC of 4 px in its 640×480 pictures.
ROI = "50,180,440,100"
NO_CAMERA = ["--camera", "Canon EOS R5"]  # no such body is connected


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _recipe(tmp_path: Path, capsys, name: str, reference: Path, *, roi: str = ROI, coc_px: str = "4") -> Path:
    path = tmp_path / f"{name}.toml"
    assert _cli(capsys, "recipe", "save", str(path), "--reference", str(reference), "--roi", roi, "--coc-px", coc_px,
                "--force")[0] == 0
    return path


def _pictures(tmp_path: Path) -> tuple[Path, Path]:
    """The virtual camera's own picture (what it captures) and another setup's: the same
    scene shifted by 8 px, as a product placed a little differently."""
    sharp = cv2.imread(str(VIRTUAL_CAMERA_JPEG))
    other = cv2.warpAffine(sharp, cv2.getRotationMatrix2D((320, 240), 0, 1.0) + [[0, 0, 8], [0, 0, 0]], (640, 480),
                           borderMode=cv2.BORDER_REFLECT)
    paths = tmp_path / "bottles.png", tmp_path / "cans.png"
    cv2.imwrite(str(paths[0]), sharp)
    cv2.imwrite(str(paths[1]), other)
    return paths


def _state(folder: Path) -> dict[str, str]:
    """Every file of a folder with its SHA-256: the log's database too, byte for byte
    (not SQLite's own -wal and -shm companions, which a reader may leave; nor the lock
    file's content, the last writer's pid)."""
    return {p.name: "" if p.name == "focuslock-session.lock" else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if not p.name.endswith(("-wal", "-shm"))}


def _setup(folder: Path) -> dict:
    with ShotStore.read(folder) as store:
        return store.setup()


def test_a_failed_start_leaves_no_session_and_an_existing_folder_as_it_was(tmp_path, capsys):
    bottles_png, _ = _pictures(tmp_path)
    bottles = _recipe(tmp_path, capsys, "bottles", bottles_png)
    session = tmp_path / "studio"
    code, _, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles), *NO_CAMERA)
    assert code == 1 and "No camera matching 'Canon EOS R5' is connected" in err and err.count("\n") == 1
    assert not session.exists()  # no database, no setup, no reference copy: no folder at all

    # A folder that was there before (the studio made it, with a note in it) stays as it was.
    session.mkdir()
    (session / "notes.txt").write_text("bottles, white background")
    before = _state(session)
    assert _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles), *NO_CAMERA)[0] == 1
    assert _state(session) == before
    # So is a recipe that cannot be used.
    bottles.with_suffix(".png").rename(tmp_path / "moved.png")
    code, _, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles))
    assert code == 1 and "its reference picture bottles.png is missing" in err and _state(session) == before
    (tmp_path / "moved.png").rename(bottles.with_suffix(".png"))

    # A session that exists: a start without a camera leaves its log and files as they were.
    assert _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles))[0] == 0
    before = _state(session)
    assert _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles), *NO_CAMERA)[0] == 1
    assert _state(session) == before


def test_a_session_refuses_another_recipe_judges_nothing_against_it_and_resumes_with_its_own(tmp_path, capsys):
    bottles_png, cans_png = _pictures(tmp_path)
    bottles = _recipe(tmp_path, capsys, "bottles", bottles_png)
    cans = _recipe(tmp_path, capsys, "cans", cans_png)  # the same box and CoC: only the picture differs
    session = tmp_path / "studio"
    # The failed start of the issue (cans, no camera) must not bind the folder to cans.
    assert _cli(capsys, "capture", "--session", str(session), "--recipe", str(cans), *NO_CAMERA)[0] == 1
    code, out, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles), "--json")
    assert code == 0, err
    assert [s["verdict"] for s in json.loads(out)["shots"]] == ["pass"]
    setup = _setup(session)
    assert setup["recipe"] == {"name": "bottles", "file": "bottles.toml"}
    assert (session / setup["reference"]).read_bytes() == bottles_png.with_suffix(".png").read_bytes()

    before = _state(session)
    code, out, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(cans))
    assert code == 1 and out == ""
    assert err == (f'focuslock: The session {session} was set up with the recipe "bottles" (bottles.toml), not "cans" '
                   '(cans.toml); start a new session folder (--session) for "cans".\n')
    assert _state(session) == before  # no capture taken, nothing judged or logged

    # The hot folder and the window refuse it in the same words, before judging or opening.
    hot = tmp_path / "hot"
    hot.mkdir()
    cv2.imwrite(str(hot / "IMG_0001.JPG"), cv2.imread(str(VIRTUAL_CAMERA_JPEG)))
    code, out, err = _cli(capsys, "watch", str(hot), "--session", str(session), "--recipe", str(cans), "--once")
    assert code == 1 and out == "" and "not \"cans\" (cans.toml); start a new session folder" in err
    assert sorted(p.name for p in hot.iterdir()) == ["IMG_0001.JPG"] and _state(session) == before
    code, _, err = _cli(capsys, "demo", "--size", "512x340", "--session", str(session), "--recipe", str(cans),
                        "--quit-after", "0.5", "--no-sweep")
    assert code == 1 and "not \"cans\" (cans.toml); start a new session folder" in err and err.count("\n") == 1
    assert _state(session) == before

    # The same recipe again resumes the session: the next shot, judged against it.
    code, out, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles), "--json")
    assert code == 0, err
    assert [(s["sequence"], s["verdict"]) for s in json.loads(out)["shots"]] == [(2, "pass")]


@pytest.mark.parametrize("change, what", [
    ("reference", "another reference picture"),
    ("coc", "another CoC"),
    ("box", "other features"),
])
def test_the_same_recipe_changed_since_is_refused(tmp_path, capsys, change, what):
    bottles_png, cans_png = _pictures(tmp_path)
    bottles = _recipe(tmp_path, capsys, "bottles", bottles_png)
    session = tmp_path / "studio"
    assert _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles))[0] == 0
    before = _state(session)
    if change == "reference":  # the studio re-saved the recipe on another setup's picture
        _recipe(tmp_path, capsys, "bottles", cans_png)
    elif change == "coc":
        _recipe(tmp_path, capsys, "bottles", bottles_png, coc_px="6")
    else:
        _recipe(tmp_path, capsys, "bottles", bottles_png, roi="50,170,440,120")
    code, _, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles))
    assert code == 1
    assert err == (f'focuslock: The session {session} was set up with the recipe "bottles" as it was then, and '
                   f'bottles.toml now has {what}; start a new session folder (--session) for the recipe as it is now.\n')
    assert _state(session) == before


def test_a_session_set_up_without_a_recipe_takes_only_a_recipe_with_its_own_setup(tmp_path, capsys):
    """A session started from options (or by a focuslock that kept no recipe name) goes on
    with a recipe only where the recipe's picture, boxes and CoC are the session's."""
    bottles_png, cans_png = _pictures(tmp_path)
    hot, session = tmp_path / "hot", tmp_path / "studio"
    hot.mkdir()
    cv2.imwrite(str(hot / "IMG_0001.JPG"), cv2.imread(str(VIRTUAL_CAMERA_JPEG)))
    assert _cli(capsys, "watch", str(hot), "--session", str(session), "--roi", ROI, "--coc-px", "4", "--reference",
                str(bottles_png), "--once")[0] == 0
    cans = _recipe(tmp_path, capsys, "cans", cans_png)
    code, _, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(cans))
    assert code == 1 and err == (f'focuslock: The session {session} was set up with another reference picture than the '
                                 'recipe "cans" (cans.toml) has; start a new session folder (--session) for "cans".\n')
    # Options that name another reference picture are refused too, in their own words.
    code, _, err = _cli(capsys, "watch", str(hot), "--session", str(session), "--roi", ROI, "--reference", str(cans_png),
                        "--once")
    assert code == 1 and err == (f"focuslock: The session {session} was set up with another reference picture; start a "
                                 "new session folder (--session) for these.\n")
    bottles = _recipe(tmp_path, capsys, "bottles", bottles_png)
    code, out, err = _cli(capsys, "capture", "--session", str(session), "--recipe", str(bottles), "--json")
    assert code == 0, err
    assert [(s["sequence"], s["verdict"]) for s in json.loads(out)["shots"]] == [(2, "pass")]


def test_a_watch_that_judged_nothing_leaves_no_session(tmp_path, capsys):
    bottles_png, cans_png = _pictures(tmp_path)
    bottles, cans = _recipe(tmp_path, capsys, "bottles", bottles_png), _recipe(tmp_path, capsys, "cans", cans_png)
    hot, session = tmp_path / "hot", tmp_path / "studio"
    hot.mkdir()
    code, out, _ = _cli(capsys, "watch", str(hot), "--session", str(session), "--recipe", str(bottles), "--once")
    assert code == 0 and "no new pictures" in out
    assert not session.exists()
    # The folder is still free for the setup actually shot.
    cv2.imwrite(str(hot / "IMG_0001.JPG"), cv2.imread(str(cans_png)))
    code, out, err = _cli(capsys, "watch", str(hot), "--session", str(session), "--recipe", str(cans), "--once", "--json")
    assert code == 0, err
    assert [json.loads(line)["verdict"] for line in out.splitlines()] == ["pass"]
    assert _setup(session)["recipe"]["name"] == "cans"


def test_two_starts_on_one_new_folder_log_against_the_first_setup_only(tmp_path, capsys):
    """Two programs that both found the folder new: the second's first shot finds the
    first's setup and is refused, its shot not logged against it."""
    from focuslock.session.database import SessionError
    from focuslock.session.opening import SetupRequest, open_session
    from focuslock.session.records import ShotFile, ShotRecord

    bottles_png, cans_png = _pictures(tmp_path)
    bottles, cans = _recipe(tmp_path, capsys, "bottles", bottles_png), _recipe(tmp_path, capsys, "cans", cans_png)
    session = tmp_path / "studio"
    first, _ = open_session(session, None, SetupRequest.from_recipe(bottles)[1])
    second, _ = open_session(session, None, SetupRequest.from_recipe(cans)[1])
    assert not session.exists()

    def shot(name: str) -> ShotRecord:
        return ShotRecord(name, (ShotFile(name, "0" * 64, 1),), "pass")

    assert first.record_shot(shot("a.jpg")).sequence == 1
    first.close()
    with pytest.raises(SessionError, match='set up with the recipe "bottles" \\(bottles.toml\\), not "cans"'):
        second.record_shot(shot("b.jpg"))
    second.close()
    with sqlite3.connect(session / DATABASE_NAME) as db:
        assert [row[0] for row in db.execute("SELECT name FROM shots")] == ["a.jpg"]
    assert _setup(session)["recipe"]["name"] == "bottles"
