#!/usr/bin/env python3
"""Bring the system tools the test suite uses beside the Python packages.

The tests read XMP sidecars back with exiftool (as photo programs do), open the session
report in headless Chromium (as a browser shows it) and run the studio's hub on a real
PostgreSQL server (a throwaway cluster, ``focuslock.testing.postgres``; Debian keeps its
``initdb`` and ``pg_ctl`` off PATH, under ``/usr/lib/postgresql/*/bin``, which counts as
found). They are system programs, not wheels,
so the README's test command runs this first: whatever is missing is installed with the
machine's package manager (apt-get as root or through password-less sudo on Debian and
Ubuntu, Homebrew on macOS). Where that cannot be done, one sentence says what to install,
and the exit status is 1 — the tests would otherwise stop at collection.

Usage: ``python scripts/test_tools.py [--check]`` (``--check``: only say what is missing).
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import platform
import shutil
import subprocess
import sys

log = logging.getLogger("test_tools")

# tool → (the names it goes by, its Debian package, its Homebrew formula or cask)
TOOLS = {
    "exiftool": (("exiftool",), "libimage-exiftool-perl", "exiftool"),
    "chromium": (("chromium", "chromium-browser", "google-chrome"), "chromium", "--cask chromium"),
    "PostgreSQL": (("initdb", "pg_ctl"), "postgresql", "postgresql@15"),
}

# Where PostgreSQL's server programs live when they are not on PATH (Debian, Homebrew).
POSTGRES_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin")


def _found(tool: str, names: tuple[str, ...]) -> bool:
    if tool == "PostgreSQL":  # both programs, on PATH or in one of the server's bin folders
        folders = [f for pattern in POSTGRES_BIN_GLOBS for f in glob.glob(pattern)]
        return all(shutil.which(n) or any(os.access(os.path.join(f, n), os.X_OK) for f in folders) for n in names)
    return any(shutil.which(n) for n in names)


def missing_tools() -> list[str]:
    return [tool for tool, (names, _, _) in TOOLS.items() if not _found(tool, names)]


def _run(command: list[str]) -> bool:
    log.info("running: %s", " ".join(command))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False).returncode == 0


def _install_debian(packages: list[str]) -> bool:
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        return False
    install = [*prefix, "apt-get", "install", "-y", "-q", *packages]
    # A fresh machine's package lists may be empty or stale: update once if the first try fails.
    return _run(install) or (_run([*prefix, "apt-get", "update", "-q"]) and _run(install))


def _install_macos(formulas: list[str]) -> bool:
    if not shutil.which("brew"):
        return False
    return all(_run(["brew", "install", *formula.split()]) for formula in formulas)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say what is missing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    missing = missing_tools()
    if not missing:
        return 0
    debian = [TOOLS[t][1] for t in missing]
    brew = [TOOLS[t][2] for t in missing]
    if not args.check:
        if platform.system() == "Darwin":
            installed = _install_macos(brew)
        elif shutil.which("apt-get"):
            installed = _install_debian(debian)
        else:
            installed = False
        missing = missing_tools()
        if installed and not missing:
            return 0
    how = (f"brew install {' '.join(brew)}" if platform.system() == "Darwin"
           else f"sudo apt install {' '.join(debian)}")
    sys.stderr.write(f"The tests need {' and '.join(missing)}, which could not be installed from here: run `{how}` "
                     "and start the tests again.\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
