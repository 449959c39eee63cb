"""The rail and turntable backends against controllers that stand in for hardware no test
machine has: a GRBL board and a StackShot on pseudo-terminals (the code opens the slave's
path as it opens /dev/ttyUSB0, with termios), and an ESP32-style HTTP rail on a loopback
port. What a user relies on: moves arrive in the controller's units, an alarm or a limit
is one sentence, a move beyond the profile's bounds is never sent, ``$X`` is never sent
unless asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from focuslock.core.resources import data_folder
from focuslock.devices.rails.base import Axis, BoundedStage, Limits, MotionError, StageAlarm, StageLimitError
from focuslock.devices.rails.gcode import GcodeStage, parse_status
from focuslock.devices.rails.http_rail import HttpStage
from focuslock.devices.rails.profile import find_stage_profile, load_stage_profile, open_stage
from focuslock.devices.rails.stackshot import StackShotStage
from focuslock.testing.grbl_responder import GrblResponder
from focuslock.testing.http_rail_server import HttpRailServer
from focuslock.testing.stackshot_responder import StackShotResponder


@pytest.fixture
def grbl():
    responder = GrblResponder(travel_mm=(-5.0, 5.0))
    path = responder.start()
    yield responder, path
    responder.close()


def test_grbl_moves_are_relative_millimetres_and_end_where_asked(grbl):
    """Stands in for a GRBL rail board: three 50 µm moves end 0.150 mm on."""
    responder, path = grbl
    stage = GcodeStage(path, name="test rail")
    try:
        for _ in range(3):
            stage.move(50.0, speed=100.0)
        assert stage.position() == pytest.approx(150.0, abs=0.5)
        assert responder.position[2] == pytest.approx(0.150, abs=1e-6)
        assert "G91" in responder.lines and "G1Z0.0500F6.0" in [line.replace(" ", "") for line in responder.lines]
        assert responder.unlocks == 0
    finally:
        stage.close()


def test_grbl_soft_limit_alarm_is_one_sentence_and_unlock_only_when_asked(grbl):
    """Stands in for a GRBL board with soft limits: the alarm says what happened; $X only on unlock()."""
    responder, path = grbl
    stage = GcodeStage(path, name="test rail")
    try:
        with pytest.raises(StageAlarm, match="alarm 2: the move would leave the machine's travel"):
            stage.move(6000.0)
        with pytest.raises(MotionError, match="error 9"):
            stage.move(10.0)
        assert responder.unlocks == 0
        stage.unlock()
        assert responder.unlocks == 1
        assert stage.move(10.0) == pytest.approx(10.0, abs=0.5)
    finally:
        stage.close()


def test_a_move_beyond_the_profile_is_refused_before_it_is_sent(grbl):
    """Stands in for a GRBL board: the bounds are checked here, the board never sees the move."""
    responder, path = grbl
    stage = BoundedStage(GcodeStage(path, name="test rail"), Limits(-1000.0, 1000.0, 500.0, 200.0))
    try:
        sent = len(responder.lines)
        with pytest.raises(StageLimitError, match="longer than the longest allowed"):
            stage.move(600.0)
        for _ in range(2):
            stage.move(450.0)
        with pytest.raises(StageLimitError, match="outside its travel"):
            stage.move(450.0)
        with pytest.raises(StageLimitError, match="speed"):
            stage.move(10.0, speed=5000.0)
        assert len([line for line in responder.lines[sent:] if line.startswith("G1")]) == 2
    finally:
        stage.close()


def test_marlin_waits_with_m400_and_reads_m114():
    """Stands in for a Marlin board (a 3D-printer controller driving a rail) on a pseudo-terminal."""
    responder = GrblResponder(travel_mm=(-5.0, 5.0), marlin=True)
    path = responder.start()
    stage = GcodeStage(path, name="Marlin rail", flavour="marlin")
    try:
        assert stage.move(250.0) == pytest.approx(250.0, abs=5.0)  # M114 reports 0.01 mm
        assert "M400" in responder.lines and "M114" in responder.lines
        with pytest.raises(StageAlarm, match="Printer halted"):
            stage.move(6000.0)
    finally:
        stage.close()
        responder.close()


def test_status_reports_are_parsed_with_either_position():
    assert parse_status("<Idle|MPos:0.000,1.500,-2.250|FS:0,0>") == ("Idle", (0.0, 1.5, -2.25))
    assert parse_status("<Run|WPos:1.000,0.000,0.050,90.000|FS:100,0>") == ("Run", (1.0, 0.0, 0.05, 90.0))
    assert parse_status("<Hold:0|MPos:0,0,0>") == ("Hold", (0.0, 0.0, 0.0))
    assert parse_status("ok") is None


def test_stackshot_moves_in_motor_steps_and_reports_its_button():
    """Stands in for a Cognisys StackShot on its FTDI port (the framing assumed is in stackshot.py)."""
    responder = StackShotResponder(abort_on_move=3)
    path = responder.start()
    try:
        stage = StackShotStage(path, unit_per_step=1.5875, name="StackShot")
        assert stage.move(100.0) == pytest.approx(63 * 1.5875)
        assert stage.move(-50.0) == pytest.approx((63 - 31) * 1.5875)
        assert responder.moves == [(0, 63.0), (1, 31.0)]
        with pytest.raises(StageAlarm, match="button"):
            stage.move(10.0)
        stage.close()
    finally:
        responder.close()


def test_http_rail_moves_with_its_token_and_reports_an_alarm():
    """Stands in for an ESP32 rail: the HTTP API of docs/RAIL-HTTP.md on a loopback port."""
    server = HttpRailServer(token="s3cret", alarm_on_move=2)
    url = server.start()
    try:
        with pytest.raises(MotionError, match="refused the token"):
            HttpStage(url, name="ESP32 rail", token="wrong")
        stage = HttpStage(url, name="ESP32 rail", token="s3cret")
        assert stage.move(250.0) == pytest.approx(250.0)
        with pytest.raises(StageAlarm, match="end-stop switch"):
            stage.move(250.0)
        with pytest.raises(StageAlarm):
            stage.move(1.0)
        with pytest.raises(MotionError, match="deg"):
            HttpStage(url, name="ESP32 rail", token="s3cret", axis=Axis.TURNTABLE)
    finally:
        server.close()


def test_every_shipped_profile_loads_and_a_bad_one_names_its_field(tmp_path: Path):
    folder = data_folder("drivers/rails")
    profiles = [load_stage_profile(path) for path in sorted(folder.glob("*.toml"))]
    assert {p.backend for p in profiles} == {"sim", "gcode", "stackshot", "http"}
    assert find_stage_profile("grbl-z").gcode_axis == "Z"
    bad = tmp_path / "bad.toml"
    bad.write_text('backend = "gcode"\nport = "/dev/null"\ntravel_min = -1\ntravel_max = 1\nmax_move = "far"\nmax_speed = 1\n')
    with pytest.raises(MotionError, match="bad.toml: 'max_move' must be a number"):
        load_stage_profile(bad)
    with pytest.raises(MotionError, match="No rail profile named 'nope'"):
        find_stage_profile("nope")


def test_a_profile_opens_its_gcode_stage_on_the_port_it_names(grbl, tmp_path: Path):
    """Stands in for a GRBL rail: the profile names the pty as it would name /dev/ttyUSB0."""
    responder, path = grbl
    profile_path = tmp_path / "bench-rail.toml"
    profile_path.write_text(f'name = "bench rail"\nbackend = "gcode"\nport = "{path}"\ntravel_min = -2000.0\n'
                            'travel_max = 2000.0\nmax_move = 1000.0\nmax_speed = 500.0\nbacklash = 20.0\n')
    stage = open_stage(load_stage_profile(profile_path))
    try:
        stage.move(100.0)
        stage.move(-50.0)  # against the approach: past by the backlash, then back up
        assert stage.position() == pytest.approx(50.0, abs=0.5)
        z_moves = [line for line in responder.lines if line.startswith("G1")]
        assert [m.split("F")[0].replace(" ", "") for m in z_moves] == ["G1Z0.1000", "G1Z-0.0700", "G1Z0.0200"]
    finally:
        stage.close()


_GOOD = 'backend = "gcode"\nport = "/dev/null"\ntravel_min = -1000.0\ntravel_max = 1000.0\nmax_move = 500.0\nmax_speed = 100.0\n'


@pytest.mark.parametrize(("text", "said"), [
    (_GOOD + "backlsh = 20.0\n", "'backlsh' is not a field of a rail profile"),
    (_GOOD + "approch = 1\nspeeed = 3\n", "'approch', 'speeed' are not fields"),
    (_GOOD.replace("travel_min = -1000.0\n", ""), "'travel_min' is missing"),
    (_GOOD.replace("-1000.0", "1000.0").replace("travel_max = 1000.0", "travel_max = -1000.0"), "travel must run"),
])
def test_a_profile_error_names_the_file_and_the_field(tmp_path: Path, text: str, said: str):
    """A typo in a profile is named, not ignored; a missing field says missing; every error names the file."""
    path = tmp_path / "typo.toml"
    path.write_text(text)
    with pytest.raises(MotionError) as caught:
        load_stage_profile(path)
    assert str(path) in caught.value.user_message and said in caught.value.user_message
    assert "None" not in caught.value.user_message
