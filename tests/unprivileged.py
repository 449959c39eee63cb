"""Run a check as a user without write permission, so that permission tests can fail.

As root every write succeeds whatever the mode bits say; so, when the tests run as root,
the check runs in a forked child that drops to ``nobody`` (uid/gid 65534) before it
starts (no new interpreter: the child keeps the modules already imported). As any other
user it runs in-process, the folder's write bit cleared.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

NOBODY = 65534


def read_only_folder() -> Path:
    """A new folder, readable and enterable by everyone, writable by its owner only
    (root, when run as root) — and by nobody at all otherwise."""
    parent = Path(tempfile.mkdtemp(prefix="focuslock-perm-", dir="/tmp"))
    os.chmod(parent, 0o755)
    folder = parent / "read-only"
    folder.mkdir()
    os.chmod(folder, 0o755 if os.geteuid() == 0 else 0o555)
    return folder


def remove(folder: Path) -> None:
    os.chmod(folder, 0o755)
    shutil.rmtree(folder.parent, ignore_errors=True)


def run_unprivileged(check: Callable[[], object]) -> object:
    """``check()``'s JSON-able result, computed without write permission."""
    if os.geteuid() != 0:
        return check()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = {"result": check()}
        except BaseException as error:  # reported to the parent as it is
            payload = {"error": repr(error)}
        with os.fdopen(write_end, "w") as handle:
            handle.write(json.dumps(payload))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as handle:
        text = handle.read()
    os.waitpid(child, 0)
    payload = json.loads(text)
    if "error" in payload:
        raise AssertionError(f"the unprivileged check raised {payload['error']}")
    return payload["result"]
