"""The window's remembered layout and choices (platformdirs: the user's config folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from focuslock.core.resources import DataFileError, read_user_file, user_config_folder
from focuslock.io.files import replace_file_atomically

__all__ = ["SettingsStore"]


# Far more than a window's layout and choices take.
_MAX_BYTES = 1 << 20


class SettingsStore:
    """A small JSON file of named values, read by the one reader of the files users may
    edit and written whole (:func:`focuslock.io.files.replace_file_atomically`). A broken
    file is set aside, never fatal."""

    def __init__(self, path: Path | None = None) -> None:
        # The user's config folder (FOCUSLOCK_CONFIG_DIR overrides it, as for every file there).
        self.path = Path(path) if path is not None else user_config_folder() / "window.json"
        self.values: dict[str, Any] = {}
        if not os.path.lexists(self.path):
            return
        try:
            self.values = json.loads(read_user_file(self.path, "window settings file", _MAX_BYTES))
            if not isinstance(self.values, dict):
                raise ValueError("not an object")
        except (DataFileError, ValueError, RecursionError):
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
        """Write the values whole (SaveError, one sentence, when the folder cannot take them)."""
        replace_file_atomically(self.path, json.dumps(self.values, indent=1, sort_keys=True).encode("utf-8"))
