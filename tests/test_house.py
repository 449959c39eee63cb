"""The house keeps its shape: the layer contracts (pyproject's [tool.importlinter]) hold,
and ruff and mypy pass as pyproject configures them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "focuslock"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed: it comes with the test extra (pip install -e '.[test]')"
    return found


def test_every_layer_imports_only_the_layers_below_it():
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_finds_nothing():
    result = subprocess.run([_tool("ruff"), "check", "--no-cache", "src", "tests", "scripts"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy_finds_nothing():
    # The files and the strictness per layer come from pyproject's [tool.mypy]; no cache is
    # written (parallel test workers would share it).
    result = subprocess.run([_tool("mypy"), "--cache-dir", os.devnull], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_package_top_holds_only_its_entry_points():
    top = sorted(path.name for path in SOURCE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py"], top
