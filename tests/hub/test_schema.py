"""The hub's schema on a real PostgreSQL server: ``focuslock hub init`` creates it and
says its version, runs again as a no-op, refuses a hub from a newer focuslock in one
sentence; a shot sent twice is one row; every new shot is announced on
``focuslock_shots`` (LISTEN/NOTIFY)."""

from __future__ import annotations

import json

import psycopg
import pytest

from focuslock.cli import main
from focuslock.hub.connection import HubError, migrate, open_hub
from focuslock.hub.schema import HUB_SCHEMA_VERSION, NOTIFY_CHANNEL


def test_init_creates_then_leaves_the_schema_as_it_is(hub_url, capsys):
    assert main(["hub", "init", hub_url]) == 0
    said = capsys.readouterr().out
    assert f"created, schema version {HUB_SCHEMA_VERSION}" in said
    assert "postgres@127.0.0.1" in said
    assert main(["hub", "init", hub_url]) == 0
    assert f"schema version {HUB_SCHEMA_VERSION}, already up to date" in capsys.readouterr().out
    with psycopg.connect(hub_url) as connection:
        tables = {row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        versions = connection.execute("SELECT version FROM hub_schema ORDER BY version").fetchall()
    assert {"stations", "sessions", "shots", "shot_files", "feature_verdicts", "shot_list", "sku_sequences",
            "sku_numbers", "hub_schema"} <= tables
    assert [v for (v,) in versions] == list(range(1, HUB_SCHEMA_VERSION + 1))


def test_a_hub_from_a_newer_focuslock_is_refused_in_one_sentence(hub_url, capsys):
    migrate(hub_url)
    with psycopg.connect(hub_url) as connection:
        connection.execute("INSERT INTO hub_schema (version, focuslock) VALUES (%s, '99.0')", (HUB_SCHEMA_VERSION + 1,))
    assert main(["hub", "init", hub_url]) == 1
    error = capsys.readouterr().err
    assert "newer focuslock" in error and "Traceback" not in error and error.count("\n") == 1
    with pytest.raises(HubError, match="newer focuslock"):
        open_hub(hub_url)


def test_a_database_never_initialised_is_refused_by_a_station(hub_url):
    with pytest.raises(HubError, match="hub init"):
        open_hub(hub_url)


def test_an_unreachable_hub_is_one_sentence(postgres_cluster, capsys):
    url = f"postgresql://postgres@127.0.0.1:{postgres_cluster.port}/nowhere_db"
    assert main(["hub", "init", url]) == 1
    assert "no such database" in capsys.readouterr().err


def test_a_shot_sent_twice_is_one_row_and_one_notification(hub_url):
    migrate(hub_url)
    with psycopg.connect(hub_url, autocommit=True) as listener, psycopg.connect(hub_url) as station:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        station.execute("INSERT INTO stations (id, name, number) VALUES ('st-a', 'bench A', 1)")
        station.execute("INSERT INTO sessions (station_id, session_key, name, created_utc) VALUES ('st-a', 'k1', 'day1', now())")
        for _ in range(2):
            station.execute(
                "INSERT INTO shots (station_id, session_key, sequence, logged_utc, name, verdict) VALUES "
                "('st-a', 'k1', 1, now(), 'A123_0001', 'soft') ON CONFLICT DO NOTHING")
            station.commit()
        rows = station.execute("SELECT name, verdict FROM shots").fetchall()
        notes = [json.loads(n.payload) for n in listener.notifies(timeout=2.0, stop_after=5)]
    assert rows == [("A123_0001", "soft")]
    assert len(notes) == 1
    assert notes[0] | {"id": None} == {"id": None, "station": "st-a", "session": "k1", "sequence": 1, "verdict": "soft"}
