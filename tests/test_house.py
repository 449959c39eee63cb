"""The house keeps its shape: the layer contracts (pyproject's [tool.importlinter]) hold."""

from __future__ import annotations

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


def test_the_package_top_holds_only_its_entry_points():
    top = sorted(path.name for path in SOURCE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py"], top
