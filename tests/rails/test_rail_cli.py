"""The rail commands as a user runs them, against a GRBL board on a pseudo-terminal (it
stands in for a rail's controller no test machine has; the profile names the pty as it
would name /dev/ttyUSB0) and the simulated bench (a body's live view)."""

from __future__ import annotations

import json

import pytest

from focuslock.cli import main
from focuslock.testing.grbl_responder import GrblResponder


@pytest.fixture
def grbl_profile(tmp_path):
    responder = GrblResponder(travel_mm=(-50.0, 50.0))
    path = responder.start()
    profile = tmp_path / "bench-grbl.toml"
    profile.write_text(f'name = "bench GRBL rail"\nkind = "rail"\nbackend = "gcode"\nport = "{path}"\n'
                       'travel_min = -5000.0\ntravel_max = 5000.0\nmax_move = 2000.0\nmax_speed = 1000.0\nbacklash = 20.0\n')
    yield responder, profile
    responder.close()


def test_rail_status_move_and_unlock(grbl_profile, capsys):
    responder, profile = grbl_profile
    assert main(["rail", "move", "--rail", str(profile), "--by", "250", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["position"] == pytest.approx(250.0, abs=0.5)
    assert responder.position[2] == pytest.approx(0.25)
    # Beyond the profile's longest move: refused before a byte is sent, in one sentence.
    sent = len(responder.lines)
    assert main(["rail", "move", "--rail", str(profile), "--by", "2500"]) != 0
    err = capsys.readouterr().err
    assert "longer than the longest allowed" in err and len(err.strip().splitlines()) == 1
    assert not any(line.startswith("G1") for line in responder.lines[sent:])
    assert responder.unlocks == 0
    assert main(["rail", "unlock", "--rail", str(profile)]) == 0
    assert responder.unlocks == 1


def test_an_alarm_mid_stack_from_the_command_line_keeps_every_frame(grbl_profile, tmp_path, capsys):
    responder, profile = grbl_profile
    responder.alarm_on_move = 6
    code = main(["stack-shoot", "--source", "sim", "--magnification", "2", "--capture-width-px", "200", "--rail",
                 str(profile), "--near-um", "0", "--far-um", "1500", "--out", str(tmp_path / "stack"), "--no-check"])
    captured = capsys.readouterr()
    assert code == 1
    assert "alarm 1: a limit switch was hit" in captured.err and "Traceback" not in captured.err
    manifest = json.loads((tmp_path / "stack" / "stack.json").read_text())
    files = [name for s in manifest["slices"] for name in s["files"]]
    assert files and all((tmp_path / "stack" / name).exists() for name in files)
    assert manifest["stopped"].startswith("bench GRBL rail stopped with alarm 1")
    assert responder.unlocks == 0
