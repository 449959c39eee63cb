"""The simulated bench is the oracle for focus tests: its truth must match its pictures."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from focuslock.devices.base import CameraBusyError, CameraDisconnectedError, CameraNotFoundError, SettingValueError
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.bench_link import BenchLink
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_truth import SimTruth

SMALL = dict(live_view_size_px=(512, 340), frame_rate_hz=None)


def _peak_position(positions, energies) -> float:
    """Where a sharpness curve peaks: the centroid of its top (argmax alone wanders over
    the flat top that the depth of field makes)."""
    positions = np.asarray(positions, float)
    energies = np.asarray(energies, float)
    weights = np.clip(energies - 0.7 * energies.max(), 0, None)
    return float((positions * weights).sum() / weights.sum())


def _bench(**overrides) -> SimulatedBench:
    bench = SimulatedBench(BenchConfig(**{**SMALL, **overrides}))
    bench.open()
    return bench


def _sharpness(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def test_blur_is_diffraction_only_at_the_plane_of_focus_and_grows_away_from_it():
    bench = _bench()
    s_f = bench.focus_distance_mm
    assert float(bench.geometric_blur_um(s_f)) == pytest.approx(0.0, abs=1e-9)
    working_n = 5.6 * (1 + 0.5)
    airy_um = 2.44 * 0.55 * working_n
    # Diffraction-only blur, as the equal-second-moment disk: 4·0.42·λ·N_w.
    assert float(bench.blur_diameter_um(s_f)) == pytest.approx(4 * 0.42 * 0.55 * working_n, rel=1e-6)
    assert float(bench.blur_diameter_um(s_f)) < airy_um
    offsets = np.array([0.1, 0.3, 1.0, 3.0])
    assert np.all(np.diff(bench.blur_diameter_um(s_f + offsets)) > 0)
    assert np.all(np.diff(bench.blur_diameter_um(s_f - offsets)) > 0)


def test_geometric_depth_of_field_matches_the_macro_formula():
    """Where the geometric blur reaches c, the depth of field is 2·N·c·(1 + m/P)/m²."""
    bench = _bench(f_number=8.0, pupil_ratio=0.6)
    c_um, m, n, p = 30.0, 0.5, 8.0, 0.6
    depths = bench.focus_distance_mm + np.linspace(-6, 6, 240001)
    inside = depths[bench.geometric_blur_um(depths) <= c_um]
    expected_mm = 2 * n * c_um / 1000 * (1 + m / p) / m**2
    assert inside.max() - inside.min() == pytest.approx(expected_mm, rel=0.01)


def test_each_region_is_sharpest_in_the_picture_where_the_truth_focuses_it():
    """Rack through the scene: every strip of the target peaks in Laplacian energy at
    the motor position that the bench's truth says focuses it."""
    # 1:1 at f/2.8 so that the depth of field is a few steps deep even in 512 px live view.
    bench = _bench(magnification=1.0, f_number=2.8, exposure_s=1 / 250)
    positions = list(range(-330, 331, 12))
    # Thin strips (10 rows span 0.5 mm of depth on the tilted target), picked where the
    # print has detail: blank paper has nothing for a focus measure to see.
    detail = cv2.Laplacian(cv2.cvtColor(bench.all_in_focus(), cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F) ** 2
    candidates = [(20, row, 140, 10) for row in range(10, 330, 10)]
    strips = []
    for band in (candidates[:8], candidates[8:16], candidates[16:24], candidates[24:]):
        strips.append(max(band, key=lambda r: detail[r[1] : r[1] + r[3], r[0] : r[0] + r[2]].mean()))
    energy = np.zeros((len(positions), len(strips)))
    lens_positions = []
    for i, position in enumerate(positions):
        bench.drive_focus(position - bench.focus_position_steps)
        frame = bench.read_frame()
        # Where the glass really is (backlash leaves it behind the motor count).
        lens_positions.append(bench.position_for_distance(SimTruth.of(frame).focus_distance_mm))
        for j, (x, y, w, h) in enumerate(strips):
            energy[i, j] = _sharpness(frame.image[y : y + h, x : x + w])
    for j, roi in enumerate(strips):
        truth = bench.best_focus_position_steps(roi)
        assert _peak_position(lens_positions, energy[:, j]) == pytest.approx(truth, abs=6), roi


def test_focusing_farther_moves_the_sharp_band_up_the_tilted_target():
    bench = _bench()
    rows = []
    for steps in (-150, 0, 150):
        bench.drive_focus(steps - bench.focus_position_steps)
        blur = bench.truth_blur_map_px(bench.read_frame())
        rows.append(int(np.argmin(blur[:, 40])))
    assert rows[0] > rows[1] > rows[2]


def test_focus_motor_steps_backlash_and_end_stops():
    bench = _bench(focus_step_um=25.0, backlash_steps=3, focus_min_steps=-50, focus_max_steps=50)
    start = bench.focus_distance_mm
    assert bench.drive_focus(40) == 40
    assert bench.focus_distance_mm - start == pytest.approx(40 * 0.025)
    # Reversing: the first 3 steps take up the backlash; the glass moves 7 of 10.
    assert bench.drive_focus(-10) == -10
    assert bench.focus_distance_mm - start == pytest.approx(33 * 0.025)
    assert bench.focus_position_steps == 30
    # The end stop: only 20 of 100 steps happen, and then none.
    assert bench.drive_focus(100) == 20
    assert bench.drive_focus(5) == 0
    assert bench.focus_position_steps == 50


def test_stopping_down_deepens_focus_until_diffraction_takes_over():
    bench = _bench()
    off_focus = bench.focus_distance_mm + 2.0
    assert float(bench.blur_diameter_um(off_focus, f_number=16)) < float(bench.blur_diameter_um(off_focus, f_number=2.8))
    at_focus = bench.focus_distance_mm
    assert float(bench.blur_diameter_um(at_focus, f_number=32)) > float(bench.blur_diameter_um(at_focus, f_number=2.8))
    # And in the picture: the far top of the target is sharper at f/16 than at f/2.8.
    bench.set_setting("shutterspeed", "1/15")
    sharpness = {}
    for aperture in ("2.8", "16"):
        bench.set_setting("aperture", aperture)
        sharpness[aperture] = _sharpness(bench.read_frame().image[:60, :200])
    assert sharpness["16"] > 1.5 * sharpness["2.8"]


def test_iso_noise_grows_with_iso():
    def frame_noise(iso: int) -> float:
        # The same exposure at both ISOs: 64× the gain, 1/64 of the light.
        bench = _bench(iso=iso, exposure_s=1 / 60 * 100 / iso)
        a = bench.read_frame().image.astype(np.float32)
        b = bench.read_frame().image.astype(np.float32)
        return float((a - b).std())

    low, high = frame_noise(100), frame_noise(6400)
    assert high > 4 * low
    # Shot noise: 64× the gain is 8× the noise; the live-view JPEG smooths some of it.
    assert high < 10 * low


def test_exposure_follows_shutter_speed():
    bench = _bench()
    bench.set_setting("shutterspeed", "1/250")
    dark = bench.read_frame().image.mean()
    bench.set_setting("shutterspeed", "1/60")
    bright = bench.read_frame().image.mean()
    assert bright / dark == pytest.approx(4.0, rel=0.15)


def test_subject_drift_moves_the_picture_by_the_reported_offset():
    bench = _bench(drift_px_per_frame=(3.0, -2.0))
    first = bench.read_frame()
    for _ in range(4):
        later = bench.read_frame()
    offset = SimTruth.of(later).subject_offset_px
    assert offset == pytest.approx((15.0, -10.0))
    a = cv2.cvtColor(first.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(later.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(a, b)
    assert (dx, dy) == pytest.approx((12.0, -8.0), abs=0.3)


def test_sub_pixel_motion_keeps_detail():
    """A half-pixel move must not read as a focus change. In 512 px live view, whose
    detail reaches the pixel, the Lanczos shift keeps about 80 % of the Laplacian energy
    (bilinear would keep 35 %)."""
    still = _bench()
    moved = _bench()
    moved.set_subject_offset(0.5, 0.5)
    assert _sharpness(moved.read_frame().image) > 0.75 * _sharpness(still.read_frame().image)
    shaky = _bench(vibration_px=0.4)
    offsets = {SimTruth.of(shaky.read_frame()).subject_offset_px for _ in range(5)}
    assert len(offsets) == 5  # every frame sits somewhere else


def test_capture_is_the_same_scene_at_full_resolution(tmp_path):
    bench = _bench(capture_width_px=1536)
    frame = bench.read_frame()
    [path] = bench.capture(tmp_path)
    capture = cv2.imread(str(path))
    assert capture.shape[1] == 1536 and path.suffix == ".JPG"
    small = cv2.resize(capture, (512, 341), interpolation=cv2.INTER_AREA)[:340]
    live = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
    correlation = np.corrcoef(small.astype(np.float32).ravel(), live.astype(np.float32).ravel())[0, 1]
    assert correlation > 0.9


def test_live_view_is_jpeg_and_quality_shows_in_its_size():
    low = _bench(jpeg_quality=40).read_frame()
    high = _bench(jpeg_quality=95).read_frame()
    assert high.metadata["jpeg_bytes"] > 1.5 * low.metadata["jpeg_bytes"]


def test_truth_finds_the_coin_in_front_of_the_target():
    bench = _bench(f_number=2.8, exposure_s=1 / 250)
    coin_roi = (300, 160, 40, 12)  # on the coin's numeral in 512×340 live view
    coin_best = bench.best_focus_position_steps(coin_roi)
    depth = bench.truth_depth_map_mm()
    # The coin's face, 1.67 mm thick on a 35° tilt, shows at a given image row a point
    # nearer than the paper there by t/cosθ ≈ 2.04 mm.
    assert depth[165, 50] - depth[165, 320] == pytest.approx(1.67 / math.cos(math.radians(35)), abs=0.01)
    # Racking through it: the picture is sharpest there too.
    positions = list(range(int(coin_best) - 60, int(coin_best) + 61, 4))
    scores, lens_positions = [], []
    x, y, w, h = coin_roi
    for position in positions:
        bench.drive_focus(position - bench.focus_position_steps)
        frame = bench.read_frame()
        lens_positions.append(bench.position_for_distance(SimTruth.of(frame).focus_distance_mm))
        scores.append(_sharpness(frame.image[y : y + h, x : x + w]))
    assert _peak_position(lens_positions, scores) == pytest.approx(coin_best, abs=6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(focal_length_mm=-50), "focal length must be a positive number"),
        (dict(f_number=0.3), "not possible"),
        (dict(magnification=None, subject_distance_mm=80), "inside the focal length"),
        (dict(live_view_size_px=(8, 8)), "too small"),
    ],
)
def test_nonsense_lens_values_are_refused_with_a_sentence(overrides, message):
    with pytest.raises(ValueError, match=message):
        BenchConfig(**overrides)


def test_bad_settings_name_the_choices():
    bench = _bench()
    with pytest.raises(SettingValueError, match="f/1.2"):
        bench.set_setting("aperture", "1.2")
    bench.set_setting("aperture", "f/8")
    assert bench.get_settings()["aperture"].value == "8"


def test_the_cable_can_be_pulled_and_the_body_kept_busy():
    link = BenchLink()
    bench = SimulatedBench(BenchConfig(**SMALL), link=link)
    bench.open()
    link.make_busy(1)
    with pytest.raises(CameraBusyError):
        bench.read_frame()
    bench.read_frame()
    link.unplug()
    with pytest.raises(CameraDisconnectedError):
        bench.read_frame()
    with pytest.raises(CameraNotFoundError, match="unplugged"):
        SimulatedBench(BenchConfig(**SMALL), link=link).open()
    link.plug()
    bench.read_frame()


def test_blur_truth_in_micrometres_and_pixels_agree():
    bench = _bench()
    frame = bench.read_frame()
    pitch_um = 36000.0 / 512
    roi = (100, 40, 30, 20)
    assert bench.region_blur_px(roi, frame) == pytest.approx(bench.region_blur_um(roi, frame) / pitch_um)
    depth = bench.truth_depth_map_mm(frame)[50, 110]
    assert bench.pixel_blur_um(110, 50, frame) == pytest.approx(float(bench.blur_diameter_um(depth)), rel=1e-5)
    # Far from focus at the top of the tilted target, blur is many pixels; at the
    # centre row, where focus starts, it is under one.
    assert bench.region_blur_px((100, 0, 30, 10), frame) > 5
    assert bench.region_blur_px((100, 168, 30, 4), frame) < 1
