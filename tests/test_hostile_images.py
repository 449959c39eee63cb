"""Issue 28, item 3: pictures from other machines cannot make focuslock decode a bomb.

The format is told by the content, as OpenCV tells it; only PNG, JPEG, BMP, WebP and
TIFF are decoded, each after its declared size was read wherever it is in the file; the
recipe's reference goes through the same reader; OpenCV's own pixel limit is a second
wall. Each bomb is read in a child process that counts the decoder's calls: a bomb is
refused from what its header declares, before any decoding (the behaviour that keeps its
pixels from being allocated; memory figures are scripts/soak.py's and scripts/bench.py's).
An address-space limit there only guards the machine if the reader breaks, and a timeout
only guards against a hang — neither is the assertion.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from focuslock.devices.folder import read_bgr_image
from focuslock.io.limits import ImageFormatError, decode_image
from tests.camera.test_limits import _png_bomb

_READ = r"""
import json, sys
from pathlib import Path
import cv2
from focuslock.devices.base import CorruptFrameError
from focuslock.devices.folder import read_bgr_image
from focuslock.session.recipe import RecipeError, load_recipe
decodes = []
_imdecode = cv2.imdecode
def _counted(*args, **kwargs):
    decodes.append(1)
    return _imdecode(*args, **kwargs)
cv2.imdecode = _counted
path = Path(sys.argv[2])
try:
    result = load_recipe(path)[1] if sys.argv[1] == "recipe" else read_bgr_image(path)
    print(json.dumps({"read": list(result.shape), "decodes": len(decodes)}))
except (CorruptFrameError, RecipeError) as error:
    print(json.dumps({"refused": str(error), "decodes": len(decodes)}))
"""


# The child reports its own peak (VmHWM: the high-water mark of the memory it has since
# exec). The kernel's rusage (wait4, RUSAGE_SELF) also keeps the high-water mark of the
# process image before exec — a fork of the test worker, which after a few hundred tests
# is itself 400 MB — so in a full run it measured the worker, not the reading.
_PEAK = """
import sys
try:
    with open("/proc/self/status") as _status:
        _peak = next(int(line.split()[1]) for line in _status if line.startswith("VmHWM:"))
except OSError:
    import resource
    _peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
print(f"PEAK_KB {_peak}", file=sys.stderr)
"""


def run_measured(code: str, *args: str, guard_mb: int = 3000, timeout_s: float = 120) -> tuple[str, str, float]:
    """Run ``code`` in a fresh Python: (stdout, stderr without the peak line, peak memory in MB)."""
    def guard() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (guard_mb << 20, guard_mb << 20))

    process = subprocess.Popen([sys.executable, "-c", code + _PEAK, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=guard)
    timer = threading.Timer(timeout_s, process.kill)
    timer.start()
    try:
        out, err = process.stdout.read(), process.stderr.read()
        _, _, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
        process.stdout.close()
        process.stderr.close()
        process.returncode = 0  # reaped by wait4
    peaks = [line for line in err.splitlines() if line.startswith("PEAK_KB ")]
    err = "\n".join(line for line in err.splitlines() if not line.startswith("PEAK_KB "))
    # A child that died before reporting (the guard hit): the kernel's figure, an upper bound.
    peak_kb = int(peaks[-1].split()[1]) if peaks else usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
    return out, err, peak_kb / 1024.0


def _gif_bomb(width: int, height: int) -> bytes:
    """35 bytes: a GIF whose screen and image are ``width``×``height``, no pixel data."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x2c\x00\x00;")


def _app_segments(total: int) -> bytes:
    """APP5 segments of zeros, ``total`` bytes or a little more: markers before the frame header."""
    count = -(-total // 65004)
    return b"".join(b"\xff\xe5" + struct.pack(">H", 65002) + bytes(65000) for _ in range(count))


def _jpeg_with_late_frame_header(picture: np.ndarray, declared: tuple[int, int] | None = None) -> bytes:
    """A real JPEG with 320 KB of markers before its frame header (SOF); the header
    rewritten to declare ``declared`` (width, height) when given."""
    data = bytearray(cv2.imencode(".jpg", picture)[1].tobytes())
    if declared:
        at = data.index(b"\xff\xc0")
        data[at + 5 : at + 9] = struct.pack(">HH", declared[1], declared[0])
    return bytes(data[:2]) + _app_segments(320 << 10) + bytes(data[2:])


def _hdr_bomb(width: int, height: int) -> bytes:
    """A Radiance HDR of black, run-length coded: 16 MB for 16000×16000 (3.7 GB decoded)."""
    runs = b"".join(bytes((128 + min(127, width - start), 0)) for start in range(0, width, 127))
    line = bytes((2, 2, width >> 8, width & 255)) + runs * 4
    return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {height} +X {width}\n".encode() + line * height


def _tiff_with_directory_at_the_end(width: int, height: int, small_twin: bool = False) -> bytes:
    """A grey 8-bit TIFF of zeros, deflated, its only directory after the pixel data (as
    libtiff writes it); with ``small_twin`` each side named a second time, as 100 px
    (libtiff keeps the first)."""
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(bytes(width)) for _ in range(height)) + compressor.flush()
    body += bytes(len(body) & 1)
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, 8), (277, 3, 1),
               (278, 4, height), (279, 4, len(body))]
    if small_twin:
        entries[2:2] = [(256, 4, 100), (257, 4, 100)]
    table = b"".join(struct.pack("<HHI", tag, kind, 1) + (struct.pack("<I", value) if kind == 4
                                                          else struct.pack("<HH", value, 0))
                     for tag, kind, value in entries)
    return b"II*\x00" + struct.pack("<I", 8 + len(body)) + body + struct.pack("<H", len(entries)) + table + bytes(4)


def _recipe_with_reference(folder: Path, reference: bytes) -> Path:
    (folder / "ref.png").write_bytes(reference)
    recipe = folder / "recipe.toml"
    recipe.write_text('format = 1\nname = "studio"\nreference = "ref.png"\n\n[[features]]\nbox = [10, 10, 100, 100]\n')
    return recipe


# (file name, its bytes, what is read, the sentence's words). Sizes within OpenCV's own
# default limit (1 GP), so that without focuslock's checks each would be decoded.
BOMBS = {
    "a 35-byte GIF named .tif": ("bomb.tif", lambda: _gif_bomb(30000, 30000), "image",
                                 "bomb.tif is a GIF file (by its content), a format focuslock does not decode"),
    "a JPEG whose frame header comes after 256 KB": (
        "late.jpg", lambda: _jpeg_with_late_frame_header(np.full((48, 64, 3), 128, np.uint8), (30000, 30000)), "image",
        "late.jpg declares 30000×30000 pixels (900 MP), more than the 200 MP focuslock decodes"),
    "a Radiance HDR named .png": ("light.png", lambda: _hdr_bomb(16000, 16000), "image",
                                  "light.png is a Radiance HDR file (by its content), a format focuslock does not decode"),
    "a TIFF with its directory at the end": (
        "end.tif", lambda: _tiff_with_directory_at_the_end(30000, 30000), "image",
        "end.tif declares 30000×30000 pixels (900 MP), more than the 200 MP focuslock decodes"),
    "a TIFF naming its size twice": (
        "twice.tif", lambda: _tiff_with_directory_at_the_end(30000, 30000, small_twin=True), "image",
        "twice.tif declares 30000×30000 pixels (900 MP), more than the 200 MP focuslock decodes"),
    "a recipe's reference PNG": ("recipe", lambda: _png_bomb(30000, 30000), "recipe",
                                 "recipe.toml: ref.png declares 30000×30000 pixels (900 MP), more than the 200 MP"),
}


@pytest.mark.parametrize("case", list(BOMBS))
def test_each_bomb_is_refused_in_one_sentence_naming_it_before_any_decoding(tmp_path, case):
    name, make, what, words = BOMBS[case]
    if what == "recipe":
        path = _recipe_with_reference(tmp_path, make())
    else:
        path = tmp_path / name
        path.write_bytes(make())
    out, err, _ = run_measured(_READ, what, str(path))
    assert out.strip(), f"the reader died: {err[-400:]}"
    result = json.loads(out)
    assert "refused" in result, f"{case} was decoded: {result}"
    sentence = result["refused"]
    assert sentence.startswith(words) and sentence.endswith(".") and "\n" not in sentence
    assert sentence.count(". ") == 0 and "Traceback" not in err
    assert result["decodes"] == 0, f"{case} reached the decoder before it was refused"


@pytest.mark.parametrize("kind, head", [
    ("PNM", b"P6\n30000 30000\n255\n"), ("PNM", b"P5 30000 30000 255 "), ("PFM", b"PF\n30000 30000\n-1.0\n"),
    ("OpenEXR", b"\x76\x2f\x31\x01\x02\x00\x00\x00"), ("GIF", b"GIF87a\x30\x75\x30\x75\x00\x00\x00"),
    ("JPEG 2000", b"\xff\x4f\xff\x51\x00\x2f\x00\x00"), ("Sun raster", b"\x59\xa6\x6a\x95" + bytes(28)),
])
def test_formats_whose_size_is_not_read_first_are_refused_naming_file_and_format(tmp_path, kind, head):
    path = tmp_path / "frame.jpg"
    path.write_bytes(head + bytes(64))
    with pytest.raises(ImageFormatError) as refused:
        read_bgr_image(path)
    assert str(refused.value).startswith(f"frame.jpg is a {kind} file (by its content)")
    with pytest.raises(ImageFormatError, match=f"^frame.jpg is a {kind} file"):
        decode_image(head + bytes(64), "frame.jpg")


def _picture(height: int = 600, width: int = 800) -> np.ndarray:
    rng = np.random.default_rng(5)
    small = rng.integers(0, 255, (height // 20, width // 20, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp", ".tif"])
def test_normal_pictures_of_each_accepted_format_still_read(tmp_path, suffix):
    picture = _picture()
    path = tmp_path / f"shot{suffix}"
    assert cv2.imwrite(str(path), picture)
    read = read_bgr_image(path)
    assert read.shape == picture.shape
    assert np.abs(read.astype(int) - picture).mean() < 3  # lossy JPEG/WebP within a few levels


def test_a_jpeg_with_its_frame_header_after_320_kb_and_a_tiff_with_its_directory_at_the_end_still_read(tmp_path):
    picture = _picture()
    late = tmp_path / "late.jpg"
    late.write_bytes(_jpeg_with_late_frame_header(picture))
    assert late.read_bytes().index(b"\xff\xc0") > 256 << 10
    assert read_bgr_image(late).shape == picture.shape
    tiff = tmp_path / "end.tif"
    tiff.write_bytes(_tiff_with_directory_at_the_end(640, 480))
    assert read_bgr_image(tiff).shape == (480, 640, 3)


def test_a_recipe_with_a_normal_reference_still_loads(tmp_path):
    recipe = _recipe_with_reference(tmp_path, cv2.imencode(".png", _picture())[1].tobytes())
    out, err, _ = run_measured(_READ, "recipe", str(recipe))
    assert json.loads(out) == {"read": [600, 800, 3], "decodes": 1}, err[-400:]


def test_opencv_own_pixel_limit_is_set_to_200_mp_before_it_is_imported(tmp_path):
    """The second wall: a PNG of 225 MP handed to OpenCV directly, past focuslock's check."""
    path = tmp_path / "big.png"
    path.write_bytes(_png_bomb(15000, 15000))
    code = ("import sys, focuslock.io.limits, cv2, numpy as np\n"
            "try:\n    image = cv2.imdecode(np.fromfile(sys.argv[1], np.uint8), cv2.IMREAD_COLOR)\n"
            "    print('decoded' if image is not None else 'none')\n"
            "except cv2.error as error:\n    print('refused' if 'MAX_IMAGE_PIXELS' in str(error) else error)\n")
    out, err, _ = run_measured(code, str(path))
    assert out.strip() == "refused", err[-400:]


def test_a_pipe_named_like_a_picture_is_refused_without_hanging(tmp_path):
    path = tmp_path / "shot.jpg"
    os.mkfifo(path)
    out, err, _ = run_measured(_READ, "image", str(path), timeout_s=60)
    assert json.loads(out) == {"refused": "shot.jpg is not a regular file (a pipe or a device); it was skipped.",
                               "decodes": 0}, err


def test_a_small_picture_padded_to_400_mb_is_refused_before_it_is_read(tmp_path):
    """A 64×48 JPEG followed by 400 MB of zeros (a sparse file: nothing on disk)."""
    path = tmp_path / "padded.jpg"
    path.write_bytes(cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes())
    os.truncate(path, 400_000_000)
    out, err, _ = run_measured(_READ, "image", str(path))
    assert out.strip(), f"the reader died or was stopped: {err[-400:]}"
    # Refused from its size against its header's, before a byte of it was read past the header.
    assert json.loads(out) == {"refused": "padded.jpg is 400 MB, more than a picture of 64×48 pixels can take; "
                                          "it was skipped.", "decodes": 0}
