"""The rail commands as a user runs them, against a GRBL board on a pseudo-terminal (it
stands in for a rail's controller no test machine has; the profile names the pty as it
would name /dev/ttyUSB0) and the simulated bench (a body's live view)."""

from __future__ import annotations

import json

import pytest

from focuslock.cli import main
from focuslock.testing.grbl_responder import GrblResponder
from focuslock.testing.http_rail_server import HttpRailServer


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
    assert ".." not in captured.err  # one full stop between the reason and what was saved
    manifest = json.loads((tmp_path / "stack" / "stack.json").read_text())
    files = [name for s in manifest["slices"] for name in s["files"]]
    assert files and all((tmp_path / "stack" / name).exists() for name in files)
    assert manifest["stopped"].startswith("bench GRBL rail stopped with alarm 1")
    assert responder.unlocks == 0


def _http_profile(tmp_path, url: str, **extra) -> str:
    profile = tmp_path / "http-rail.toml"
    lines = [f'name = "bench HTTP rail"\nbackend = "http"\nurl = "{url}"\ntravel_min = -1000.0\ntravel_max = 1000.0\n'
             'max_move = 500.0\nmax_speed = 1000.0\n'] + [f"{key} = {value!r}\n".replace("'", '"') for key, value in extra.items()]
    profile.write_text("".join(lines))
    return str(profile)


def test_repeated_rail_moves_cannot_walk_past_the_travel_over_http(tmp_path, capsys):
    """Stands in for an ESP32 rail (docs/RAIL-HTTP.md on a loopback port) that keeps its
    position between runs, as a board does: the travel holds across runs, counted from the
    position the board reports, never from 0 at each run."""
    server = HttpRailServer(position=250.0, travel=(-50000.0, 50000.0))
    profile = _http_profile(tmp_path, server.start())
    try:
        assert main(["rail", "move", "--rail", profile, "--by", "500", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["position"] == pytest.approx(750.0)
        for _ in range(3):
            assert main(["rail", "move", "--rail", profile, "--by", "500"]) == 1
            err = capsys.readouterr().err
            assert "reports +750 µm" in err and "would end at +1250 µm" in err and len(err.strip().splitlines()) == 1
        assert server.position == pytest.approx(750.0) and server.moves == [500.0]
    finally:
        server.close()


def test_repeated_rail_moves_cannot_walk_past_the_travel_on_grbl(tmp_path, capsys):
    """Stands in for a GRBL board on a pseudo-terminal that keeps its machine position
    between runs: two runs of +450 µm reach +900, the third is refused before a byte moves."""
    responder = GrblResponder(travel_mm=(-50.0, 50.0))
    path = responder.start()
    profile = tmp_path / "grbl.toml"
    profile.write_text(f'name = "bench GRBL rail"\nbackend = "gcode"\nport = "{path}"\ntravel_min = -1000.0\n'
                       'travel_max = 1000.0\nmax_move = 500.0\nmax_speed = 1000.0\n')
    try:
        for _ in range(2):
            assert main(["rail", "move", "--rail", str(profile), "--by", "450"]) == 0
        capsys.readouterr()
        assert main(["rail", "move", "--rail", str(profile), "--by", "450"]) == 1
        assert "reports +900 µm" in capsys.readouterr().err
        assert responder.position[2] == pytest.approx(0.9)
        # Back towards zero is allowed.
        assert main(["rail", "move", "--rail", str(profile), "--by", "-450"]) == 0
        assert responder.position[2] == pytest.approx(0.45)
    finally:
        responder.close()


@pytest.mark.parametrize("far_um", ["5000", "50000"])
def test_a_stack_beyond_the_rails_travel_is_refused_before_the_first_move(tmp_path, capsys, far_um):
    """The simulated bench (it stands in for a body and a rail's motor): a plan whose far end
    lies beyond the rail's travel shoots nothing and says how far the rail may go."""
    profile = tmp_path / "small.toml"
    profile.write_text('name = "small rail"\nbackend = "sim"\ntravel_min = -20000.0\ntravel_max = 2000.0\n'
                       'max_move = 5000.0\nmax_speed = 2000.0\nbacklash = 40.0\n')
    out = tmp_path / "stack"
    code = main(["stack-shoot", "--source", "sim", "--rail", str(profile), "--near-um", "0", "--far-um", far_um,
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "frames" not in captured.out
    assert "The stack was not started" in captured.err and "beyond its travel (-20000 to +2000 µm)" in captured.err
    assert "--far-um at 2000 or less" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_a_zoom_too_fine_for_the_bench_is_refused_in_one_sentence(tmp_path, capsys):
    """The simulated bench (it stands in for a body's live view) at 4× zoomed 10×: its scene
    cannot be drawn that finely; the user reads why and what to change, never OpenCV's assertion."""
    code = main(["stack-shoot", "--source", "sim", "--magnification", "4", "--capture-width-px", "1024", "--rail",
                 "sim-rail", "--near-um", "0", "--far-um", "200", "--live-view-zoom", "10", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1 and "cannot zoom live view 10× at magnification 4" in err and "zoom less" in err
    assert "OpenCV" not in err and len(err.strip().splitlines()) == 1


def test_a_rail_stacks_header_gives_the_real_step_and_does_not_claim_it_measured(tmp_path, capsys):
    """The simulated bench (it stands in for a body's live view and a rail's motor): at 2×
    the plan allows 169 µm, the slices of 0–300 µm are 150 µm apart; the header says 150 and
    that each step is checked (it may not be measurable); steps live view could not tell are
    counted at the end."""
    code = main(["stack-shoot", "--source", "sim", "--magnification", "2", "--capture-width-px", "200", "--rail",
                 "sim-rail", "--near-um", "0", "--far-um", "300", "--out", str(tmp_path / "s"), "--no-check"])
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert code == 0, out
    assert header.startswith("3 frames on Simulated bench rail, one every 150 µm")
    assert "each step checked on live view" in header and "measured" not in header
    steps = [line for line in out.splitlines() if line.startswith("step to frame")]
    untold = [line for line in steps if "cannot tell" in line]
    if untold:
        assert f"{len(steps) - len(untold)} of {len(steps)} step(s) measured; {len(untold)} step(s) could not be told" in out


def test_a_move_beyond_max_move_is_refused_before_the_port_is_opened(tmp_path, capsys):
    """No controller at all: the limit is told, not that the port is missing."""
    profile = tmp_path / "gone.toml"
    profile.write_text(f'backend = "gcode"\nport = "{tmp_path / "ttyGONE"}"\ntravel_min = -10000.0\ntravel_max = 10000.0\n'
                       'max_move = 500.0\nmax_speed = 100.0\n')
    assert main(["rail", "move", "--rail", str(profile), "--by", "5000"]) == 1
    err = capsys.readouterr().err
    assert "longer than the longest allowed (500 µm)" in err and "ttyGONE" not in err


def test_http_rail_tells_a_wrong_token_from_none_and_names_its_variable(tmp_path, capsys, monkeypatch):
    """Stands in for an ESP32 rail with a token (docs/RAIL-HTTP.md on a loopback port)."""
    server = HttpRailServer(token="s3cret")
    profile = _http_profile(tmp_path, server.start(), token_env="BENCH_RAIL_TOKEN")
    try:
        monkeypatch.delenv("BENCH_RAIL_TOKEN", raising=False)
        assert main(["rail", "status", "--rail", profile]) == 1
        none = capsys.readouterr().err
        assert "none was sent" in none and "$BENCH_RAIL_TOKEN is not set" in none
        monkeypatch.setenv("BENCH_RAIL_TOKEN", "wrong")
        assert main(["rail", "status", "--rail", profile]) == 1
        wrong = capsys.readouterr().err
        assert "refused the token in $BENCH_RAIL_TOKEN" in wrong
        monkeypatch.setenv("BENCH_RAIL_TOKEN", "s3cret")
        assert main(["rail", "status", "--rail", profile]) == 0
    finally:
        server.close()


def test_rail_status_in_alarm_says_alarm_first_and_fails(tmp_path, capsys):
    """Stands in for an ESP32 rail whose end-stop switch was hit: status says ALARM first and
    exits 1 (JSON too, with the alarm); unlock says what to do, as HTTP has no unlock."""
    server = HttpRailServer(position=50.0, alarm="the end-stop switch was hit")
    profile = _http_profile(tmp_path, server.start())
    try:
        assert main(["rail", "status", "--rail", profile]) == 1
        out = capsys.readouterr().out
        assert out.startswith("ALARM: bench HTTP rail: the end-stop switch was hit")
        assert main(["rail", "status", "--rail", profile, "--json"]) == 1
        assert json.loads(capsys.readouterr().out)["alarm"] == "the end-stop switch was hit"
        assert main(["rail", "unlock", "--rail", profile]) == 1
        err = capsys.readouterr().err
        assert "cannot clear an alarm from here" in err and "on the controller itself" in err
    finally:
        server.close()


def test_check_steps_without_a_rail_zooms_live_view_and_measures_its_steps(tmp_path, capsys):
    """The simulated bench (it stands in for a body's live view and lens drive): --live-view-zoom
    applies to a lens-driven checked stack too; unzoomed at 1× its 400 µm steps are too fine
    to read, zoomed 5× they are measured."""
    code = main(["stack-shoot", "--source", "sim", "--magnification", "1", "--capture-width-px", "400", "--check-steps",
                 "--step-um", "25", "--near-steps", "24", "--far-steps", "24", "--live-view-zoom", "5",
                 "--out", str(tmp_path / "s"), "--no-check"])
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("step to frame")]
    assert code == 0 and len(steps) == 3, out
    assert "each step checked on live view" in out.splitlines()[0]
    assert not any("too little to measure" in line for line in steps), out
    assert any("moved as planned" in line for line in steps), out


def test_a_stack_needing_a_move_longer_than_the_rails_longest_is_refused_before_it_starts(tmp_path, capsys):
    """The simulated bench: going back 8000 µm to the near end (max_move 5000) is refused whole."""
    code = main(["stack-shoot", "--source", "sim", "--rail", "sim-rail", "--near-um", "8000", "--far-um", "100",
                 "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1 and "The stack was not started" in err and "longest move (5000 µm)" in err
    assert "8080 µm" in err and not (tmp_path / "s").exists()
