"""The files focuslock keeps for itself or reads from users go through the one strict
reader (core/resources.read_user_file, core/file_kinds.open_regular) and the one atomic
writer (io/files.py): a pipe put in a file's place is never waited on, a write leaves the
old file or the new one."""

from __future__ import annotations

import json
import os

import pytest

from focuslock.io.files import SaveError, move_into_place
from focuslock.session.hotfolder import read_file_once, structure_complete
from focuslock.session.report import written_by_focuslock
from focuslock.ui.settings_store import SettingsStore
from focuslock.workflows.stack_manifest import read_manifest

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def test_the_window_settings_are_written_whole_and_read_back(tmp_path):
    store = SettingsStore(tmp_path / "config" / "window.json")
    store.set("peaking", {"colour": "red"})
    store.save()
    assert [p.name for p in (tmp_path / "config").iterdir()] == ["window.json"]  # no temporary left
    assert SettingsStore(tmp_path / "config" / "window.json").get("peaking") == {"colour": "red"}


@needs_fifo
def test_a_pipe_in_place_of_the_window_settings_is_set_aside_unread(tmp_path):
    path = tmp_path / "window.json"
    os.mkfifo(path)
    store = SettingsStore(path)  # would block for ever on a read that waits for a writer
    assert store.values == {} and (tmp_path / "window.broken.json").exists() and not path.exists()


def test_broken_window_settings_are_set_aside(tmp_path):
    path = tmp_path / "window.json"
    path.write_text("[1, 2")
    assert SettingsStore(path).values == {} and (tmp_path / "window.broken.json").read_text() == "[1, 2"


@needs_fifo
def test_a_pipe_named_stack_json_is_no_manifest_and_never_waited_on(tmp_path):
    os.mkfifo(tmp_path / "stack.json")
    assert read_manifest(tmp_path) is None
    (tmp_path / "stack.json").unlink()
    (tmp_path / "stack.json").write_text(json.dumps({"slices": [{"position_steps": 3, "files": ["a.jpg"]}]}))
    assert read_manifest(tmp_path).positions_steps == {"a.jpg": 3}


@needs_fifo
def test_the_hot_folder_and_the_report_never_wait_on_a_pipe(tmp_path):
    pipe = tmp_path / "shot.jpg"
    os.mkfifo(pipe)
    assert structure_complete(pipe) is False
    assert "not a regular file" in read_file_once(pipe, decode=True).reason
    report = tmp_path / "report.html"
    os.mkfifo(report)
    assert written_by_focuslock(report) is False


def test_a_report_reached_through_a_link_is_not_taken_as_focuslock_s(tmp_path):
    own = tmp_path / "elsewhere.html"
    own.write_text('<meta name="generator" content="focuslock">')
    link = tmp_path / "report.html"
    link.symlink_to(own)
    assert written_by_focuslock(own) is True and written_by_focuslock(link) is False


def test_a_finished_file_is_moved_into_place_durably_or_said_in_one_sentence(tmp_path):
    temporary = tmp_path / ".take.part.mp4"
    temporary.write_bytes(b"video")
    assert move_into_place(temporary, tmp_path / "take.mp4").read_bytes() == b"video" and not temporary.exists()
    with pytest.raises(SaveError) as error:
        move_into_place(tmp_path / "gone.part", tmp_path / "gone.mp4")
    assert str(error.value).count(".") >= 1 and "\n" not in str(error.value)
