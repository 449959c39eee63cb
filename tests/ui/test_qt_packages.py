"""The README's list for the window on a minimal Debian is ui/qt_check.py's list
(tests/ui/test_qt_check.py), and that list is what the installed PySide6's xcb plugin needs (issue 30, round two): every system
library ``ldd`` finds in the plugin's tree (Qt's own libraries, PySide6's, left out) is in
a package of the list or one apt installs with it, and every package of the list ships a
library the plugin loads directly or through Qt. The package names ``debian_package``
gives are dpkg's own for every library of the tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from focuslock.ui.qt_check import QT_XCB_PACKAGES, debian_package, xcb_plugin_files


def _tree() -> dict[str, str]:
    """soname -> resolved path of every system library the plugin's tree loads."""
    if shutil.which("ldd") is None:
        pytest.skip("no ldd here")
    files = xcb_plugin_files({})
    if not any(f.name == "libqxcb.so" for f in files):
        pytest.skip("no PySide6 xcb plugin here")
    found: dict[str, str] = {}
    for path in files:
        output = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30).stdout
        for soname, where in re.findall(r"^\s*(\S+)\s+=>\s+(/\S+)", output, re.MULTILINE):
            if "PySide6" not in where and "shiboken6" not in where:
                found[soname] = where
    return found


def _owner(path: str) -> str | None:
    for candidate in (path, os.path.realpath(path)):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return done.stdout.split(":", 1)[0].strip()
    return None


@pytest.mark.skipif(shutil.which("dpkg") is None or shutil.which("apt-cache") is None, reason="not a Debian system")
def test_the_list_is_what_the_installed_plugin_needs():
    tree = _tree()
    owners = {soname: _owner(path) for soname, path in tree.items()}
    owners = {soname: owner for soname, owner in owners.items() if owner is not None}
    # The name the window's sentence gives a missing library is the package that ships it.
    misnamed = {soname: (debian_package(soname), owner) for soname, owner in owners.items()
                if debian_package(soname) != owner}
    assert not misnamed, misnamed
    # Installing the list brings every library of the tree (apt's dependencies, no recommends).
    depends = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                              "--no-breaks", "--no-replaces", "--no-enhances", *QT_XCB_PACKAGES],
                             capture_output=True, text=True, timeout=120).stdout
    brought = set(re.findall(r"^\s*(?:\|?(?:Pre)?Depends:\s*)?<?([a-z0-9][a-z0-9.+-]+)>?(?::\w+)?\s*$", depends,
                             re.MULTILINE))
    if not brought:
        pytest.skip("apt-cache knows none of the packages (no package lists here)")
    assert set(owners.values()) <= brought | set(QT_XCB_PACKAGES), set(owners.values()) - brought
    # And nothing in the list that the plugin's tree does not load.
    assert set(QT_XCB_PACKAGES) <= set(owners.values()), set(QT_XCB_PACKAGES) - set(owners.values())
