"""Every command that takes a path, given every kind of path a user (or another program)
can hand it (issue 29 item 6, issue 28 "fuzzers extended to path kinds"): run as the
user runs it, ``python -m focuslock ...`` in a subprocess, each must answer a path it
cannot use with one sentence on stderr, no traceback and a non-zero exit; write nothing
outside its output folder; replace no input; and never block (a FIFO, /dev/zero).

Path kinds: missing, a folder where a file is expected (and a file where a folder is),
an empty file, a text file named as a picture, video, TOML or SQLite file, a glob that
matches nothing, a symlink loop, a dangling symlink, an unreadable file or folder (run
as ``nobody``: the suite runs as root, for whom mode bits do not hold; tests/
unprivileged.py), a FIFO, /dev/zero and /dev/null (as device nodes of the case's own with
their device numbers: run as root, a command that replaced /dev/null would break the
machine), and a file that vanishes between
being found and being read (the command runs with ``open`` wrapped so that the file is
deleted just before its first opening: the window a tether program's move leaves).

A guard timeout (120 s) only turns a hang into a clear failure; it asserts no speed.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from tests.unprivileged import run_unprivileged

GUARD_S = 120  # against a hang only
MEMORY_LIMIT_BYTES = 6 << 30  # /dev/zero read whole would otherwise take the machine's memory
DATA = Path(__file__).parent / "data" / "focus-stacks"
# The feature (the barcode's middle) in the 600×450 pictures made below.
ROI = "225,150,150,120"

# The command run with `open` wrapped: the file named first is deleted just before the
# command first opens it (os.open, io.open, builtins.open): found, then gone.
_VANISH = r"""
import builtins, io, os, runpy, sys
target = os.path.abspath(sys.argv.pop(1))
def _vanish(path):
    try:
        if not isinstance(path, int) and os.path.abspath(os.fsdecode(os.fspath(path))) == target \
                and os.path.lexists(target):
            os.unlink(target)
    except TypeError:
        pass
def _wrap(real):
    def opening(path, *args, **kwargs):
        _vanish(path)
        return real(path, *args, **kwargs)
    return opening
os.open = _wrap(os.open)
io.open = builtins.open = _wrap(io.open)
sys.argv[0] = "focuslock"
runpy.run_module("focuslock", run_name="__main__", alter_sys=True)
"""


# --------------------------------------------------------------------------- running

@dataclass
class Run:
    code: int
    out: str
    err: str


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def _env(world: World) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FOCUSLOCK_CONFIG_DIR": str(world.config)}


def focuslock(world: World, args: list[str], cwd: Path, vanish: Path | None = None) -> Run:
    """``focuslock ARGS`` in a subprocess (``vanish``: that file deleted at its first opening)."""
    command = [sys.executable, "-m", "focuslock", *args] if vanish is None \
        else [sys.executable, "-c", _VANISH, str(vanish), *args]
    process = subprocess.Popen(command, cwd=cwd, env=_env(world), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
                               preexec_fn=_limit_memory)
    try:
        out, err = process.communicate(timeout=GUARD_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"`focuslock {' '.join(args)}` was still running after {GUARD_S} s: it blocks (stderr: {err[-500:]!r})")
    return Run(process.returncode, out, err)


def _import_everything() -> None:
    """Every focuslock module and what they import, loaded before the unprivileged child
    drops its rights (it cannot read the interpreter's own files then)."""
    import focuslock

    for name in ("runpy", "gettext", "locale", "traceback", "sqlite3", "tomllib", "json", "csv", "platformdirs"):
        importlib.import_module(name)
    for module in pkgutil.walk_packages(focuslock.__path__, "focuslock."):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except Exception:  # a module that cannot load says so when the command runs
            pass


def _as_nobody(world: World, args: list[str], cwd: Path, out: Path, err: Path) -> int:
    """``focuslock ARGS`` in the unprivileged child, in-process (no new interpreter: see
    tests/unprivileged.py), its stdout and stderr (file descriptors 1 and 2) in ``out``/``err``."""
    import runpy
    import traceback

    signal.alarm(GUARD_S)  # a hang ends the child; the parent then fails on its missing answer
    os.environ.update(QT_QPA_PLATFORM="offscreen", FOCUSLOCK_CONFIG_DIR=str(world.config))
    os.chdir(cwd)
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.dup2(target, fd)
        os.close(target)
    # pytest's capture replaced sys.stdout and sys.stderr: the command's go to the files
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # flushed below
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    sys.argv = ["focuslock", *args]
    code = 0
    try:
        runpy.run_module("focuslock", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # what the user would see
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def focuslock_as_nobody(world: World, args: list[str], cwd: Path) -> Run:
    _import_everything()
    out = Path(tempfile.mkstemp(prefix="focuslock-out-")[1])
    err = Path(tempfile.mkstemp(prefix="focuslock-err-")[1])
    try:
        for path in (out, err):
            os.chmod(path, 0o666)
        code = run_unprivileged(functools.partial(_as_nobody, world, args, cwd, out, err))
        return Run(int(code), out.read_text(errors="replace"), err.read_text(errors="replace"))
    finally:
        out.unlink()
        err.unlink()


# --------------------------------------------------------------------------- the world

@dataclass
class World:
    """Good inputs, made once: a picture, a stack, a recipe, a session, a drive calibration."""

    root: Path
    config: Path
    reference: Path
    frames: Path
    recipe: Path
    session: Path
    calibration: Path


def _scene(size=(600, 450)):
    return cv2.resize(cv2.imread(str(DATA / "barcode.jpg")), size, interpolation=cv2.INTER_CUBIC)


def _world_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(folder, 0o755)
    return folder


@pytest.fixture(scope="module")
def world() -> World:
    root = _world_folder("focuslock-paths-world-")
    config = root / "config"
    config.mkdir()
    scene = _scene()
    reference = root / "reference.jpg"
    cv2.imwrite(str(reference), scene, [cv2.IMWRITE_JPEG_QUALITY, 95])
    frames = root / "frames"
    frames.mkdir()
    for index, sigma in enumerate((2.0, 0.0, 2.0)):
        image = cv2.GaussianBlur(scene, (0, 0), sigma) if sigma else scene
        cv2.imwrite(str(frames / f"frame-{index}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    made = World(root, config, reference, frames, root / "recipe" / "recipe.toml", root / "session",
                 root / "calibration.toml")
    cwd = root / "cwd"
    cwd.mkdir()
    made.recipe.parent.mkdir()
    for args in (["recipe", "save", str(made.recipe), "--reference", str(reference), "--roi", ROI],
                 ["watch", str(frames), "--roi", ROI, "--reference", str(reference), "--session", str(made.session),
                  "--sidecars", "none", "--once"]):
        run = focuslock(made, args, cwd)
        assert run.code == 0, (args, run.err)
    made.calibration.write_text('[[focus_drive]]\ncamera = "Simulated macro bench"\nlens = ""\ndrive_setting = ""\n'
                                'at_distance_mm = 300\nstep_um = 25.0\nbacklash_steps = 2\n')
    yield made
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- path kinds

TEXT = "this is not what its name says\n"


def make_path(kind: str, where: Path, suffix: str, world: World) -> Path:
    """A path of ``kind`` in ``where`` (the case's input folder), its name ending ``suffix``."""
    path = where / f"{kind}{suffix}"
    if kind == "missing":
        return path
    if kind in ("folder", "empty-folder"):
        path.mkdir()
    elif kind == "file":  # a file where a folder is expected
        path = where / "notes.txt"
        path.write_text(TEXT)
    elif kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text(TEXT)
    elif kind == "junk-folder":  # a folder of files that are no pictures
        path.mkdir()
        (path / "a.jpg").write_text(TEXT)
        (path / "b.jpg").touch()
        (path / "c.tif").write_text(TEXT)
    elif kind == "noglob":
        path = where / f"nothing-*{suffix or '.jpg'}"
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "dangling":
        os.symlink(where / "gone" / f"target{suffix}", path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind in ("dev-zero", "dev-null"):
        # /dev/zero's and /dev/null's own device numbers, in a node of the case's own: a
        # command that replaced the device (as root it can) would break only this copy.
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 5 if kind == "dev-zero" else 3))
    elif kind == "unreadable":  # run as nobody; a folder where a folder is expected
        if suffix == "/":
            path = where / "unreadable"
            path.mkdir()
        else:
            path.write_text(TEXT)
        os.chmod(path, 0)
    elif kind == "unwritable":  # an output in a folder nobody may write
        folder = where / "read-only"
        folder.mkdir()
        os.chmod(folder, 0o555)
        path = folder / f"output{suffix}"
    elif kind == "file-parent":  # an output inside a "folder" that is a file
        parent = where / "notes.txt"
        parent.write_text(TEXT)
        path = parent / f"output{suffix}"
    elif kind == "vanishing" and suffix == ".jpg":  # a good picture, deleted when first opened (others: Role.good)
        shutil.copy(world.reference, path)
    else:
        raise AssertionError(kind)
    return path


# Kinds for a file that is read, a folder that is read, a file written, a folder written.
FILE_IN = ("missing", "folder", "empty", "text", "loop", "dangling", "unreadable", "fifo", "dev-zero", "dev-null")
DIR_IN = ("missing", "file", "loop", "dangling", "unreadable", "fifo", "dev-null")
FILE_OUT = ("folder", "file-parent", "loop", "dangling", "fifo", "dev-null", "unwritable")
DIR_OUT = ("file", "loop", "dangling", "fifo", "dev-null", "unwritable")


@dataclass(frozen=True)
class Role:
    """One path argument of one command: ``args(path, world, out)`` the whole command line."""

    name: str
    suffix: str
    kinds: tuple[str, ...]
    args: Callable[[str, World, Path], list[str]]
    good: Callable[[Path, World], Path] | None = None  # a good file of this role (vanishing)
    writes_into: bool = False  # the path is a folder the command writes into


def _stack_plan(path, world, out):
    return ["stack-plan", "--f-number", "4", "--coc", "0.02", "--focal-length", "100", "--magnification", "1",
            "--depth", "2", "--calibration", path]


def _copy_recipe(where: Path, world: World) -> Path:
    for item in world.recipe.parent.iterdir():
        shutil.copy(item, where / item.name)
    return where / world.recipe.name


ROLES = [
    Role("analyze-INPUT", ".mp4", FILE_IN + ("text.jpg", "empty.jpg", "empty-folder", "junk-folder", "noglob"),
         lambda p, w, o: ["analyze", p, "--roi", ROI, "--csv", str(o / "a.csv")]),
    Role("analyze--csv", ".csv", FILE_OUT, lambda p, w, o: ["analyze", str(w.frames), "--roi", ROI, "--csv", p]),
    Role("analyze--overlay-video", ".mp4", FILE_OUT,
         lambda p, w, o: ["analyze", str(w.frames), "--roi", ROI, "--overlay-video", p]),
    Role("watch-DIR", "/", DIR_IN, lambda p, w, o: ["watch", p, "--roi", ROI, "--reference", str(w.reference),
                                                   "--session", str(o / "session"), "--once"]),
    Role("watch--reference", ".jpg", FILE_IN + ("text.tif", "vanishing"),
         lambda p, w, o: ["watch", str(w.frames), "--roi", ROI, "--reference", p, "--session", str(o / "session"),
                          "--sidecars", "none", "--once"]),
    Role("watch--recipe", ".toml", FILE_IN + ("vanishing",),
         lambda p, w, o: ["watch", str(w.frames), "--recipe", p, "--session", str(o / "session"), "--sidecars", "none",
                          "--once"], good=_copy_recipe),
    # (an empty database file is an empty database: SQLite, and so a session, starts in it)
    Role("watch--session", "/", DIR_OUT + ("session-text.sqlite", "session-fifo.sqlite"),
         lambda p, w, o: ["watch", str(w.frames), "--roi", ROI, "--reference", str(w.reference), "--session", p,
                          "--sidecars", "none", "--once"], writes_into=True),
    Role("report-SESSION", "/", DIR_IN + ("empty-folder", "session-text.sqlite", "session-empty.sqlite",
                                          "session-fifo.sqlite"),
         lambda p, w, o: ["report", p, "--out", str(o / "report.html")]),
    Role("report--out", ".html", FILE_OUT, lambda p, w, o: ["report", str(w.session), "--out", p]),
    Role("recipe-save--reference", ".jpg", FILE_IN + ("text.tif", "vanishing"),
         lambda p, w, o: ["recipe", "save", str(o / "recipe.toml"), "--reference", p, "--roi", ROI]),
    Role("recipe-save-RECIPE", ".toml", FILE_OUT,
         lambda p, w, o: ["recipe", "save", p, "--reference", str(w.reference), "--roi", ROI]),
    Role("recipe-check-RECIPE", ".toml", FILE_IN + ("vanishing",),
         lambda p, w, o: ["recipe", "check", p, "--source", "sim"], good=_copy_recipe),
    Role("stack-check-INPUT", "/", DIR_IN + ("text.jpg", "empty-folder", "junk-folder", "noglob"),
         lambda p, w, o: ["stack-check", p, "--map", str(o / "map.png")]),
    Role("stack-check--map", ".png", FILE_OUT, lambda p, w, o: ["stack-check", str(w.frames), "--map", p]),
    Role("stack-plan--calibration", ".toml", FILE_IN + ("vanishing",), _stack_plan,
         good=lambda where, w: Path(shutil.copy(w.calibration, where / "calibration.toml"))),
    Role("stack-shoot--calibration", ".toml", FILE_IN,
         lambda p, w, o: ["stack-shoot", "--source", "sim", "--near-steps", "2", "--far-steps", "2", "--calibration", p,
                          "--out", str(o / "stack"), "--no-check"]),
    Role("stack-shoot--marks", "/", DIR_IN,
         lambda p, w, o: ["stack-shoot", "--source", "sim", "--from-mark", "A", "--to-mark", "B", "--marks", p,
                          "--step-um", "25", "--out", str(o / "stack"), "--no-check"], writes_into=True),
    Role("stack-shoot--out", "/", DIR_OUT,
         lambda p, w, o: ["stack-shoot", "--source", "sim", "--near-steps", "2", "--far-steps", "2", "--step-um", "25",
                          "--out", p, "--no-check"]),
    Role("capture--recipe", ".toml", FILE_IN,
         lambda p, w, o: ["capture", "--session", str(o / "session"), "--recipe", p]),
    Role("capture--session", "/", DIR_OUT, lambda p, w, o: ["capture", "--session", p, "--recipe", str(w.recipe)]),
    Role("capture--out", "/", DIR_OUT, lambda p, w, o: ["capture", "--out", p]),
    Role("live--source-folder", "/", DIR_IN + ("text.jpg", "empty-folder", "junk-folder", "noglob"),
         lambda p, w, o: ["live", "--source", f"folder:{p}", "--headless", "--seconds", "1", "--out", str(o)]),
    Role("live--source-video", ".mp4", FILE_IN,
         lambda p, w, o: ["live", "--source", f"video:{p}", "--headless", "--seconds", "1", "--out", str(o)]),
    Role("live--out", "/", DIR_OUT, lambda p, w, o: ["live", "--source", "sim", "--headless", "--seconds", "1", "--out", p]),
    Role("demo--out", "/", DIR_OUT, lambda p, w, o: ["demo", "--headless", "--seconds", "1", "--out", p]),
    Role("demo--screenshot", ".png", FILE_OUT, lambda p, w, o: ["demo", "--screenshot", p, "--quit-after", "1"]),
    Role("live--screenshot", ".png", FILE_OUT,
         lambda p, w, o: ["live", "--source", "sim", "--screenshot", p, "--quit-after", "1"]),
    # A marks folder that does not exist yet simply holds no marks: not an error.
    Role("mark-list--marks", "/", tuple(k for k in DIR_IN if k != "missing")
         + ("marks-text.json", "marks-empty.json", "marks-fifo.json", "marks-dev-zero.json"),
         lambda p, w, o: ["mark", "list", "--marks", p]),
    Role("mark-drive--marks", "/", DIR_OUT + ("marks-fifo.json", "marks-text.json"),
         lambda p, w, o: ["mark", "drive", "--steps", "1", "--source", "sim", "--marks", p], writes_into=True),
    # The shot list is read (and refused) before the hub is reached; this hub is never there.
    Role("hub-import-shotlist-FILE", ".csv", FILE_IN,
         lambda p, w, o: ["hub", "import-shotlist", "postgresql://nobody@127.0.0.1:9/nowhere", p]),
    # (an empty file is an empty TOML file: the record is added to it)
    Role("calibrate--out", ".toml", FILE_OUT + ("text", "dev-zero"),
         lambda p, w, o: ["calibrate", "focus-steps", "--out", p]),
]

CASES = [pytest.param(role, kind, id=f"{role.name}-{kind}") for role in ROLES for kind in dict.fromkeys(role.kinds)]


def _inner(kind: str, where: Path, suffix: str, world: World) -> Path:
    """A folder (session, marks) holding its own file as a text file, an empty one, a FIFO
    or a link to /dev/zero: ``session-text.sqlite`` → ``focuslock-session.sqlite`` as text."""
    owner, what = kind.split("-", 1)
    folder = where / owner
    folder.mkdir()
    name = {"session": "focuslock-session.sqlite", "marks": "marks.json"}[owner]
    inner = folder / name
    if what.startswith("text"):
        inner.write_text(TEXT)
    elif what.startswith("empty"):
        inner.touch()
    elif what.startswith("fifo"):
        os.mkfifo(inner)
    elif what.startswith("dev-zero"):
        os.symlink("/dev/zero", inner)
    return folder


def _case_folder() -> Path:
    case = Path(tempfile.mkdtemp(prefix="focuslock-paths-case-", dir="/tmp"))
    for name in ("in", "out", "cwd"):
        (case / name).mkdir()
    for folder in (case, case / "in", case / "out", case / "cwd"):
        os.chmod(folder, 0o777)  # nobody writes its outputs here
    return case


def _snapshot(*roots: Path, leave_out: tuple[Path, ...] = ()) -> dict:
    """Every entry under ``roots`` (links not followed): its kind, and a file's size, time
    and inode (a folder's own are left out: its entries are in the snapshot). SQLite's own
    ``-wal`` and ``-shm`` beside a session's database are left out: reading makes them."""
    seen = {}
    for root in roots:
        for folder, folders, files in os.walk(root):
            if Path(folder) in leave_out:
                folders[:] = []
                continue
            for name in folders + files:
                path = Path(folder) / name
                if path in leave_out or name.endswith(("-wal", "-shm")):
                    continue
                info = os.lstat(path)
                kind = stat.S_IFMT(info.st_mode)
                seen[str(path)] = (kind,) if kind == stat.S_IFDIR else (kind, info.st_size, info.st_mtime_ns, info.st_ino)
    return seen


def _assert_one_sentence(run: Run, what: str) -> None:
    assert "Traceback" not in run.err, f"{what}: a traceback:\n{run.err[-3000:]}"
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert run.code > 0, f"{what}: exit code {run.code}, stderr {run.err[-1500:]!r}"
    assert len(lines) == 1, f"{what}: not one sentence on stderr but {len(lines)} lines: {run.err[-1500:]!r}"


@pytest.mark.parametrize(("role", "kind"), CASES)
def test_a_path_it_cannot_use_is_one_sentence(world, role: Role, kind: str):
    case = _case_folder()
    try:
        where, out, cwd = case / "in", case / "out", case / "cwd"
        if kind.split("-")[0] in ("session", "marks"):
            path = _inner(kind, where, role.suffix, world)
        elif kind == "vanishing" and role.good is not None:
            path = role.good(where, world)
        elif "." in kind:  # text.jpg, empty.jpg: the kind with its own suffix
            base, extension = kind.split(".", 1)
            path = make_path(base, where, "." + extension, world)
        else:
            path = make_path(kind, where, "" if role.suffix == "/" else role.suffix, world)
        args = role.args(str(path), world, out)
        # A session or marks folder given as the output holding a file of its own that it
        # cannot use: the folder may gain the command's lock, that file stays as it was.
        # A folder the command keeps its state in (the marks' drive count) may be made there.
        outputs = (out, path) if role.writes_into and (kind == "missing" or kind.split("-")[0] in ("session", "marks")) \
            else (out,)
        inner = _snapshot(path) if len(outputs) == 2 else None
        before = _snapshot(world.root, case, leave_out=outputs)

        if kind in ("unreadable", "unwritable"):
            run = focuslock_as_nobody(world, args, cwd)
        else:
            run = focuslock(world, args, cwd, vanish=path if kind == "vanishing" else None)
        what = f"focuslock {' '.join(args)}"

        if kind == "vanishing":
            assert not path.exists(), f"{what}: never opened {path.name} through Python's open (the case tests nothing)"
            before.pop(str(path), None)
        _assert_one_sentence(run, what)
        after = _snapshot(world.root, case, leave_out=outputs)
        assert after == before, f"{what}: changed outside its output folder: " \
            f"{sorted(set(after.items()) ^ set(before.items()))[:6]}"
        if inner is not None:
            now = _snapshot(path)
            assert all(now.get(name) == state for name, state in inner.items()), f"{what}: replaced {sorted(inner)}"
        print(what, "→", run.err)
    finally:
        shutil.rmtree(case, ignore_errors=True)  # as root: whatever the modes
