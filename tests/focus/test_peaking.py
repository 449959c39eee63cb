"""Focus peaking on the simulated bench (which knows what is sharp) and on real stacks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from focuslock.focus.peaking import PeakingSettings, compute_peaking, luma, paint_peaking
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench


def _frame(**overrides):
    bench = SimulatedBench(BenchConfig(**{"live_view_size_px": (512, 340), "frame_rate_hz": None, **overrides}))
    bench.open()
    frame = bench.read_frame()
    return bench, frame


def test_peaking_lights_what_is_in_focus_and_not_what_is_blurred():
    bench, frame = _frame()
    peaking = compute_peaking(frame.image, PeakingSettings())
    blur = bench.truth_blur_map_px(frame)
    lit = peaking.band > 0
    sharp_lit = lit[blur < 1.0].mean()
    blurred_lit = lit[blur > 4.0].mean()
    assert sharp_lit > 10 * max(blurred_lit, 1e-4)
    assert 0.002 < peaking.lit_fraction < 0.2


def test_every_operator_prefers_the_in_focus_band():
    bench, frame = _frame()
    blur = bench.truth_blur_map_px(frame)
    contrast = {}
    for operator in ("laplacian", "sobel", "detail"):
        response = compute_peaking(frame.image, PeakingSettings(operator=operator)).response.astype(np.float32)
        contrast[operator] = response[blur < 1.0].mean() / response[blur > 4.0].mean()
    assert all(ratio > 1.3 for ratio in contrast.values()), contrast
    # Blurred edges keep a gradient; the second derivative and darktable's two-scale
    # detail (which subtracts the coarse gradient) tell in-focus detail apart better.
    assert contrast["laplacian"] > 2.5 and contrast["detail"] > contrast["sobel"], contrast


def test_high_iso_noise_does_not_light_up_a_defocused_scene():
    """Statistical thresholds never drop below the noise floor read from the frame."""
    bench = SimulatedBench(BenchConfig(live_view_size_px=(512, 340), frame_rate_hz=None, iso=6400, f_number=2.8,
                                       exposure_s=1 / 15000, focus_start_steps=1200))  # far from everything
    bench.open()
    frame = bench.read_frame()
    assert bench.truth_blur_map_px(frame).min() > 6
    peaking = compute_peaking(frame.image, PeakingSettings())
    assert peaking.lit_fraction < 0.003
    # A plain "mean + 2.5σ" rule without the noise floor would light the grain.
    naive = compute_peaking(frame.image, PeakingSettings(noise_floor_sigmas=0.0))
    assert naive.lit_fraction > 5 * max(peaking.lit_fraction, 1e-4)


def test_adaptive_threshold_keeps_the_chosen_share_lit():
    _, frame = _frame()
    for share in (0.005, 0.02):
        peaking = compute_peaking(frame.image, PeakingSettings(threshold_mode="adaptive", levels=(share,)))
        lit = float((peaking.band > 0).mean())
        assert share * 0.5 < lit < share * 1.6


def test_fixed_threshold_is_the_level_given():
    _, frame = _frame()
    peaking = compute_peaking(frame.image, PeakingSettings(threshold_mode="fixed", levels=(30,)))
    assert peaking.thresholds == (30.0,)
    assert np.array_equal(peaking.band > 0, peaking.response >= 30)


def test_three_bands_nest():
    _, frame = _frame()
    peaking = compute_peaking(frame.image, PeakingSettings.three_bands())
    counts = [int((peaking.band == k).sum()) for k in (1, 2, 3)]
    assert set(np.unique(peaking.band)) <= {0, 1, 2, 3}
    at_least = [int((peaking.band >= k).sum()) for k in (1, 2, 3)]
    assert at_least[0] > at_least[1] > at_least[2] > 0
    assert peaking.thresholds[0] < peaking.thresholds[1] < peaking.thresholds[2]
    assert sum(counts) == at_least[0]


def test_favouring_texture_damps_strong_steps():
    image = np.full((120, 240), 60, np.uint8)
    image[:, 120:] = 200  # one strong step
    rng = np.random.default_rng(3)
    image[20:100, 20:100] = (120 + 40 * (rng.random((80, 80)) > 0.5)).astype(np.uint8)  # fine texture
    rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    plain = compute_peaking(rgb, PeakingSettings(threshold_mode="fixed", levels=(1,))).response.astype(float)
    texture = compute_peaking(rgb, PeakingSettings(threshold_mode="fixed", levels=(1,), favour_texture=True)).response.astype(float)
    step = (slice(30, 90), slice(118, 122))
    fine = (slice(30, 90), slice(30, 90))
    assert texture[step].mean() / texture[fine].mean() < 0.6 * plain[step].mean() / plain[fine].mean()


def test_display_modes():
    _, frame = _frame()
    settings = PeakingSettings(auto_colour=False)
    peaking = compute_peaking(frame.image, settings)
    lit = peaking.band > 0
    colour = paint_peaking(frame.image, peaking, settings)
    assert np.array_equal(colour[~lit], frame.image[~lit])
    assert np.all(colour[lit] == settings.colours_rgb[0])
    mono = paint_peaking(frame.image, peaking, PeakingSettings(display="mono", auto_colour=False))
    assert np.all(mono[~lit][:, 0] == mono[~lit][:, 1]) and np.all(mono[~lit][:, 1] == mono[~lit][:, 2])
    outline = paint_peaking(frame.image, peaking, PeakingSettings(display="outline", auto_colour=False))
    assert outline[~lit].max() == 0 and np.all(outline[lit] == settings.colours_rgb[0])
    thin = compute_peaking(frame.image, PeakingSettings(thin_lines=True))
    assert 0 < (thin.band > 0).sum() < lit.sum()
    assert paint_peaking(frame.image, peaking, settings) is not frame.image


def test_peaking_can_be_restricted_to_the_roi():
    _, frame = _frame()
    roi = (100, 80, 120, 60)
    peaking = compute_peaking(frame.image, PeakingSettings(roi_only=True), roi_px=roi)
    assert peaking.band.shape == (60, 120) and peaking.offset_px == (100, 80)
    painted = paint_peaking(frame.image, peaking, PeakingSettings(roi_only=True))
    outside = np.ones(frame.image.shape[:2], bool)
    outside[80:140, 100:220] = False
    assert np.array_equal(painted[outside], frame.image[outside])


def test_computed_on_the_native_frame_whatever_the_display_shows():
    """Peaking of a crop (a zoomed display) matches the same pixels of the full frame's."""
    _, frame = _frame()
    settings = PeakingSettings(threshold_mode="fixed", levels=(25,))
    full = compute_peaking(frame.image, settings)
    crop = np.ascontiguousarray(frame.image[100:200, 150:300])
    zoomed = compute_peaking(crop, settings)
    assert np.array_equal(full.band[101:199, 151:299], zoomed.band[1:-1, 1:-1])


def test_nonsense_settings_are_refused():
    with pytest.raises(ValueError, match="operator"):
        PeakingSettings(operator="magic")
    with pytest.raises(ValueError, match="weakest to the strongest"):
        PeakingSettings(levels=(5.0, 2.5), colours_rgb=((1, 1, 1), (2, 2, 2)))
    with pytest.raises(ValueError, match="colour for each"):
        PeakingSettings(levels=(1.0, 2.0))


def test_peaking_on_a_real_stack_follows_the_focus(focus_stacks):
    """pcb_001 is focused on the front (the USB socket), pcb_007 on the barcode at the back."""
    frames = [cv2.cvtColor(cv2.imread(str(focus_stacks / "pcb" / f"pcb_00{i}.jpg")), cv2.COLOR_BGR2RGB) for i in (1, 7)]
    socket = (slice(1000, 1100), slice(420, 840))
    barcode = (slice(20, 280), slice(500, 1400))
    lit = [compute_peaking(image, PeakingSettings()).band > 0 for image in frames]
    assert lit[0][socket].mean() > 2 * lit[1][socket].mean()
    assert lit[1][barcode].mean() > 2 * lit[0][barcode].mean()
    assert luma(frames[0]).shape == (1536, 2048)


def test_the_default_peaking_colour_contrasts_with_the_scene():
    from focuslock.focus.peaking import contrasting_colour

    rng = np.random.default_rng(8)
    grey = np.repeat(rng.integers(40, 220, (240, 320, 1), dtype=np.uint8), 3, axis=2)
    assert contrasting_colour(grey) == (255, 40, 40)  # a neutral scene keeps the usual red
    copper = grey.copy()
    copper[..., 0] = np.clip(grey[..., 0].astype(int) + 90, 0, 255)  # a copper coin / a red label
    copper[..., 2] = grey[..., 2] // 3
    chosen = contrasting_colour(copper)
    assert chosen != (255, 40, 40) and chosen != (255, 230, 20)  # not red, not the neighbouring yellow
    # Painted: the bench (a copper coin, red print) gets the chosen colour, not red.
    _, frame = _frame()
    peaking = compute_peaking(frame.image, PeakingSettings())
    painted = paint_peaking(frame.image, peaking, PeakingSettings())
    lit = peaking.band > 0
    assert peaking.contrast_colour_rgb == contrasting_colour(frame.image)
    assert np.all(painted[lit] == peaking.contrast_colour_rgb)


@pytest.mark.parametrize("settings", [PeakingSettings(threshold_mode="fixed", levels=(level,))
                                      for level in (1.0, 12.0, 40.5, 254.6, 255.0)] + [PeakingSettings()],
                         ids=lambda s: f"{s.threshold_mode}-{s.levels[0]}")
def test_the_live_paths_band_is_the_band_of_the_thresholded_response(settings):
    """The live path (a workspace) finds the band by one range test on the signed
    Laplacian instead of thresholding |Laplacian|: every pixel must land in the same band,
    fractional and saturating thresholds included, and the statistics must agree."""
    from focuslock.focus.peaking import Workspace

    _, frame = _frame(iso=1600)
    plain = compute_peaking(frame.image, settings)
    live = compute_peaking(frame.image, settings, workspace=Workspace())
    assert live.response is None  # the |Laplacian| image was not made
    assert live.thresholds == plain.thresholds and live.lit_fraction == plain.lit_fraction
    assert np.array_equal(live.band, plain.band)


@pytest.mark.parametrize("level", [1.0, 1.5, 2.0, 40.3, 126.0, 127.0, 127.5, 128.0, 129.0, 200.0, 255.0])
def test_a_frame_that_reuses_the_thresholds_lights_the_pixels_the_measured_frame_does(level):
    """Between two measurements of the thresholds the live path makes the band from the
    Laplacian offset by 128 in bytes, not from the signed Laplacian: every pixel must be
    lit as thresholding |Laplacian| lights it, at levels on either side of where the bytes
    saturate, on noise whose Laplacian saturates them both ways and on a camera frame."""
    from focuslock.focus.peaking import Workspace

    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    frames = [noise, (rng.integers(0, 2, (48, 64, 3)) * 255).astype(np.uint8), cv2.GaussianBlur(noise, (0, 0), 1.2),
              _frame(iso=1600)[1].image]
    settings = PeakingSettings(threshold_mode="fixed", levels=(level,))
    workspace = Workspace()
    for image in frames:
        measured = compute_peaking(image, settings)
        reusing = compute_peaking(image, settings, workspace=workspace, reuse=measured)
        assert reusing.thresholds == measured.thresholds and reusing.lit_fraction == measured.lit_fraction
        assert np.array_equal(reusing.band, measured.band)
