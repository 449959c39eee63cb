"""The map cannot rot: every file docs/ARCHITECTURE.md names exists, and it names every layer."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "focuslock"
DOC = ROOT / "docs" / "ARCHITECTURE.md"

# A path with at least one folder (``runtime/live.py``, ``src/focuslock/core/box.py``,
# ``drivers/README.md``, ``devices/gphoto_*.py``). Not a placeholder (``cli/<group>_cmds.py``),
# not a file of another commit (``439ccb4:src/focuslock/live.py``), not a user's path (``~/…``).
_PATH = re.compile(r"(?<![\w/.<>*~:-])((?:[\w.*-]+/)+[\w.*-]+\.(?:py|toml|md))(?![\w/<>])")


def _named_paths(text: str) -> list[str]:
    return sorted(set(_PATH.findall(text)))


def _exists(name: str) -> bool:
    for base in (ROOT, SOURCE):
        if "*" in name:
            if any(base.glob(name)):
                return True
        elif (base / name).is_file():
            return True
    return False


def test_the_pattern_finds_paths_and_skips_what_is_not_one():
    text = ("`runtime/live.py`, src/focuslock/core/box.py, `devices/gphoto_*.py`, `cli/<group>_cmds.py`, "
            "439ccb4:src/focuslock/live.py, `__init__.py`, ~/.config/focuslock/drivers/x.toml, drivers/README.md.")
    assert _named_paths(text) == ["devices/gphoto_*.py", "drivers/README.md", "runtime/live.py", "src/focuslock/core/box.py"]


def test_every_file_the_map_names_exists():
    named = _named_paths(DOC.read_text(encoding="utf-8"))
    assert len(named) > 50, f"the map names only {len(named)} files: has the pattern stopped matching?"
    missing = [name for name in named if not _exists(name)]
    assert not missing, (f"docs/ARCHITECTURE.md names files that do not exist (under the repository or src/focuslock/): "
                         f"{missing}; update the map.")


def test_the_map_names_every_layer():
    text = DOC.read_text(encoding="utf-8")
    layers = sorted(path.name for path in SOURCE.iterdir() if path.is_dir() and (path / "__init__.py").is_file())
    unnamed = [layer for layer in layers if f"`{layer}/`" not in text]
    assert not unnamed, f"docs/ARCHITECTURE.md does not describe the layers {unnamed}; add them to its table."


def test_every_file_the_design_notes_place_exists():
    """The design notes' "Where things live" gives reasons for the map's placings, with paths of today."""
    notes = (ROOT / "docs" / "DESIGN-NOTES.md").read_text(encoding="utf-8")
    section = notes.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    named = _named_paths(section)
    assert len(named) > 10 and "docs/ARCHITECTURE.md" in named
    assert [name for name in named if not _exists(name)] == []
