"""The hot folder: files handed over once, and only once they are whole.

The first tests drive the folder's clock by hand (the writer's pauses are then exact, not
timed); the end-to-end tests at the bottom run ``focuslock watch`` as a process with real
file events while another process writes slowly."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from focuslock.session.hotfolder import HotFolder, ReadyFile

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"


def _jpeg() -> bytes:
    return cv2.imencode(".jpg", cv2.imread(str(DATA / "barcode.jpg")), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def _png() -> bytes:
    return cv2.imencode(".png", cv2.imread(str(DATA / "barcode.jpg")))[1].tobytes()


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _write_in_chunks(hot: HotFolder, clock: _Clock, path: Path, data: bytes, chunks: int, pause_s: float) -> list[ReadyFile]:
    """Append ``data`` in ``chunks`` pieces; between them the folder is scanned several
    times over a pause of ``pause_s`` (longer than the settle time). Returns what it
    handed over while the file was incomplete."""
    early = []
    cuts = np.linspace(0, len(data), chunks + 1).astype(int)
    for start, end in zip(cuts[:-1], cuts[1:]):
        with open(path, "ab") as handle:
            handle.write(data[start:end])
        if end == len(data):
            break
        for _ in range(4):
            clock.now += pause_s / 4
            early += hot.ready()
    return early


def test_files_written_in_chunks_with_long_pauses_are_handed_over_only_when_whole_and_once(tmp_path):
    clock = _Clock()
    hot = HotFolder(tmp_path, settle_s=0.5, give_up_s=30.0, use_events=False, clock=clock)
    hot.start()
    for name, data in (("IMG_0001.JPG", _jpeg()), ("IMG_0002.png", _png())):
        path = tmp_path / name
        # Pauses of 2 s, four times the settle time: size and time alone would call it done.
        assert _write_in_chunks(hot, clock, path, data, chunks=6, pause_s=2.0) == []
        handed = []
        for _ in range(5):
            clock.now += 0.3
            handed += hot.ready()
        assert handed == [ReadyFile(path, True)]
        assert path.read_bytes() == data
    clock.now += 10
    assert hot.ready() == []


def test_temporary_names_are_ignored_and_a_rename_to_the_final_name_is_seen(tmp_path):
    clock = _Clock()
    hot = HotFolder(tmp_path, settle_s=0.5, use_events=False, clock=clock)
    hot.start()
    for name in (".IMG_3.JPG", "IMG_3.JPG.part", "IMG_3.tmp", "IMG_3.JPG.xmp", "notes.txt"):
        (tmp_path / name).write_bytes(_jpeg())
    for _ in range(3):
        clock.now += 1.0
        assert hot.ready() == []
    (tmp_path / "IMG_3.JPG.part").rename(tmp_path / "IMG_3.JPG")
    handed = []
    for _ in range(3):
        clock.now += 1.0
        handed += hot.ready()
    assert handed == [ReadyFile(tmp_path / "IMG_3.JPG", True)]


def test_a_file_that_never_becomes_whole_is_handed_over_as_incomplete_after_a_while(tmp_path):
    clock = _Clock()
    hot = HotFolder(tmp_path, settle_s=0.5, give_up_s=20.0, use_events=False, clock=clock)
    hot.start()
    cut = tmp_path / "IMG_9.JPG"
    cut.write_bytes(_jpeg()[:5000])  # the writer died: no end-of-image marker, ever
    handed = []
    for _ in range(25):
        clock.now += 1.0
        handed += hot.ready()
    assert handed == [ReadyFile(cut, False)]


def test_names_already_done_are_never_handed_over_again(tmp_path):
    (tmp_path / "IMG_1.JPG").write_bytes(_jpeg())
    (tmp_path / "IMG_2.JPG").write_bytes(_jpeg())
    clock = _Clock()
    hot = HotFolder(tmp_path, settle_s=0.5, use_events=False, done={"IMG_1.JPG"}, clock=clock)
    hot.start()
    handed = []
    for _ in range(3):
        clock.now += 1.0
        handed += hot.ready()
    assert [r.path.name for r in handed] == ["IMG_2.JPG"]
