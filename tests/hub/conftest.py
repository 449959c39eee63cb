"""The hub's tests run on a real PostgreSQL server: one throwaway cluster per pytest
worker (``focuslock.testing.postgres``: initdb in a temporary folder, listening on a free
loopback port), a new database for each test. ``scripts/test_tools.py`` installs the
server on a fresh machine; nothing here is skipped without it."""

from __future__ import annotations

import pytest

from focuslock.testing.postgres import PostgresCluster


@pytest.fixture(scope="session")
def postgres_cluster():
    """The worker's PostgreSQL cluster, stopped and removed at the end of the session
    (also after failures: the context manager's exit runs whatever happened)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def hub_url(postgres_cluster) -> str:
    """A fresh, empty database on the worker's cluster: ``postgresql://postgres@127.0.0.1:PORT/DB``."""
    if not postgres_cluster.is_running():  # a test that stopped or killed the server and failed before starting it
        postgres_cluster.start()
    return postgres_cluster.create_database()
