"""What the hub's commands say to a user, on a real PostgreSQL: a login without rights is
reached (not "cannot be reached"), ``hub init`` without CREATE rights is one sentence
(not PostgreSQL's LINE 1 and caret), and ``hub serve`` says once that the hub is away and
once that it is back (a real uvicorn on a loopback port, the real server stopped and
started)."""

from __future__ import annotations

import urllib.parse

import psycopg

from focuslock.cli import main


def _as(url: str, user: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


def test_a_login_without_rights_is_reached_and_init_without_create_is_one_sentence(hub_url, capsys):
    assert main(["hub", "init", hub_url]) == 0
    with psycopg.connect(hub_url, autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS nobody_here")  # roles are the cluster's: one per test run
        connection.execute("CREATE ROLE nobody_here LOGIN")
        connection.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        capsys.readouterr()
        assert main(["hub", "status", _as(hub_url, "nobody_here")]) == 1
        err = capsys.readouterr().err
        assert "is reached, but the user nobody_here may not read the hub's tables" in err, err
        assert "cannot be reached" not in err
        with psycopg.connect(hub_url, autocommit=True) as connection:
            connection.execute("DROP TABLE hub_schema CASCADE")
        assert main(["hub", "init", _as(hub_url, "nobody_here")]) == 1
        err = capsys.readouterr().err
        assert "refused to create focuslock's tables" in err and "LINE 1" not in err and "^" not in err, err
        assert len(err.strip().splitlines()) == 1, err
    finally:
        with psycopg.connect(hub_url, autocommit=True) as connection:
            connection.execute("DROP OWNED BY nobody_here")
            connection.execute("DROP ROLE nobody_here")
