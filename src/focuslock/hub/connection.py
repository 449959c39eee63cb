"""Reaching the hub: a PostgreSQL URL opened with psycopg 3 (imported here, lazily, so that
``focuslock --help`` never loads it), its errors as one sentence (:class:`HubError`,
the URL's password never in it), and the schema's version: created or migrated by
:func:`migrate` (``focuslock hub init``), checked by :func:`open_hub` for everyone else.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING

from focuslock import __version__
from focuslock.core.errors import FocuslockError
from focuslock.hub.schema import HUB_SCHEMA_VERSION, MIGRATIONS

if TYPE_CHECKING:
    import psycopg

__all__ = ["HubError", "HubUnreachable", "connect", "describe_url", "hub_version", "migrate", "open_hub", "reading"]

log = logging.getLogger(__name__)

# Any number: the advisory lock two `hub init` runs take so that one migrates at a time.
_MIGRATION_LOCK = 0x666F63757368
CONNECT_TIMEOUT_S = 10


class HubError(FocuslockError):
    """The hub cannot be used as asked; ``str()`` is one sentence for the user."""


class HubUnreachable(HubError):
    """The hub's server cannot be reached (down, network gone): a station keeps shooting."""


def describe_url(url: str) -> str:
    """The URL as it may be shown: user, host, port and database; never the password."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "localhost"
        where = f"{host}:{parts.port}" if parts.port else host
        user = f"{parts.username}@" if parts.username else ""
        return f"postgresql://{user}{where}{parts.path}"
    except ValueError:
        return "the hub"


def _check_url(url: str) -> None:
    if not url.startswith(("postgresql://", "postgres://")):
        raise HubError(f"The hub is given as a PostgreSQL URL, postgresql://USER@HOST:PORT/DATABASE, not {url[:80]!r}.")


def connect(url: str, *, autocommit: bool = False, timeout_s: float = CONNECT_TIMEOUT_S) -> psycopg.Connection:
    """A connection to the hub (no schema check); :class:`HubUnreachable` when the server
    cannot be reached, :class:`HubError` when it refuses us."""
    _check_url(url)
    import psycopg

    try:
        # Keepalives and a user timeout: a hub whose network went (a cable pulled, no RST) is
        # noticed in about half a minute instead of hanging a sync for good.
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=max(1, round(timeout_s)),
                               application_name="focuslock", keepalives=1, keepalives_idle=10, keepalives_interval=5,
                               keepalives_count=3, tcp_user_timeout=30_000)
    except psycopg.OperationalError as error:
        raise _connection_error(error, url) from None


def _connection_error(error: Exception, url: str) -> HubError:
    text = _first_line(error)
    where = describe_url(url)
    if "does not exist" in text:
        return HubError(f"The hub {where} has no such database or user ({text}); create it first (README: the hub).")
    if "password" in text or "authentication" in text:
        return HubError(f"The hub {where} refused the login ({text}); check the user and password.")
    return HubUnreachable(f"The hub {where} cannot be reached ({text}).")


def _no_rights(error: Exception, url: str) -> HubError:
    """The hub answered, but this login may not read (or create) its tables."""
    user = urllib.parse.urlsplit(url).username or "of this login"
    return HubError(f"The hub {describe_url(url)} is reached, but the user {user} may not read the hub's tables "
                    f"({_first_line(error)}); grant it the rights (README: the hub).")


@contextlib.contextmanager
def reading(url: str) -> Iterator[None]:
    """Queries on the hub at ``url`` inside: a login without rights, or a hub gone, as one sentence."""
    import psycopg

    try:
        yield
    except psycopg.errors.InsufficientPrivilege as error:
        raise _no_rights(error, url) from None
    except psycopg.OperationalError as error:
        raise _connection_error(error, url) from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def hub_version(connection: psycopg.Connection) -> int:
    """The schema version the hub's database is at (0: nothing of focuslock in it)."""
    exists = connection.execute("SELECT to_regclass('hub_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = connection.execute("SELECT COALESCE(MAX(version), 0) FROM hub_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(url: str) -> tuple[int, int]:
    """Create or bring the hub's schema up to date: (the version before, the version now).
    Each migration in its own transaction, under an advisory lock; a hub from a newer
    focuslock is refused."""
    import psycopg

    connection = connect(url, autocommit=True)  # each `transaction()` below is a transaction of its own
    try:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            connection.execute("""CREATE TABLE IF NOT EXISTS hub_schema (
                version integer PRIMARY KEY, applied_utc timestamptz NOT NULL DEFAULT now(), focuslock text NOT NULL)""")
        before = hub_version(connection)
        _refuse_newer(before, url)
        for number in range(before, HUB_SCHEMA_VERSION):
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                if hub_version(connection) > number:  # another `hub init` did it meanwhile
                    continue
                connection.execute(MIGRATIONS[number].encode())  # several statements: sent as one simple query
                connection.execute("INSERT INTO hub_schema (version, focuslock) VALUES (%s, %s)", (number + 1, __version__))
            log.info("hub %s: schema migrated to version %d", describe_url(url), number + 1)
        return before, hub_version(connection)
    except psycopg.errors.InsufficientPrivilege as error:
        raise HubError(f"The hub {describe_url(url)} refused to create focuslock's tables ({_first_line(error)}); "
                       "give the user CREATE rights on the database (README: the hub).") from None
    except psycopg.OperationalError as error:
        raise _connection_error(error, url) from None
    finally:
        connection.close()


def _refuse_newer(version: int, url: str) -> None:
    if version > HUB_SCHEMA_VERSION:
        raise HubError(f"The hub {describe_url(url)} was set up by a newer focuslock (schema {version}, this one knows "
                       f"{HUB_SCHEMA_VERSION}); update focuslock on this machine.")


def open_hub(url: str, *, autocommit: bool = False, timeout_s: float = CONNECT_TIMEOUT_S) -> psycopg.Connection:
    """A connection to a hub whose schema is this focuslock's: refused in one sentence when
    it was never initialised, is older (``focuslock hub init`` brings it up) or newer."""
    import psycopg

    connection = connect(url, autocommit=autocommit, timeout_s=timeout_s)
    try:
        version = hub_version(connection)
        if not autocommit:
            connection.rollback()
    except psycopg.errors.InsufficientPrivilege as error:
        connection.close()
        raise _no_rights(error, url) from None
    except Exception as error:
        connection.close()
        raise _connection_error(error, url) from None
    try:
        _refuse_newer(version, url)
        if version == 0:
            raise HubError(f"The hub {describe_url(url)} has no focuslock schema yet; run focuslock hub init {describe_url(url)}.")
        if version < HUB_SCHEMA_VERSION:
            raise HubError(f"The hub {describe_url(url)} is at schema {version}, this focuslock needs {HUB_SCHEMA_VERSION}; "
                           f"run focuslock hub init {describe_url(url)} to bring it up to date.")
    except HubError:
        connection.close()
        raise
    return connection
