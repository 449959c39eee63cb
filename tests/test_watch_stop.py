"""``focuslock watch`` stopped by Ctrl-C (SIGINT), as a user stops it in a terminal: a
real process, a real signal, real files and the real session log.

Ctrl-C ends the watch as SIGTERM does: after the file being judged (never mid-write),
with its summary line. Everything that came judged: ``Done:``, exit 0 (a watch ends when
it is stopped). Pictures seen but not judged yet: ``Stopped:`` with how many, and what to
do, exit 1 (as ``check-archive`` stopped early); they stay unlogged and the next run
judges them — nothing lost, nothing judged twice.
"""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from focuslock.session.store import ShotStore
from focuslock.testing.synthetic import degrade
from tests.test_watch import COC_PX, ROI, _lines, _save, _scene, _wait_for_line


def _watch(folder: Path, session: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", ROI, "--coc-px",
                             str(COC_PX), "--session", str(session), "--sidecars", "none", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _logged(session: Path) -> list[str]:
    with ShotStore.read(session) as store:
        return sorted(Path(path).name for path in store.logged_checksums())


def test_ctrl_c_ends_a_watch_with_its_summary(tmp_path):
    folder, session = tmp_path / "hot", tmp_path / "session"
    folder.mkdir()
    scene = _scene()
    _save(folder / "IMG_0001.JPG", degrade(scene, 0.0, 2.0, seed=1))  # the reference
    _save(folder / "IMG_0002.JPG", degrade(scene, 3.0 * COC_PX, 2.0, seed=2))  # soft
    watcher = _watch(folder, session)
    told: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(watcher.stdout, told), daemon=True)
    reader.start()
    try:
        _wait_for_line(told, "IMG_0002.JPG")  # both judged; the watch waits for the next picture
    finally:
        watcher.send_signal(signal.SIGINT)
        err = watcher.stderr.read()  # stdout is the reader's: read to its end below
        watcher.wait(timeout=60)
        reader.join(timeout=60)
    said = []
    while not told.empty():
        said.append(told.get().rstrip("\n"))
    assert watcher.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert said[-1] == "Done: 1 pass, 1 soft", said
    assert _logged(session) == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_ctrl_c_in_the_middle_of_a_folder_says_what_is_left_and_loses_nothing(tmp_path):
    folder, session = tmp_path / "hot", tmp_path / "session"
    folder.mkdir()
    scene = _scene()
    _save(folder / "IMG_0000.JPG", degrade(scene, 0.0, 2.0, seed=1))
    for index in range(1, 40):  # the same sharp shot under forty names: more than is judged before the signal lands
        shutil.copyfile(folder / "IMG_0000.JPG", folder / f"IMG_{index:04d}.JPG")
    watcher = _watch(folder, session, "--once", "--no-events")
    told: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(watcher.stdout, told), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        seen = _wait_for_line(told, "#2 ")
    finally:
        watcher.send_signal(signal.SIGINT)
        err = watcher.stderr.read()  # stdout is the reader's: read to its end below
        watcher.wait(timeout=60)
        reader.join(timeout=60)
    said = [line.rstrip("\n") for line in seen]
    while not told.empty():
        said.append(told.get().rstrip("\n"))
    assert watcher.returncode == 1, (said, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    logged = _logged(session)
    left = 40 - len(logged)
    assert left > 0
    assert said[-2:] == [f"Stopped: {len(logged)} pass; {left} picture{'s' if left != 1 else ''} not judged yet (left "
                         "in the folder, unlogged).",
                         "What was judged is logged; run the same command again to judge the rest."], said
    # Every shot said was logged whole, and the next run judges exactly the rest.
    assert sorted(line.split()[1].rstrip(":") for line in said if line.startswith("#")) == logged
    again = subprocess.run([sys.executable, "-m", "focuslock", "watch", str(folder), "--roi", ROI, "--coc-px",
                            str(COC_PX), "--session", str(session), "--sidecars", "none", "--once", "--no-events"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == f"Done: {left} pass"
    assert _logged(session) == sorted(f"IMG_{index:04d}.JPG" for index in range(40))
    with ShotStore.read(session) as store:
        assert store.integrity_problems() == []
