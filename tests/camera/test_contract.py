"""One contract suite over every Camera implementation (like python-microscope's).

Each source is real: the simulated bench, a video file written with OpenCV, a folder of
real JPEG files, and a tethered body through libgphoto2's own virtual camera.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.core.frames import Frame
from focuslock.devices.base import Camera, CameraError, EndOfStream, NotSupportedError, Setting, SettingValueError
from focuslock.devices.folder import FolderCamera
from focuslock.devices.video import VideoCamera
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench


def _textured(index: int, size=(160, 120)) -> np.ndarray:
    rng = np.random.default_rng(index)
    image = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), size, interpolation=cv2.INTER_NEAREST)
    cv2.putText(image, str(index), (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 3)
    return image


def write_video(path: Path, frames: int = 12, fps: float = 24.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    assert writer.isOpened()
    for index in range(frames):
        writer.write(_textured(index))
    writer.release()
    return path


def write_folder(folder: Path, frames: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(frames):
        cv2.imwrite(str(folder / f"shot_{index + 1}.jpg"), _textured(index))
    return folder


def read_frames(camera: Camera, count: int) -> list[Frame]:
    """Frames from a camera. A source may announce once that it falls back to another
    way of making frames (a tethered body without live view)."""
    frames: list[Frame] = []
    announced = False
    while len(frames) < count:
        try:
            frames.append(camera.read_frame())
        except NotSupportedError:
            assert not announced, "a fallback is announced once"
            announced = True
    return frames


@pytest.fixture(params=["sim", "video", "folder", "gphoto2-virtual"])
def camera(request, tmp_path) -> Camera:
    if request.param == "gphoto2-virtual":
        # libgphoto2's own virtual camera (conftest.py switches it on).
        import gc

        from focuslock.devices.gphoto import GPhotoCamera

        gc.collect()
        # No USB live view on the virtual camera: frames from captures, as the user may opt in to.
        cam: Camera = GPhotoCamera(download_folder=tmp_path / "announced", captures_as_live_view=True)
        yield cam
        cam.close()
        gc.collect()
        return
    if request.param == "sim":
        cam: Camera = SimulatedBench(BenchConfig(live_view_size_px=(320, 212), frame_rate_hz=None, capture_width_px=900))
    elif request.param == "video":
        cam = VideoCamera(write_video(tmp_path / "take.avi"), paced=False)
    else:
        cam = FolderCamera(write_folder(tmp_path / "frames"))
    yield cam
    cam.close()


def test_is_a_camera(camera):
    assert isinstance(camera, Camera)
    assert camera.name


def test_open_twice_and_close_twice_are_harmless(camera):
    camera.open()
    camera.open()
    camera.close()
    camera.close()


def test_frames_are_rgb_and_numbered_in_order(camera):
    camera.open()
    frames = read_frames(camera, 4)
    assert all(isinstance(frame, Frame) for frame in frames)
    assert [f.sequence for f in frames] == sorted({f.sequence for f in frames})
    first = frames[0].image
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert first.std() > 5, "a frame should show the scene, not a flat field"
    assert frames[1].timestamp_s >= frames[0].timestamp_s


def test_reading_a_closed_camera_is_a_clear_error(camera):
    with pytest.raises(CameraError) as error:
        camera.read_frame()
    assert "not open" in str(error.value)


def test_focus_drive_matches_capabilities(camera):
    camera.open()
    read_frames(camera, 1)
    if camera.capabilities.focus_drive:
        assert camera.drive_focus(3) == 3
        assert camera.drive_focus(-3) == -3
    else:
        with pytest.raises(NotSupportedError) as error:
            camera.drive_focus(1)
        assert error.value.user_message.endswith(".")


def test_capture_writes_complete_readable_files(camera, tmp_path):
    camera.open()
    read_frames(camera, 1)
    assert camera.capabilities.capture
    paths = camera.capture(tmp_path / "captures")
    assert paths
    for path in paths:
        assert path.parent == tmp_path / "captures"
        image = cv2.imread(str(path))
        assert image is not None and image.size > 0
    assert not list((tmp_path / "captures").glob("*.part")), "no half-written file may stay behind"
    second = camera.capture(tmp_path / "captures")
    assert set(second).isdisjoint(paths), "a second capture must never overwrite the first"


def test_settings_round_trip_and_refuse_nonsense(camera):
    camera.open()
    settings = camera.get_settings()
    assert set(settings) == set(camera.capabilities.settings)
    for name, setting in settings.items():
        assert isinstance(setting, Setting)
        choice = setting.choices[-1]
        camera.set_setting(name, choice)
        assert camera.get_settings()[name].value == choice
        with pytest.raises(SettingValueError):
            camera.set_setting(name, "not-a-value")
    with pytest.raises(SettingValueError):
        camera.set_setting("no-such-setting", "1")


def test_finite_sources_end_with_end_of_stream(camera):
    camera.open()
    if not camera.capabilities.finite:
        read_frames(camera, 3)
        return
    with pytest.raises(EndOfStream):
        for _ in range(1000):
            camera.read_frame()
