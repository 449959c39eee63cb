from __future__ import annotations

import cv2
import numpy as np
import pytest

from focuslock.devices.base import CameraNotFoundError, CorruptFrameError, EndOfStream
from focuslock.devices.folder import FolderCamera, list_images, natural_key
from tests.camera.test_contract import _textured


def test_natural_order_puts_2_before_10(tmp_path):
    for name in ["f10.png", "f2.png", "F1.png", "f20.png", "notes.txt"]:
        if name.endswith(".png"):
            cv2.imwrite(str(tmp_path / name), _textured(len(name)))
        else:
            (tmp_path / name).write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["F1.png", "f2.png", "f10.png", "f20.png"]
    assert natural_key("a9") < natural_key("a10")


def test_a_corrupt_image_is_reported_skipped_and_the_sequence_goes_on(tmp_path):
    for index in range(3):
        cv2.imwrite(str(tmp_path / f"img_{index}.jpg"), _textured(index))
    (tmp_path / "img_1.jpg").write_bytes(b"\xff\xd8 truncated")
    camera = FolderCamera(tmp_path)
    camera.open()
    first = camera.read_frame()
    with pytest.raises(CorruptFrameError, match="img_1.jpg"):
        camera.read_frame()
    third = camera.read_frame()
    assert first.source.endswith("img_0.jpg") and third.source.endswith("img_2.jpg")
    assert third.sequence == 2  # the skipped frame keeps its number
    with pytest.raises(EndOfStream):
        camera.read_frame()


def test_a_glob_selects_images(tmp_path):
    for index in range(4):
        cv2.imwrite(str(tmp_path / f"a_{index}.png"), _textured(index))
        cv2.imwrite(str(tmp_path / f"b_{index}.png"), _textured(index))
    camera = FolderCamera(str(tmp_path / "b_*.png"))
    camera.open()
    assert [p.name for p in camera.paths] == [f"b_{i}.png" for i in range(4)]


def test_an_empty_or_missing_folder_is_one_clear_sentence(tmp_path):
    with pytest.raises(CameraNotFoundError, match="holds no images"):
        FolderCamera(tmp_path).open()
    with pytest.raises(CameraNotFoundError, match="neither a folder"):
        FolderCamera(tmp_path / "missing").open()


def test_reads_the_real_focus_stacks(focus_stacks):
    camera = FolderCamera(focus_stacks / "pcb")
    camera.open()
    frames = [camera.read_frame() for _ in range(len(camera.paths))]
    assert [f.source.rsplit("/", 1)[-1] for f in frames] == [f"pcb_{i:03d}.jpg" for i in range(1, 8)]
    assert frames[0].image.shape == (1536, 2048, 3)
    # Real photographs: colour, not a grey placeholder.
    assert np.abs(frames[0].image[..., 0].astype(int) - frames[0].image[..., 2]).mean() > 2
