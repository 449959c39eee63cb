"""`focuslock dof` at a lens's maximum magnification against the maker's own figures.

The figures below are the makers' published numbers, written here from their sources
(not computed by focuslock, and not read from the catalog): the test is an independent
oracle for the close-focus model (optics/close_focus.py) and the catalog's entries.
Lenses whose figures could not be found are left out (see calibration/lenses.toml): the
Canon RF 100 Macro, Nikon AF-S 105 VR and DX 40, Sony FE 50, Fujifilm XF 80 and XF 60,
OM System 90, Sigma 105 DG DN and Laowa 100 2X.
"""

from __future__ import annotations

import json

import pytest

from focuslock.cli import main
from focuslock.optics.catalog import load_catalog
from focuslock.optics.close_focus import FocusPoint, close_focus_optics, focus_state

# (lens, magnification, what, the maker's figure in mm, source)
# "sensor": the distance from the sensor plane to the subject (a minimum focus distance);
# "working": from the front of the lens to the subject (a working distance).
MAKERS_FIGURES = [
    ("Canon MP-E 65mm", 5.0, "working", 41.0,
     "Canon, quoted in http://the-digital-picture.com/Reviews/Canon-MP-E-65mm-1-5x-Macro-Lens-Review.aspx"),
    ("Canon MP-E 65mm", 1.0, "working", 101.0, "the same review: 'slightly more than a 100mm working distance' at 1x"),
    ("Canon MP-E 65mm", 1.0, "sensor", 240.0,
     "Canon's closest focusing distance 0.24 m (https://en.wikipedia.org/wiki/Canon_MP-E_65mm_f/2.8_1%E2%80%935x_Macro)"),
    ("Canon MP-E 65mm", 5.0, "sensor", 313.0, "the same page's focus range, 240-313 mm"),
    ("Tamron SP 90mm", 1.0, "working", 139.0,
     "Tamron F004 specification, 'working distance at 1:1 macro 139mm' "
     "(http://bobatkins.com/photography/reviews/tamron_90mm_f2-8_VC_macro_review.html)"),
    ("Tamron SP 90mm", 1.0, "sensor", 300.0, "the same specification, 'minimum focusing distance 0.3m'"),
    ("Laowa 25mm", 5.0, "working", 40.0,
     "Laowa, 'about 45mm at 2.5x and 40mm at 5x' "
     "(http://www.betterphotography.in/reviews/macrographers-delight-laowa-25mm-f-2-8-2-5-5x-ultra-macro/116162/)"),
    ("Panasonic Leica DG Macro-Elmarit 45mm", 1.0, "sensor", 150.0,
     "Panasonic H-ES045 specifications: 0.15 m, maximum magnification 1.0x "
     "(https://emanuals.org/Panasonic-HES045E/spezifikationen)"),
    ("Nikon Z MC 105mm", 1.0, "sensor", 290.0,
     "Nikon's 0.29 m, 'according to the specs' (https://uwimages.com.au/blogs/news/nikkor-z-mc-105mm-f-2-8-vr-s-underwater-performance)"),
    ("Sony FE 90mm", 1.0, "sensor", 280.0, "Sony's 0.28 m, '最短28cm' (https://cameranonaniwa.co.jp/blogs/221142385)"),
    ("Olympus M.Zuiko Digital ED 60mm", 1.0, "sensor", 190.0,
     "Olympus data, 190 mm (http://e-group.uk.net/forum/archive/index.php/t-33196.html)"),
    ("Canon EF 100mm f/2.8L", 1.0, "sensor", 300.0,
     "Canon's 0.3 m, '12-inch minimum focus distance' "
     "(https://shutterbug.com/content/canon-ef-100mm-f28l-macro-usm-lens-review-we-get-close-personal-classic-canon-macro)"),
]


def _dof(capsys, *argv: str) -> dict:
    assert main(["dof", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("lens, magnification, what, figure, source", MAKERS_FIGURES,
                         ids=[f"{lens}-{m:g}x-{what}" for lens, m, what, _, _ in MAKERS_FIGURES])
def test_dof_gives_the_makers_distance_within_ten_percent(capsys, lens, magnification, what, figure, source):
    report = _dof(capsys, "--lens", lens, "--coc", "0.03", "--f-number", "8", "--magnification", f"{magnification:g}")
    ours = report["distance_from_sensor_mm"] if what == "sensor" else report["working_distance_mm"]
    assert ours is not None, f"dof gives no working distance for the {lens} ({source})"
    assert ours == pytest.approx(figure, rel=0.10), f"{lens} at {magnification:g}×: {ours:.1f} mm, maker {figure:g} mm ({source})"


def test_the_issue_case_reads_the_canon_working_distance(capsys):
    """Issue 30: `dof --lens "MP-E 65" --camera "EOS R5" --f-number 4 --magnification 5`
    printed 78 mm from the lens (a 65 mm thin lens); Canon gives about 41 mm."""
    assert main(["dof", "--lens", "MP-E 65", "--camera", "EOS R5", "--f-number", "4", "--magnification", "5"]) == 0
    out = capsys.readouterr().out
    assert "(41.0 mm from the lens)" in out and "313.0 mm from the sensor" in out
    assert "plan with" in out


@pytest.mark.parametrize("lens, f_number, magnification", [
    ("MP-E 65", "16", "5"),      # diffraction-limited: the wave-optics depth is the larger
    ("MP-E 65", "2.8", "1"),     # the geometric depth is the larger
    ("Tamron SP 90mm", "8", "1"),
    ("RF 100mm F2.8", "11", "1.4"),
    ("Laowa 25mm", "4", "2.5"),
])
def test_dof_plan_with_is_the_depth_stack_plan_steps_by(capsys, lens, f_number, magnification):
    common = ["--lens", lens, "--camera", "EOS R5", "--f-number", f_number, "--magnification", magnification]
    dof = _dof(capsys, *common)
    assert main(["stack-plan", *common, "--depth", "2", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["frame_dof_mm"] == pytest.approx(dof["plan_with_mm"], rel=1e-6)
    assert plan["criterion"] == dof["plan_with"]
    assert dof["plan_with_mm"] == pytest.approx(max(dof["total_mm"], dof["wave_dof_mm"]), rel=1e-9)


def test_the_wave_optics_depth_is_planned_with_where_it_is_the_larger(capsys):
    dof = _dof(capsys, "--lens", "MP-E 65", "--coc", "0.03", "--f-number", "16", "--magnification", "5")
    assert dof["wave_dof_mm"] > dof["total_mm"] and dof["plan_with"] == "wave"
    assert main(["dof", "--lens", "MP-E 65", "--coc", "0.03", "--f-number", "16", "--magnification", "5"]) == 0
    assert "plan with           the wave-optics depth of field" in capsys.readouterr().out


def test_close_focus_optics_from_the_three_figures():
    """f = W·m/(1 + m) and h = D − W − f·(1 + m), worked by hand for the MP-E 65 at 5×:
    f = 41·5/6 = 34.17 mm, h = 313 − 41 − 205 = 67 mm; without a working distance the
    thin lens that reaches m at D (f = D·m/(1 + m)², no hiatus)."""
    focal, hiatus = close_focus_optics(FocusPoint(5.0, 313.0, 41.0))
    assert focal == pytest.approx(34.1667, abs=1e-3) and hiatus == pytest.approx(67.0, abs=1e-6)
    assert close_focus_optics(FocusPoint(1.4, 260.0)) == pytest.approx((260 * 1.4 / 2.4**2, 0.0))
    # An internal-focus lens keeps its front where it is: the working distance grows
    # with the subject distance, the front stays D − W = 161 mm from the sensor.
    tamron = FocusPoint(1.0, 300.0, 139.0)
    for m in (0.1, 0.5, 1.0):
        state = focus_state(m, nominal_focal_mm=90.0, closest=tamron)
        assert state.distance_from_sensor_mm - state.subject_distance_mm == pytest.approx(161.0)
    assert focus_state(1e-6, nominal_focal_mm=90.0, closest=tamron).focal_length_mm == pytest.approx(90.0, rel=1e-5)


def test_a_distance_finds_the_magnification_the_lens_has_there():
    catalog = load_catalog()
    for name, magnification in (("MP-E 65", 3.0), ("Tamron SP 90mm", 0.5), ("RF 100mm F2.8", 1.0)):
        lens = catalog.lens(name)
        at = lens.focus_state(magnification=magnification)
        back = lens.focus_state(distance_from_sensor_mm=at.distance_from_sensor_mm)
        assert back.magnification == pytest.approx(magnification, rel=1e-6)
        by_lens = lens.focus_state(distance_from_lens_mm=at.subject_distance_mm)
        assert by_lens.magnification == pytest.approx(magnification, rel=1e-6)


def test_a_working_distance_beyond_the_focus_distance_is_refused(tmp_path, caplog):
    from focuslock.core.resources import data_folder

    (tmp_path / "sensors.toml").write_text((data_folder("calibration") / "sensors.toml").read_text())
    (tmp_path / "lenses.toml").write_text('[[lenses]]\nname = "Odd Macro"\nfocal_length_mm = 60\nf_number_min = 2.8\n'
                                          'f_number_max = 22\nmin_focus_mm = 200\nmax_magnification = 1.0\n'
                                          'working_distance_mm = 250\n')
    load_catalog.cache_clear()
    try:
        catalog = load_catalog(tmp_path)
    finally:
        load_catalog.cache_clear()
    assert all(lens.name != "Odd Macro" for lens in catalog.lenses)
    warned = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("focuslock"))
    assert "'working_distance_mm' (250) must be shorter than the distance from the sensor" in warned
