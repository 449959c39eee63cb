"""DESIGN.md's dependency rules, checked on every module's imports (like napari's)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "focuslock"

# What each part of focuslock may import from focuslock (DESIGN.md "Dependency rules").
# Top-level modules: frames is the bottom; live runs cameras through focus/optics/overlay;
# headless and ui are consumers of live; cli sits on top of everything.
ALLOWED = {
    "frames": set(),
    "resources": set(),
    "camera": {"frames", "resources"},
    "focus": {"frames"},
    "optics": {"frames", "resources"},
    # resources: the strict reading of values from files users edit (overlay choices).
    "overlay": {"focus", "optics", "frames", "resources"},
    "pipeline": {"focus", "optics", "overlay", "frames"},
    "live": {"camera", "focus", "optics", "overlay", "frames", "pipeline"},
    "session": {"focus", "optics", "camera", "frames", "resources", "csv_safe"},
    # Writing outputs: files that never overwrite, videos that survive a kill.
    "outputs": {"camera"},
    # CSV cells no spreadsheet runs as a formula: asked by every CSV writer.
    "csv_safe": set(),
    "recording": set(),
    "headless": {"live", "pipeline", "camera", "focus", "optics", "overlay", "frames", "session", "outputs", "recording",
                 "csv_safe"},
    "analyze": {"camera", "focus", "optics", "overlay", "frames", "outputs", "recording", "csv_safe"},
    # A shot stack checked after the fact, like analyze: files in, a report out (with
    # what the stack's own record says).
    "stack_check": {"camera", "focus", "outputs", "stack_manifest", "stack_report"},
    # stack.json, the record of a shot stack: written by stack_shoot, read by stack_check.
    "stack_manifest": {"resources"},
    # stack-check's findings in words (text and JSON).
    "stack_report": {"focus"},
    # Measures the drive through the live pipeline: a camera, frames, the optics; reads
    # the box in parts with the lock's own references (focus).
    "calibrate": {"camera", "focus", "pipeline", "optics", "outputs", "resources"},
    # Named focus marks: the drive sweeps of calibrate, read against a mark's reference.
    "marks": {"calibrate", "camera", "focus", "pipeline", "outputs", "resources"},
    # Drives and captures a stack (the drive's guard from calibrate, the optics through
    # the pipeline).
    "stack_shoot": {"calibrate", "camera", "marks", "optics", "pipeline", "outputs", "stack_check", "stack_manifest"},
    # The window: the live session, and the stack tools for its marks-and-stack panel.
    "ui": {"live", "pipeline", "camera", "focus", "optics", "overlay", "frames", "session", "headless", "resources",
           "outputs", "recording", "marks", "stack_shoot", "calibrate", "stack_check"},
    "cli": {"ui", "watch", "live", "pipeline", "analyze", "stack_check", "stack_shoot", "calibrate", "marks", "camera", "focus", "optics", "overlay", "frames", "session", "headless",
            "resources", "outputs", "recording"},
    # The hot folder: pictures in, judged and logged by the session's parts.
    "watch": {"session", "camera"},
    "__main__": {"cli"},
    "__init__": set(),
}
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")


def _modules() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def _part(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module name a file imports, at any depth (lazy imports count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    package = ".".join(("focuslock",) + path.relative_to(SOURCE).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.append((module, node.lineno))
    return names


def test_every_module_is_known_to_the_rules():
    parts = {_part(path) for path in _modules()}
    assert parts <= set(ALLOWED), f"add these to the dependency rules: {parts - set(ALLOWED)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_follow_the_design(path: Path):
    part = _part(path)
    broken = []
    for module, line in _imports(path):
        top = module.split(".")[0]
        if top == "gphoto2" and path.relative_to(SOURCE) != Path("camera/gphoto.py"):
            broken.append(f"line {line}: only camera/gphoto.py may import gphoto2")
        if top in QT_MODULES and part not in ("ui",):
            broken.append(f"line {line}: only ui/ may import {top}")
        if top == "focuslock":
            target = module.split(".")[1] if "." in module else "__init__"
            # The package root holds only the version; anyone may read it.
            if target not in (part, "__init__") and target not in ALLOWED[part]:
                broken.append(f"line {line}: {part} may not import focuslock.{target}")
    assert not broken, f"{path.relative_to(SOURCE)}:\n" + "\n".join(broken)


def test_the_rule_checker_catches_a_broken_rule(tmp_path):
    """The checker itself must see lazy imports inside functions and relative imports."""
    bad = SOURCE / "focus" / "_rule_probe_tmp.py"
    bad.write_text("def f():\n    import PySide6\n    from ..camera import sim\n")
    try:
        found = _imports(bad)
    finally:
        bad.unlink()
    assert ("PySide6", 2) in found
    assert ("focuslock.camera", 3) in found
