from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from focuslock.optics.catalog import CatalogError, load_catalog
from focuslock.resources import data_folder


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
    "file, old, new, message",
    [
        ("lenses.toml", "focal_length_mm = 100\nf_number_min = 2.8", "focal_length_mm = -100\nf_number_min = 2.8",
         "lenses.toml, lens 'Canon EF 100mm f/2.8L Macro IS USM': field 'focal_length_mm' must be more than 0"),
        ("lenses.toml", "max_magnification = 5.0", "max_magnification = \"five\"", "field 'max_magnification' must be a number"),
        ("lenses.toml", "f_number_max = 32\nmin_focus_mm = 300", "f_number_max = 2\nmin_focus_mm = 300", "'f_number_max' (2) is wider"),
        ("sensors.toml", 'sensor = "aps-c-canon"', 'sensor = "aps-k"', "field 'sensor' names 'aps-k'"),
        ("sensors.toml", "width_px = 8192", "widht_px = 8192", "unknown field 'widht_px'"),
        ("sensors.toml", "[formats.full-frame]", "[formats.full-frame", "not valid TOML"),
    ],
)
def test_bad_entries_name_the_file_the_entry_and_the_field(tmp_path, file, old, new, message):
    folder = _broken_copy(tmp_path, file, old, new)
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_catalog(folder)


def test_the_catalog_ships_inside_the_package_layout():
    folder = data_folder("calibration")
    assert (folder / "sensors.toml").is_file() and (folder / "lenses.toml").is_file()
    assert (data_folder("drivers") / "README.md").is_file()
