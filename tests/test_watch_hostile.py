"""Issue 28.5: one hostile file in a hot folder costs only itself.

Each case puts one bad file (a picture, or a picture's sidecar) between good pictures in
a hot folder made here, runs the real ``focuslock watch DIR --roi … --once`` as a
subprocess (a timeout only as a guard against a hang), and checks what the user sees:
the run ends with rc 0, the good pictures beside the bad one are judged and logged, the
bad one is logged (or, gone, reported) with its one-sentence reason, and a second run
logs nothing twice. A file deleted while the watch runs is removed from inside a real
``run_watch`` (between two shots), so the moment is certain.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import cv2
import pytest

from focuslock.session.store import ShotStore
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parent / "data" / "focus-stacks"
ROI = "225,150,150,120"  # the barcode's middle in the 600×450 pictures
COC_PX = "3"
# A guard against a hang or a run-away read: far more than a run here needs.
_GUARD_S = 120
_MEMORY_GUARD = 3 << 30

# The watch run in a subprocess that reports, on its last line of stderr, how many bytes
# it read (the kernel's rchar), so that a file read whole shows.
_RUNNER = (
    "import sys\n"
    "from focuslock.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    rchar = [l for l in open('/proc/self/io') if l.startswith('rchar')][0].split()[1]\n"
    "    print('rchar', rchar, file=sys.stderr, flush=True)\n"
    "sys.exit(code)\n"
)


def _scene():
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "barcode.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (600, 450), interpolation=cv2.INTER_AREA)


def _save(path: Path, rgb) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])


def _good_folder(tmp_path: Path) -> Path:
    """IMG_0001 (the reference), IMG_0002 and IMG_0003: three sharp pictures."""
    folder = tmp_path / "hot"
    folder.mkdir()
    scene = _scene()
    for i in (1, 2, 3):
        _save(folder / f"IMG_000{i}.JPG", degrade(scene, 0.0, 2.0, seed=i))
    return folder


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_GUARD, _MEMORY_GUARD))


def _watch(folder: Path) -> tuple[int, list[dict], str, int]:
    """One ``watch --once --json`` run: rc, the shots it printed, stderr, bytes read."""
    run = subprocess.run([sys.executable, "-c", _RUNNER, "watch", str(folder), "--roi", ROI, "--coc-px", COC_PX, "--once",
                          "--no-events", "--json"], check=False, capture_output=True, text=True, timeout=_GUARD_S,
                         preexec_fn=_limit_memory)
    lines = run.stderr.splitlines()
    rchar = int(lines[-1].split()[1]) if lines and lines[-1].startswith("rchar ") else -1
    return run.returncode, [json.loads(line) for line in run.stdout.splitlines()], "\n".join(lines[:-1]), rchar


def _logged(folder: Path) -> dict[str, tuple[str, str | None]]:
    with ShotStore.read(folder) as store:
        return {s.record.name: (s.record.verdict, s.record.reason) for s in store.shots()}


def _check_good_and_second_run(folder: Path) -> None:
    logged = _logged(folder)
    for name in ("IMG_0001.JPG", "IMG_0003.JPG"):
        assert logged[name][0] == "pass", logged
    code, shots, err, _ = _watch(folder)  # again: nothing new, nothing twice
    assert code == 0, err
    assert shots == [] and "no new pictures" in err
    assert _logged(folder) == logged


def _png(width: int, height: int, body: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))


def test_a_sidecar_nested_a_thousand_deep_is_left_alone_and_the_watch_goes_on(tmp_path):
    folder = _good_folder(tmp_path)
    deep = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a>" * 1000 + b"</a>" * 1000 + b"</x:xmpmeta>")
    assert len(deep) < 8000
    (folder / "IMG_0002.xmp").write_bytes(deep)
    code, shots, err, _ = _watch(folder)
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.JPG"]["verdict"] == "pass"
    assert any("IMG_0002.xmp" in note and "deep" in note for note in by_file["IMG_0002.JPG"]["notes"]), by_file
    assert (folder / "IMG_0002.xmp").read_bytes() == deep  # left as it was
    assert b"focuslock:Verdict" in (folder / "IMG_0002.JPG.xmp").read_bytes()  # darktable's own still written
    _check_good_and_second_run(folder)


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_a_sidecar_that_is_a_pipe_or_a_device_is_never_read(tmp_path, kind):
    folder = _good_folder(tmp_path)
    sidecar = folder / "IMG_0002.xmp"
    if kind == "fifo":
        os.mkfifo(sidecar)
    else:
        sidecar.symlink_to("/dev/zero")
    code, shots, err, rchar = _watch(folder)
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.JPG"]["verdict"] == "pass"
    assert any("IMG_0002.xmp" in note and ("pipe" in note or "symbolic link" in note)
               for note in by_file["IMG_0002.JPG"]["notes"]), by_file
    assert rchar < 300 << 20  # /dev/zero not read on and on
    assert os.path.islink(sidecar) if kind != "fifo" else sidecar.is_fifo()  # left where it was
    _check_good_and_second_run(folder)


def test_a_png_declaring_a_huge_frame_is_logged_uncertain_and_the_watch_goes_on(tmp_path):
    folder = _good_folder(tmp_path)
    (folder / "IMG_0002.JPG").unlink()
    (folder / "IMG_0002.png").write_bytes(_png(30000, 30000, bytes(100_000)))
    code, shots, err, _ = _watch(folder)
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.png"]["verdict"] == "uncertain" and not by_file["IMG_0002.png"]["readable"]
    assert "30000×30000" in by_file["IMG_0002.png"]["reason"]
    _check_good_and_second_run(folder)


def test_a_sparse_file_of_gigabytes_is_refused_without_being_read(tmp_path):
    folder = _good_folder(tmp_path)
    (folder / "IMG_0002.JPG").unlink()
    big = folder / "IMG_0002.png"
    small = _png(1000, 1000, bytes(3001 * 1000))
    iend = small[-12:]
    with open(big, "wb") as handle:
        handle.write(small[:-12])
        handle.truncate(2_500_000_000 - len(iend))
        handle.seek(0, os.SEEK_END)
        handle.write(iend)
    assert big.stat().st_size == 2_500_000_000
    code, shots, err, rchar = _watch(folder)
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.png"]["verdict"] == "uncertain"
    assert "2.5 GB" in by_file["IMG_0002.png"]["reason"]
    assert rchar < 300 << 20, rchar  # not read whole (for a checksum or anything else)
    _check_good_and_second_run(folder)


def test_an_empty_picture_is_logged_and_once_ends(tmp_path):
    folder = _good_folder(tmp_path)
    (folder / "IMG_0002.JPG").write_bytes(b"")
    code, shots, err, _ = _watch(folder)
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.JPG"]["verdict"] == "uncertain" and not by_file["IMG_0002.JPG"]["readable"]
    assert "empty" in by_file["IMG_0002.JPG"]["reason"]
    _check_good_and_second_run(folder)


def test_a_picture_moved_away_while_the_watch_runs_is_said_in_one_line_and_the_watch_goes_on(tmp_path):
    from focuslock.workflows.watch import WatchOptions, open_session, run_watch

    folder = _good_folder(tmp_path)
    _save(folder / "IMG_0004.JPG", degrade(_scene(), 0.0, 2.0, seed=4))
    store, judge = open_session(folder, folder, [(225, 150, 150, 120)], None, {"coc_px": 3.0}, None)
    said: list[str] = []
    shots: list[dict] = []

    def on_shot(result: dict) -> None:
        shots.append(result)
        if result["file"] == "IMG_0002.JPG":  # as Capture One moves a file after its import
            (folder / "IMG_0003.JPG").rename(tmp_path / "IMG_0003.JPG")

    try:
        run_watch(folder, store, judge, WatchOptions(once=True, use_events=False), say=said.append,
                  stop=threading.Event(), on_shot=on_shot)
    finally:
        store.close()
    assert [s["file"] for s in shots] == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0004.JPG"]
    gone = [line for line in said if "IMG_0003.JPG" in line]
    assert len(gone) == 1 and "\n" not in gone[0] and "moved or deleted" in gone[0], said
    assert not (folder / "IMG_0003.xmp").exists()  # no sidecar left behind for a picture that is not there
    assert set(_logged(folder)) == {"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0004.JPG"}
    code, shots_again, err, _ = _watch(folder)
    assert code == 0 and shots_again == [], err


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_a_pipe_or_a_device_under_a_picture_name_is_logged_unread_and_once_ends(tmp_path, kind):
    folder = _good_folder(tmp_path)
    picture = folder / "IMG_0002.JPG"
    picture.unlink()
    if kind == "fifo":
        os.mkfifo(picture)
    else:
        picture.symlink_to("/dev/zero")
    code, shots, err, rchar = _watch(folder)
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.JPG"]["verdict"] == "uncertain" and not by_file["IMG_0002.JPG"]["readable"]
    assert "not a regular file" in by_file["IMG_0002.JPG"]["reason"]
    assert rchar < 300 << 20
    _check_good_and_second_run(folder)


# Appends to a file for ever, as no tether program does: a --once run must still end.
_NEVER_DONE = (
    "import sys, time\n"
    "with open(sys.argv[1], 'ab', buffering=0) as handle:\n"
    "    while True:\n"
    "        handle.write(b'x' * 100)\n"
    "        time.sleep(0.05)\n"
)


def test_a_file_that_never_stops_growing_does_not_keep_once_running(tmp_path):
    folder = _good_folder(tmp_path)
    picture = folder / "IMG_0002.JPG"
    picture.write_bytes(b"\xff\xd8\xff\xe0")
    writer = subprocess.Popen([sys.executable, "-c", _NEVER_DONE, str(picture)])
    try:
        code, shots, err, _ = _watch(folder)
    finally:
        writer.kill()
        writer.wait()
    assert code == 0, err
    by_file = {s["file"]: s for s in shots}
    assert by_file["IMG_0002.JPG"]["verdict"] == "uncertain" and not by_file["IMG_0002.JPG"]["readable"]
    assert "never became a whole picture" in by_file["IMG_0002.JPG"]["reason"]
    _check_good_and_second_run(folder)


def test_a_sidecar_larger_than_any_xmp_is_left_alone_in_one_sentence(tmp_path):
    from focuslock.session.xmp import (
        RatingPolicy,
        SidecarError,
        XmpFields,
        write_sidecar,
    )

    sidecar = tmp_path / "IMG_0002.xmp"
    huge = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!--' + b"-" * (17 << 20) + b"--></x:xmpmeta>"
    sidecar.write_bytes(huge)
    with pytest.raises(SidecarError) as refused:
        write_sidecar(sidecar, XmpFields("pass", None, "s", 1, "2026-12-07T00:00:00Z"), RatingPolicy())
    assert "larger than 16 MB" in str(refused.value) and "left as it is" in str(refused.value)
    assert sidecar.read_bytes() == huge
