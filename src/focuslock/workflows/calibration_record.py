"""The calibration record file: measured focus drives as ``[[focus_drive]]`` TOML
records (calibration/README.md), in the user's calibration folder."""

from __future__ import annotations

import math
import os

import numpy as np

from focuslock.workflows.drive_sweep import CalibrationError

__all__ = ["save_record", "user_calibration_path"]


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(value):
            raise CalibrationError(f"A calibration figure is not a finite number ({value}); nothing was saved.")
        return repr(float(value)) if isinstance(value, float) else repr(int(value))
    # JSON's string escapes (\" \\ \n \uXXXX) are TOML's basic-string escapes.
    import json

    return json.dumps(str(value), ensure_ascii=False)


def save_record(path, record: dict) -> None:
    """Add ``record`` to the ``[[focus_drive]]`` records of ``path`` (calibration/README.md),
    replacing the record for the same camera, lens and drive setting; the file is
    written whole (temporary file, then rename), so a failure leaves the old one."""
    from pathlib import Path

    from focuslock.io.outputs import OutputError, replace_file

    path = Path(path)
    records = _records_in(path)
    key = ("camera", "lens", "drive_setting")
    records = [r for r in records if tuple(r.get(k, "") for k in key) != tuple(record.get(k, "") for k in key)]
    records.append(record)
    lines = ["# Focus-drive calibrations measured by `focuslock calibrate focus-steps` (calibration/README.md).", ""]
    for entry in records:
        lines.append("[[focus_drive]]")
        lines += [f"{name} = {_toml_value(value)}" for name, value in entry.items()]
        lines.append("")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, "\n".join(lines).encode("utf-8"))
    except (OSError, OutputError) as error:
        raise CalibrationError(f"The calibration could not be saved to {path}: {error}") from None


def check_record_file(path) -> None:
    """Refuse now, before a drive is measured, a calibration file the record could not be
    added to (one :class:`CalibrationError` sentence): not TOML, not a regular file (a
    pipe, a device, a link to nothing), or in a folder that cannot be written."""
    from pathlib import Path

    path = Path(path)
    _records_in(path)
    existing = path.parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise CalibrationError(f"The calibration cannot be saved to {path}: {existing} is not a writable folder.")


def _records_in(path) -> list[dict]:
    """The ``[[focus_drive]]`` records already in ``path`` (none when it is not there)."""
    from focuslock.core.resources import DataFileError, read_toml

    if not os.path.lexists(path):
        return []
    try:  # a link that leads nowhere, a pipe or a device is refused by read_toml
        return [r for r in read_toml(path).get("focus_drive", []) if isinstance(r, dict)]
    except DataFileError as error:
        raise CalibrationError(f"{error} Fix or move it; the new calibration was not saved.") from None


def user_calibration_path():
    """Where measured calibrations are kept: the user's calibration folder."""
    from focuslock.core.resources import user_config_folder

    return user_config_folder() / "calibration" / "focus-drive.toml"
