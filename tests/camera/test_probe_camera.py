"""scripts/probe_camera.py against libgphoto2's virtual camera."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from focuslock.devices.profiles import load_profile

pytest.importorskip("gphoto2")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "probe_camera.py"


def test_probe_dumps_the_tree_and_writes_a_valid_draft_profile(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    dump = (tmp_path / "config.txt").read_text()
    assert "Nikon DSC D750 on usb:001,001" in dump
    assert "/capturesettings/f-number  [radio] = 'f/2.8'" in dump and "f/22" in dump
    profile = load_profile(tmp_path / "draft.toml")
    assert profile.settings["aperture"] == "f-number"
    assert profile.settings["shutterspeed"] == "shutterspeed"
    assert profile.capture_target_card == "Memory card"
    assert profile.focus_drive is None  # the virtual camera has none
