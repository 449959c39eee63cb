"""Issue 28.8, videos that claim too much: a timestamp that jumps a billion frames ahead,
or a header that claims a billion frames, costs one record and a true count — never a
record, a row or a progress step per claimed frame.

The videos are made here with PyAV: a Matroska take whose timestamps jump once, and an
AVI whose header (``avih`` and ``strh``) is rewritten to claim 10⁹ frames.
"""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

FRAMES = 40
RATE = 25
JUMP_AT = 20  # the packet from which the timestamps jump (a keyframe: gop 10)
JUMP_FRAMES = 10**9
ROI = "20,20,100,80"
# The analysis runs in a child with this much address space: enough for a take of 160×120
# pixels; the old code, a record per claimed frame, ran out of it.
CHILD_ADDRESS_SPACE = 4 * 2**30


def _picture(index: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 255, (30, 40), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    rgb = np.repeat(texture[:, :, None], 3, axis=2)
    rgb[:, index % 160, 0] = 255  # each frame a little different
    return rgb


def _write(path: Path, container: str, jump_at: int | None = None, jump: int = 0, codec: str = "mpeg4") -> Path:
    """FRAMES frames of MPEG-4 Part 2 (or ``codec``) at RATE fps; from packet ``jump_at``
    on, every timestamp ``jump`` frames later (one jump, the rest in step after it)."""
    out = av.open(str(path), "w", format=container)
    stream = out.add_stream(codec, rate=RATE)
    stream.width, stream.height = 160, 120
    stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    stream.codec_context.gop_size = 10
    count = 0

    def mux(packets) -> None:
        nonlocal count
        for packet in packets:
            if jump_at is not None and count >= jump_at:
                packet.pts += jump  # in the encoder's time base, 1/RATE: frames
                packet.dts += jump
            count += 1
            out.mux(packet)

    for index in range(FRAMES):
        mux(stream.encode(av.VideoFrame.from_ndarray(_picture(index), format="rgb24")))
    mux(stream.encode(None))
    out.close()
    return path


def _claim_frames(path: Path, claimed: int) -> Path:
    """Rewrite an AVI's main header (dwTotalFrames) and stream header (dwLength)."""
    data = bytearray(path.read_bytes())
    avih, strh = data.find(b"avih"), data.find(b"strh")
    assert avih > 0 and strh > 0
    struct.pack_into("<I", data, avih + 8 + 16, claimed)
    struct.pack_into("<I", data, strh + 8 + 32, claimed)
    path.write_bytes(bytes(data))
    return path


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


def test_a_timestamp_jump_of_a_billion_frames_is_one_record_in_the_json_and_the_csv(tmp_path):
    video = _write(tmp_path / "jump.mkv", "matroska", jump_at=JUMP_AT, jump=JUMP_FRAMES)
    assert video.stat().st_size < 200_000
    csv_path = tmp_path / "jump.csv"
    # The CLI in a child that reports its own peak memory when it ends (VmHWM since exec:
    # the kernel's rusage would also keep the forked test worker's image).
    code = ("import sys\nfrom focuslock.cli import main\ntry:\n    rc = main(sys.argv[1:])\nfinally:\n"
            "    with open('/proc/self/status') as status:\n"
            "        peak = next(int(l.split()[1]) for l in status if l.startswith('VmHWM:'))\n"
            "    sys.stderr.write(f'PEAK_KB {peak}\\n')\nsys.exit(rc)\n")
    child = subprocess.run(
        [sys.executable, "-c", code, "analyze", str(video), "--roi", ROI, "--no-track", "--json",
         "--csv", str(csv_path)],
        check=False, capture_output=True, preexec_fn=_limit_address_space, cwd=tmp_path,
    )
    assert child.returncode == 0, child.stderr.decode(errors="replace")[-2000:]
    assert len(child.stdout) < 1_000_000  # the JSON of a 40-frame take stays small
    frames = json.loads(child.stdout)["frames"]
    assert len(frames) <= FRAMES + 1
    gaps = [f for f in frames if f.get("error")]
    assert len(gaps) == 1  # the jump is one record, its first and last frame numbers
    gap = gaps[0]
    assert gap["index"] == JUMP_AT and gap["last_index"] == JUMP_AT + JUMP_FRAMES - 1
    assert "missing from the file (a jump in its timestamps)" in gap["error"]
    assert f"Frames {JUMP_AT:,}–{JUMP_AT + JUMP_FRAMES - 1:,}" in gap["error"]
    # The frames after the jump keep the numbers their timestamps give them.
    assert [f["index"] for f in frames if not f.get("error")][-1] == FRAMES - 1 + JUMP_FRAMES
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(frames) + 1
    assert sum("a jump in its timestamps" in row for row in rows) == 1
    # Peak memory of the child: far below a record per frame.
    peak_kb = int(next(line for line in child.stderr.decode().splitlines() if line.startswith("PEAK_KB ")).split()[1])
    assert peak_kb < 1_000_000  # KiB: under 1 GB


def test_a_header_claiming_a_billion_frames_is_not_the_progress_total(tmp_path):
    from focuslock.workflows.analyze import analyze

    video = _claim_frames(_write(tmp_path / "claims.avi", "avi"), JUMP_FRAMES)
    with av.open(str(video)) as container:
        assert container.streams.video[0].frames == JUMP_FRAMES  # the claim reaches the reader
    told = []
    report = analyze(str(video), tuple(int(v) for v in ROI.split(",")), lock_frame=0, track=False, progress=told.append)
    assert [r.index for r in report.frames] == list(range(FRAMES))
    assert not any(r.error for r in report.frames)
    assert told[-1].done == FRAMES  # what was read
    assert all(step.total is None for step in told)  # no bar sized from the claim


def test_a_damaged_end_is_not_stretched_to_the_frames_its_header_claims(tmp_path):
    from focuslock.workflows.analyze import analyze

    # Motion JPEG whose header claims 2000 frames (a count the file's size allows), the
    # last frame's JPEG overwritten with noise: that frame is lost, not frames 39–1999.
    video = _claim_frames(_write(tmp_path / "end.avi", "avi", codec="mjpeg"), 2000)
    data = bytearray(video.read_bytes())
    last_chunk = data.rfind(b"00dc", 0, data.find(b"idx1"))
    size = struct.unpack_from("<I", data, last_chunk + 4)[0]
    data[last_chunk + 8 : last_chunk + 8 + size] = np.random.default_rng(3).integers(0, 256, size, dtype=np.uint8).tobytes()
    video.write_bytes(bytes(data))
    report = analyze(str(video), tuple(int(v) for v in ROI.split(",")), lock_frame=0, track=False)
    lost = [r for r in report.frames if r.error]
    assert len(report.frames) == FRAMES and len(lost) == 1
    assert lost[0].index == FRAMES - 1 and f"Frame {FRAMES - 1} of" in lost[0].error  # not "Frames 39–1999"
    assert "could not be decoded" in lost[0].error
