"""Everything but the tethered camera works without libgphoto2 (pyproject installs gphoto2
only where it has wheels): with ``import gphoto2`` made to fail, every module of the
package imports, and ``analyze``, ``watch --once`` and a ``video:`` source run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import pytest

DATA = Path(__file__).parent / "data" / "focus-stacks" / "pcb"
# The pcb stack at half size (512×384), and a box on its board near the middle.
SCALE = 0.5
ROI = "200,150,80,60"

# Put first on the interpreter's import path (sitecustomize runs at start-up, in every
# process the test starts): `import gphoto2` fails as it does where no wheel installed it.
_BLOCKER = '''
import sys


class _NoGphoto2:
    """Finds gphoto2 and its submodules nowhere."""

    def find_spec(self, name, path=None, target=None):
        if name == "gphoto2" or name.startswith("gphoto2."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)", name=name)
        return None


sys.meta_path.insert(0, _NoGphoto2())
'''

_IMPORT_EVERY_MODULE = textwrap.dedent('''
    import importlib, pkgutil, sys
    import focuslock
    names = [m.name for m in pkgutil.walk_packages(focuslock.__path__, "focuslock.") if not m.name.endswith("__main__")]
    for name in names:
        importlib.import_module(name)
    assert "gphoto2" not in sys.modules, "gphoto2 was loaded"
    print(len(names))
''')


@pytest.fixture(scope="module")
def hidden(tmp_path_factory) -> dict[str, str]:
    """The environment of a process in which ``import gphoto2`` fails."""
    folder = tmp_path_factory.mktemp("no-gphoto2")
    (folder / "sitecustomize.py").write_text(_BLOCKER)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FOCUSLOCK_CONFIG_DIR=str(folder / "config"))
    env["PYTHONPATH"] = os.pathsep.join([str(folder), *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> tuple[Path, Path]:
    """The first three pictures of the pcb stack at half size in a folder, and as a video."""
    folder = tmp_path_factory.mktemp("pcb")
    frames = folder / "frames"
    frames.mkdir()
    images = []
    for source in sorted(DATA.glob("pcb_*.jpg"))[:3]:
        image = cv2.resize(cv2.imread(str(source)), None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(frames / source.name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(image)
    video = folder / "pcb.avi"
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (width, height))
    for image in images * 3:
        writer.write(image)
    writer.release()
    return frames, video


def _run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_the_blocker_hides_gphoto2(hidden):
    result = _run(hidden, "-c", "import gphoto2")
    assert result.returncode != 0 and "hidden by the test" in result.stderr, result.stderr[-2000:]


def test_every_module_imports_without_gphoto2(hidden):
    result = _run(hidden, "-c", _IMPORT_EVERY_MODULE)
    assert result.returncode == 0, result.stderr[-4000:]
    assert int(result.stdout) > 50  # the whole package, not an empty walk


def test_analyze_and_watch_run_without_gphoto2(hidden, pictures, tmp_path):
    frames, video = pictures
    for source in (frames, video):
        result = _run(hidden, "-m", "focuslock", "analyze", str(source), "--roi", ROI, "--json")
        assert result.returncode == 0, (source, result.stderr[-4000:])
        assert len(json.loads(result.stdout)["frames"]) >= 3
    session = tmp_path / "session"
    result = _run(hidden, "-m", "focuslock", "watch", str(frames), "--roi", ROI, "--session", str(session),
                  "--sidecars", "none", "--once")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "#3 pcb_003.jpg" in result.stdout and "Done: 3" in result.stdout, result.stdout[-2000:]


def test_a_video_source_runs_without_gphoto2(hidden, pictures, tmp_path):
    _, video = pictures
    out = tmp_path / "out"
    result = _run(hidden, "-m", "focuslock", "live", "--source", f"video:{video}", "--headless", "--seconds", "1",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr[-4000:]
    assert any(out.iterdir()), "the live session wrote nothing"
