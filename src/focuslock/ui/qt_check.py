"""Whether Qt's X11 platform plugin can load here, asked before Qt is imported.

On a minimal Debian the window used to abort inside Qt (exit 134, "could not load the
Qt platform plugin xcb") when one of the plugin's system libraries was missing. This
module imports no Qt: it asks the plugin itself which libraries it needs (``ldd`` on
PySide6's ``libqxcb.so``, which lists its whole dependency tree, Qt's own libraries
included) and names the Debian packages of those not found, in one sentence.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["QT_XCB_PACKAGES", "debian_package", "missing_libraries", "missing_qt_packages", "missing_qt_sentence",
           "xcb_plugin_files"]

# The packages a minimal Debian or Ubuntu needs for the window on X11: those whose libraries
# Qt 6's xcb plugin and Qt's own libraries link directly; apt brings the rest of the tree
# ldd finds with them (tests/ui/test_qt_packages.py checks both on the installed PySide6).
# The README quotes this list (tests/ui/test_qt_check.py keeps them one).
QT_XCB_PACKAGES = (
    "libegl1", "libgl1", "libfontconfig1", "libdbus-1-3", "libglib2.0-0", "libx11-xcb1", "libxkbcommon-x11-0",
    "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0", "libxcb-render-util0",
    "libxcb-shape0",
)

# Sonames whose Debian package is not named by the usual rule (libfoo.so.N → libfooN,
# libfoo-1.so.N → libfoo-1-N).
_PACKAGE_OF_SONAME = {
    "libGLdispatch.so.0": "libglvnd0",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "libxcb-util.so.1": "libxcb-util1",
    "libbrotlicommon.so.1": "libbrotli1",  # (freetype's; one package ships both)
    "libbrotlidec.so.1": "libbrotli1",
}

# What ldd prints for a library it cannot load: "libfoo.so.1 => not found", or, for a
# file that is there but broken, "error while loading shared libraries: /path/libfoo.so.1: …".
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_BROKEN = re.compile(r"error while loading shared libraries:\s+(\S+?):")
# Qt's documented xcb requirements, looked up by name where ldd is not at hand.
_FIND_LIBRARY_NAMES = {
    "EGL": "libEGL.so.1", "GL": "libGL.so.1", "fontconfig": "libfontconfig.so.1", "dbus-1": "libdbus-1.so.3",
    "xkbcommon-x11": "libxkbcommon-x11.so.0", "xcb-cursor": "libxcb-cursor.so.0", "xcb-icccm": "libxcb-icccm.so.4",
    "xcb-image": "libxcb-image.so.0", "xcb-keysyms": "libxcb-keysyms.so.1", "xcb-randr": "libxcb-randr.so.0",
    "xcb-render-util": "libxcb-render-util.so.0", "xcb-shape": "libxcb-shape.so.0",
}


def debian_package(soname: str) -> str:
    """The Debian package that ships ``soname``: 'libxcb-icccm.so.4' → 'libxcb-icccm4',
    'libxkbcommon-x11.so.0' → 'libxkbcommon-x11-0', 'libGL.so.1' → 'libgl1'."""
    name = Path(soname).name
    if name in _PACKAGE_OF_SONAME:
        return _PACKAGE_OF_SONAME[name]
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\..*)?", name)
    if match is None:
        return name
    stem, version = match.group(1).lower(), match.group(2)
    return f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}"


def xcb_plugin_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The xcb platform plugin Qt would load (QT_QPA_PLATFORM_PLUGIN_PATH first, as Qt
    looks there first, then PySide6's own) and Qt's widgets library; found without
    importing Qt."""
    environ = os.environ if environ is None else environ
    files: list[Path] = []
    for folder in filter(None, environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep)):
        plugin = Path(folder) / "libqxcb.so"
        if plugin.is_file():
            files.append(plugin)
    spec = importlib.util.find_spec("PySide6")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        qt = Path(location) / "Qt"
        for candidate in (qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6Widgets.so.6"):
            if candidate.is_file() and not (candidate.name == "libqxcb.so" and any(f.name == "libqxcb.so" for f in files)):
                files.append(candidate)
    return files


def missing_libraries(files: Iterable[Path], environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The sonames ``files`` need that the dynamic loader cannot load (``ldd``, which
    follows the whole tree and honours LD_LIBRARY_PATH); None when ldd is not at hand."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    missing: list[str] = []
    for path in files:
        try:
            done = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20,
                                  env=dict(os.environ if environ is None else environ))
        except (OSError, subprocess.SubprocessError):
            return None
        output = done.stdout + done.stderr
        for soname in [*_NOT_FOUND.findall(output), *(Path(p).name for p in _BROKEN.findall(output))]:
            if soname not in missing:
                missing.append(soname)
    return missing


def _missing_by_name() -> list[str]:
    import ctypes.util

    return [soname for name, soname in _FIND_LIBRARY_NAMES.items() if ctypes.util.find_library(name) is None]


def missing_qt_packages(environ: Mapping[str, str] | None = None) -> list[str]:
    """The Debian packages missing for the window on X11 here (empty: none missing, or
    not Linux, or Qt will not use X11: QT_QPA_PLATFORM set to another platform)."""
    environ = os.environ if environ is None else environ
    platform = environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return []
    if not platform and not environ.get("DISPLAY"):
        return []  # Wayland or no display: not the xcb plugin's question
    if not platform and environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return []  # Qt 6 takes its Wayland plugin in a Wayland session
    files = xcb_plugin_files(environ)
    sonames = missing_libraries(files, environ) if files else None
    if sonames is None:
        sonames = _missing_by_name()
    packages: list[str] = []
    for soname in sonames:
        package = debian_package(soname)
        if package not in packages:
            packages.append(package)
    return packages


def missing_qt_sentence(instead: str, environ: Mapping[str, str] | None = None) -> str | None:
    """One sentence naming the packages the window lacks here (None: nothing missing);
    ``instead``: what to do without the window."""
    packages = missing_qt_packages(environ)
    if not packages:
        return None
    names = " ".join(packages)
    libraries = "library" if len(packages) == 1 else "libraries"
    return (f"The window cannot open: Qt's X11 plugin needs the system {libraries} {', '.join(packages)}; "
            f"install with `sudo apt install {names}` (Debian, Ubuntu), or {instead}.")
