"""``focuslock watch`` end to end: real photographs defocused by a known disc, real files,
real SQLite, real processes (killed, and writing slowly), sidecars read by exiftool."""

from __future__ import annotations

import csv
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cv2

from focuslock.cli import main
from focuslock.session.store import ShotStore
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parent / "data" / "focus-stacks"
EXIFTOOL = shutil.which("exiftool")
# The feature (the barcode's middle) in the 1200×900 pictures, and the CoC there: 6 px.
ROI = "450,300,300,240"
COC_PX = 6.0


def _scene():
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (1200, 900), interpolation=cv2.INTER_CUBIC)


def _save(path: Path, rgb) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])


def _run_json(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(["watch", *args, "--json"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_each_shot_is_judged_logged_and_rated_and_a_second_run_adds_only_new_ones(tmp_path, capsys):
    scene = _scene()
    folder = tmp_path / "hot"
    folder.mkdir()
    _save(folder / "IMG_0001.JPG", degrade(scene, 0.0, 2.0, seed=1))  # the reference: the first picture
    _save(folder / "IMG_0002.JPG", degrade(scene, 0.5, 2.0, seed=2))  # a blur of 1/12 CoC: sharp
    _save(folder / "IMG_0003.JPG", degrade(scene, 2.0 * COC_PX, 2.0, seed=3))  # twice the CoC
    _save(folder / "IMG_0004.JPG", degrade(scene, 0.0, 2.0, seed=4, shift_px=(40.0, 0.0)))  # the product placed 40 px off
    _save(folder / "IMG_0005.JPG", degrade(scene, 0.0, 2.0, seed=5, gain=1.6))  # over-exposed: clipped highlights
    (folder / "IMG_0006.JPG").write_bytes(b"\xff\xd8\xff\xe0 not a picture at all" * 20 + b"\xff\xd9")
    (folder / "IMG_0003.CR3").write_bytes(os.urandom(3000))  # RAW+JPEG
    session = tmp_path / "session"
    code, shots, err = _run_json(capsys, str(folder), "--roi", ROI, "--coc-px", str(COC_PX), "--session", str(session), "--once")
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert [by_file[f"IMG_000{i}.JPG"]["verdict"] for i in range(1, 7)] == ["pass", "pass", "soft", "drift", "uncertain", "uncertain"]
    assert abs(by_file["IMG_0003.JPG"]["features"][0]["coc_share"] - 2.0) < 0.3  # the blur, measured: 2 CoC
    assert abs(by_file["IMG_0004.JPG"]["drift_px"] - 40.0) < 2.0
    assert "clipped" in by_file["IMG_0005.JPG"]["reason"]
    assert not by_file["IMG_0006.JPG"]["readable"]
    assert by_file["IMG_0003.JPG"]["companions"] == ["IMG_0003.CR3"]

    # The log has every file with its checksum; the session keeps its own copy of the reference.
    with ShotStore.read(session) as store:
        logged = list(store.shots())
        assert [s.record.name for s in logged] == [f"IMG_000{i}.JPG" for i in range(1, 7)]
        raw = [f for s in logged for f in s.record.files if f.role == "companion"]
        assert len(raw) == 1 and raw[0].path.endswith("IMG_0003.CR3") and raw[0].size_bytes == 3000
        assert (session / "reference.jpg").read_bytes() == (folder / "IMG_0001.JPG").read_bytes()

    # Sidecars beside every file: Lightroom's and darktable's, read by exiftool.
    tags = json.loads(subprocess.run([EXIFTOOL, "-j", "-G1", "-Rating", "-Label", "-XMP-focuslock:Verdict",
                                      *map(str, sorted(folder.glob("*.xmp")))], capture_output=True, text=True, check=True).stdout)
    read = {Path(t["SourceFile"]).name: (t["XMP-xmp:Rating"], t["XMP-xmp:Label"], t["XMP-focuslock:Verdict"]) for t in tags}
    assert read["IMG_0001.xmp"] == read["IMG_0001.JPG.xmp"] == (5, "Green", "pass")
    assert read["IMG_0003.xmp"] == read["IMG_0003.CR3.xmp"] == (1, "Red", "soft")
    assert read["IMG_0004.JPG.xmp"] == (2, "Yellow", "drift")
    assert read["IMG_0005.JPG.xmp"] == (3, "Blue", "uncertain")

    # Again: nothing new, nothing repeated; then one new picture, judged alone.
    code, shots, err = _run_json(capsys, str(folder), "--session", str(session), "--once")
    assert code == 0 and shots == [] and "no new pictures" in err
    _save(folder / "IMG_0007.JPG", degrade(scene, 1.2 * COC_PX, 2.0, seed=7))
    code, shots, _ = _run_json(capsys, str(folder), "--session", str(session), "--once")
    assert [(s["file"], s["verdict"], s["sequence"]) for s in shots] == [("IMG_0007.JPG", "soft", 7)]


def test_a_session_refuses_other_features_and_a_bad_start_is_one_sentence(tmp_path, capsys):
    folder = tmp_path / "hot"
    folder.mkdir()
    # An empty folder with --once: nothing to take as the reference, and nothing written.
    assert main(["watch", str(folder), "--roi", ROI, "--once"]) == 0
    assert "no picture came to take as the reference; nothing was written" in capsys.readouterr().out
    assert list(folder.iterdir()) == []
    _save(folder / "a.jpg", _scene())
    assert main(["watch", str(folder), "--roi", "1190,890,50,50", "--once"]) == 1
    assert "is not inside the 1200×900 reference picture" in capsys.readouterr().err
    assert main(["watch", str(folder), "--roi", ROI, "--coc-px", "6", "--once"]) == 0
    capsys.readouterr()
    assert main(["watch", str(folder), "--roi", "10,10,300,240", "--once"]) == 1
    assert "was set up with other features" in capsys.readouterr().err


# Writes pictures the way a slow tether program or a network copy does: in pieces, with
# pauses both shorter and longer than the watcher's settle time (0.5 s).
_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    source, folder, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    data = source.read_bytes()
    for i in range(count):
        path = folder / f"SLOW_{i:03d}.JPG"
        pieces = 4
        for k in range(pieces):
            with open(path, "ab") as handle:
                handle.write(data[k * len(data) // pieces:(k + 1) * len(data) // pieces])
            time.sleep(0.9 if k == 1 else 0.1)
    print("written", flush=True)
""")


def _wait_for_shots(session: Path, count: int, timeout_s: float = 90.0) -> int:
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        try:
            with ShotStore.read(session) as store:
                seen = store.shot_count()
        except Exception:  # the watcher is still creating it
            seen = 0
        if seen >= count:
            return seen
        time.sleep(0.2)
    return seen


def test_the_watcher_takes_files_written_slowly_in_chunks_only_once_complete(tmp_path):
    folder = tmp_path / "hot"
    folder.mkdir()
    scene = _scene()
    _save(tmp_path / "shot.jpg", degrade(scene, 0.0, 2.0, seed=11))
    _save(folder / "REF.JPG", degrade(scene, 0.0, 2.0, seed=10))
    session = tmp_path / "session"
    watcher = subprocess.Popen([sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", ROI, "--coc-px", str(COC_PX),
                                "--session", str(session), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for_shots(session, 1) == 1  # the reference picture itself
        writer = subprocess.run([sys.executable, "-c", _SLOW_WRITER, str(tmp_path / "shot.jpg"), str(folder), "5"],
                                capture_output=True, text=True, timeout=120)
        assert writer.stdout.strip() == "written"
        assert _wait_for_shots(session, 6) == 6
    finally:
        watcher.send_signal(signal.SIGTERM)  # ends cleanly after the current file
        out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    shots = [json.loads(line) for line in out.splitlines()]
    slow = [s for s in shots if s["file"].startswith("SLOW_")]
    # Each file once, read whole (a partial read would be unreadable or soft), in order.
    assert [s["file"] for s in slow] == [f"SLOW_{i:03d}.JPG" for i in range(5)]
    assert all(s["readable"] and s["verdict"] == "pass" for s in slow), slow


def test_a_watcher_killed_at_random_points_loses_and_repeats_nothing(tmp_path):
    folder = tmp_path / "hot"
    folder.mkdir()
    scene = cv2.resize(_scene(), (600, 450), interpolation=cv2.INTER_AREA)
    shots = 15
    for i in range(shots):
        _save(folder / f"IMG_{i:03d}.JPG", degrade(scene, 4.0 if i % 3 == 2 else 0.0, 2.0, seed=i))
    session = tmp_path / "session"
    command = [sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", "225,150,150,120", "--coc-px", "3",
               "--session", str(session), "--once", "--no-events"]
    rng = random.Random(7)
    kills = 0
    for _ in range(40):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line_count = rng.randint(1, 4)
        for _ in range(line_count):  # let it log a few shots, then kill it mid-work
            if not process.stdout.readline():
                break
        time.sleep(rng.random() * 0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        kills += process.returncode == -signal.SIGKILL
        with ShotStore.read(session) as store:
            if store.shot_count() == shots:
                break
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert kills >= 2  # the kills landed mid-work (a loaded machine logs more shots between them)
    with ShotStore.read(session) as store:
        assert store.integrity_problems() == []
        logged = list(store.shots())
    assert sorted(s.record.name for s in logged) == [f"IMG_{i:03d}.JPG" for i in range(shots)]
    assert [s.sequence for s in logged] == list(range(1, shots + 1))
    assert {s.record.name: s.record.verdict for s in logged} == {f"IMG_{i:03d}.JPG": "soft" if i % 3 == 2 else "pass"
                                                                   for i in range(shots)}
    # Every sidecar is whole XMP with the shot's verdict, whatever moment the kills hit.
    tags = json.loads(subprocess.run([EXIFTOOL, "-j", "-XMP-focuslock:Verdict", *map(str, sorted(folder.glob("*.JPG.xmp")))],
                                     capture_output=True, text=True, check=True).stdout)
    assert {Path(t["SourceFile"]).name[:-4]: t["Verdict"] for t in tags} == {s.record.name: s.record.verdict for s in logged}


_THOUSAND = textwrap.dedent("""
    import os, sys, threading
    from pathlib import Path
    from focuslock.workflows.watch import WatchOptions, open_session, run_watch

    def held():  # what the process holds: open files and threads
        return f"{len(os.listdir('/proc/self/fd'))},{threading.active_count()}"

    folder, session = Path(sys.argv[1]), Path(sys.argv[2])
    store, judge = open_session(session, folder, [(100, 75, 120, 90)], None, {"coc_px": 3.0}, None)
    marks = {}
    def on_shot(result):
        if result["sequence"] in (200, 1000):
            marks[result["sequence"]] = held()
    counts = run_watch(folder, store, judge, WatchOptions(once=True, settle_s=0.0), say=lambda text: None, on_shot=on_shot)
    store.close()
    print(counts["pass"] + counts["soft"], marks[200], marks[1000])
""")


def test_a_thousand_files_leave_nothing_held(tmp_path):
    """Each file costs only itself: from the 200th file to the 1000th the watch holds the
    same open files and threads (what it keeps per file is its name in the done set; the
    memory's trend over hours is scripts/soak.py's)."""
    folder = tmp_path / "hot"
    folder.mkdir()
    scene = cv2.resize(_scene(), (320, 240), interpolation=cv2.INTER_AREA)
    base = degrade(scene, 0.0, 2.0, seed=1)
    for i in range(1000):
        noisy = cv2.add(base, (i % 7, i % 5, i % 3, 0))
        _save(folder / f"IMG_{i:04d}.JPG", noisy)
    result = subprocess.run([sys.executable, "-c", _THOUSAND, str(folder), str(tmp_path / "session")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    judged, held_at_200, held_at_1000 = result.stdout.split()
    assert int(judged) == 1000
    assert held_at_1000 == held_at_200


def _exposure_and_size_folder(tmp_path: Path) -> Path:
    """A hot folder: the reference a stop under the photograph (studio headroom), the same
    sharp shot a stop darker and a stop brighter, a shot blurred by a Gaussian of σ 3 px
    (2 CoC) saved at 25 %, and a 64×48 thumbnail of the reference."""
    from tests.session.test_exposure_notes import exposed

    scene = _scene()
    folder = tmp_path / "hot"
    folder.mkdir()
    _save(folder / "IMG_0001.JPG", degrade(exposed(scene, -1.0), 0.0, 1.5, seed=1))
    _save(folder / "IMG_0002.JPG", degrade(exposed(scene, -2.0), 0.0, 1.5, seed=2))
    _save(folder / "IMG_0003.JPG", degrade(exposed(scene, 0.0), 0.0, 1.5, seed=3))
    soft = cv2.GaussianBlur(degrade(exposed(scene, -1.0), 0.0, 1.5, seed=4), (0, 0), 3.0)
    _save(folder / "IMG_0004.JPG", cv2.resize(soft, (300, 225), interpolation=cv2.INTER_AREA))
    _save(folder / "IMG_0005.JPG", cv2.resize(degrade(exposed(scene, -1.0), 0.0, 1.5, seed=5), (64, 48),
                                              interpolation=cv2.INTER_AREA))
    return folder


def test_watch_keeps_focus_and_light_apart_and_never_passes_a_small_soft_file(tmp_path, capsys):
    folder = _exposure_and_size_folder(tmp_path)
    assert main(["watch", str(folder), "--roi", ROI, "--coc-px", str(COC_PX), "--once", "--sidecars", "none"]) == 0
    # Each shot's line without its sequence number (the hot folder takes ready files in any order).
    lines = {line.split()[1].rstrip(":"): line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()
             if line.startswith("#")}
    assert lines["IMG_0001.JPG"].startswith("IMG_0001.JPG: PASS · feature 1 sharp")
    # A stop darker or brighter: PASS for focus, the exposure told beside it.
    assert lines["IMG_0002.JPG"].startswith("IMG_0002.JPG: PASS · exposure: -1.0 stops darker than the reference ·")
    assert lines["IMG_0003.JPG"].startswith("IMG_0003.JPG: PASS · exposure: +1.0 stops brighter than the reference ·")
    # Saved small: judged in its own pixels (CoC 1.5 px there) and SOFT; the thumbnail cannot be judged.
    assert lines["IMG_0004.JPG"].startswith("IMG_0004.JPG: SOFT — feature 1 is soft"), lines["IMG_0004.JPG"]
    assert lines["IMG_0005.JPG"].startswith("IMG_0005.JPG: UNCERTAIN — saved at 64 px wide: too small to judge "
                                            "focus"), lines["IMG_0005.JPG"]


def test_watch_writes_the_exposure_note_to_the_sidecars_and_the_report(tmp_path, capsys):
    from focuslock.focus.exposure import KEYWORD_BRIGHTER, KEYWORD_DARKER

    folder = _exposure_and_size_folder(tmp_path)
    assert main(["watch", str(folder), "--roi", ROI, "--coc-px", str(COC_PX), "--once", "--sidecars", "lightroom"]) == 0
    tags = json.loads(subprocess.run([EXIFTOOL, "-j", "-G1", "-Rating", "-Subject", "-XMP-focuslock:Exposure",
                                      str(folder / "IMG_0002.xmp"), str(folder / "IMG_0003.xmp")],
                                     capture_output=True, text=True, check=True).stdout)
    read = {Path(t["SourceFile"]).name: t for t in tags}
    # The rating stays the focus verdict's (PASS: 5); the note is a keyword to filter on.
    assert read["IMG_0002.xmp"]["XMP-xmp:Rating"] == read["IMG_0003.xmp"]["XMP-xmp:Rating"] == 5
    assert read["IMG_0002.xmp"]["XMP-dc:Subject"] == KEYWORD_DARKER
    assert read["IMG_0003.xmp"]["XMP-dc:Subject"] == KEYWORD_BRIGHTER
    assert read["IMG_0003.xmp"]["XMP-focuslock:Exposure"] == "exposure: +1.0 stops brighter than the reference"
    capsys.readouterr()
    assert main(["report", str(folder)]) == 0
    with open(folder / "report.csv", newline="", encoding="utf-8") as handle:
        rows = {r["file"]: r for r in csv.DictReader(handle)}
    assert rows["IMG_0002.JPG"]["exposure_note"] == "exposure: -1.0 stops darker than the reference"
    assert rows["IMG_0001.JPG"]["exposure_note"] == "" and rows["IMG_0002.JPG"]["verdict"] == "pass"
    assert "exposure: +1.0 stops brighter than the reference" in (folder / "report.html").read_text(encoding="utf-8")


def _lines(stream, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for_line(lines: queue.Queue[str], text: str, timeout_s: float = 90.0) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the watcher never said {text!r}; it said: {seen}")


def _drop(path: Path, rgb, folder: Path) -> None:
    """Into the hot folder at once (written beside it, then renamed), as a tether program does."""
    _save(folder.parent / path.name, rgb)
    os.replace(folder.parent / path.name, path)


def test_a_watch_started_on_an_empty_folder_takes_the_first_good_picture_as_reference(tmp_path):
    """The studio's order: start the watcher, then shoot. A first file that is no picture
    cannot be the reference (said, and the next one awaited); the first good picture is
    (said); every file is then judged and logged, the bad one UNCERTAIN, none lost."""
    folder = tmp_path / "hot"
    folder.mkdir()
    scene = _scene()
    session = tmp_path / "session"
    watcher = subprocess.Popen([sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", ROI, "--coc-px",
                                str(COC_PX), "--session", str(session), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    told: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(watcher.stderr, told), daemon=True).start()
    try:
        _wait_for_line(told, "the first complete picture will be the session's reference")
        assert not session.exists()  # nothing written while it waits
        # Whole by its markers (start and end of image), yet no picture in between.
        (tmp_path / "NOTE.JPG").write_bytes(b"\xff\xd8" + b"not a picture, only its name and markers are" + b"\xff\xd9")
        os.replace(tmp_path / "NOTE.JPG", folder / "NOTE.JPG")
        _wait_for_line(told, "NOTE.JPG cannot be the reference")
        assert not session.exists()
        _drop(folder / "IMG_0001.JPG", degrade(scene, 0.0, 2.0, seed=1), folder)
        _wait_for_line(told, "Took IMG_0001.JPG as the reference")
        _drop(folder / "IMG_0002.JPG", degrade(scene, 3.0 * COC_PX, 2.0, seed=2), folder)
        assert _wait_for_shots(session, 3) == 3
    finally:
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    verdicts = {shot["file"]: shot["verdict"] for shot in map(json.loads, out.splitlines())}
    assert verdicts == {"IMG_0001.JPG": "pass", "IMG_0002.JPG": "soft", "NOTE.JPG": "uncertain"}


def test_a_watch_stopped_while_it_waits_for_the_first_picture_leaves_nothing(tmp_path):
    folder = tmp_path / "hot"
    folder.mkdir()
    watcher = subprocess.Popen([sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", ROI],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    told: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(watcher.stdout, told), daemon=True).start()
    try:
        _wait_for_line(told, "the first complete picture will be the session's reference")
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    assert list(folder.iterdir()) == []


def test_watch_review_shows_each_shot_as_it_was_decoded_to_be_judged(tmp_path, monkeypatch):
    """``watch --review`` (issue 29: one decode per shot): each shot's window review is
    made from the picture the judge decoded — one decode per shot, and the crop the review
    shows is the judged picture's."""
    from focuslock.workflows.watch import WatchOptions, open_session, review_of_shot, run_watch

    folder = tmp_path / "hot"
    folder.mkdir()
    scene = cv2.resize(_scene(), (320, 240), interpolation=cv2.INTER_AREA)
    for i in range(3):
        _save(folder / f"IMG_{i:04d}.JPG", degrade(scene, 0.0, 2.0, seed=i))
    store, judge = open_session(tmp_path / "session", folder, [(100, 75, 120, 90)], None, {"coc_px": 3.0}, None)
    decodes: list[None] = []
    real = cv2.imdecode

    def counted(*args, **kwargs):
        decodes.append(None)
        return real(*args, **kwargs)

    monkeypatch.setattr(cv2, "imdecode", counted)
    reviews = []
    try:
        run_watch(folder, store, judge, WatchOptions(once=True, settle_s=0.0), say=lambda _: None,
                  on_review=lambda result, picture: reviews.append(review_of_shot(result, judge, picture)))
    finally:
        store.close()
    shots = [r for r in reviews if r.path.name != judge.setup.reference]
    assert len(shots) >= 2 and all(review.crops for review in shots), reviews
    assert len(decodes) == len(reviews), (len(decodes), len(reviews))
    # Each crop titled in the window's words: "feature 1: IN FOCUS", not "SHARP (0.02 CoC)".
    titles = [crop.title for review in shots for crop in review.crops]
    assert all(title.startswith("feature 1: IN FOCUS") and "CoC" not in title for title in titles), titles
