"""Saving captured files: never outside the folder, never over another file, never half.

Real files on real file systems: a planted symlink, writers racing for one name, a
tmpfs that fills (tests/small_disk.py)."""

from __future__ import annotations

import json
import os
import threading

import pytest

from focuslock.io.files import SaveError, sanitise_file_name, save_new_file
from tests.small_disk import SmallDisk, python_argv


def test_a_symlink_planted_in_the_folder_is_never_written_through(tmp_path):
    folder, outside = tmp_path / "captures", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_bytes(b"keep me")
    # Where the old code put its temporary file, and the final name itself.
    (folder / "IMG_0001.JPG.part").symlink_to(victim)
    (folder / "IMG_0002.JPG").symlink_to(victim)
    first = save_new_file(folder, "IMG_0001.JPG", b"picture one")
    second = save_new_file(folder, "IMG_0002.JPG", b"picture two")
    assert victim.read_bytes() == b"keep me"
    assert first == folder / "IMG_0001.JPG" and first.read_bytes() == b"picture one"
    assert second == folder / "IMG_0002-2.JPG" and second.read_bytes() == b"picture two"
    assert not second.is_symlink() and not first.is_symlink()


def test_writers_racing_for_one_name_each_keep_their_file(tmp_path):
    for round_number in range(25):
        folder = tmp_path / f"round{round_number}"
        payloads = [f"writer {i} of round {round_number}".encode() * 2000 for i in range(4)]
        start = threading.Barrier(len(payloads))
        saved = [None] * len(payloads)

        def write(index: int, start=start, saved=saved, folder=folder, payloads=payloads) -> None:
            start.wait()
            saved[index] = save_new_file(folder, "IMG_0001.JPG", payloads[index])

        threads = [threading.Thread(target=write, args=(i,)) for i in range(len(payloads))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(saved)) == len(payloads)
        assert [path.read_bytes() for path in saved] == payloads
        # Nothing else left behind: no temporary file, no empty placeholder.
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in saved)


@pytest.mark.parametrize("name, expected", [
    ("写真.JPG", "写真.JPG"),
    ("Ästhetik 01.NEF", "Ästhetik_01.NEF"),
    ("../../etc/passwd", "passwd"),
    ("C:\\DCIM\\IMG_1.CR3", "IMG_1.CR3"),
    (".JPG", "capture.JPG"),
    ("..", "capture"),
    ("CON.JPG", "_CON.JPG"),
    ("name\x00with\x1bcontrol.jpg", "name_with_control.jpg"),
])
def test_names_keep_their_letters_and_extension(name, expected):
    assert sanitise_file_name(name) == expected


def test_a_long_name_is_cut_in_its_stem_and_keeps_the_extension():
    cleaned = sanitise_file_name("露" * 200 + ".ARW")
    assert cleaned.endswith(".ARW") and len(cleaned.encode()) <= 120
    assert set(cleaned[:-4]) == {"露"}  # cut on a whole character


def test_a_full_disk_is_one_sentence_and_leaves_no_partial_file(tmp_path):
    disk = SmallDisk(tmp_path / "disk", size_kb=64)
    script = f"""
import json, os
from focuslock.io.files import save_new_file, SaveError
folder = {str(disk.folder)!r}
saved, error = [], None
try:
    for i in range(10):
        saved.append(str(save_new_file(folder, f"IMG_{{i}}.JPG", bytes([i]) * 20000)))
except SaveError as e:
    error = str(e)
print(json.dumps({{"saved": saved, "error": error, "left": sorted(os.listdir(folder)),
                  "ok": [open(p, "rb").read() == bytes([int(p[-5])]) * 20000 for p in saved]}}))
"""
    result = disk.run(python_argv("-c", script))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["error"] is not None and "could not be saved" in report["error"]
    assert report["error"].count(".") <= 3 and "\n" not in report["error"]
    if disk.kind == "tmpfs":
        assert report["error"].startswith("The disk is full")
        assert 1 <= len(report["saved"]) < 10
    # Every file listed is whole; nothing else in the folder (no .part, no empty name).
    assert all(report["ok"])
    assert report["left"] == sorted(p.rsplit("/", 1)[-1] for p in report["saved"])



def test_a_folder_without_write_permission_is_one_sentence_for_captures_and_outputs():
    """Run without write permission (as nobody when the suite runs as root)."""
    from focuslock.io.outputs import OutputError, check_outputs, claim_run_paths
    from tests.unprivileged import read_only_folder, remove, run_unprivileged

    folder = read_only_folder()

    def attempt() -> dict:
        answers = {"uid": os.geteuid()}
        try:
            save_new_file(folder, "IMG_0001.JPG", b"picture")
        except SaveError as error:
            answers["capture"] = str(error)
        try:
            check_outputs({"--csv": folder / "take.csv"}, [])
        except OutputError as error:
            answers["csv"] = str(error)
        try:
            claim_run_paths(folder / "run", "live", (".mp4", ".csv"))
        except OutputError as error:
            answers["run"] = str(error)
        answers["left"] = sorted(os.listdir(folder))
        return answers

    try:
        answers = run_unprivileged(attempt)
    finally:
        remove(folder)
    assert answers["uid"] != 0
    assert answers["capture"] == f"{folder} cannot be written to (Permission denied); choose another folder."
    assert answers["csv"].endswith(f"{folder} is not writable; choose another folder.")
    assert "cannot be written to (Permission denied)" in answers["run"]
    assert answers["left"] == []
