"""``focuslock cameras``'s exit status, as a script counts on it (its --help says the rule):
listing the connected bodies and finding none is an answer (0); a ``--source`` that is not
there is an error (1, one sentence on stderr).

Run as a user runs it (a subprocess) with libgphoto2's virtual camera switched off
(no VCAMERADIR): no body is connected, as on a machine with none on USB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from focuslock.cli.camera_cmds import CAMERAS_EXIT_STATUS


def _cameras(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "VCAMERADIR"}
    return subprocess.run([sys.executable, "-m", "focuslock", "cameras", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_help_says_the_exit_status():
    shown = _cameras("--help")
    assert shown.returncode == 0
    assert CAMERAS_EXIT_STATUS in shown.stdout
    assert "none connected is an answer, not an error" in shown.stdout


def test_no_body_connected_is_an_answer_when_listing():
    listed = _cameras()
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("No camera found;") and listed.stderr == ""
    as_json = _cameras("--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == []


def test_a_body_asked_for_and_not_there_is_an_error():
    for args in (("--source", "gphoto2"), ("--source", "gphoto2", "--json"), ("--source", "gphoto2:EOS R5")):
        asked = _cameras(*args)
        assert asked.returncode == 1, (args, asked.stdout, asked.stderr)
        assert asked.stdout == ""
        [sentence] = asked.stderr.splitlines()
        assert sentence.startswith("focuslock: No camera") and "Traceback" not in asked.stderr, sentence
