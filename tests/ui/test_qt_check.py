"""Missing Qt libraries named in one sentence before Qt aborts (issue 30.4).

The real test hides two of the xcb plugin's libraries from a real process: in a private
mount namespace (unshare, as an unprivileged user namespace allows) the system's library
folder is replaced by a folder of links to every file but libxcb-icccm.so.4 and
libxcb-keysyms.so.1, as on a minimal Debian without libxcb-icccm4 and libxcb-keysyms1.
There Qt itself aborts (exit 134) and ``focuslock live`` says one sentence instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from focuslock.ui.qt_check import QT_XCB_PACKAGES, debian_package, missing_qt_sentence, xcb_plugin_files

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_FOLDER = Path("/usr/lib/x86_64-linux-gnu")
HIDDEN = ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
_HIDE_SCRIPT = """set -e
mount --bind "$LIB" "$ORIG"
mount --bind "$FARM" "$LIB"
exec "$@"
"""


def _namespace_available() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None or not LIBRARY_FOLDER.is_dir():
        return False
    if not all((LIBRARY_FOLDER / name).exists() for name in HIDDEN):
        return False
    try:
        done = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _without_libraries(tmp_path: Path, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``command`` where the libraries in HIDDEN are absent (see the module's note)."""
    farm, original = tmp_path / "farm", tmp_path / "original"
    farm.mkdir(parents=True)
    original.mkdir(parents=True)
    for name in os.listdir(LIBRARY_FOLDER):
        if not name.startswith(HIDDEN):
            (farm / name).symlink_to(original / name)
    env = {**env, "LIB": str(LIBRARY_FOLDER), "ORIG": str(original), "FARM": str(farm)}
    return subprocess.run(["unshare", "-rm", "sh", "-c", _HIDE_SCRIPT, "hide", *command], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def _environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("QT_")}
    env.update(extra)
    return env


@pytest.mark.skipif(not _namespace_available(), reason="needs unshare -rm and the libraries to hide")
def test_a_minimal_debian_without_two_xcb_libraries_gets_one_sentence_where_qt_aborts(tmp_path):
    python = sys.executable
    env = _environment(DISPLAY=":99")
    # Qt itself, there: the abort the issue reports.
    qt = _without_libraries(tmp_path / "qt", [python, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"],
                            {**env, "QT_QPA_PLATFORM": "xcb", "QT_DEBUG_PLUGINS": "1"})
    assert qt.returncode in (134, -6), qt.stderr[-2000:]
    assert "libxcb-icccm.so.4: cannot open shared object file" in qt.stderr
    # The window's command: one sentence naming both packages, before Qt is imported.
    window = _without_libraries(tmp_path / "window", [python, "-m", "focuslock", "live", "--source", "sim"], env)
    assert window.returncode == 1, window.stderr[-2000:]
    assert window.stderr == ("focuslock: The window cannot open: Qt's X11 plugin needs the system libraries "
                             "libxcb-icccm4, libxcb-keysyms1; install with `sudo apt install libxcb-icccm4 libxcb-keysyms1` "
                             "(Debian, Ubuntu), or run with --headless.\n")
    assert "Traceback" not in window.stderr


def test_nothing_is_said_where_every_library_is_there_or_qt_will_not_use_x11():
    assert missing_qt_sentence("run with --headless", _environment(DISPLAY=":0")) is None or not xcb_plugin_files()
    assert missing_qt_sentence("run with --headless", _environment(QT_QPA_PLATFORM="offscreen", DISPLAY=":0")) is None
    assert missing_qt_sentence("run with --headless", _environment(QT_QPA_PLATFORM="wayland")) is None
    # A Wayland session: Qt 6 takes its Wayland plugin, whatever the xcb one lacks.
    wayland = _environment(DISPLAY=":0", WAYLAND_DISPLAY="wayland-0", XDG_SESSION_TYPE="wayland")
    assert missing_qt_sentence("run with --headless", wayland) is None


def test_the_plugin_is_asked_where_qt_would_load_it_first(tmp_path):
    """QT_QPA_PLATFORM_PLUGIN_PATH is where Qt looks first: its libqxcb.so is the one checked."""
    (tmp_path / "libqxcb.so").write_bytes(b"")
    files = xcb_plugin_files({"QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path)})
    assert files[0] == tmp_path / "libqxcb.so"
    assert sum(file.name == "libqxcb.so" for file in files) == 1


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-icccm.so.4", "libxcb-icccm4"), ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"), ("libGL.so.1", "libgl1"), ("libEGL.so.1", "libegl1"),
    ("libdbus-1.so.3", "libdbus-1-3"), ("libfontconfig.so.1", "libfontconfig1"), ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libglib-2.0.so.0", "libglib2.0-0"), ("libz.so.1", "zlib1g"), ("libxcb-util.so.1", "libxcb-util1"),
])
def test_a_missing_library_is_named_by_its_debian_package(soname, package):
    assert debian_package(soname) == package


def test_the_readmes_minimal_system_list_is_the_checks():
    readme = (ROOT / "README.md").read_text()
    lists = [set(found.split()) for found in re.findall(r"apt(?:-get)? install ((?:lib[\w.+-]+\s*)+)`", readme)
             if "libxcb" in found]
    assert lists, "the README lists no packages for the window"
    for packages in lists:
        assert packages == set(QT_XCB_PACKAGES)
