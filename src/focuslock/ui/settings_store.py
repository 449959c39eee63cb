"""The window's remembered layout and choices (platformdirs: the user's config folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from focuslock.core.resources import user_config_folder

__all__ = ["SettingsStore"]


class SettingsStore:
    """A small JSON file of named values. A broken file is set aside, never fatal."""

    def __init__(self, path: Path | None = None) -> None:
        # The user's config folder (FOCUSLOCK_CONFIG_DIR overrides it, as for every file there).
        self.path = Path(path) if path is not None else user_config_folder() / "window.json"
        self.values: dict[str, Any] = {}
        try:
            self.values = json.loads(self.path.read_text())
            if not isinstance(self.values, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            pass
        except (OSError, ValueError):
            # Keep the broken file for a look, start from defaults.
            try:
                os.replace(self.path, self.path.with_suffix(".broken.json"))
            except OSError:
                pass
            self.values = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".part")
        temporary.write_text(json.dumps(self.values, indent=1, sort_keys=True))
        os.replace(temporary, self.path)
