"""Names from tokens, and the SKU read from a card held before the bench's lens.

The card is pasted into a real frame of the simulated bench (the bench has no card of
its own), slightly out of focus and with the bench's noise; the codes are drawn here
(QR by OpenCV's encoder, EAN-13 from its specification) and read by OpenCV's detectors,
as the product does."""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np
import pytest

from focuslock.session.naming import NamePattern, NamingError, name_shot, read_product_code
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench

_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011")
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")


def _ean13_modules(code: str) -> str:
    """The 95 modules (1 = bar) of an EAN-13 code (ISO/IEC 15420)."""
    right = ["".join("1" if b == "0" else "0" for b in pattern) for pattern in _L]
    left = "".join(_L[int(d)] if p == "L" else right[int(d)][::-1] for d, p in zip(code[1:7], _PARITY[int(code[0])]))
    return "101" + left + "01010" + "".join(right[int(d)] for d in code[7:]) + "101"


def _card(code_picture: np.ndarray, size_px: tuple[int, int]) -> np.ndarray:
    """A white card (RGB) with the code in its middle."""
    w, h = size_px
    card = np.full((h, w, 3), 245, np.uint8)
    ch, cw = code_picture.shape[:2]
    y, x = (h - ch) // 2, (w - cw) // 2
    card[y : y + ch, x : x + cw] = cv2.cvtColor(code_picture, cv2.COLOR_GRAY2RGB)
    return card


def _bench_frame_with(card: np.ndarray) -> np.ndarray:
    bench = SimulatedBench(BenchConfig(live_view_size_px=(1024, 680), frame_rate_hz=None))
    bench.open()
    try:
        frame = bench.read_frame().image.copy()
    finally:
        bench.close()
    h, w = card.shape[:2]
    y, x = 120, 300
    # Held in front of the lens, nearer than the plane of focus: a little soft.
    frame[y : y + h, x : x + w] = cv2.GaussianBlur(card, (0, 0), 0.8)
    noise = np.random.default_rng(4).normal(0, 2.0, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def test_a_qr_card_on_the_bench_names_the_next_capture_and_no_name_is_used_twice(tmp_path):
    qr = cv2.QRCodeEncoder.create().encode("SKU-48213-B")
    qr = cv2.resize(qr, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    frame = _bench_frame_with(_card(qr, (260, 260)))
    code = read_product_code(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert code is not None and code.text == "SKU-48213-B" and code.kind == "QR"
    xs = [x for x, _ in code.corners_px]
    assert 300 <= min(xs) and max(xs) <= 560  # where the card is: the window outlines it for confirmation

    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None, capture_width_px=800))
    bench.open()
    try:
        pattern = NamePattern("{session}_{sku}_{seq:04d}")
        when = datetime(2026, 11, 22, 14, 5, 0)
        named = []
        for _ in range(2):  # the same sequence number twice (a retake): never one name for two files
            (shot,) = bench.capture(tmp_path)
            name = pattern.render(session="bottles", sequence=42, sku=code.text, when=when, extension=shot.suffix)
            named.append(name_shot(shot, name))
    finally:
        bench.close()
    assert [p.name for p in named] == ["bottles_SKU-48213-B_0042.JPG", "bottles_SKU-48213-B_0042-2.JPG"]
    assert all(cv2.imread(str(p)) is not None for p in named)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in named)


def test_an_ean13_card_on_the_bench_is_read_with_its_kind():
    modules = _ean13_modules("4006381333931")
    bars = np.array([[0 if m == "1" else 255 for m in modules]], np.uint8)
    barcode = cv2.resize(bars, (95 * 3, 120), interpolation=cv2.INTER_NEAREST)
    barcode = cv2.copyMakeBorder(barcode, 0, 0, 30, 30, cv2.BORDER_CONSTANT, value=255)  # the quiet zones
    frame = _bench_frame_with(_card(barcode, (400, 200)))
    code = read_product_code(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert code is not None and code.text == "4006381333931" and "EAN" in code.kind


def test_a_frame_without_a_card_names_nothing():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(1024, 680), frame_rate_hz=None))
    bench.open()
    try:
        frame = bench.read_frame().image
    finally:
        bench.close()
    assert read_product_code(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)) is None


def test_names_are_safe_and_patterns_are_checked():
    pattern = NamePattern("{date}_{sku}_{seq:03d}_{verdict}")
    when = datetime(2026, 11, 22, 9, 30, 15)
    # A code may hold anything: it never adds a folder or a hidden file.
    name = pattern.render(session="s", sequence=7, sku="../A/B:C", when=when, extension=".CR3", verdict="pass")
    assert "/" not in name and ":" not in name and not name.startswith(".")
    assert name.startswith("20261122_") and name.endswith("_007_pass.CR3")
    assert NamePattern("{original}-{time}").render(session="s", sequence=1, when=when, extension=".JPG",
                                                   original="DSC_0001") == "DSC_0001-093015.JPG"
    for bad, words in (("{session}_{barcode}", "uses {barcode}"), ("{session}_{sku}", "same name"),
                       ("{session}_{seq", "unmatched brace"), ("{sku:>8}_{seq}", "Only {seq} takes a format")):
        with pytest.raises(NamingError, match=words):
            NamePattern(bad)
