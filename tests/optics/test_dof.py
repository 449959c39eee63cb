"""Depth of field: properties (hypothesis) and published worked cases, each cited."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from focuslock.optics.dof import depth_of_field, hyperfocal_distance_mm, macro_dof_mm, subject_distance_from_sensor
from focuslock.optics.lens_limits import OpticsError

focal_lengths = st.floats(10.0, 800.0)
f_numbers = st.floats(1.0, 45.0)
cocs = st.floats(0.005, 0.06)
pupils = st.floats(0.3, 3.0)


@settings(max_examples=300, deadline=None)
@given(focal_lengths, f_numbers, cocs, pupils, st.floats(1.05, 200.0))
def test_near_is_before_focus_is_before_far(f, n, c, p, distance_in_focal_lengths):
    result = depth_of_field(f, n, c, distance_mm=f * distance_in_focal_lengths, distance_from="lens", pupil_ratio=p)
    assert result.near_mm <= result.subject_distance_mm <= result.far_mm
    assert result.front_mm >= 0 and result.back_mm >= 0
    assert result.total_mm == pytest.approx(result.front_mm + result.back_mm) or math.isinf(result.total_mm)


@settings(max_examples=200, deadline=None)
@given(focal_lengths, f_numbers, cocs, st.floats(1.05, 100.0), st.floats(1.05, 2.0))
def test_depth_of_field_grows_with_f_number(f, n, c, distance_in_focal_lengths, factor):
    assume(n * factor <= 64)
    s = f * distance_in_focal_lengths
    wide = depth_of_field(f, n, c, distance_mm=s, distance_from="lens")
    narrow = depth_of_field(f, n * factor, c, distance_mm=s, distance_from="lens")
    assert narrow.total_mm >= wide.total_mm


@settings(max_examples=200, deadline=None)
@given(focal_lengths, f_numbers, cocs, st.floats(1.05, 100.0), st.floats(1.01, 3.0))
def test_depth_of_field_grows_with_distance(f, n, c, distance_in_focal_lengths, factor):
    s = f * distance_in_focal_lengths
    closer = depth_of_field(f, n, c, distance_mm=s, distance_from="lens")
    farther = depth_of_field(f, n, c, distance_mm=s * factor, distance_from="lens")
    assert farther.total_mm >= closer.total_mm


@settings(max_examples=200, deadline=None)
@given(focal_lengths, f_numbers, cocs, pupils, st.floats(0.5, 1.5))
def test_far_becomes_infinite_exactly_at_the_hyperfocal_distance(f, n, c, p, fraction):
    hyperfocal = hyperfocal_distance_mm(f, n, c)
    assume(hyperfocal * fraction > f * 1.01)
    result = depth_of_field(f, n, c, distance_mm=hyperfocal * fraction, distance_from="lens", pupil_ratio=p)
    # (Where the near limit lies there for P = 1 is DOFMaster's formula, checked below.)
    assert math.isinf(result.far_mm) == (fraction >= 1.0)


def test_just_inside_and_at_the_hyperfocal_distance():
    hyperfocal = hyperfocal_distance_mm(50, 8, 0.03)
    assert math.isfinite(depth_of_field(50, 8, 0.03, distance_mm=hyperfocal * (1 - 1e-9), distance_from="lens").far_mm)
    at = depth_of_field(50, 8, 0.03, distance_mm=hyperfocal, distance_from="lens")
    # Focused at H, everything from H/2 to infinity is sharp.
    assert math.isinf(at.far_mm) and at.near_mm == pytest.approx(hyperfocal / 2, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(30.0, 200.0), f_numbers, cocs, pupils, st.floats(0.2, 10.0))
def test_the_macro_approximation_converges_to_the_exact_result(f, n, c, p, m):
    exact = depth_of_field(f, n, c, magnification=m, pupil_ratio=p).total_mm
    approx = macro_dof_mm(n, c, m, p)
    # The approximation drops (N·c/f)² against m² and the near/far asymmetry: the
    # smaller the depth of field compared with the focal length, the closer it is.
    relative_error = abs(exact - approx) / exact
    assert relative_error < 10 * (approx / (f / m)) + 1e-3


def test_the_approximation_error_shrinks_as_magnification_grows():
    errors = [abs(depth_of_field(100, 8, 0.03, magnification=m).total_mm - macro_dof_mm(8, 0.03, m)) / macro_dof_mm(8, 0.03, m)
              for m in (0.1, 0.3, 1.0, 3.0)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-4


@settings(max_examples=200, deadline=None)
@given(focal_lengths, st.floats(4.2, 200.0))
def test_distance_from_the_sensor_solves_the_thin_lens_equation(f, distance_in_focal_lengths):
    d = f * distance_in_focal_lengths
    s = subject_distance_from_sensor(f, d)
    v = f * s / (s - f)
    assert s + v == pytest.approx(d, rel=1e-9)
    result = depth_of_field(f, 8, 0.03, distance_mm=d)
    assert result.distance_from_sensor_mm == pytest.approx(d, rel=1e-9)


# ------------------------------------------------------------------- published cases
def test_hyperfocal_50mm_f8():
    """A worked case; DOFMaster's formula H = f²/(N·c) + f
    (http://dofmaster.com/equations.html): 50 mm, f/8, c = 0.030 mm → 10 467 mm."""
    assert round(depth_of_field(50, 8, 0.030, distance_mm=3000).hyperfocal_mm) == 10467


def test_zerene_one_to_one_at_f16():
    """Zerene Stacker DOF calculator (https://zerenesystems.com/cms/stacker/docs/dofcalculator):
    magnification 1, f/16 (effective f/32): wave-optics DOF 2.253 mm; with c = 0.030 mm,
    classic DOF 1.92 mm. Also Table 2-A of .../docs/tables/macromicrodof."""
    result = depth_of_field(100, 16, 0.030, magnification=1)
    assert result.effective_f_number == pytest.approx(32)
    assert round(result.wave_dof_mm, 3) == 2.253
    assert round(result.total_mm, 2) == 1.92


@pytest.mark.parametrize("f_number, classic_mm, wave_mm", [(2.8, 0.0242, 0.0248), (4.0, 0.0346, 0.0507)])
def test_mp_e_65_at_5x(f_number, classic_mm, wave_mm):
    """photomacrography.net, "MPE 65 DOF Calculation For f/2.8 and f/4.0" (R. J. Littlefield,
    2017-11-10, https://www.photomacrography.net/forum/viewtopic.php?t=35788): at 5×, c = 0.018
    mm, classic DOF 0.0242 mm (f/2.8) and 0.0346 mm (f/4); wave optics 0.0248 and 0.0507 mm."""
    result = depth_of_field(65, f_number, 0.018, magnification=5)
    assert round(result.total_mm, 4) == classic_mm
    assert round(result.wave_dof_mm, 4) == wave_mm


@pytest.mark.parametrize(
    "magnification, f_number, dof_mm, effective",
    [(0.1, 1.0, 4.2, 1.1), (0.5, 2.0, 0.46, 3.0), (1.0, 2.8, 0.21, 5.6), (1.0, 4.0, 0.30, 8.0), (5.0, 2.8, 0.026, 17.0),
     (10.0, 4.0, 0.017, 44.0)],
)
def test_savazzi_table_1(magnification, f_number, dof_mm, effective):
    """E. Savazzi, "Digital photography for science: close-up photography, macrophotography
    and photomacrography", companion spreadsheet Table 1 (DoF and effective aperture E by
    nominal aperture and magnification, APS-C c = 0.019 mm), two significant digits."""
    result = depth_of_field(60, f_number, 0.019, magnification=magnification)
    assert float(f"{result.total_mm:.2g}") == pytest.approx(dof_mm)
    assert float(f"{result.effective_f_number:.2g}") == pytest.approx(effective)


def test_airy_disk_and_the_diffraction_warning():
    result = depth_of_field(100, 16, 0.030, magnification=1)
    # 2.44 λ N_eff at 550 nm and effective f/32 (f/16 at 1:1): 42.9 µm.
    assert result.airy_disk_um == pytest.approx(42.94, abs=0.01)
    assert result.diffraction_limited
    assert "Airy disk" in result.warnings[0] and "f/11" in result.warnings[0]
    clean = depth_of_field(100, 5.6, 0.030, magnification=0.5)
    assert not clean.diffraction_limited and clean.warnings == ()
    pixels = depth_of_field(100, 11, 0.060, magnification=0.5, pixel_pitch_um=4.4)
    assert any("pixels" in w for w in pixels.warnings)


def test_planning_criterion():
    result = depth_of_field(65, 4, 0.018, magnification=5)
    assert result.planning_dof_mm("geometric") == result.total_mm
    assert result.planning_dof_mm("wave") == result.wave_dof_mm
    assert result.planning_dof_mm("larger") == max(result.total_mm, result.wave_dof_mm)
    with pytest.raises(OpticsError, match="criterion"):
        result.planning_dof_mm("banding")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(focal_length_mm=-50, f_number=8, coc_mm=0.03, distance_mm=500), "focal length must be a positive number, got -50 mm"),
        (dict(focal_length_mm=50, f_number=0.3, coc_mm=0.03, distance_mm=500), "f-number of 0.3 is not possible"),
        (dict(focal_length_mm=50, f_number=8, coc_mm=0.03, distance_mm=40, distance_from="lens"), "inside the 50 mm focal length"),
        (dict(focal_length_mm=100, f_number=8, coc_mm=0.03, distance_mm=300), "closest it can focus is 400 mm"),
        (dict(focal_length_mm=100, f_number=8, coc_mm=3, distance_mm=3000), "far too large"),
        (dict(focal_length_mm=100, f_number=8, coc_mm=0.03, magnification=-1), "magnification must be a positive number"),
        (dict(focal_length_mm=100, f_number=8, coc_mm=0.03), "either a focus distance or a magnification"),
        (dict(focal_length_mm=100, f_number=8, coc_mm=0.03, magnification=1, pupil_ratio=0), "pupil ratio"),
    ],
)
def test_nonsense_values_are_one_sentence(kwargs, message):
    with pytest.raises(OpticsError, match=message) as error:
        focal = kwargs.pop("focal_length_mm")
        n = kwargs.pop("f_number")
        c = kwargs.pop("coc_mm")
        depth_of_field(focal, n, c, **kwargs)
    text = str(error.value)
    assert text.endswith(".") and "\n" not in text


@settings(max_examples=200, deadline=None)
@given(focal_lengths, f_numbers, cocs, st.floats(1.05, 100.0))
def test_symmetric_lens_matches_the_classic_thin_lens_formulas(f, n, c, distance_in_focal_lengths):
    """P = 1: near = s(H − f)/(H + s − 2f), far = s(H − f)/(H − s) (DOFMaster)."""
    s = f * distance_in_focal_lengths
    h = hyperfocal_distance_mm(f, n, c)
    result = depth_of_field(f, n, c, distance_mm=s, distance_from="lens")
    assert result.near_mm == pytest.approx(s * (h - f) / (h + s - 2 * f), rel=1e-9)
    if s < h:
        assert result.far_mm == pytest.approx(s * (h - f) / (h - s), rel=1e-7)


def test_the_coc_in_live_view_pixels_follows_sensor_live_view_width_and_zoom():
    from focuslock.optics.coc import coc_in_live_view

    # Full frame (36 × 24 mm, CoC = diagonal / 1500 = 28.8 µm) in a 1024-px live view:
    # one live-view pixel covers 35.2 µm of the sensor.
    full = coc_in_live_view(1024, sensor_width_mm=36.0, sensor_height_mm=24.0)
    assert full.coc_um == pytest.approx(28.84, abs=0.01)
    assert full.pixel_pitch_um == pytest.approx(35.156, abs=0.001)
    assert full.coc_px == pytest.approx(0.820, abs=0.001)
    assert full.source == "optics"
    # Below what live view shows: say so and say how far to zoom for a 3-px CoC.
    assert "zoom live view to 4×" in full.warning
    zoomed = coc_in_live_view(1024, sensor_width_mm=36.0, sensor_height_mm=24.0, zoom=5.0)
    assert zoomed.coc_px == pytest.approx(5 * full.coc_px) and zoomed.warning is None
    # A body's own CoC, and a blur in µm on the sensor.
    body = coc_in_live_view(2000, coc_mm=0.019, sensor_width_mm=23.5, sensor_height_mm=15.6)
    assert body.coc_px == pytest.approx(19.0 / 11.75)
    assert body.blur_um(2.0) == pytest.approx(23.5)
    # The user's wins; an unknown sensor is assumed and the warning says what to give.
    assert coc_in_live_view(1024, sensor_width_mm=36.0, user_coc_px=3.0).coc_px == 3.0
    unknown = coc_in_live_view(1920)
    assert unknown.source == "assumed" and unknown.coc_px == 2.0 and "choose the camera body" in unknown.warning


def test_a_blur_of_one_coc_lies_at_the_edge_of_the_depth_of_field():
    from focuslock.optics.dof import depth_for_blur_mm

    # 100 mm at 1:1 and f/8, c = 30 µm: 0.96 mm of depth of field, 0.48 mm either side.
    result = depth_of_field(100.0, 8.0, 0.03, magnification=1.0)
    assert depth_for_blur_mm(result, 30.0) == pytest.approx(0.48, rel=1e-4)
    assert depth_for_blur_mm(result, 15.0) == pytest.approx(0.24, rel=1e-4)


def test_the_aperture_that_covers_a_depth_is_the_widest_full_stop_whose_depth_of_field_spans_it():
    from focuslock.optics.dof import aperture_covering, describe_coverage

    optics = depth_of_field(100, 5.6, 0.03, magnification=0.5)
    covering, wider = aperture_covering(2.9, optics)
    # The macro formula 2·N·c·(1 + m)/m² at 0.5×: 0.36·N mm — 2.9 mm needs N ≥ 8.06.
    assert covering.f_number == 11.0 and wider.f_number == 8.0
    assert covering.total_mm >= 2.9 > wider.total_mm
    assert covering.total_mm == pytest.approx(0.36 * 11, rel=0.02)
    assert describe_coverage(2.9, optics).startswith("f/11 covers both (depth of field 3.96 mm); f/8 does not (2.88 mm)")
    # At 2× no stop holds 3 mm: say so, never a stop that does not.
    assert describe_coverage(3.0, depth_of_field(100, 5.6, 0.03, magnification=2.0)).startswith("no aperture up to f/64")
    # Diffraction is named where the stop that covers pays for it.
    assert "diffraction blurs" in describe_coverage(1.5, depth_of_field(100, 5.6, 0.03, magnification=2.0))
