"""A real full disk for tests: a small tmpfs mounted over a folder, in a private mount
namespace (``unshare -rm``: no root needed, nothing mounted outside the command).

The command runs inside the namespace and sees ``folder`` as a file system of
``size_kb`` KiB; writes past it fail with ENOSPC as on a full card reader or laptop
disk. When the kernel refuses user namespaces, the same command runs with a per-file
size limit (RLIMIT_FSIZE: writes past it fail with EFBIG) — a real kernel refusal too,
though of one file rather than of the whole disk; ``SmallDisk.kind`` says which.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


NAMESPACES = _namespaces_work()


@dataclass(frozen=True)
class SmallDisk:
    folder: Path
    size_kb: int

    @property
    def kind(self) -> str:
        return "tmpfs" if NAMESPACES else "file-size limit"

    def run(self, argv: list[str], timeout_s: float = 120.0, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run ``argv`` with ``folder`` full at ``size_kb``. Files the command writes there
        are gone afterwards (tmpfs); the test reads them inside the command if needed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(env or {})}
        if NAMESPACES:
            script = f'mount -t tmpfs -o size={self.size_kb}k tmpfs "$0" && exec "$@"'
            command = ["unshare", "-rm", "sh", "-c", script, str(self.folder), *argv]
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
        limit = self.size_kb * 1024

        def limit_file_size() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env, preexec_fn=limit_file_size)


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]
