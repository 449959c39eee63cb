"""docs/GUIDE.md runs as written: every ```sh guide block, section by section, in a fresh
folder, with the simulated bench or libgphoto2's virtual camera; each exits 0.

Blocks: ```sh guide runs and must exit 0; ```sh guide window opens the window, which must
still be up (or have closed cleanly) after a few seconds, and is then closed; ```sh body
needs a real camera and is only checked to name commands that exist. The blocks of one
section run one after another in one shell (an ``export`` carries on, as in a terminal),
from a folder where ``tests/data`` is the repository's (the guide's example pictures).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "GUIDE.md"
_BLOCK = re.compile(r"^```(sh[^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)
# How long a window block must stay up without failing.
_WINDOW_S = 8.0


def _sections() -> dict[str, list[tuple[str, str]]]:
    """Each ``## `` section's sh blocks, in order: (info string, text)."""
    text = GUIDE.read_text(encoding="utf-8")
    heads = [(m.start(), m.group(1).strip()) for m in _SECTION.finditer(text)]
    sections: dict[str, list[tuple[str, str]]] = {}
    for block in _BLOCK.finditer(text):
        title = next((t for start, t in reversed(heads) if start < block.start()), "(top)")
        sections.setdefault(title, []).append((block.group(1).strip(), block.group(2)))
    return sections


SECTIONS = _sections()
RUNNABLE = [title for title, blocks in SECTIONS.items() if any(info.startswith("sh guide") for info, _ in blocks)]


def _environment(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), QT_QPA_PLATFORM="offscreen",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    env.pop("VCAMERADIR", None)  # the guide sets it where it uses the virtual camera
    return env


def test_the_guide_has_runnable_sections_and_every_sh_block_is_marked():
    assert len(RUNNABLE) >= 5, f"the guide's runnable sections: {RUNNABLE}"
    for title, blocks in SECTIONS.items():
        for info, _text in blocks:
            assert info in ("sh guide", "sh guide window", "sh body"), f"{title}: a block marked {info!r}"


def test_the_body_blocks_name_commands_that_exist():
    commands = subprocess.run([sys.executable, "-m", "focuslock", "--help"], capture_output=True, text=True,
                              check=True).stdout
    for blocks in SECTIONS.values():
        for _info, text in blocks:
            for line in text.splitlines():
                words = line.split()
                if len(words) > 1 and words[0] == "focuslock":
                    assert f" {words[1]} " in commands or f"    {words[1]}\n" in commands, line


@pytest.mark.parametrize("title", RUNNABLE)
def test_a_section_of_the_guide_runs_as_written(title, tmp_path):
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    env = _environment(tmp_path)
    done = []
    # One shell for the section: what a block exports, the next one sees.
    state = tmp_path / ".guide-env"
    for number, (info, text) in enumerate(SECTIONS[title]):
        if info == "sh body":
            continue
        script = (f"set -euo pipefail\n[ -f {state} ] && . {state}\n{text}\n"
                  f"export -p > {state}\n")
        if info == "sh guide window":
            window = subprocess.Popen(["bash", "-c", f"set -euo pipefail\n[ -f {state} ] && . {state}\nexec {text.strip()}"],
                                      cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, start_new_session=True)
            deadline = time.monotonic() + _WINDOW_S
            while window.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if window.poll() is None:
                os.killpg(window.pid, signal.SIGTERM)
                try:
                    window.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(window.pid, signal.SIGKILL)
                    window.wait()
            else:
                output = window.stdout.read() if window.stdout else ""
                assert window.returncode == 0, f"{title}, block {number + 1} ({text.strip()}) failed:\n{output}"
            if window.stdout:
                window.stdout.close()
            continue
        run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=240)
        assert run.returncode == 0, (f"{title}, block {number + 1} exited {run.returncode}:\n{text}\n"
                                     f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
        # Off a terminal (here: a pipe) the long commands still say each phase as it starts.
        for command, phase in (("calibrate focus-steps", "calibrate: fitting"), ("mark go", "mark go: searching")):
            if command in text:
                assert phase in run.stderr, f"{command} printed no line per phase off a terminal:\n{run.stderr}"
        done.append(text)
    assert done
    shutil.rmtree(tmp_path / "home", ignore_errors=True)
