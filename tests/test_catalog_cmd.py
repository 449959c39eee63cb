"""``focuslock catalog bodies|lenses|sensors`` (issue 30.6): every entry a line, its exact
name first, so that a user finds what to pass to --camera, --lens and --sensor; and each
name listed is one those options take."""

from __future__ import annotations

import json

import pytest

from focuslock.cli import main
from focuslock.optics.catalog import load_catalog


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("kind, count", [("bodies", "cameras"), ("lenses", "lenses"), ("sensors", "formats")])
def test_each_kind_is_listed_a_line_an_entry(capsys, kind, count):
    catalog = load_catalog()
    code, out, err = _run(capsys, "catalog", kind)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(getattr(catalog, count)) and all(" — " in line for line in lines)


def test_the_names_listed_are_the_ones_the_options_take(capsys):
    catalog = load_catalog()
    _, out, _ = _run(capsys, "catalog", "bodies")
    line = next(line for line in out.splitlines() if line.startswith("Canon EOS R5 "))
    assert line == "Canon EOS R5 — Full frame (35 mm), 8192×5464 px, 4.39 µm pixels, CoC 28.8 µm"
    for name in (line.split(" — ")[0] for line in out.splitlines()):
        assert catalog.camera(name).name == name
    _, out, _ = _run(capsys, "catalog", "lenses")
    assert any(line.startswith("Canon MP-E 65mm f/2.8 1-5x Macro — 65 mm, f/2.8–16") and "working distance 41 mm" in line
               for line in out.splitlines())
    for name in (line.split(" — ")[0] for line in out.splitlines()):
        assert catalog.lens(name).name == name
    _, out, _ = _run(capsys, "catalog", "sensors")
    assert "full-frame — Full frame (35 mm), 36×24 mm, CoC 28.8 µm" in out.splitlines()
    for key in (line.split(" — ")[0] for line in out.splitlines()):
        assert catalog.sensor(key).key == key
    # And a name from the list works where it is meant to go.
    code, out, err = _run(capsys, "dof", "--lens", "Canon MP-E 65mm f/2.8 1-5x Macro", "--camera", "Canon EOS R5",
                          "--f-number", "4", "--magnification", "5")
    assert code == 0, err


def test_json_lists_the_figures(capsys):
    code, out, _ = _run(capsys, "catalog", "lenses", "--json")
    lenses = json.loads(out)["lenses"]
    mpe = next(lens for lens in lenses if lens["name"].startswith("Canon MP-E 65"))
    assert mpe["max_magnification"] == 5.0 and mpe["working_distance_mm"] == 41.0
    code, out, _ = _run(capsys, "catalog", "bodies", "--json")
    assert {"name", "sensor", "width_px", "height_px", "pixel_pitch_um", "coc_um"} <= set(json.loads(out)["bodies"][0])


def test_an_unknown_kind_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "tripods"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
