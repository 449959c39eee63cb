"""A throwaway PostgreSQL cluster for tests and scripts: a real server, never a mock.

``initdb -A trust -U postgres`` in a temporary folder, then ``pg_ctl -w start`` listening
on 127.0.0.1 on a free port, its Unix socket in the same folder (``-k``), so that nothing
of the machine's own PostgreSQL is touched. As root, PostgreSQL refuses to run: both
programs then run as the ``postgres`` system user (``runuser -u postgres --``) and the
folder is handed to it. The server programs are found on PATH or where Debian and
Homebrew keep them (``/usr/lib/postgresql/*/bin``); ``scripts/test_tools.py`` installs
them on a fresh machine.

:meth:`PostgresCluster.kill` is a crash of the server: SIGKILL of the postmaster and of
every backend it had, as a power cut of the hub's machine would leave it (the WAL is
replayed by the next :meth:`start`, on the same port and data folder).

``fsync`` is off: the tests kill processes, never the machine's power, and what a killed
server wrote is still in the operating system's cache; the server's own crash recovery
(WAL replay) is exercised whole.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresCluster", "find_postgres_bin"]

_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin")


def find_postgres_bin() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest version found)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    folders = sorted((Path(f) for pattern in _BIN_GLOBS for f in glob.glob(pattern)),
                     key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.replace("@", ".").split(".")])
    for folder in reversed(folders):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are needed: run python scripts/test_tools.py")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary folder; ``with`` starts and removes it."""

    def __init__(self, port: int | None = None) -> None:
        self.bin = find_postgres_bin()
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        # Never under pytest's tmp_path: as root that is 0700 and the postgres user could not enter it.
        self.folder = Path(tempfile.mkdtemp(prefix="focuslock-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = port or _free_port()
        self._databases = 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-N")

    # ------------------------------------------------------------------ the programs
    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin / program), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_root else command

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(self._command(program, *args), capture_output=True, text=True, cwd=self.folder, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}\n{log}")

    # ------------------------------------------------------------------ the server
    def start(self) -> None:
        """Start the server (after a :meth:`stop` or :meth:`kill`: on the same port and data)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A clean shutdown (``pg_ctl stop -m fast``): clients are disconnected."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        result = subprocess.run(self._command("pg_ctl", "-D", str(self.data), "status"), capture_output=True,
                                cwd=self.folder, check=False)
        return result.returncode == 0

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL of the postmaster and its backends: the server crashes mid-work."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = _children(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in (pid, *children)) and time.monotonic() < deadline:
            time.sleep(0.02)
        # Where nothing reaps orphans (some containers' init), the dead postmaster stays a
        # zombie that the next start would take for a running server: its lock files go,
        # as it would be stale on a machine whose init reaps.
        if not _alive(pid):
            for stale in (self.data / "postmaster.pid", self.folder / f".s.PGSQL.{self.port}.lock"):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()

    def restart(self) -> None:
        if self.is_running():
            self.stop()
        self.start()

    # ------------------------------------------------------------------ databases
    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "hub") -> str:
        """A new, empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=30) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # ------------------------------------------------------------------ the folder
    def close(self) -> None:
        """Stop the server at once and remove its folder (whatever state it is in)."""
        if self.is_running():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            for attempt in range(3):
                try:
                    self.start()
                    break
                except RuntimeError as error:  # the free port was taken meanwhile (another worker): another one
                    if attempt == 2 or "in use" not in str(error):
                        raise
                    self.port = _free_port()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie waiting for its parent is dead for us
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc; elsewhere ``pgrep -P``)."""
    found = []
    if Path("/proc").is_dir():
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    if int((entry / "stat").read_text().split(")")[-1].split()[1]) == pid:
                        found.append(int(entry.name))
        return found
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]
