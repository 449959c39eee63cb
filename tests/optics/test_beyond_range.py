"""Past what is measured, focuslock says "more than" or "beyond the lens's measured range",
never "about" (issue 30, round two): a distance a lens cannot focus at, by the maker's
figures; a blur past the end of the feature's through-focus curve, as depth at the subject."""

from __future__ import annotations

from dataclasses import replace

import pytest

from focuslock.cli import main
from focuslock.focus.hints import PeakStatus
from focuslock.focus.judge import FocusState
from focuslock.focus.lock import LockStatus
from focuslock.optics.coc import coc_in_live_view
from focuslock.optics.dof import depth_of_field
from focuslock.optics.lens_setup import LensSetupError, lens_setup
from focuslock.overlay.readouts import about_mm, defocus_line, plain_verdict


@pytest.mark.parametrize(("lens", "distance", "where", "span"), [
    # A 2.5–5× lens focuses 40–47 mm from its front (Laowa's 40 mm at 5×); not a metre away.
    ("Laowa 25mm", 1000.0, "lens", "from 40.0 to 46.7 mm from the lens (2.5× to 5×)"),
    # The MP-E 65 at 1–5× lies 240–313 mm from the sensor (Canon's figures).
    ("MP-E 65", 1000.0, "sensor", "from 240.0 to 313.0 mm from the sensor (1× to 5×)"),
    # A lens that focuses to infinity: not closer than its working distance at 1×.
    ("EF 100mm", 9.5, "lens", "to infinity"),
])
def test_a_distance_beyond_the_lens_range_is_said_so(lens, distance, where, span, capsys):
    with pytest.raises(LensSetupError, match="beyond the .* measured range") as refused:
        lens_setup(f_number=4.0, lens=lens, camera="EOS R5", distance_mm=distance, distance_from=where)
    assert span in str(refused.value)
    # The command says it in one sentence (it used to print the nearest end as if focused there).
    assert main(["dof", "--lens", lens, "--camera", "EOS R5", "--f-number", "4", "--distance", f"{distance:g}",
                 "--distance-from", where]) == 1
    captured = capsys.readouterr()
    assert "beyond the" in captured.err and "measured range" in captured.err and captured.out == ""


def test_a_distance_within_the_range_is_computed_there():
    from focuslock.optics.lens_dof import lens_depth_of_field

    setup = lens_setup(f_number=4.0, lens="Laowa 25mm", camera="EOS R5", distance_mm=43.0, distance_from="lens")
    result = lens_depth_of_field(setup, 4.0, distance_mm=43.0, distance_from="lens")
    assert 2.5 < result.magnification < 5.0
    assert result.working_distance_mm == pytest.approx(43.0, abs=0.5)


def test_a_blur_past_the_curve_is_more_than_its_depth_not_about():
    optics = depth_of_field(100.0, 8.0, 0.03, magnification=1.0, pixel_pitch_um=4.4)
    coc = coc_in_live_view(1024, sensor_width_mm=36.0, sensor_height_mm=24.0, zoom=5.0)
    blur = 8.0 * coc.coc_px
    within = LockStatus(FocusState.SOFT, blur, 0.1, coc.coc_px)
    past = LockStatus(FocusState.SOFT, blur, 0.1, coc.coc_px, beyond_range=True)
    near = plain_verdict(within, optics, coc)
    far = plain_verdict(past, optics, coc)
    assert near.off_by is not None and not near.off_by.startswith("more than")
    assert far.off_by == f"more than {near.off_by}"
    assert "about" not in far.advice and far.advice.startswith("more than")
    # The drive's way back too: "turn nearer, more than …" (the peak search knows the way).
    peak = PeakStatus(best_blur_px=0.0, best_position_steps=-100.0, best_frame=3, passed=True, passed_by_steps=100.0,
                      passed_by_frames=5)
    turned = plain_verdict(replace(past, peak=peak), optics, coc, position_steps=0.0)
    assert turned.advice.startswith("turn nearer, more than "), turned.advice
    assert plain_verdict(replace(within, peak=peak), optics, coc, position_steps=0.0).advice.startswith("turn nearer, about ")
    # The engineer's HUD line too.
    assert defocus_line(optics, coc, _focus(past)).startswith("Feature more than ")
    assert defocus_line(optics, coc, _focus(within)).startswith("Feature about ")
    assert about_mm(9.5) == "9.5 mm"


def _focus(lock):
    class _Focus:  # the one attribute defocus_line reads
        pass

    focus = _Focus()
    focus.lock = lock
    return focus
