"""Tethering through libgphoto2, against libgphoto2's own virtual camera (a Nikon-flavoured
PTP device emulated inside the real PTP driver; see FIELD-NOTES.md and conftest.py).

Each test uses a fresh camera object and closes it: the virtual camera's state (its card
among it) is reset only when every camera object is gone.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from focuslock.cli import main
from focuslock.devices.base import NotSupportedError, SettingValueError
from focuslock.devices.gphoto import GPhotoCamera, list_cameras
from focuslock.devices.gphoto_errors import translate
from tests.conftest import VIRTUAL_CAMERA_JPEG

gphoto2 = pytest.importorskip("gphoto2")


@pytest.fixture
def camera(tmp_path):
    gc.collect()  # no camera object of an earlier test may hold the virtual state
    cam = GPhotoCamera(download_folder=tmp_path / "announced")
    cam.open()
    yield cam
    cam.close()
    gc.collect()


def test_the_virtual_camera_is_listed_with_its_profile():
    cameras = list_cameras()
    assert [(c.model, c.port) for c in cameras] == [("Nikon DSC D750", "usb:001,001")]
    assert cameras[0].profile == "nikon"


def test_cameras_json(capsys):
    assert main(["cameras", "--json"]) == 0
    [body] = json.loads(capsys.readouterr().out)
    assert {k: body[k] for k in ("model", "port", "profile")} == {"model": "Nikon DSC D750", "port": "usb:001,001",
                                                                  "profile": "nikon"}
    assert body["report"]["kind"] == "tethered body"  # the report itself: tests/camera/test_body_report.py


def test_opening_by_port_or_model_and_refusing_what_is_not_there(tmp_path):
    for wanted in ("usb:001,001", "D750"):
        cam = GPhotoCamera(wanted)
        cam.open()
        assert cam.name == "Nikon DSC D750 on usb:001,001"
        cam.close()
    from focuslock.devices.base import CameraNotFoundError

    with pytest.raises(CameraNotFoundError, match="No camera matching 'Canon'"):
        GPhotoCamera("Canon").open()


def test_settings_round_trip(camera):
    camera.set_setting("aperture", "f/8")
    assert camera.get_settings()["aperture"].value == "f/8"
    camera.set_setting("aperture", "11")  # a photographer types 11, the body says f/11
    assert camera.get_settings()["aperture"].value == "f/11"
    camera.set_setting("shutterspeed", "1/100")
    assert camera.get_settings()["shutterspeed"].value == "0.0100s"
    camera.set_setting("exposurecompensation", "-1")
    assert camera.get_settings()["exposurecompensation"].value == "-1"
    with pytest.raises(SettingValueError, match="f/2.8, f/3.5"):
        camera.set_setting("aperture", "f/1.2")
    with pytest.raises(SettingValueError, match="no setting called 'warp'"):
        camera.set_setting("warp", "9")


def test_capture_downloads_a_byte_identical_file(camera, tmp_path):
    [path] = camera.capture(tmp_path / "shots")
    assert path.read_bytes() == VIRTUAL_CAMERA_JPEG.read_bytes()
    assert path.parent == tmp_path / "shots" and path.suffix == ".JPG"
    assert not list((tmp_path / "shots").glob("*.part"))


def test_a_file_the_camera_announces_on_its_own_is_downloaded(camera, tmp_path):
    # Setting the opcode widget makes the virtual camera announce a new file, as a body
    # does when its own shutter button is pressed (FIELD-NOTES.md).
    camera._widgets().write("opcode", "0x9999,0x0")
    with pytest.raises(NotSupportedError):
        camera.read_frame()  # no live view here; the events are drained all the same
    announced = list((tmp_path / "announced").iterdir())
    assert len(announced) == 1 and announced[0].read_bytes() == VIRTUAL_CAMERA_JPEG.read_bytes()


def test_no_live_view_never_fires_the_shutter_unasked(camera, tmp_path):
    for _ in range(3):
        with pytest.raises(NotSupportedError, match="no live view over USB; to see a capture about once a second "
                                                    r"instead \(a shutter actuation each, about 3,600 an hour\), "
                                                    "run with --captures-as-live-view"):
            camera.read_frame()
    # The virtual camera's card: no picture was taken by the refusals.
    assert camera.downloaded == []
    assert camera.capabilities.frame_rate_hz is None


def test_with_the_opt_in_a_body_without_live_view_shows_slow_frames_from_captures(tmp_path):
    gc.collect()
    camera = GPhotoCamera(download_folder=tmp_path / "announced", captures_as_live_view=True)
    camera.open()
    try:
        with pytest.raises(NotSupportedError, match="focuslock shows a capture about once a second instead"):
            camera.read_frame()
        frame = camera.read_frame()
        assert frame.metadata["live_view"] is False
        assert frame.image.shape == (480, 640, 3)
        assert camera.capabilities.frame_rate_hz == 1.0
    finally:
        camera.close()
        gc.collect()


def test_focus_drive_that_the_body_lacks_says_so(camera):
    assert not camera.capabilities.focus_drive
    with pytest.raises(NotSupportedError, match="offers no focus drive over USB"):
        camera.drive_focus(5)


def test_the_card_fills_after_26_captures_and_every_earlier_file_is_intact(tmp_path, capsys):
    gc.collect()
    code = main(["capture", "--out", str(tmp_path / "shots"), "--count", "30", "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 1
    assert len(report["files"]) == 26
    assert "card is full" in report["error"] and "card is full" in captured.err
    assert "26 file(s) downloaded before are intact" in captured.err
    assert captured.err.count("card is full") == 1
    source = VIRTUAL_CAMERA_JPEG.read_bytes()
    for name in report["files"]:
        assert open(name, "rb").read() == source
    assert len(list((tmp_path / "shots").iterdir())) == 26


def test_capture_command_json(tmp_path, capsys):
    gc.collect()
    assert main(["capture", "--out", str(tmp_path), "--count", "2", "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert len(files) == 2 and len(set(files)) == 2


@pytest.mark.parametrize(
    "code, kind, words",
    [
        (-53, "CameraBusyError", "gio mount -s gphoto2"),
        (-110, "CameraBusyError", "stayed busy"),
        (-7, "CameraDisconnectedError", "reconnecting"),
        (-3, "StorageFullError", "full"),
        (-6, "NotSupportedError", "does not support"),
    ],
)
def test_libgphoto2_errors_become_sentences(code, kind, words):
    error = translate(gphoto2.GPhoto2Error(code), "capturing")
    assert type(error).__name__ == kind and words in error.user_message
    assert error.user_message.endswith(".")


def test_live_headless_on_the_virtual_camera_uses_captures_only_when_asked(tmp_path, capsys):
    gc.collect()
    code = main(["live", "--source", "gphoto2:D750", "--headless", "--seconds", "2", "--out", str(tmp_path / "unasked")])
    captured = capsys.readouterr()
    assert code == 1 and "run with --captures-as-live-view" in captured.err
    assert "Traceback" not in captured.err
    gc.collect()
    code = main(["live", "--source", "gphoto2:D750", "--headless", "--seconds", "3", "--out", str(tmp_path / "asked"),
                 "--captures-as-live-view"])
    captured = capsys.readouterr()
    assert code == 0
    assert "has no live view over USB" in captured.err
    rows = (tmp_path / "asked" / "live.csv").read_text().splitlines()
    assert len(rows) >= 2  # slow frames from captures, about one a second


def test_a_source_that_names_no_connected_camera(tmp_path, capsys):
    assert main(["live", "--source", "gphoto2:Hasselblad", "--headless", "--out", str(tmp_path)]) == 1
    assert "No camera matching 'Hasselblad' is connected" in capsys.readouterr().err


def test_a_full_disk_during_capture_gives_json_of_every_saved_file_and_one_sentence(tmp_path):
    """The computer's disk (a real tmpfs that fills, tests/small_disk.py) fills on the
    fourth download: the three saved files are listed, whole, and the error is a sentence."""
    from tests.small_disk import SmallDisk, python_argv

    source_bytes = VIRTUAL_CAMERA_JPEG.stat().st_size
    disk = SmallDisk(tmp_path / "shots", size_kb=(3 * source_bytes + source_bytes // 2) // 1024)
    script = f"""
import contextlib, io, json, sys
from focuslock.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["capture", "--out", {str(disk.folder)!r}, "--count", "6", "--json"])
report = json.loads(out.getvalue())
source = open({str(VIRTUAL_CAMERA_JPEG)!r}, "rb").read()
report["whole"] = [open(p, "rb").read() == source for p in report["files"]]
import os
report["left"] = sorted(os.listdir({str(disk.folder)!r}))
report["code"] = code
print(json.dumps(report))
"""
    result = disk.run(python_argv("-c", script))
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 1
    assert "could not be saved" in report["error"] and "stays on the camera" in report["error"]
    if disk.kind == "tmpfs":
        assert report["error"].startswith("The disk is full")
        assert len(report["files"]) == 3
    assert all(report["whole"])
    assert report["left"] == sorted(p.rsplit("/", 1)[-1] for p in report["files"])


def test_a_capture_killed_at_random_moments_never_leaves_a_file_that_looks_complete_and_is_not(tmp_path):
    """SIGKILL at a random moment of `focuslock capture --count 8`, 20 times (issue 10
    asks for at least 20 in CI), against libgphoto2's virtual camera: every path the
    command printed is byte-identical to the camera's picture, and every visible file in
    the folder is whole (a cut download may leave only a hidden .NAME.*.part)."""
    import random
    import signal
    import subprocess
    import sys
    import time

    source = VIRTUAL_CAMERA_JPEG.read_bytes()
    rng = random.Random(20261122)
    RUNS = 20
    printed_total = visible_total = killed_mid_run = 0
    for run in range(RUNS):
        out = tmp_path / f"run{run}"
        process = subprocess.Popen([sys.executable, "-m", "focuslock", "capture", "--count", "8", "--out", str(out)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The kill is placed by the command's progress, not by the clock, so that it lands
        # mid-run on a fast machine and a loaded one alike: after 0-5 printed files, a
        # random moment into the next download.
        printed_lines = []
        for _ in range(rng.randint(0, 5)):
            line = process.stdout.readline()
            if not line:
                break
            printed_lines.append(line)
        time.sleep(rng.uniform(0.0, 0.15))
        if process.poll() is None:
            killed_mid_run += 1
        process.send_signal(signal.SIGKILL)
        rest, _ = process.communicate(timeout=30)
        stdout = "".join(printed_lines) + rest
        printed = [Path(line) for line in stdout.splitlines() if line.strip()]
        for path in printed:
            assert path.read_bytes() == source, path
        visible = [p for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []
        for path in visible:
            assert path.read_bytes() == source, f"{path} looks complete but is not"
        assert set(printed) <= set(visible)
        printed_total += len(printed)
        visible_total += len(visible)
        gc.collect()
    print(f"kill test: {killed_mid_run}/{RUNS} runs killed mid-run, {printed_total} files printed, "
          f"{visible_total} whole files on disk, none partial")  # for docs/RELIABILITY.md (pytest -s)
    # The kills landed across the runs, not all before the first file or after the last.
    assert killed_mid_run >= RUNS - 2 and printed_total > RUNS and visible_total >= printed_total


def test_a_body_without_a_live_view_zoom_says_so(camera):
    # libgphoto2's virtual camera has no zoom widget (a Canon body's `eoszoom` is the real one).
    from focuslock.devices.base import NotSupportedError

    assert camera.capabilities.live_view_zooms == ()
    with pytest.raises(NotSupportedError, match="does not zoom live view 5×"):
        camera.set_live_view_zoom(5.0)
