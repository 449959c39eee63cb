"""Stations shooting into one hub: real ``focuslock watch`` processes (a hot folder stands
in for a tethered body: no test machine has one), a real PostgreSQL server stopped and
killed, stations killed with SIGKILL. What must hold: every shot of every station's log
is on the hub once, whole (its files and feature verdicts), row for row, whatever was
stopped or killed when."""

from __future__ import annotations

import random
import signal
import subprocess
import sys

from tests.hub.stations import (
    hub_count,
    hub_rows,
    local_rows,
    logged_count,
    pictures,
    run,
    session_key,
    station_env,
    wait_until,
    watch_command,
)


def test_two_stations_send_every_shot_once(hub_url, tmp_path):
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    for name in ("A", "B"):
        pictures(tmp_path / f"hot-{name}", name, 6)
    processes = [subprocess.Popen(watch_command(tmp_path / f"hot-{name}", tmp_path / f"s-{name}", hub_url, name),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=station_env(tmp_path / f"cfg-{name}")) for name in ("A", "B")]
    for process in processes:  # both at once, into one hub
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    for name in ("A", "B"):
        local = local_rows(tmp_path / f"s-{name}")
        assert len(local) == 6 and {row[2] for row in local} == {"pass", "soft"}
        assert hub_rows(hub_url, name, session_key(tmp_path / f"s-{name}")) == local
    # Run again: nothing new is logged, nothing is sent twice.
    again = run(watch_command(tmp_path / "hot-A", tmp_path / "s-A", hub_url, "A"), station_env(tmp_path / "cfg-A"))
    assert again.returncode == 0, again.stderr
    assert hub_count(hub_url) == 12


def test_a_station_keeps_shooting_while_the_hub_is_stopped_and_sends_everything_when_it_is_back(
        postgres_cluster, hub_url, tmp_path):
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    hot, session = tmp_path / "hot", tmp_path / "session"
    pictures(hot, "IMG", 3)
    station = subprocess.Popen(watch_command(hot, session, hub_url, "bench", once=False), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=station_env(tmp_path / "cfg"))
    try:
        wait_until(lambda: hub_count(hub_url) == 3, "the first three shots on the hub")
        postgres_cluster.stop()
        try:
            pictures(hot, "IMG", 4, start=3)  # shot while the hub is away
            wait_until(lambda: logged_count(session) == 7, "the station to log the shots taken while the hub is away")
        finally:
            postgres_cluster.start()
        wait_until(lambda: hub_count(hub_url) == 7, "the shots taken while the hub was away, on the hub")
    finally:
        station.send_signal(signal.SIGTERM)
        out, err = station.communicate(timeout=120)
    assert station.returncode == 0, err
    assert hub_rows(hub_url, "bench", session_key(session)) == local_rows(session)
    # Said once when the hub went, once when it came back; never a traceback.
    assert err.count("went away") == 1 and err.count("is back;") == 1 and "Traceback" not in err, err


def test_stations_and_the_hub_killed_at_random_points_lose_nothing_and_send_nothing_twice(
        postgres_cluster, hub_url, tmp_path):
    """SIGKILL of the station (``watch --once`` on a folder of 24 pictures) and of the hub's
    postmaster with its backends, at points drawn from a fixed seed; then one clean run."""
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    hot, session = tmp_path / "hot", tmp_path / "session"
    shots = 24
    pictures(hot, "IMG", shots)
    command = watch_command(hot, session, hub_url, "bench")
    rng = random.Random(20261207)
    kills = {"station": 0, "hub": 0}
    for round_ in range(10):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=station_env(tmp_path / "cfg"))
        for _ in range(rng.randint(1, 4)):  # let it log (and send) a few shots
            if not process.stdout.readline():
                break
        if round_ % 2:  # the hub crashes mid-sync, then comes back; the station goes on
            postgres_cluster.kill()
            kills["hub"] += 1
            postgres_cluster.start()
            for _ in range(rng.randint(0, 2)):
                if not process.stdout.readline():
                    break
        process.send_signal(signal.SIGKILL)
        process.communicate()
        kills["station"] += process.returncode == -signal.SIGKILL
        if logged_count(session) == shots:
            break
    finished = run(command, station_env(tmp_path / "cfg"))
    assert finished.returncode == 0, finished.stderr
    assert kills["station"] >= 2 and kills["hub"] >= 1
    local = local_rows(session)
    assert sorted(row[1] for row in local) == [f"IMG_{i:03d}.JPG" for i in range(shots)]
    # Row by row: every logged shot on the hub, once, whole.
    assert hub_rows(hub_url, "bench", session_key(session)) == local
    assert hub_count(hub_url) == shots


def test_a_hub_without_focuslock_s_schema_is_refused_before_anything_is_shot(hub_url, tmp_path):
    pictures(tmp_path / "hot", "IMG", 2)
    station = run(watch_command(tmp_path / "hot", tmp_path / "session", hub_url, "bench"), station_env(tmp_path / "cfg"))
    assert station.returncode == 1
    assert "has no focuslock schema yet; run focuslock hub init" in station.stderr and "Traceback" not in station.stderr
    assert station.stderr.count("\n") == 1
    assert not (tmp_path / "session").exists()  # nothing was judged nor logged


def test_a_session_shot_without_a_hub_sends_its_earlier_shots_when_it_is_given_one(hub_url, tmp_path):
    """A station that started the day offline (no --hub): the same session opened later
    with --hub puts every earlier shot in the outbox and sends it."""
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    hot, session = tmp_path / "hot", tmp_path / "session"
    pictures(hot, "IMG", 4)
    without = [arg for arg in watch_command(hot, session, hub_url, "bench")]
    without = without[:without.index("--hub")] + without[without.index("--station") + 2:]
    assert run(without, station_env(tmp_path / "cfg")).returncode == 0
    assert hub_count(hub_url) == 0 and logged_count(session) == 4
    pictures(hot, "IMG", 2, start=4)
    assert run(watch_command(hot, session, hub_url, "bench"), station_env(tmp_path / "cfg")).returncode == 0
    assert hub_rows(hub_url, "bench", session_key(session)) == local_rows(session) and hub_count(hub_url) == 6


def test_a_log_edited_outside_focuslock_still_reaches_the_hub_as_what_it_is(hub_url, tmp_path):
    """A NUL in a name (PostgreSQL refuses NUL in text) and a verdict focuslock never writes:
    sent as U+FFFD and as UNCERTAIN with the reason, never blocking the shots after them."""
    import sqlite3

    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    hot, session = tmp_path / "hot", tmp_path / "session"
    pictures(hot, "IMG", 3)
    without = watch_command(hot, session, hub_url, "bench")
    without = without[:without.index("--hub")] + without[without.index("--station") + 2:]
    assert run(without, station_env(tmp_path / "cfg")).returncode == 0
    database = sqlite3.connect(session / "focuslock-session.sqlite")
    database.execute("PRAGMA ignore_check_constraints = ON")
    database.execute("UPDATE shots SET name = 'IMG' || char(0) || 'edited', verdict = 'great' WHERE sequence = 1")
    database.commit()
    database.close()
    station = run(watch_command(hot, session, hub_url, "bench"), station_env(tmp_path / "cfg"))
    assert station.returncode == 0, station.stderr
    import psycopg

    with psycopg.connect(hub_url) as connection:
        rows = connection.execute("SELECT sequence, name, verdict, reason FROM shots ORDER BY sequence").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] == "IMG\ufffdedited" and rows[0][2] == "uncertain" and "'great'" in rows[0][3]


def test_a_station_without_a_name_keeps_one_id_in_its_config_folder(hub_url, tmp_path):
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    for run_number, config in enumerate(("cfg-1", "cfg-1", "cfg-2")):
        hot = tmp_path / f"hot-{run_number}"
        pictures(hot, f"R{run_number}", 1)
        command = watch_command(hot, tmp_path / f"session-{run_number}", hub_url, "unused")
        command = command[:command.index("--station")] + command[command.index("--station") + 2:]
        assert run(command, station_env(tmp_path / config)).returncode == 0
    import psycopg

    with psycopg.connect(hub_url) as connection:
        stations = connection.execute("SELECT st.number, COUNT(s.*) FROM stations st JOIN shots s ON s.station_id = st.id "
                                      "GROUP BY st.number ORDER BY st.number").fetchall()
    assert stations == [(1, 2), (2, 1)]  # one machine's config folder, one station; another folder, another


def test_a_run_that_ends_with_the_hub_away_says_what_did_not_reach_it(postgres_cluster, hub_url, tmp_path):
    """`watch --once` with the hub stopped logs its shots and ends: its closing words must
    not read as "all on the hub" — it says how many wait in the log for the next run."""
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], station_env(tmp_path / "cfg")).returncode == 0
    hot, session = tmp_path / "hot", tmp_path / "session"
    pictures(hot, "IMG", 2)
    postgres_cluster.stop()
    try:
        done = run(watch_command(hot, session, hub_url, "bench"), station_env(tmp_path / "cfg"))
    finally:
        postgres_cluster.start()
    assert done.returncode == 0, done.stderr
    assert logged_count(session) == 2
    assert "2 shots of" in done.stderr and "did not reach the hub" in done.stderr, done.stderr
    again = run(watch_command(hot, session, hub_url, "bench"), station_env(tmp_path / "cfg"))  # the hub back
    assert again.returncode == 0 and "did not reach the hub" not in again.stderr, again.stderr
    assert hub_count(hub_url) == 2
