"""focuslock dof and stack-plan from the command line, and the DoF in live analyses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from focuslock.cli import main
from focuslock.optics.dof import depth_of_field
from focuslock.runtime.live import LiveSession
from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_dof_json_has_the_documented_keys(capsys):
    report = _json(capsys, ["dof", "--focal-length", "100", "--f-number", "16", "--magnification", "1", "--coc", "0.03", "--json"])
    for key in ("hyperfocal_mm", "near_mm", "far_mm", "total_mm", "front_mm", "back_mm", "magnification",
                "effective_f_number", "airy_disk_um", "wave_dof_mm", "coc_mm"):
        assert key in report
    assert round(report["total_mm"], 2) == 1.92 and round(report["wave_dof_mm"], 3) == 2.253
    assert report["effective_f_number"] == 32


def test_far_and_total_are_null_beyond_the_hyperfocal_distance(capsys):
    report = _json(capsys, ["dof", "--focal-length", "50", "--f-number", "8", "--distance", "20000", "--coc", "0.03", "--json"])
    assert report["far_mm"] is None and report["total_mm"] is None
    assert round(report["hyperfocal_mm"]) == 10467


def test_dof_with_a_camera_and_a_lens_from_the_catalog(capsys):
    report = _json(capsys, ["dof", "--lens", "MP-E 65", "--camera", "EOS R5", "--f-number", "4", "--magnification", "5", "--json"])
    # Its optics at 5× from Canon's figures (optics/close_focus.py), not a 65 mm thin lens.
    assert report["working_distance_mm"] == pytest.approx(41.0) and report["focal_length_mm"] < 65
    assert report["coc_mm"] == pytest.approx(0.0288, abs=1e-4)
    assert report["pixel_pitch_um"] == pytest.approx(4.39, abs=0.01)
    assert any("Airy disk" in w for w in report["warnings"])


def test_distance_from_the_sensor_is_the_default(capsys):
    sensor = _json(capsys, ["dof", "--focal-length", "100", "--f-number", "8", "--distance", "400", "--coc", "0.03", "--json"])
    lens = _json(capsys, ["dof", "--focal-length", "100", "--f-number", "8", "--distance", "400", "--distance-from", "lens",
                          "--coc", "0.03", "--json"])
    assert sensor["magnification"] == pytest.approx(1.0)  # 4f from the sensor is 1:1
    assert lens["magnification"] == pytest.approx(1 / 3)


def test_the_readable_table(capsys):
    assert main(["dof", "--focal-length", "50", "--f-number", "8", "--distance", "3000", "--sensor", "full-frame"]) == 0
    out = capsys.readouterr().out
    assert "hyperfocal distance" in out and "near limit" in out and "wave optics" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--focal-length", "-50", "--f-number", "8", "--distance", "3000", "--coc", "0.03"],
         "The focal length must be a positive number, got -50 mm."),
        (["--focal-length", "50", "--f-number", "0.3", "--distance", "3000", "--coc", "0.03"],
         "An f-number of 0.3 is not possible; lenses start at about f/0.5."),
        (["--focal-length", "100", "--f-number", "8", "--distance", "80", "--distance-from", "lens", "--coc", "0.03"],
         "A focus distance of 80 mm from the lens is inside the 100 mm focal length; nothing can be focused there."),
        (["--lens", "EF 100mm f/2.8L", "--f-number", "64", "--magnification", "1", "--coc", "0.03"], "f/64 is outside that range."),
        (["--focal-length", "50", "--f-number", "8", "--distance", "3000", "--camera", "Leica M11"], "No camera called 'Leica M11'"),
        (["--lens", "MP-E 65", "--camera", "EOS R5", "--f-number", "4", "--magnification", "0.5"],
         "The Canon MP-E 65mm f/2.8 1-5x Macro focuses from 1× to 5×; 0.5× is outside its range."),
        (["--lens", "MP-E 65", "--camera", "EOS R5", "--f-number", "4", "--magnification", "8"], "reaches 5× at most"),
        (["--lens", "MP-E 65", "--focal-length", "100", "--camera", "EOS R5", "--f-number", "4", "--magnification", "2"],
         "is 65 mm; --focal-length 100 contradicts it"),
        (["--lens", "RF 100mm F2.8", "--camera", "EOS R5", "--f-number", "4", "--distance", "200"],
         "focuses no closer than 260 mm from the sensor"),
        (["--lens", "RF 100", "--camera", "EOS R5", "--f-number", "8", "--distance", "2000"],
         "matches several of the catalog's lenses"),
        (["--focal-length", "100", "--f-number", "8", "--magnification", "1000", "--coc", "0.03"],
         "A magnification of 1000× is outside what this model covers (1e-07× to 20×)."),
    ],
)
def test_nonsense_exits_non_zero_with_one_sentence(argv, message):
    result = subprocess.run([sys.executable, "-m", "focuslock", "dof", *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_stack_plan_json(capsys):
    report = _json(capsys, ["stack-plan", "--focal-length", "100", "--f-number", "8", "--coc", "0.03", "--magnification", "1",
                            "--depth", "5", "--overlap", "0.3", "--step-um", "20", "--json"])
    assert report["frames"] == len(report["positions_mm"]) >= 7
    assert report["step_mm"] == pytest.approx(0.7 * depth_of_field(100, 8, 0.03, magnification=1).total_mm, rel=1e-3)
    assert len(report["drive_steps"]) == report["frames"] - 1
    lens = _json(capsys, ["stack-plan", "--focal-length", "100", "--f-number", "8", "--coc", "0.03", "--near", "1000",
                          "--far", "3000", "--method", "lens", "--json"])
    assert lens["method"] == "lens" and lens["frames"] >= 2


def test_a_lens_stack_ends_at_the_far_limit_and_lists_its_drive_steps_in_order(capsys):
    # Towards the hyperfocal distance (41.7 m here) a whole step in 1/distance reaches
    # past the far limit: the plan used to put its last frame at 248 m, or behind the lens.
    argv = ["stack-plan", "--focal-length", "100", "--f-number", "8", "--coc", "0.03", "--near", "5000", "--far",
            "40000", "--distance-from", "lens", "--method", "lens", "--step-um", "5"]
    plan = _json(capsys, argv + ["--json"])
    positions = plan["positions_mm"]
    assert positions == sorted(positions) and positions[0] > 0
    assert positions[-1] == pytest.approx(40000, rel=1e-6)
    assert main(argv) == 0
    text = capsys.readouterr().out
    steps = ", ".join(str(s) for s in plan["drive_steps"])
    assert f"in order: {steps} steps" in text


def test_stack_plan_nonsense(capsys):
    assert main(["stack-plan", "--focal-length", "100", "--f-number", "8", "--coc", "0.03", "--near", "500", "--far", "450"]) == 1
    assert "nearer than the near limit" in capsys.readouterr().err
    assert main(["stack-plan", "--focal-length", "100", "--f-number", "8", "--coc", "0.03", "--magnification", "1"]) == 1
    assert "--far MM or its depth" in capsys.readouterr().err


def test_the_live_analysis_carries_the_bench_depth_of_field():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(256, 170), frame_rate_hz=60.0, f_number=8.0))
    with LiveSession(bench, processor=FramePipeline(), settings=PipelineSettings()) as session:
        analysis = session.next_analysis(5.0)
        assert analysis is not None
        optics = analysis.result.optics
        session.set_setting("aperture", "16").result(5)
        deeper = None
        for _ in range(50):
            later = session.next_analysis(1.0)
            if later is not None and later.frame.metadata["f_number"] == 16:
                deeper = later.result.optics
                break
    expected = depth_of_field(100, 8, (36**2 + 24**2) ** 0.5 / 1500, distance_mm=bench.config.subject_distance, distance_from="lens")
    assert optics.magnification == pytest.approx(0.5, rel=1e-3)
    assert optics.total_mm == pytest.approx(expected.total_mm, rel=1e-3)
    assert deeper is not None and deeper.total_mm > optics.total_mm * 1.9


def test_stack_plan_reads_a_calibration_record(tmp_path, capsys):
    record = tmp_path / "drive.toml"
    record.write_text('[[focus_drive]]\ncamera = "Canon EOS R5"\nlens = "Canon RF 100mm F2.8L Macro IS USM"\n'
                      'drive_setting = "Near 1"\nat_distance_mm = 300\nstep_um = 41.5\n')
    report = _json(capsys, ["stack-plan", "--lens", "RF 100mm", "--camera", "EOS R5", "--f-number", "8", "--magnification", "1",
                            "--depth", "4", "--calibration", str(record), "--json"])
    assert report["drive_setting"] == "Near 1"
    assert report["drive_steps"][0] == round(report["step_mm"] * 1000 / 41.5)
    assert main(["stack-plan", "--focal-length", "100", "--f-number", "8", "--coc", "0.03", "--magnification", "1",
                 "--depth", "4", "--calibration", str(tmp_path / "missing.toml")]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("distance_mm", [260.0, 300.0, 350.0, 399.0])
def test_an_internal_focus_macro_lens_focuses_where_its_catalog_says(capsys, distance_mm):
    """The RF 100 Macro focuses from 260 mm (1.4×): a fixed 100 mm thin lens could not
    focus closer than 400 mm. Between the two the lens shortens its focal length; the
    magnification grows as the distance shrinks and reaches 1.4× at 260 mm."""
    report = _json(capsys, ["dof", "--lens", "RF 100mm F2.8", "--camera", "EOS R5", "--f-number", "8",
                            "--distance", f"{distance_mm:g}", "--json"])
    assert report["distance_from_sensor_mm"] == pytest.approx(distance_mm, rel=1e-6)
    assert 0.4 < report["magnification"] <= 1.4 + 1e-6
    assert 60.0 < report["focal_length_mm"] < 100.0
    assert any("shortening its focal length" in w for w in report["warnings"])
    if distance_mm == 260.0:
        assert report["magnification"] == pytest.approx(1.4, rel=1e-3)


def test_the_breathing_model_is_monotone_and_leaves_fixed_lenses_alone():
    from focuslock.optics.catalog import load_catalog

    catalog = load_catalog()
    rf100 = catalog.lens("RF 100mm F2.8")
    magnifications = [rf100.focus_at(distance_from_sensor_mm=d)[1] for d in (260, 280, 320, 400, 1000, 10000)]
    assert magnifications == sorted(magnifications, reverse=True) and magnifications[-1] < 0.011
    assert rf100.focus_at(distance_from_sensor_mm=1e6)[0] == pytest.approx(100.0, rel=1e-3)  # at infinity: 100 mm
    # A lens whose catalog a fixed focal length explains keeps it; a macro-only lens with
    # the maker's working distances is taken at its close-focus optics.
    micro40 = catalog.lens("Micro-Nikkor 40mm")
    assert not micro40.follows_close_focus_model and micro40.focus_at(magnification=0.5) == (40.0, None)
    mpe = catalog.lens("MP-E 65")
    assert not mpe.shortens_when_focusing and mpe.follows_close_focus_model
    assert mpe.focus_at(magnification=5) == (pytest.approx(41 * 5 / 6), 5)
