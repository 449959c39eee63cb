"""Hostile images: sizes are read from the header and refused before decoding; frames
too small to hold a feature are refused in one sentence; the session and analyze go on."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from focuslock.cli import main
from focuslock.devices.base import CorruptFrameError, EndOfStream
from focuslock.devices.folder import FolderCamera
from focuslock.io.limits import FrameSizeError, decode_image, header_size


def _png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of ``width``×``height`` zeros: about 0.1 % of its decoded size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real 64×48 JPEG whose frame header is rewritten to declare another size."""
    ok, encoded = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))
    data = bytearray(encoded.tobytes())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_png_bomb_is_refused_from_its_header():
    bomb = _png_bomb(30000, 30000)
    assert len(bomb) < 200_000  # 900 million pixels in a small file
    with pytest.raises(FrameSizeError, match=r"declares 30000×30000 pixels \(900 MP\)"):
        decode_image(bomb, "bomb.png")


@pytest.mark.parametrize("size", [(60000, 60000), (30000, 20000)])
def test_a_jpeg_declaring_a_huge_frame_is_refused_from_its_header(size):
    assert header_size(_jpeg_declaring(*size)) == size
    with pytest.raises(FrameSizeError, match="more than the 200 MP"):
        decode_image(_jpeg_declaring(*size), "huge.jpg")


@pytest.mark.parametrize("format_suffix", [".png", ".bmp", ".webp", ".tif", ".jpg"])
def test_headers_of_every_read_format_give_the_true_size(format_suffix):
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(format_suffix, image)
    assert header_size(encoded.tobytes()) == (53, 37)


@pytest.mark.parametrize("shape", [(1, 1), (3, 100000), (100000, 3), (8, 400)])
def test_frames_too_small_to_hold_a_feature_are_one_sentence(shape):
    ok, encoded = cv2.imencode(".png", np.zeros((*shape, 3), np.uint8))
    with pytest.raises(FrameSizeError, match=r"too small to judge focus in \(at least 16 px a side\)"):
        decode_image(encoded.tobytes(), "tiny.png")


def test_a_folder_with_hostile_files_plays_the_good_ones_and_names_the_rest(tmp_path):
    good = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a_good.png"), good)
    (tmp_path / "b_bomb.png").write_bytes(_png_bomb(30000, 30000))
    cv2.imwrite(str(tmp_path / "c_tiny.png"), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "d_sliver.png"), np.zeros((3, 100000, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "e_good.png"), good)
    camera = FolderCamera(tmp_path)
    camera.open()
    delivered, refused = [], []
    while True:
        try:
            delivered.append(camera.read_frame().source)
        except CorruptFrameError as error:
            refused.append(error.user_message)
        except EndOfStream:
            break
    assert [p.rsplit("/", 1)[-1] for p in delivered] == ["a_good.png", "e_good.png"]
    assert [m.split(" ", 1)[0] for m in refused] == ["b_bomb.png", "c_tiny.png", "d_sliver.png"]


def test_analyze_over_hostile_files_reports_each_and_judges_the_rest(tmp_path, capsys):
    rng = np.random.default_rng(2)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (200, 260, 3), dtype=np.uint8), (0, 0), 1.2)
    cv2.imwrite(str(tmp_path / "f1.png"), texture)
    (tmp_path / "f2.png").write_bytes(_png_bomb(30000, 30000))
    cv2.imwrite(str(tmp_path / "f3.png"), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "f4.png"), texture)
    code = main(["analyze", str(tmp_path), "--roi", "60,50,120,100", "--json"])
    captured = capsys.readouterr()
    assert code == 0 and "Traceback" not in captured.err
    import json

    report = json.loads(captured.out)
    states = [frame["state"] for frame in report["frames"]]
    assert states[0] != "lost" and states[3] != "lost"
    assert "declares 30000×30000" in captured.err and "too small to judge focus" in captured.err
