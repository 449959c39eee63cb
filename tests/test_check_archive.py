"""``focuslock check-archive`` end to end: real photographs (tests/data) defocused by known
Gaussians, real files, real SQLite, a real Dask LocalCluster (started by the command in a
process of its own, or by the test for ``--scheduler``), a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import pytest

from focuslock.cli import main
from focuslock.session.database import SessionError
from focuslock.session.store import ShotStore
from focuslock.testing.synthetic import degrade

# The clusters take the machine's cores: their tests run one after another on one xdist worker.
pytestmark = pytest.mark.xdist_group("dask-clusters")

DATA = Path(__file__).parent / "data" / "focus-stacks"
# The barcode's middle in 600×450 pictures, and the CoC there: 3 px.
ROI = "225,150,150,120"
COC_PX = 3.0
ARCHIVE_SIZE = 300


def _scene():
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (600, 450), interpolation=cv2.INTER_AREA)


def _save(path: Path, rgb) -> None:
    # Encoded, then written by Python: OpenCV's own writer cannot take a name that is not UTF-8.
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    path.write_bytes(data.tobytes())


def _picture(scene, index: int):
    """The archive's picture ``index``: sharp, blurred by a known Gaussian (a quarter of
    the CoC, or one CoC), moved out of place, or saved too small to judge."""
    kind = index % 8
    sharp = degrade(scene, 0.0, 2.0, seed=index)
    if kind in (2, 3):
        return cv2.GaussianBlur(sharp, (0, 0), 0.75 if kind == 2 else COC_PX)
    if kind == 4:
        return degrade(scene, 0.0, 2.0, seed=index, shift_px=(20.0, 0.0))
    if kind == 5:
        return cv2.resize(sharp, (200, 150), interpolation=cv2.INTER_AREA)
    return sharp


def _make_archive(folder: Path, count: int, scene) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        if index % 50 == 7:  # a JPEG whose bytes are no picture
            (folder / f"IMG_{index:04d}.JPG").write_bytes(b"\xff\xd8\xff\xe0 not a picture at all" * 20 + b"\xff\xd9")
        elif index % 50 == 23:  # a TIFF that is text
            (folder / f"IMG_{index:04d}.tif").write_bytes(b"II*\x00 this is no TIFF" * 10)
        elif index % 8 == 6:
            cv2.imwrite(str(folder / f"IMG_{index:04d}.png"), cv2.cvtColor(_picture(scene, index), cv2.COLOR_RGB2BGR))
        else:
            _save(folder / f"IMG_{index:04d}.JPG", _picture(scene, index))


def _recipe(tmp: Path, scene, name: str = "board") -> Path:
    reference = tmp / f"{name}-reference.png"
    cv2.imwrite(str(reference), cv2.cvtColor(degrade(scene, 0.0, 2.0, seed=99_999), cv2.COLOR_RGB2BGR))
    recipe = tmp / "recipes" / f"{name}.toml"
    assert main(["recipe", "save", str(recipe), "--reference", str(reference), "--roi", ROI, "--coc-px", str(COC_PX),
                 "--name", name]) == 0
    return recipe


def _check_archive(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -m focuslock check-archive …`` as a process of its own, its summary parsed."""
    result = subprocess.run([sys.executable, "-m", "focuslock", "check-archive", *args, "--json"], capture_output=True,
                            text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stderr
    return result


def _summary(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.splitlines()[-1])["summary"]


def _logged(session: Path) -> dict[str, tuple]:
    """Each logged picture by name: its verdict, reason, every feature's verdict, checksum."""
    with ShotStore.read(session) as store:
        shots = list(store.shots())
    by_name = {s.record.name: (s.record.verdict, s.record.reason, s.record.features, s.record.files[0].sha256)
               for s in shots}
    assert len(by_name) == len(shots), "a picture logged twice"
    return by_name


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A folder of ARCHIVE_SIZE pictures, its recipe, and a clean check-archive run of it
    (its session folder) on two workers."""
    tmp = tmp_path_factory.mktemp("archive")
    scene = _scene()
    folder = tmp / "archive"
    _make_archive(folder, ARCHIVE_SIZE, scene)
    recipe = _recipe(tmp, scene)
    session = tmp / "clean"
    result = _check_archive(str(folder), "--recipe", str(recipe), "--session", str(session), "--workers", "2")
    return folder, recipe, session, _summary(result)


def test_check_archive_gives_the_verdicts_watch_gives_the_same_files(archive, tmp_path, capsys):
    folder, recipe, session, summary = archive
    assert summary["total"] == summary["judged"] == ARCHIVE_SIZE and summary["skipped"] == 0
    assert main(["watch", str(folder), "--recipe", str(recipe), "--session", str(tmp_path / "watched"), "--once",
                 "--sidecars", "none"]) == 0
    capsys.readouterr()
    archived, watched = _logged(session), _logged(tmp_path / "watched")
    assert len(archived) == ARCHIVE_SIZE
    # The same verdict, reason, feature states, blur and checksum for every file.
    assert archived == watched
    verdicts = {name: shot[0] for name, shot in archived.items()}
    assert verdicts["IMG_0000.JPG"] == "pass" and verdicts["IMG_0003.JPG"] == "soft"  # a Gaussian of one CoC
    assert verdicts["IMG_0004.JPG"] == "drift" and verdicts["IMG_0005.JPG"] == "uncertain"
    assert "too small to judge focus" in archived["IMG_0005.JPG"][1]
    assert "could not be read before decoding" in archived["IMG_0007.JPG"][1]
    assert summary["counts"]["unreadable"] == 12
    expected = {0: "pass", 1: "pass", 2: "pass", 3: "soft", 4: "drift", 5: "uncertain", 6: "pass", 7: "pass"}
    wrong = {name: verdict for name, verdict in verdicts.items()
             if int(name[4:8]) % 50 not in (7, 23) and verdict != expected[int(name[4:8]) % 8]}
    assert not wrong, wrong  # a quarter of the CoC passes, a whole CoC is soft
    assert not list(folder.glob("*.xmp")), "an archive is read: nothing written beside its pictures"


def test_a_run_killed_half_way_judges_only_the_rest_when_run_again(archive, tmp_path):
    folder, recipe, clean, _ = archive
    session = tmp_path / "killed"
    args = [sys.executable, "-m", "focuslock", "check-archive", str(folder), "--recipe", str(recipe), "--session",
            str(session), "--workers", "2"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_logged(session, ARCHIVE_SIZE // 4, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    with ShotStore.read(session) as store:
        logged = store.shot_count()
    assert 0 < logged < ARCHIVE_SIZE
    summary = _summary(_check_archive(str(folder), "--recipe", str(recipe), "--session", str(session), "--workers", "2"))
    assert summary["skipped"] == logged and summary["judged"] == ARCHIVE_SIZE - logged and summary["changed"] == 0
    assert _logged(session) == _logged(clean)  # nothing lost, nothing twice, the verdicts of a clean run


@pytest.mark.parametrize("to_group", [False, True], ids=["SIGTERM to the command", "Ctrl-C to its process group"])
def test_a_stop_signal_ends_a_run_cleanly_and_what_was_judged_stays_logged(archive, tmp_path, to_group):
    """A terminal's Ctrl-C reaches every process of the group, the cluster's workers too:
    the run still stops in order, without a traceback, and no picture is logged as failed."""
    folder, recipe, clean, _ = archive
    session = tmp_path / "stopped"
    process = subprocess.Popen([sys.executable, "-m", "focuslock", "check-archive", str(folder), "--recipe", str(recipe),
                                "--session", str(session), "--workers", "2", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=to_group)
    try:
        _wait_until_logged(session, 20, process)
        if to_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)  # a guard against a hang only
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1, err  # stopped before the end: not done, and a script must know
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert summary["stopped"] and 20 <= summary["judged"] < ARCHIVE_SIZE
    assert "run the same command again to judge the rest" in err and "Traceback" not in err
    assert "worker failed" not in out + err
    logged = _logged(session)
    assert len(logged) == summary["judged"]  # every result reported is in the log, and only those
    assert logged == {name: shot for name, shot in _logged(clean).items() if name in logged}


def test_dask_own_error_log_in_a_worker_does_not_reach_the_terminal():
    """At the end of a run a worker's heartbeat can meet the scheduler closing first, and Dask
    logs that with a traceback at ERROR from the worker's process. The user's terminal gets
    focuslock's sentences only; here the worker logs such an error itself, as it would."""
    script = textwrap.dedent("""
        import logging
        from focuslock.workflows.archive_dask import _client

        def heartbeat_fails():
            try:
                raise ConnectionError("Stream is closed")
            except ConnectionError:
                logging.getLogger("distributed.worker").exception("Failed to communicate with scheduler during heartbeat.")
            return True

        with _client(None, 1) as client:
            assert all(client.run(heartbeat_fails).values())
        print("ran")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and result.stdout.strip() == "ran", result.stderr
    assert "Traceback" not in result.stderr and "heartbeat" not in result.stderr


def _wait_until_logged(session: Path, count: int, process: subprocess.Popen) -> int:
    """Wait until the run's log holds ``count`` shots; the count it holds then."""
    logged = 0
    deadline = time.monotonic() + 120
    while logged < count and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        try:
            with ShotStore.read(session) as store:
                logged = store.shot_count()
        except SessionError:  # not there yet, or being made (its schema not yet written)
            continue
    assert process.poll() is None, "the run ended before it could be stopped"
    return logged


def test_a_changed_file_is_judged_again_on_a_studio_scheduler_and_only_pictures_are_shots(tmp_path):
    """The session folder is the archive itself (given so), with a RAW pair, a RAW
    alone, a sub-folder, a hidden folder and files that are no pictures."""
    scene = _scene()
    folder = tmp_path / "archive"
    _make_archive(folder, 6, scene)
    (folder / "2024" / ".thumbnails").mkdir(parents=True)
    _save(folder / "2024" / "IMG_0100.JPG", degrade(scene, 0.0, 2.0, seed=100))
    _save(folder / "2024" / ".thumbnails" / "IMG_0100.JPG", degrade(scene, 0.0, 2.0, seed=100))
    (folder / "2024" / "IMG_0100.CR3").write_bytes(os.urandom(2000))
    (folder / "2024" / "IMG_0101.NEF").write_bytes(os.urandom(2000))
    latin1 = os.fsdecode(b"caf\xe9 1998.JPG")  # a name from an old system: not UTF-8
    _save(folder / latin1, degrade(scene, 0.0, 2.0, seed=101))
    (folder / "notes.txt").write_text("not a picture")
    (folder / "IMG_0000.JPG.xmp").write_text("<x:xmpmeta/>")
    recipe = _recipe(tmp_path, scene)
    with _studio_scheduler() as address:
        first = _check_archive(str(folder), "--recipe", str(recipe), "--session", str(folder), "--scheduler", address)
        summary = _summary(first)
        assert summary["total"] == summary["judged"] == 9 and summary["workers"] == 1
        logged = _logged(folder)
        assert set(logged) == {f"IMG_000{i}.JPG" for i in (0, 1, 2, 3, 4, 5)} | {"IMG_0100.JPG", "IMG_0101.NEF",
                                                                                 "caf\\xe9 1998.JPG"}
        assert logged["caf\\xe9 1998.JPG"][0] == "pass"  # logged under its name's bytes, judged as any other
        assert "a RAW file alone" in logged["IMG_0101.NEF"][1]
        with ShotStore.read(folder) as store:
            pair = [s.record.files for s in store.shots() if s.record.name == "IMG_0100.JPG"][0]
        assert [(Path(f.path).name, f.role) for f in pair] == [("IMG_0100.JPG", "judged"), ("IMG_0100.CR3", "companion")]

        # Two pictures re-saved blurred (one with its RAW): judged again and said; the rest
        # skipped by checksum.
        for path, seed in ((folder / "IMG_0001.JPG", 1), (folder / "2024" / "IMG_0100.JPG", 100)):
            _save(path, cv2.GaussianBlur(degrade(scene, 0.0, 2.0, seed=seed), (0, 0), 2 * COC_PX))
        second = _check_archive(str(folder), "--recipe", str(recipe), "--session", str(folder), "--scheduler", address)
    summary = _summary(second)
    assert (summary["judged"], summary["skipped"], summary["changed"]) == (2, 7, 2)
    lines = [json.loads(line) for line in second.stdout.splitlines()[:-1]]
    assert sorted((line["file"], line["changed"], line["verdict"]) for line in lines) == [
        ("IMG_0001.JPG", True, "soft"), ("IMG_0100.JPG", True, "soft")]
    assert second.stderr.count("was judged again: its content changed since it was logged") == 2
    now = _logged(folder)
    changed = {"IMG_0001.JPG", "IMG_0100.JPG"}
    assert all(now[name][0] == "soft" and now[name][3] != logged[name][3] for name in changed)
    assert {k: v for k, v in now.items() if k not in changed} == {k: v for k, v in logged.items() if k not in changed}
    with ShotStore.read(folder) as store:  # the RAW stays with its picture's new shot
        pair = [s.record.files for s in store.shots() if s.record.name == "IMG_0100.JPG"][0]
    assert [(Path(f.path).name, f.role) for f in pair] == [("IMG_0100.JPG", "judged"), ("IMG_0100.CR3", "companion")]


def test_another_session_inside_the_archive_gives_no_shot_of_its_reference_copy(tmp_path):
    """A session folder kept inside the archive (an earlier check's) holds a copy of its
    recipe's reference: a later check of the archive must not count it as a shot."""
    scene = _scene()
    folder = tmp_path / "archive"
    _make_archive(folder, 3, scene)
    recipe = _recipe(tmp_path, scene)
    inside = _summary(_check_archive(str(folder), "--recipe", str(recipe), "--session", str(folder / "checks"),
                                     "--workers", "1"))
    assert inside["total"] == 3 and (folder / "checks" / "reference.png").is_file()
    later = _summary(_check_archive(str(folder), "--recipe", str(recipe), "--session", str(tmp_path / "later"),
                                    "--workers", "1"))
    assert later["total"] == later["judged"] == 3
    assert set(_logged(tmp_path / "later")) == {"IMG_0000.JPG", "IMG_0001.JPG", "IMG_0002.JPG"}


def test_watch_logs_a_name_that_is_not_utf8_once(tmp_path, capsys):
    """The log holds UTF-8: a file name from another system is logged with its bytes
    written out (check-archive's and watch's one log), and a second run knows it."""
    scene = _scene()
    folder = tmp_path / "hot"
    _make_archive(folder, 2, scene)
    _save(folder / os.fsdecode(b"\xff\xfe odd.JPG"), degrade(scene, 0.0, 2.0, seed=5))
    recipe = _recipe(tmp_path, scene)
    for _ in range(2):
        assert main(["watch", str(folder), "--recipe", str(recipe), "--session", str(tmp_path / "s"), "--once",
                     "--sidecars", "none"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert sorted(_logged(tmp_path / "s")) == ["IMG_0000.JPG", "IMG_0001.JPG", "\\xff\\xfe odd.JPG"]


def test_a_session_set_up_with_another_recipe_is_refused_in_one_sentence(tmp_path, capsys):
    scene = _scene()
    folder = tmp_path / "archive"
    _make_archive(folder, 2, scene)
    board, label = _recipe(tmp_path, scene, "board"), _recipe(tmp_path, scene, "label")
    session = tmp_path / "session"
    assert main(["watch", str(folder), "--recipe", str(board), "--session", str(session), "--once", "--sidecars", "none"]) == 0
    capsys.readouterr()
    assert main(["check-archive", str(folder), "--recipe", str(label), "--session", str(session)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'was set up with the recipe "board"' in err and '"label"' in err


def test_a_scheduler_without_workers_is_one_sentence_and_nothing_is_logged(tmp_path):
    scene = _scene()
    folder = tmp_path / "archive"
    _make_archive(folder, 2, scene)
    recipe = _recipe(tmp_path, scene)
    with _studio_scheduler(workers=0) as address:
        result = subprocess.run([sys.executable, "-m", "focuslock", "check-archive", str(folder), "--recipe", str(recipe),
                                 "--session", str(tmp_path / "session"), "--scheduler", address],
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"focuslock: The Dask scheduler at {address} has no workers; start one with "
                                     f"`dask worker {address}` on a machine that sees the pictures at the same paths.")
    assert not (tmp_path / "session").exists()  # a session writes nothing before its first shot


class _studio_scheduler:
    """A real Dask LocalCluster (``workers`` worker processes) started by the test in a
    process of its own, as a studio runs its scheduler: its address, then it is shut down."""

    SCRIPT = textwrap.dedent("""
        import sys
        from distributed import LocalCluster
        with LocalCluster(n_workers=int(sys.argv[1]), threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            print(cluster.scheduler_address, flush=True)
            sys.stdin.read()
    """)

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def __enter__(self) -> str:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(self.workers)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = self.process.stdout.readline().strip()
        assert address.startswith("tcp://"), address
        return address

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
