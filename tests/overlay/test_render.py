"""The overlay renderer, overlay by overlay, on real frames of the simulated bench."""

from __future__ import annotations

import numpy as np
import pytest

from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.peaking import PeakingSettings
from focuslock.overlay.render import OverlayRenderer
from focuslock.overlay.settings import OverlaySettings, parse_aspect
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench

NONE = OverlaySettings(peaking=False, focus_meter=False)


@pytest.fixture(scope="module")
def frame():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(480, 320), frame_rate_hz=None))
    bench.open()
    return bench.read_frame().image


def _render(image, settings, **kwargs):
    return OverlayRenderer().render(image, None, PeakingSettings(), settings, **kwargs)


def test_nothing_on_leaves_the_frame_alone_and_never_paints_into_it(frame):
    out = _render(frame, NONE)
    assert np.array_equal(out, frame) and out is not frame


def test_grid_and_centre_mark(frame):
    out = _render(frame, OverlaySettings(peaking=False, grid=True, centre_mark=True))
    changed = np.any(out != frame, axis=2)
    assert changed[:, 160].mean() > 0.9 and changed[:, 320].mean() > 0.9  # thirds of 480
    assert changed[106, :].mean() > 0.9 and changed[213, :].mean() > 0.9  # thirds of 320
    assert changed[160, 240]  # the centre mark


def test_aspect_guide_darkens_what_the_crop_cuts(frame):
    out = _render(frame, OverlaySettings(peaking=False, aspect_guide="1:1"))
    # 480×320 cropped square: 80 px each side are outside.
    assert out[:, 10].mean() < 0.5 * frame[:, 10].mean()
    assert np.array_equal(out[5:-5, 240], frame[5:-5, 240])
    assert parse_aspect("16:9") == pytest.approx(16 / 9)
    with pytest.raises(ValueError):
        parse_aspect("1:100")


def test_safe_areas_draw_two_frames(frame):
    out = _render(frame, OverlaySettings(peaking=False, safe_areas=True))
    changed = np.any(out != frame, axis=2)
    assert changed[160, int(480 * 0.035)] and changed[160, int(480 * 0.05)]


def test_zebras_stripe_only_the_clipped(frame):
    import cv2

    image = frame.copy()
    image[50:90, 50:150] = 255
    out = _render(image, OverlaySettings(peaking=False, zebras=True))
    stripes = np.all(out == (255, 0, 255), axis=2)
    assert 0.3 < stripes[50:90, 50:150].mean() < 0.7  # striped, not filled
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert not stripes[luma < 250].any()  # nothing that does not clip


def test_ghost_blend_difference_split(frame):
    reference = np.roll(frame, 5, axis=1)
    blend = _render(frame, OverlaySettings(peaking=False, ghost_mode="blend", ghost_opacity=0.5), reference_rgb=reference)
    expected = (frame.astype(int) + reference.astype(int)) / 2
    assert np.abs(blend.astype(int) - expected).max() <= 1
    same = _render(frame, OverlaySettings(peaking=False, ghost_mode="difference"), reference_rgb=frame)
    assert same.max() == 0
    split = _render(frame, OverlaySettings(peaking=False, ghost_mode="split"), reference_rgb=reference)
    assert np.array_equal(split[:, :200], frame[:, :200]) and np.array_equal(split[:, 300:], reference[:, 300:])


def test_framing_drift_is_read_in_pixels(frame):
    renderer = OverlayRenderer()
    moved = np.roll(np.roll(frame, 12, axis=1), -7, axis=0)
    renderer.render(moved, None, PeakingSettings(), OverlaySettings(peaking=False, ghost_mode="blend"), reference_rgb=frame)
    dx, dy = renderer.drift_px
    assert dx == pytest.approx(12, abs=1.0) and dy == pytest.approx(-7, abs=1.0)


def test_loupe_shows_pixels_magnified(frame):
    settings = OverlaySettings(peaking=False, loupe_zoom=4, loupe_at=(240, 160))
    out = _render(frame, settings)
    source = max(96, 320 // 3) // 4
    inset = source * 4
    ox, oy = 480 - inset - 10, 320 - inset - 10
    x0, y0 = 240 - source // 2, 160 - source // 2
    # Nearest-neighbour: each source pixel becomes a 4×4 block.
    block = out[oy + 40 : oy + 44, ox + 40 : ox + 44]
    assert np.all(block == frame[y0 + 10, x0 + 10])
    with pytest.raises(ValueError, match="2 to 8"):
        OverlaySettings(loupe_zoom=12)


def test_histogram_is_drawn_bottom_left(frame):
    out = _render(frame, OverlaySettings(peaking=False, histogram="rgb"))
    assert np.any(out[-80:, 10:266] != frame[-80:, 10:266])
    assert np.array_equal(out[:100, 300:], frame[:100, 300:])


def test_feature_box_path_and_meter_with_peak_hold():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(480, 320), frame_rate_hz=None, drift_px_per_frame=(2.0, 0.0)))
    bench.open()
    engine = FocusEngine()
    renderer = OverlayRenderer()
    settings = FocusSettings().follow(bench.landmark_roi_px("coin-numeral"))
    engine.process(bench.read_frame().image, settings, 0)
    settings = settings.with_lock()
    for _ in range(6):
        image = bench.read_frame().image
        focus = engine.process(image, settings, 0)
        out = renderer.render(image, focus, settings.peaking, OverlaySettings(peaking=False))
    assert len(renderer.path) == 6 and renderer.path[-1][0] > renderer.path[0][0] + 8  # followed the drift
    assert renderer.meter_peak <= focus.lock.coc_share  # the hold keeps the least blur
    meter_column = out[:, 480 - 14 - 7]
    assert np.any(np.all(meter_column == (40, 220, 70), axis=1))  # the bar, in the SHARP green


@pytest.mark.parametrize("corner", ["bottom-right", "bottom-left", "top-right", "centre"])
def test_the_loupe_never_covers_the_followed_feature(frame, corner):
    """Wherever the followed box sits (the loupe's usual corner included), the 4× loupe
    is drawn elsewhere: the pixels of the box are the engine's picture, untouched."""
    height, width = frame.shape[:2]
    w, h = 60, 50
    x, y = {"bottom-right": (width - w - 20, height - h - 20), "bottom-left": (20, height - h - 20),
            "top-right": (width - w - 20, 20), "centre": ((width - w) // 2, (height - h) // 2)}[corner]
    engine = FocusEngine()
    focus = engine.process(frame, FocusSettings(peaking=PeakingSettings(enabled=False)).follow((x, y, w, h)))
    settings = OverlaySettings(peaking=False, focus_meter=False, hud=False, loupe_zoom=4)
    plain = OverlayRenderer().render(frame, focus, PeakingSettings(), OverlaySettings(peaking=False, focus_meter=False, hud=False))
    out = OverlayRenderer().render(frame, focus, PeakingSettings(), settings)
    inside = (slice(y + 3, y + h - 3), slice(x + 3, x + w - 3))  # inside the box's outline
    assert np.array_equal(out[inside], plain[inside])
    assert np.any(out != plain)  # the loupe was drawn


def test_overlays_drawn_at_the_display_size_keep_every_peaking_line_and_the_box_in_place(frame):
    """The window asks for its picture at the size it shows (here 0.6×): the picture is
    that size, the followed box lands where the frame's box scales to, and no peaking
    line of the frame disappears in the scaling."""
    height, width = frame.shape[:2]
    roi = (200, 120, 60, 50)
    focus = FocusEngine().process(frame, FocusSettings().follow(roi))
    plain = OverlaySettings(focus_meter=False)
    small = OverlaySettings(focus_meter=False, display_size_px=(int(width * 0.6), int(height * 0.6)))
    full = OverlayRenderer().render(frame, focus, PeakingSettings(), plain)
    shown = OverlayRenderer().render(frame, focus, PeakingSettings(), small)
    assert shown.shape[:2] == (round(height * 0.6), round(width * 0.6))
    peaking_colour = np.array(focus.peaking.contrast_colour_rgb or PeakingSettings().colours_rgb[0])
    lit_full = np.all(full == peaking_colour, axis=2)
    lit_shown = np.all(shown == peaking_colour, axis=2)
    # Every lit frame pixel maps to a lit display pixel (or one beside it).
    ys, xs = np.nonzero(lit_full)
    near = np.zeros_like(lit_shown)
    near[np.clip(np.round(ys * 0.6).astype(int), 0, lit_shown.shape[0] - 1),
         np.clip(np.round(xs * 0.6).astype(int), 0, lit_shown.shape[1] - 1)] = True
    covered = (lit_shown | np.roll(lit_shown, 1, 0) | np.roll(lit_shown, 1, 1) | np.roll(lit_shown, -1, 0) | np.roll(lit_shown, -1, 1))
    assert lit_full.sum() > 100 and (covered[near]).mean() > 0.97
    # The box's outline (white: following, not locked) sits at the scaled place.
    x, y = round(roi[0] * 0.6), round(roi[1] * 0.6)
    assert np.all(shown[y + 5, x - 1 : x + 2] >= 200)
    # A display as large as the frame changes nothing.
    same = OverlayRenderer().render(frame, focus, PeakingSettings(),
                                    OverlaySettings(focus_meter=False, display_size_px=(width, height)))
    assert np.array_equal(same, full)


def test_the_window_pipeline_draws_the_same_picture_while_preparing_it_beside_the_engine():
    """At the window's size the pipeline scales the frame and draws the ghost and zebras
    on a helper thread while the focus engine works: frame after frame, the picture must
    be exactly what drawing it in one piece gives (the same frame, the same settings),
    and closing the pipeline ends the helper."""
    import threading
    from dataclasses import replace

    from focuslock.runtime.pipeline import FramePipeline, PipelineSettings

    bench = SimulatedBench(BenchConfig(live_view_size_px=(640, 426), frame_rate_hz=None))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    reference = bench.read_frame().image
    overlay = OverlaySettings.everything(display_size_px=(400, 300), zebra_level=200)
    settings = PipelineSettings(focus=FocusSettings().follow(roi), overlay=overlay, reference_rgb=reference)
    pipeline = FramePipeline()
    renderer = OverlayRenderer()
    try:
        for index in range(6):
            bench.drive_focus(4)
            frame = bench.read_frame()
            focus_settings = settings.focus if index == 0 else settings.focus.with_lock()
            result = pipeline(frame, replace(settings, focus=focus_settings))
            shown = result.display
            alone = renderer.render(frame.image, result.focus, focus_settings.peaking, overlay, reference_rgb=reference,
                                        metadata=frame.metadata)
            assert shown.shape[:2] == (266, 400)
            assert np.array_equal(shown, alone), f"frame {index} differs"
        assert any(t.name.startswith("focuslock-overlay") for t in threading.enumerate())
    finally:
        pipeline.close()
        bench.close()
    assert not any(t.name.startswith("focuslock-overlay") and t.is_alive() for t in threading.enumerate())


def test_the_box_says_the_state_in_a_photographers_words_as_focus_racks_away():
    """The words on the feature's box, in the window and in every recording: in focus,
    softening, out of focus — never the engineer's "0.42 CoC" (issue 30)."""
    import re

    from focuslock.overlay.focus_layer import feature_label

    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None))
    bench.open()
    roi = bench.landmark_roi_px("coin-numeral")
    bench.drive_focus(int(round(bench.best_focus_position_steps(roi))))
    engine = FocusEngine()
    settings = FocusSettings().follow(roi)
    engine.process(bench.read_frame().image, settings)
    settings = settings.with_lock()
    labels = {}
    for _ in range(60):
        result = engine.process(bench.read_frame().image, settings)
        if result.features[0].lock is not None:
            labels[result.features[0].state] = feature_label(result.features[0])
        bench.drive_focus(8)
    assert {"sharp", "soft"} <= set(labels), labels
    assert labels["sharp"].startswith("IN FOCUS") and labels["soft"].startswith("OUT OF FOCUS"), labels
    assert not any(re.search(r"CoC|\bpx\b|σ", label) for label in labels.values()), labels
