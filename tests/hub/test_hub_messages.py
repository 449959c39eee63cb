"""What the hub's commands say to a user, on a real PostgreSQL: a login without rights is
reached (not "cannot be reached"), ``hub init`` without CREATE rights is one sentence
(not PostgreSQL's LINE 1 and caret), and ``hub serve`` says once that the hub is away and
once that it is back (a real uvicorn on a loopback port, the real server stopped and
started)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import psycopg

from focuslock.cli import main
from tests.hub.qc_support import wait_for


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


def test_hub_serve_says_away_once_and_back_once_and_a_wildcard_host_names_real_addresses(hub_url, postgres_cluster,
                                                                                        tmp_path):
    """``hub serve --host 0.0.0.0`` as a process; the hub's real PostgreSQL stopped for
    several of the feed's tries, then started again."""
    assert main(["hub", "init", hub_url]) == 0
    process = subprocess.Popen([sys.executable, "-m", "focuslock", "hub", "serve", hub_url, "--host", "0.0.0.0",
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "FOCUSLOCK_CONFIG_DIR": str(tmp_path / "config")})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("on a tablet open" in line for line in lines), what="the addresses")
        said = next(line for line in lines if "on a tablet open" in line)
        assert "0.0.0.0" not in said and "http://" in said, said
        postgres_cluster.stop()
        wait_for(lambda: any("cannot be reached" in line or "went away" in line for line in lines), what="away")
        time.sleep(6)  # the feed tries again after 1, 2 and 4 s: each try fails
        postgres_cluster.start()
        wait_for(lambda: any("is back" in line for line in lines), what="back")
        away = [line for line in lines if "cannot be reached" in line or "went away" in line]
        assert len(away) == 1, lines
        assert len([line for line in lines if "is back" in line]) == 1, lines
    finally:
        if not postgres_cluster.is_running():
            postgres_cluster.start()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
