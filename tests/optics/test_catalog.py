from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from focuslock.core.resources import data_folder
from focuslock.optics.catalog import CatalogError, load_catalog


def _warnings(caplog) -> str:
    """The warnings focuslock logged, one a line (as the command line shows them on stderr)."""
    return "".join(f"{r.getMessage()}\n" for r in caplog.records
                   if r.name.startswith("focuslock") and r.levelno >= logging.WARNING)



def test_the_shipped_catalog_loads_and_covers_the_common_bodies():
    catalog = load_catalog()
    names = [c.name for c in catalog.cameras]
    for makers in (("Canon",), ("Nikon",), ("Sony",), ("Fujifilm",), ("Panasonic",), ("Olympus", "OM System")):
        assert sum(any(m in name for m in makers) for name in names) >= 3, makers
    full_frame = catalog.sensor("full-frame")
    assert full_frame.coc_mm == pytest.approx(0.0288, abs=1e-4)  # the diagonal / 1500
    assert catalog.sensor("Four Thirds").coc_mm == pytest.approx(0.015, abs=0.001)
    assert catalog.sensor("aps-c").coc_mm == pytest.approx(0.019, abs=0.001)
    assert catalog.camera("eos r5").pixel_pitch_um == pytest.approx(36000 / 8192)
    lens = catalog.lens("mp-e 65")
    assert lens.max_magnification == 5 and lens.f_number_min == 2.8
    assert any(lens.focal_length_mm >= 400 for lens in catalog.lenses)


def test_names_that_match_nothing_or_too_much_say_so():
    catalog = load_catalog()
    with pytest.raises(CatalogError, match="No camera called 'Leica M11'"):
        catalog.camera("Leica M11")
    with pytest.raises(CatalogError, match="matches several"):
        catalog.camera("EOS")


def _broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / "calibration"
    shutil.copytree(data_folder("calibration"), folder)
    text = (folder / file).read_text()
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize(
    "file, old, new, message, skipped",
    [
        ("lenses.toml", "focal_length_mm = 100\nf_number_min = 2.8", "focal_length_mm = -100\nf_number_min = 2.8",
         "lenses.toml, line 22, lens 'Canon EF 100mm f/2.8L Macro IS USM': field 'focal_length_mm' must be more than 0",
         ("lens", "Canon EF 100mm f/2.8L Macro IS USM")),
        ("lenses.toml", "max_magnification = 5.0", "max_magnification = \"five\"", "field 'max_magnification' must be a number",
         ("lens", "MP-E 65")),
        ("lenses.toml", "f_number_max = 32\nmin_focus_mm = 300", "f_number_max = 2\nmin_focus_mm = 300",
         "'f_number_max' (2) is wider", ("lens", "Canon EF 100mm f/2.8L Macro IS USM")),
        ("sensors.toml", 'sensor = "aps-c-canon"', 'sensor = "aps-k"', "field 'sensor' names 'aps-k'", None),
        ("sensors.toml", "width_px = 8192", "widht_px = 8192", "unknown field 'widht_px'", ("camera", "EOS R5")),
    ],
)
def test_a_bad_entry_is_skipped_with_a_warning_naming_file_line_and_field(tmp_path, caplog, file, old, new, message,
                                                                          skipped):
    folder = _broken_copy(tmp_path, file, old, new)
    catalog = load_catalog(folder)
    err = _warnings(caplog)
    assert message in err and "was skipped; the rest of the catalog works" in err
    assert err.count("\n") == 1  # one entry broken, one warning
    # The rest works: the shipped catalog minus the broken entry.
    shipped = load_catalog()
    assert len(catalog.lenses) + len(catalog.cameras) == len(shipped.lenses) + len(shipped.cameras) - 1
    assert catalog.lens("Laowa 100") and catalog.camera("Z 8")
    if skipped is not None:
        kind, name = skipped
        with pytest.raises(CatalogError):
            getattr(catalog, kind)(name)


def test_a_shipped_file_that_is_not_toml_is_one_sentence_with_its_line(tmp_path):
    folder = _broken_copy(tmp_path, "sensors.toml", "[formats.full-frame]", "[formats.full-frame")
    with pytest.raises(CatalogError, match=r"sensors.toml, line \d+: .*\(not valid TOML\)"):
        load_catalog(folder)


def test_the_users_own_lenses_load_beside_the_shipped_ones_and_a_broken_user_file_is_skipped(tmp_path, monkeypatch,
                                                                                              caplog):
    from focuslock.optics import catalog as catalog_module

    user = tmp_path / "config"
    (user / "calibration").mkdir(parents=True)
    (user / "calibration" / "lenses.toml").write_text(
        '[[lenses]]\nname = "Home-made 50 mm bellows"\nfocal_length_mm = 50\nf_number_min = 4\nf_number_max = 32\n'
        'min_focus_mm = 200\nmax_magnification = 3\n')
    (user / "calibration" / "sensors.toml").write_bytes(b"[formats.odd]\nname = \"caf\xe9\"\n")  # Latin-1, not UTF-8
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(user))
    catalog_module.load_catalog.cache_clear()
    try:
        catalog = load_catalog()
        assert catalog.lens("bellows").focal_length_mm == 50
        assert catalog.lens("MP-E 65").max_magnification == 5  # the shipped ones still there
        err = _warnings(caplog)
        assert "sensors.toml, line 2: byte 0xe9 is not UTF-8 text" in err and "The file was skipped" in err
    finally:
        catalog_module.load_catalog.cache_clear()


def test_the_catalog_ships_inside_the_package_layout():
    folder = data_folder("calibration")
    assert (folder / "sensors.toml").is_file() and (folder / "lenses.toml").is_file()
    assert (data_folder("drivers") / "README.md").is_file()
