"""Who may use the server: everyone on loopback; elsewhere only the bearer of the token.

* Bound to 127.0.0.1, ::1 or localhost no token is asked (only this computer's programs
  reach the port). Bound to any other address every request needs the token:
  ``Authorization: Bearer TOKEN``, or the cookie the page's login sets (a browser cannot
  put a header on an ``<img>`` or a WebSocket).
* The token is made on first use (``secrets.token_urlsafe``, 256 bits) in the user's
  config folder (``serve-token``; ``FOCUSLOCK_CONFIG_DIR`` moves it) or ``--token-file``,
  created exclusively with mode 0600; a token file others can read is refused.
* Compared with ``hmac.compare_digest``. A refused request gets 401 before any handler
  runs: it changes nothing.
* The cookie holds an HMAC of the token, not the token; ``HttpOnly``, ``SameSite=Strict``.
  A WebSocket from a page of another origin is refused (the cookie would go with it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.core.resources import user_config_folder

__all__ = ["COOKIE", "LOOPBACK_HOSTS", "Access", "TokenError", "is_loopback", "load_or_make_token"]

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
COOKIE = "focuslock_token"
TOKEN_FILE_NAME = "serve-token"
_MAX_TOKEN_FILE_BYTES = 4096


class TokenError(FocuslockError):
    """The token file cannot be made or used; ``user_message`` says why."""


def is_loopback(host: str) -> bool:
    """True for the three names of this computer alone that need no token."""
    return host.strip().lower().strip("[]") in LOOPBACK_HOSTS


def load_or_make_token(path: Path | None = None) -> tuple[str, Path]:
    """The token in ``path`` (default: the config folder's ``serve-token``), made there
    with mode 0600 when the file does not exist; and the file's path."""
    path = Path(path) if path is not None else user_config_folder() / TOKEN_FILE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return _read_token(path), path
    except OSError as error:
        raise TokenError(f"The server's token file {path} could not be made ({error.strerror or error}).") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    logger.info("made the server's token in %s", path)
    return token, path


def _read_token(path: Path) -> str:
    try:
        # Not following a link, and not waiting on a pipe: a FIFO named as the token file is refused below.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise TokenError(f"The server's token file {path} cannot be read ({error.strerror or error}).") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise TokenError(f"The server's token file {path} is not a regular file.")
    with os.fdopen(descriptor, "rb") as handle:
        if os.name == "posix" and info.st_mode & 0o077:
            raise TokenError(f"The server's token file {path} can be read by other users; "
                             f"make it private (chmod 600 {path}) or delete it to have a new one made.")
        text = handle.read(_MAX_TOKEN_FILE_BYTES + 1)
    token = text.decode("ascii", errors="replace").strip()
    if len(text) > _MAX_TOKEN_FILE_BYTES or len(token) < 16 or any(c.isspace() for c in token):
        raise TokenError(f"The server's token file {path} does not hold one token of at least 16 characters.")
    return token


class Access:
    """Decides whether a request may proceed. ``token`` None: everyone may (loopback)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._cookie = None if token is None else hmac.new(token.encode(), b"focuslock-monitor-cookie",
                                                           hashlib.sha256).hexdigest()

    @property
    def required(self) -> bool:
        return self.token is not None

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    @property
    def cookie_value(self) -> str:
        if self._cookie is None:
            raise RuntimeError("no token, no cookie")
        return self._cookie

    def allows(self, authorization: str | None, cookies: dict[str, str]) -> bool:
        """True when no token is needed, or the header or the cookie carries it."""
        if self.token is None:
            return True
        if authorization is not None:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.token_matches(given.strip()):
                return True
        cookie = cookies.get(COOKIE)
        return cookie is not None and self._cookie is not None and hmac.compare_digest(cookie.encode(), self._cookie.encode())
